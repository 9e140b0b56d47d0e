/* The service's side of the fleet: jit-fleet (root, the only program that
 * talks to the fleet store) asks for this host's pending requests and
 * waits for them to change (op fleet-sync), and hands over the decisions
 * it reads from the store (op fleet-decide). The service never opens a
 * network connection; a decision from the store is checked exactly as one
 * made here (svc_fleet_decide in service_ops.c). */
#include "service.h"
#include "audit.h"
#include "cleanup.h"
#include "journal.h"
#include "record.h"
#include "strv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FLEET_WAIT_MAX_MS (10LL * 60 * 1000)
/* The pending requests one fleet-sync answer carries, as text: well under
 * JIT_PROTO_MAX_ANSWER. The oldest go first; the rest wait their turn. */
#define FLEET_SNAPSHOT_MAX (3 * 1024 * 1024)

static bool is_break_glass(const struct jit_request *r)
{
        return r->kind && strcmp(r->kind, "break-glass") == 0;
}

/* What an approver elsewhere sees of a pending request, and the group and
 * TTL an approval without --for signs (as op approve would apply them). */
static cJSON *published(struct svc *s, const struct jit_request *r)
{
        const struct jit_role *role = s->config ? jit_config_find_role(s->config, r->role) : NULL;
        _cleanup_strv_free_ char **appr = NULL;
        cJSON *o, *list;

        if (!role)
                return NULL;
        o = jit_request_to_json(r);
        if (!o)
                return NULL;
        /* the list once, as sign_host (up to 100 names of 64 bytes) */
        cJSON_DeleteItemFromObjectCaseSensitive(o, "fleet_hosts");
        if (r->fleet_id[0]) {
                /* for several hosts: one signature names them all */
                _cleanup_free_ char *hosts = jit_strv_join(r->fleet_hosts, ",");

                if (!hosts || !cJSON_AddStringToObject(o, "sign_request", r->fleet_id) ||
                    !cJSON_AddStringToObject(o, "sign_host", hosts)) {
                        cJSON_Delete(o);
                        return NULL;
                }
        }
        if (!cJSON_AddStringToObject(o, "sign_group", r->fleet_id[0] ? "*" : role->group) ||
            !cJSON_AddNumberToObject(o, "sign_ttl", (double)(r->fleet_id[0] ? r->fleet_ttl
                                                             : r->ttl > role->max_ttl ? role->max_ttl : r->ttl)) ||
            !(list = cJSON_AddArrayToObject(o, "approvers"))) {
                cJSON_Delete(o);
                return NULL;
        }
        /* who may see it elsewhere: "user" and "%group", as jitctl show has them */
        appr = role_approvers(role);
        for (size_t i = 0; appr && appr[i]; i++)
                cJSON_AddItemToArray(list, cJSON_CreateString(appr[i]));
        for (size_t i = 0; r->tier && strcmp(r->tier, "security") == 0 && s->config->security.users &&
                           s->config->security.users[i]; i++)
                cJSON_AddItemToArray(list, cJSON_CreateString(s->config->security.users[i]));
        for (size_t i = 0; r->tier && strcmp(r->tier, "security") == 0 && s->config->security.groups &&
                           s->config->security.groups[i]; i++) {
                char g[JIT_NAME_MAX + 2] = "%";

                strncat(g, s->config->security.groups[i], JIT_NAME_MAX);
                cJSON_AddItemToArray(list, cJSON_CreateString(g));
        }
        return o;
}

static cJSON *snapshot(struct svc *s)
{
        cJSON *a = cJSON_CreateObject(), *list, *audit;
        const struct jit_request *r;
        struct jit_proto_budget b = { .max_bytes = FLEET_SNAPSHOT_MAX };

        if (!a)
                return NULL;
        cJSON_AddBoolToObject(a, "ok", true);
        cJSON_AddNumberToObject(a, "gen", (double)s->fleet_gen);
        cJSON_AddStringToObject(a, "host", svc_hostname());
        list = cJSON_AddArrayToObject(a, "requests");
        audit = cJSON_AddObjectToObject(a, "audit");
        if (!list || !audit) {
                cJSON_Delete(a);
                return NULL;
        }
        cJSON_AddNumberToObject(audit, "seq", (double)jit_audit_seq(s->audit));
        cJSON_AddStringToObject(audit, "hash", jit_audit_head(s->audit));
        for (size_t i = 0; (r = svc_open_request(s, i)); i++) {
                cJSON *o;

                /* break-glass is completed here by its requester alone */
                if (r->state != JIT_REQ_PENDING || is_break_glass(r))
                        continue;
                if (jit_proto_budget_full(&b)) {
                        b.left_out++;
                        continue;
                }
                o = published(s, r);    /* NULL: its role is gone from the policy */
                if (o)
                        jit_proto_budget_add(&b, list, o, false);
        }
        if (b.left_out)
                cJSON_AddNumberToObject(a, "left_out", (double)b.left_out);
        return a;
}

