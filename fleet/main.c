/* jit-fleet — this host's link to the fleet's approval queue (etcd).
 *
 *   jit-fleet [--config FILE] [--socket PATH] [--fleet-socket PATH]
 *
 * The loop:
 *  - the service: op fleet-sync, long-polled, gives this host's pending
 *    requests whenever they change; they are published below
 *    PREFIX/hosts/HOST/requests/ with a lease of their pending TTL and
 *    deleted once decided; the audit head is published every
 *    audit_interval (PREFIX/hosts/HOST/audit/head and, written once,
 *    PREFIX/heads/HOST/SEQ, outside the watched range);
 *  - the store: one watch over PREFIX/hosts/ keeps a mirror of the whole
 *    queue; a decision for this host (hosts/ORIGIN/decisions/HOST/ID/WHO)
 *    goes to the service (op fleet-decide), which checks it as a local one,
 *    and what became of it is written to hosts/HOST/results/ORIGIN/ID/WHO
 *    (so it is handled once, across restarts, and its approver hears);
 *  - the local socket (jitctl --fleet): list the mirror, write a signed
 *    decision below hosts/HOST/decisions/ as the approver the kernel names.
 * The store unreachable: everything local goes on (the service decides
 * alone, as the policy says); the agent retries every second and, back,
 * reads the whole queue again and republishes.
 */
#include "jit-fleet.h"
#include "cleanup.h"
#include "proto.h"
#include "safeio.h"
#include "record.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "safeio.h"

#define SYNC_WAIT_MS 30000
#define SERVICE_TIMEOUT_MS 10000
#define RETRY_US (1ULL * 1000000)
#define HEALTH_US (2ULL * 1000000)
#define CLIENT_TIMEOUT_MS 2000

struct pub {
        char id[FLEET_NAME_MAX + 1];
        char *text;                     /* what was put */
};

struct todo {
        bool open;                      /* a request for several hosts to open here, not a decision */
        char origin[FLEET_NAME_MAX + 1], id[FLEET_NAME_MAX + 1], approver[FLEET_NAME_MAX + 1];
        char *value;
        int64_t rev;
        struct todo *next;
};

struct agent {
        const char *config_path, *socket_path, *fleet_socket_path;
        bool approver;                  /* an approver's machine: no service, nothing published */
        struct fleet_config *cfg;
        struct etcd etcd;
        CURLM *multi;
        struct etcd_watch watch;
        char host[256];
        char hosts_prefix[128];         /* PREFIX/hosts/ */
        /* the store, as last read */
        struct etcd_kv *mirror;
        size_t n_mirror;
        bool store_ok;
        char store_err[256];
        uint64_t next_store_try_us, next_health_us, next_audit_us;
        struct todo *todo;
        uint64_t next_todo_us;          /* monotonic: the service did not answer, not before */
        /* the service */
        int svc_fd;
        uint64_t svc_gen;
        uint64_t next_svc_try_us;
        cJSON *snapshot;                /* its last fleet-sync answer */
        size_t left_out;                /* pending requests it could not carry */
        bool publish_dirty;
        struct pub *pubs;
        size_t n_pubs;
        uint64_t audit_seq_published;
        int64_t lease;                  /* shared by decisions and results written */
        uint64_t lease_until_us;        /* monotonic: use no longer than this */
        int lfd;
};

static volatile sig_atomic_t stop;

void fleet_say(const char *fmt, ...)
{
        va_list ap;

        fputs("jit-fleet: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static uint64_t mono_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t real_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- the mirror of PREFIX/hosts/ ---------------------------------------- */

static struct etcd_kv *mirror_find(struct agent *a, const char *key)
{
        for (size_t i = 0; i < a->n_mirror; i++)
                if (strcmp(a->mirror[i].key, key) == 0)
                        return &a->mirror[i];
        return NULL;
}

static void mirror_set(struct agent *a, const char *type, const struct etcd_kv *kv)
{
        struct etcd_kv *m = mirror_find(a, kv->key), *n;

        if (strcmp(type, "DELETE") == 0) {
                if (m) {
                        free(m->key);
                        free(m->value);
                        *m = a->mirror[--a->n_mirror];
                }
                return;
        }
        if (m) {
                char *v = strdup(kv->value);

                if (v) {
                        free(m->value);
                        m->value = v;
                        m->mod_revision = kv->mod_revision;
                }
                return;
        }
        n = realloc(a->mirror, (a->n_mirror + 1) * sizeof(*n));
        if (!n)
                return;
        a->mirror = n;
        n[a->n_mirror] = (struct etcd_kv){ .key = strdup(kv->key), .value = strdup(kv->value),
                                           .mod_revision = kv->mod_revision };
        if (n[a->n_mirror].key && n[a->n_mirror].value)
                a->n_mirror++;
        else {
                free(n[a->n_mirror].key);
                free(n[a->n_mirror].value);
        }
}

/* A decision for this host, or a request for several hosts naming it, to
 * hand over after the transfer callbacks. */
static void consider(struct agent *a, const struct etcd_kv *kv)
{
        char parts[5][FLEET_NAME_MAX + 1];
        struct fleet_multi m = { 0 };
        struct todo *t;
        int n = fleet_split_key(kv->key, a->cfg->prefix, parts, 5);
        bool open = n == 3 && strcmp(parts[1], "multi") == 0;

        if (a->approver)
                return;         /* no requests here: nothing to decide or open */
        if (open) {
                /* ours to open only when it names this host, as its key says */
                if (fleet_parse_multi(kv->value, strlen(kv->value), &m) < 0)
                        return;
                open = strcmp(m.origin, parts[0]) == 0 && strcmp(m.id, parts[2]) == 0 &&
                       jit_strv_contains(m.hosts, a->host);
                fleet_multi_done(&m);
                if (!open)
                        return;
        } else if (n != 5 || strcmp(parts[1], "decisions") != 0 || strcmp(parts[2], a->host) != 0)
                return;
        t = calloc(1, sizeof(*t));
        if (!t || !(t->value = strdup(kv->value))) {
                free(t);
                return;
        }
        t->open = open;
        memcpy(t->origin, parts[0], sizeof(t->origin));
        memcpy(t->id, parts[open ? 2 : 3], sizeof(t->id));
        if (!open)
                memcpy(t->approver, parts[4], sizeof(t->approver));
        t->rev = kv->mod_revision;
        t->next = a->todo;
        a->todo = t;
}

static void on_event(void *userdata, const char *type, const struct etcd_kv *kv)
{
        struct agent *a = userdata;

        mirror_set(a, type, kv);
        if (strcmp(type, "PUT") == 0)
                consider(a, kv);
}

/* ---- the service -------------------------------------------------------- */

static int service_call(struct agent *a, const cJSON *msg, cJSON **ret)
{
        _cleanup_close_ int fd = jit_proto_connect(a->socket_path);
        int r;

        if (fd < 0)
                return fd;
        r = jit_proto_send(fd, msg, SERVICE_TIMEOUT_MS);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_ANSWER, SERVICE_TIMEOUT_MS, ret);
        return r;
}

static int service_sync_send(struct agent *a, bool now)
{
        _cleanup_(fleet_jsonp) cJSON *m = cJSON_CreateObject();

        if (!m || !cJSON_AddStringToObject(m, "op", JIT_OP_FLEET_SYNC) ||
            !cJSON_AddNumberToObject(m, "after", now ? -1 : (double)a->svc_gen) ||
            !cJSON_AddNumberToObject(m, "timeout_ms", SYNC_WAIT_MS))
                return -ENOMEM;
        return jit_proto_send(a->svc_fd, m, SERVICE_TIMEOUT_MS);
}

static void service_connect(struct agent *a)
{
        a->svc_fd = jit_proto_connect(a->socket_path);
        if (a->svc_fd < 0 || service_sync_send(a, true) < 0) {
                if (a->svc_fd >= 0)
                        close(a->svc_fd);
                a->svc_fd = -1;
                a->next_svc_try_us = mono_us() + RETRY_US;
        }
}

static void service_read(struct agent *a)
{
        cJSON *ans = NULL;
        const cJSON *gen, *left;
        size_t n_left;
        int r = jit_proto_recv(a->svc_fd, JIT_PROTO_MAX_ANSWER, SERVICE_TIMEOUT_MS, &ans);

        if (r < 0 || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))) {
                if (r != -ECONNRESET)
                        fleet_say("the service's answer to fleet-sync: %s", r < 0 ? strerror(-r) : "refused");
                cJSON_Delete(ans);
                close(a->svc_fd);
                a->svc_fd = -1;
                a->next_svc_try_us = mono_us() + RETRY_US;
                return;
        }
        gen = cJSON_GetObjectItemCaseSensitive(ans, "gen");
        a->svc_gen = cJSON_IsNumber(gen) ? (uint64_t)gen->valuedouble : 0;
        left = cJSON_GetObjectItemCaseSensitive(ans, "left_out");
        n_left = cJSON_IsNumber(left) && left->valuedouble >= 1 && left->valuedouble < 1e9 ? (size_t)left->valuedouble : 0;
        if (n_left && !a->left_out)
                fleet_say("%zu pending requests are not published (the service's answer would be too large): "
                          "they are published as older ones are decided or lapse", n_left);
        a->left_out = n_left;
        cJSON_Delete(a->snapshot);
        a->snapshot = ans;
        a->publish_dirty = true;
        if (service_sync_send(a, false) < 0) {
                close(a->svc_fd);
                a->svc_fd = -1;
                a->next_svc_try_us = mono_us() + RETRY_US;
        }
}

