/* jitctl policy check|test|replay — the policy author's tools. All three
 * run the service's own parser and evaluator (common/config.c, policy.c),
 * without the service.
 *   check [FILE]   every error and conflict, with its JSON path
 *   test ...       one decision, for a context given on the command line
 *   replay [FILE]  the recorded requests judged again by a candidate policy
 */
#include "jitctl.h"
#include "cleanup.h"
#include "config.h"
#include "duration.h"
#include "policy.h"
#include "safeio.h"
#include "service.h"
#include "spool.h"
#include "strv.h"
#include "timewin.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The live policy is loaded as the service loads it (owner and mode
 * checked); a draft named on the command line is read wherever it is. */
static int load(const char *arg, struct jit_config **ret, const char **ret_path, char *buf, size_t size)
{
        _cleanup_strv_free_ char **errors = NULL;
        const char *path = arg ? arg : JIT_CONFIG_PATH;
        int r;

        if (path[0] != '/') {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);

                if (!cwd)
                        return jit_fail(JIT_EXIT_ERROR, "cannot tell the current directory");
                snprintf(buf, size, "%s/%s", cwd, path);
                path = buf;
        }
        *ret_path = path;
        r = jit_config_load_flags(path, arg ? 0 : JIT_SAFEIO_TRUSTED, ret, &errors);
        if (r == -EPERM)
                return jit_fail(JIT_EXIT_CONFIG, "%s: refused: the file, templates.d and every directory above "
                                "must be owned by root and not writable by group or others", path);
        if (r < 0 && !errors)
                return jit_fail(JIT_EXIT_CONFIG, "%s: %s", path, jit_safeio_strerror(r));
        if (r < 0) {
                for (size_t i = 0; errors[i]; i++)
                        fprintf(stderr, "%s: %s\n", path, errors[i]);
                fprintf(stderr, "%s: %zu error%s: the service would deny every request\n", path,
                        jit_strv_length(errors), jit_strv_length(errors) == 1 ? "" : "s");
                return JIT_EXIT_CONFIG;
        }
        return 0;
}

static cJSON *strv_json(char *const *v)
{
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && v && v[i]; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
        return a;
}

/* --json: {"path", "ok", "errors": [...], "conflicts": [...]}, same exit codes. */
static int policy_check_json(const char *arg)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *cwd = NULL, *abs = NULL;
        const char *path = arg ? arg : JIT_CONFIG_PATH;
        cJSON *o = cJSON_CreateObject();
        int r;

        if (path[0] != '/' && (cwd = getcwd(NULL, 0)) && asprintf(&abs, "%s/%s", cwd, path) > 0)
                path = abs;
        r = jit_config_load_flags(path, arg ? 0 : JIT_SAFEIO_TRUSTED, &c, &errors);
        if (r < 0 && !errors) {
                char msg[256];

                snprintf(msg, sizeof(msg), "$: %s", r == -EPERM ? "the file, templates.d and every directory above "
                         "must be owned by root and not writable by group or others" : jit_safeio_strerror(r));
                (void)jit_strv_push(&errors, msg);
        }
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddBoolToObject(o, "ok", r == 0 && !c->warnings);
        cJSON_AddItemToObject(o, "errors", strv_json(errors));
        cJSON_AddItemToObject(o, "conflicts", strv_json(r == 0 ? c->warnings : NULL));
        jit_print_json(o);
        cJSON_Delete(o);
        return r < 0 || c->warnings ? JIT_EXIT_CONFIG : JIT_EXIT_OK;
}

static int policy_check(int argc, char **argv)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        const char *path;
        char buf[PATH_MAX];
        size_t nw;
        int r;

        if (argc > 3)
                return jit_usage_error("usage: jitctl policy check [FILE]");
        if (jit_g.json)
                return policy_check_json(argc > 2 ? argv[2] : NULL);
        r = load(argc > 2 ? argv[2] : NULL, &c, &path, buf, sizeof(buf));
        if (r)
                return r;
        nw = jit_strv_length(c->warnings);
        for (size_t i = 0; i < nw; i++)
                fprintf(stderr, "%s: %s\n", path, c->warnings[i]);
        if (nw) {
                fprintf(stderr, "%s: %zu conflict%s: deny wins, but the policy does not say what it seems to\n",
                        path, nw, nw == 1 ? "" : "s");
                return JIT_EXIT_CONFIG;
        }
        printf("%s: OK (%zu role%s, %zu template%s)\n", path, c->n_roles, c->n_roles == 1 ? "" : "s",
               c->n_templates, c->n_templates == 1 ? "" : "s");
        return JIT_EXIT_OK;
}

