/* jit-fleet.h — the fleet agent (jit-fleet), inside.
 *
 * Owns: this host's link to the fleet store (etcd, through its v3 JSON
 * gateway over HTTPS with libcurl): publishing the host's pending requests
 * and audit head, reading decisions on them, and the local socket through
 * which jitctl --fleet lists the fleet's queue and writes signed decisions.
 * It decides nothing: every decision it reads goes to the jit service (op
 * fleet-decide), which checks it exactly as a local one. The store is
 * trusted for availability, never for integrity.
 *
 * Keys (prefix "/jit/v1" by default; HOST and ids are names, see
 * fleet_name_ok), each host writing below its own hosts/HOST/ only (etcd
 * RBAC, set up by jit-fleet-enrol):
 *   PREFIX/hosts/HOST/requests/ID                 pending request (lease: its pending TTL)
 *   PREFIX/hosts/HOST/decisions/TARGET/ID/APPROVER signed decision for TARGET's request ID
 *   PREFIX/hosts/HOST/results/ORIGIN/ID/APPROVER  what HOST did with ORIGIN's decision
 *   PREFIX/hosts/HOST/audit/head                  the audit chain's head now
 *   PREFIX/hosts/HOST/info                        its labels (and that it is enrolled)
 *   PREFIX/hosts/HOST/multi/MID                   a request asked here for several hosts
 *   PREFIX/hosts/HOST/opened/ORIGIN/MID           what HOST did with ORIGIN's request MID
 *   (a decision on a request for several hosts names it by MID, one key
 *   per host it names, each with the same signature)
 *   PREFIX/heads/HOST/SEQ                         every head published (written once;
 *                                                 outside hosts/, which every agent reads whole)
 * MUSTs: the environment is cleared before libcurl starts; TLS always,
 * the peer verified against the configured CA; the client key, certificate
 * and CA are read through safeio (root's; the key and password root's
 * alone) and given to libcurl as memory, never as paths; every transfer
 * has a timeout; every value read from the store is parsed strictly and
 * capped (fleet_parse_decision) before anything is done with it.
 */
#ifndef JIT_FLEET_H
#define JIT_FLEET_H

#include <cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_FLEET_CONFIG_PATH "/etc/jit/fleet.conf"
#define JIT_FLEET_SOCKET_PATH "/run/jit/fleet.sock"
#define FLEET_NAME_MAX 64
#define FLEET_VALUE_MAX (64 * 1024)
#define FLEET_ENDPOINTS_MAX 16

struct fleet_config {
        char **endpoints;               /* https://HOST:PORT */
        size_t n_endpoints;
        char *ca_file, *cert_file, *key_file;
        char *user, *password_file;     /* etcd RBAC user; NULL: auth off */
        char *prefix;                   /* "/jit/v1" */
        uint64_t timeout_ms;            /* one call to the store */
        uint64_t audit_interval;        /* seconds between audit heads */
        uint64_t decision_ttl;          /* seconds a written decision stays */
        char **labels;                  /* this host's, for jitctl request --hosts label:NAME */
        char *host;                     /* its name in the fleet (an approver's machine); NULL: gethostname */
        int file_flags;                 /* not parsed: how its files are read (safeio flags) */
};

#define FLEET_LABELS_MAX 32
#define FLEET_MULTI_HOSTS_MAX 100       /* JIT_FLEET_HOSTS_MAX */

/* Host names, request ids, approver names as used in keys: 1-64 of
 * [A-Za-z0-9._-], not starting with '.' or '-'. */
bool fleet_name_ok(const char *s);

static inline void fleet_jsonp(cJSON **p) { cJSON_Delete(*p); }

/* config.c: strict JSON (unknown keys refused); errors as "path: why". */
int fleet_config_parse(const char *text, size_t len, struct fleet_config **ret, char *err, size_t errlen);
void fleet_config_free(struct fleet_config *c);

/* msg.c: a signed decision as stored ("v": 1). */
struct fleet_decision {
        char host[FLEET_NAME_MAX + 1];  /* the host it is for */
        char id[FLEET_NAME_MAX + 1];
        char approver[FLEET_NAME_MAX + 1];
        char decision[8];               /* approve | deny */
        uint64_t ttl, time_us;
        char nonce[33];
        char signature[129];
        char *comment;                  /* may be NULL */
};
int fleet_parse_decision(const char *text, size_t len, struct fleet_decision *ret);
void fleet_decision_done(struct fleet_decision *d);
char *fleet_decision_to_text(const struct fleet_decision *d);
/* The message the service takes (op fleet-decide). */
cJSON *fleet_decision_to_op(const struct fleet_decision *d, const char *origin);

