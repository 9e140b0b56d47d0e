/* The fleet store: etcd's v3 JSON gateway over HTTPS, with libcurl.
 *
 * One easy handle for calls (blocking, each with a timeout), one per watch
 * stream (in the caller's multi handle). Endpoints are tried in turn: a
 * transport error or an "unavailable" answer moves to the next, and the
 * RBAC token is fetched again there (etcd's simple tokens are per member).
 */
#include "jit-fleet.h"
#include "cleanup.h"
#include "safeio.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX (16 * 1024 * 1024)
#define WATCH_LINE_MAX (4 * 1024 * 1024)
#define CODE_UNAVAILABLE 14
#define CODE_UNAUTHENTICATED 16

static int64_t i64_of(const cJSON *o, const char *k);

static int read_file(const struct fleet_config *cfg, const char *path, bool secret, char **ret, size_t *ret_len)
{
        return jit_safeio_read_path(path, 64 * 1024, cfg->file_flags | (secret ? JIT_SAFEIO_SECRET : 0), ret, ret_len);
}

int etcd_open(struct etcd *e, const struct fleet_config *cfg)
{
        size_t len = 0;
        int r;

        *e = (struct etcd){ .cfg = cfg };
        r = read_file(cfg, cfg->ca_file, false, &e->ca_buf, &len);
        if (r < 0) {
                snprintf(e->err, sizeof(e->err), "cannot read ca_file %s: %s", cfg->ca_file, strerror(-r));
                return r;
        }
        e->ca = (struct curl_blob){ .data = e->ca_buf, .len = len, .flags = CURL_BLOB_NOCOPY };
        r = read_file(cfg, cfg->cert_file, false, &e->cert_buf, &len);
        if (r < 0) {
                snprintf(e->err, sizeof(e->err), "cannot read cert_file %s: %s", cfg->cert_file, strerror(-r));
                return r;
        }
        e->cert = (struct curl_blob){ .data = e->cert_buf, .len = len, .flags = CURL_BLOB_NOCOPY };
        r = read_file(cfg, cfg->key_file, true, &e->key_buf, &e->key_len);
        if (r < 0) {
                snprintf(e->err, sizeof(e->err), "cannot read key_file %s (root's, mode 0600): %s", cfg->key_file,
                         strerror(-r));
                return r;
        }
        e->key = (struct curl_blob){ .data = e->key_buf, .len = e->key_len, .flags = CURL_BLOB_NOCOPY };
        if (cfg->password_file) {
                r = read_file(cfg, cfg->password_file, true, &e->password, &len);
                if (r < 0) {
                        snprintf(e->err, sizeof(e->err), "cannot read password_file %s (root's, mode 0600): %s",
                                 cfg->password_file, strerror(-r));
                        return r;
                }
                while (len && (e->password[len - 1] == '\n' || e->password[len - 1] == '\r'))
                        e->password[--len] = '\0';
                if (!len || strlen(e->password) != len) {
                        snprintf(e->err, sizeof(e->err), "password_file %s: one line, no NUL", cfg->password_file);
                        return -EINVAL;
                }
        }
        e->easy = curl_easy_init();
        if (!e->easy) {
                snprintf(e->err, sizeof(e->err), "out of memory");
                return -ENOMEM;
        }
        return 0;
}

void etcd_close(struct etcd *e)
{
        if (e->easy)
                curl_easy_cleanup(e->easy);
        if (e->key_buf)
                sodium_memzero(e->key_buf, e->key_len);
        if (e->password)
                sodium_memzero(e->password, strlen(e->password));
        free(e->ca_buf);
        free(e->cert_buf);
        free(e->key_buf);
        free(e->password);
        free(e->token);
        *e = (struct etcd){ 0 };
}

struct buf {
        char *data;
        size_t len, max;
        bool over;              /* the answer passed max */
};

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
        struct buf *b = userdata;
        size_t add = size * n;
        char *nd;

        if (b->len + add > b->max) {
                b->over = true;
                return 0;       /* too big: the transfer fails */
        }
        nd = realloc(b->data, b->len + add + 1);
        if (!nd)
                return 0;
        b->data = nd;
        memcpy(b->data + b->len, p, add);
        b->len += add;
        b->data[b->len] = '\0';
        return add;
}

/* TLS and limits, the same for every handle: https only, the peer checked
 * against our CA, our certificate and key from memory, no proxy. */
