/* fuzz_fleet — jit-fleet's parsers of outside input (fleet/msg.c, fleet/etcd.c).
 *
 * Input: byte 0 mod 6 picks the parser, the rest is its input:
 *  0: /etc/jit/fleet.conf (fleet_config_parse);
 *  1: a signed decision as read from the store (fleet_parse_decision);
 *  2: a key read from the store (fleet_split_key, prefix "/jit/v1");
 *  3: the watch stream (etcd_watch_feed): byte 1 picks how it is cut into
 *     pieces (as curl's write callback gets them), the rest is the stream;
 *  4: a base64 field of the gateway's answers (etcd_unb64, etcd_b64);
 *  5: a request for several hosts as read from the store
 *     (fleet_parse_multi, + fleet_multi_to_json).
 * Invariants checked (abort on violation), from jit-fleet.h:
 *  - all or nothing: on failure the out-parameter is untouched and the
 *    error is one of the documented ones (config: with "$...: why");
 *  - an accepted config holds what the header says: 1 to 16 endpoints
 *    "https://HOST:PORT" (HOST a name, an IPv4 address or [IPv6], PORT
 *    1..65535, no path), absolute paths, user and password_file together,
 *    a prefix like "/jit/v1", durations in their ranges;
 *  - an accepted decision has names (fleet_name_ok), "approve"/"deny", a
 *    ttl of at most 366 days, a time_us of at most 2^52, 32 and 128 lowercase hex digits, a comment
 *    of at most 1024 bytes; fleet_decision_to_text gives text that parses
 *    to the same fields, and fleet_decision_to_op the service's message
 *    with exactly those fields, "op" and "origin";
 *  - a split key is 0..max names that, joined with '/' after
 *    "/jit/v1/hosts/", give the key back (no two keys split the same way);
 *  - the watch stream: every event is "PUT" or "DELETE" with a key and a
 *    value; last_rev never goes down and covers every event's revision;
 *    no whole line stays buffered; cutting the stream differently changes
 *    nothing (same events, same end state). Each event's key and value go
 *    through fleet_split_key and fleet_parse_decision (a decision's key)
 *    or fleet_parse_multi (HOST/multi/ID), as jit-fleet does;
 *  - an accepted request for several hosts has an id of "m-" and 10 more,
 *    names (fleet_name_ok) for origin, user and role, a ttl of 1 s to 366
 *    days, an asked_us of at most 2^52, a reason of at most 512 bytes, 1 to
 *    100 hosts, names in strcmp order, each once; fleet_multi_to_json,
 *    printed, parses back to the same fields (as jit-fleet stores it and
 *    reads it again), with exactly the stored keys;
 *  - etcd_unb64 takes only canonical base64 (it re-encodes to the input)
 *    of text without a NUL byte.
 * JIT_FUZZ_NO_ORACLES=1 keeps only the memory checks.
 */
#include "jit-fleet.h"
#include "proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

#define PREFIX "/jit/v1"
#define HEX "0123456789abcdef"

static bool oracle_enabled(void)
{
        static int on = -1;

        if (on < 0) {
                const char *e = getenv("JIT_FUZZ_NO_ORACLES");

                on = !(e && *e && strcmp(e, "0") != 0);
        }
        return on;
}

#define ORACLE(x) do { if (oracle_enabled()) CHECK(x); } while (0)

