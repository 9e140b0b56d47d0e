#include "record.h"
#include "cleanup.h"
#include "decision.h"
#include "strv.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const req_states[_JIT_REQ_STATE_MAX] = {
        [JIT_REQ_PENDING] = "pending",
        [JIT_REQ_APPROVED] = "approved",
        [JIT_REQ_DENIED] = "denied",
        [JIT_REQ_LAPSED] = "lapsed",
        [JIT_REQ_CANCELLED] = "cancelled",
};

static const char *const grant_states[_JIT_GRANT_STATE_MAX] = {
        [JIT_GRANT_ACTIVE] = "active",
        [JIT_GRANT_EXPIRED] = "expired",
        [JIT_GRANT_REVOKED] = "revoked",
};

const char *jit_request_state_to_string(enum jit_request_state s)
{
        return (unsigned)s < _JIT_REQ_STATE_MAX ? req_states[s] : "invalid";
}

int jit_request_state_from_string(const char *s)
{
        for (int i = 0; s && i < _JIT_REQ_STATE_MAX; i++)
                if (strcmp(s, req_states[i]) == 0)
                        return i;
        return -EINVAL;
}

const char *jit_grant_state_to_string(enum jit_grant_state s)
{
        return (unsigned)s < _JIT_GRANT_STATE_MAX ? grant_states[s] : "invalid";
}

int jit_grant_state_from_string(const char *s)
{
        for (int i = 0; s && i < _JIT_GRANT_STATE_MAX; i++)
                if (strcmp(s, grant_states[i]) == 0)
                        return i;
        return -EINVAL;
}

int jit_request_transition(struct jit_request *r, enum jit_request_state to)
{
        if (r->state != JIT_REQ_PENDING || to == JIT_REQ_PENDING || (unsigned)to >= _JIT_REQ_STATE_MAX)
                return -EBUSY;
        r->state = to;
        return 0;
}

int jit_grant_transition(struct jit_grant *g, enum jit_grant_state to)
{
        if (g->state != JIT_GRANT_ACTIVE || to == JIT_GRANT_ACTIVE || (unsigned)to >= _JIT_GRANT_STATE_MAX)
                return -EBUSY;
        g->state = to;
        return 0;
}

bool jit_grant_is_active(const struct jit_grant *g, uint64_t now_us)
{
        return g && g->state == JIT_GRANT_ACTIVE && now_us < g->expires_us;
}

/* Crockford-style base32 without i, l, o, u: easy to read aloud and type. */
static const char id_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

int jit_id_new(char prefix, char ret[JIT_ID_LEN + 1])
{
        unsigned char rnd[10];

        if (sodium_init() < 0)
                return -EIO;
        randombytes_buf(rnd, sizeof(rnd));
        ret[0] = prefix;
        ret[1] = '-';
        for (size_t i = 0; i < 10; i++)
                ret[2 + i] = id_alphabet[rnd[i] & 31];
        ret[JIT_ID_LEN] = '\0';
        sodium_memzero(rnd, sizeof(rnd));
        return 0;
}

bool jit_id_is_valid(const char *s, char prefix)
{
        if (!s || strlen(s) != JIT_ID_LEN || s[0] != prefix || s[1] != '-')
                return false;
        for (size_t i = 2; i < JIT_ID_LEN; i++)
                if (!strchr(id_alphabet, s[i]) || s[i] == '\0')
                        return false;
        return true;
}

/* ---- JSON helpers ---------------------------------------------------- */

static int add_str(cJSON *o, const char *k, const char *v)
{
        if (!v)
                return 0;
        return cJSON_AddStringToObject(o, k, v) ? 0 : -ENOMEM;
}

static int add_u64(cJSON *o, const char *k, uint64_t v)
{
        return cJSON_AddNumberToObject(o, k, (double)v) ? 0 : -ENOMEM;
}

