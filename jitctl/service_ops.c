/* The operations the service answers, and who may ask each one. */
#include "service.h"
#include "cleanup.h"
#include "decision.h"
#include "duration.h"
#include "escape.h"
#include "journal.h"
#include "policy.h"
#include "safeio.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

cJSON *svc_error(const char *code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        cJSON *a = cJSON_CreateObject();

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (!a)
                return NULL;
        cJSON_AddFalseToObject(a, "ok");
        cJSON_AddStringToObject(a, "code", code);
        cJSON_AddStringToObject(a, "error", msg);
        return a;
}

static const char *str_of(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsString(it) ? it->valuestring : NULL;
}

const char *svc_str_of(const cJSON *j, const char *k)
{
        return str_of(j, k);
}

/* Text that came from a user, cut to size and with control characters
 * replaced, before it is stored, logged or shown to anyone. */
static char *clean_text(const char *s, size_t max)
{
        unsigned char *out;

        if (!s)
                return NULL;
        out = (unsigned char *)strndup(s, max);
        for (unsigned char *p = out; p && *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        *p = ' ';
                else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)  /* C1 controls */
                        p[0] = p[1] = '?';
                else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
                        p[0] = p[1] = p[2] = '?';                       /* LRE..RLO */
                else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
                        p[0] = p[1] = p[2] = '?';                       /* LRI..PDI */
        }
        return (char *)out;
}

/* People's words (reasons, tasks, comments): escaped (escape.h), so that
 * an ESC sequence or a BiDi override is kept visibly for whoever reads it
 * — the approver, the journal, a webhook — and obeyed by none; at most
 * max bytes, cut at a character boundary. */
static char *clean_words(const char *s, size_t max)
{
        return s ? jit_escape_dup(s, max) : NULL;
}

/* Role names as jit.conf allows them; anything else is refused before it
 * reaches a log line or the spool. */
static bool is_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > JIT_NAME_MAX || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* PAM service names: "sudo", "sshd", "sudo-i", "login", ... */
static bool is_service_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
                        return false;
        return true;
}

static int ttl_of(const cJSON *req, uint64_t *ret)
{
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "ttl");

        *ret = 0;
        if (!t)
                return 0;
        if (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble > 366 * 86400.0)
                return -EINVAL;
        *ret = (uint64_t)t->valuedouble;
        return 0;
}

static cJSON *answer(const char *decision, const char *message);

/* The caller's uid has no name jit can use. */
static cJSON *caller_unknown(const struct client *c)
{
        struct passwd *pw = getpwuid(c->uid);

        if (pw && !who_name_is_usable(pw->pw_name))
                return svc_error(JIT_CODE_FORBIDDEN, "your user name cannot be used by jit (1 to 64 characters, "
                                 "not starting with '-', no spaces, ':', ',' or control characters)");
        return svc_error(JIT_CODE_FORBIDDEN, "your uid %u has no user name", (unsigned)c->uid);
}

static cJSON *answer(const char *decision, const char *message)
{
        cJSON *a = cJSON_CreateObject();

        if (!a)
                return NULL;
        cJSON_AddTrueToObject(a, "ok");
        if (decision)
                cJSON_AddStringToObject(a, "decision", decision);
        if (message)
                cJSON_AddStringToObject(a, "message", message);
        return a;
}

static void attach(cJSON *a, const char *key, cJSON *item)
{
        if (a && item)
                cJSON_AddItemToObject(a, key, item);
        else
                cJSON_Delete(item);
}

static void attach_strv(cJSON *a, const char *key, char *const *v)
{
        cJSON *arr = cJSON_CreateArray();

        for (size_t i = 0; arr && v && v[i]; i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
        attach(a, key, arr);
}

/* The answer a requester sees for a request in its current state. */
cJSON *svc_outcome(struct svc *s, const struct jit_request *r)
{
        const struct jit_grant *g = r->grant_id[0] ? svc_find_grant(s, r->grant_id) : NULL;
        uint64_t now = svc_now_us();
        char msg[768], until[64];
        cJSON *a;

        switch (r->state) {
        case JIT_REQ_APPROVED:
                if (!jit_grant_is_active(g, now)) {
                        snprintf(msg, sizeof(msg), "jit: request %s was approved, but its grant has ended", r->id);
                        a = answer("deny", msg);
                        break;
                }
                svc_format_until(until, sizeof(until), g->expires_us, now);
                snprintf(msg, sizeof(msg), "jit: %s %s: role %s (group %s) until %s%s%s%s",
                         strncmp(r->decided_by, "template:", 9) == 0 ? "granted by" : "approved by",
                         strncmp(r->decided_by, "template:", 9) == 0 ? r->decided_by + 9 : r->decided_by,
                         g->role, g->group, until, r->comment ? ": \"" : "", r->comment ? r->comment : "",
                         r->comment ? "\"" : "");
                a = answer("allow", msg);
                attach(a, "grant", jit_grant_to_json(g));
                break;
        case JIT_REQ_PENDING:
                snprintf(msg, sizeof(msg), "jit: request %s is still waiting for an approver", r->id);
                a = answer("pending", msg);
                break;
        case JIT_REQ_DENIED:
                snprintf(msg, sizeof(msg), "jit: denied%s%s: %s", r->decided_by && strcmp(r->decided_by, "policy") ? " by " : "",
                         r->decided_by && strcmp(r->decided_by, "policy") ? r->decided_by : "",
                         r->comment ? r->comment :
                         r->policy_reasons && r->policy_reasons[0]
                         ? r->policy_reasons[jit_strv_length(r->policy_reasons) - 1] : "no reason given");
                a = answer("deny", msg);
                break;
        case JIT_REQ_LAPSED:
                snprintf(msg, sizeof(msg), "jit: request %s lapsed: nobody decided in time", r->id);
                a = answer("deny", msg);
                break;
        default:
                snprintf(msg, sizeof(msg), "jit: request %s was cancelled", r->id);
                a = answer("deny", msg);
                break;
        }
        if (a) {
                cJSON_AddStringToObject(a, "request_id", r->id);
                attach(a, "request", jit_request_to_json(r));
        }
        return a;
}

static bool same_command(char *const *a, char *const *b)
{
        size_t i;

        for (i = 0; a && b && a[i] && b[i]; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return false;
        return (!a || !a[i]) && (!b || !b[i]);
}

static struct jit_request *find_pending(struct svc *s, const char *user, const char *role, char *const *cmd)
{
        struct jit_request *r;

        for (size_t i = 0; (r = svc_open_request(s, i)); i++) {
                /* only a plain request: never a break-glass or an extension,
                 * nor a part of a request asked on another host for several
                 * (a grant of it covers a waiting sudo, svc_wake_covered) */
                if (r->state == JIT_REQ_PENDING && (!r->kind || strcmp(r->kind, "request") == 0) &&
                    !r->fleet_id[0] &&
                    strcmp(r->user, user) == 0 &&
                    strcmp(r->role, role) == 0 && same_command(r->command, cmd))
                        return r;
        }
        return NULL;
}

/* "bob, members of sre" for people; the JSON keeps "%sre". */
static char *approvers_text(char *const *appr)
{
        _cleanup_strv_free_ char **v = NULL;

        for (size_t i = 0; appr && appr[i]; i++) {
                char b[64];

                snprintf(b, sizeof(b), "%s%s", appr[i][0] == '%' ? "members of " : "",
                         appr[i] + (appr[i][0] == '%'));
                (void)jit_strv_push(&v, b);
        }
        return jit_strv_join(v, ", ");
}

/* Pending requests of uid asked from the same place: this host (origin
 * NULL), or one origin host of the fleet. uid (uid_t)-1: of every user. */
static size_t count_pending(struct svc *s, uid_t uid, const char *origin)
{
        const struct jit_request *r;
        size_t n = 0;

        for (size_t i = 0; (r = svc_open_request(s, i)); i++)
                n += r->state == JIT_REQ_PENDING && (uid == (uid_t)-1 || r->uid == uid) &&
                     (origin ? r->origin && strcmp(r->origin, origin) == 0 : !r->origin);
        return n;
}

/* "risk 60: off_hours, unknown_source" — the short why, for the requester. */
static void risk_summary(char *buf, size_t size, const struct jit_request *r)
{
        size_t off = (size_t)snprintf(buf, size, "risk %u", r->risk);

        for (size_t i = 0, n = 0; r->policy_reason_ids && r->policy_reason_ids[i] && off < size; i++) {
                if (strncmp(r->policy_reason_ids[i], "risk.", 5) != 0)
                        continue;
                off += (size_t)snprintf(buf + off, size - off, "%s%s", n++ ? ", " : ": ", r->policy_reason_ids[i] + 5);
        }
}

/* every reason id, comma-separated, for the logs */
static void reason_ids(char *buf, size_t size, const struct jit_request *r)
{
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; r->policy_reason_ids && r->policy_reason_ids[i] && off < size; i++)
                off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "", r->policy_reason_ids[i]);
}

static cJSON *pending_answer(struct svc *s, const struct jit_request *r, uint64_t wait_s, bool reused)
{
        char why[160];

        const struct jit_role *role = jit_config_find_role(s->config, r->role);
        _cleanup_strv_free_ char **appr = role_approvers(role);
        _cleanup_free_ char *who = approvers_text(appr);
        char msg[768], ttl[32] = "?", wait[32] = "";
        cJSON *a;

        bool security = r->tier && strcmp(r->tier, "security") == 0;
        char need[160];

        (void)jit_duration_format(ttl, sizeof(ttl), r->ttl);
        if (wait_s)
                (void)jit_duration_format(wait, sizeof(wait), wait_s);
        if (security)
                snprintf(need, sizeof(need), "%u distinct approvals (%zu so far), one at least from security, among",
                         r->approvals_needed, r->n_approvals);
        else
                snprintf(need, sizeof(need), "approval by");
        risk_summary(why, sizeof(why), r);
        snprintf(msg, sizeof(msg),
                 "jit: request %s%s for role %s (%s; %s) needs %s: %s%s.%s%s%s Approvers run: jitctl approve %s",
                 r->id, reused ? " (already pending)" : "", r->role, ttl, why, need, who ? who : "?",
                 security ? ", security" : "", wait_s ? " Waiting up to " : "", wait, wait_s ? "." : "", r->id);
        a = answer("pending", msg);
        if (a) {
                cJSON_AddStringToObject(a, "request_id", r->id);
                attach_strv(a, "approvers", appr);
                attach(a, "request", jit_request_to_json(r));
        }
        return a;
}