/* The input as a C string (cut at a NUL, as any caller's string would be). */
static char *c_string(const uint8_t *p, size_t n)
{
        char *s = malloc(n + 1);

        CHECK(s);
        memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

/* ---- 0: fleet.conf ----------------------------------------------------------- */

static bool host_ok(const char *h, size_t n)
{
        if (n >= 4 && h[0] == '[' && h[n - 1] == ']')
                return strspn(h + 1, HEX "ABCDEF:.") == n - 2;
        return n > 0 && strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

static void check_endpoint(const char *s)
{
        const char *h = s + 8, *colon = strrchr(s, ':');
        char *end;
        long port;

        CHECK(strncmp(s, "https://", 8) == 0 && strlen(s) <= 255);
        CHECK(colon && colon > h);
        ORACLE(host_ok(h, (size_t)(colon - h)));
        port = strtol(colon + 1, &end, 10);
        CHECK(*end == '\0' && port >= 1 && port <= 65535 && colon[1] != '0' && colon[1] != '+');
}

static void check_path(const char *s, bool required)
{
        if (!s) {
                CHECK(!required);
                return;
        }
        CHECK(s[0] == '/' && strlen(s) >= 2 && strlen(s) <= 255 && !strstr(s, "//") && !strstr(s, "/./") &&
              !strstr(s, "/../") && s[strlen(s) - 1] != '/');
}

static void fuzz_config(const uint8_t *p, size_t n)
{
        struct fleet_config *c = (struct fleet_config *)(uintptr_t)1;
        char err[256];
        int r;

        err[0] = '\0';
        r = fleet_config_parse((const char *)p, n, &c, err, sizeof(err));
        if (r < 0) {
                CHECK(r == -EINVAL || r == -ENOMEM);
                CHECK(c == (struct fleet_config *)(uintptr_t)1);
                CHECK(r == -ENOMEM || (err[0] == '$' && strstr(err, ": ")));
                return;
        }
        CHECK(r == 0 && c);
        CHECK(c->n_endpoints >= 1 && c->n_endpoints <= FLEET_ENDPOINTS_MAX && c->endpoints);
        for (size_t i = 0; i < c->n_endpoints; i++)
                check_endpoint(c->endpoints[i]);
        CHECK(c->endpoints[c->n_endpoints] == NULL);
        check_path(c->ca_file, true);
        check_path(c->cert_file, true);
        check_path(c->key_file, true);
        check_path(c->password_file, false);
        CHECK(!c->user == !c->password_file);
        CHECK(!c->user || fleet_name_ok(c->user));
        CHECK(c->prefix && c->prefix[0] == '/' && strlen(c->prefix) >= 2 && strlen(c->prefix) <= 64 &&
              c->prefix[strlen(c->prefix) - 1] != '/');
        CHECK(c->timeout_ms >= 1000 && c->timeout_ms <= 60000 && c->timeout_ms % 1000 == 0);
        CHECK(c->audit_interval >= 1 && c->audit_interval <= 86400);
        CHECK(c->decision_ttl >= 60 && c->decision_ttl <= 7 * 86400);
        fleet_config_free(c);
}

/* ---- 1: decisions ------------------------------------------------------------ */

static bool is_hex(const char *s, size_t n)
{
        return strlen(s) == n && strspn(s, HEX) == n;
}

static void check_decision(const struct fleet_decision *d)
{
        CHECK(fleet_name_ok(d->host) && fleet_name_ok(d->id) && fleet_name_ok(d->approver));
        CHECK(strcmp(d->decision, "approve") == 0 || strcmp(d->decision, "deny") == 0);
        CHECK(d->ttl <= 366ULL * 86400 && d->time_us <= 1ULL << 52);
        CHECK(is_hex(d->nonce, 32) && is_hex(d->signature, 128));
        CHECK(!d->comment || strlen(d->comment) <= 1024);
}

static bool same_decision(const struct fleet_decision *a, const struct fleet_decision *b)
{
        return strcmp(a->host, b->host) == 0 && strcmp(a->id, b->id) == 0 && strcmp(a->approver, b->approver) == 0 &&
               strcmp(a->decision, b->decision) == 0 && a->ttl == b->ttl && a->time_us == b->time_us &&
               strcmp(a->nonce, b->nonce) == 0 && strcmp(a->signature, b->signature) == 0 &&
               !a->comment == !b->comment && (!a->comment || strcmp(a->comment, b->comment) == 0);
}

static bool str_item_is(const cJSON *o, const char *key, const char *want)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsString(it) && strcmp(it->valuestring, want) == 0;
}

static bool num_item_is(const cJSON *o, const char *key, uint64_t want)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        return cJSON_IsNumber(it) && it->valuedouble == (double)want;
}