static void setup_tls(const struct etcd *e, CURL *h, long timeout_ms)
{
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &e->ca);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &e->cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &e->key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 1000 ? timeout_ms : 1000L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
}

/* One POST to the endpoint in use. *ret: the answer object (etcd's error
 * answers included: {"error", "code"}). -EIO: no answer (transport). */
static int post(struct etcd *e, const char *path, const char *body, bool with_token, cJSON **ret)
{
        char url[512], auth[300];
        struct buf b = { .max = ANSWER_MAX };
        struct curl_slist *h = NULL;
        CURLcode rc;
        long status = 0;

        snprintf(url, sizeof(url), "%s/v3/%s", e->cfg->endpoints[e->cur], path);
        curl_easy_reset(e->easy);
        setup_tls(e, e->easy, (long)e->cfg->timeout_ms);
        curl_easy_setopt(e->easy, CURLOPT_URL, url);
        curl_easy_setopt(e->easy, CURLOPT_TIMEOUT_MS, (long)e->cfg->timeout_ms);
        curl_easy_setopt(e->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, &b);
        h = curl_slist_append(h, "Content-Type: application/json");
        if (with_token && e->token) {
                snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
                h = curl_slist_append(h, auth);
        }
        curl_easy_setopt(e->easy, CURLOPT_HTTPHEADER, h);
        rc = curl_easy_perform(e->easy);
        curl_slist_free_all(h);
        curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK) {
                snprintf(e->err, sizeof(e->err), "%s: %s", e->cfg->endpoints[e->cur],
                         b.over ? "an answer over 16 MiB" : curl_easy_strerror(rc));
                free(b.data);
                return b.over ? -EMSGSIZE : -EIO;
        }
        *ret = b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
        free(b.data);
        if (!*ret || !cJSON_IsObject(*ret)) {
                cJSON_Delete(*ret);
                *ret = NULL;
                snprintf(e->err, sizeof(e->err), "%s: HTTP %ld, not a JSON answer", e->cfg->endpoints[e->cur], status);
                return -EIO;
        }
        return 0;
}

static int code_of(const cJSON *a)
{
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "code");

        if (!cJSON_IsNumber(c))
                return 0;
        return c->valuedouble >= 0 && c->valuedouble < 256 ? (int)c->valuedouble : 255;  /* an error all the same */
}

static int authenticate(struct etcd *e)
{
        _cleanup_(fleet_jsonp) cJSON *body = cJSON_CreateObject(), *a = NULL;
        _cleanup_free_ char *text = NULL;
        const cJSON *t;
        int r;

        free(e->token);
        e->token = NULL;
        if (!e->cfg->user)
                return 0;
        if (!body || !cJSON_AddStringToObject(body, "name", e->cfg->user) ||
            !cJSON_AddStringToObject(body, "password", e->password) || !(text = cJSON_PrintUnformatted(body)))
                return -ENOMEM;
        r = post(e, "auth/authenticate", text, false, &a);
        sodium_memzero(text, strlen(text));
        if (r < 0)
                return r;
        t = cJSON_GetObjectItemCaseSensitive(a, "token");
        if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > 256) {
                const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "error");

                snprintf(e->err, sizeof(e->err), "%s: authentication as %s refused: %.120s",
                         e->cfg->endpoints[e->cur], e->cfg->user, cJSON_IsString(m) ? m->valuestring : "no token");
                return code_of(a) == CODE_UNAVAILABLE ? -EIO : -EACCES;
        }
        e->token = strdup(t->valuestring);
        return e->token ? 0 : -ENOMEM;
}

/* The access control changed since the token was made (a host enrolled):
 * a new token is needed, nothing is wrong. */
static bool auth_is_old(const cJSON *a)
{
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "error");

        return cJSON_IsString(m) && strstr(m->valuestring, "revision of auth store is old");
}

