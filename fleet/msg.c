/* What jit-fleet reads from files and from the store, parsed strictly:
 * its configuration (/etc/jit/fleet.conf), signed decisions, and keys.
 * Everything here is pure (no I/O) so that the fuzzer can drive it. */
#include "jit-fleet.h"
#include "cleanup.h"
#include "duration.h"
#include "proto.h"
#include "record.h"
#include "safeio.h"
#include "strv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fleet_name_ok(const char *s)
{
        return jit_host_name_ok(s);
}

/* The first member of object j whose name is not in keys, or NULL. */
static const char *unknown_key(const cJSON *j, const char *const *keys)
{
        const cJSON *it;

        cJSON_ArrayForEach(it, j) {
                bool known = false;

                for (size_t i = 0; keys[i]; i++)
                        known |= strcmp(it->string, keys[i]) == 0;
                if (!known)
                        return it->string;
        }
        return NULL;
}

/* A value read from the store: at most FLEET_VALUE_MAX, one strict JSON
 * object of these keys only, "v": 1. */
static int parse_stored(const char *text, size_t len, const char *const *keys, cJSON **ret)
{
        cJSON *j = NULL;
        const cJSON *v;

        if (len > FLEET_VALUE_MAX || jit_proto_parse_strict(text, len, &j) < 0)
                return -EBADMSG;
        v = cJSON_GetObjectItemCaseSensitive(j, "v");
        if (unknown_key(j, keys) || !cJSON_IsNumber(v) || v->valuedouble != 1) {
                cJSON_Delete(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

/* ---- /etc/jit/fleet.conf ----------------------------------------------- */

static int cfg_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool abs_path_ok(const char *s)
{
        size_t n = strlen(s);

        if (n < 2 || n > 255 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//") || strstr(s, "/./") ||
            strstr(s, "/../") || (n >= 3 && strcmp(s + n - 3, "/..") == 0) || strcmp(s + n - 2, "/.") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

/* https://HOST:PORT (HOST a name, an IPv4 address or [IPv6]), no path. */
static bool endpoint_ok(const char *s)
{
        const char *h = strncmp(s, "https://", 8) == 0 ? s + 8 : NULL, *colon;
        size_t hl;
        char *end;
        long port;

        if (!h || strlen(s) > 255)
                return false;
        colon = strrchr(h, ':');
        if (!colon || colon == h)
                return false;
        hl = (size_t)(colon - h);
        /* ':' only inside [IPv6]: "a:b:2379" or "::1:2379" is no HOST:PORT */
        if (h[0] == '[' ? hl < 4 || h[hl - 1] != ']' || strspn(h + 1, "0123456789abcdefABCDEF:.") != hl - 2
                        : strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != hl)
                return false;
        port = strtol(colon + 1, &end, 10);
        return colon[1] >= '1' && colon[1] <= '9' && *end == '\0' && port > 0 && port < 65536;
}

static int get_str(const cJSON *o, const char *key, bool path, bool required, char **ret, char *err, size_t errlen)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        if (!it)
                return required ? cfg_err(err, errlen, "$.%s: missing (required)", key) : 0;
        if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 255)
                return cfg_err(err, errlen, "$.%s: must be a string of 1 to 255 bytes", key);
        if (path && !abs_path_ok(it->valuestring))
                return cfg_err(err, errlen, "$.%s: must be an absolute path without . or .. components", key);
        *ret = strdup(it->valuestring);
        return *ret ? 0 : -ENOMEM;
}

static int get_dur(const cJSON *o, const char *key, uint64_t min, uint64_t max, uint64_t *ret, char *err,
                   size_t errlen)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
        uint64_t v;

        if (!it)
                return 0;
        if (!cJSON_IsString(it) || jit_duration_parse(it->valuestring, &v) < 0 || v < min || v > max)
                return cfg_err(err, errlen, "$.%s: must be a duration (\"30s\", \"5m\") from %" PRIu64 "s to %" PRIu64 "s",
                               key, min, max);
        *ret = v;
        return 0;
}

int fleet_config_parse(const char *text, size_t len, struct fleet_config **ret, char *err, size_t errlen)
{
        static const char *const keys[] = {
                "version", "endpoints", "ca_file", "cert_file", "key_file", "user", "password_file",
                "prefix", "timeout", "audit_interval", "decision_ttl", "labels", "host", NULL,
        };
        _cleanup_(fleet_jsonp) cJSON *j = NULL;
        struct fleet_config *c;
        const cJSON *it, *e;
        uint64_t timeout_s = 3;
        int r = 0;

        if (jit_proto_parse_strict(text, len, &j) < 0)
                return cfg_err(err, errlen, "$: not one strict JSON object (UTF-8, no key twice)");
        if (unknown_key(j, keys))
                return cfg_err(err, errlen, "$: unknown key \"%.64s\"", unknown_key(j, keys));
        it = cJSON_GetObjectItemCaseSensitive(j, "version");
        if (!cJSON_IsNumber(it) || it->valuedouble != 1)
                return cfg_err(err, errlen, "$.version: must be 1");
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->audit_interval = 60;
        c->file_flags = JIT_SAFEIO_TRUSTED;
        c->decision_ttl = 3600;
        it = cJSON_GetObjectItemCaseSensitive(j, "endpoints");
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) < 1 || cJSON_GetArraySize(it) > FLEET_ENDPOINTS_MAX)
                r = cfg_err(err, errlen, "$.endpoints: must be an array of 1 to %d \"https://HOST:PORT\"", FLEET_ENDPOINTS_MAX);
        if (r < 0)
                it = NULL;
        cJSON_ArrayForEach(e, it) {
                if (!cJSON_IsString(e) || !endpoint_ok(e->valuestring)) {
                        r = cfg_err(err, errlen, "$.endpoints[%zu]: must be \"https://HOST:PORT\"", c->n_endpoints);
                        break;
                }
                if (jit_strv_push(&c->endpoints, e->valuestring) < 0) {
                        r = -ENOMEM;
                        break;
                }
                c->n_endpoints++;
        }
        if (r == 0)
                r = get_str(j, "ca_file", true, true, &c->ca_file, err, errlen);
        if (r == 0)
                r = get_str(j, "cert_file", true, true, &c->cert_file, err, errlen);
        if (r == 0)
                r = get_str(j, "key_file", true, true, &c->key_file, err, errlen);
        if (r == 0)
                r = get_str(j, "user", false, false, &c->user, err, errlen);
        if (r == 0 && c->user && !fleet_name_ok(c->user))
                r = cfg_err(err, errlen, "$.user: must be a name of [A-Za-z0-9._-]");
        if (r == 0)
                r = get_str(j, "password_file", true, false, &c->password_file, err, errlen);
        if (r == 0 && !c->user != !c->password_file)
                r = cfg_err(err, errlen, "$: give both \"user\" and \"password_file\" (etcd RBAC), or neither");
        if (r == 0)
                r = get_str(j, "prefix", false, false, &c->prefix, err, errlen);
        if (r == 0 && !c->prefix && !(c->prefix = strdup("/jit/v1")))
                r = -ENOMEM;
        if (r == 0 && (c->prefix[0] != '/' || strlen(c->prefix) > 64 || c->prefix[strlen(c->prefix) - 1] == '/' ||
                       strspn(c->prefix, "/abcdefghijklmnopqrstuvwxyz0123456789_-.") != strlen(c->prefix)))
                r = cfg_err(err, errlen, "$.prefix: must be like \"/jit/v1\" (/, a-z, 0-9, . _ -; no trailing /)");
        if (r == 0)
                r = get_dur(j, "timeout", 1, 60, &timeout_s, err, errlen);
        if (r == 0)
                r = get_dur(j, "audit_interval", 1, 86400, &c->audit_interval, err, errlen);
        if (r == 0)
                r = get_dur(j, "decision_ttl", 60, 7 * 86400, &c->decision_ttl, err, errlen);
        if (r == 0)
                r = get_str(j, "host", false, false, &c->host, err, errlen);
        if (r == 0 && c->host && !fleet_name_ok(c->host))
                r = cfg_err(err, errlen, "$.host: must be a name of [A-Za-z0-9._-] (1-64, not starting with . or -)");
        it = cJSON_GetObjectItemCaseSensitive(j, "labels");
        if (r == 0 && it && (!cJSON_IsArray(it) || cJSON_GetArraySize(it) > FLEET_LABELS_MAX))
                r = cfg_err(err, errlen, "$.labels: must be an array of at most %d names", FLEET_LABELS_MAX);
        for (e = r == 0 && it ? it->child : NULL; e; e = e->next) {
                if (!cJSON_IsString(e) || !fleet_name_ok(e->valuestring)) {
                        r = cfg_err(err, errlen, "$.labels: each label is a name of [A-Za-z0-9._-] (1-64)");
                        break;
                }
                if (jit_strv_push(&c->labels, e->valuestring) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        c->timeout_ms = timeout_s * 1000;
        if (r < 0) {
                fleet_config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void fleet_config_free(struct fleet_config *c)
{
        if (!c)
                return;
        jit_strv_free(c->endpoints);
        free(c->ca_file);
        free(c->cert_file);
        free(c->key_file);
        free(c->user);
        free(c->password_file);
        free(c->prefix);
        jit_strv_free(c->labels);
        free(c->host);
        free(c);
}

/* ---- signed decisions ---------------------------------------------------- */

static int copy_name(const cJSON *o, const char *key, char *buf, size_t size)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        if (!cJSON_IsString(it) || !fleet_name_ok(it->valuestring) || strlen(it->valuestring) >= size)
                return -EBADMSG;
        memcpy(buf, it->valuestring, strlen(it->valuestring) + 1);
        return 0;
}

static int copy_u64(const cJSON *o, const char *key, uint64_t max, uint64_t *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) || it->valuedouble > (double)max ||
            it->valuedouble != (double)(uint64_t)it->valuedouble)
                return -EBADMSG;
        *ret = (uint64_t)it->valuedouble;
        return 0;
}

static int copy_hex(const cJSON *o, const char *key, char *buf, size_t n)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        if (!cJSON_IsString(it) || strlen(it->valuestring) != n ||
            strspn(it->valuestring, "0123456789abcdef") != n)
                return -EBADMSG;
        memcpy(buf, it->valuestring, n + 1);
        return 0;
}