static void log_decision(const struct jit_request *r, const char *decision, const char *by, const char *why)
{
        _cleanup_free_ char *cmd = jit_strv_join(r->command, " ");
        char ids[512];

        reason_ids(ids, sizeof(ids), r);
        jit_journal_event(JIT_EV_DECISION, LOG_NOTICE,
                          &(struct jit_journal_fields){ .request_id = r->id, .role = r->role, .user = r->user,
                                                        .decision = decision, .approver = by, .rule = r->policy_rule,
                                                        .service = r->service, .command = cmd },
                          "request %s by %s for role %s: %s by %s (%s) [tier %s, risk %u: %s]", r->id, r->user, r->role, decision, by,
                          why ? why : r->policy_reasons && r->policy_reasons[0]
                          ? r->policy_reasons[jit_strv_length(r->policy_reasons) - 1] : "-",
                          r->tier ? r->tier : "-", r->risk, ids[0] ? ids : "-");
}

struct ask {
        const struct who *who;
        const char *role;
        uint64_t ttl;
        const char *service, *rhost, *tty, *target_user;
        char *reason;
        char **command;
        enum jit_command_mode command_mode;
        uint64_t wait_s;
        pid_t pid;                      /* the asking process */
        bool from_pam;
        bool break_glass;
        const struct jit_grant *extends; /* jitctl extend: a fresh decision to follow this grant */
        char *task;                     /* jitctl request --task */
        bool single_use;
        const char *bind;               /* "session" or "unit" */
        const struct svc_fleet_ask *fleet; /* asked on another host for several hosts */
};

static void end_used_once(struct svc *s, struct jit_grant *g, pid_t user);

static char *dup_or_null(const char *v)
{
        return v ? strdup(v) : NULL;
}

/* What the policy saw and said, kept with the request: shown to
 * approvers, replayed by jitctl policy replay. */
static void request_note_decision(struct jit_request *r, const struct jit_context *ctx, const struct jit_decision *d)
{
        r->unit = dup_or_null(ctx->unit);
        r->session = dup_or_null(ctx->session);
        r->session_class = dup_or_null(ctx->session_class);
        r->session_type = dup_or_null(ctx->session_type);
        r->has_tty = ctx->tty;
        r->hist_requests = ctx->history.requests;
        r->hist_denials = ctx->history.denials;
        r->hist_grants = ctx->history.grants;
        r->hist_break_glass = ctx->history.break_glass;
        r->policy_action = strdup(jit_action_to_string(d->action));
        r->tier = strdup(jit_tier_to_string(d->tier));
        r->approvals_needed = d->action == JIT_ACTION_ESCALATE ? d->approvals : 0;
        r->risk = d->risk;
        for (size_t i = 0; i < d->n_reasons; i++) {
                (void)jit_strv_push(&r->policy_reasons, d->reasons[i].text);
                (void)jit_strv_push(&r->policy_reason_ids, d->reasons[i].id);
        }
}

static struct jit_request *request_new(struct svc *s, const struct ask *q, const struct jit_context *ctx,
                                       const struct jit_decision *d)
{
        const struct jit_role *role = jit_config_find_role(s->config, q->role);
        struct jit_request *r = calloc(1, sizeof(*r));
        uint64_t now = svc_now_us();
        uint64_t request_ttl = role && role->request_ttl ? role->request_ttl : s->config->settings.request_ttl;

        if (!r || jit_id_new('r', r->id) < 0) {
                free(r);
                return NULL;
        }
        r->kind = strdup(q->break_glass ? "break-glass" : q->extends ? "extend" : "request");
        r->task = q->task ? strdup(q->task) : NULL;
        r->single_use = q->single_use;
        r->bind = q->bind ? strdup(q->bind) : NULL;
        if (q->extends)
                memcpy(r->extends, q->extends->id, sizeof(r->extends));
        r->user = strdup(q->who->name);
        r->uid = (uint32_t)q->who->uid;
        r->role = strdup(q->role);
        r->group = d->group ? strdup(d->group) : NULL;
        r->ttl = d->ttl;
        r->reason = q->reason ? strdup(q->reason) : NULL;
        r->service = q->service ? strdup(q->service) : NULL;
        r->rhost = ctx->rhost ? clean_text(ctx->rhost, 255) : NULL;
        r->tty = q->tty ? clean_text(q->tty, 255) : NULL;
        r->target_user = q->target_user ? clean_text(q->target_user, 64) : NULL;
        for (size_t i = 0; q->command && q->command[i]; i++)
                (void)jit_strv_push(&r->command, q->command[i]);
        r->command_mode = q->command_mode;
        r->created_us = now;
        /* break-glass: the caller signs at once, or it lapses */
        r->deadline_us = now + (q->break_glass ? 120 : request_ttl) * 1000000ULL;
        r->policy_rule = d->rule ? strdup(d->rule) : NULL;
        request_note_decision(r, ctx, d);
        if (q->fleet) {
                memcpy(r->fleet_id, q->fleet->id, sizeof(r->fleet_id));
                r->origin = strdup(q->fleet->origin);
                r->fleet_ttl = q->fleet->ttl;
                r->fleet_asked_us = q->fleet->asked_us;
                for (size_t i = 0; q->fleet->hosts[i]; i++)
                        if (jit_strv_push(&r->fleet_hosts, q->fleet->hosts[i]) < 0) {
                                jit_request_free(r);
                                return NULL;
                        }
                if (!r->origin) {
                        jit_request_free(r);
                        return NULL;
                }
        }
        if (!r->user || !r->role || !r->kind || !r->policy_action || !r->tier) {
                jit_request_free(r);
                return NULL;
        }
        return r;
}

/* Not eligible (no such role, not a requester, not on call): logged,
 * not recorded, so nobody outside a role can fill the spool. */
static cJSON *refuse_unrecorded(const struct ask *q, const struct jit_decision *d)
{
        char msg[320];

        jit_journal_event(JIT_EV_DECISION, LOG_NOTICE,
                          &(struct jit_journal_fields){ .user = q->who->name, .role = q->role,
                                                        .decision = "deny", .service = q->service },
                          "%s asked for role %s%s: denied (%s)", q->who->name, q->role,
                          q->break_glass ? " (break-glass)" : "", jit_decision_summary(d));
        snprintf(msg, sizeof(msg), "jit: denied: %s", jit_decision_summary(d));
        return answer("deny", msg);
}

/* The fast path: an active grant covers this use. Silent for the user. */
static cJSON *use_grant(const struct ask *q, const struct jit_grant *active, uint64_t now)
{
        _cleanup_free_ char *cmd = jit_strv_join(q->command, " ");
        char msg[256], until[64];
        cJSON *a;

        svc_format_until(until, sizeof(until), active->expires_us, now);
        jit_journal_event(JIT_EV_USE, LOG_INFO,
                          &(struct jit_journal_fields){ .grant_id = active->id, .role = active->role,
                                                        .user = active->user, .service = q->service,
                                                        .command = cmd, .decision = "allow" },
                          "grant %s used by %s via %s", active->id, active->user, q->service ? q->service : "?");
        snprintf(msg, sizeof(msg), "jit: role %s active until %s", active->role, until);
        a = answer("allow", NULL);
        if (a)
                cJSON_AddStringToObject(a, "status", msg);
        attach(a, "grant", jit_grant_to_json(active));
        return a;
}

/* A template granted it: record, act, answer. */
static cJSON *grant_by_template(struct svc *s, struct jit_request *r, const struct jit_decision *d, uint64_t now)
{
        _cleanup_free_ char *err = NULL;
        struct jit_grant *g = NULL;
        char by[80];

        snprintf(by, sizeof(by), "template:%s", d->rule ? d->rule : "?");
        r->decided_at_us = now;
        (void)jit_request_transition(r, JIT_REQ_APPROVED);
        r->decided_by = strdup(by);
        (void)svc_save_request(s, r);
        log_decision(r, "allow", by, NULL);
        if (svc_grant_create(s, r, by, d->ttl, &g, &err) < 0)
                return svc_error(JIT_CODE_INTERNAL, "jit: approved, but the grant could not be applied (%s): access denied",
                                 err ? err : "see the service log");
        return svc_outcome(s, r);
}

/* A grant that must be bound to the asking session or unit needs one
 * (a login through sshd gets its session named at pam_jit's session open). */
static bool can_bind(struct svc *s, const struct ask *q, const struct jit_context *ctx)
{
        const struct jit_role *role = jit_config_find_role(s->config, q->role);
        bool unit = (q->bind && strcmp(q->bind, "unit") == 0) || (role && role->bind_unit);
        bool session = (q->bind && strcmp(q->bind, "session") == 0) || (role && role->bind_session);

        return (!unit || ctx->unit) && (!session || ctx->session || q->from_pam);
}

/* A single-use grant ends as it is used; the sudo using it is spared
 * (it holds the group too, and must live to run its command). */
static void end_used_once(struct svc *s, struct jit_grant *g, pid_t user)
{
        s->sweep_exempt_pid = user;
        (void)svc_grant_end(s, g, JIT_GRANT_REVOKED, "used-once");
        s->sweep_exempt_pid = 0;
}

/* access, request, extend and break-glass share this: take the context,
 * decide, record, act, answer. */
/* A request asked on another host for several: a template does not grant
 * it here, whatever it says (the asking host vouches for who asked, and
 * no host vouches for another): a signed approval must. */
static void fleet_needs_approver(const struct jit_config *c, const char *role_name, struct jit_decision *d,
                                 const struct svc_fleet_ask *f)
{
        const struct jit_role *role = jit_config_find_role(c, role_name);
        struct jit_reason *x;

        if (d->action != JIT_ACTION_ALLOW)
                return;
        /* the tier the role asks when it escalates (a template stood in
         * for it), never less than one of its approvers */
        d->action = JIT_ACTION_ESCALATE;
        d->tier = role && role->tier == JIT_TIER_SECURITY ? JIT_TIER_SECURITY : JIT_TIER_OWNER;
        if (role && role->risk_security && d->risk >= role->risk_security)
                d->tier = JIT_TIER_SECURITY;
        d->approvals = d->tier == JIT_TIER_SECURITY ? c->security.approvals : 1;
        d->rule = NULL;
        if (d->n_reasons >= JIT_POLICY_MAX_REASONS)
                d->n_reasons = JIT_POLICY_MAX_REASONS - 1;
        x = &d->reasons[d->n_reasons++];
        snprintf(x->id, sizeof(x->id), "fleet.several_hosts");
        snprintf(x->text, sizeof(x->text), "asked on host %s for several hosts: only a signed approval grants it",
                 f->origin);
}