/* ---- publishing ------------------------------------------------------------ */

static void key_of(char *buf, size_t size, struct agent *a, const char *what, const char *rest)
{
        snprintf(buf, size, "%s%s/%s%s%s", a->hosts_prefix, a->host, what, rest ? "/" : "", rest ? rest : "");
}

static void store_lost(struct agent *a, const char *why)
{
        if (a->store_ok || strcmp(a->store_err, why) != 0)
                fleet_say("the fleet store is unreachable (%s): local decisions only until it is back", why);
        if (a->store_err != why)
                snprintf(a->store_err, sizeof(a->store_err), "%s", why);
        a->store_ok = false;
        a->lease = 0;
        etcd_watch_stop(a->multi, &a->watch);
        a->next_store_try_us = mono_us() + RETRY_US;
}

static struct pub *pub_find(struct agent *a, const char *id)
{
        for (size_t i = 0; i < a->n_pubs; i++)
                if (strcmp(a->pubs[i].id, id) == 0)
                        return &a->pubs[i];
        return NULL;
}

static void publish(struct agent *a)
{
        const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(a->snapshot, "requests"), *r;
        uint64_t now = real_us();
        char key[512];

        /* what is pending: put (new or changed), each with its own lease */
        cJSON_ArrayForEach(r, reqs) {
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
                const cJSON *dl = cJSON_GetObjectItemCaseSensitive(r, "deadline_us");
                _cleanup_free_ char *text = NULL;
                struct pub *p, *np;
                int64_t lease = 0, ttl;

                if (!cJSON_IsString(id) || !fleet_name_ok(id->valuestring))
                        continue;
                cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)r, "host");
                cJSON_AddStringToObject((cJSON *)r, "host", a->host);
                text = cJSON_PrintUnformatted(r);
                p = pub_find(a, id->valuestring);
                if (!text || (p && strcmp(p->text, text) == 0))
                        continue;
                ttl = cJSON_IsNumber(dl) && dl->valuedouble > (double)now ? (int64_t)((dl->valuedouble - (double)now) / 1e6) + 1
                                                                           : 900;
                key_of(key, sizeof(key), a, "requests", id->valuestring);
                if (etcd_lease(&a->etcd, ttl < 5 ? 5 : ttl, &lease) < 0 || etcd_put(&a->etcd, key, text, lease) < 0) {
                        store_lost(a, a->etcd.err);
                        return;
                }
                if (!p) {
                        np = realloc(a->pubs, (a->n_pubs + 1) * sizeof(*np));
                        if (!np)
                                return;
                        a->pubs = np;
                        p = &a->pubs[a->n_pubs++];
                        snprintf(p->id, sizeof(p->id), "%s", id->valuestring);
                } else
                        free(p->text);
                p->text = TAKE_PTR(text);
        }
        /* what is no longer pending (or was ours before a restart): deleted */
        for (size_t i = 0; i < a->n_mirror; i++) {
                char parts[3][FLEET_NAME_MAX + 1];
                bool pending = false;

                if (fleet_split_key(a->mirror[i].key, a->cfg->prefix, parts, 3) != 3 ||
                    strcmp(parts[0], a->host) != 0 || strcmp(parts[1], "requests") != 0)
                        continue;
                cJSON_ArrayForEach(r, reqs) {
                        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

                        pending |= cJSON_IsString(id) && strcmp(id->valuestring, parts[2]) == 0;
                }
                if (pending)
                        continue;
                if (etcd_delete(&a->etcd, a->mirror[i].key, false) < 0) {
                        store_lost(a, a->etcd.err);
                        return;
                }
        }
        for (size_t i = 0; i < a->n_pubs;) {
                bool pending = false;

                cJSON_ArrayForEach(r, reqs) {
                        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");

                        pending |= cJSON_IsString(id) && strcmp(id->valuestring, a->pubs[i].id) == 0;
                }
                if (pending) {
                        i++;
                        continue;
                }
                free(a->pubs[i].text);
                a->pubs[i] = a->pubs[--a->n_pubs];
        }
        a->publish_dirty = false;
}