int etcd_call(struct etcd *e, const char *path, const cJSON *body, cJSON **ret)
{
        _cleanup_free_ char *text = cJSON_PrintUnformatted(body);
        int r = -EIO;

        if (!text)
                return -ENOMEM;
        for (size_t tried = 0; tried < e->cfg->n_endpoints; tried++) {
                for (int auth_try = 0; auth_try < 2; auth_try++) {
                        cJSON *a = NULL;
                        int code;

                        if (e->cfg->user && !e->token) {
                                r = authenticate(e);
                                if (r < 0)
                                        break;
                        }
                        r = post(e, path, text, true, &a);
                        if (r < 0)
                                break;
                        code = code_of(a);
                        if ((code == CODE_UNAUTHENTICATED || auth_is_old(a)) && e->cfg->user && auth_try == 0) {
                                cJSON_Delete(a);
                                free(e->token);
                                e->token = NULL;
                                continue;
                        }
                        if (code == CODE_UNAVAILABLE) {
                                const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "error");

                                snprintf(e->err, sizeof(e->err), "%s: %.160s", e->cfg->endpoints[e->cur],
                                         cJSON_IsString(m) ? m->valuestring : "unavailable");
                                cJSON_Delete(a);
                                r = -EIO;
                                break;
                        }
                        if (code) {
                                const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "error");

                                snprintf(e->err, sizeof(e->err), "%s: %.160s", e->cfg->endpoints[e->cur],
                                         cJSON_IsString(m) ? m->valuestring : "error");
                                cJSON_Delete(a);
                                return code == 7 ? -EACCES : -EPROTO; /* 7: permission denied */
                        }
                        e->last_revision = i64_of(cJSON_GetObjectItemCaseSensitive(a, "header"), "revision");
                        *ret = a;
                        return 0;
                }
                if (r == -EACCES || r == -ENOMEM || r == -EMSGSIZE)
                        return r;       /* another member would say the same */
                /* this member does not answer: the next one, with a token of its own */
                e->cur = (e->cur + 1) % e->cfg->n_endpoints;
                free(e->token);
                e->token = NULL;
        }
        return r;
}

char *etcd_b64(const char *s, size_t len)
{
        size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
        char *out = malloc(n);

        if (out)
                sodium_bin2base64(out, n, (const unsigned char *)s, len, sodium_base64_VARIANT_ORIGINAL);
        return out;
}

char *etcd_unb64(const char *s, size_t *ret_len)
{
        size_t n = strlen(s), got = 0;
        char *out;

        /* libsodium 1.0.18 reads any byte >= 0x80 as '/': check the alphabet first */
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
                return NULL;
        out = malloc(n + 1);
        if (!out)
                return NULL;
        if (sodium_base642bin((unsigned char *)out, n, s, n, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) < 0 ||
            memchr(out, '\0', got)) {     /* keys and values are text: "k\0x" would read as "k" */
                free(out);
                return NULL;
        }
        out[got] = '\0';
        if (ret_len)
                *ret_len = got;
        return out;
}

/* The end of the range of every key starting with prefix. */
static char *prefix_end(const char *prefix)
{
        size_t n = strlen(prefix);
        char *end = strdup(prefix);

        if (end && n)
                end[n - 1]++;   /* prefixes end in '/': '/' + 1 = '0' */
        return end;
}

static int add_b64(cJSON *o, const char *k, const char *v)
{
        _cleanup_free_ char *b = etcd_b64(v, strlen(v));

        return b && cJSON_AddStringToObject(o, k, b) ? 0 : -ENOMEM;
}

static int add_i64(cJSON *o, const char *k, int64_t v)
{
        char num[24];

        snprintf(num, sizeof(num), "%" PRId64, v);
        return cJSON_AddStringToObject(o, k, num) ? 0 : -ENOMEM;
}

int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject(), *a = NULL;

        if (!b || add_b64(b, "key", key) < 0 || add_b64(b, "value", value) < 0 || (lease && add_i64(b, "lease", lease) < 0))
                return -ENOMEM;
        return etcd_call(e, "kv/put", b, &a);
}

int etcd_put_many(struct etcd *e, char *const *keys, char *const *values, size_t n, int64_t lease)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject(), *a = NULL;
        cJSON *succ = b ? cJSON_AddArrayToObject(b, "success") : NULL;

        if (!succ || n > ETCD_TXN_OPS_MAX)
                return !succ ? -ENOMEM : -E2BIG;
        for (size_t i = 0; i < n; i++) {
                cJSON *op = cJSON_CreateObject(), *put;

                if (!op || !cJSON_AddItemToArray(succ, op) || !(put = cJSON_AddObjectToObject(op, "request_put")) ||
                    add_b64(put, "key", keys[i]) < 0 || add_b64(put, "value", values[i]) < 0 ||
                    (lease && add_i64(put, "lease", lease) < 0))
                        return -ENOMEM;
        }
        return etcd_call(e, "kv/txn", b, &a);
}