/* The service's message: the decision's fields but "host", the comment
 * as "reason" on a denial, plus "op" and "origin"; nothing else. */
static void check_op(const struct fleet_decision *d, const char *origin)
{
        cJSON *o = fleet_decision_to_op(d, origin);
        const char *ckey = strcmp(d->decision, "deny") == 0 ? "reason" : "comment";

        CHECK(o && cJSON_IsObject(o));
        CHECK(str_item_is(o, "op", JIT_OP_FLEET_DECIDE) && str_item_is(o, "origin", origin));
        CHECK(str_item_is(o, "id", d->id) && str_item_is(o, "approver", d->approver) &&
              str_item_is(o, "decision", d->decision) && str_item_is(o, "nonce", d->nonce) &&
              str_item_is(o, "signature", d->signature));
        CHECK(num_item_is(o, "ttl", d->ttl) && num_item_is(o, "time_us", d->time_us));
        CHECK(!d->comment || str_item_is(o, ckey, d->comment));
        CHECK(cJSON_GetArraySize(o) == 9 + (d->comment ? 1 : 0));
        cJSON_Delete(o);
}

static void decision_text(const char *text, size_t n)
{
        struct fleet_decision d, back, sentinel;
        char *out;
        int r;

        memset(&d, 0xa5, sizeof(d));
        memcpy(&sentinel, &d, sizeof(d));
        r = fleet_parse_decision(text, n, &d);
        if (r < 0) {
                CHECK(r == -EBADMSG || r == -ENOMEM);
                CHECK(memcmp(&d, &sentinel, sizeof(d)) == 0);
                return;
        }
        CHECK(r == 0);
        CHECK(n <= FLEET_VALUE_MAX);
        check_decision(&d);
        out = fleet_decision_to_text(&d);
        CHECK(out);
        r = fleet_parse_decision(out, strlen(out), &back);
        ORACLE(r == 0);
        if (r == 0) {
                ORACLE(same_decision(&d, &back));
                fleet_decision_done(&back);
        }
        check_op(&d, d.host);
        free(out);
        fleet_decision_done(&d);
        CHECK(d.comment == NULL);
}

/* ---- 5: requests for several hosts ------------------------------------------ */

static void check_multi(const struct fleet_multi *m)
{
        CHECK(strlen(m->id) == 12 && strncmp(m->id, "m-", 2) == 0 && fleet_name_ok(m->id));
        CHECK(fleet_name_ok(m->origin) && fleet_name_ok(m->user) && fleet_name_ok(m->role));
        CHECK(m->ttl >= 1 && m->ttl <= 366ULL * 86400 && m->asked_us <= 1ULL << 52);
        CHECK(!m->reason || strlen(m->reason) <= 512);
        CHECK(m->n_hosts >= 1 && m->n_hosts <= FLEET_MULTI_HOSTS_MAX && m->hosts);
        for (size_t i = 0; i < m->n_hosts; i++) {
                CHECK(m->hosts[i] && fleet_name_ok(m->hosts[i]));
                CHECK(i == 0 || strcmp(m->hosts[i - 1], m->hosts[i]) < 0);     /* as signed */
        }
        CHECK(m->hosts[m->n_hosts] == NULL);
}

static bool same_multi(const struct fleet_multi *a, const struct fleet_multi *b)
{
        if (strcmp(a->id, b->id) != 0 || strcmp(a->origin, b->origin) != 0 || strcmp(a->user, b->user) != 0 ||
            strcmp(a->role, b->role) != 0 || a->ttl != b->ttl || a->asked_us != b->asked_us ||
            !a->reason != !b->reason || (a->reason && strcmp(a->reason, b->reason) != 0) || a->n_hosts != b->n_hosts)
                return false;
        for (size_t i = 0; i < a->n_hosts; i++)
                if (strcmp(a->hosts[i], b->hosts[i]) != 0)
                        return false;
        return true;
}