static void publish_audit(struct agent *a)
{
        const cJSON *au = cJSON_GetObjectItemCaseSensitive(a->snapshot, "audit");
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(au, "seq"), *hash = cJSON_GetObjectItemCaseSensitive(au, "hash");
        _cleanup_(fleet_jsonp) cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL;
        char key[512];

        a->next_audit_us = mono_us() + a->cfg->audit_interval * 1000000ULL;
        if (!cJSON_IsNumber(seq) || !cJSON_IsString(hash) || !o || !cJSON_AddStringToObject(o, "host", a->host) ||
            !cJSON_AddNumberToObject(o, "seq", seq->valuedouble) || !cJSON_AddStringToObject(o, "hash", hash->valuestring) ||
            !cJSON_AddNumberToObject(o, "time_us", (double)real_us()) || !(text = cJSON_PrintUnformatted(o)))
                return;
        key_of(key, sizeof(key), a, "audit", "head");
        if (etcd_put(&a->etcd, key, text, 0) < 0) {
                store_lost(a, a->etcd.err);
                return;
        }
        if ((uint64_t)seq->valuedouble == a->audit_seq_published)
                return;
        snprintf(key, sizeof(key), "%s/heads/%s/%020" PRIu64, a->cfg->prefix, a->host, (uint64_t)seq->valuedouble);
        if (etcd_create(&a->etcd, key, text) < 0) {
                store_lost(a, a->etcd.err);
                return;
        }
        a->audit_seq_published = (uint64_t)seq->valuedouble;
}

/* Decisions and results live decision_ttl at most, decision_ttl / 2 at
 * least: one lease for all written in that while (one store write each,
 * not two). */
static int shared_lease(struct agent *a, int64_t *ret)
{
        uint64_t now = mono_us();
        int r;

        if (!a->lease || now >= a->lease_until_us) {
                r = etcd_lease(&a->etcd, (int64_t)a->cfg->decision_ttl, &a->lease);
                if (r < 0) {
                        a->lease = 0;
                        return r;
                }
                a->lease_until_us = now + a->cfg->decision_ttl * 1000000ULL / 2;
        }
        *ret = a->lease;
        return 0;
}

/* What this host wrote at key (a result, an opened request) names the
 * revision rev: that store value was handled. */
static bool handled_already(struct agent *a, const char *key, int64_t rev)
{
        const struct etcd_kv *done = mirror_find(a, key);
        _cleanup_(fleet_jsonp) cJSON *j = done ? cJSON_Parse(done->value) : NULL;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "rev");

        return cJSON_IsNumber(r) && r->valuedouble == (double)rev;
}

/* ---- decisions from the store ---------------------------------------------- */

static int handle(struct agent *a, struct todo *t)
{
        _cleanup_(fleet_jsonp) cJSON *op = NULL, *ans = NULL, *res = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL;
        struct fleet_decision d = { 0 };
        char key[512], rest[3 * (FLEET_NAME_MAX + 1) + 8];
        const char *outcome, *err;
        int64_t lease = 0;
        int r;

        snprintf(rest, sizeof(rest), "%s/%s/%s", t->origin, t->id, t->approver);
        key_of(key, sizeof(key), a, "results", rest);
        if (handled_already(a, key, t->rev))
                return 0;       /* before a restart, perhaps */
        if (fleet_parse_decision(t->value, strlen(t->value), &d) < 0) {
                /* malformed: the service records the refusal all the same */
                op = cJSON_CreateObject();
                if (op) {
                        cJSON_AddStringToObject(op, "op", JIT_OP_FLEET_DECIDE);
                        cJSON_AddStringToObject(op, "origin", t->origin);
                        cJSON_AddStringToObject(op, "id", t->id);
                        cJSON_AddStringToObject(op, "approver", t->approver);
                        cJSON_AddStringToObject(op, "decision", "malformed");
                }
        } else
                op = fleet_decision_to_op(&d, t->origin);
        fleet_decision_done(&d);
        if (!op)
                return -ENOMEM;
        r = service_call(a, op, &ans);
        if (r < 0) {
                fleet_say("cannot hand the decision on %s by %s from %s to the service: %s (trying again)", t->id,
                          t->approver, t->origin, strerror(-r));
                return -EAGAIN;
        }
        err = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "error"))
              ? cJSON_GetObjectItemCaseSensitive(ans, "error")->valuestring : NULL;
        outcome = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))
                  ? (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "decision")) &&
                     strcmp(cJSON_GetObjectItemCaseSensitive(ans, "decision")->valuestring, "pending") == 0
                     ? "recorded" : "applied")
                  : "refused";
        fleet_say("decision on %s by %s from %s: %s%s%s", t->id, t->approver, t->origin, outcome, err ? ": " : "",
                  err ? err : "");
        if (!res || !cJSON_AddNumberToObject(res, "rev", (double)t->rev) ||
            !cJSON_AddStringToObject(res, "outcome", outcome) || !cJSON_AddStringToObject(res, "host", a->host) ||
            !cJSON_AddStringToObject(res, "id", t->id) || !cJSON_AddStringToObject(res, "approver", t->approver) ||
            !cJSON_AddNumberToObject(res, "time_us", (double)real_us()) ||
            (err && !cJSON_AddStringToObject(res, "error", err)) || !(text = cJSON_PrintUnformatted(res)))
                return -ENOMEM;
        if (shared_lease(a, &lease) < 0 || etcd_put(&a->etcd, key, text, lease) < 0)
                store_lost(a, a->etcd.err);
        return 0;
}

/* A request asked on another host for several, this one among them: the
 * service opens this host's part (op fleet-open, judged by this host's
 * policy), and what it said is written to hosts/HOST/opened/ORIGIN/MID
 * for the asker to read (and so that it is asked once, across restarts). */
static int handle_open(struct agent *a, struct todo *t)
{
        _cleanup_(fleet_jsonp) cJSON *op = NULL, *ans = NULL, *res = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL;
        struct fleet_multi m = { 0 };
        char key[512], rest[2 * (FLEET_NAME_MAX + 1) + 8];
        const char *outcome, *err, *id, *dec;
        int64_t lease = 0;
        int r;

        snprintf(rest, sizeof(rest), "%s/%s", t->origin, t->id);
        key_of(key, sizeof(key), a, "opened", rest);
        if (handled_already(a, key, t->rev))
                return 0;
        if (fleet_parse_multi(t->value, strlen(t->value), &m) < 0)
                return 0;       /* consider() parsed it: cannot happen */
        op = fleet_multi_to_json(&m);
        fleet_multi_done(&m);
        if (!op || !cJSON_AddStringToObject(op, "op", JIT_OP_FLEET_OPEN))
                return -ENOMEM;
        cJSON_DeleteItemFromObjectCaseSensitive(op, "v");
        r = service_call(a, op, &ans);
        if (r < 0) {
                fleet_say("cannot hand request %s from %s to the service: %s (trying again)", t->id, t->origin,
                          strerror(-r));
                return -EAGAIN;
        }
        err = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "error"))
              ? cJSON_GetObjectItemCaseSensitive(ans, "error")->valuestring
              : cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "message"))
              ? cJSON_GetObjectItemCaseSensitive(ans, "message")->valuestring : NULL;
        dec = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "decision"))
              ? cJSON_GetObjectItemCaseSensitive(ans, "decision")->valuestring : NULL;
        id = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "request_id"))
             ? cJSON_GetObjectItemCaseSensitive(ans, "request_id")->valuestring : NULL;
        outcome = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok")) || !dec || strcmp(dec, "deny") == 0
                  ? "refused" : dec;
        fleet_say("request %s from %s for several hosts: %s%s%s", t->id, t->origin, outcome,
                  strcmp(outcome, "refused") == 0 && err ? ": " : "", strcmp(outcome, "refused") == 0 && err ? err : "");
        if (!res || !cJSON_AddNumberToObject(res, "rev", (double)t->rev) ||
            !cJSON_AddStringToObject(res, "outcome", outcome) || !cJSON_AddStringToObject(res, "host", a->host) ||
            !cJSON_AddStringToObject(res, "fleet_id", t->id) ||
            !cJSON_AddStringToObject(res, "user", m.user) ||
            (id && !cJSON_AddStringToObject(res, "id", id)) ||
            (strcmp(outcome, "refused") == 0 && err && !cJSON_AddStringToObject(res, "error", err)) ||
            !cJSON_AddNumberToObject(res, "time_us", (double)real_us()) || !(text = cJSON_PrintUnformatted(res)))
                return -ENOMEM;
        if (shared_lease(a, &lease) < 0 || etcd_put(&a->etcd, key, text, lease) < 0)
                store_lost(a, a->etcd.err);
        return 0;
}