static bool too_many_pending(struct svc *s, const struct ask *q)
{
        const char *origin = q->fleet ? q->fleet->origin : NULL;

        return count_pending(s, q->who->uid, origin) >= JIT_MAX_PENDING_PER_USER ||
               (origin && count_pending(s, (uid_t)-1, origin) >= JIT_MAX_FLEET_PENDING_PER_ORIGIN);
}

static cJSON *decide_and_act(struct svc *s, const struct ask *q)
{
        char origin[80];
        struct svc_pam_items pam = { .rhost = q->rhost, .tty = q->tty };
        uint64_t now = svc_now_us();
        struct jit_grant *active;
        struct jit_request *r, *pending;
        struct svc_context x;
        struct jit_decision d;
        cJSON *a;
        int e;

        if (!s->config)
                return answer("deny", "jit: the jit policy is invalid or missing: access denied (see: journalctl -t jit)");
        if (q->fleet) {
                /* "fleet:HOST": never an address (a host may be named
                 * "10.0.0.5"), so no "sources" match it but as unknown */
                snprintf(origin, sizeof(origin), "fleet:%s", q->fleet->origin);
                pam.rhost = origin;
        }
        active = q->extends || q->break_glass || q->fleet ? NULL : svc_active_grant(s, q->who->name, q->role, now);
        /* asked elsewhere: from the asking host (a name, so no template
         * "sources" match it, and deny rules do), no terminal, no unit */
        if (svc_context_build(s, &x, q->who, q->role, q->pid, q->from_pam || q->fleet ? &pam : NULL) < 0) {
                svc_context_done(&x);
                return answer("deny", "jit: the policy's timezone cannot be used: access denied");
        }
        x.ctx.ttl = q->ttl;
        x.ctx.service = q->service;
        x.ctx.command = q->command;
        x.ctx.command_mode = q->command_mode;
        x.ctx.target_user = q->target_user;
        x.ctx.active_grant = active ? active->id : NULL;
        if (q->break_glass)
                jit_policy_break_glass(s->config, &x.ctx, &d);
        else
                jit_policy_decide(s->config, &x.ctx, &d);
        if (q->fleet)
                fleet_needs_approver(s->config, q->role, &d, q->fleet);
        if (d.action == JIT_ACTION_DENY && !d.eligible) {
                svc_context_done(&x);
                return refuse_unrecorded(q, &d);
        }
        if (d.action == JIT_ACTION_ALLOW && active && (q->task || q->single_use || q->bind)) {
                svc_context_done(&x);
                return svc_error(JIT_CODE_CONFLICT, "you already hold grant %s for role %s; a task, single use or "
                                 "binding applies to a new grant only: end it first (jitctl done %s)",
                                 active->id, active->role, active->id);
        }
        if (d.action == JIT_ACTION_ALLOW && active) {
                svc_context_done(&x);
                a = use_grant(q, active, now);
                if (active->single_use && q->from_pam)
                        end_used_once(s, active, q->pid);
                return a;
        }
        if (d.action == JIT_ACTION_ESCALATE && !q->extends && !q->task && !q->single_use && !q->bind && !q->fleet &&
            (pending = find_pending(s, q->who->name, q->role, q->command))) {
                svc_context_done(&x);
                return pending_answer(s, pending, q->wait_s, true);
        }
        if ((d.action == JIT_ACTION_ESCALATE || q->break_glass) && too_many_pending(s, q)) {
                svc_context_done(&x);
                if (q->fleet)
                        return answer("deny", "jit: denied: too many requests asked from that host are waiting "
                                              "for a decision here");
                return answer("deny", "jit: denied: you have too many requests waiting for a decision; "
                                      "cancel some (jitctl list, jitctl cancel ID) or wait for them");
        }
        if (d.action != JIT_ACTION_DENY && !can_bind(s, q, &x.ctx)) {
                svc_context_done(&x);
                return answer("deny", "jit: denied: this grant must end with your login session or unit, "
                                      "but the request comes from neither");
        }
        r = request_new(s, q, &x.ctx, &d);
        svc_context_done(&x);
        e = r ? svc_add_request(s, r) : -ENOMEM;
        if (e < 0)
                return svc_error(JIT_CODE_INTERNAL, "jit: cannot record the request (%s): access denied", strerror(-e));
        jit_journal_event(JIT_EV_REQUEST, LOG_NOTICE,
                          &(struct jit_journal_fields){ .request_id = r->id, .role = r->role, .user = r->user,
                                                        .service = r->service },
                          "request %s: %s asks for role %s via %s%s (risk %u)", r->id, r->user, r->role,
                          r->service ? r->service : "?", q->break_glass ? ", BREAK-GLASS" : "", r->risk);
        if (d.action == JIT_ACTION_ESCALATE) {
                log_decision(r, "escalate", "policy", NULL);
                svc_notify(s, JIT_NOTIFY_PENDING, r, NULL);
                return pending_answer(s, r, q->wait_s, false);
        }
        if (d.action == JIT_ACTION_ALLOW && q->break_glass) {
                /* Granted once the caller signs it (jitctl does at once). */
                a = answer("sign", "jit: break-glass allowed: sign it to take the role");
                if (a) {
                        cJSON_AddStringToObject(a, "request_id", r->id);
                        attach(a, "request", jit_request_to_json(r));
                }
                return a;
        }
        if (d.action == JIT_ACTION_ALLOW) {
                struct jit_grant *g;

                a = grant_by_template(s, r, &d, now);
                g = r->grant_id[0] ? svc_find_grant(s, r->grant_id) : NULL;
                if (g && g->single_use && q->from_pam)
                        end_used_once(s, g, q->pid);
                return a;
        }
        r->decided_at_us = now;
        (void)jit_request_transition(r, JIT_REQ_DENIED);
        r->decided_by = strdup("policy");
        (void)svc_save_request(s, r);
        log_decision(r, "deny", "policy", NULL);
        svc_notify(s, JIT_NOTIFY_DENIED, r, NULL);
        return svc_outcome(s, r);
}

static int command_of(const cJSON *req, char ***ret)
{
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, "command"), *e;
        char **v = NULL;

        *ret = NULL;
        if (!c)
                return 0;
        if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) > JIT_COMMAND_MAX_ARGS)
                return -EINVAL;
        cJSON_ArrayForEach(e, c) {
                _cleanup_free_ char *t = NULL;

                if (!cJSON_IsString(e) || strlen(e->valuestring) > 4096) {
                        jit_strv_free(v);
                        return -EINVAL;
                }
                t = clean_text(e->valuestring, 4096);
                if (!t || jit_strv_push(&v, t) < 0) {
                        jit_strv_free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

static cJSON *op_access(struct svc *s, struct client *c, const cJSON *req)
{
        _cleanup_strv_free_ char **cmd = NULL;
        const char *user = str_of(req, "user"), *role = str_of(req, "role");
        const cJSON *wait = cJSON_GetObjectItemCaseSensitive(req, "wait_s");
        struct who w = { 0 };
        struct ask q = { 0 };
        cJSON *a;

        if (!user || !is_name(role) || strlen(user) > 64 || ttl_of(req, &q.ttl) < 0 || command_of(req, &cmd) < 0 ||
            (str_of(req, "service") && !is_service_name(str_of(req, "service"))))
                return user && strlen(user) > JIT_WHO_NAME_MAX
                       ? answer("deny", "jit: your user name is too long for jit (at most 64 characters): access denied")
                       : svc_error(JIT_CODE_INVALID, "jit: malformed access request");
        if (who_from_name(user, &w) < 0)
                return answer("deny", who_name_is_usable(user) ? "jit: unknown user: access denied"
                                      : "jit: your user name cannot be used by jit: access denied");
        q.who = &w;
        q.role = role;
        q.pid = c->pid;
        q.from_pam = true;
        q.service = str_of(req, "service");
        q.rhost = str_of(req, "rhost");
        q.tty = str_of(req, "tty");
        q.target_user = str_of(req, "target_user");
        q.command = cmd;
        /* Absent: nothing runs. Present but unknown: cannot be judged. */
        q.command_mode = cJSON_GetObjectItemCaseSensitive(req, "command_mode")
                ? jit_command_mode_from_string(str_of(req, "command_mode"))
                : cmd ? JIT_COMMAND_OPAQUE : JIT_COMMAND_NONE;
        q.wait_s = cJSON_IsNumber(wait) && wait->valuedouble > 0
                   ? (wait->valuedouble < 86400.0 ? (uint64_t)wait->valuedouble : 86400) : 0;
        a = decide_and_act(s, &q);
        who_done(&w);
        return a;
}

static cJSON *op_request(struct svc *s, struct client *c, const cJSON *req)
{
        const char *role = str_of(req, "role"), *ext = str_of(req, "extends");
        struct who w = { 0 };
        struct ask q = { 0 };
        cJSON *a;

        if (ext) {
                const struct jit_grant *g = svc_find_grant(s, ext);

                if (!g || g->uid != c->uid)
                        return svc_error(JIT_CODE_NOTFOUND, "you have no grant %s", ext);
                if (!jit_grant_is_active(g, svc_now_us()))
                        return svc_error(JIT_CODE_CONFLICT, "grant %s has ended: ask for the role again instead", ext);
                q.extends = g;
                role = g->role;
        }
        if (!is_name(role) || ttl_of(req, &q.ttl) < 0)
                return svc_error(JIT_CODE_INVALID, "malformed request: need a role name and an optional ttl");
        if (who_from_uid(c->uid, &w) < 0)
                return caller_unknown(c);
        q.who = &w;
        q.role = role;
        q.pid = c->pid;
        q.service = "jitctl";
        q.reason = clean_words(str_of(req, "reason"), JIT_TEXT_MAX);
        q.task = clean_words(str_of(req, "task"), JIT_TEXT_MAX);
        q.single_use = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "single_use"));
        q.bind = str_of(req, "bind");
        if (q.bind && strcmp(q.bind, "session") != 0 && strcmp(q.bind, "unit") != 0)
                a = svc_error(JIT_CODE_INVALID, "bind must be \"session\" or \"unit\"");
        else
                a = decide_and_act(s, &q);
        free(q.reason);
        free(q.task);
        who_done(&w);
        return a;
}