static void multi_text(const char *text, size_t n)
{
        struct fleet_multi m, back, sentinel;
        cJSON *o;
        char *out;
        int r;

        memset(&m, 0xa5, sizeof(m));
        memcpy(&sentinel, &m, sizeof(m));
        r = fleet_parse_multi(text, n, &m);
        if (r < 0) {
                CHECK(r == -EBADMSG || r == -ENOMEM);
                CHECK(memcmp(&m, &sentinel, sizeof(m)) == 0);
                return;
        }
        CHECK(r == 0);
        CHECK(n <= FLEET_VALUE_MAX);
        check_multi(&m);
        o = fleet_multi_to_json(&m);
        CHECK(o && cJSON_IsObject(o));
        CHECK(num_item_is(o, "v", 1) && str_item_is(o, "id", m.id) && str_item_is(o, "origin", m.origin));
        CHECK(cJSON_GetArraySize(o) == 8 + (m.reason ? 1 : 0));
        out = cJSON_PrintUnformatted(o);
        CHECK(out);
        r = fleet_parse_multi(out, strlen(out), &back);
        ORACLE(r == 0);
        if (r == 0) {
                ORACLE(same_multi(&m, &back));
                fleet_multi_done(&back);
        }
        free(out);
        cJSON_Delete(o);
        fleet_multi_done(&m);
        CHECK(m.hosts == NULL && m.reason == NULL && m.n_hosts == 0);
}

/* ---- 2: keys ----------------------------------------------------------------- */

static void split_key(const char *key)
{
        char parts[6][FLEET_NAME_MAX + 1], join[8 * (FLEET_NAME_MAX + 2) + sizeof(PREFIX "/hosts/")];
        int n5 = fleet_split_key(key, PREFIX, parts, 5), n;

        CHECK(n5 == -EINVAL || n5 == -E2BIG || (n5 >= 0 && n5 <= 5));
        n = fleet_split_key(key, PREFIX, parts, 6);
        CHECK(n == -EINVAL || n == -E2BIG || (n >= 0 && n <= 6));
        /* a bigger max changes only -E2BIG */
        ORACLE(n5 == -E2BIG ? n == 6 || n == -E2BIG || n == -EINVAL : n == n5);
        if (n < 0)
                return;
        snprintf(join, sizeof(join), "%s/hosts", PREFIX);
        for (int i = 0; i < n; i++) {
                CHECK(fleet_name_ok(parts[i]));
                strcat(join, "/");
                strcat(join, parts[i]);
        }
        ORACLE(strcmp(join, key) == 0);
}

/* ---- 3: the watch stream ----------------------------------------------------- */

struct sink {
        struct etcd_watch *w;
        uint64_t hash;
        size_t n_events;
};

static void mix(struct sink *s, const void *p, size_t n)
{
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                s->hash = (s->hash ^ b[i]) * 0x100000001b3ULL;
}

/* What jit-fleet does with an event (main.c: on_event, consider). */
static void on_event(void *userdata, const char *type, const struct etcd_kv *kv)
{
        struct sink *s = userdata;
        char parts[5][FLEET_NAME_MAX + 1];

        CHECK(strcmp(type, "PUT") == 0 || strcmp(type, "DELETE") == 0);
        CHECK(kv && kv->key && kv->value);
        CHECK(s->w->last_rev >= kv->mod_revision);
        s->n_events++;
        mix(s, type, strlen(type) + 1);
        mix(s, kv->key, strlen(kv->key) + 1);
        mix(s, kv->value, strlen(kv->value) + 1);
        mix(s, &kv->mod_revision, sizeof(kv->mod_revision));
        split_key(kv->key);
        switch (fleet_split_key(kv->key, PREFIX, parts, 5)) {
        case 5:
                decision_text(kv->value, strlen(kv->value));
                break;
        case 3:
                if (strcmp(parts[1], "multi") == 0)
                        multi_text(kv->value, strlen(kv->value));
                break;
        default:
                break;
        }
}