/* Requests to open first, then decisions: read together (the store back
 * after a partition), a decision finds the request it is on. */
static void handle_todo(struct agent *a)
{
        if (mono_us() < a->next_todo_us)
                return;
        for (int pass = 0; pass < 2; pass++) {
                for (struct todo **p = &a->todo; *p;) {
                        struct todo *t = *p;

                        if (t->open != (pass == 0)) {
                                p = &t->next;
                                continue;
                        }
                        if (a->store_ok && (t->open ? handle_open(a, t) : handle(a, t)) == -EAGAIN) {
                                a->next_todo_us = mono_us() + RETRY_US;        /* the service is restarting */
                                return;
                        }
                        *p = t->next;
                        free(t->value);
                        free(t);
                }
        }
}

/* This host is in the fleet, with these labels: what jitctl request
 * --hosts resolves a pattern or label:NAME against. */
static void publish_info(struct agent *a)
{
        _cleanup_(fleet_jsonp) cJSON *o = NULL;
        _cleanup_free_ char *text = NULL;
        cJSON *l;
        char key[512];

        if (a->approver)
                return;         /* not a host requests can name */
        o = cJSON_CreateObject();
        l = o ? cJSON_AddArrayToObject(o, "labels") : NULL;

        for (size_t i = 0; l && a->cfg->labels && a->cfg->labels[i]; i++)
                cJSON_AddItemToArray(l, cJSON_CreateString(a->cfg->labels[i]));
        if (!l || !cJSON_AddStringToObject(o, "host", a->host) || !(text = cJSON_PrintUnformatted(o)))
                return;
        key_of(key, sizeof(key), a, "info", NULL);
        if (etcd_put(&a->etcd, key, text, 0) < 0)
                store_lost(a, a->etcd.err);
}

/* ---- the store ----------------------------------------------------------- */

static void store_connect(struct agent *a)
{
        struct etcd_kv *kvs = NULL;
        size_t n = 0;
        int64_t rev = 0;

        if (etcd_range(&a->etcd, a->hosts_prefix, &kvs, &n, &rev) < 0 || rev < 0 || rev == INT64_MAX) {
                store_lost(a, a->etcd.err);
                a->store_ok = false;
                return;
        }
        etcd_kvs_free(a->mirror, a->n_mirror);
        a->mirror = NULL;
        a->n_mirror = 0;
        for (size_t i = 0; i < n; i++)
                mirror_set(a, "PUT", &kvs[i]);
        if (etcd_watch_start(&a->etcd, a->multi, &a->watch, a->hosts_prefix, rev + 1) < 0) {
                etcd_kvs_free(kvs, n);
                store_lost(a, "cannot start the watch");
                return;
        }
        if (!a->store_ok)
                fleet_say("the fleet store answers (%s, revision %" PRId64 ", %zu keys)",
                          a->cfg->endpoints[a->etcd.cur], rev, n);
        a->store_ok = true;
        a->store_err[0] = '\0';
        a->next_health_us = mono_us() + HEALTH_US;
        /* what was published may be gone (leases, a partition): all again */
        for (size_t i = 0; i < a->n_pubs; i++)
                free(a->pubs[i].text);
        a->n_pubs = 0;
        a->publish_dirty = true;
        a->audit_seq_published = 0;
        for (size_t i = 0; i < n; i++)
                consider(a, &kvs[i]);
        etcd_kvs_free(kvs, n);
        publish_info(a);
}

/* The watch stream says nothing when the link is cut: ask the member. */
static void store_health(struct agent *a)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject(), *ans = NULL;
        size_t cur = a->etcd.cur;

        a->next_health_us = mono_us() + HEALTH_US;
        if (!b)
                return;
        if (etcd_call(&a->etcd, "maintenance/status", b, &ans) < 0)
                store_lost(a, a->etcd.err);
        else if (a->etcd.cur != cur || !a->watch.easy) {
                /* moved to another member: read and watch again there */
                etcd_watch_stop(a->multi, &a->watch);
                store_connect(a);
        }
}

/* ---- the local socket (jitctl --fleet) --------------------------------------- */

static bool user_may_see(const char *user, gid_t *gids, int ngids, const cJSON *req)
{
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(req, "approvers"), *e;
        const cJSON *who = cJSON_GetObjectItemCaseSensitive(req, "user");

        if (cJSON_IsString(who) && strcmp(who->valuestring, user) == 0)
                return true;
        cJSON_ArrayForEach(e, ap) {
                struct group *gr;

                if (!cJSON_IsString(e))
                        continue;
                if (e->valuestring[0] != '%') {
                        if (strcmp(e->valuestring, user) == 0)
                                return true;
                        continue;
                }
                gr = getgrnam(e->valuestring + 1);
                for (int i = 0; gr && i < ngids; i++)
                        if (gids[i] == gr->gr_gid)
                                return true;
        }
        return false;
}

static cJSON *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *fail(const char *fmt, ...)
{
        cJSON *a = cJSON_CreateObject();
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (a) {
                cJSON_AddBoolToObject(a, "ok", false);
                cJSON_AddStringToObject(a, "error", msg);
        }
        return a;
}

/* What op list is asked for: kinds ("requests", "results", "opened",
 * "heads"; all when none is named), requests on one host, of one role or
 * user, and ids (a request's id or fleet id; results and opened by theirs). */
struct list_query {
        bool kind[4];
        const char *host, *role, *user;
        const cJSON *ids;
};
enum { LIST_REQUESTS, LIST_RESULTS, LIST_OPENED, LIST_HEADS };
static const char *const list_kinds[] = { "requests", "results", "opened", "heads" };