/* jitctl break-glass ROLE --reason: on call, at once, loud, reviewed. */
static cJSON *op_break_glass(struct svc *s, struct client *c, const cJSON *req)
{
        const char *role = str_of(req, "role"), *why = str_of(req, "reason");
        struct who w = { 0 };
        struct ask q = { 0 };
        cJSON *a;

        if (!is_name(role) || ttl_of(req, &q.ttl) < 0)
                return svc_error(JIT_CODE_INVALID, "malformed break-glass: need a role name and an optional ttl");
        if (!why || strlen(why) < 3)
                return svc_error(JIT_CODE_INVALID, "break-glass needs a --reason that says what is on fire");
        if (who_from_uid(c->uid, &w) < 0)
                return caller_unknown(c);
        q.who = &w;
        q.role = role;
        q.pid = c->pid;
        q.service = "jitctl";
        q.break_glass = true;
        q.reason = clean_words(why, JIT_TEXT_MAX);
        a = decide_and_act(s, &q);
        free(q.reason);
        who_done(&w);
        return a;
}

/* May c see records of this user and role? Root, the person, or an approver. */
static bool may_see(struct svc *s, const struct who *w, uid_t uid, const char *user, const char *role)
{
        if (uid == 0 || (w->name && strcmp(w->name, user) == 0))
                return true;
        return jit_policy_may_approve(s->config, jit_config_find_role(s->config, role), JIT_TIER_SECURITY,
                                      w->name, w->groups);
}

static cJSON *op_wait(struct svc *s, struct client *c, const cJSON *req)
{
        const char *id = str_of(req, "id");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
        struct jit_request *r = svc_find_request(s, id);
        struct who w = { 0 };
        bool ok;
        int64_t ms;

        if (!r)
                return svc_error(JIT_CODE_NOTFOUND, "no request %s", id ? id : "(none)");
        if (c->uid != 0 && who_from_uid(c->uid, &w) < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "unknown caller");
        ok = c->uid == 0 || r->uid == c->uid || may_see(s, &w, c->uid, r->user, r->role);
        who_done(&w);
        if (!ok)
                return svc_error(JIT_CODE_FORBIDDEN, "request %s is not yours to wait for", r->id);
        if (r->state != JIT_REQ_PENDING)
                return svc_outcome(s, r);
        if (!cJSON_IsNumber(t) || !(t->valuedouble > 0))
                return svc_outcome(s, r);
        ms = t->valuedouble >= (double)JIT_MAX_WAIT_MS ? JIT_MAX_WAIT_MS : (int64_t)t->valuedouble;
        c->waiting = true;
        /* pam_jit (root) waiting inside sudo: if it hangs up before the
         * decision, the user interrupted sudo. jitctl wait is different:
         * the request stays for a later retry. */
        c->cancel_on_hangup = c->uid == 0 && r->service && strcmp(r->service, "jitctl") != 0;
        memcpy(c->wait_id, r->id, sizeof(c->wait_id));
        c->wait_deadline_us = svc_now_us() + (uint64_t)ms * 1000;
        return NULL;
}

/* A sudo (or ssh) waiting on its own request x while another request of
 * the same user gave them the role (a jitctl request, a request for
 * several hosts, approved first): x is judged again as it was asked, now
 * with grant g active; unless the policy refuses its command, it is
 * withdrawn as covered and the sudo goes on under g (as a sudo asked
 * after the grant would). A single-use, bound or task grant covers only
 * what it was asked for. */
static void wake_covered(struct svc *s, const struct jit_request *r, const struct jit_grant *g)
{
        uint64_t now = svc_now_us();

        if (!g || !jit_grant_is_active(g, now) || g->single_use || g->bound_session || g->bound_unit || g->task ||
            !s->config)
                return;
        for (struct client *c = s->clients; c; c = c->next) {
                struct jit_request *x;
                struct who w = { 0 };
                struct jit_context ctx;
                struct jit_decision d;
                char why[128], until[64], msg[256];
                cJSON *a;

                if (!c->waiting || !c->cancel_on_hangup || strcmp(c->wait_id, r->id) == 0 ||
                    !(x = svc_find_request(s, c->wait_id)) || x == r || x->state != JIT_REQ_PENDING ||
                    x->uid != g->uid || strcmp(x->user, g->user) != 0 || strcmp(x->role, g->role) != 0 ||
                    (x->kind && strcmp(x->kind, "request") != 0) || x->single_use || x->bind || x->task ||
                    x->fleet_id[0])
                        continue;
                if (who_from_name(x->user, &w) < 0)
                        continue;
                /* as asked, but now: the time (hours, windows) is this moment's */
                if (svc_context_from_request(s->config, x, &w, &ctx) < 0 ||
                    jit_time_local((int64_t)(now / 1000000), s->config->settings.timezone, &ctx.wday, &ctx.minute) < 0) {
                        who_done(&w);
                        continue;
                }
                ctx.now = (int64_t)(now / 1000000);
                ctx.active_grant = g->id;
                jit_policy_decide(s->config, &ctx, &d);
                who_done(&w);
                if (d.action != JIT_ACTION_ALLOW)
                        continue;       /* its command is refused: it waits for its own decision */
                if (jit_request_transition(x, JIT_REQ_CANCELLED) < 0)
                        continue;
                x->decided_at_us = now;
                snprintf(why, sizeof(why), "covered by grant %s (request %s)", g->id, r->id);
                free(x->comment);
                x->comment = strdup(why);
                (void)svc_save_request(s, x);
                log_decision(x, "cancelled", "policy", why);
                svc_format_until(until, sizeof(until), g->expires_us, now);
                snprintf(msg, sizeof(msg), "jit: role %s active until %s (grant %s, request %s)", g->role, until,
                         g->id, r->id);
                /* every one waiting on x: sudos sharing it, jitctl wait */
                for (struct client *o = s->clients; o; o = o->next) {
                        if (!o->waiting || strcmp(o->wait_id, x->id) != 0)
                                continue;
                        a = answer("allow", msg);
                        if (a) {
                                cJSON_AddStringToObject(a, "request_id", x->id);
                                attach(a, "grant", jit_grant_to_json(g));
                        }
                        o->waiting = false;
                        svc_client_answer(s, o, a ?: svc_error(JIT_CODE_INTERNAL, "out of memory"));
                }
        }
}

void svc_notify_decided(struct svc *s, const struct jit_request *r)
{
        struct jit_grant *g = r->grant_id[0] ? svc_find_grant(s, r->grant_id) : NULL;
        pid_t used_by = 0;

        for (struct client *c = s->clients; c; c = c->next) {
                if (!c->waiting || strcmp(c->wait_id, r->id) != 0)
                        continue;
                c->waiting = false;
                svc_client_answer(s, c, svc_outcome(s, r));
                /* a sudo/ssh that waited for this approval is the use */
                if (c->cancel_on_hangup && !used_by)
                        used_by = c->pid;
        }
        if (g && g->single_use && used_by && jit_grant_is_active(g, svc_now_us()))
                end_used_once(s, g, used_by);
        else
                wake_covered(s, r, g);
}

void svc_expire_waiters(struct svc *s, uint64_t now)
{
        svc_fleet_expire_waiters(s, now);
        for (struct client *c = s->clients; c; c = c->next) {
                struct jit_request *r;

                if (!c->waiting || c->fleet_sync || now < c->wait_deadline_us)
                        continue;
                c->waiting = false;
                r = svc_find_request(s, c->wait_id);
                svc_client_answer(s, c, r ? svc_outcome(s, r) : svc_error(JIT_CODE_NOTFOUND, "request vanished"));
        }
}

static bool is_break_glass(const struct jit_request *r)
{
        return r->kind && strcmp(r->kind, "break-glass") == 0;
}

static enum jit_tier tier_of(const struct jit_request *r)
{
        return r->tier && strcmp(r->tier, "security") == 0 ? JIT_TIER_SECURITY : JIT_TIER_OWNER;
}

/* approve/deny: the decider must be an approver of the role at the
 * request's tier, and neither the requester by name nor by uid, nor one
 * who approved it already. A break-glass request is completed only by its
 * own requester (signing "break-glass"), and by nobody else. */
static cJSON *check_decider_who(struct svc *s, struct jit_request *r, const struct who *w, bool remote)
{
        const struct jit_role *role;

        if (r->state != JIT_REQ_PENDING)
                return svc_error(JIT_CODE_CONFLICT, "request %s is already %s", r->id,
                                 jit_request_state_to_string(r->state));
        if (!s->config)
                return svc_error(JIT_CODE_INTERNAL, "the jit policy is invalid: no decisions until it is fixed");
        if (is_break_glass(r))
                return !remote && r->uid == w->uid && strcmp(r->user, w->name) == 0 ? NULL
                       : svc_error(JIT_CODE_FORBIDDEN, "break-glass %s is completed by %s alone, on this host",
                                   r->id, r->user);
        if ((w->uid != (uid_t)-1 && r->uid == w->uid) || strcmp(r->user, w->name) == 0)
                return svc_error(JIT_CODE_FORBIDDEN, "%s cannot decide their own request %s", w->name, r->id);
        role = jit_config_find_role(s->config, r->role);
        if (!jit_policy_may_approve(s->config, role, tier_of(r), w->name, w->groups))
                return svc_error(JIT_CODE_FORBIDDEN, "%s is not an approver for role %s at the %s tier", w->name,
                                 r->role, tier_of(r) == JIT_TIER_SECURITY ? "security" : "owner");
        for (size_t i = 0; i < r->n_approvals; i++)
                if (strcmp(r->approvals[i].by, w->name) == 0)
                        return svc_error(JIT_CODE_CONFLICT, "%s approved %s already: it needs another approver",
                                         w->name, r->id);
        return NULL;
}