/* knob 0: all at once; 1: byte by byte; else a deterministic mix of sizes. */
static size_t piece_size(uint8_t knob, size_t i)
{
        if (knob == 0)
                return SIZE_MAX;
        if (knob == 1)
                return 1;
        return 1 + (size_t)((knob * 31u + i * 7u) % (knob % 61u + 3u));
}

static int feed_stream(const uint8_t *p, size_t n, uint8_t knob, struct etcd_watch *w, struct sink *s)
{
        int r = 0;

        *w = (struct etcd_watch){ .on_event = on_event, .userdata = s, .last_rev = 2 };
        *s = (struct sink){ .w = w, .hash = 0xcbf29ce484222325ULL };
        for (size_t off = 0, i = 0; off < n && r == 0; i++) {
                size_t k = piece_size(knob, i);
                int64_t before = w->last_rev;

                if (k > n - off)
                        k = n - off;
                r = etcd_watch_feed(w, (const char *)p + off, k);
                CHECK(r == 0 || r == -EMSGSIZE || r == -ENOMEM);
                CHECK(w->last_rev >= before);
                if (r == 0) {
                        CHECK(w->len < w->cap || (w->len == 0 && w->cap == 0));
                        CHECK(!w->len || !memchr(w->buf, '\n', w->len));
                        CHECK(w->len <= 4 * 1024 * 1024);
                }
                off += k;
        }
        return r;
}

static void fuzz_watch(const uint8_t *p, size_t n)
{
        struct etcd_watch whole, cut;
        struct sink s_whole, s_cut;
        int r_whole, r_cut;

        if (n < 1)
                return;
        r_whole = feed_stream(p + 1, n - 1, 0, &whole, &s_whole);
        r_cut = feed_stream(p + 1, n - 1, p[0], &cut, &s_cut);
        ORACLE(r_whole == r_cut);
        ORACLE(s_whole.n_events == s_cut.n_events && s_whole.hash == s_cut.hash);
        ORACLE(whole.last_rev == cut.last_rev && whole.created == cut.created && whole.len == cut.len);
        ORACLE(strcmp(whole.err, cut.err) == 0);
        CHECK(s_whole.n_events <= n / 8);       /* {"kv":{"key":""}} at the least */
        free(whole.buf);
        free(cut.buf);
}

/* ---- 4: base64 ----------------------------------------------------------------- */

static void fuzz_b64(const char *s)
{
        size_t len = (size_t)-1;
        char *bin = etcd_unb64(s, &len), *back;

        if (!bin) {
                CHECK(len == (size_t)-1);
                return;
        }
        CHECK(len <= strlen(s) / 4 * 3 && bin[len] == '\0');
        ORACLE(strlen(bin) == len);             /* text: no NUL inside */
        back = etcd_b64(bin, len);
        CHECK(back);
        ORACLE(strcmp(back, s) == 0);           /* canonical: one text, one encoding */
        free(back);
        free(bin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s;

        if (size < 1)
                return 0;
        switch (data[0] % 6) {
        case 0:
                fuzz_config(data + 1, size - 1);
                break;
        case 1:
                decision_text((const char *)data + 1, size - 1);
                break;
        case 2:
                s = c_string(data + 1, size - 1);
                split_key(s);
                free(s);
                break;
        case 3:
                fuzz_watch(data + 1, size - 1);
                break;
        case 4:
                s = c_string(data + 1, size - 1);
                fuzz_b64(s);
                free(s);
                break;
        default:
                multi_text((const char *)data + 1, size - 1);
                break;
        }
        return 0;
}
