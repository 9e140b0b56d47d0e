#include "config.h"
#include "cleanup.h"
#include "duration.h"
#include "safeio.h"
#include "strv.h"

#include <cJSON.h>
#include <fnmatch.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

/* Validation context: the error list and the JSON path of the node being
 * looked at. Paths are short (bounded by JIT_NAME_MAX per component). */
struct vctx {
        char **errors;
        int oom;
};

#define PATH_MAX_LEN 256

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void verr(struct vctx *v, const char *path, const char *fmt, ...)
{
        char msg[512];
        int n;
        va_list ap;

        n = snprintf(msg, sizeof(msg), "%s: ", path);
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
        va_end(ap);
        if (jit_strv_push(&v->errors, msg) < 0)
                v->oom = 1;
}

static void subpath(char *out, const char *path, const char *key)
{
        snprintf(out, PATH_MAX_LEN, "%s.%s", path, key);
}

static bool is_valid_name(const char *s, bool allow_upper_dot)
{
        size_t n = strlen(s);

        if (n == 0 || n > JIT_NAME_MAX || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
                        continue;
                if (allow_upper_dot && ((c >= 'A' && c <= 'Z') || c == '.'))
                        continue;
                return false;
        }
        return true;
}

/* Every key of obj must be in allowed[] (NULL: any name), and no key may
 * appear twice. */
static void check_keys(struct vctx *v, const cJSON *obj, const char *path, const char *const *allowed)
{
        const cJSON *it;

        cJSON_ArrayForEach(it, obj) {
                if (!allowed)
                        break;
                bool ok = false;

                for (size_t i = 0; allowed && allowed[i]; i++)
                        if (strcmp(it->string, allowed[i]) == 0)
                                ok = true;
                if (!ok)
                        verr(v, path, "unknown key \"%s\"", it->string);
        }
        /* cJSON keeps duplicates; a second value could hide the first. */
        cJSON_ArrayForEach(it, obj) {
                const cJSON *j;

                for (j = it->next; j; j = j->next)
                        if (strcmp(it->string, j->string) == 0) {
                                verr(v, path, "duplicate key \"%s\"", it->string);
                                break;
                        }
        }
}

static char *get_string(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                        bool required, size_t maxlen)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
        char p[PATH_MAX_LEN];
        char *s;

        subpath(p, path, key);
        if (!it) {
                if (required)
                        verr(v, path, "missing required key \"%s\"", key);
                return NULL;
        }
        if (!cJSON_IsString(it) || !it->valuestring) {
                verr(v, p, "must be a string");
                return NULL;
        }
        if (strlen(it->valuestring) > maxlen) {
                verr(v, p, "longer than %zu characters", maxlen);
                return NULL;
        }
        s = strdup(it->valuestring);
        if (!s)
                v->oom = 1;
        return s;
}

static int get_duration(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                        bool required, uint64_t *ret)
{
        _cleanup_free_ char *s = get_string(v, obj, path, key, required, 32);
        char p[PATH_MAX_LEN];

        if (!s)
                return -ENOENT;
        subpath(p, path, key);
        if (jit_duration_parse(s, ret) < 0) {
                verr(v, p, "bad duration \"%s\" (expected e.g. 90s, 15m, 1h30m; at most 366d)", s);
                return -EINVAL;
        }
        return 0;
}

enum list_kind { LIST_USER, LIST_GROUP, LIST_NAME, LIST_COMMAND, LIST_UNIT };

/* systemd unit names and fnmatch patterns over them: no '/', no spaces. */
static bool is_unit_pattern(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 256)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(":_.@-\\*?[]!", c)))
                        return false;
        }
        return true;
}

/* An optional array of strings; present-but-empty is an error, since
 * "nobody" and "anybody" must never be confused. */
static char **get_list(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                       enum list_kind kind)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key), *e;
        char p[PATH_MAX_LEN];
        char **out = NULL;
        int i = 0;

        if (!it)
                return NULL;
        subpath(p, path, key);
        if (!cJSON_IsArray(it)) {
                verr(v, p, "must be an array of strings");
                return NULL;
        }
        if (cJSON_GetArraySize(it) == 0) {
                verr(v, p, "must not be empty (leave the key out instead)");
                return NULL;
        }
        if (cJSON_GetArraySize(it) > 1024) {
                verr(v, p, "more than 1024 entries");
                return NULL;
        }
        cJSON_ArrayForEach(e, it) {
                char ep[PATH_MAX_LEN];
                const char *s = cJSON_IsString(e) ? e->valuestring : NULL;
                bool ok;

                snprintf(ep, sizeof(ep), "%s[%d]", p, i++);
                if (!s) {
                        verr(v, ep, "must be a string");
                        continue;
                }
                switch (kind) {
                case LIST_COMMAND:
                        ok = s[0] == '/' && strlen(s) <= 1024;
                        if (!ok)
                                verr(v, ep, "command pattern must be an absolute path (at most 1024 characters): \"%.64s\"", s);
                        break;
                case LIST_UNIT:
                        ok = is_unit_pattern(s);
                        if (!ok)
                                verr(v, ep, "bad unit name or pattern \"%.64s\"", s);
                        break;
                case LIST_NAME:
                        ok = is_valid_name(s, false);
                        if (!ok)
                                verr(v, ep, "bad name \"%.64s\"", s);
                        break;
                default:
                        ok = is_valid_name(s, true);
                        if (!ok)
                                verr(v, ep, "bad %s name \"%.64s\"", kind == LIST_USER ? "user" : "group", s);
                        break;
                }
                if (ok && jit_strv_contains(out, s))
                        verr(v, ep, "duplicate entry \"%.64s\"", s);
                else if (ok && jit_strv_push(&out, s) < 0)
                        v->oom = 1;
        }
        return out;
}

/* "sources": ["10.0.0.0/8", "::1/128", "local"] */
static void parse_sources(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                          struct jit_sources *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key), *e;
        char p[PATH_MAX_LEN];
        int n, i = 0;

        if (!it)
                return;
        subpath(p, path, key);
        n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
        if (n <= 0 || n > 1024) {
                verr(v, p, "must be a non-empty array of CIDRs or \"local\" (at most 1024)");
                return;
        }
        ret->cidrs = calloc((size_t)n, sizeof(*ret->cidrs));
        if (!ret->cidrs) {
                v->oom = 1;
                return;
        }
        ret->set = true;
        cJSON_ArrayForEach(e, it) {
                char ep[PATH_MAX_LEN];

                snprintf(ep, sizeof(ep), "%s[%d]", p, i++);
                if (!cJSON_IsString(e))
                        verr(v, ep, "must be a string");
                else if (strcmp(e->valuestring, "local") == 0)
                        ret->local = true;
                else if (jit_cidr_parse(e->valuestring, &ret->cidrs[ret->n]) < 0)
                        verr(v, ep, "bad address or CIDR \"%.64s\" (e.g. 10.0.0.0/8, 2001:db8::/32, or \"local\"; no host bits past the prefix)",
                             e->valuestring);
                else
                        ret->n++;
        }
}

/* "hours": [{"days": "mon-fri", "from": "08:00", "to": "18:00"}, ...] */
static void parse_hours(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                        struct jit_hours *ret)
{
        static const char *const keys[] = { "days", "from", "to", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key), *e;
        char p[PATH_MAX_LEN];
        int n, i = 0;

        if (!it)
                return;
        subpath(p, path, key);
        n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
        if (n <= 0 || n > 64) {
                verr(v, p, "must be a non-empty array of {\"days\", \"from\", \"to\"} windows (at most 64)");
                return;
        }
        ret->windows = calloc((size_t)n, sizeof(*ret->windows));
        if (!ret->windows) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(e, it) {
                struct jit_window *w = &ret->windows[ret->n];
                _cleanup_free_ char *days = NULL, *from = NULL, *to = NULL;
                char ep[PATH_MAX_LEN];
                bool ok = true;

                snprintf(ep, sizeof(ep), "%s[%d]", p, i++);
                if (!cJSON_IsObject(e)) {
                        verr(v, ep, "must be an object");
                        continue;
                }
                check_keys(v, e, ep, keys);
                days = get_string(v, e, ep, "days", true, 64);
                from = get_string(v, e, ep, "from", true, 8);
                to = get_string(v, e, ep, "to", true, 8);
                if (!days || !from || !to)
                        continue;
                if (jit_window_parse_days(days, &w->days) < 0) {
                        verr(v, ep, "bad days \"%s\" (e.g. \"mon-fri\", \"sat,sun\", \"*\")", days);
                        ok = false;
                }
                if (jit_window_parse_hhmm(from, &w->from) < 0 || w->from >= 1440) {
                        verr(v, ep, "bad \"from\" time \"%s\" (HH:MM, 00:00 to 23:59)", from);
                        ok = false;
                }
                if (jit_window_parse_hhmm(to, &w->to) < 0) {
                        verr(v, ep, "bad \"to\" time \"%s\" (HH:MM, 00:00 to 24:00)", to);
                        ok = false;
                }
                if (ok && w->from == w->to) {
                        verr(v, ep, "\"from\" and \"to\" are the same time: use 00:00 to 24:00 for a whole day");
                        ok = false;
                }
                if (ok)
                        ret->n++;
        }
}