static cJSON *check_decider(struct svc *s, struct client *c, struct jit_request *r, struct who *w)
{
        if (!r)
                return svc_error(JIT_CODE_NOTFOUND, "no such request");
        if (who_from_uid(c->uid, w) < 0)
                return caller_unknown(c);
        return check_decider_who(s, r, w, false);
}

/* The policy may have changed since the request was made: judged again,
 * in the context it was made in, with the requester's groups now, it must
 * not be denied. (The grant takes the role's current group and TTL cap;
 * the caller applies them once the signed decision holds.) */
static cJSON *still_allowed(struct svc *s, struct jit_request *r)
{
        struct who req = { 0 };
        struct jit_context ctx;
        struct jit_decision d;

        if (who_from_name(r->user, &req) < 0)
                return svc_error(JIT_CODE_CONFLICT, "requester %s no longer exists", r->user);
        if (svc_context_from_request(s->config, r, &req, &ctx) < 0) {
                who_done(&req);
                return svc_error(JIT_CODE_INTERNAL, "the policy's timezone cannot be used");
        }
        if (is_break_glass(r))
                jit_policy_break_glass(s->config, &ctx, &d);
        else
                jit_policy_decide(s->config, &ctx, &d);
        who_done(&req);
        if (d.action == JIT_ACTION_DENY)
                return svc_error(JIT_CODE_CONFLICT, "the policy no longer allows request %s: %s", r->id,
                                 jit_decision_summary(&d));
        return NULL;
}

/* An approval or denial counts only when it comes signed by the caller's
 * registered key over exactly what will be done: this request, requester,
 * host, role, group and TTL, this decision, this approver, a time near
 * now. A signature is good for one decision only: the request it names
 * can be decided once. */
static cJSON *check_signature(struct svc *s, const cJSON *req, const struct jit_request *r,
                              const char *approver, const char *decision, const char *group,
                              uint64_t ttl, bool remote, struct jit_signed *ret)
{
        struct jit_decision_fields f = {
                .request = r->id, .requester = r->user, .host = svc_hostname(), .role = r->role,
                .group = group, .decision = decision, .approver = approver, .ttl = ttl,
        };
        _cleanup_free_ char *hosts = NULL;
        const char *sig = str_of(req, "signature"), *nonce = str_of(req, "nonce");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "time_us");
        char canonical[JIT_DECISION_MAX], keyhex[65];
        unsigned char pk[32];
        uint64_t now = svc_now_us();
        int e;

        if (!sig || !nonce || strlen(nonce) != 32 || !cJSON_IsNumber(t) || t->valuedouble < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "decisions must be signed: run jitctl keygen, have root "
                                 "register the key (jitctl approver add), then decide again with jitctl");
        if (r->fleet_id[0]) {
                /* one signature for every host the request names; this
                 * host is one of them (svc_fleet_open saw to it) */
                hosts = jit_strv_join(r->fleet_hosts, ",");
                if (!hosts || !jit_strv_contains(r->fleet_hosts, svc_hostname()))
                        return svc_error(JIT_CODE_FORBIDDEN, "request %s does not name this host", r->id);
                f.request = r->fleet_id;
                f.host = hosts;
                f.group = "*";
        }
        f.time_us = (uint64_t)t->valuedouble;
        /* Made here: signed just now. Carried by the fleet store: signed
         * while the request was pending (a host partitioned away reads it
         * later); the request can be decided once either way. */
        if (remote ? f.time_us + JIT_DECISION_SKEW_US < (r->fleet_id[0] ? r->fleet_asked_us : r->created_us) ||
                     f.time_us > now + JIT_DECISION_SKEW_US
                   : f.time_us + JIT_DECISION_SKEW_US < now || f.time_us > now + JIT_DECISION_SKEW_US)
                return svc_error(JIT_CODE_FORBIDDEN, "the decision was signed at a time too far from %s",
                                 remote ? "the request's" : "now");
        memcpy(f.nonce, nonce, 33);
        e = svc_approver_key(s, approver, pk);
        if (e == -ENOENT)
                return svc_error(JIT_CODE_FORBIDDEN, "no usable registered signing key for %s (none registered: "
                                 "jitctl approver add)", approver);
        if (e < 0) {
                /* root's registry was tampered with or mis-set: say which file, and why */
                int dl = strrchr(s->config_path, '/') ? (int)(strrchr(s->config_path, '/') - s->config_path) : 0;

                jit_journal_event(JIT_EV_ERROR, LOG_WARNING,
                                  &(struct jit_journal_fields){ .request_id = r->id, .approver = approver,
                                                                .decision = decision },
                                  "refused a %s of %s by %s: the registered key %.*s/%s/%s.pub (or its "
                                  "directory) is refused: %s", decision, r->id, approver,
                                  dl, s->config_path, JIT_APPROVERS_DIR, approver, jit_safeio_strerror(e));
                return svc_error(JIT_CODE_FORBIDDEN, "no usable registered signing key for %s (%.*s/%s/%s.pub or "
                                 "its directory: %s)", approver,
                                 dl, s->config_path, JIT_APPROVERS_DIR, approver, jit_safeio_strerror(e));
        }
        if (jit_decision_encode(canonical, sizeof(canonical), &f) < 0 ||
            jit_decision_verify(sig, canonical, pk) < 0) {
                jit_journal_event(JIT_EV_ERROR, LOG_WARNING,
                                  &(struct jit_journal_fields){ .request_id = r->id, .approver = approver,
                                                                .decision = decision },
                                  "refused a %s of %s by %s: the signature does not verify", decision, r->id, approver);
                return svc_error(JIT_CODE_FORBIDDEN, "the signature does not verify (another key, or signed "
                                 "for another request, host, TTL or decision)");
        }
        sodium_bin2hex(keyhex, sizeof(keyhex), pk, sizeof(pk));
        ret->canonical = strdup(canonical);
        ret->signature = strdup(sig);
        ret->key = strdup(keyhex);
        return ret->canonical && ret->signature && ret->key ? NULL : svc_error(JIT_CODE_INTERNAL, "out of memory");
}

/* An approver's decision, signed and checked: on the request, on disk,
 * in the logs. Takes over sd. */
static void record_decision(struct svc *s, struct jit_request *r, enum jit_request_state to,
                            struct jit_signed *sd, const char *approver, const char *words)
{
        jit_signed_done(&r->signed_decision);
        r->signed_decision = *sd;
        *sd = (struct jit_signed){ 0 };
        (void)jit_request_transition(r, to);
        r->decided_by = strdup(approver);
        r->decided_at_us = svc_now_us();
        r->comment = clean_words(words, JIT_TEXT_MAX);
        (void)svc_save_request(s, r);
        log_decision(r, to == JIT_REQ_APPROVED ? "allow" : "deny", approver,
                     r->comment ? r->comment : to == JIT_REQ_APPROVED ? "approved" : NULL);
}

/* M-of-N: an approval that does not yet complete the request. */
static bool approvals_complete(const struct jit_request *r)
{
        bool any_security = false;

        for (size_t i = 0; i < r->n_approvals; i++)
                any_security |= r->approvals[i].security;
        if (tier_of(r) != JIT_TIER_SECURITY)
                return r->n_approvals >= 1;
        return r->n_approvals >= r->approvals_needed && any_security;
}

static cJSON *approval_noted(struct svc *s, struct jit_request *r, const char *by)
{
        char msg[256];
        cJSON *a;

        (void)svc_save_request(s, r);
        jit_journal_event(JIT_EV_DECISION, LOG_NOTICE,
                          &(struct jit_journal_fields){ .request_id = r->id, .role = r->role, .user = r->user,
                                                        .decision = "approve-partial", .approver = by },
                          "request %s: approval %zu of %u by %s", r->id, r->n_approvals, r->approvals_needed, by);
        snprintf(msg, sizeof(msg), "approval %zu of %u recorded for %s; it needs %s", r->n_approvals,
                 r->approvals_needed, r->id,
                 r->n_approvals >= r->approvals_needed ? "one approval from a security approver"
                                                       : "more distinct approvers (one at least from security)");
        a = answer("pending", msg);
        if (a) {
                cJSON_AddStringToObject(a, "request_id", r->id);
                attach(a, "request", jit_request_to_json(r));
        }
        return a;
}

static void announce_break_glass(const struct jit_request *r)
{
        jit_journal_event(JIT_EV_BREAK_GLASS, LOG_ALERT,
                          &(struct jit_journal_fields){ .request_id = r->id, .grant_id = r->grant_id, .role = r->role,
                                                        .user = r->user, .group = r->group, .decision = "break-glass" },
                          "BREAK-GLASS: %s took role %s (grant %s) without an approver: \"%s\"; review it: jitctl review %s --comment ...",
                          r->user, r->role, r->grant_id, r->reason ? r->reason : "", r->id);
}

/* An approval by w (checked by check_decider_who), signed as req says:
 * recorded, and the grant made once the request has every approval it
 * needs. remote: carried from another host by the fleet store. */
static cJSON *grant_approved(struct svc *s, const cJSON *req, struct jit_request *r, const struct who *w,
                             struct jit_signed *sd, bool bg);

/* A request for several hosts: the approval signs the TTL asked, or less
 * (the same for every host); each host grants no more than its own
 * policy allowed when the request was made. */
static cJSON *decide_approve_fleet(struct svc *s, const cJSON *req, struct jit_request *r, const struct who *w,
                                   const struct jit_role *role, uint64_t ttl, bool remote)
{
        struct jit_signed sd = { 0 };
        cJSON *a;

        if (!ttl)
                ttl = r->fleet_ttl;
        if (ttl > r->fleet_ttl)
                return svc_error(JIT_CODE_INVALID, "request %s asked for %llus: an approval may sign no more", r->id,
                                 (unsigned long long)r->fleet_ttl);
        a = still_allowed(s, r);
        if (!a)
                a = check_signature(s, req, r, w->name, "approve", "*", ttl, remote, &sd);
        if (!a && jit_request_add_approval(r, w->name, svc_now_us(),
                                           jit_policy_is_security_approver(s->config, w->name, w->groups), &sd) < 0)
                a = svc_error(JIT_CODE_INTERNAL, "cannot record the approval");
        if (a) {
                jit_signed_done(&sd);
                return a;
        }
        if (!r->group || strcmp(r->group, role->group) != 0) {
                free(r->group);
                r->group = strdup(role->group);
        }
        if (ttl < r->ttl)
                r->ttl = ttl;
        if (r->ttl > role->max_ttl)
                r->ttl = role->max_ttl;         /* the policy now */
        return grant_approved(s, req, r, w, &sd, false);
}

