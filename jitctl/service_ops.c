/* The operations the service answers, and who may ask each one. */
#include "service.h"
#include "cleanup.h"
#include "decision.h"
#include "duration.h"
#include "journal.h"
#include "policy.h"
#include "strv.h"

#include <errno.h>
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
                         r->policy_reasons && r->policy_reasons[0] ? r->policy_reasons[0] : "no reason given");
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
        for (size_t i = 0; i < s->n_reqs; i++) {
                struct jit_request *r = s->reqs[i];

                if (r->state == JIT_REQ_PENDING && strcmp(r->user, user) == 0 &&
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

static size_t count_pending(struct svc *s, uid_t uid)
{
        size_t n = 0;

        for (size_t i = 0; i < s->n_reqs; i++)
                n += s->reqs[i]->state == JIT_REQ_PENDING && s->reqs[i]->uid == uid;
        return n;
}

static cJSON *pending_answer(struct svc *s, const struct jit_request *r, uint64_t wait_s, bool reused)
{
        const struct jit_role *role = jit_config_find_role(s->config, r->role);
        _cleanup_strv_free_ char **appr = role_approvers(role);
        _cleanup_free_ char *who = approvers_text(appr);
        char msg[768], ttl[32] = "?", wait[32] = "";
        cJSON *a;

        (void)jit_duration_format(ttl, sizeof(ttl), r->ttl);
        if (wait_s)
                (void)jit_duration_format(wait, sizeof(wait), wait_s);
        snprintf(msg, sizeof(msg),
                 "jit: request %s%s for role %s (%s) needs approval by: %s.%s%s%s Approvers run: jitctl approve %s",
                 r->id, reused ? " (already pending)" : "", r->role, ttl, who ? who : "?",
                 wait_s ? " Waiting up to " : "", wait, wait_s ? "." : "", r->id);
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

        jit_journal_event(JIT_EV_DECISION, LOG_NOTICE,
                          &(struct jit_journal_fields){ .request_id = r->id, .role = r->role, .user = r->user,
                                                        .decision = decision, .approver = by, .rule = r->policy_rule,
                                                        .service = r->service, .command = cmd },
                          "request %s by %s for role %s: %s by %s (%s)", r->id, r->user, r->role, decision, by,
                          why ? why : r->policy_reasons && r->policy_reasons[0] ? r->policy_reasons[0] : "-");
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
};

static struct jit_request *request_new(struct svc *s, const struct ask *q, const struct jit_decision *d)
{
        struct jit_request *r = calloc(1, sizeof(*r));
        uint64_t now = svc_now_us();

        if (!r || jit_id_new('r', r->id) < 0) {
                free(r);
                return NULL;
        }
        r->user = strdup(q->who->name);
        r->uid = (uint32_t)q->who->uid;
        r->role = strdup(q->role);
        r->group = d->group ? strdup(d->group) : NULL;
        r->ttl = d->ttl;
        r->reason = q->reason ? strdup(q->reason) : NULL;
        r->service = q->service ? strdup(q->service) : NULL;
        r->rhost = q->rhost ? clean_text(q->rhost, 255) : NULL;
        r->tty = q->tty ? clean_text(q->tty, 255) : NULL;
        r->target_user = q->target_user ? clean_text(q->target_user, 64) : NULL;
        for (size_t i = 0; q->command && q->command[i]; i++)
                (void)jit_strv_push(&r->command, q->command[i]);
        r->command_mode = q->command_mode;
        r->created_us = now;
        r->deadline_us = now + (s->config ? s->config->settings.request_ttl : 3600) * 1000000ULL;
        r->policy_rule = d->rule ? strdup(d->rule) : NULL;
        for (size_t i = 0; i < d->n_reasons; i++)
                (void)jit_strv_push(&r->policy_reasons, d->reasons[i]);
        if (!r->user || !r->role) {
                jit_request_free(r);
                return NULL;
        }
        return r;
}

/* access and request share this: decide, record, act, answer. */
static cJSON *decide_and_act(struct svc *s, const struct ask *q)
{
        struct jit_context ctx = {
                .user = q->who->name, .groups = q->who->groups, .role = q->role, .ttl = q->ttl,
                .service = q->service, .command = q->command, .command_mode = q->command_mode,
        };
        uint64_t now = svc_now_us();
        struct jit_grant *active = svc_active_grant(s, q->who->name, q->role, now), *g = NULL;
        struct jit_request *r, *pending;
        struct jit_decision d;
        _cleanup_free_ char *err = NULL;
        char by[80];

        if (!s->config)
                return answer("deny", "jit: the jit policy is invalid or missing: access denied (see: journalctl -t jit)");
        ctx.active_grant = active ? active->id : NULL;
        jit_policy_decide(s->config, &ctx, &d);
        if (d.action == JIT_ACTION_DENY && !d.eligible) {
                /* No such role, or not a requester: logged, not recorded,
                 * so nobody outside a role can fill the spool. */
                char msg[256];

                jit_journal_event(JIT_EV_DECISION, LOG_NOTICE,
                                  &(struct jit_journal_fields){ .user = q->who->name, .role = q->role,
                                                                .decision = "deny", .service = q->service },
                                  "%s asked for role %s: denied (%s)", q->who->name, q->role, d.reasons[0]);
                snprintf(msg, sizeof(msg), "jit: denied: %s", d.reasons[0]);
                return answer("deny", msg);
        }
        if (d.action == JIT_ACTION_ALLOW && active) {
                _cleanup_free_ char *cmd = jit_strv_join(q->command, " ");
                char msg[256], until[64];
                cJSON *a;

                svc_format_until(until, sizeof(until), active->expires_us, now);
                jit_journal_event(JIT_EV_USE, LOG_INFO,
                                  &(struct jit_journal_fields){ .grant_id = active->id, .role = active->role,
                                                                .user = active->user, .service = q->service,
                                                                .command = cmd, .decision = "allow" },
                                  "grant %s used by %s via %s", active->id, active->user,
                                  q->service ? q->service : "?");
                /* The fast path is silent: the command just runs. */
                snprintf(msg, sizeof(msg), "jit: role %s active until %s", active->role, until);
                a = answer("allow", NULL);
                if (a)
                        cJSON_AddStringToObject(a, "status", msg);
                attach(a, "grant", jit_grant_to_json(active));
                return a;
        }
        if (d.action == JIT_ACTION_ESCALATE && (pending = find_pending(s, q->who->name, q->role, q->command)))
                return pending_answer(s, pending, q->wait_s, true);
        if (d.action == JIT_ACTION_ESCALATE && count_pending(s, q->who->uid) >= JIT_MAX_PENDING_PER_USER)
                return answer("deny", "jit: denied: you have too many requests waiting for a decision; "
                                      "cancel some (jitctl list, jitctl cancel ID) or wait for them");
        r = request_new(s, q, &d);
        if (!r || svc_add_request(s, r) < 0)
                return svc_error(JIT_CODE_INTERNAL, "jit: cannot record the request: access denied");
        jit_journal_event(JIT_EV_REQUEST, LOG_NOTICE,
                          &(struct jit_journal_fields){ .request_id = r->id, .role = r->role, .user = r->user,
                                                        .service = r->service },
                          "request %s: %s asks for role %s via %s", r->id, r->user, r->role,
                          r->service ? r->service : "?");
        if (d.action == JIT_ACTION_ESCALATE) {
                log_decision(r, "escalate", "policy", NULL);
                return pending_answer(s, r, q->wait_s, false);
        }
        r->decided_at_us = now;
        if (d.action != JIT_ACTION_ALLOW) {
                (void)jit_request_transition(r, JIT_REQ_DENIED);
                r->decided_by = strdup("policy");
                (void)svc_save_request(s, r);
                log_decision(r, "deny", "policy", NULL);
                return svc_outcome(s, r);
        }
        snprintf(by, sizeof(by), "template:%s", d.rule ? d.rule : "?");
        (void)jit_request_transition(r, JIT_REQ_APPROVED);
        r->decided_by = strdup(by);
        (void)svc_save_request(s, r);
        log_decision(r, "allow", by, NULL);
        if (svc_grant_create(s, r, by, d.ttl, &g, &err) < 0)
                return svc_error(JIT_CODE_INTERNAL, "jit: approved, but the grant could not be applied (%s): access denied",
                                 err ? err : "see the service log");
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
                return svc_error(JIT_CODE_INVALID, "jit: malformed access request");
        if (who_from_name(user, &w) < 0)
                return answer("deny", "jit: unknown user: access denied");
        q.who = &w;
        q.role = role;
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
        const char *role = str_of(req, "role");
        struct who w = { 0 };
        struct ask q = { 0 };
        cJSON *a;

        if (!is_name(role) || ttl_of(req, &q.ttl) < 0)
                return svc_error(JIT_CODE_INVALID, "malformed request: need a role name and an optional ttl");
        if (who_from_uid(c->uid, &w) < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "your uid %u has no user name", (unsigned)c->uid);
        q.who = &w;
        q.role = role;
        q.service = "jitctl";
        q.reason = clean_text(str_of(req, "reason"), JIT_TEXT_MAX);
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
        return jit_policy_may_approve(jit_config_find_role(s->config, role), w->name, w->groups);
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

void svc_notify_decided(struct svc *s, const struct jit_request *r)
{
        for (struct client *c = s->clients; c; c = c->next) {
                if (!c->waiting || strcmp(c->wait_id, r->id) != 0)
                        continue;
                c->waiting = false;
                svc_client_answer(s, c, svc_outcome(s, r));
        }
}

void svc_expire_waiters(struct svc *s, uint64_t now)
{
        for (struct client *c = s->clients; c; c = c->next) {
                struct jit_request *r;

                if (!c->waiting || now < c->wait_deadline_us)
                        continue;
                c->waiting = false;
                r = svc_find_request(s, c->wait_id);
                svc_client_answer(s, c, r ? svc_outcome(s, r) : svc_error(JIT_CODE_NOTFOUND, "request vanished"));
        }
}

/* approve/deny: the decider must be an approver of the role, and neither
 * the requester by name nor by uid. */
static cJSON *check_decider(struct svc *s, struct client *c, struct jit_request *r, struct who *w)
{
        const struct jit_role *role;

        if (!r)
                return svc_error(JIT_CODE_NOTFOUND, "no such request");
        if (who_from_uid(c->uid, w) < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "your uid %u has no user name", (unsigned)c->uid);
        if (r->uid == c->uid || strcmp(r->user, w->name) == 0)
                return svc_error(JIT_CODE_FORBIDDEN, "you cannot decide your own request %s", r->id);
        if (!s->config)
                return svc_error(JIT_CODE_INTERNAL, "the jit policy is invalid: no decisions until it is fixed");
        role = jit_config_find_role(s->config, r->role);
        if (!jit_policy_may_approve(role, w->name, w->groups))
                return svc_error(JIT_CODE_FORBIDDEN, "%s is not an approver for role %s", w->name, r->role);
        if (r->state != JIT_REQ_PENDING)
                return svc_error(JIT_CODE_CONFLICT, "request %s is already %s", r->id,
                                 jit_request_state_to_string(r->state));
        return NULL;
}

/* The policy may have changed since the request was made: the requester
 * must still be eligible and no deny rule may match now. (The grant takes
 * the role's current group and TTL cap; the caller applies them once the
 * signed decision holds.) */
static cJSON *still_allowed(struct svc *s, struct jit_request *r)
{
        struct who req = { 0 };
        struct jit_context ctx = {
                .role = r->role, .service = r->service, .command = r->command,
                .command_mode = r->command_mode, .ttl = r->ttl,
        };
        struct jit_decision d;

        if (who_from_name(r->user, &req) < 0)
                return svc_error(JIT_CODE_CONFLICT, "requester %s no longer exists", r->user);
        ctx.user = req.name;
        ctx.groups = req.groups;
        jit_policy_decide(s->config, &ctx, &d);
        who_done(&req);
        if (d.action == JIT_ACTION_DENY)
                return svc_error(JIT_CODE_CONFLICT, "the policy no longer allows request %s: %s", r->id, d.reasons[0]);
        return NULL;
}

/* An approval or denial counts only when it comes signed by the caller's
 * registered key over exactly what will be done: this request, requester,
 * host, role, group and TTL, this decision, this approver, a time near
 * now. A signature is good for one decision only: the request it names
 * can be decided once. */
static cJSON *check_signature(struct svc *s, const cJSON *req, const struct jit_request *r,
                              const char *approver, const char *decision, const char *group,
                              uint64_t ttl, struct jit_signed *ret)
{
        struct jit_decision_fields f = {
                .request = r->id, .requester = r->user, .host = svc_hostname(), .role = r->role,
                .group = group, .decision = decision, .approver = approver, .ttl = ttl,
        };
        const char *sig = str_of(req, "signature"), *nonce = str_of(req, "nonce");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "time_us");
        char canonical[JIT_DECISION_MAX], keyhex[65];
        unsigned char pk[32];
        uint64_t now = svc_now_us();
        int e;

        if (!sig || !nonce || strlen(nonce) != 32 || !cJSON_IsNumber(t) || t->valuedouble < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "decisions must be signed: run jitctl keygen, have root "
                                 "register the key (jitctl approver add), then decide again with jitctl");
        f.time_us = (uint64_t)t->valuedouble;
        if (f.time_us + JIT_DECISION_SKEW_US < now || f.time_us > now + JIT_DECISION_SKEW_US)
                return svc_error(JIT_CODE_FORBIDDEN, "the decision was signed at a time too far from now");
        memcpy(f.nonce, nonce, 33);
        e = svc_approver_key(s, approver, pk);
        if (e < 0)
                return svc_error(JIT_CODE_FORBIDDEN, "no usable registered key for approver %s (%s)", approver,
                                 e == -ENOENT ? "none registered: jitctl approver add" : "wrong owner or mode");
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
        r->comment = clean_text(words, JIT_TEXT_MAX);
        (void)svc_save_request(s, r);
        log_decision(r, to == JIT_REQ_APPROVED ? "allow" : "deny", approver,
                     r->comment ? r->comment : to == JIT_REQ_APPROVED ? "approved" : NULL);
}

static cJSON *op_approve(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_request *r = svc_find_request(s, str_of(req, "id"));
        const struct jit_role *role;
        struct jit_grant *g = NULL;
        _cleanup_free_ char *err = NULL;
        uint64_t final_ttl;
        struct jit_signed sd = { 0 };
        struct who w = { 0 };
        uint64_t ttl;
        cJSON *a;

        if (ttl_of(req, &ttl) < 0)
                return svc_error(JIT_CODE_INVALID, "bad ttl");
        a = check_decider(s, c, r, &w);
        if (a) {
                who_done(&w);
                return a;
        }
        role = jit_config_find_role(s->config, r->role);
        if (ttl && ttl > role->max_ttl) {
                who_done(&w);
                return svc_error(JIT_CODE_INVALID, "role %s allows at most %llus", role->name,
                                 (unsigned long long)role->max_ttl);
        }
        final_ttl = ttl ? ttl : r->ttl > role->max_ttl ? role->max_ttl : r->ttl;
        a = still_allowed(s, r);
        if (!a)
                a = check_signature(s, req, r, w.name, "approve", role->group, final_ttl, &sd);
        if (a) {
                jit_signed_done(&sd);
                who_done(&w);
                return a;
        }
        /* The signed decision holds: apply exactly what it says. */
        if (!r->group || strcmp(r->group, role->group) != 0) {
                free(r->group);
                r->group = strdup(role->group);
        }
        r->ttl = final_ttl;
        record_decision(s, r, JIT_REQ_APPROVED, &sd, w.name, str_of(req, "comment"));
        if (svc_grant_create(s, r, w.name, r->ttl, &g, &err) < 0)
                a = svc_error(JIT_CODE_INTERNAL, "approved, but the grant could not be applied: %s",
                              err ? err : "see the service log");
        else
                a = svc_outcome(s, r);
        svc_notify_decided(s, r);
        who_done(&w);
        return a;
}

static cJSON *op_deny(struct svc *s, struct client *c, const cJSON *req)
{
        struct jit_request *r = svc_find_request(s, str_of(req, "id"));
        struct jit_signed sd = { 0 };
        struct who w = { 0 };
        cJSON *a;

        a = check_decider(s, c, r, &w);
        if (!a)
                a = check_signature(s, req, r, w.name, "deny", r->group, r->ttl, &sd);
        if (a) {
                jit_signed_done(&sd);
                who_done(&w);
                return a;
        }
        record_decision(s, r, JIT_REQ_DENIED, &sd, w.name, str_of(req, "reason"));
        svc_notify_decided(s, r);
        who_done(&w);
        return svc_outcome(s, r);
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
             jit_policy_may_approve(jit_config_find_role(s->config, g->role), w.name, w.groups);
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

static cJSON *op_list(struct svc *s, struct client *c, const cJSON *req)
{
        bool all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "all"));
        bool active_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "active"));
        cJSON *a = answer(NULL, NULL), *reqs = cJSON_CreateArray(), *grants = cJSON_CreateArray();
        uint64_t now = svc_now_us();
        struct who w = { 0 };

        if (c->uid != 0 && who_from_uid(c->uid, &w) < 0) {
                cJSON_Delete(a); cJSON_Delete(reqs); cJSON_Delete(grants);
                return svc_error(JIT_CODE_FORBIDDEN, "unknown caller");
        }
        for (size_t i = 0; !active_only && reqs && i < s->n_reqs; i++) {
                const struct jit_request *r = s->reqs[i];

                if ((all || r->state == JIT_REQ_PENDING) && may_see(s, &w, c->uid, r->user, r->role))
                        cJSON_AddItemToArray(reqs, jit_request_to_json(r));
        }
        for (size_t i = 0; grants && i < s->n_grants; i++) {
                const struct jit_grant *g = s->grants[i];

                if ((all || jit_grant_is_active(g, now)) && may_see(s, &w, c->uid, g->user, g->role))
                        cJSON_AddItemToArray(grants, jit_grant_to_json(g));
        }
        who_done(&w);
        attach(a, "requests", reqs);
        attach(a, "grants", grants);
        if (a)
                cJSON_AddNumberToObject(a, "now_us", (double)now);
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
                                      w.name && strcmp(w.name, user) != 0 && jit_policy_may_approve(rl, w.name, w.groups));
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