/* {"op":"fleet-sync","after":GEN,"timeout_ms":N}: the pending set now if
 * it changed since GEN (or no timeout is given), else once it changes or
 * the timeout passes. */
cJSON *svc_op_fleet_sync(struct svc *s, struct client *c, const cJSON *req)
{
        const cJSON *after = cJSON_GetObjectItemCaseSensitive(req, "after");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "timeout_ms");
        int64_t ms;

        if (!cJSON_IsNumber(after) || !cJSON_IsNumber(t) || !(t->valuedouble > 0) ||
            (uint64_t)after->valuedouble != s->fleet_gen)
                return snapshot(s) ?: svc_error(JIT_CODE_INTERNAL, "out of memory");
        ms = t->valuedouble >= (double)FLEET_WAIT_MAX_MS ? FLEET_WAIT_MAX_MS : (int64_t)t->valuedouble;
        c->waiting = true;
        c->fleet_sync = true;
        c->fleet_after = s->fleet_gen;
        c->wait_id[0] = '\0';
        c->wait_deadline_us = svc_now_us() + (uint64_t)ms * 1000;
        return NULL;
}

void svc_fleet_expire_waiters(struct svc *s, uint64_t now)
{
        for (struct client *c = s->clients; c; c = c->next) {
                if (!c->waiting || !c->fleet_sync || (c->fleet_after == s->fleet_gen && now < c->wait_deadline_us))
                        continue;
                c->waiting = false;
                c->fleet_sync = false;
                svc_client_answer(s, c, snapshot(s) ?: svc_error(JIT_CODE_INTERNAL, "out of memory"));
        }
}

/* {"op":"fleet-decide","origin":HOST,"id":..,"decision":..,"approver":..,
 *  "ttl":..,"time_us":..,"nonce":..,"signature":..,"comment"|"reason":..} */
cJSON *svc_op_fleet_decide(struct svc *s, struct client *c, const cJSON *req)
{
        const cJSON *origin = cJSON_GetObjectItemCaseSensitive(req, "origin");

        (void)c;
        if (!cJSON_IsString(origin) || !origin->valuestring[0] || strlen(origin->valuestring) > 255)
                return svc_error(JIT_CODE_INVALID, "a fleet decision names the host it came from");
        return svc_fleet_decide(s, req, origin->valuestring);
}

/* {"op":"fleet-open","origin":HOST,"id":"m-...","user":..,"role":..,
 *  "ttl":S,"reason":..,"hosts":[sorted names],"asked_us":T} */
cJSON *svc_op_fleet_open(struct svc *s, struct client *c, const cJSON *req)
{
        const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(req, "hosts"), *h;
        const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(req, "ttl");
        const cJSON *asked = cJSON_GetObjectItemCaseSensitive(req, "asked_us");
        const char *origin = svc_str_of(req, "origin"), *id = svc_str_of(req, "id");
        const char *user = svc_str_of(req, "user"), *role = svc_str_of(req, "role");
        const char *reason = svc_str_of(req, "reason");
        _cleanup_strv_free_ char **list = NULL;
        struct svc_fleet_ask f = { 0 };

        (void)c;
        if (!jit_host_name_ok(origin) || !id || !jit_id_is_valid(id, 'm') || !user || !who_name_is_usable(user) ||
            !role || !role[0] || strlen(role) > JIT_NAME_MAX || !cJSON_IsNumber(ttl) || !(ttl->valuedouble >= 1) ||
            ttl->valuedouble > 366.0 * 86400 || !cJSON_IsNumber(asked) || !(asked->valuedouble >= 0) ||
            asked->valuedouble > 9007199254740992.0 || !cJSON_IsArray(hosts) || cJSON_GetArraySize(hosts) < 1 ||
            cJSON_GetArraySize(hosts) > JIT_FLEET_HOSTS_MAX || (reason && strlen(reason) > JIT_TEXT_MAX))
                return svc_error(JIT_CODE_INVALID, "a malformed fleet request");
        cJSON_ArrayForEach(h, hosts) {
                if (!cJSON_IsString(h) || !jit_host_name_ok(h->valuestring) ||
                    (h != hosts->child && strcmp(h->prev->valuestring, h->valuestring) >= 0))
                        return svc_error(JIT_CODE_INVALID, "a fleet request names its hosts sorted, each once");
                if (jit_strv_push(&list, h->valuestring) < 0)
                        return svc_error(JIT_CODE_INTERNAL, "out of memory");
        }
        memcpy(f.id, id, sizeof(f.id));
        f.origin = origin;
        f.hosts = list;
        f.ttl = (uint64_t)ttl->valuedouble;
        f.asked_us = (uint64_t)asked->valuedouble;
        return svc_fleet_open(s, &f, user, role, reason);
}