/* cJSON prints a number with 15 digits when that comes within DBL_EPSILON
 * times it: above 2^52 (the year 2112) an integer could print as another
 * one, and the decision would not read back as signed. */
#define TIME_US_MAX (1ULL << 52)

int fleet_parse_decision(const char *text, size_t len, struct fleet_decision *ret)
{
        static const char *const keys[] = {
                "v", "host", "id", "approver", "decision", "ttl", "time_us", "nonce", "signature", "comment", NULL,
        };
        _cleanup_(fleet_jsonp) cJSON *j = NULL;
        struct fleet_decision d = { 0 };
        const cJSON *it;

        if (parse_stored(text, len, keys, &j) < 0)
                return -EBADMSG;
        if (copy_name(j, "host", d.host, sizeof(d.host)) < 0 || copy_name(j, "id", d.id, sizeof(d.id)) < 0 ||
            copy_name(j, "approver", d.approver, sizeof(d.approver)) < 0 ||
            copy_u64(j, "ttl", 366ULL * 86400, &d.ttl) < 0 || copy_u64(j, "time_us", TIME_US_MAX, &d.time_us) < 0 ||
            copy_hex(j, "nonce", d.nonce, 32) < 0 || copy_hex(j, "signature", d.signature, 128) < 0)
                return -EBADMSG;
        it = cJSON_GetObjectItemCaseSensitive(j, "decision");
        if (!cJSON_IsString(it) || (strcmp(it->valuestring, "approve") != 0 && strcmp(it->valuestring, "deny") != 0))
                return -EBADMSG;
        memcpy(d.decision, it->valuestring, strlen(it->valuestring) + 1);
        it = cJSON_GetObjectItemCaseSensitive(j, "comment");
        if (it) {
                if (!cJSON_IsString(it) || strlen(it->valuestring) > 1024)
                        return -EBADMSG;
                d.comment = strdup(it->valuestring);
                if (!d.comment)
                        return -ENOMEM;
        }
        *ret = d;
        return 0;
}