#define LIST_IDS_MAX 256
/* One answer must fit one frame (JIT_PROTO_MAX_ANSWER): requests up to
 * 3 MiB, each other kind up to 256 KiB (one kind asked alone: 3.5 MiB);
 * what is past that is counted (left_out, by kind), and jitctl says to
 * narrow the question. */
static const size_t list_bytes_max[] = { 3 * 1024 * 1024, 256 * 1024, 256 * 1024, 256 * 1024 };
#define LIST_ONE_KIND_MAX (3 * 1024 * 1024 + 512 * 1024)  /* asked for one kind: all of it for that */

static const char *list_str(const cJSON *req, const char *k, int *bad)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, k);

        if (!v)
                return NULL;
        if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > FLEET_NAME_MAX)
                *bad = 1;
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int list_query_parse(const cJSON *req, struct list_query *q)
{
        const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(req, "kinds"), *k;
        int bad = 0;

        *q = (struct list_query){ .ids = cJSON_GetObjectItemCaseSensitive(req, "ids") };
        q->host = list_str(req, "host", &bad);
        q->role = list_str(req, "role", &bad);
        q->user = list_str(req, "user", &bad);
        if (kinds && (!cJSON_IsArray(kinds) || cJSON_GetArraySize(kinds) > 4))
                return -EINVAL;
        cJSON_ArrayForEach(k, kinds) {
                size_t i = 0;

                while (i < 4 && !(cJSON_IsString(k) && strcmp(k->valuestring, list_kinds[i]) == 0))
                        i++;
                if (i == 4)
                        return -EINVAL;
                q->kind[i] = true;
        }
        if (!kinds || !cJSON_GetArraySize(kinds))
                q->kind[0] = q->kind[1] = q->kind[2] = q->kind[3] = true;
        if (q->ids && (!cJSON_IsArray(q->ids) || cJSON_GetArraySize(q->ids) > LIST_IDS_MAX))
                return -EINVAL;
        cJSON_ArrayForEach(k, q->ids)
                if (!cJSON_IsString(k) || !fleet_name_ok(k->valuestring))
                        return -EINVAL;
        return bad ? -EINVAL : 0;
}

static bool list_wants_id(const struct list_query *q, const cJSON *v, const char *k1, const char *k2)
{
        const cJSON *id;
        const char *a = k1 && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, k1))
                        ? cJSON_GetObjectItemCaseSensitive(v, k1)->valuestring : NULL;
        const char *b = k2 && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, k2))
                        ? cJSON_GetObjectItemCaseSensitive(v, k2)->valuestring : NULL;

        if (!q->ids)
                return true;
        cJSON_ArrayForEach(id, q->ids)
                if ((a && strcmp(a, id->valuestring) == 0) || (b && strcmp(b, id->valuestring) == 0))
                        return true;
        return false;
}

static bool list_field_is(const cJSON *v, const char *k, const char *want)
{
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, k);

        return !want || (cJSON_IsString(f) && strcmp(f->valuestring, want) == 0);
}

static cJSON *op_list(struct agent *a, uid_t uid, const cJSON *req)
{
        cJSON *ans, *arr[4], *left;
        struct passwd *pw = getpwuid(uid);
        struct list_query q;
        struct jit_proto_budget b[4];
        gid_t gids[256];
        int ngids = 256;

        if (list_query_parse(req, &q) < 0)
                return fail("a malformed list question (a name over %d characters, an unknown kind, or more than "
                            "%d ids)", FLEET_NAME_MAX, LIST_IDS_MAX);
        ans = cJSON_CreateObject();
        if (!ans)
                return NULL;
        if (!pw)
                return ans;
        if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &ngids) < 0)
                ngids = 0;
        cJSON_AddBoolToObject(ans, "ok", true);
        cJSON_AddStringToObject(ans, "host", a->host);
        cJSON_AddStringToObject(ans, "store", a->store_ok ? "ok" : a->store_err[0] ? a->store_err : "not read yet");
        for (size_t k = 0; k < 4; k++) {
                arr[k] = cJSON_AddArrayToObject(ans, list_kinds[k]);
                b[k] = (struct jit_proto_budget){
                        .max_bytes = q.kind[0] + q.kind[1] + q.kind[2] + q.kind[3] == 1 ? LIST_ONE_KIND_MAX : list_bytes_max[k] };
        }
        for (size_t i = 0; arr[0] && arr[1] && arr[2] && arr[3] && i < a->n_mirror; i++) {
                char parts[5][FLEET_NAME_MAX + 1];
                int n = fleet_split_key(a->mirror[i].key, a->cfg->prefix, parts, 5), kind = -1;
                cJSON *v;

                if (n < 2 || (jit_proto_parse_strict(a->mirror[i].value, strlen(a->mirror[i].value), &v) < 0))
                        continue;
                if (n == 3 && strcmp(parts[1], "requests") == 0 &&
                    (uid == 0 || user_may_see(pw->pw_name, gids, ngids, v))) {
                        cJSON_DeleteItemFromObjectCaseSensitive(v, "host");
                        cJSON_AddStringToObject(v, "host", parts[0]);
                        if ((!q.host || strcmp(q.host, parts[0]) == 0) && list_field_is(v, "role", q.role) &&
                            list_field_is(v, "user", q.user) && list_wants_id(&q, v, "id", "fleet_id"))
                                kind = LIST_REQUESTS;
                } else if (n == 5 && strcmp(parts[1], "results") == 0 &&
                           (uid == 0 || strcmp(parts[4], pw->pw_name) == 0)) {
                        /* what became of a decision: its approver's (and root's) to see */
                        cJSON_AddStringToObject(v, "origin", parts[2]);
                        if (list_wants_id(&q, v, "id", NULL))
                                kind = LIST_RESULTS;
                } else if (n == 4 && strcmp(parts[1], "opened") == 0 &&
                           (uid == 0 || (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "user")) &&
                                         strcmp(cJSON_GetObjectItemCaseSensitive(v, "user")->valuestring,
                                                pw->pw_name) == 0))) {
                        /* what a host did with a request for several: the asker's (and root's) */
                        cJSON_AddStringToObject(v, "origin", parts[2]);
                        if (list_wants_id(&q, v, "fleet_id", NULL))
                                kind = LIST_OPENED;
                } else if (n == 3 && strcmp(parts[1], "audit") == 0 && strcmp(parts[2], "head") == 0)
                        kind = LIST_HEADS;
                if (kind < 0 || !q.kind[kind])
                        cJSON_Delete(v);
                else
                        jit_proto_budget_add(&b[kind], arr[kind], v, false);
        }
        if ((b[0].left_out || b[1].left_out || b[2].left_out || b[3].left_out) &&
            (left = cJSON_AddObjectToObject(ans, "left_out")))
                for (size_t k = 0; k < 4; k++)
                        if (b[k].left_out)
                                cJSON_AddNumberToObject(left, list_kinds[k], (double)b[k].left_out);
        return ans;
}