/* "rate": {"requests": 5, "per": "1h"} */
static void parse_rate(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                       struct jit_rate *ret)
{
        static const char *const keys[] = { "requests", "per", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key), *n;
        char p[PATH_MAX_LEN];

        if (!it)
                return;
        subpath(p, path, key);
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object {\"requests\": N, \"per\": \"1h\"}");
                return;
        }
        check_keys(v, it, p, keys);
        n = cJSON_GetObjectItemCaseSensitive(it, "requests");
        if (!cJSON_IsNumber(n) || n->valuedouble < 1 || n->valuedouble > 100000 ||
            n->valuedouble != (double)(int)n->valuedouble)
                verr(v, p, "\"requests\" must be an integer from 1 to 100000");
        else
                ret->count = (uint32_t)n->valueint;
        if (get_duration(v, it, p, "per", true, &ret->per) < 0)
                ret->count = 0;
}

/* "tty": true (only from a terminal) or false (only without one) */
static enum jit_tty_need parse_tty(struct vctx *v, const cJSON *obj, const char *path)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "tty");
        char p[PATH_MAX_LEN];

        if (!it)
                return JIT_TTY_ANY;
        if (!cJSON_IsBool(it)) {
                subpath(p, path, "tty");
                verr(v, p, "must be true (only from a terminal) or false (only without one)");
                return JIT_TTY_ANY;
        }
        return cJSON_IsTrue(it) ? JIT_TTY_REQUIRED : JIT_TTY_NONE;
}

static void parse_match(struct vctx *v, const cJSON *obj, const char *path, struct jit_match *m)
{
        m->users = get_list(v, obj, path, "users", LIST_USER);
        m->groups = get_list(v, obj, path, "groups", LIST_GROUP);
        m->services = get_list(v, obj, path, "services", LIST_NAME);
        m->commands = get_list(v, obj, path, "commands", LIST_COMMAND);
        m->target_users = get_list(v, obj, path, "target_users", LIST_USER);
        m->units = get_list(v, obj, path, "units", LIST_UNIT);
        parse_sources(v, obj, path, "sources", &m->sources);
        parse_hours(v, obj, path, "hours", &m->hours);
        m->tty = parse_tty(v, obj, path);
}

static bool match_is_empty(const struct jit_match *m)
{
        return !m->users && !m->groups && !m->services && !m->commands && !m->target_users &&
               !m->units && !m->sources.set && !m->hours.n && m->tty == JIT_TTY_ANY;
}

static void match_free(struct jit_match *m)
{
        jit_strv_free(m->users);
        jit_strv_free(m->groups);
        jit_strv_free(m->services);
        jit_strv_free(m->commands);
        jit_strv_free(m->target_users);
        jit_strv_free(m->units);
        free(m->sources.cidrs);
        free(m->hours.windows);
}

static void parse_who(struct vctx *v, const cJSON *role, const char *path, const char *key,
                      char ***users, char ***groups, bool required)
{
        static const char *const keys[] = { "users", "groups", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(role, key);
        char p[PATH_MAX_LEN];

        subpath(p, path, key);
        if (!it) {
                if (required)
                        verr(v, path, "missing required key \"%s\"", key);
                return;
        }
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object with \"users\" and/or \"groups\"");
                return;
        }
        check_keys(v, it, p, keys);
        *users = get_list(v, it, p, "users", LIST_USER);
        *groups = get_list(v, it, p, "groups", LIST_GROUP);
        if (!*users && !*groups && required)
                verr(v, p, "names nobody: give \"users\" or \"groups\"");
}

static void parse_deny_rules(struct vctx *v, const cJSON *role, const char *path, struct jit_role *r)
{
        static const char *const keys[] = { "id", "reason", "users", "groups", "services", "commands", "target_users", "units", "sources", "hours", "tty", NULL };
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(role, "deny"), *e;
        char p[PATH_MAX_LEN];
        int n, i = 0;

        if (!arr)
                return;
        subpath(p, path, "deny");
        if (!cJSON_IsArray(arr)) {
                verr(v, p, "must be an array of rules");
                return;
        }
        n = cJSON_GetArraySize(arr);
        if (n > 256) {
                verr(v, p, "more than 256 rules");
                return;
        }
        r->deny = calloc((size_t)n + 1, sizeof(*r->deny));
        if (!r->deny) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(e, arr) {
                struct jit_deny_rule *d = &r->deny[r->n_deny];
                char ep[PATH_MAX_LEN];

                snprintf(ep, sizeof(ep), "%s[%d]", p, i++);
                if (!cJSON_IsObject(e)) {
                        verr(v, ep, "must be an object");
                        continue;
                }
                check_keys(v, e, ep, keys);
                r->n_deny++;
                d->id = get_string(v, e, ep, "id", true, JIT_NAME_MAX);
                if (d->id && !is_valid_name(d->id, false))
                        verr(v, ep, "bad rule id \"%s\"", d->id);
                d->reason = get_string(v, e, ep, "reason", false, 200);
                parse_match(v, e, ep, &d->match);
        }
}

static enum jit_tier parse_tier(struct vctx *v, const cJSON *role, const char *path)
{
        _cleanup_free_ char *s = get_string(v, role, path, "tier", false, 16);
        char p[PATH_MAX_LEN];

        if (!s || strcmp(s, "owner") == 0)
                return JIT_TIER_OWNER;
        if (strcmp(s, "auto") == 0)
                return JIT_TIER_AUTO;
        if (strcmp(s, "security") == 0)
                return JIT_TIER_SECURITY;
        subpath(p, path, "tier");
        verr(v, p, "must be \"auto\", \"owner\" or \"security\", not \"%s\"", s);
        return JIT_TIER_AUTO;
}

static int get_uint(struct vctx *v, const cJSON *obj, const char *path, const char *key,
                    uint32_t lo, uint32_t hi, uint32_t *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
        char p[PATH_MAX_LEN];

        if (!it)
                return -ENOENT;
        if (!cJSON_IsNumber(it) || it->valuedouble < lo || it->valuedouble > hi ||
            it->valuedouble != (double)(int64_t)it->valuedouble) {
                subpath(p, path, key);
                verr(v, p, "must be an integer from %u to %u", lo, hi);
                return -EINVAL;
        }
        *ret = (uint32_t)it->valuedouble;
        return 0;
}

/* "risk": {"security": 50, "deny": 90} */
static void parse_role_risk(struct vctx *v, const cJSON *obj, const char *path, struct jit_role *r)
{
        static const char *const keys[] = { "security", "deny", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "risk");
        char p[PATH_MAX_LEN];

        r->risk_security = 0;   /* filled in once we know whether a security tier exists */
        r->risk_deny = 0;
        if (!it)
                return;
        subpath(p, path, "risk");
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object {\"security\": N, \"deny\": N}");
                return;
        }
        check_keys(v, it, p, keys);
        (void)get_uint(v, it, p, "security", 1, 1000, &r->risk_security);
        (void)get_uint(v, it, p, "deny", 1, 1000, &r->risk_deny);
}

/* "break_glass": {"users"/"groups": on-call, "max_ttl": "30m", "rate": {...}} */
static void parse_break_glass(struct vctx *v, const cJSON *obj, const char *path, struct jit_role *r)
{
        static const char *const keys[] = { "users", "groups", "max_ttl", "rate", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "break_glass");
        char p[PATH_MAX_LEN];

        if (!it)
                return;
        subpath(p, path, "break_glass");
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object with the on-call \"users\"/\"groups\" and \"max_ttl\"");
                return;
        }
        check_keys(v, it, p, keys);
        r->oncall_users = get_list(v, it, p, "users", LIST_USER);
        r->oncall_groups = get_list(v, it, p, "groups", LIST_GROUP);
        if (!r->oncall_users && !r->oncall_groups)
                verr(v, p, "names nobody: give the on-call \"users\" or \"groups\"");
        if (get_duration(v, it, p, "max_ttl", true, &r->break_glass_ttl) < 0)
                r->break_glass_ttl = 0;
        else if (r->max_ttl && r->break_glass_ttl > r->max_ttl) {
                char q[PATH_MAX_LEN];

                subpath(q, p, "max_ttl");
                verr(v, q, "is longer than the role's max_ttl");
        }
        r->break_glass_rate = (struct jit_rate){ .count = 3, .per = 24 * 3600 };
        parse_rate(v, it, p, "rate", &r->break_glass_rate);
}