void fleet_decision_done(struct fleet_decision *d)
{
        free(d->comment);
        d->comment = NULL;
}

static cJSON *decision_json(const struct fleet_decision *d)
{
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "id", d->id) || !cJSON_AddStringToObject(o, "approver", d->approver) ||
            !cJSON_AddStringToObject(o, "decision", d->decision) ||
            !cJSON_AddNumberToObject(o, "ttl", (double)d->ttl) ||
            !cJSON_AddNumberToObject(o, "time_us", (double)d->time_us) ||
            !cJSON_AddStringToObject(o, "nonce", d->nonce) || !cJSON_AddStringToObject(o, "signature", d->signature) ||
            (d->comment && !cJSON_AddStringToObject(o, strcmp(d->decision, "deny") == 0 ? "reason" : "comment",
                                                    d->comment))) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

char *fleet_decision_to_text(const struct fleet_decision *d)
{
        _cleanup_(fleet_jsonp) cJSON *o = decision_json(d);

        if (!o || !cJSON_AddNumberToObject(o, "v", 1) || !cJSON_AddStringToObject(o, "host", d->host))
                return NULL;
        if (d->comment) {       /* stored as "comment" whatever the decision */
                cJSON_DeleteItemFromObjectCaseSensitive(o, "reason");
                if (!cJSON_GetObjectItemCaseSensitive(o, "comment") &&
                    !cJSON_AddStringToObject(o, "comment", d->comment))
                        return NULL;
        }
        return cJSON_PrintUnformatted(o);
}

