#include "config.h"
#include "cleanup.h"
#include "duration.h"
#include "safeio.h"
#include "strv.h"

#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

enum list_kind { LIST_USER, LIST_GROUP, LIST_NAME, LIST_COMMAND };

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

static void parse_match(struct vctx *v, const cJSON *obj, const char *path, struct jit_match *m)
{
        m->users = get_list(v, obj, path, "users", LIST_USER);
        m->groups = get_list(v, obj, path, "groups", LIST_GROUP);
        m->services = get_list(v, obj, path, "services", LIST_NAME);
        m->commands = get_list(v, obj, path, "commands", LIST_COMMAND);
}

static void match_free(struct jit_match *m)
{
        jit_strv_free(m->users);
        jit_strv_free(m->groups);
        jit_strv_free(m->services);
        jit_strv_free(m->commands);
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
        static const char *const keys[] = { "id", "reason", "users", "groups", "services", "commands", NULL };
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

static enum jit_action parse_default_action(struct vctx *v, const cJSON *role, const char *path)
{
        _cleanup_free_ char *s = get_string(v, role, path, "default_action", false, 16);
        char p[PATH_MAX_LEN];

        if (!s)
                return JIT_ACTION_ESCALATE;
        if (strcmp(s, "escalate") == 0)
                return JIT_ACTION_ESCALATE;
        if (strcmp(s, "deny") != 0) {
                subpath(p, path, "default_action");
                verr(v, p, "must be \"escalate\" or \"deny\", not \"%s\"", s);
        }
        return JIT_ACTION_DENY;
}

static void parse_role(struct vctx *v, const cJSON *obj, const char *path, struct jit_role *r)
{
        static const char *const keys[] = {
                "description", "group", "default_ttl", "max_ttl", "requesters",
                "approvers", "default_action", "deny", NULL,
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
        parse_who(v, obj, path, "requesters", &r->requester_users, &r->requester_groups, true);
        parse_who(v, obj, path, "approvers", &r->approver_users, &r->approver_groups, false);
        r->default_action = parse_default_action(v, obj, path);
        if (r->default_action == JIT_ACTION_ESCALATE && !r->approver_users && !r->approver_groups)
                verr(v, path, "default_action is \"escalate\" but the role has no approvers");
        parse_deny_rules(v, obj, path, r);
}

static void parse_template(struct vctx *v, const cJSON *obj, const char *path,
                           struct jit_template *t, const struct jit_config *c)
{
        static const char *const keys[] = {
                "description", "role", "max_ttl", "users", "groups", "services", "commands", NULL,
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
        if (!t->match.users && !t->match.groups && !t->match.commands)
                verr(v, path, "matches every request of the role: give at least one of \"users\", \"groups\", \"commands\"");
}

static void parse_settings(struct vctx *v, const cJSON *root, struct jit_settings *s)
{
        static const char *const keys[] = {
                "expiry", "reconcile_interval", "request_ttl", "timer_accuracy_ms", NULL,
        };
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "settings"), *it;
        _cleanup_free_ char *mode = NULL;

        s->expiry = JIT_EXPIRY_AUTO;
        s->reconcile_interval = 60;
        s->request_ttl = 3600;
        s->timer_accuracy_ms = 100;
        if (!obj)
                return;
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
                }
                for (size_t j = 0; g && j < c->n_templates; j++) {
                        char p[PATH_MAX_LEN];

                        subpath(p, "$.templates", c->templates[j].name ? c->templates[j].name : "?");
                        if (jit_strv_contains(c->templates[j].match.groups, g))
                                verr(v, p, "groups name group \"%s\", which role %s grants", g, c->roles[i].name);
                }
        }
}

int jit_config_parse(const char *text, size_t len, struct jit_config **ret, char ***ret_errors)
{
        static const char *const keys[] = { "version", "settings", "roles", "templates", NULL };
        struct vctx v = { 0 };
        struct jit_config *c = NULL;
        cJSON *root = NULL;
        const cJSON *ver;
        const char *end = NULL;

        root = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (root && end) {
                /* Only whitespace may follow the one JSON value. */
                for (const char *p = end; p < text + len; p++)
                        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
                                cJSON_Delete(root);
                                root = NULL;
                                end = p;
                                break;
                        }
        }
        if (!root) {
                char msg[128];
                size_t off = end && end >= text ? (size_t)(end - text) : 0;
                size_t line = 1;

                for (size_t i = 0; i < off && i < len; i++)
                        line += text[i] == '\n';
                snprintf(msg, sizeof(msg), "$: not valid JSON (near byte %zu, line %zu)", off, line);
                (void)jit_strv_push(&v.errors, msg);
                goto fail;
        }
        if (!cJSON_IsObject(root)) {
                verr(&v, "$", "must be a JSON object");
                goto fail;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                v.oom = 1;
                goto fail;
        }
        check_keys(&v, root, "$", keys);
        ver = cJSON_GetObjectItemCaseSensitive(root, "version");
        if (!ver)
                verr(&v, "$", "missing required key \"version\" (use 1)");
        else if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
                verr(&v, "$.version", "unsupported version (this jit reads version 1)");
        parse_settings(&v, root, &c->settings);
        parse_roles(&v, root, c);
        parse_templates(&v, root, c);
        check_granted_groups(&v, c);
        if (v.oom) {
                jit_strv_free(v.errors);
                v.errors = NULL;
                (void)jit_strv_push(&v.errors, "$: out of memory");
        }
        if (v.errors)
                goto fail;
        cJSON_Delete(root);
        *ret = c;
        if (ret_errors)
                *ret_errors = NULL;
        return 0;
fail:
        cJSON_Delete(root);
        jit_config_free(c);
        if (ret_errors)
                *ret_errors = v.errors;
        else
                jit_strv_free(v.errors);
        return v.oom ? -ENOMEM : -EINVAL;
}

int jit_config_load(const char *path, struct jit_config **ret, char ***ret_errors)
{
        _cleanup_free_ char *dir = NULL, *text = NULL;
        _cleanup_close_ int dfd = -1;
        const char *base;
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
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", JIT_SAFEIO_TRUSTED);
        if (dfd < 0)
                return dfd;
        r = jit_safeio_read_at(dfd, base, JIT_CONFIG_MAX_SIZE, JIT_SAFEIO_TRUSTED, &text, &len);
        if (r < 0)
                return r;
        return jit_config_parse(text, len, ret, ret_errors);
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
        free(c);
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