/* "end": "processes"|"sessions"|"none", "end_grace": "10s",
 * "single_use": true, "bind": "session"|"unit" */
static void parse_end(struct vctx *v, const cJSON *obj, const char *path, struct jit_role *r)
{
        _cleanup_free_ char *end = get_string(v, obj, path, "end", false, 16);
        _cleanup_free_ char *bind = get_string(v, obj, path, "bind", false, 16);
        const cJSON *su = cJSON_GetObjectItemCaseSensitive(obj, "single_use");
        char p[PATH_MAX_LEN];
        int m;

        r->end = JIT_END_PROCESSES;
        r->end_grace = 10;
        if (end) {
                m = jit_end_mode_from_string(end);
                subpath(p, path, "end");
                if (m < 0)
                        verr(v, p, "must be \"processes\", \"sessions\" or \"none\", not \"%s\"", end);
                else
                        r->end = (enum jit_end_mode)m;
        }
        if (cJSON_GetObjectItemCaseSensitive(obj, "end_grace")) {
                const cJSON *g = cJSON_GetObjectItemCaseSensitive(obj, "end_grace");

                if (cJSON_IsString(g) && (strcmp(g->valuestring, "0") == 0 || strcmp(g->valuestring, "0s") == 0))
                        r->end_grace = 0;
                else if (get_duration(v, obj, path, "end_grace", false, &r->end_grace) == 0 && r->end_grace > 3600) {
                        subpath(p, path, "end_grace");
                        verr(v, p, "at most 1h");
                }
        }
        if (su && !cJSON_IsBool(su)) {
                subpath(p, path, "single_use");
                verr(v, p, "must be true or false");
        }
        r->single_use = cJSON_IsTrue(su);
        if (bind) {
                r->bind_session = strcmp(bind, "session") == 0;
                r->bind_unit = strcmp(bind, "unit") == 0;
                if (!r->bind_session && !r->bind_unit) {
                        subpath(p, path, "bind");
                        verr(v, p, "must be \"session\" or \"unit\", not \"%s\"", bind);
                }
        }
}

/* ---- notifications ------------------------------------------------------- */

static const char *const notify_event_names[_JIT_NOTIFY_EVENT_MAX] = {
        [JIT_NOTIFY_PENDING] = "pending",
        [JIT_NOTIFY_GRANTED] = "granted",
        [JIT_NOTIFY_DENIED] = "denied",
        [JIT_NOTIFY_BREAK_GLASS] = "break-glass",
        [JIT_NOTIFY_EXPIRED] = "expired",
        [JIT_NOTIFY_REVIEW] = "review",
};

const char *jit_notify_event_to_string(enum jit_notify_event e)
{
        return (unsigned)e < _JIT_NOTIFY_EVENT_MAX ? notify_event_names[e] : "unknown";
}

int jit_notify_event_from_string(const char *s)
{
        for (int i = 0; s && i < _JIT_NOTIFY_EVENT_MAX; i++)
                if (strcmp(s, notify_event_names[i]) == 0)
                        return i;
        return -EINVAL;
}

const char *jit_notify_type_to_string(enum jit_notify_type t)
{
        switch (t) {
        case JIT_NOTIFY_SLACK: return "slack";
        case JIT_NOTIFY_JSON: return "json";
        default: return "command";
        }
}

const struct jit_notify_target *jit_config_find_target(const struct jit_config *c, const char *name)
{
        for (size_t i = 0; c && name && i < c->notify.n_targets; i++)
                if (c->notify.targets[i].name && strcmp(c->notify.targets[i].name, name) == 0)
                        return &c->notify.targets[i];
        return NULL;
}

static bool is_url_char(unsigned char c)
{
        return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

/* host[:port] of an authority with no userinfo; 0 or a reason. */
static const char *check_host_port(const char *a, size_t n, bool *ret_loopback)
{
        const char *colon = NULL, *host_end;

        if (n == 0)
                return "has no host";
        if (a[0] == '[') {
                host_end = memchr(a, ']', n);
                if (!host_end || host_end == a + 1)
                        return "has a bad [IPv6] host";
                host_end++;
                if (host_end < a + n && *host_end != ':')
                        return "has a bad [IPv6] host";
        } else {
                host_end = memchr(a, ':', n);
                if (!host_end)
                        host_end = a + n;
                if (host_end == a)
                        return "has no host";
        }
        if (host_end < a + n) {
                unsigned long port = 0;

                colon = host_end;
                if (colon + 1 == a + n || a + n - colon - 1 > 5)
                        return "has a bad port";
                for (const char *p = colon + 1; p < a + n; p++) {
                        if (*p < '0' || *p > '9')
                                return "has a bad port";
                        port = port * 10 + (unsigned long)(*p - '0');
                }
                if (port == 0 || port > 65535)
                        return "has a bad port";
        }
        *ret_loopback = ((size_t)(host_end - a) == 9 && strncmp(a, "127.0.0.1", 9) == 0) ||
                        ((size_t)(host_end - a) == 5 && strncmp(a, "[::1]", 5) == 0) ||
                        ((size_t)(host_end - a) == 9 && strncasecmp(a, "localhost", 9) == 0);
        return NULL;
}

int jit_notify_url_check(const char *url, bool allow_http_loopback, const char **ret_why)
{
        const char *why = NULL, *a;
        size_t n, alen;
        bool http, loopback = false;

        n = url ? strlen(url) : 0;
        if (n == 0 || n > JIT_NOTIFY_URL_MAX)
                why = "must be 1 to 2048 characters";
        for (size_t i = 0; !why && i < n; i++)
                if (!is_url_char((unsigned char)url[i]))
                        why = "may hold printable ASCII only, without spaces, quotes, <, >, \\, ^, `, {, | or }";
        http = !why && strncmp(url, "http://", 7) == 0;
        if (!why && !http && strncmp(url, "https://", 8) != 0)
                why = "must start with https://";
        if (!why) {
                a = url + (http ? 7 : 8);
                alen = strcspn(a, "/?#");
                if (memchr(a, '@', alen))
                        why = "must not hold a user name or password (keep secrets in key_file or url_file)";
                else
                        why = check_host_port(a, alen, &loopback);
        }
        if (!why && http && !(allow_http_loopback && loopback))
                why = "must be https (http only to 127.0.0.1, [::1] or localhost, with allow_http_loopback)";
        if (why && ret_why)
                *ret_why = why;
        return why ? -EINVAL : 0;
}

/* An absolute path without "." or ".." components, at most 255 bytes. */
static bool is_abs_path(const char *s)
{
        size_t n = strlen(s);

        if (n < 2 || n > 255 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//"))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return !strstr(s, "/./") && !strstr(s, "/../") && strcmp(s + n - 2, "/.") != 0 &&
               (n < 3 || strcmp(s + n - 3, "/..") != 0);
}

static char *get_path(struct vctx *v, const cJSON *obj, const char *path, const char *key, bool required)
{
        char *s = get_string(v, obj, path, key, required, 255);
        char p[PATH_MAX_LEN];

        if (s && !is_abs_path(s)) {
                subpath(p, path, key);
                verr(v, p, "must be an absolute path without . or .. components: \"%.64s\"", s);
        }
        return s;
}

/* "proxy": "http://proxy.example:3128" (http or https, no credentials, no path). */
static void check_proxy(struct vctx *v, const char *path, const char *proxy)
{
        const char *a = strncmp(proxy, "http://", 7) == 0 ? proxy + 7 : strncmp(proxy, "https://", 8) == 0 ? proxy + 8 : NULL;
        const char *why = NULL;
        size_t alen;
        bool loopback;

        if (!a)
                why = "must start with http:// or https://";
        for (const char *p = proxy; !why && *p; p++)
                if (!is_url_char((unsigned char)*p))
                        why = "may hold printable ASCII only";
        if (!why) {
                alen = strcspn(a, "/?#");
                if (memchr(a, '@', alen))
                        why = "must not hold a user name or password";
                else if (a[alen] && strcmp(a + alen, "/") != 0)
                        why = "must be scheme://host:port, with no path";
                else
                        why = check_host_port(a, alen, &loopback);
        }
        if (why)
                verr(v, path, "%s: \"%.64s\"", why, proxy);
}

static void parse_target_argv(struct vctx *v, const cJSON *obj, const char *path, struct jit_notify_target *t)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "argv"), *e;
        char p[PATH_MAX_LEN];
        int n, i = 0;

        subpath(p, path, "argv");
        n = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
        if (n < 1 || n > JIT_NOTIFY_ARGV_MAX) {
                verr(v, p, "must be an array of 1 to %d strings, the first an absolute path", JIT_NOTIFY_ARGV_MAX);
                return;
        }
        cJSON_ArrayForEach(e, it) {
                char ep[PATH_MAX_LEN];
                const char *s = cJSON_IsString(e) ? e->valuestring : NULL;
                bool ok = s && strlen(s) <= 1024;

                for (const char *c = s; ok && *c; c++)
                        ok = (unsigned char)*c >= 0x20 && *c != 0x7f;
                snprintf(ep, sizeof(ep), "%s[%d]", p, i);
                if (!ok)
                        verr(v, ep, "must be a string of at most 1024 characters, no control characters");
                else if (i == 0 && !is_abs_path(s))
                        verr(v, ep, "must be the program's absolute path: \"%.64s\"", s);
                else if (jit_strv_push(&t->argv, s) < 0)
                        v->oom = 1;
                i++;
        }
}