static cJSON *decide_approve(struct svc *s, const cJSON *req, struct jit_request *r, const struct who *w,
                             bool remote)
{
        const struct jit_role *role;
        uint64_t final_ttl, max;
        struct jit_signed sd = { 0 };
        uint64_t ttl;
        bool bg;
        cJSON *a;

        if (ttl_of(req, &ttl) < 0)
                return svc_error(JIT_CODE_INVALID, "bad ttl");
        bg = is_break_glass(r);
        role = jit_config_find_role(s->config, r->role);
        max = bg ? role->break_glass_ttl : role->max_ttl;
        if (r->fleet_id[0])
                return decide_approve_fleet(s, req, r, w, role, ttl, remote);
        if (ttl && ttl > max)
                return svc_error(JIT_CODE_INVALID, "role %s allows at most %llus", role->name, (unsigned long long)max);
        if (ttl && r->n_approvals && ttl != r->ttl)
                return svc_error(JIT_CODE_CONFLICT, "the first approver of %s set its TTL to %llus: approve without --for",
                                 r->id, (unsigned long long)r->ttl);
        final_ttl = ttl ? ttl : r->ttl > max ? max : r->ttl;
        a = still_allowed(s, r);
        if (!a)
                a = check_signature(s, req, r, w->name, bg ? "break-glass" : "approve", role->group, final_ttl, remote, &sd);
        if (!a && !bg && jit_request_add_approval(r, w->name, svc_now_us(),
                                                  jit_policy_is_security_approver(s->config, w->name, w->groups), &sd) < 0)
                a = svc_error(JIT_CODE_INTERNAL, "cannot record the approval");
        if (a) {
                jit_signed_done(&sd);
                return a;
        }
        /* The signed decision holds: apply exactly what it says. */
        if (!r->group || strcmp(r->group, role->group) != 0) {
                free(r->group);
                r->group = strdup(role->group);
        }
        r->ttl = final_ttl;
        return grant_approved(s, req, r, w, &sd, bg);
}

/* The signed approval sd holds (taken over): the grant, once the request
 * has every approval it needs. */
static cJSON *grant_approved(struct svc *s, const cJSON *req, struct jit_request *r, const struct who *w,
                             struct jit_signed *sd, bool bg)
{
        _cleanup_free_ char *err = NULL;
        struct jit_grant *g = NULL;
        cJSON *a;

        if (!bg && !approvals_complete(r)) {
                jit_signed_done(sd);
                return approval_noted(s, r, w->name);
        }
        if (bg)
                r->review_state = strdup("open");
        record_decision(s, r, JIT_REQ_APPROVED, sd, w->name,
                        bg ? "break-glass: granted on their own signed statement, no approver" : str_of(req, "comment"));
        if (svc_grant_create(s, r, bg ? "break-glass" : w->name, r->ttl, &g, &err) < 0)
                a = svc_error(JIT_CODE_INTERNAL, "approved, but the grant could not be applied: %s",
                              err ? err : "see the service log");
        else
                a = svc_outcome(s, r);
        if (bg && g) {
                announce_break_glass(r);
                svc_notify(s, JIT_NOTIFY_BREAK_GLASS, r, g);
        }
        svc_notify_decided(s, r);
        return a;
}

static cJSON *decide_deny(struct svc *s, const cJSON *req, struct jit_request *r, const struct who *w, bool remote)
{
        struct jit_signed sd = { 0 };
        cJSON *a;

        a = check_signature(s, req, r, w->name, "deny", r->group, r->fleet_id[0] ? r->fleet_ttl : r->ttl, remote, &sd);
        if (a) {
                jit_signed_done(&sd);
                return a;
        }
        record_decision(s, r, JIT_REQ_DENIED, &sd, w->name, str_of(req, "reason"));
        svc_notify_decided(s, r);
        svc_notify(s, JIT_NOTIFY_DENIED, r, NULL);
        return svc_outcome(s, r);
}

static cJSON *op_approve(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_request *r = svc_find_request(s, str_of(req, "id"));
        struct who w = { 0 };
        cJSON *a;

        a = check_decider(s, c, r, &w);
        if (!a)
                a = decide_approve(s, req, r, &w, false);
        who_done(&w);
        return a;
}

/* A decision the fleet store carried from another host (jit-fleet, root,
 * hands it over): the approver is named by the message, so the signature
 * alone speaks for them; it is checked exactly as one made here. Whatever
 * is refused is on record: the store is trusted for availability only. */
/* The request of this host for a fleet id ("m-..."), in any state. */
static struct jit_request *find_fleet_request(struct svc *s, const char *fleet_id)
{
        if (!fleet_id || !jit_id_is_valid(fleet_id, 'm'))
                return NULL;
        for (size_t i = 0; i < s->n_reqs; i++)
                if (strcmp(s->reqs[i]->fleet_id, fleet_id) == 0)
                        return s->reqs[i];
        return NULL;
}

/* A request asked on another host for several hosts, this one among
 * them, carried by the fleet store (jit-fleet, root, hands it over):
 * judged by this host's policy as one asked from that host, never granted
 * by a template, recorded pending for a signed approval. Asked again
 * (jit-fleet restarted, the store read again): the request made then. */
cJSON *svc_fleet_open(struct svc *s, const struct svc_fleet_ask *f, const char *user, const char *role,
                      const char *reason)
{
        struct jit_request *old = find_fleet_request(s, f->id);
        struct who w = { 0 };
        struct ask q = { 0 };
        cJSON *a;

        if (old) {
                if (strcmp(old->user, user) != 0 || strcmp(old->role, role) != 0 || !old->origin ||
                    strcmp(old->origin, f->origin) != 0)
                        return svc_error(JIT_CODE_CONFLICT, "fleet request %s is here already, asked otherwise", f->id);
                if (old->state == JIT_REQ_PENDING)
                        return pending_answer(s, old, 0, true);
                a = answer(jit_request_state_to_string(old->state), "decided already");
                if (a)
                        cJSON_AddStringToObject(a, "request_id", old->id);
                return a;
        }
        if (!jit_strv_contains(f->hosts, svc_hostname()))
                return svc_error(JIT_CODE_INVALID, "fleet request %s does not name this host (%s)", f->id, svc_hostname());
        {
                /* asked no longer ago than a request stays approvable: an
                 * old fleet id written again (its signatures are in the
                 * store) would have lapsed by now */
                const struct jit_role *rl = s->config ? jit_config_find_role(s->config, role) : NULL;
                uint64_t rttl = rl && rl->request_ttl ? rl->request_ttl : s->config ? s->config->settings.request_ttl : 0;
                uint64_t now = svc_now_us();

                if (f->asked_us > now + JIT_DECISION_SKEW_US || f->asked_us + rttl * 1000000ULL + JIT_DECISION_SKEW_US < now)
                        return svc_error(JIT_CODE_CONFLICT, "fleet request %s was asked too long ago (or in the future): "
                                         "it would have lapsed", f->id);
        }
        if (who_from_name(user, &w) < 0)
                return svc_error(JIT_CODE_NOTFOUND, "no user %s on this host", user);
        q.who = &w;
        q.role = role;
        q.ttl = f->ttl;
        q.service = "fleet";
        q.fleet = f;
        q.reason = clean_words(reason, JIT_TEXT_MAX);
        a = decide_and_act(s, &q);
        free(q.reason);
        who_done(&w);
        return a;
}

cJSON *svc_fleet_decide(struct svc *s, const cJSON *req, const char *origin)
{
        const char *ref = str_of(req, "id");
        struct jit_request *r = ref && ref[0] == 'm' ? find_fleet_request(s, ref) : svc_find_request(s, ref);
        const char *approver = str_of(req, "approver"), *decision = str_of(req, "decision");
        bool approve = decision && strcmp(decision, "approve") == 0;
        const char *outcome = "refused";
        struct who w = { 0 };
        cJSON *a = NULL;

        if (!approver || !who_name_is_usable(approver))
                a = svc_error(JIT_CODE_INVALID, "the decision names no usable approver");
        else if (!approve && (!decision || strcmp(decision, "deny") != 0))
                a = svc_error(JIT_CODE_INVALID, "the decision is neither approve nor deny");
        else if (!r)
                a = svc_error(JIT_CODE_NOTFOUND, "no request %s on this host", str_of(req, "id") ? str_of(req, "id") : "(none)");
        else if (who_from_name(approver, &w) < 0) {
                /* an approver without an account here: known by name and key alone */
                w = (struct who){ .name = strdup(approver), .uid = (uid_t)-1, .gid = (gid_t)-1 };
                if (!w.name)
                        a = svc_error(JIT_CODE_INTERNAL, "out of memory");
        }
        if (!a)
                a = check_decider_who(s, r, &w, true);
        if (!a)
                a = approve ? decide_approve(s, req, r, &w, true) : decide_deny(s, req, r, &w, true);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok")))
                outcome = str_of(a, "decision") && strcmp(str_of(a, "decision"), "pending") == 0 ? "recorded" : "applied";
        jit_journal_event(JIT_EV_FLEET, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok")) ? LOG_NOTICE : LOG_WARNING,
                          &(struct jit_journal_fields){ .request_id = r ? r->id : str_of(req, "id"),
                                                        .role = r ? r->role : NULL, .user = r ? r->user : NULL,
                                                        .approver = approver, .host = origin,
                                                        .decision = outcome },
                          "fleet %s of %s by %s from host %s: %s", decision ? decision : "decision",
                          str_of(req, "id") ? str_of(req, "id") : "(none)", approver ? approver : "(none)",
                          origin ? origin : "(unknown)",
                          strcmp(outcome, "refused") != 0 ? outcome : str_of(a, "error") ? str_of(a, "error") : "refused");
        who_done(&w);
        return a;
}

/* jitctl review ID --comment: someone other than the one who broke the
 * glass, an approver of the role or of security, closes the review. */