/* Write signed decisions for other hosts' requests, as the approver the
 * kernel names (each signature is checked where it lands): "decision",
 * one, or "decisions", up to ETCD_TXN_OPS_MAX (one signature's copies for
 * the hosts of a request for several), in one transaction. */
static cJSON *op_decide(struct agent *a, uid_t uid, const cJSON *req)
{
        const cJSON *one = cJSON_GetObjectItemCaseSensitive(req, "decision");
        const cJSON *many = cJSON_GetObjectItemCaseSensitive(req, "decisions"), *dj;
        _cleanup_strv_free_ char **keys = NULL, **texts = NULL;
        struct passwd *pw = getpwuid(uid);
        cJSON *ans, *list;
        size_t n = 0;
        int64_t lease = 0;
        int r;

        if (one ? many || !cJSON_IsObject(one)
                : !cJSON_IsArray(many) || cJSON_GetArraySize(many) < 1 || cJSON_GetArraySize(many) > ETCD_TXN_OPS_MAX)
                return fail("not a well-formed signed decision (\"decision\", or 1 to %d \"decisions\")",
                            ETCD_TXN_OPS_MAX);
        for (dj = one ? one : many->child; dj; dj = one ? NULL : dj->next) {
                _cleanup_free_ char *in = cJSON_IsObject(dj) ? cJSON_PrintUnformatted(dj) : NULL, *text = NULL;
                struct fleet_decision d = { 0 };
                char key[512], rest[3 * (FLEET_NAME_MAX + 1) + 16];

                if (!in || fleet_parse_decision(in, strlen(in), &d) < 0)
                        return fail("not a well-formed signed decision");
                if (!pw || strcmp(pw->pw_name, d.approver) != 0) {
                        cJSON *f = fail("a decision is written by its approver (%s) alone", d.approver);

                        fleet_decision_done(&d);
                        return f;
                }
                text = fleet_decision_to_text(&d);
                snprintf(rest, sizeof(rest), "%s/%s/%s", d.host, d.id, d.approver);
                key_of(key, sizeof(key), a, "decisions", rest);
                fleet_decision_done(&d);
                if (!text || jit_strv_push(&keys, key) < 0 || jit_strv_push(&texts, text) < 0)
                        return fail("out of memory");
                n++;
        }
        if (!a->store_ok)
                return fail("the fleet store is unreachable (%s): nothing was written", a->store_err);
        r = shared_lease(a, &lease);
        if (r == 0)
                r = n == 1 ? etcd_put(&a->etcd, keys[0], texts[0], lease)
                           : etcd_put_many(&a->etcd, keys, texts, n, lease);
        if (r < 0) {
                cJSON *f = fail("the fleet store refused the decision%s: %s", n == 1 ? "" : "s", a->etcd.err);

                store_lost(a, a->etcd.err);
                return f;
        }
        ans = cJSON_CreateObject();
        list = ans ? cJSON_AddArrayToObject(ans, "keys") : NULL;
        if (list) {
                cJSON_AddBoolToObject(ans, "ok", true);
                cJSON_AddStringToObject(ans, "key", keys[0]);
                for (size_t i = 0; i < n; i++)
                        cJSON_AddItemToArray(list, cJSON_CreateString(keys[i]));
                /* the decisions' revision: their results name it */
                cJSON_AddNumberToObject(ans, "revision", (double)a->etcd.last_revision);
        }
        return ans;
}

/* Does host (with its published info) match one item of a --hosts
 * pattern: a glob on the name, or label:NAME? */
static bool host_matches(const char *item, const char *host, const cJSON *info)
{
        const cJSON *l;

        if (strncmp(item, "label:", 6) != 0)
                return fnmatch(item, host, 0) == 0;
        cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(info, "labels"))
                if (cJSON_IsString(l) && strcmp(l->valuestring, item + 6) == 0)
                        return true;
        return false;
}

static int cmp_str(const void *x, const void *y)
{
        return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The enrolled hosts (those that published hosts/HOST/info) that match
 * pattern: items separated by ',', each a glob or label:NAME. Sorted. */
static int resolve_hosts(struct agent *a, const char *pattern, char ***ret, size_t *ret_n)
{
        _cleanup_free_ char *copy = strdup(pattern);
        _cleanup_strv_free_ char **items = NULL, **hosts = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save))
                if (*it && jit_strv_push(&items, it) < 0)
                        return -ENOMEM;
        if (!items)
                return -EINVAL;
        for (size_t i = 0; i < a->n_mirror; i++) {
                char parts[2][FLEET_NAME_MAX + 1];
                _cleanup_(fleet_jsonp) cJSON *info = NULL;
                bool hit = false;

                if (fleet_split_key(a->mirror[i].key, a->cfg->prefix, parts, 2) != 2 || strcmp(parts[1], "info") != 0 ||
                    jit_proto_parse_strict(a->mirror[i].value, strlen(a->mirror[i].value), &info) < 0)
                        continue;
                for (size_t k = 0; items[k] && !hit; k++)
                        hit = host_matches(items[k], parts[0], info);
                if (!hit || jit_strv_contains(hosts, parts[0]))
                        continue;
                if (n == FLEET_MULTI_HOSTS_MAX)
                        return -E2BIG;
                if (jit_strv_push(&hosts, parts[0]) < 0)
                        return -ENOMEM;
                n++;
        }
        if (n)
                qsort(hosts, n, sizeof(*hosts), cmp_str);
        *ret = TAKE_PTR(hosts);
        *ret_n = n;
        return 0;
}

/* jitctl request ROLE --hosts PATTERN: the request, as the user the kernel
 * names, written once below hosts/HOST/multi/; each host it names opens
 * its own part, judged by its own policy. */