/* msg.c: a request for several hosts as stored at
 * PREFIX/hosts/ORIGIN/multi/ID ("v": 1): the hosts sorted, each once. */
struct fleet_multi {
        char id[FLEET_NAME_MAX + 1];    /* "m-" and 10 more */
        char origin[FLEET_NAME_MAX + 1];
        char user[FLEET_NAME_MAX + 1], role[FLEET_NAME_MAX + 1];
        uint64_t ttl, asked_us;
        char *reason;                   /* may be NULL */
        char **hosts;
        size_t n_hosts;
};
int fleet_parse_multi(const char *text, size_t len, struct fleet_multi *ret);
void fleet_multi_done(struct fleet_multi *m);
cJSON *fleet_multi_to_json(const struct fleet_multi *m);

/* A key below PREFIX/hosts/, split: "HOST/decisions/TARGET/ID/APPROVER" etc.
 * Returns the number of components (1 to max), each checked with
 * fleet_name_ok ("requests", "decisions", ... are names too); -EINVAL if
 * the key is not below PREFIX/hosts/ or a component is no name (an empty
 * one included: "HOST//x", "HOST/"), -E2BIG for more than max components.
 * So joined with '/' the parts give the key back: no two keys split alike. */
int fleet_split_key(const char *key, const char *prefix, char parts[][FLEET_NAME_MAX + 1], int max);

/* etcd.c: the store */
struct etcd_kv {
        char *key, *value;
        int64_t mod_revision;
        int64_t version;                /* writes since the key was created (1: never overwritten) */
        int64_t create_revision;        /* the store's revision when it was created */
};

struct etcd {
        const struct fleet_config *cfg;
        size_t cur;                     /* the endpoint in use */
        char *token;                    /* RBAC token, NULL: none yet */
        char *password;
        struct curl_blob ca, cert, key;
        char *ca_buf, *cert_buf, *key_buf;
        size_t key_len;
        CURL *easy;
        char err[256];
        int64_t last_revision;          /* of the store, in the last answer */
};

int etcd_open(struct etcd *e, const struct fleet_config *cfg);
void etcd_close(struct etcd *e);
/* One call (path "kv/put", ...): the answer object, or -errno with e->err
 * saying why. Tries each endpoint once; authenticates as needed. */
int etcd_call(struct etcd *e, const char *path, const cJSON *body, cJSON **ret);
int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease);
/* All n in one transaction (one revision), or none. n <= ETCD_TXN_OPS_MAX
 * (etcd's --max-txn-ops default). */
#define ETCD_TXN_OPS_MAX 128
int etcd_put_many(struct etcd *e, char *const *keys, char *const *values, size_t n, int64_t lease);
/* Put only if the key does not exist: 1 written, 0 it existed. */
int etcd_create(struct etcd *e, const char *key, const char *value);
int etcd_delete(struct etcd *e, const char *key, bool prefix);
int etcd_lease(struct etcd *e, int64_t ttl_s, int64_t *ret_id);
int etcd_range(struct etcd *e, const char *prefix, struct etcd_kv **ret, size_t *ret_n, int64_t *ret_rev);
void etcd_kvs_free(struct etcd_kv *kv, size_t n);
/* base64 helpers for the gateway's bytes fields. etcd_unb64 gives the
 * decoded text, NUL-terminated; NULL unless s is canonical base64 (the
 * standard alphabet, padded) of text without a NUL byte. */
char *etcd_b64(const char *s, size_t len);
char *etcd_unb64(const char *s, size_t *ret_len);
/* The watch stream: one handle in the caller's multi. on_event is called
 * per event with type "PUT" or "DELETE". */
struct etcd_watch {
        CURL *easy;
        struct curl_slist *headers;
        char *body;
        char *buf;
        size_t len, cap;
        int64_t last_rev;
        bool created;
        void (*on_event)(void *userdata, const char *type, const struct etcd_kv *kv);
        void *userdata;
        char err[CURL_ERROR_SIZE];
};
int etcd_watch_start(struct etcd *e, CURLM *multi, struct etcd_watch *w, const char *prefix, int64_t start_rev);
/* What the stream delivers, in pieces as they come (curl's write callback):
 * each whole line is parsed and its events handed to on_event; the rest is
 * kept for the next piece. -EMSGSIZE: a line over 4 MiB (the stream must
 * end); -ENOMEM. Pure (no I/O), so that the fuzzer can drive it. */
int etcd_watch_feed(struct etcd_watch *w, const char *data, size_t len);
void etcd_watch_stop(CURLM *multi, struct etcd_watch *w);

void fleet_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