static void print_decision(const struct jit_decision *d)
{
        char ttl[32] = "-";

        if (jit_g.json) {
                cJSON *j = jit_decision_to_json(d);
                char *t = j ? cJSON_Print(j) : NULL;

                if (t)
                        printf("%s\n", t);
                free(t);
                cJSON_Delete(j);
                return;
        }
        if (d->ttl)
                (void)jit_duration_format(ttl, sizeof(ttl), d->ttl);
        printf("decision: %s", jit_action_to_string(d->action));
        if (d->action == JIT_ACTION_ESCALATE)
                printf(" to the %s tier (%u approval%s)", jit_tier_to_string(d->tier), d->approvals,
                       d->approvals == 1 ? "" : "s");
        else if (d->action == JIT_ACTION_ALLOW)
                printf(" (%s)", jit_tier_to_string(d->tier));
        printf("\nttl:      %s\nrisk:     %u\n", ttl, d->risk);
        for (size_t i = 0; i < d->n_reasons; i++)
                printf("  %-28s %s\n", d->reasons[i].id, d->reasons[i].text);
}

struct test_opts {
        const char *config, *user, *role, *rhost, *time, *command, *unit, *service, *target_user, *groups;
        bool tty, break_glass;
        uint64_t ttl;
        struct jit_history history;
};

static int parse_count(const char *s, uint32_t *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > 100000 || s[0] == '-')
                return jit_usage_error("not a count: \"%s\"", s);
        *ret = (uint32_t)v;
        return 0;
}

static int test_args(int argc, char **argv, struct test_opts *o)
{
        static const struct option lo[] = {
                { "config", required_argument, NULL, 'c' }, { "user", required_argument, NULL, 'u' },
                { "role", required_argument, NULL, 'r' },   { "rhost", required_argument, NULL, 'h' },
                { "tty", required_argument, NULL, 't' },    { "time", required_argument, NULL, 'T' },
                { "command", required_argument, NULL, 'C' }, { "unit", required_argument, NULL, 'U' },
                { "service", required_argument, NULL, 's' }, { "target-user", required_argument, NULL, 'x' },
                { "groups", required_argument, NULL, 'g' },  { "for", required_argument, NULL, 'f' },
                { "requests", required_argument, NULL, 1 },  { "denials", required_argument, NULL, 2 },
                { "grants", required_argument, NULL, 3 },    { "break-glass-count", required_argument, NULL, 4 },
                { "break-glass", no_argument, NULL, 5 },
                {}
        };
        int c;

        *o = (struct test_opts){ .tty = true };
        optind = 2;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'c': o->config = optarg; break;
                case 'u': o->user = optarg; break;
                case 'r': o->role = optarg; break;
                case 'h': o->rhost = optarg; break;
                case 't':
                        if (strcmp(optarg, "yes") && strcmp(optarg, "no"))
                                return jit_usage_error("--tty takes yes or no");
                        o->tty = strcmp(optarg, "yes") == 0;
                        break;
                case 'T': o->time = optarg; break;
                case 'C': o->command = optarg; break;
                case 'U': o->unit = optarg; break;
                case 's': o->service = optarg; break;
                case 'x': o->target_user = optarg; break;
                case 'g': o->groups = optarg; break;
                case 'f': if (jit_parse_duration_arg(optarg, &o->ttl)) return JIT_EXIT_USAGE; break;
                case 1: if (parse_count(optarg, &o->history.requests)) return JIT_EXIT_USAGE; break;
                case 2: if (parse_count(optarg, &o->history.denials)) return JIT_EXIT_USAGE; break;
                case 3: if (parse_count(optarg, &o->history.grants)) return JIT_EXIT_USAGE; break;
                case 4: if (parse_count(optarg, &o->history.break_glass)) return JIT_EXIT_USAGE; break;
                case 5: o->break_glass = true; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind != argc || !o->user || !o->role)
                return jit_usage_error("usage: jitctl policy test --user USER --role ROLE [--groups G,G] [--rhost ADDR] "
                                       "[--tty yes|no] [--time WHEN] [--command 'CMD ARGS'] [--unit UNIT] "
                                       "[--service NAME] [--target-user U] [--for DURATION] [--requests N] "
                                       "[--denials N] [--grants N] [--break-glass [--break-glass-count N]] "
                                       "[--config FILE] [--json]");
        return 0;
}