static void parse_target(struct vctx *v, const cJSON *obj, const char *path, struct jit_notify_target *t)
{
        static const char *const keys[] = {
                "type", "url", "url_file", "key_file", "ca_file", "proxy", "allow_http_loopback", "timeout", "argv", NULL,
        };
        static const char *const http_only[] = { "url", "url_file", "key_file", "ca_file", "proxy", "allow_http_loopback", NULL };
        _cleanup_free_ char *type = NULL;
        const cJSON *lb;
        const char *why = NULL;
        char p[PATH_MAX_LEN];

        if (!cJSON_IsObject(obj)) {
                verr(v, path, "must be an object");
                return;
        }
        check_keys(v, obj, path, keys);
        type = get_string(v, obj, path, "type", true, 16);
        if (type && strcmp(type, "slack") == 0)
                t->type = JIT_NOTIFY_SLACK;
        else if (type && strcmp(type, "json") == 0)
                t->type = JIT_NOTIFY_JSON;
        else if (type && strcmp(type, "command") == 0)
                t->type = JIT_NOTIFY_COMMAND;
        else if (type) {
                subpath(p, path, "type");
                verr(v, p, "must be \"slack\", \"json\" or \"command\", not \"%.32s\"", type);
                return;
        } else
                return;
        t->timeout = 5;
        if (get_duration(v, obj, path, "timeout", false, &t->timeout) == 0 && t->timeout > JIT_NOTIFY_TIMEOUT_MAX) {
                subpath(p, path, "timeout");
                verr(v, p, "at most 60s");
        }
        if (t->type == JIT_NOTIFY_COMMAND) {
                for (size_t i = 0; http_only[i]; i++)
                        if (cJSON_GetObjectItemCaseSensitive(obj, http_only[i]))
                                verr(v, path, "\"%s\" is for slack and json targets, not commands", http_only[i]);
                parse_target_argv(v, obj, path, t);
                return;
        }
        if (cJSON_GetObjectItemCaseSensitive(obj, "argv"))
                verr(v, path, "\"argv\" is for command targets only");
        lb = cJSON_GetObjectItemCaseSensitive(obj, "allow_http_loopback");
        if (lb && !cJSON_IsBool(lb)) {
                subpath(p, path, "allow_http_loopback");
                verr(v, p, "must be true or false");
        }
        t->allow_http_loopback = cJSON_IsTrue(lb);
        t->url = get_string(v, obj, path, "url", false, JIT_NOTIFY_URL_MAX);
        t->url_file = get_path(v, obj, path, "url_file", false);
        if (!cJSON_GetObjectItemCaseSensitive(obj, "url") == !cJSON_GetObjectItemCaseSensitive(obj, "url_file"))
                verr(v, path, "give exactly one of \"url\" and \"url_file\"");
        if (t->url && jit_notify_url_check(t->url, t->allow_http_loopback, &why) < 0) {
                subpath(p, path, "url");
                verr(v, p, "%s", why);
        }
        t->key_file = get_path(v, obj, path, "key_file", true);
        t->ca_file = get_path(v, obj, path, "ca_file", false);
        t->proxy = get_string(v, obj, path, "proxy", false, 512);
        if (t->proxy) {
                subpath(p, path, "proxy");
                check_proxy(v, p, t->proxy);
                if (t->allow_http_loopback)
                        verr(v, p, "a target that allows http to loopback takes no proxy");
        }
}

/* "retry": {"base": "2s", "max_delay": "10m", "max_attempts": 8, "max_age": "24h"} */
static void parse_notify_retry(struct vctx *v, const cJSON *obj, struct jit_notify_settings *n)
{
        static const char *const keys[] = { "base", "max_delay", "max_attempts", "max_age", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "retry");
        const char *p = "$.notify.retry";

        n->retry_base = 2;
        n->retry_max_delay = 600;
        n->retry_max_attempts = 8;
        n->retry_max_age = 24 * 3600;
        if (!it)
                return;
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object {\"base\", \"max_delay\", \"max_attempts\", \"max_age\"}");
                return;
        }
        check_keys(v, it, p, keys);
        if (get_duration(v, it, p, "base", false, &n->retry_base) == 0 && n->retry_base > 3600)
                verr(v, "$.notify.retry.base", "at most 1h");
        if (get_duration(v, it, p, "max_delay", false, &n->retry_max_delay) == 0 &&
            (n->retry_max_delay > 86400 || n->retry_max_delay < n->retry_base))
                verr(v, "$.notify.retry.max_delay", "must be at least \"base\" and at most 1d");
        (void)get_uint(v, it, p, "max_attempts", 1, 20, &n->retry_max_attempts);
        if (get_duration(v, it, p, "max_age", false, &n->retry_max_age) == 0 && n->retry_max_age > 7 * 86400)
                verr(v, "$.notify.retry.max_age", "at most 7d");
}

/* "notify": {"targets": {NAME: target}, "terminals": bool, "retry": {...}} */
static void parse_notify(struct vctx *v, const cJSON *root, struct jit_config *c)
{
        static const char *const keys[] = { "targets", "terminals", "retry", NULL };
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "notify"), *targets, *it, *term;
        struct jit_notify_settings *n = &c->notify;
        int count;

        parse_notify_retry(v, NULL, n);
        if (!obj)
                return;
        if (!cJSON_IsObject(obj)) {
                verr(v, "$.notify", "must be an object");
                return;
        }
        check_keys(v, obj, "$.notify", keys);
        parse_notify_retry(v, obj, n);
        term = cJSON_GetObjectItemCaseSensitive(obj, "terminals");
        if (term && !cJSON_IsBool(term))
                verr(v, "$.notify.terminals", "must be true or false");
        n->terminals = cJSON_IsTrue(term);
        targets = cJSON_GetObjectItemCaseSensitive(obj, "targets");
        if (!targets)
                return;
        count = cJSON_IsObject(targets) ? cJSON_GetArraySize(targets) : -1;
        if (count < 0 || count > 64) {
                verr(v, "$.notify.targets", "must be an object of at most 64 targets keyed by name");
                return;
        }
        check_keys(v, targets, "$.notify.targets", NULL);
        n->targets = calloc((size_t)count + 1, sizeof(*n->targets));
        if (!n->targets) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(it, targets) {
                char p[PATH_MAX_LEN];
                struct jit_notify_target *t;

                if (!is_valid_name(it->string, false)) {
                        verr(v, "$.notify.targets", "bad target name \"%.64s\" (use a-z, 0-9, _ and -, at most 32)", it->string);
                        continue;
                }
                subpath(p, "$.notify.targets", it->string);
                t = &n->targets[n->n_targets++];
                t->name = strdup(it->string);
                if (!t->name)
                        v->oom = 1;
                parse_target(v, it, p, t);
        }
}