int etcd_create(struct etcd *e, const char *key, const char *value)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject(), *a = NULL;
        cJSON *cmp, *c, *succ, *op, *put;
        int r;

        if (!b || !(cmp = cJSON_AddArrayToObject(b, "compare")) || !(c = cJSON_CreateObject()))
                return -ENOMEM;
        cJSON_AddItemToArray(cmp, c);
        if (add_b64(c, "key", key) < 0 || !cJSON_AddStringToObject(c, "target", "CREATE") ||
            !cJSON_AddStringToObject(c, "result", "EQUAL") || add_i64(c, "create_revision", 0) < 0 ||
            !(succ = cJSON_AddArrayToObject(b, "success")) || !(op = cJSON_CreateObject()))
                return -ENOMEM;
        cJSON_AddItemToArray(succ, op);
        if (!(put = cJSON_AddObjectToObject(op, "request_put")) || add_b64(put, "key", key) < 0 ||
            add_b64(put, "value", value) < 0)
                return -ENOMEM;
        r = etcd_call(e, "kv/txn", b, &a);
        if (r < 0)
                return r;
        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "succeeded")) ? 1 : 0;
}

int etcd_delete(struct etcd *e, const char *key, bool prefix)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject(), *a = NULL;
        _cleanup_free_ char *end = prefix ? prefix_end(key) : NULL;

        if (!b || add_b64(b, "key", key) < 0 || (prefix && (!end || add_b64(b, "range_end", end) < 0)))
                return -ENOMEM;
        return etcd_call(e, "kv/deleterange", b, &a);
}

int etcd_lease(struct etcd *e, int64_t ttl_s, int64_t *ret_id)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject(), *a = NULL;
        const cJSON *id;
        int r;

        if (!b || add_i64(b, "TTL", ttl_s) < 0)
                return -ENOMEM;
        r = etcd_call(e, "lease/grant", b, &a);
        if (r < 0)
                return r;
        id = cJSON_GetObjectItemCaseSensitive(a, "ID");
        if (!cJSON_IsString(id) || sscanf(id->valuestring, "%" SCNd64, ret_id) != 1) {
                snprintf(e->err, sizeof(e->err), "lease/grant: no lease ID in the answer");
                return -EPROTO;
        }
        return 0;
}

static int64_t i64_of(const cJSON *o, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
        int64_t v = 0;

        if (cJSON_IsString(it))
                v = strtoll(it->valuestring, NULL, 10);         /* saturates, where sscanf is undefined */
        else if (cJSON_IsNumber(it) && it->valuedouble > -9e18 && it->valuedouble < 9e18)
                v = (int64_t)it->valuedouble;                   /* 1e300 would be undefined */
        return v;
}

static int kv_from_json(const cJSON *j, struct etcd_kv *kv)
{
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key"), *v = cJSON_GetObjectItemCaseSensitive(j, "value");

        *kv = (struct etcd_kv){ .mod_revision = i64_of(j, "mod_revision"), .version = i64_of(j, "version"),
                                .create_revision = i64_of(j, "create_revision") };
        if (!cJSON_IsString(k) || !(kv->key = etcd_unb64(k->valuestring, NULL)))
                return -EBADMSG;
        kv->value = cJSON_IsString(v) ? etcd_unb64(v->valuestring, NULL) : strdup("");
        if (!kv->value) {
                free(kv->key);
                return -EBADMSG;
        }
        return 0;
}

/* Keys per range call. Values we write are at most FLEET_VALUE_MAX, so a
 * page stays well under ANSWER_MAX; larger ones (anyone with write access
 * to the prefix may put them) halve the page, and a single key whose
 * answer is still too large is passed over. The whole read is bounded. */
#define RANGE_PAGE 128
#define RANGE_KEYS_MAX 200000
#define RANGE_BYTES_MAX (256ULL * 1024 * 1024)

struct range {
        struct etcd_kv *kv;
        size_t n, bytes;
        int64_t rev;            /* every page at the first one's revision */
        char *from;             /* where the next page starts (NULL: done) */
        size_t from_len;
};

/* The key just after raw (base64 in the answer): its bytes and a NUL. */
static int range_after(struct range *g, const char *raw64)
{
        size_t n = strlen(raw64), got = 0;
        char *next = malloc(n + 2);
        int c;

        if (!next || sodium_base642bin((unsigned char *)next, n + 1, raw64, n, NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL) < 0) {
                free(next);
                return -EBADMSG;
        }
        next[got] = '\0';
        /* pages move forward, or a member repeating itself would never end */
        c = memcmp(next, g->from, got + 1 < g->from_len ? got + 1 : g->from_len);
        if (c < 0 || (c == 0 && got + 1 <= g->from_len)) {
                free(next);
                return -EBADMSG;
        }
        free(g->from);
        g->from = next;
        g->from_len = got + 1;
        return 0;
}