/* "a,b,c" → strv; NULL → the user's groups from the name service. */
static int groups_of(const char *list, const char *user, char ***ret, struct who *w)
{
        char *save = NULL, *t;
        _cleanup_free_ char *copy = NULL;

        if (!list) {
                if (who_from_name(user, w) < 0)
                        return jit_fail(JIT_EXIT_NOTFOUND, "no user %s here: give --groups", user);
                return 0;       /* the caller uses w->groups */
        }
        copy = strdup(list);
        for (t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
                if (jit_strv_push(ret, t) < 0)
                        return jit_fail(JIT_EXIT_ERROR, "out of memory");
        return 0;
}

static int policy_test(int argc, char **argv)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        _cleanup_strv_free_ char **cmd = NULL, **own_groups = NULL;
        struct who w = { 0 };
        struct test_opts o;
        struct jit_context ctx;
        struct jit_decision d;
        const char *path;
        char buf[PATH_MAX];
        int64_t now;
        int r;

        r = test_args(argc, argv, &o);
        if (r)
                return r;
        r = load(o.config, &c, &path, buf, sizeof(buf));
        if (r)
                return r;
        now = (int64_t)time(NULL);
        if (o.time && jit_time_parse_local(o.time, c->settings.timezone, &now) < 0)
                return jit_usage_error("bad --time \"%s\" (e.g. 2026-11-23T09:30 in the policy's timezone %s, "
                                       "or 2026-11-23T08:30:00Z)", o.time, c->settings.timezone);
        r = groups_of(o.groups, o.user, &own_groups, &w);
        if (r)
                return r;
        ctx = (struct jit_context){
                .user = o.user, .groups = o.groups ? own_groups : w.groups, .role = o.role, .ttl = o.ttl,
                .rhost = o.rhost, .tty = o.tty, .unit = o.unit, .target_user = o.target_user,
                .now = now, .history = o.history,
        };
        if (o.command) {
                char *save = NULL, *t;
                _cleanup_free_ char *copy = strdup(o.command);

                for (t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
                        (void)jit_strv_push(&cmd, t);
                ctx.command = cmd;
                ctx.command_mode = cmd && cmd[0][0] == '/' ? JIT_COMMAND_EXACT : JIT_COMMAND_OPAQUE;
        }
        ctx.service = o.service ? o.service : o.command ? "sudo" : "jitctl";
        if (jit_time_local(now, c->settings.timezone, &ctx.wday, &ctx.minute) < 0) {
                who_done(&w);
                return jit_fail(JIT_EXIT_CONFIG, "the policy's timezone %s cannot be used", c->settings.timezone);
        }
        if (o.break_glass)
                jit_policy_break_glass(c, &ctx, &d);
        else
                jit_policy_decide(c, &ctx, &d);
        print_decision(&d);
        who_done(&w);
        return d.action == JIT_ACTION_ALLOW ? JIT_EXIT_OK
               : d.action == JIT_ACTION_ESCALATE ? JIT_EXIT_PENDING : JIT_EXIT_DENIED;
}

/* Judge every recorded request again under a candidate policy; list those
 * whose answer (action or tier) would change. */
static int policy_replay(int argc, char **argv)
{
        static const struct option lo[] = {
                { "since", required_argument, NULL, 's' }, { "state-dir", required_argument, NULL, 'd' }, {}
        };
        _cleanup_config_free_ struct jit_config *c = NULL;
        const char *state = JIT_SPOOL_DIR, *path;
        struct jit_request **reqs = NULL;
        struct jit_grant **grants = NULL;
        struct jit_spool *sp = NULL;
        char **bad = NULL, buf[PATH_MAX];
        size_t nr = 0, ng = 0, seen = 0, changed = 0;
        uint64_t since = 0, from_us = 0;
        cJSON *out = jit_g.json ? cJSON_CreateArray() : NULL;
        int r, o;

        optind = 2;
        while ((o = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (o) {
                case 's': if (jit_parse_duration_arg(optarg, &since)) return JIT_EXIT_USAGE; break;
                case 'd': state = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (argc - optind > 1)
                return jit_usage_error("usage: jitctl policy replay [--since DURATION] [--state-dir DIR] [FILE]");
        r = load(optind < argc ? argv[optind] : NULL, &c, &path, buf, sizeof(buf));
        if (r)
                return r;
        r = jit_spool_open_files(state, &sp);
        if (r == 0)
                r = jit_spool_load(sp, &reqs, &nr, &grants, &ng, &bad);
        jit_spool_free(sp);
        jit_strv_free(bad);
        if (r < 0)
                return jit_fail(r == -EACCES || r == -EPERM ? JIT_EXIT_FORBIDDEN : JIT_EXIT_ERROR,
                                "cannot read the recorded requests in %s: %s", state, strerror(-r));
        if (since)
                from_us = (uint64_t)time(NULL) * 1000000ULL - since * 1000000ULL;
        for (size_t i = 0; i < nr; i++) {
                const struct jit_request *q = reqs[i];
                struct who w = { 0 };
                struct jit_context ctx;
                struct jit_decision d;
                bool bg = q->kind && strcmp(q->kind, "break-glass") == 0;
                const char *was_action = q->policy_action ? q->policy_action : "?";
                const char *was_tier = q->tier ? q->tier : "?";
                const char *now_tier;

                if (q->created_us < from_us)
                        continue;
                seen++;
                (void)who_from_name(q->user, &w);
                if (svc_context_from_request(c, q, &w, &ctx) < 0) {
                        who_done(&w);
                        continue;
                }
                if (bg)
                        jit_policy_break_glass(c, &ctx, &d);
                else
                        jit_policy_decide(c, &ctx, &d);
                who_done(&w);
                now_tier = d.action == JIT_ACTION_DENY ? "-" : jit_tier_to_string(d.tier);
                if (strcmp(was_action, jit_action_to_string(d.action)) == 0 &&
                    (d.action == JIT_ACTION_DENY || strcmp(was_tier, now_tier) == 0))
                        continue;
                changed++;
                if (out) {
                        cJSON *e = cJSON_CreateObject();

                        cJSON_AddStringToObject(e, "request", q->id);
                        cJSON_AddStringToObject(e, "user", q->user);
                        cJSON_AddStringToObject(e, "role", q->role);
                        cJSON_AddStringToObject(e, "was", was_action);
                        cJSON_AddStringToObject(e, "was_tier", was_tier);
                        cJSON_AddItemToObject(e, "now", jit_decision_to_json(&d));
                        cJSON_AddItemToArray(out, e);
                } else {
                        if (changed == 1)
                                printf("%-12s  %-10s  %-12s  %-20s  %-20s  %s\n", "REQUEST", "USER", "ROLE", "WAS", "NOW", "WHY");
                        char was[40], now[40];

                        snprintf(was, sizeof(was), "%s%s%s", was_action, strcmp(was_action, "deny") ? "/" : "",
                                 strcmp(was_action, "deny") ? was_tier : "");
                        snprintf(now, sizeof(now), "%s%s%s", jit_action_to_string(d.action),
                                 d.action != JIT_ACTION_DENY ? "/" : "", d.action != JIT_ACTION_DENY ? now_tier : "");
                        printf("%-12s  %-10s  %-12s  %-20s  %-20s  %s\n", q->id, q->user, q->role, was, now,
                               d.n_reasons ? d.reasons[d.n_reasons - 1].id : "-");
                }
        }
        if (out) {
                char *t = cJSON_Print(out);

                printf("%s\n", t ? t : "[]");
                free(t);
                cJSON_Delete(out);
        } else {
                printf("%zu of %zu recorded request%s would be decided differently by %s\n", changed, seen,
                       seen == 1 ? "" : "s", path);
        }
        for (size_t i = 0; i < nr; i++)
                jit_request_free(reqs[i]);
        for (size_t i = 0; i < ng; i++)
                jit_grant_free(grants[i]);
        free(reqs);
        free(grants);
        return changed ? JIT_EXIT_CONFLICT : JIT_EXIT_OK;
}

int verb_policy(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "check") == 0)
                return policy_check(argc, argv);
        if (argc >= 2 && strcmp(argv[1], "test") == 0)
                return policy_test(argc, argv);
        if (argc >= 2 && strcmp(argv[1], "replay") == 0)
                return policy_replay(argc, argv);
        return jit_usage_error("usage: jitctl policy check [FILE] | test --user U --role R ... | replay [--since D] [FILE]");
}