/* A role's "notify": {"targets": [NAME, ...], "events": ["pending", ...]} */
static void parse_role_notify(struct vctx *v, const cJSON *role, const char *path, struct jit_role *r)
{
        static const char *const keys[] = { "targets", "events", NULL };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(role, "notify");
        _cleanup_strv_free_ char **events = NULL;
        char p[PATH_MAX_LEN], q[PATH_MAX_LEN];

        if (!it)
                return;
        subpath(p, path, "notify");
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object {\"targets\": [...], \"events\": [...]}");
                return;
        }
        check_keys(v, it, p, keys);
        r->notify_targets = get_list(v, it, p, "targets", LIST_NAME);
        events = get_list(v, it, p, "events", LIST_NAME);
        if (!cJSON_GetObjectItemCaseSensitive(it, "targets"))
                verr(v, p, "missing required key \"targets\"");
        if (!cJSON_GetObjectItemCaseSensitive(it, "events"))
                verr(v, p, "missing required key \"events\"");
        for (size_t i = 0; events && events[i]; i++) {
                int e = jit_notify_event_from_string(events[i]);

                snprintf(q, sizeof(q), "%s.events[%zu]", p, i);
                if (e < 0)
                        verr(v, q, "unknown event \"%s\" (pending, granted, denied, break-glass, expired, review)", events[i]);
                else
                        r->notify_events |= 1U << e;
        }
}

/* Every target a role names must be declared in $.notify.targets. */
static void check_notify_refs(struct vctx *v, const struct jit_config *c)
{
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct jit_role *r = &c->roles[i];

                for (size_t k = 0; r->notify_targets && r->notify_targets[k]; k++) {
                        char p[PATH_MAX_LEN];

                        if (jit_config_find_target(c, r->notify_targets[k]))
                                continue;
                        snprintf(p, sizeof(p), "$.roles.%s.notify.targets[%zu]", r->name, k);
                        verr(v, p, "no such target \"%s\" in $.notify.targets", r->notify_targets[k]);
                }
        }
}

static void parse_role(struct vctx *v, const cJSON *obj, const char *path, struct jit_role *r)
{
        static const char *const keys[] = {
                "description", "group", "default_ttl", "max_ttl", "requesters", "approvers", "tier",
                "commands", "hours", "sources", "rate", "risk", "request_ttl", "break_glass", "deny",
                "end", "end_grace", "single_use", "bind", "notify", NULL,
        };
        char p[PATH_MAX_LEN];

        if (!cJSON_IsObject(obj)) {
                verr(v, path, "must be an object");
                return;
        }
        check_keys(v, obj, path, keys);
        r->description = get_string(v, obj, path, "description", false, 200);
        r->group = get_string(v, obj, path, "group", true, JIT_NAME_MAX);
        if (r->group && !is_valid_name(r->group, false)) {
                subpath(p, path, "group");
                verr(v, p, "bad group name \"%s\"", r->group);
        }
        if (get_duration(v, obj, path, "max_ttl", true, &r->max_ttl) < 0)
                r->max_ttl = 0;
        if (get_duration(v, obj, path, "default_ttl", false, &r->default_ttl) == -ENOENT)
                r->default_ttl = r->max_ttl < 900 ? r->max_ttl : 900;
        if (r->max_ttl && r->default_ttl > r->max_ttl) {
                subpath(p, path, "default_ttl");
                verr(v, p, "is longer than max_ttl");
        }
        (void)get_duration(v, obj, path, "request_ttl", false, &r->request_ttl);
        parse_who(v, obj, path, "requesters", &r->requester_users, &r->requester_groups, true);
        parse_who(v, obj, path, "approvers", &r->approver_users, &r->approver_groups, false);
        r->tier = parse_tier(v, obj, path);
        if (r->tier == JIT_TIER_OWNER && !r->approver_users && !r->approver_groups)
                verr(v, path, "tier is \"owner\" (the default) but the role has no approvers: add \"approvers\" or use tier \"auto\"");
        r->commands = get_list(v, obj, path, "commands", LIST_COMMAND);
        parse_hours(v, obj, path, "hours", &r->hours);
        parse_sources(v, obj, path, "sources", &r->sources);
        parse_rate(v, obj, path, "rate", &r->rate);
        parse_role_risk(v, obj, path, r);
        parse_break_glass(v, obj, path, r);
        parse_deny_rules(v, obj, path, r);
        parse_end(v, obj, path, r);
        parse_role_notify(v, obj, path, r);
}

static void parse_template(struct vctx *v, const cJSON *obj, const char *path,
                           struct jit_template *t, const struct jit_config *c)
{
        static const char *const keys[] = {
                "description", "role", "max_ttl", "users", "groups", "services", "commands", "target_users", "units", "sources", "hours", "tty", NULL,
        };
        const struct jit_role *role;
        char p[PATH_MAX_LEN];

        if (!cJSON_IsObject(obj)) {
                verr(v, path, "must be an object");
                return;
        }
        check_keys(v, obj, path, keys);
        t->description = get_string(v, obj, path, "description", false, 200);
        t->role = get_string(v, obj, path, "role", true, JIT_NAME_MAX);
        role = t->role ? jit_config_find_role(c, t->role) : NULL;
        subpath(p, path, "role");
        if (t->role && !role)
                verr(v, p, "no such role \"%s\"", t->role);
        if (get_duration(v, obj, path, "max_ttl", false, &t->max_ttl) < 0)
                t->max_ttl = 0;
        if (role && t->max_ttl > role->max_ttl) {
                subpath(p, path, "max_ttl");
                verr(v, p, "is longer than the role's max_ttl");
        }
        parse_match(v, obj, path, &t->match);
        if (!cJSON_GetObjectItemCaseSensitive(obj, "users") && !cJSON_GetObjectItemCaseSensitive(obj, "groups") &&
            !cJSON_GetObjectItemCaseSensitive(obj, "commands") && !cJSON_GetObjectItemCaseSensitive(obj, "units"))
                verr(v, path, "matches every request of the role: give at least one of \"users\", \"groups\", \"commands\", \"units\"");
}

static void parse_risk_weights(struct vctx *v, const cJSON *obj, struct jit_risk_weights *w)
{
        static const char *const keys[] = {
                "off_hours", "unknown_source", "no_tty", "first_use", "rate", "recent_denials",
                "service_account_tty", NULL,
        };
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "risk_weights");
        const char *p = "$.settings.risk_weights";

        if (!it)
                return;
        if (!cJSON_IsObject(it)) {
                verr(v, p, "must be an object of signal: points");
                return;
        }
        check_keys(v, it, p, keys);
        (void)get_uint(v, it, p, "off_hours", 0, 1000, &w->off_hours);
        (void)get_uint(v, it, p, "unknown_source", 0, 1000, &w->unknown_source);
        (void)get_uint(v, it, p, "no_tty", 0, 1000, &w->no_tty);
        (void)get_uint(v, it, p, "first_use", 0, 1000, &w->first_use);
        (void)get_uint(v, it, p, "rate", 0, 1000, &w->rate);
        (void)get_uint(v, it, p, "recent_denials", 0, 1000, &w->recent_denials);
        (void)get_uint(v, it, p, "service_account_tty", 0, 1000, &w->service_account_tty);
}

static void parse_settings(struct vctx *v, const cJSON *root, struct jit_settings *s)
{
        static const char *const keys[] = {
                "expiry", "reconcile_interval", "request_ttl", "timer_accuracy_ms", "timezone",
                "history_window", "risk_weights", NULL,
        };
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "settings"), *it;
        _cleanup_free_ char *mode = NULL;

        s->expiry = JIT_EXPIRY_AUTO;
        s->reconcile_interval = 60;
        s->request_ttl = 900;
        s->timer_accuracy_ms = 100;
        s->history_window = 7 * 24 * 3600;
        s->risk = (struct jit_risk_weights){
                .off_hours = 30, .unknown_source = 30, .no_tty = 10, .first_use = 20,
                .rate = 50, .recent_denials = 20, .service_account_tty = 30,
        };
        if (!obj)
                goto zone;
        if (!cJSON_IsObject(obj)) {
                verr(v, "$.settings", "must be an object");
                return;
        }
        check_keys(v, obj, "$.settings", keys);
        mode = get_string(v, obj, "$.settings", "expiry", false, 16);
        if (mode) {
                if (strcmp(mode, "auto") == 0)
                        s->expiry = JIT_EXPIRY_AUTO;
                else if (strcmp(mode, "timer") == 0)
                        s->expiry = JIT_EXPIRY_TIMER;
                else if (strcmp(mode, "loop") == 0)
                        s->expiry = JIT_EXPIRY_LOOP;
                else
                        verr(v, "$.settings.expiry", "must be \"auto\", \"timer\" or \"loop\", not \"%s\"", mode);
        }
        (void)get_duration(v, obj, "$.settings", "reconcile_interval", false, &s->reconcile_interval);
        (void)get_duration(v, obj, "$.settings", "request_ttl", false, &s->request_ttl);
        it = cJSON_GetObjectItemCaseSensitive(obj, "timer_accuracy_ms");
        if (it) {
                if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 60000 ||
                    it->valuedouble != (double)(int)it->valuedouble)
                        verr(v, "$.settings.timer_accuracy_ms", "must be an integer from 1 to 60000");
                else
                        s->timer_accuracy_ms = (uint64_t)it->valueint;
        }
        (void)get_duration(v, obj, "$.settings", "history_window", false, &s->history_window);
        parse_risk_weights(v, obj, &s->risk);
        s->timezone = get_string(v, obj, "$.settings", "timezone", false, 64);
        if (s->timezone && !jit_tz_is_valid(s->timezone))
                verr(v, "$.settings.timezone", "unknown timezone \"%s\" (an IANA name such as \"UTC\" or \"Europe/Berlin\", from /usr/share/zoneinfo)",
                     s->timezone);