static int range_call(struct etcd *e, struct range *g, const char *end, long limit, bool keys_only, cJSON **ret)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject();
        _cleanup_free_ char *k64 = etcd_b64(g->from, g->from_len), *e64 = etcd_b64(end, strlen(end));

        if (!b || !k64 || !e64 || !cJSON_AddStringToObject(b, "key", k64) || !cJSON_AddStringToObject(b, "range_end", e64) ||
            add_i64(b, "limit", limit) < 0 || (g->rev && add_i64(b, "revision", g->rev) < 0) ||
            (keys_only && !cJSON_AddTrueToObject(b, "keys_only")))
                return -ENOMEM;
        return etcd_call(e, "kv/range", b, ret);
}

/* One page: the keys it holds appended, g->from moved past them. */
static int range_page(struct etcd *e, struct range *g, const char *end)
{
        _cleanup_(fleet_jsonp) cJSON *a = NULL;
        const cJSON *kvs, *it, *last = NULL;
        struct etcd_kv *grown;
        long limit = RANGE_PAGE;
        int r;

        while ((r = range_call(e, g, end, limit, false, &a)) == -EMSGSIZE && limit > 1)
                limit /= 2;
        if (r == -EMSGSIZE) {
                /* one key alone is too large: its name, and past it */
                r = range_call(e, g, end, 1, true, &a);
                last = r == 0 ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "kvs"), 0) : NULL;
                if (r == 0 && (!last || range_after(g, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "key")) ?: "") < 0))
                        r = -EBADMSG;
                return r;
        }
        if (r < 0)
                return r;
        if (!g->rev)
                g->rev = i64_of(cJSON_GetObjectItemCaseSensitive(a, "header"), "revision");
        kvs = cJSON_GetObjectItemCaseSensitive(a, "kvs");
        grown = realloc(g->kv, (g->n + (size_t)cJSON_GetArraySize(kvs) + 1) * sizeof(*g->kv));
        if (!grown)
                return -ENOMEM;
        g->kv = grown;
        cJSON_ArrayForEach(it, kvs) {
                last = it;
                if (kv_from_json(it, &g->kv[g->n]) < 0)
                        continue;       /* not text: nothing of ours */
                g->bytes += strlen(g->kv[g->n].key) + strlen(g->kv[g->n].value);
                g->n++;
        }
        if (g->n > RANGE_KEYS_MAX || g->bytes > RANGE_BYTES_MAX) {
                snprintf(e->err, sizeof(e->err), "%s: more than %d keys or %llu MiB below the prefix",
                         e->cfg->endpoints[e->cur], RANGE_KEYS_MAX, RANGE_BYTES_MAX >> 20);
                return -E2BIG;
        }
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "more"))) {
                free(g->from);
                g->from = NULL;
                return 0;
        }
        if (!last || range_after(g, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "key")) ?: "") < 0) {
                snprintf(e->err, sizeof(e->err), "%s: a page of keys that does not move on", e->cfg->endpoints[e->cur]);
                return -EBADMSG;
        }
        return 0;
}

int etcd_range(struct etcd *e, const char *prefix, struct etcd_kv **ret, size_t *ret_n, int64_t *ret_rev)
{
        _cleanup_free_ char *end = prefix_end(prefix);
        struct range g = { .from = strdup(prefix), .from_len = strlen(prefix) };
        int r = end && g.from ? 0 : -ENOMEM;

        while (r == 0 && g.from)
                r = range_page(e, &g, end);
        free(g.from);
        if (r == 0 && !g.kv && !(g.kv = calloc(1, sizeof(*g.kv))))
                r = -ENOMEM;
        if (r < 0) {
                etcd_kvs_free(g.kv, g.n);
                return r;
        }
        *ret = g.kv;
        *ret_n = g.n;
        if (ret_rev)
                *ret_rev = g.rev;
        return 0;
}