static int add_strv(cJSON *o, const char *k, char *const *v)
{
        cJSON *a;

        if (!v)
                return 0;
        a = cJSON_AddArrayToObject(o, k);
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; v[i]; i++) {
                cJSON *s = cJSON_CreateString(v[i]);

                if (!s || !cJSON_AddItemToArray(a, s)) {
                        cJSON_Delete(s);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* A record object's members by name. from_json asks for some fifty names
 * and cJSON finds each by walking the members: a quarter of the time it
 * took to load 100,000 records went to that strcmp. Indexed once, each
 * lookup is a probe or two. The first member of a name wins, as in
 * cJSON_GetObjectItemCaseSensitive; an object with more members than an
 * index holds (no record of ours has) is searched as cJSON does. */
#define FIELDS_SLOTS 256        /* a power of two */

struct fields {
        const cJSON *obj;
        bool walk;              /* too many members: cJSON's own lookup */
        const cJSON *slot[FIELDS_SLOTS];
};

static size_t field_hash(const char *k)
{
        size_t h = 2166136261U;

        for (; *k; k++)
                h = (h ^ (unsigned char)*k) * 16777619U;
        return h & (FIELDS_SLOTS - 1);
}

static void fields_index(struct fields *f, const cJSON *o)
{
        const cJSON *m;
        size_t n = 0;

        *f = (struct fields){ .obj = o };
        cJSON_ArrayForEach(m, o) {
                size_t k;

                if (!m->string || ++n > FIELDS_SLOTS / 2) {
                        f->walk = true;
                        return;
                }
                for (k = field_hash(m->string); f->slot[k]; k = (k + 1) & (FIELDS_SLOTS - 1))
                        if (strcmp(f->slot[k]->string, m->string) == 0)
                                break;
                if (!f->slot[k])
                        f->slot[k] = m;
        }
}

static const cJSON *field(const struct fields *f, const char *k)
{
        if (f->walk)
                return cJSON_GetObjectItemCaseSensitive(f->obj, k);
        for (size_t i = field_hash(k); f->slot[i]; i = (i + 1) & (FIELDS_SLOTS - 1))
                if (strcmp(f->slot[i]->string, k) == 0)
                        return f->slot[i];
        return NULL;
}

static int get_str(const struct fields *o, const char *k, bool required, size_t max, char **ret)
{
        const cJSON *it = field(o, k);

        *ret = NULL;
        if (!it || cJSON_IsNull(it))
                return required ? -EBADMSG : 0;
        if (!cJSON_IsString(it) || !it->valuestring || strlen(it->valuestring) > max)
                return -EBADMSG;
        *ret = strdup(it->valuestring);
        return *ret ? 0 : -ENOMEM;
}

static int get_u64(const struct fields *o, const char *k, bool required, uint64_t *ret)
{
        const cJSON *it = field(o, k);

        *ret = 0;
        if (!it)
                return required ? -EBADMSG : 0;
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 9007199254740992.0 ||
            it->valuedouble != (double)(uint64_t)it->valuedouble)
                return -EBADMSG;
        *ret = (uint64_t)it->valuedouble;
        return 0;
}

static int get_strv(const struct fields *o, const char *k, size_t max_items, char ***ret)
{
        const cJSON *it = field(o, k), *e;
        char **v = NULL;

        *ret = NULL;
        if (!it || cJSON_IsNull(it))
                return 0;
        if (!cJSON_IsArray(it) || (size_t)cJSON_GetArraySize(it) > max_items)
                return -EBADMSG;
        cJSON_ArrayForEach(e, it) {
                if (!cJSON_IsString(e) || !e->valuestring || strlen(e->valuestring) > 4096) {
                        jit_strv_free(v);
                        return -EBADMSG;
                }
                if (jit_strv_push(&v, e->valuestring) < 0) {
                        jit_strv_free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}

static int get_id(const struct fields *o, const char *k, char prefix, bool required, char ret[JIT_ID_LEN + 1])
{
        const cJSON *it = field(o, k);

        ret[0] = '\0';
        if (!it || cJSON_IsNull(it) || (cJSON_IsString(it) && it->valuestring && !*it->valuestring && !required))
                return required ? -EBADMSG : 0;
        if (!cJSON_IsString(it) || !jit_id_is_valid(it->valuestring, prefix))
                return -EBADMSG;
        memcpy(ret, it->valuestring, JIT_ID_LEN + 1);
        return 0;
}

static int get_command_mode(const struct fields *o, enum jit_command_mode *ret)
{
        const cJSON *it = field(o, "command_mode");

        *ret = JIT_COMMAND_NONE;
        if (!it)
                return 0;
        if (!cJSON_IsString(it))
                return -EBADMSG;
        *ret = jit_command_mode_from_string(it->valuestring);
        if (*ret == JIT_COMMAND_OPAQUE && strcmp(it->valuestring, "opaque") != 0)
                return -EBADMSG;
        return 0;
}

static int get_state(const struct fields *o, int (*from)(const char *), int *ret)
{
        const cJSON *it = field(o, "state");
        int s;

        if (!cJSON_IsString(it))
                return -EBADMSG;
        s = from(it->valuestring);
        if (s < 0)
                return -EBADMSG;
        *ret = s;
        return 0;
}

/* ---- signed decisions -------------------------------------------------- */

void jit_signed_done(struct jit_signed *s)
{
        free(s->canonical);
        free(s->signature);
        free(s->key);
        *s = (struct jit_signed){ 0 };
}

int jit_signed_copy(struct jit_signed *dst, const struct jit_signed *src)
{
        jit_signed_done(dst);
        if (!src->canonical)
                return 0;
        dst->canonical = strdup(src->canonical);
        dst->signature = src->signature ? strdup(src->signature) : NULL;
        dst->key = src->key ? strdup(src->key) : NULL;
        if (!dst->canonical || !dst->signature || !dst->key) {
                jit_signed_done(dst);
                return -ENOMEM;
        }
        return 0;
}

static int add_signed(cJSON *o, const struct jit_signed *s)
{
        cJSON *d;

        if (!s->canonical)
                return 0;
        d = cJSON_AddObjectToObject(o, "signed_decision");
        if (!d || add_str(d, "canonical", s->canonical) || add_str(d, "signature", s->signature) ||
            add_str(d, "key", s->key))
                return -ENOMEM;
        return 0;
}

static int get_signed(const struct fields *o, struct jit_signed *s)
{
        const cJSON *d = field(o, "signed_decision");
        struct fields df;
        int e = 0;

        if (!d)
                return 0;
        if (!cJSON_IsObject(d))
                return -EBADMSG;
        fields_index(&df, d);
        e = e ? e : get_str(&df, "canonical", true, JIT_DECISION_MAX - 1, &s->canonical);
        e = e ? e : get_str(&df, "signature", true, 128, &s->signature);
        e = e ? e : get_str(&df, "key", true, 64, &s->key);
        return e;
}

static int add_bool(cJSON *o, const char *k, bool v)
{
        return cJSON_AddBoolToObject(o, k, v) ? 0 : -ENOMEM;
}

static int get_bool(const struct fields *o, const char *k, bool *ret)
{
        const cJSON *it = field(o, k);

        *ret = false;
        if (!it)
                return 0;
        if (!cJSON_IsBool(it))
                return -EBADMSG;
        *ret = cJSON_IsTrue(it);
        return 0;
}

static int get_u32(const struct fields *o, const char *k, uint32_t *ret)
{
        uint64_t v;
        int e = get_u64(o, k, false, &v);

        if (e < 0 || v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t)v;
        return 0;
}

int jit_request_add_approval(struct jit_request *r, const char *by, uint64_t at_us, bool security,
                             const struct jit_signed *sig)
{
        struct jit_approval *n, *a;

        if (r->n_approvals >= JIT_MAX_APPROVALS)
                return -E2BIG;
        n = realloc(r->approvals, (r->n_approvals + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        r->approvals = n;
        a = &n[r->n_approvals];
        *a = (struct jit_approval){ .by = strdup(by), .at_us = at_us, .security = security };
        if (!a->by || (sig && jit_signed_copy(&a->sig, sig) < 0)) {
                free(a->by);
                jit_signed_done(&a->sig);
                return -ENOMEM;
        }
        r->n_approvals++;
        return 0;
}

static int add_approvals(cJSON *o, const struct jit_request *r)
{
        cJSON *arr;

        if (!r->n_approvals)
                return 0;
        arr = cJSON_AddArrayToObject(o, "approvals");
        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_approvals; i++) {
                cJSON *a = cJSON_CreateObject();

                if (!a || !cJSON_AddItemToArray(arr, a) || add_str(a, "by", r->approvals[i].by) ||
                    add_u64(a, "at_us", r->approvals[i].at_us) || add_bool(a, "security", r->approvals[i].security) ||
                    add_signed(a, &r->approvals[i].sig))
                        return -ENOMEM;
        }
        return 0;
}

static int get_approvals(const struct fields *o, struct jit_request *r)
{
        const cJSON *arr = field(o, "approvals"), *e;

        if (!arr)
                return 0;
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > JIT_MAX_APPROVALS)
                return -EBADMSG;
        cJSON_ArrayForEach(e, arr) {
                _cleanup_free_ char *by = NULL;
                struct jit_signed sig = { 0 };
                struct fields ef;
                uint64_t at;
                bool sec;
                int k = 0;

                if (!cJSON_IsObject(e))
                        return -EBADMSG;
                fields_index(&ef, e);
                k = k ? k : get_str(&ef, "by", true, 64, &by);
                k = k ? k : get_u64(&ef, "at_us", true, &at);
                k = k ? k : get_bool(&ef, "security", &sec);
                k = k ? k : get_signed(&ef, &sig);
                k = k ? k : jit_request_add_approval(r, by, at, sec, sig.canonical ? &sig : NULL);
                jit_signed_done(&sig);
                if (k)
                        return k;
        }
        return 0;
}

/* ---- requests -------------------------------------------------------- */

cJSON *jit_request_to_json(const struct jit_request *r)
{
        cJSON *o = cJSON_CreateObject();
        int e = 0;

        if (!o)
                return NULL;
        e |= add_str(o, "id", r->id);
        e |= add_str(o, "state", jit_request_state_to_string(r->state));
        e |= add_str(o, "kind", r->kind);
        if (r->extends[0])
                e |= add_str(o, "extends", r->extends);
        e |= add_str(o, "user", r->user);
        e |= add_u64(o, "uid", r->uid);
        e |= add_str(o, "role", r->role);
        e |= add_str(o, "group", r->group);
        e |= add_u64(o, "ttl", r->ttl);
        e |= add_str(o, "reason", r->reason);
        e |= add_str(o, "service", r->service);
        e |= add_str(o, "rhost", r->rhost);
        e |= add_str(o, "tty", r->tty);
        e |= add_str(o, "target_user", r->target_user);
        e |= add_strv(o, "command", r->command);
        e |= add_str(o, "command_mode", jit_command_mode_to_string(r->command_mode));
        e |= add_str(o, "unit", r->unit);
        e |= add_str(o, "session", r->session);
        e |= add_str(o, "session_class", r->session_class);
        e |= add_str(o, "session_type", r->session_type);
        e |= add_bool(o, "has_tty", r->has_tty);
        e |= add_u64(o, "hist_requests", r->hist_requests);
        e |= add_u64(o, "hist_denials", r->hist_denials);
        e |= add_u64(o, "hist_grants", r->hist_grants);
        e |= add_u64(o, "hist_break_glass", r->hist_break_glass);
        e |= add_u64(o, "created_us", r->created_us);
        e |= add_u64(o, "deadline_us", r->deadline_us);
        e |= add_str(o, "policy_action", r->policy_action);
        e |= add_str(o, "tier", r->tier);
        e |= add_u64(o, "approvals_needed", r->approvals_needed);
        e |= add_u64(o, "risk", r->risk);
        e |= add_str(o, "policy_rule", r->policy_rule);
        e |= add_strv(o, "policy_reasons", r->policy_reasons);
        e |= add_strv(o, "policy_reason_ids", r->policy_reason_ids);
        e |= add_approvals(o, r);
        e |= add_str(o, "task", r->task);
        if (r->single_use)
                e |= add_bool(o, "single_use", true);
        e |= add_str(o, "bind", r->bind);
        e |= add_str(o, "review_state", r->review_state);
        e |= add_str(o, "review_by", r->review_by);
        e |= add_str(o, "review_comment", r->review_comment);
        if (r->review_at_us)
                e |= add_u64(o, "review_at_us", r->review_at_us);
        e |= add_str(o, "decided_by", r->decided_by);
        e |= add_u64(o, "decided_at_us", r->decided_at_us);
        e |= add_str(o, "comment", r->comment);
        if (r->grant_id[0])
                e |= add_str(o, "grant_id", r->grant_id);
        e |= add_signed(o, &r->signed_decision);
        if (r->fleet_id[0]) {
                e |= add_str(o, "fleet_id", r->fleet_id);
                e |= add_str(o, "origin", r->origin);
                e |= add_strv(o, "fleet_hosts", r->fleet_hosts);
                e |= add_u64(o, "fleet_ttl", r->fleet_ttl);
                e |= add_u64(o, "fleet_asked_us", r->fleet_asked_us);
        }
        if (e) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

int jit_request_from_json(const cJSON *j, struct jit_request **ret)
{
        _cleanup_request_free_ struct jit_request *r = NULL;
        uint64_t uid;
        struct fields f;
        int st = 0, e = 0;

        if (!cJSON_IsObject(j))
                return -EBADMSG;
        fields_index(&f, j);
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        e = e ? e : get_id(&f, "id", 'r', true, r->id);
        e = e ? e : get_state(&f, jit_request_state_from_string, &st);
        e = e ? e : get_str(&f, "kind", false, 16, &r->kind);
        e = e ? e : get_id(&f, "extends", 'g', false, r->extends);
        e = e ? e : get_str(&f, "user", true, 64, &r->user);
        e = e ? e : get_u64(&f, "uid", true, &uid);
        e = e ? e : get_str(&f, "role", true, 64, &r->role);
        e = e ? e : get_str(&f, "group", false, 64, &r->group);
        e = e ? e : get_u64(&f, "ttl", true, &r->ttl);
        e = e ? e : get_str(&f, "reason", false, JIT_TEXT_MAX, &r->reason);
        e = e ? e : get_str(&f, "service", false, 64, &r->service);
        e = e ? e : get_str(&f, "rhost", false, 256, &r->rhost);
        e = e ? e : get_str(&f, "tty", false, 256, &r->tty);
        e = e ? e : get_str(&f, "target_user", false, 64, &r->target_user);
        e = e ? e : get_strv(&f, "command", JIT_COMMAND_MAX_ARGS, &r->command);
        e = e ? e : get_command_mode(&f, &r->command_mode);
        e = e ? e : get_str(&f, "unit", false, 256, &r->unit);
        e = e ? e : get_str(&f, "session", false, 64, &r->session);
        e = e ? e : get_str(&f, "session_class", false, 32, &r->session_class);
        e = e ? e : get_str(&f, "session_type", false, 32, &r->session_type);
        e = e ? e : get_bool(&f, "has_tty", &r->has_tty);
        e = e ? e : get_u32(&f, "hist_requests", &r->hist_requests);
        e = e ? e : get_u32(&f, "hist_denials", &r->hist_denials);
        e = e ? e : get_u32(&f, "hist_grants", &r->hist_grants);
        e = e ? e : get_u32(&f, "hist_break_glass", &r->hist_break_glass);
        e = e ? e : get_u64(&f, "created_us", true, &r->created_us);
        e = e ? e : get_u64(&f, "deadline_us", false, &r->deadline_us);
        e = e ? e : get_str(&f, "policy_action", false, 16, &r->policy_action);
        e = e ? e : get_str(&f, "tier", false, 16, &r->tier);
        e = e ? e : get_u32(&f, "approvals_needed", &r->approvals_needed);
        e = e ? e : get_u32(&f, "risk", &r->risk);
        e = e ? e : get_str(&f, "policy_rule", false, 64, &r->policy_rule);
        e = e ? e : get_strv(&f, "policy_reasons", 16, &r->policy_reasons);
        e = e ? e : get_strv(&f, "policy_reason_ids", 16, &r->policy_reason_ids);
        e = e ? e : get_approvals(&f, r);
        e = e ? e : get_str(&f, "task", false, JIT_TEXT_MAX, &r->task);
        e = e ? e : get_bool(&f, "single_use", &r->single_use);
        e = e ? e : get_str(&f, "bind", false, 16, &r->bind);
        if (!e && r->bind && strcmp(r->bind, "session") != 0 && strcmp(r->bind, "unit") != 0)
                e = -EBADMSG;
        e = e ? e : get_str(&f, "review_state", false, 16, &r->review_state);
        e = e ? e : get_str(&f, "review_by", false, 64, &r->review_by);
        e = e ? e : get_str(&f, "review_comment", false, JIT_TEXT_MAX, &r->review_comment);
        e = e ? e : get_u64(&f, "review_at_us", false, &r->review_at_us);
        e = e ? e : get_str(&f, "decided_by", false, 80, &r->decided_by);
        e = e ? e : get_u64(&f, "decided_at_us", false, &r->decided_at_us);
        e = e ? e : get_str(&f, "comment", false, JIT_TEXT_MAX, &r->comment);
        e = e ? e : get_id(&f, "grant_id", 'g', false, r->grant_id);
        e = e ? e : get_signed(&f, &r->signed_decision);
        e = e ? e : get_id(&f, "fleet_id", 'm', false, r->fleet_id);
        e = e ? e : get_str(&f, "origin", false, 64, &r->origin);
        e = e ? e : get_strv(&f, "fleet_hosts", JIT_FLEET_HOSTS_MAX, &r->fleet_hosts);
        e = e ? e : get_u64(&f, "fleet_ttl", false, &r->fleet_ttl);
        e = e ? e : get_u64(&f, "fleet_asked_us", false, &r->fleet_asked_us);
        /* all four or none, the hosts sorted and each once */
        if (!e && (!r->fleet_id[0] != !r->origin || !r->fleet_id[0] != !r->fleet_hosts ||
                   (r->fleet_id[0] ? !r->fleet_ttl || !r->fleet_hosts[0] || !jit_host_name_ok(r->origin)
                                   : r->fleet_ttl || r->fleet_asked_us)))
                e = -EBADMSG;
        for (size_t i = 0; !e && r->fleet_hosts && r->fleet_hosts[i]; i++)
                if (!jit_host_name_ok(r->fleet_hosts[i]) || (i && strcmp(r->fleet_hosts[i - 1], r->fleet_hosts[i]) >= 0))
                        e = -EBADMSG;
        if (e)
                return e;
        if (uid > UINT32_MAX)
                return -EBADMSG;
        r->uid = (uint32_t)uid;
        r->state = (enum jit_request_state)st;
        *ret = TAKE_PTR(r);
        return 0;
}

void jit_request_free(struct jit_request *r)
{
        if (!r)
                return;
        free(r->kind);
        free(r->user);
        free(r->role);
        free(r->group);
        free(r->reason);
        free(r->unit);
        free(r->session);
        free(r->session_class);
        free(r->session_type);
        free(r->policy_action);
        free(r->tier);
        jit_strv_free(r->policy_reason_ids);
        for (size_t i = 0; i < r->n_approvals; i++) {
                free(r->approvals[i].by);
                jit_signed_done(&r->approvals[i].sig);
        }
        free(r->approvals);
        free(r->task);
        free(r->bind);
        free(r->review_state);
        free(r->review_by);
        free(r->review_comment);
        free(r->service);
        free(r->rhost);
        free(r->tty);
        free(r->target_user);
        jit_strv_free(r->command);
        free(r->policy_rule);
        jit_strv_free(r->policy_reasons);
        free(r->decided_by);
        free(r->comment);
        jit_signed_done(&r->signed_decision);
        free(r->origin);
        jit_strv_free(r->fleet_hosts);
        free(r);
}

/* ---- grants ---------------------------------------------------------- */

cJSON *jit_grant_to_json(const struct jit_grant *g)
{
        cJSON *o = cJSON_CreateObject();
        int e = 0;

        if (!o)
                return NULL;
        e |= add_str(o, "id", g->id);
        e |= add_str(o, "request_id", g->request_id);
        if (g->fleet_id[0])
                e |= add_str(o, "fleet_id", g->fleet_id);
        e |= add_str(o, "state", jit_grant_state_to_string(g->state));
        e |= add_str(o, "user", g->user);
        e |= add_u64(o, "uid", g->uid);
        e |= add_str(o, "role", g->role);
        e |= add_str(o, "group", g->group);
        e |= add_str(o, "approved_by", g->approved_by);
        e |= add_u64(o, "created_us", g->created_us);
        e |= add_u64(o, "expires_us", g->expires_us);
        e |= add_u64(o, "ended_us", g->ended_us);
        e |= add_str(o, "ended_by", g->ended_by);
        e |= add_str(o, "tier", g->tier);
        e |= add_str(o, "end", g->end);
        if (g->end)
                e |= add_u64(o, "end_grace_s", g->end_grace_s);
        if (g->swept_us)
                e |= add_u64(o, "swept_us", g->swept_us);
        if (g->single_use)
                e |= add_bool(o, "single_use", true);
        e |= add_str(o, "task", g->task);
        e |= add_str(o, "bound_session", g->bound_session);
        e |= add_str(o, "bound_unit", g->bound_unit);
        e |= add_str(o, "bound_boot", g->bound_boot);
        e |= add_str(o, "timer", g->timer);
        e |= add_signed(o, &g->signed_decision);
        if (e) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

int jit_grant_from_json(const cJSON *j, struct jit_grant **ret)
{
        _cleanup_grant_free_ struct jit_grant *g = NULL;
        uint64_t uid;
        struct fields f;
        int st = 0, e = 0;

        if (!cJSON_IsObject(j))
                return -EBADMSG;
        fields_index(&f, j);
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        e = e ? e : get_id(&f, "id", 'g', true, g->id);
        e = e ? e : get_id(&f, "request_id", 'r', true, g->request_id);
        e = e ? e : get_id(&f, "fleet_id", 'm', false, g->fleet_id);
        e = e ? e : get_state(&f, jit_grant_state_from_string, &st);
        e = e ? e : get_str(&f, "user", true, 64, &g->user);
        e = e ? e : get_u64(&f, "uid", true, &uid);
        e = e ? e : get_str(&f, "role", true, 64, &g->role);
        e = e ? e : get_str(&f, "group", true, 64, &g->group);
        e = e ? e : get_str(&f, "approved_by", false, 80, &g->approved_by);
        e = e ? e : get_u64(&f, "created_us", true, &g->created_us);
        e = e ? e : get_u64(&f, "expires_us", true, &g->expires_us);
        e = e ? e : get_u64(&f, "ended_us", false, &g->ended_us);
        e = e ? e : get_str(&f, "ended_by", false, 80, &g->ended_by);
        e = e ? e : get_str(&f, "tier", false, 16, &g->tier);
        e = e ? e : get_str(&f, "end", false, 16, &g->end);
        if (!e && g->end && strcmp(g->end, "processes") != 0 && strcmp(g->end, "sessions") != 0 &&
            strcmp(g->end, "none") != 0)
                e = -EBADMSG;
        e = e ? e : get_u64(&f, "end_grace_s", false, &g->end_grace_s);
        if (!e && g->end_grace_s > 3600)
                e = -EBADMSG;
        e = e ? e : get_u64(&f, "swept_us", false, &g->swept_us);
        e = e ? e : get_bool(&f, "single_use", &g->single_use);
        e = e ? e : get_str(&f, "task", false, JIT_TEXT_MAX, &g->task);
        e = e ? e : get_str(&f, "bound_session", false, 64, &g->bound_session);
        e = e ? e : get_str(&f, "bound_unit", false, 256, &g->bound_unit);
        e = e ? e : get_str(&f, "bound_boot", false, 32, &g->bound_boot);
        e = e ? e : get_str(&f, "timer", false, 128, &g->timer);
        e = e ? e : get_signed(&f, &g->signed_decision);
        if (e)
                return e;
        if (uid > UINT32_MAX)
                return -EBADMSG;
        g->uid = (uint32_t)uid;
        g->state = (enum jit_grant_state)st;
        *ret = TAKE_PTR(g);
        return 0;
}

void jit_grant_free(struct jit_grant *g)
{
        if (!g)
                return;
        free(g->user);
        free(g->role);
        free(g->group);
        free(g->approved_by);
        free(g->ended_by);
        free(g->tier);
        free(g->end);
        free(g->task);
        free(g->bound_session);
        free(g->bound_unit);
        free(g->bound_boot);
        free(g->timer);
        jit_signed_done(&g->signed_decision);
        free(g);
}

/* ---- envelope -------------------------------------------------------- */

#define ENVELOPE_MAGIC "jit-record 1 "
#define HASH_HEX (crypto_generichash_BYTES * 2)

static void body_hash(const char *body, size_t len, char hex[HASH_HEX + 1])
{
        unsigned char h[crypto_generichash_BYTES];

        crypto_generichash(h, sizeof(h), (const unsigned char *)body, len, NULL, 0);
        sodium_bin2hex(hex, HASH_HEX + 1, h, sizeof(h));
}

int jit_record_seal(const cJSON *body, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *json = NULL;
        char hex[HASH_HEX + 1];
        size_t jl, total;
        char *out;

        if (sodium_init() < 0)
                return -EIO;
        json = cJSON_PrintUnformatted(body);
        if (!json)
                return -ENOMEM;
        jl = strlen(json);
        if (jl > JIT_RECORD_MAX_SIZE - 128)
                return -EFBIG;
        body_hash(json, jl, hex);
        total = strlen(ENVELOPE_MAGIC) + HASH_HEX + 1 + jl + 1;
        out = malloc(total + 1);
        if (!out)
                return -ENOMEM;
        snprintf(out, total + 1, "%s%s\n%s\n", ENVELOPE_MAGIC, hex, json);
        *ret = out;
        *ret_len = total;
        return 0;
}

int jit_record_open(const char *data, size_t len, cJSON **ret)
{
        size_t ml = strlen(ENVELOPE_MAGIC), hl = ml + HASH_HEX + 1;
        char want[HASH_HEX + 1];
        const char *body;
        size_t bl;
        cJSON *j;

        if (sodium_init() < 0)
                return -EIO;
        if (len < hl + 2 || len > JIT_RECORD_MAX_SIZE || memcmp(data, ENVELOPE_MAGIC, ml) != 0 ||
            data[hl - 1] != '\n' || data[len - 1] != '\n')
                return -EBADMSG;
        body = data + hl;
        bl = len - hl - 1;
        body_hash(body, bl, want);
        if (sodium_memcmp(want, data + ml, HASH_HEX) != 0)
                return -EBADMSG;
        j = cJSON_ParseWithLength(body, bl);
        if (!j)
                return -EBADMSG;
        *ret = j;
        return 0;
}