zone:
        if (!s->timezone && !(s->timezone = strdup("UTC")))
                v->oom = 1;
}

static void parse_roles(struct vctx *v, const cJSON *root, struct jit_config *c)
{
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "roles"), *it;
        int n;

        if (!obj) {
                verr(v, "$", "missing required key \"roles\"");
                return;
        }
        if (!cJSON_IsObject(obj)) {
                verr(v, "$.roles", "must be an object keyed by role name");
                return;
        }
        n = cJSON_GetArraySize(obj);
        if (n > 1024) {
                verr(v, "$.roles", "more than 1024 roles");
                return;
        }
        check_keys(v, obj, "$.roles", NULL);
        c->roles = calloc((size_t)n + 1, sizeof(*c->roles));
        if (!c->roles) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(it, obj) {
                char p[PATH_MAX_LEN];
                struct jit_role *r;

                if (!is_valid_name(it->string, false)) {
                        verr(v, "$.roles", "bad role name \"%.64s\" (use a-z, 0-9, _ and -, at most 32)", it->string);
                        continue;
                }
                subpath(p, "$.roles", it->string);
                r = &c->roles[c->n_roles++];
                r->name = strdup(it->string);
                if (!r->name)
                        v->oom = 1;
                parse_role(v, it, p, r);
        }
        for (size_t i = 0; i < c->n_roles; i++)
                for (size_t j = i + 1; j < c->n_roles; j++)
                        if (c->roles[i].group && c->roles[j].group &&
                            strcmp(c->roles[i].group, c->roles[j].group) == 0)
                                verr(v, "$.roles", "roles \"%s\" and \"%s\" grant the same group \"%s\"",
                                     c->roles[i].name, c->roles[j].name, c->roles[i].group);
}

static void parse_templates(struct vctx *v, const cJSON *root, struct jit_config *c)
{
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "templates"), *it;
        int n;

        if (!obj)
                return;
        if (!cJSON_IsObject(obj)) {
                verr(v, "$.templates", "must be an object keyed by template name");
                return;
        }
        n = cJSON_GetArraySize(obj);
        if (n > 4096) {
                verr(v, "$.templates", "more than 4096 templates");
                return;
        }
        check_keys(v, obj, "$.templates", NULL);
        c->templates = calloc((size_t)n + 1, sizeof(*c->templates));
        if (!c->templates) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(it, obj) {
                char p[PATH_MAX_LEN];
                struct jit_template *t;

                if (!is_valid_name(it->string, false)) {
                        verr(v, "$.templates", "bad template name \"%.64s\"", it->string);
                        continue;
                }
                subpath(p, "$.templates", it->string);
                t = &c->templates[c->n_templates++];
                t->name = strdup(it->string);
                if (!t->name)
                        v->oom = 1;
                parse_template(v, it, p, t, c);
        }
}

static void parse_accounts(struct vctx *v, const cJSON *root, struct jit_config *c)
{
        static const char *const keys[] = { "kind", "description", "units", NULL };
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "accounts"), *it;
        int n;

        if (!obj)
                return;
        n = cJSON_IsObject(obj) ? cJSON_GetArraySize(obj) : -1;
        if (n < 0 || n > 4096) {
                verr(v, "$.accounts", "must be an object keyed by user name (at most 4096)");
                return;
        }
        check_keys(v, obj, "$.accounts", NULL);
        c->accounts = calloc((size_t)n + 1, sizeof(*c->accounts));
        if (!c->accounts) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(it, obj) {
                _cleanup_free_ char *kind = NULL;
                struct jit_account *a;
                char p[PATH_MAX_LEN];

                if (!is_valid_name(it->string, true)) {
                        verr(v, "$.accounts", "bad user name \"%.64s\"", it->string);
                        continue;
                }
                subpath(p, "$.accounts", it->string);
                if (!cJSON_IsObject(it)) {
                        verr(v, p, "must be an object");
                        continue;
                }
                check_keys(v, it, p, keys);
                a = &c->accounts[c->n_accounts++];
                if (!(a->name = strdup(it->string)))
                        v->oom = 1;
                a->description = get_string(v, it, p, "description", false, 200);
                kind = get_string(v, it, p, "kind", true, 16);
                a->service = kind && strcmp(kind, "service") == 0;
                if (kind && !a->service && strcmp(kind, "human") != 0) {
                        char q[PATH_MAX_LEN];

                        subpath(q, p, "kind");
                        verr(v, q, "must be \"human\" or \"service\", not \"%s\"", kind);
                }
                a->units = get_list(v, it, p, "units", LIST_UNIT);
                if (a->service && !a->units)
                        verr(v, p, "a service account must name the systemd \"units\" it may ask from");
                if (!a->service && a->units)
                        verr(v, p, "\"units\" binds service accounts only (kind \"service\")");
        }
}

static void parse_security(struct vctx *v, const cJSON *root, struct jit_config *c)
{
        static const char *const keys[] = { "users", "groups", "approvals", NULL };
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "security");

        c->security.approvals = 2;
        if (!obj)
                return;
        if (!cJSON_IsObject(obj)) {
                verr(v, "$.security", "must be an object with \"users\"/\"groups\" and \"approvals\"");
                return;
        }
        check_keys(v, obj, "$.security", keys);
        c->security.users = get_list(v, obj, "$.security", "users", LIST_USER);
        c->security.groups = get_list(v, obj, "$.security", "groups", LIST_GROUP);
        if (!c->security.users && !c->security.groups)
                verr(v, "$.security", "names nobody: give \"users\" or \"groups\"");
        (void)get_uint(v, obj, "$.security", "approvals", 2, 16, &c->security.approvals);
}

static void parse_change_windows(struct vctx *v, const cJSON *root, struct jit_config *c)
{
        static const char *const keys[] = { "id", "from", "to", NULL };
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "change_windows"), *e;
        int n, i = 0;

        if (!arr)
                return;
        n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
        if (n < 0 || n > 1024) {
                verr(v, "$.change_windows", "must be an array of {\"id\", \"from\", \"to\"} (at most 1024)");
                return;
        }
        c->change_windows = calloc((size_t)n + 1, sizeof(*c->change_windows));
        if (!c->change_windows) {
                v->oom = 1;
                return;
        }
        cJSON_ArrayForEach(e, arr) {
                struct jit_change_window *w = &c->change_windows[c->n_change_windows];
                _cleanup_free_ char *from = NULL, *to = NULL;
                char ep[PATH_MAX_LEN];

                snprintf(ep, sizeof(ep), "$.change_windows[%d]", i++);
                if (!cJSON_IsObject(e)) {
                        verr(v, ep, "must be an object");
                        continue;
                }
                check_keys(v, e, ep, keys);
                c->n_change_windows++;
                w->id = get_string(v, e, ep, "id", true, JIT_NAME_MAX);
                from = get_string(v, e, ep, "from", true, 40);
                to = get_string(v, e, ep, "to", true, 40);
                bool ok_from = from && jit_time_parse_instant(from, &w->from) == 0;
                bool ok_to = to && jit_time_parse_instant(to, &w->to) == 0;

                if (w->id && !is_valid_name(w->id, true))
                        verr(v, ep, "bad id \"%.64s\" (a-z, A-Z, 0-9, _, - and ., at most 32)", w->id);
                for (size_t k = 0; w->id && k + 1 < c->n_change_windows; k++)
                        if (c->change_windows[k].id && strcmp(c->change_windows[k].id, w->id) == 0)
                                verr(v, ep, "duplicate id \"%s\"", w->id);
                if (from && !ok_from)
                        verr(v, ep, "bad \"from\" \"%s\" (e.g. \"2026-11-22T20:00:00Z\" or with an offset \"+01:00\")", from);
                if (to && !ok_to)
                        verr(v, ep, "bad \"to\" \"%s\" (e.g. \"2026-11-22T23:00:00Z\")", to);
                if (ok_from && ok_to && w->to <= w->from)
                        verr(v, ep, "ends before it starts");
        }
}