void etcd_kvs_free(struct etcd_kv *kv, size_t n)
{
        for (size_t i = 0; kv && i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

/* ---- the watch stream ------------------------------------------------------ */

static void watch_line(struct etcd_watch *w, const char *line, size_t len)
{
        _cleanup_(fleet_jsonp) cJSON *j = cJSON_ParseWithLength(line, len);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result"), *evs, *ev;
        int64_t rev;

        if (!cJSON_IsObject(res)) {
                const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");

                if (err) {
                        const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");

                        snprintf(w->err, sizeof(w->err), "watch: %.160s", cJSON_IsString(m) ? m->valuestring : "error");
                        w->created = false;
                }
                return;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "created")))
                w->created = true;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
                snprintf(w->err, sizeof(w->err), "watch cancelled by the store (compacted past revision %" PRId64 "?)",
                         w->last_rev);
                w->created = false;
                return;
        }
        rev = i64_of(cJSON_GetObjectItemCaseSensitive(res, "header"), "revision");
        evs = cJSON_GetObjectItemCaseSensitive(res, "events");
        cJSON_ArrayForEach(ev, evs) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "type");
                struct etcd_kv kv;

                if (kv_from_json(cJSON_GetObjectItemCaseSensitive(ev, "kv"), &kv) < 0)
                        continue;
                if (kv.mod_revision > w->last_rev)
                        w->last_rev = kv.mod_revision;
                w->on_event(w->userdata, cJSON_IsString(t) && strcmp(t->valuestring, "DELETE") == 0 ? "DELETE" : "PUT",
                            &kv);
                free(kv.key);
                free(kv.value);
        }
        if (rev > w->last_rev && cJSON_GetArraySize(evs) > 0)
                w->last_rev = rev;
}

int etcd_watch_feed(struct etcd_watch *w, const char *data, size_t len)
{
        size_t start = 0;

        if (w->len + len > WATCH_LINE_MAX)
                return -EMSGSIZE;
        if (w->len + len + 1 > w->cap) {
                size_t cap = (w->len + len + 1) * 2;
                char *nb = realloc(w->buf, cap);

                if (!nb)
                        return -ENOMEM;
                w->buf = nb;
                w->cap = cap;
        }
        memcpy(w->buf + w->len, data, len);
        w->len += len;
        for (size_t i = w->len - len; i < w->len; i++)  /* what was kept holds no '\n' */
                if (w->buf[i] == '\n') {
                        watch_line(w, w->buf + start, i - start);
                        start = i + 1;
                }
        memmove(w->buf, w->buf + start, w->len - start);
        w->len -= start;
        return 0;
}

static size_t watch_data(char *p, size_t size, size_t n, void *userdata)
{
        return etcd_watch_feed(userdata, p, size * n) < 0 ? 0 : size * n;
}

int etcd_watch_start(struct etcd *e, CURLM *multi, struct etcd_watch *w, const char *prefix, int64_t start_rev)
{
        _cleanup_(fleet_jsonp) cJSON *b = cJSON_CreateObject();
        _cleanup_free_ char *end = prefix_end(prefix);
        cJSON *cr;
        char url[512], auth[300];

        w->err[0] = '\0';
        w->created = false;
        w->len = 0;
        w->last_rev = start_rev > 0 ? start_rev - 1 : 0;
        if (e->cfg->user && !e->token && authenticate(e) < 0)
                return -EIO;
        if (!b || !end || !(cr = cJSON_AddObjectToObject(b, "create_request")) || add_b64(cr, "key", prefix) < 0 ||
            add_b64(cr, "range_end", end) < 0 || (start_rev > 0 && add_i64(cr, "start_revision", start_rev) < 0) ||
            !(w->body = cJSON_PrintUnformatted(b)))
                return -ENOMEM;
        w->easy = curl_easy_init();
        if (!w->easy)
                return -ENOMEM;
        snprintf(url, sizeof(url), "%s/v3/watch", e->cfg->endpoints[e->cur]);
        setup_tls(e, w->easy, (long)e->cfg->timeout_ms);
        curl_easy_setopt(w->easy, CURLOPT_URL, url);
        curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body);
        curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_data);
        curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
        curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->err);
        curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
        w->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (e->token) {
                snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
                w->headers = curl_slist_append(w->headers, auth);
        }
        curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
        if (curl_multi_add_handle(multi, w->easy) != CURLM_OK) {
                etcd_watch_stop(multi, w);
                return -EIO;
        }
        return 0;
}

void etcd_watch_stop(CURLM *multi, struct etcd_watch *w)
{
        if (w->easy) {
                curl_multi_remove_handle(multi, w->easy);
                curl_easy_cleanup(w->easy);
        }
        curl_slist_free_all(w->headers);
        free(w->body);
        w->easy = NULL;
        w->headers = NULL;
        w->body = NULL;
        w->len = 0;
        w->created = false;
}