cJSON *fleet_decision_to_op(const struct fleet_decision *d, const char *origin)
{
        cJSON *o = decision_json(d);

        if (o && (!cJSON_AddStringToObject(o, "op", JIT_OP_FLEET_DECIDE) ||
                  !cJSON_AddStringToObject(o, "origin", origin))) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

/* ---- requests for several hosts --------------------------------------------- */

int fleet_parse_multi(const char *text, size_t len, struct fleet_multi *ret)
{
        static const char *const keys[] = {
                "v", "id", "origin", "user", "role", "ttl", "reason", "hosts", "asked_us", NULL,
        };
        _cleanup_(fleet_jsonp) cJSON *j = NULL;
        struct fleet_multi m = { 0 };
        const cJSON *it, *h;
        int n;

        if (parse_stored(text, len, keys, &j) < 0)
                return -EBADMSG;
        if (copy_name(j, "id", m.id, sizeof(m.id)) < 0 || !jit_id_is_valid(m.id, 'm') ||
            copy_name(j, "origin", m.origin, sizeof(m.origin)) < 0 || copy_name(j, "user", m.user, sizeof(m.user)) < 0 ||
            copy_name(j, "role", m.role, sizeof(m.role)) < 0 || copy_u64(j, "ttl", 366ULL * 86400, &m.ttl) < 0 ||
            m.ttl == 0 || copy_u64(j, "asked_us", TIME_US_MAX, &m.asked_us) < 0)
                return -EBADMSG;
        it = cJSON_GetObjectItemCaseSensitive(j, "reason");
        if (it && (!cJSON_IsString(it) || strlen(it->valuestring) > 512))
                return -EBADMSG;
        h = cJSON_GetObjectItemCaseSensitive(j, "hosts");
        n = cJSON_IsArray(h) ? cJSON_GetArraySize(h) : 0;
        if (n < 1 || n > FLEET_MULTI_HOSTS_MAX)
                return -EBADMSG;
        cJSON_ArrayForEach(h, h) {
                if (!cJSON_IsString(h) || !fleet_name_ok(h->valuestring) ||
                    (m.hosts && strcmp(m.hosts[m.n_hosts - 1], h->valuestring) >= 0)) {
                        fleet_multi_done(&m);
                        return -EBADMSG;        /* sorted, each once: as signed */
                }
                if (jit_strv_push(&m.hosts, h->valuestring) < 0) {
                        fleet_multi_done(&m);
                        return -ENOMEM;
                }
                m.n_hosts++;
        }
        if (it && !(m.reason = strdup(it->valuestring))) {
                fleet_multi_done(&m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

void fleet_multi_done(struct fleet_multi *m)
{
        jit_strv_free(m->hosts);
        free(m->reason);
        m->hosts = NULL;
        m->reason = NULL;
        m->n_hosts = 0;
}

cJSON *fleet_multi_to_json(const struct fleet_multi *m)
{
        cJSON *o = cJSON_CreateObject(), *h;

        if (!o || !cJSON_AddNumberToObject(o, "v", 1) || !cJSON_AddStringToObject(o, "id", m->id) ||
            !cJSON_AddStringToObject(o, "origin", m->origin) || !cJSON_AddStringToObject(o, "user", m->user) ||
            !cJSON_AddStringToObject(o, "role", m->role) || !cJSON_AddNumberToObject(o, "ttl", (double)m->ttl) ||
            (m->reason && !cJSON_AddStringToObject(o, "reason", m->reason)) ||
            !cJSON_AddNumberToObject(o, "asked_us", (double)m->asked_us) || !(h = cJSON_AddArrayToObject(o, "hosts"))) {
                cJSON_Delete(o);
                return NULL;
        }
        for (size_t i = 0; i < m->n_hosts; i++)
                if (!cJSON_AddItemToArray(h, cJSON_CreateString(m->hosts[i]))) {
                        cJSON_Delete(o);
                        return NULL;
                }
        return o;
}

/* ---- keys ------------------------------------------------------------------ */

int fleet_split_key(const char *key, const char *prefix, char parts[][FLEET_NAME_MAX + 1], int max)
{
        size_t pl = strlen(prefix);
        const char *p;
        int n = 0;

        if (strncmp(key, prefix, pl) != 0 || strncmp(key + pl, "/hosts/", 7) != 0)
                return -EINVAL;
        p = key + pl + 7;
        for (;;) {      /* every component a name: none empty, not even after a last '/' */
                size_t len = strcspn(p, "/");

                if (len == 0 || len > FLEET_NAME_MAX)
                        return -EINVAL;
                if (n == max)
                        return -E2BIG;
                memcpy(parts[n], p, len);
                parts[n][len] = '\0';
                if (!fleet_name_ok(parts[n]))
                        return -EINVAL;
                n++;
                p += len;
                if (*p == '\0')
                        return n;
                p++;
        }
}