/* A group jit grants must not itself confer the right to request,
 * approve or be pre-approved: holding one grant would then lead to more. */
static void check_granted_groups(struct vctx *v, const struct jit_config *c)
{
        for (size_t i = 0; i < c->n_roles; i++) {
                const char *g = c->roles[i].group;

                for (size_t j = 0; g && j < c->n_roles; j++) {
                        char p[PATH_MAX_LEN];

                        subpath(p, "$.roles", c->roles[j].name ? c->roles[j].name : "?");
                        if (jit_strv_contains(c->roles[j].requester_groups, g))
                                verr(v, p, "requesters name group \"%s\", which role %s grants", g, c->roles[i].name);
                        if (jit_strv_contains(c->roles[j].approver_groups, g))
                                verr(v, p, "approvers name group \"%s\", which role %s grants", g, c->roles[i].name);
                        if (jit_strv_contains(c->roles[j].oncall_groups, g))
                                verr(v, p, "break_glass names group \"%s\", which role %s grants", g, c->roles[i].name);
                }
                for (size_t j = 0; g && j < c->n_templates; j++) {
                        char p[PATH_MAX_LEN];

                        subpath(p, "$.templates", c->templates[j].name ? c->templates[j].name : "?");
                        if (jit_strv_contains(c->templates[j].match.groups, g))
                                verr(v, p, "groups name group \"%s\", which role %s grants", g, c->roles[i].name);
                }
                if (g && jit_strv_contains(c->security.groups, g))
                        verr(v, "$.security.groups", "names group \"%s\", which role %s grants", g, c->roles[i].name);
        }
}

/* The security tier exists only with a top-level "security" block. With
 * one, risk 50 raises a role to it unless the role says otherwise;
 * without one, naming the tier or a threshold for it is an error. */
static void check_tiers(struct vctx *v, struct jit_config *c)
{
        bool have = c->security.users || c->security.groups;

        for (size_t i = 0; i < c->n_roles; i++) {
                struct jit_role *r = &c->roles[i];
                char p[PATH_MAX_LEN];

                subpath(p, "$.roles", r->name ? r->name : "?");
                if (!have && (r->tier == JIT_TIER_SECURITY || (r->risk_security && r->tier != JIT_TIER_AUTO)))
                        verr(v, p, "uses the security tier (tier \"security\" or risk.security), but there is no top-level \"security\" block naming its approvers");
                if (have && !r->risk_security)
                        r->risk_security = 50;
                if (r->risk_deny && r->risk_security && r->risk_deny <= r->risk_security) {
                        char q[PATH_MAX_LEN];

                        subpath(q, p, "risk");
                        verr(v, q, "\"deny\" (%u) must be above \"security\" (%u)", r->risk_deny, r->risk_security);
                }
        }
}

static void warn(struct vctx *v, char ***out, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void warn(struct vctx *v, char ***out, const char *path, const char *fmt, ...)
{
        char msg[512];
        int n;
        va_list ap;

        n = snprintf(msg, sizeof(msg), "%s: conflict: ", path);
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
        va_end(ap);
        if (jit_strv_push(out, msg) < 0)
                v->oom = 1;
}

/* Deny wins, so these are safe, but the author meant something else:
 * report them (jitctl policy check), never resolve them silently. */
static void find_conflicts(struct vctx *v, struct jit_config *c)
{
        for (size_t i = 0; i < c->n_templates; i++) {
                const struct jit_template *t = &c->templates[i];
                const struct jit_role *r = jit_config_find_role(c, t->role);
                char p[PATH_MAX_LEN];

                if (!r)
                        continue;
                subpath(p, "$.templates", t->name);
                for (size_t j = 0; j < r->n_deny; j++) {
                        const struct jit_match *d = &r->deny[j].match;

                        if (match_is_empty(d))
                                warn(v, &c->warnings, p, "deny rule %s of role %s matches every request, so this template never grants",
                                     r->deny[j].id, r->name);
                        for (size_t k = 0; d->commands && t->match.commands && t->match.commands[k]; k++)
                                for (size_t l = 0; d->commands[l]; l++)
                                        if (fnmatch(d->commands[l], t->match.commands[k], 0) == 0)
                                                warn(v, &c->warnings, p, "command \"%.64s\" is also matched by deny rule %s of role %s (deny wins)",
                                                     t->match.commands[k], r->deny[j].id, r->name);
                }
                for (size_t k = 0; r->commands && t->match.commands && t->match.commands[k]; k++) {
                        bool inside = false;

                        for (size_t l = 0; r->commands[l]; l++)
                                inside |= fnmatch(r->commands[l], t->match.commands[k], 0) == 0;
                        if (!inside)
                                warn(v, &c->warnings, p, "command \"%.64s\" is not among role %s's allowed commands (it is denied)",
                                     t->match.commands[k], r->name);
                }
                for (size_t j = 0; j < i; j++) {
                        const struct jit_template *u = &c->templates[j];

                        if (u->role && strcmp(u->role, t->role) == 0 && !u->match.commands && !u->match.units &&
                            !u->match.services && !u->match.sources.set && !u->match.hours.n &&
                            !u->match.target_users && u->match.tty == JIT_TTY_ANY &&
                            (t->match.users || t->match.groups) &&
                            jit_strv_is_subset(t->match.users, u->match.users) &&
                            jit_strv_is_subset(t->match.groups, u->match.groups))
                                warn(v, &c->warnings, p, "template %s, earlier in the file, already grants everyone this one names (the first match wins)",
                                     u->name);
                }
        }
}

/* Text → JSON root; only whitespace may follow the one JSON value. */
static cJSON *parse_json(const char *text, size_t len, struct vctx *v, const char *where)
{
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);

        if (root && end) {
                for (const char *p = end; p < text + len; p++)
                        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
                                cJSON_Delete(root);
                                root = NULL;
                                end = p;
                                break;
                        }
        }
        if (!root) {
                char msg[160];
                size_t off = end && end >= text ? (size_t)(end - text) : 0;
                size_t line = 1;

                for (size_t i = 0; i < off && i < len; i++)
                        line += text[i] == '\n';
                snprintf(msg, sizeof(msg), "%s: not valid JSON (near byte %zu, line %zu)", where, off, line);
                if (jit_strv_push(&v->errors, msg) < 0)
                        v->oom = 1;
        }
        return root;
}

static int parse_root(cJSON *root, struct vctx *v, struct jit_config **ret, char ***ret_errors)
{
        static const char *const keys[] = {
                "version", "settings", "roles", "templates", "accounts", "security", "change_windows", "notify", NULL,
        };
        struct jit_config *c = NULL;
        const cJSON *ver;

        if (!root)
                goto fail;
        if (!cJSON_IsObject(root)) {
                verr(v, "$", "must be a JSON object");
                goto fail;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                v->oom = 1;
                goto fail;
        }
        check_keys(v, root, "$", keys);
        ver = cJSON_GetObjectItemCaseSensitive(root, "version");
        if (!ver)
                verr(v, "$", "missing required key \"version\" (use 1)");
        else if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
                verr(v, "$.version", "unsupported version (this jit reads version 1)");
        parse_settings(v, root, &c->settings);
        parse_roles(v, root, c);
        parse_templates(v, root, c);
        parse_accounts(v, root, c);
        parse_security(v, root, c);
        parse_change_windows(v, root, c);
        parse_notify(v, root, c);
        check_notify_refs(v, c);
        check_granted_groups(v, c);
        check_tiers(v, c);
        if (!v->errors)
                find_conflicts(v, c);
        if (v->oom) {
                jit_strv_free(v->errors);
                v->errors = NULL;
                (void)jit_strv_push(&v->errors, "$: out of memory");
        }
        if (v->errors)
                goto fail;
        *ret = c;
        if (ret_errors)
                *ret_errors = NULL;
        return 0;
fail:
        jit_config_free(c);
        if (ret_errors)
                *ret_errors = v->errors;
        else
                jit_strv_free(v->errors);
        return v->oom ? -ENOMEM : -EINVAL;
}