static cJSON *op_request(struct agent *a, uid_t uid, const cJSON *req)
{
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(req, "role"), *ttl = cJSON_GetObjectItemCaseSensitive(req, "ttl");
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(req, "hosts"), *why = cJSON_GetObjectItemCaseSensitive(req, "reason");
        struct passwd *pw = getpwuid(uid);
        struct fleet_multi m = { 0 };
        _cleanup_(fleet_jsonp) cJSON *o = NULL;
        _cleanup_free_ char *text = NULL;
        cJSON *ans, *list;
        char key[512];
        int64_t lease = 0;
        int r;

        if (a->approver)
                return fail("an approver's machine asks for nothing: ask on a host of the fleet");
        if (!pw || !fleet_name_ok(pw->pw_name) || strlen(pw->pw_name) >= sizeof(m.user))
                return fail("your user name cannot be used in the fleet");
        if (!cJSON_IsString(role) || !fleet_name_ok(role->valuestring) || !cJSON_IsNumber(ttl) ||
            !(ttl->valuedouble >= 1) || ttl->valuedouble > 366.0 * 86400 || !cJSON_IsString(pat) ||
            !pat->valuestring[0] || strlen(pat->valuestring) > 1024 ||
            (why && (!cJSON_IsString(why) || strlen(why->valuestring) > 512)))
                return fail("a request for several hosts needs a role, a TTL and --hosts PATTERN");
        if (!a->store_ok)
                return fail("the fleet store is unreachable (%s): nothing was asked", a->store_err);
        r = resolve_hosts(a, pat->valuestring, &m.hosts, &m.n_hosts);
        if (r == -E2BIG)
                return fail("\"%s\" matches more than %d hosts: narrow it", pat->valuestring, FLEET_MULTI_HOSTS_MAX);
        if (r < 0 || !m.n_hosts) {
                fleet_multi_done(&m);
                return fail("no enrolled host matches \"%s\" (a glob on host names, or label:NAME; "
                            "comma-separated)", pat->valuestring);
        }
        if (jit_id_new('m', m.id) < 0) {
                fleet_multi_done(&m);
                return fail("no randomness");
        }
        snprintf(m.origin, sizeof(m.origin), "%s", a->host);
        snprintf(m.user, sizeof(m.user), "%s", pw->pw_name);
        snprintf(m.role, sizeof(m.role), "%s", role->valuestring);
        m.ttl = (uint64_t)ttl->valuedouble;
        m.asked_us = real_us();
        m.reason = why ? strdup(why->valuestring) : NULL;
        o = fleet_multi_to_json(&m);
        text = o ? cJSON_PrintUnformatted(o) : NULL;
        if (!text) {
                fleet_multi_done(&m);
                return fail("out of memory");
        }
        key_of(key, sizeof(key), a, "multi", m.id);
        r = shared_lease(a, &lease);
        if (r == 0)
                r = etcd_put(&a->etcd, key, text, lease);
        if (r < 0) {
                cJSON *f = fail("the fleet store refused the request: %s", a->etcd.err);

                store_lost(a, a->etcd.err);
                fleet_multi_done(&m);
                return f;
        }
        fleet_say("%s asks for role %s on %zu hosts (%s): %s", m.user, m.role, m.n_hosts, pat->valuestring, m.id);
        ans = cJSON_CreateObject();
        list = ans ? cJSON_AddArrayToObject(ans, "hosts") : NULL;
        if (list) {
                cJSON_AddBoolToObject(ans, "ok", true);
                cJSON_AddStringToObject(ans, "id", m.id);
                cJSON_AddStringToObject(ans, "origin", m.origin);
                for (size_t i = 0; i < m.n_hosts; i++)
                        cJSON_AddItemToArray(list, cJSON_CreateString(m.hosts[i]));
        }
        fleet_multi_done(&m);
        return ans;
}

static cJSON *op_heads(struct agent *a, const cJSON *req)
{
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(req, "host");
        struct etcd_kv *kvs = NULL;
        size_t n = 0;
        char prefix[512];
        cJSON *ans, *list;

        if (!cJSON_IsString(h) || !fleet_name_ok(h->valuestring))
                return fail("which host?");
        snprintf(prefix, sizeof(prefix), "%s/heads/%s/", a->cfg->prefix, h->valuestring);
        if (etcd_range(&a->etcd, prefix, &kvs, &n, NULL) < 0)
                return fail("the fleet store: %s", a->etcd.err);
        ans = cJSON_CreateObject();
        list = ans ? cJSON_AddArrayToObject(ans, "heads") : NULL;
        if (ans)
                cJSON_AddBoolToObject(ans, "ok", true);
        for (size_t i = 0; list && i < n; i++) {
                cJSON *v = NULL;

                if (jit_proto_parse_strict(kvs[i].value, strlen(kvs[i].value), &v) == 0) {
                        /* written once: a head put again is a head rewritten
                         * (the store's numbers, not any the value carries) */
                        cJSON_DeleteItemFromObjectCaseSensitive(v, "version");
                        cJSON_DeleteItemFromObjectCaseSensitive(v, "create_revision");
                        cJSON_AddNumberToObject(v, "version", (double)kvs[i].version);
                        cJSON_AddNumberToObject(v, "create_revision", (double)kvs[i].create_revision);
                        cJSON_AddItemToArray(list, v);
                }
        }
        etcd_kvs_free(kvs, n);
        return ans;
}

static void serve_client(struct agent *a)
{
        _cleanup_close_ int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
        _cleanup_(fleet_jsonp) cJSON *req = NULL, *ans = NULL;
        const cJSON *op;
        uid_t uid;
        gid_t gid;
        pid_t pid;

        if (fd < 0 || jit_proto_peer(fd, &pid, &uid, &gid) < 0 ||
            (geteuid() != 0 && uid != geteuid()) ||     /* an approver's own: theirs alone */
            jit_proto_recv(fd, JIT_PROTO_MAX_REQUEST, CLIENT_TIMEOUT_MS, &req) < 0)
                return;
        op = cJSON_GetObjectItemCaseSensitive(req, "op");
        if (!cJSON_IsString(op))
                ans = fail("no op");
        else if (strcmp(op->valuestring, "list") == 0)
                ans = op_list(a, uid, req);
        else if (strcmp(op->valuestring, "decide") == 0)
                ans = op_decide(a, uid, req);
        else if (strcmp(op->valuestring, "heads") == 0)
                ans = op_heads(a, req);
        else if (strcmp(op->valuestring, "request") == 0)
                ans = op_request(a, uid, req);
        else
                ans = fail("unknown operation");
        if (ans)
                (void)jit_proto_send(fd, ans, CLIENT_TIMEOUT_MS);
}

static int listen_on(const char *path, mode_t mode)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        {
                /* born with its final mode: no moment where others may connect */
                mode_t old = umask(0777 & ~mode);
                int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

                umask(old);
                if (r < 0 || chmod(path, mode) < 0 || listen(fd, 64) < 0) {
                        int e = -errno;

                        close(fd);
                        return e;
                }
        }
        return fd;
}