static cJSON *op_review(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_request *r = svc_find_request(s, str_of(req, "id"));
        const char *comment = str_of(req, "comment");
        const struct jit_role *role;
        struct who w = { 0 };
        cJSON *a = NULL;

        if (!r || !is_break_glass(r) || !r->review_state)
                return svc_error(JIT_CODE_NOTFOUND, "no break-glass review %s", str_of(req, "id") ? str_of(req, "id") : "");
        if (!comment || strlen(comment) < 3)
                return svc_error(JIT_CODE_INVALID, "a review needs a --comment saying what was found");
        if (strcmp(r->review_state, "open") != 0)
                return svc_error(JIT_CODE_CONFLICT, "review %s was closed by %s already", r->id,
                                 r->review_by ? r->review_by : "?");
        if (who_from_uid(c->uid, &w) < 0)
                return caller_unknown(c);
        role = s->config ? jit_config_find_role(s->config, r->role) : NULL;
        if (r->uid == c->uid || strcmp(r->user, w.name) == 0)
                a = svc_error(JIT_CODE_FORBIDDEN, "you broke the glass on %s: someone else must review it", r->id);
        else if (!jit_policy_may_approve(s->config, role, JIT_TIER_SECURITY, w.name, w.groups))
                a = svc_error(JIT_CODE_FORBIDDEN, "%s is not an approver of role %s or of security", w.name, r->role);
        if (a) {
                who_done(&w);
                return a;
        }
        free(r->review_state);
        r->review_state = strdup("closed");
        r->review_by = strdup(w.name);
        r->review_comment = clean_words(comment, JIT_TEXT_MAX);
        r->review_at_us = svc_now_us();
        (void)svc_save_request(s, r);
        jit_journal_event(JIT_EV_REVIEW, LOG_NOTICE,
                          &(struct jit_journal_fields){ .request_id = r->id, .grant_id = r->grant_id, .role = r->role,
                                                        .user = r->user, .by = w.name },
                          "break-glass %s by %s reviewed by %s: %s", r->id, r->user, w.name, r->review_comment);
        who_done(&w);
        a = answer(NULL, "review closed");
        attach(a, "request", jit_request_to_json(r));
        return a;
}

static cJSON *op_deny(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_request *r = svc_find_request(s, str_of(req, "id"));
        struct who w = { 0 };
        cJSON *a;

        a = check_decider(s, c, r, &w);
        if (!a)
                a = decide_deny(s, req, r, &w, false);
        who_done(&w);
        return a;
}

void svc_cancel_interrupted(struct svc *s, const char *id)
{
        struct jit_request *r = svc_find_request(s, id);

        if (!r || jit_request_transition(r, JIT_REQ_CANCELLED) < 0)
                return;
        r->decided_at_us = svc_now_us();
        free(r->comment);
        r->comment = strdup("interrupted by the requester while waiting");
        (void)svc_save_request(s, r);
        log_decision(r, "cancelled", r->user, r->comment);
        svc_notify_decided(s, r);
}

static cJSON *op_cancel(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_request *r = svc_find_request(s, str_of(req, "id"));

        if (!r)
                return svc_error(JIT_CODE_NOTFOUND, "no such request");
        if (c->uid != 0 && r->uid != c->uid)
                return svc_error(JIT_CODE_FORBIDDEN, "only the requester can cancel %s", r->id);
        if (jit_request_transition(r, JIT_REQ_CANCELLED) < 0)
                return svc_error(JIT_CODE_CONFLICT, "request %s is already %s", r->id,
                                 jit_request_state_to_string(r->state));
        r->decided_at_us = svc_now_us();
        (void)svc_save_request(s, r);
        log_decision(r, "cancelled", r->user, "withdrawn by the requester");
        svc_notify_decided(s, r);
        return svc_outcome(s, r);
}

static cJSON *grant_answer(const struct jit_grant *g, bool already)
{
        cJSON *a = answer(NULL, NULL);

        if (a) {
                cJSON_AddBoolToObject(a, "already", already);
                attach(a, "grant", jit_grant_to_json(g));
        }
        return a;
}

/* jitctl done GRANT: the task is over; its owner ends it now. */
static cJSON *op_done(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_grant *g = svc_find_grant(s, str_of(req, "id"));

        if (!g || g->uid != c->uid)
                return svc_error(JIT_CODE_NOTFOUND, "you have no grant %s", str_of(req, "id") ? str_of(req, "id") : "");
        if (g->state != JIT_GRANT_ACTIVE)
                return grant_answer(g, true);
        if (svc_grant_end(s, g, JIT_GRANT_REVOKED, "done") < 0)
                return svc_error(JIT_CODE_INTERNAL, "could not end grant %s (see the service log): run jitctl done again", g->id);
        return grant_answer(g, false);
}

/* pam_jit's session phase: a login's logind session opened or closed.
 * Open names the session of the user's grants made at that login and
 * bound to it; close ends the grants bound to it at once (logind's own
 * word, polled, would end them a moment later). */
static cJSON *op_session(struct svc *s, struct client *c, const cJSON *req)
{
        const char *event = str_of(req, "event"), *user = str_of(req, "user"), *session = str_of(req, "session");
        uint64_t now = svc_now_us();
        struct jit_grant *g;
        size_t n = 0;
        char msg[64];

        if (!event || !user || !session || strlen(session) > 64 || strlen(user) > 64 ||
            strcmp(session, JIT_SESSION_PENDING) == 0 || (strcmp(event, "open") && strcmp(event, "close")))
                return svc_error(JIT_CODE_INVALID, "malformed session event");
        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                if (!jit_grant_is_active(g, now) || strcmp(g->user, user) != 0 || !g->bound_session)
                        continue;
                if (strcmp(event, "open") == 0 && strcmp(g->bound_session, JIT_SESSION_PENDING) == 0) {
                        char boot[33];

                        free(g->bound_session);
                        g->bound_session = strdup(session);
                        free(g->bound_boot);
                        g->bound_boot = svc_boot_id(boot) == 0 ? strdup(boot) : NULL;
                        (void)svc_save_grant(s, g);
                        n++;
                } else if (strcmp(event, "close") == 0 && strcmp(g->bound_session, session) == 0) {
                        (void)svc_grant_end(s, g, JIT_GRANT_REVOKED, "session-closed");
                        n++;
                }
        }
        snprintf(msg, sizeof(msg), "%zu grant%s %s", n, n == 1 ? "" : "s", strcmp(event, "open") ? "ended" : "bound");
        return answer(NULL, msg);
}

/* jitctl reconcile (the jit-reconcile timer): a reconcile pass now. */
static cJSON *op_reconcile(struct svc *s, struct client *c, const cJSON *req)
{
        s->next_reconcile_us = 0;
        svc_reconcile(s, false);
        return answer(NULL, "reconciled");
}

static cJSON *op_revoke(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_grant *g = svc_find_grant(s, str_of(req, "id"));
        struct who w = { 0 };
        char by[80];
        bool ok;

        if (!g)
                return svc_error(JIT_CODE_NOTFOUND, "no such grant");
        if (who_from_uid(c->uid, &w) < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "unknown caller");
        ok = c->uid == 0 || g->uid == c->uid ||
             jit_policy_may_approve(s->config, jit_config_find_role(s->config, g->role), JIT_TIER_SECURITY, w.name, w.groups);
        snprintf(by, sizeof(by), "%s", w.name);
        who_done(&w);
        if (!ok)
                return svc_error(JIT_CODE_FORBIDDEN, "only root, the holder or an approver of %s may revoke %s",
                                 g->role, g->id);
        if (g->state != JIT_GRANT_ACTIVE)
                return grant_answer(g, true);
        if (svc_grant_end(s, g, JIT_GRANT_REVOKED, by) < 0)
                return svc_error(JIT_CODE_INTERNAL, "could not remove the membership; see the service log");
        return grant_answer(g, false);
}

static cJSON *op_reload(struct svc *s, struct client *c, const cJSON *req)
{
        svc_config_refresh(s, true);
        if (!s->config)
                return svc_error(JIT_CODE_POLICY, "the policy was refused: every request is denied until it is fixed (jitctl policy check)");
        return answer(NULL, "policy loaded");
}

/* The templates.d directory beside the policy, opened as trusted. */
static int templates_dir(struct svc *s)
{
        _cleanup_free_ char *dir = strdup(s->config_path);
        _cleanup_close_ int dfd = -1;
        char *slash = dir ? strrchr(dir, '/') : NULL;

        if (!slash)
                return -EINVAL;
        *slash = '\0';
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", JIT_SAFEIO_TRUSTED);
        if (dfd < 0)
                return dfd;
        return jit_safeio_ensure_dir_at(dfd, JIT_TEMPLATES_DIR, 0755);
}

static cJSON *op_template_add(struct svc *s, struct client *c, const cJSON *req)
{
        const char *name = str_of(req, "id"), *text = str_of(req, "template");
        _cleanup_strv_free_ char **errors = NULL;
        struct jit_config *cand = NULL;
        _cleanup_close_ int tfd = -1;
        char file[64];
        cJSON *a, *errs;
        int r;

        if (!is_name(name) || !text || strlen(text) > JIT_CONFIG_MAX_SIZE)
                return svc_error(JIT_CODE_INVALID, "malformed template: a name and its JSON text");
        r = jit_config_load_extra(s->config_path, JIT_SAFEIO_TRUSTED, name, text, strlen(text), &cand, &errors);
        if (r < 0) {
                a = svc_error(JIT_CODE_POLICY, "template %s does not fit the policy: %s", name,
                              errors && errors[0] ? errors[0] : strerror(-r));
                errs = cJSON_CreateArray();
                for (size_t i = 0; errs && errors && errors[i]; i++)
                        cJSON_AddItemToArray(errs, cJSON_CreateString(errors[i]));
                attach(a, "errors", errs);
                return a;
        }
        jit_config_free(cand);
        snprintf(file, sizeof(file), "%s.json", name);
        tfd = templates_dir(s);
        if (tfd < 0 || (r = jit_safeio_write_at(tfd, file, text, strlen(text), 0644)) < 0)
                return svc_error(JIT_CODE_INTERNAL, "cannot write %s/%s: %s", JIT_TEMPLATES_DIR, file,
                                 strerror(-(tfd < 0 ? tfd : r)));
        jit_journal_event(JIT_EV_POLICY, LOG_NOTICE, &(struct jit_journal_fields){ .rule = name,
                          .by = c->uid == 0 ? "root" : "?" }, "template %s added", name);
        svc_config_refresh(s, true);
        return answer(NULL, s->config ? "template added; policy reloaded" : "template added, but the policy no longer loads");
}