int jit_config_parse(const char *text, size_t len, struct jit_config **ret, char ***ret_errors)
{
        struct vctx v = { 0 };
        cJSON *root = parse_json(text, len, &v, "$");
        int r;

        if (ret_errors)
                *ret_errors = NULL;
        r = parse_root(root, &v, ret, ret_errors);
        cJSON_Delete(root);
        return r;
}

/* Merge one templates.d file (NAME.json holding one template object) into
 * root.templates; a name already in jit.conf is an error, not an override. */
static void merge_template(cJSON *root, struct vctx *v, const char *name, const char *text, size_t len)
{
        char where[PATH_MAX_LEN];
        cJSON *t, *all;

        snprintf(where, sizeof(where), "templates.d/%s.json", name);
        if (!is_valid_name(name, false)) {
                verr(v, where, "bad template name (file names are NAME.json, NAME of a-z, 0-9, _ and -)");
                return;
        }
        t = parse_json(text, len, v, where);
        if (!t)
                return;
        all = cJSON_GetObjectItemCaseSensitive(root, "templates");
        if (!all)
                all = cJSON_AddObjectToObject(root, "templates");
        if (!cJSON_IsObject(all) || cJSON_GetObjectItemCaseSensitive(all, name)) {
                verr(v, where, "template \"%s\" already exists (in jit.conf or templates.d)", name);
                cJSON_Delete(t);
                return;
        }
        cJSON_AddItemToObject(all, name, t);
}

/* Every NAME.json in dirfd/templates.d, in name order (for stable
 * "first match wins"). A missing directory is fine. */
static int merge_templates_dir(cJSON *root, struct vctx *v, int dirfd, int flags)
{
        _cleanup_close_ int tfd = openat(dirfd, JIT_TEMPLATES_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct dirent **names = NULL;
        struct stat st;
        int n, r = 0;

        if (tfd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(tfd, &st) < 0)
                return -errno;
        if ((flags & JIT_SAFEIO_TRUSTED) && (st.st_uid != 0 || (st.st_mode & 022)))
                return -EPERM;
        n = scandirat(tfd, ".", &names, NULL, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                const char *f = names[i]->d_name;
                size_t l = strlen(f);
                _cleanup_free_ char *text = NULL, *name = NULL;
                size_t len;

                if (r == 0 && f[0] != '.' && l > 5 && strcmp(f + l - 5, ".json") == 0) {
                        r = jit_safeio_read_at(tfd, f, JIT_CONFIG_MAX_SIZE, flags, &text, &len);
                        name = strndup(f, l - 5);
                        if (r == 0 && name)
                                merge_template(root, v, name, text, len);
                        else if (r < 0 && r != -ENOMEM) {
                                /* an error naming the file: the whole policy is refused */
                                char where[PATH_MAX_LEN];

                                snprintf(where, sizeof(where), JIT_TEMPLATES_DIR "/%s", f);
                                verr(v, where, "refused: %s", jit_safeio_strerror(r));
                                r = 0;
                        }
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int jit_config_load_flags(const char *path, int flags, struct jit_config **ret, char ***ret_errors)
{
        return jit_config_load_extra(path, flags, NULL, NULL, 0, ret, ret_errors);
}

int jit_config_load_extra(const char *path, int flags, const char *extra_name, const char *extra_text,
                          size_t extra_len, struct jit_config **ret, char ***ret_errors)
{
        _cleanup_free_ char *dir = NULL, *text = NULL;
        _cleanup_close_ int dfd = -1;
        struct vctx v = { 0 };
        const char *base;
        cJSON *root;
        char *slash;
        size_t len;
        int r;

        if (ret_errors)
                *ret_errors = NULL;
        if (!path || path[0] != '/')
                return -EINVAL;
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        *slash = '\0';
        base = path + (slash - dir) + 1;
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", flags & JIT_SAFEIO_TRUSTED);
        if (dfd < 0)
                return dfd;
        r = jit_safeio_read_at(dfd, base, JIT_CONFIG_MAX_SIZE, flags & JIT_SAFEIO_TRUSTED, &text, &len);
        if (r < 0)
                return r;
        root = parse_json(text, len, &v, "$");
        if (root && cJSON_IsObject(root)) {
                r = merge_templates_dir(root, &v, dfd, flags & JIT_SAFEIO_TRUSTED);
                if (r == 0 && extra_name)
                        merge_template(root, &v, extra_name, extra_text, extra_len);
                if (r < 0) {
                        cJSON_Delete(root);
                        jit_strv_free(v.errors);
                        return r;
                }
        }
        r = parse_root(root, &v, ret, ret_errors);
        cJSON_Delete(root);
        return r;
}

int jit_config_load(const char *path, struct jit_config **ret, char ***ret_errors)
{
        return jit_config_load_flags(path, JIT_SAFEIO_TRUSTED, ret, ret_errors);
}

void jit_config_free(struct jit_config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_roles; i++) {
                struct jit_role *r = &c->roles[i];

                free(r->name);
                free(r->description);
                free(r->group);
                jit_strv_free(r->requester_users);
                jit_strv_free(r->requester_groups);
                jit_strv_free(r->approver_users);
                jit_strv_free(r->approver_groups);
                jit_strv_free(r->commands);
                free(r->hours.windows);
                free(r->sources.cidrs);
                jit_strv_free(r->oncall_users);
                jit_strv_free(r->oncall_groups);
                jit_strv_free(r->notify_targets);
                for (size_t j = 0; j < r->n_deny; j++) {
                        free(r->deny[j].id);
                        free(r->deny[j].reason);
                        match_free(&r->deny[j].match);
                }
                free(r->deny);
        }
        free(c->roles);
        for (size_t i = 0; i < c->n_templates; i++) {
                free(c->templates[i].name);
                free(c->templates[i].description);
                free(c->templates[i].role);
                match_free(&c->templates[i].match);
        }
        free(c->templates);
        for (size_t i = 0; i < c->n_accounts; i++) {
                free(c->accounts[i].name);
                free(c->accounts[i].description);
                jit_strv_free(c->accounts[i].units);
        }
        free(c->accounts);
        jit_strv_free(c->security.users);
        jit_strv_free(c->security.groups);
        for (size_t i = 0; i < c->n_change_windows; i++)
                free(c->change_windows[i].id);
        free(c->change_windows);
        for (size_t i = 0; i < c->notify.n_targets; i++) {
                struct jit_notify_target *t = &c->notify.targets[i];

                free(t->name);
                free(t->url);
                free(t->url_file);
                free(t->key_file);
                free(t->ca_file);
                free(t->proxy);
                jit_strv_free(t->argv);
        }
        free(c->notify.targets);
        free(c->settings.timezone);
        jit_strv_free(c->warnings);
        free(c);
}

const struct jit_account *jit_config_find_account(const struct jit_config *c, const char *name)
{
        for (size_t i = 0; c && name && i < c->n_accounts; i++)
                if (c->accounts[i].name && strcmp(c->accounts[i].name, name) == 0)
                        return &c->accounts[i];
        return NULL;
}

const char *jit_end_mode_to_string(enum jit_end_mode m)
{
        switch (m) {
        case JIT_END_SESSIONS: return "sessions";
        case JIT_END_NONE: return "none";
        default: return "processes";
        }
}

int jit_end_mode_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        if (strcmp(s, "processes") == 0)
                return JIT_END_PROCESSES;
        if (strcmp(s, "sessions") == 0)
                return JIT_END_SESSIONS;
        if (strcmp(s, "none") == 0)
                return JIT_END_NONE;
        return -EINVAL;
}

const char *jit_tier_to_string(enum jit_tier t)
{
        switch (t) {
        case JIT_TIER_OWNER: return "owner";
        case JIT_TIER_SECURITY: return "security";
        case JIT_TIER_BREAK_GLASS: return "break-glass";
        default: return "auto";
        }
}

const struct jit_role *jit_config_find_role(const struct jit_config *c, const char *name)
{
        for (size_t i = 0; c && name && i < c->n_roles; i++)
                if (c->roles[i].name && strcmp(c->roles[i].name, name) == 0)
                        return &c->roles[i];
        return NULL;
}

const char *jit_action_to_string(enum jit_action a)
{
        switch (a) {
        case JIT_ACTION_ALLOW: return "allow";
        case JIT_ACTION_ESCALATE: return "escalate";
        default: return "deny";
        }
}