/* ---- main ------------------------------------------------------------------ */

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static int load_config(struct agent *a)
{
        _cleanup_free_ char *text = NULL;
        char err[256] = "";
        size_t len = 0;
        int r;

        /* root's files for root; an approver running it as themself, theirs */
        int flags = geteuid() == 0 ? JIT_SAFEIO_TRUSTED : JIT_SAFEIO_OWN;

        r = jit_safeio_read_path(a->config_path, 64 * 1024, flags, &text, &len);
        if (r < 0) {
                fleet_say("cannot read %s (%s, not writable by others): %s", a->config_path,
                          flags == JIT_SAFEIO_TRUSTED ? "root's" : "yours", jit_safeio_strerror(r));
                return r;
        }
        r = fleet_config_parse(text, len, &a->cfg, err, sizeof(err));
        if (r < 0)
                fleet_say("%s: %s", a->config_path, err[0] ? err : strerror(-r));
        else
                a->cfg->file_flags = flags;
        return r;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "config", required_argument, NULL, 'c' },
                { "socket", required_argument, NULL, 's' },
                { "fleet-socket", required_argument, NULL, 'f' },
                { "approver", no_argument, NULL, 'a' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        struct agent a = { .config_path = JIT_FLEET_CONFIG_PATH, .socket_path = JIT_SOCKET_PATH,
                           .fleet_socket_path = JIT_FLEET_SOCKET_PATH, .svc_fd = -1, .lfd = -1 };
        struct sigaction sa = { .sa_handler = on_signal };
        _cleanup_free_ char *user_config = NULL, *user_socket = NULL;
        bool config_given = false, socket_given = false;
        char hostname[256] = "";
        int c, r;

        while ((c = getopt_long(argc, argv, "c:s:f:ahV", lo, NULL)) >= 0) {
                switch (c) {
                case 'c': a.config_path = optarg; config_given = true; break;
                case 's': a.socket_path = optarg; break;
                case 'f': a.fleet_socket_path = optarg; socket_given = true; break;
                case 'a': a.approver = true; break;
                case 'h':
                        printf("Usage: jit-fleet [--config FILE] [--socket PATH] [--fleet-socket PATH]\n"
                               "       jit-fleet --approver [--config FILE] [--fleet-socket PATH]\n"
                               "This host's link to the fleet's approval queue (etcd); --approver: an approver's\n"
                               "machine (no jit service; run as the approver). See jit-fleet(8).\n");
                        return 0;
                case 'V': printf("jit-fleet %s\n", JIT_VERSION); return 0;
                default: return 2;
                }
        }
        if (geteuid() != 0) {
                /* run by an approver as themself: their files, their socket */
                const char *home = secure_getenv("HOME"), *run = secure_getenv("XDG_RUNTIME_DIR");

                a.approver = true;
                if (!config_given) {
                        if (!home || home[0] != '/' || asprintf(&user_config, "%s/.config/jit/fleet.conf", home) < 0) {
                                fleet_say("no $HOME: give --config FILE");
                                return 2;
                        }
                        a.config_path = user_config;
                }
                if (!socket_given) {
                        if (!run || run[0] != '/' || asprintf(&user_socket, "%s/jit-fleet.sock", run) < 0) {
                                fleet_say("no $XDG_RUNTIME_DIR: give --fleet-socket PATH");
                                return 2;
                        }
                        a.fleet_socket_path = user_socket;
                }
        }
        /* nothing from the environment reaches libcurl: no proxy, CA, key log */
        if (clearenv() != 0)
                return 1;
        (void)setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        if (load_config(&a) < 0)
                return 1;
        if (gethostname(hostname, sizeof(hostname) - 1) < 0)
                hostname[0] = '\0';
        if (a.cfg->host && !a.approver && strcmp(a.cfg->host, hostname) != 0) {
                /* the service checks signatures over its own host name */
                fleet_say("%s: \"host\" must be this host's name (%s), or be left out; another name is for an "
                          "approver's machine (jit-fleet --approver)", a.config_path, hostname);
                return 1;
        }
        snprintf(a.host, sizeof(a.host), "%s", a.cfg->host ? a.cfg->host : hostname);
        if (!fleet_name_ok(a.host)) {
                fleet_say("this host's name \"%s\" cannot name it in the fleet (1-64 of A-Z a-z 0-9 . _ -): "
                          "set \"host\" in %s", a.host, a.config_path);
                return 1;
        }
        snprintf(a.hosts_prefix, sizeof(a.hosts_prefix), "%s/hosts/", a.cfg->prefix);
        if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(a.multi = curl_multi_init())) {
                fleet_say("cannot initialise libsodium or libcurl");
                return 1;
        }
        r = etcd_open(&a.etcd, a.cfg);
        if (r < 0) {
                fleet_say("%s", a.etcd.err);
                return 1;
        }
        a.watch.on_event = on_event;
        a.watch.userdata = &a;
        a.lfd = listen_on(a.fleet_socket_path, geteuid() == 0 ? 0666 : 0600);
        if (a.lfd < 0) {
                fleet_say("cannot listen on %s: %s", a.fleet_socket_path, strerror(-a.lfd));
                return 1;
        }
        fleet_say("%s %s, store %s (%zu endpoints), prefix %s", a.approver ? "approver's machine" : "host", a.host,
                  a.cfg->endpoints[0], a.cfg->n_endpoints, a.cfg->prefix);
        while (!stop) {
                struct curl_waitfd extra[2];
                unsigned n_extra = 0;
                uint64_t now = mono_us();
                int running = 0, msgs = 0, timeout = 1000;
                CURLMsg *m;

                if (!a.store_ok && now >= a.next_store_try_us)
                        store_connect(&a);
                if (a.store_ok && now >= a.next_health_us)
                        store_health(&a);
                if (!a.approver && a.svc_fd < 0 && now >= a.next_svc_try_us)
                        service_connect(&a);
                if (a.store_ok && a.snapshot && a.publish_dirty)
                        publish(&a);
                if (a.store_ok && a.snapshot && now >= a.next_audit_us)
                        publish_audit(&a);
                handle_todo(&a);
                if (a.svc_fd >= 0)
                        extra[n_extra++] = (struct curl_waitfd){ .fd = a.svc_fd, .events = CURL_WAIT_POLLIN };
                extra[n_extra++] = (struct curl_waitfd){ .fd = a.lfd, .events = CURL_WAIT_POLLIN };
                if ((a.todo && now >= a.next_todo_us) || (a.store_ok && a.publish_dirty && a.snapshot))
                        timeout = 0;
                if (curl_multi_poll(a.multi, extra, n_extra, timeout, NULL) != CURLM_OK)
                        break;
                curl_multi_perform(a.multi, &running);
                while ((m = curl_multi_info_read(a.multi, &msgs))) {
                        if (m->msg != CURLMSG_DONE || m->easy_handle != a.watch.easy)
                                continue;
                        if (m->data.result == CURLE_OK && !a.watch.err[0]) {
                                /* the member ended the stream: read and watch again */
                                etcd_watch_stop(a.multi, &a.watch);
                                store_connect(&a);
                        } else
                                store_lost(&a, a.watch.err[0] ? a.watch.err : curl_easy_strerror(m->data.result));
                }
                if (a.svc_fd >= 0 && (extra[0].revents & CURL_WAIT_POLLIN))
                        service_read(&a);
                if (extra[n_extra - 1].revents & CURL_WAIT_POLLIN)
                        serve_client(&a);
        }
        etcd_watch_stop(a.multi, &a.watch);
        curl_multi_cleanup(a.multi);
        etcd_close(&a.etcd);
        etcd_kvs_free(a.mirror, a.n_mirror);
        for (size_t i = 0; i < a.n_pubs; i++)
                free(a.pubs[i].text);
        free(a.pubs);
        cJSON_Delete(a.snapshot);
        if (a.svc_fd >= 0)
                close(a.svc_fd);
        close(a.lfd);
        (void)unlink(a.fleet_socket_path);
        fleet_config_free(a.cfg);
        curl_global_cleanup();
        return 0;
}