static cJSON *op_template_remove(struct svc *s, struct client *c, const cJSON *req)
{
        const char *name = str_of(req, "id");
        _cleanup_close_ int tfd = -1;
        char file[64];

        if (!is_name(name))
                return svc_error(JIT_CODE_INVALID, "malformed template name");
        snprintf(file, sizeof(file), "%s.json", name);
        tfd = templates_dir(s);
        if (tfd < 0)
                return svc_error(JIT_CODE_INTERNAL, "cannot open %s: %s", JIT_TEMPLATES_DIR, strerror(-tfd));
        if (unlinkat(tfd, file, 0) < 0)
                return errno == ENOENT
                       ? svc_error(JIT_CODE_NOTFOUND, "no template %s in %s (templates in jit.conf are removed by editing it)",
                                   name, JIT_TEMPLATES_DIR)
                       : svc_error(JIT_CODE_INTERNAL, "cannot remove %s: %s", file, strerror(errno));
        (void)fsync(tfd);
        jit_journal_event(JIT_EV_POLICY, LOG_NOTICE, &(struct jit_journal_fields){ .rule = name, .by = "root" },
                          "template %s removed", name);
        svc_config_refresh(s, true);
        return answer(NULL, "template removed; policy reloaded");
}

static cJSON *op_expire(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_grant *g = svc_find_grant(s, str_of(req, "id"));
        uint64_t now = svc_now_us();

        if (!g)
                return svc_error(JIT_CODE_NOTFOUND, "no such grant");
        if (g->state != JIT_GRANT_ACTIVE)
                return grant_answer(g, true);
        if (now + 1000000ULL < g->expires_us)
                return svc_error(JIT_CODE_NOTDUE, "grant %s is not due until %llu s from now (use jitctl revoke to end it early)",
                                 g->id, (unsigned long long)((g->expires_us - now) / 1000000));
        if (svc_grant_end(s, g, JIT_GRANT_EXPIRED, "timer") < 0)
                return svc_error(JIT_CODE_INTERNAL, "could not remove the membership; see the service log");
        return grant_answer(g, false);
}

static bool list_shows_request(const struct jit_request *r, bool all, bool reviews)
{
        bool open_review = r->review_state && strcmp(r->review_state, "open") == 0;

        if (reviews)
                return r->review_state && (open_review || all);
        return all || r->state == JIT_REQ_PENDING || open_review;
}

/* An answer must fit one frame (JIT_PROTO_MAX_ANSWER): a list shows the
 * newest JIT_LIST_MAX of each kind, in at most JIT_LIST_BYTES_MAX of text
 * in all (grants first, up to half of it; a request for several hosts
 * names up to 100 of them), and says how many it left out. */
#define JIT_LIST_MAX 2000
#define JIT_LIST_BYTES_MAX ((size_t)7 * 1024 * 1024 / 2)

/* The i-th record a list may show: any with --all, else only the open
 * requests and live grants (the index keeps them apart from the history). */
static struct jit_request *list_request(struct svc *s, bool all, size_t i)
{
        if (!all)
                return svc_open_request(s, i);
        return i < s->n_reqs ? s->reqs[i] : NULL;
}

static struct jit_grant *list_grant(struct svc *s, bool all, size_t i)
{
        if (!all)
                return svc_live_grant(s, i);
        return i < s->n_grants ? s->grants[i] : NULL;
}

static cJSON *op_list(struct svc *s, struct client *c, const cJSON *req)
{
        bool all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "all"));
        bool active_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "active"));
        bool reviews = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "reviews"));
        cJSON *a = answer(NULL, NULL);
        cJSON *reqs = cJSON_CreateArray(), *grants = cJSON_CreateArray();
        struct jit_proto_budget pr = { .max_items = JIT_LIST_MAX },
                                pg = { .max_bytes = JIT_LIST_BYTES_MAX / 2, .max_items = JIT_LIST_MAX };
        uint64_t now = svc_now_us();
        size_t nr = 0, ng = 0;
        const struct jit_request *r;
        const struct jit_grant *g;
        struct who w = { 0 };

        if (c->uid != 0 && who_from_uid(c->uid, &w) < 0) {
                cJSON_Delete(a); cJSON_Delete(reqs); cJSON_Delete(grants);
                return caller_unknown(c);
        }
        while (!active_only && list_request(s, all, nr))
                nr++;
        while (!reviews && list_grant(s, all, ng))
                ng++;
        /* newest first, so that what is left out is the oldest */
        for (size_t i = ng; grants && i-- > 0;) {
                g = list_grant(s, all, i);
                if (!(all || jit_grant_is_active(g, now)) || !may_see(s, &w, c->uid, g->user, g->role))
                        continue;
                if (jit_proto_budget_full(&pg))
                        pg.left_out++;
                else
                        jit_proto_budget_add(&pg, grants, jit_grant_to_json(g), true);
        }
        pr.max_bytes = JIT_LIST_BYTES_MAX - pg.bytes;
        for (size_t i = nr; reqs && i-- > 0;) {
                r = list_request(s, all, i);
                if (!list_shows_request(r, all, reviews) || !may_see(s, &w, c->uid, r->user, r->role))
                        continue;
                if (jit_proto_budget_full(&pr))
                        pr.left_out++;
                else
                        jit_proto_budget_add(&pr, reqs, jit_request_to_json(r), true);
        }
        who_done(&w);
        attach(a, "requests", reqs);
        attach(a, "grants", grants);
        if (a) {
                cJSON_AddNumberToObject(a, "now_us", (double)now);
                if (pr.left_out || pg.left_out) {
                        cJSON_AddNumberToObject(a, "requests_left_out", (double)pr.left_out);
                        cJSON_AddNumberToObject(a, "grants_left_out", (double)pg.left_out);
                }
        }
        return a;
}

static cJSON *op_show(struct svc *s, struct client *c, const cJSON *req)
{
        const char *id = str_of(req, "id");
        struct jit_request *r = svc_find_request(s, id);
        struct jit_grant *g = r ? NULL : svc_find_grant(s, id);
        const char *user = r ? r->user : g ? g->user : NULL, *role = r ? r->role : g ? g->role : NULL;
        const struct jit_role *rl;
        struct who w = { 0 };
        cJSON *a;
        bool ok;

        if (!user)
                return svc_error(JIT_CODE_NOTFOUND, "no request or grant %s", id ? id : "(none)");
        if (c->uid != 0 && who_from_uid(c->uid, &w) < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "unknown caller");
        ok = may_see(s, &w, c->uid, user, role);
        rl = jit_config_find_role(s->config, role);
        a = ok ? answer(NULL, NULL) : svc_error(JIT_CODE_FORBIDDEN, "%s is not yours to see", id);
        if (ok && a) {
                _cleanup_strv_free_ char **appr = role_approvers(rl);

                attach(a, r ? "request" : "grant", r ? jit_request_to_json(r) : jit_grant_to_json(g));
                if (r && r->grant_id[0] && svc_find_grant(s, r->grant_id))
                        attach(a, "grant", jit_grant_to_json(svc_find_grant(s, r->grant_id)));
                attach_strv(a, "approvers", appr);
                cJSON_AddBoolToObject(a, "you_may_approve",
                                      w.name && strcmp(w.name, user) != 0 && jit_policy_may_approve(s->config, rl, JIT_TIER_SECURITY, w.name, w.groups));
                cJSON_AddNumberToObject(a, "now_us", (double)svc_now_us());
                cJSON_AddStringToObject(a, "host", svc_hostname());
                if (r && rl && rl->group) {
                        /* What an approval would grant now: what an approver signs. */
                        cJSON *wg = cJSON_AddObjectToObject(a, "would_grant");

                        cJSON_AddStringToObject(wg, "group", rl->group);
                        cJSON_AddNumberToObject(wg, "ttl", (double)(r->ttl > rl->max_ttl ? rl->max_ttl : r->ttl));
                }
                if (w.name)
                        cJSON_AddStringToObject(a, "you", w.name);
                else if (c->uid == 0)
                        cJSON_AddStringToObject(a, "you", "root");
        }
        who_done(&w);
        return a;
}

static const struct {
        const char *op;
        bool root_only;
        cJSON *(*fn)(struct svc *s, struct client *c, const cJSON *req);
} ops[] = {
        { JIT_OP_ACCESS,  true,  op_access },
        { JIT_OP_REQUEST, false, op_request },
        { JIT_OP_WAIT,    false, op_wait },
        { JIT_OP_CANCEL,  false, op_cancel },
        { JIT_OP_LIST,    false, op_list },
        { JIT_OP_SHOW,    false, op_show },
        { JIT_OP_APPROVE, false, op_approve },
        { JIT_OP_DENY,    false, op_deny },
        { JIT_OP_REVOKE,  false, op_revoke },
        { JIT_OP_EXPIRE,  true,  op_expire },
        { JIT_OP_BREAK_GLASS, false, op_break_glass },
        { JIT_OP_REVIEW,  false, op_review },
        { JIT_OP_RELOAD,  true,  op_reload },
        { JIT_OP_DONE,    false, op_done },
        { JIT_OP_SESSION, true,  op_session },
        { JIT_OP_RECONCILE, true, op_reconcile },
        { JIT_OP_TEMPLATE_ADD, true, op_template_add },
        { JIT_OP_TEMPLATE_REMOVE, true, op_template_remove },
        { JIT_OP_NOTIFY_RESULT, true, svc_op_notify_result },
        { JIT_OP_FLEET_SYNC, true, svc_op_fleet_sync },
        { JIT_OP_FLEET_DECIDE, true, svc_op_fleet_decide },
        { JIT_OP_FLEET_OPEN, true, svc_op_fleet_open },
};

cJSON *svc_handle(struct svc *s, struct client *c, const cJSON *req)
{
        const char *op = str_of(req, "op");

        svc_config_refresh(s, false);
        for (size_t i = 0; op && i < JIT_ELEMENTSOF(ops); i++) {
                if (strcmp(op, ops[i].op) != 0)
                        continue;
                if (ops[i].root_only && c->uid != 0)
                        return svc_error(JIT_CODE_FORBIDDEN, "operation %s is for root only", op);
                return ops[i].fn(s, c, req);
        }
        return svc_error(JIT_CODE_INVALID, "unknown operation");
}
