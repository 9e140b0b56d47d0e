/* fuzz_record — the on-disk envelope (jit_record_open) and the strict JSON
 * readers jit_request_from_json / jit_grant_from_json.
 *
 * Input is used twice:
 *  1. as a whole file for jit_record_open. Mutations almost never keep the
 *     BLAKE2b hash right, so this mostly exercises the envelope checks;
 *  2. as a record body: the harness seals it itself (the same envelope
 *     jit_record_seal writes), so the JSON behind a valid hash is reached,
 *     then fed to both from_json readers.
 * Invariants checked (abort on violation):
 *  - open writes *ret only on success; any single bit flip or truncation of
 *    a valid envelope is refused with -EBADMSG;
 *  - from_json writes *ret only on success and accepts only what it
 *    documents (valid ids, known states, uid < 2^32);
 *  - round trip: for an accepted record x, to_json(x) is accepted again and
 *    to_json(from_json(to_json(x))) prints the same; and seal → open of
 *    to_json(x) gives back the same JSON.
 */
#include "record.h"

#include <cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

#define MAGIC "jit-record 1 "

/* "jit-record 1 <hex>\n" body "\n", in an exact-size heap buffer. */
static char *envelope(const char *body, size_t bl, size_t *ret_len)
{
        unsigned char h[crypto_generichash_BYTES];
        char hex[crypto_generichash_BYTES * 2 + 1];
        size_t ml = strlen(MAGIC), len = ml + sizeof(hex) - 1 + 1 + bl + 1;
        char *out = malloc(len);

        CHECK(out);
        crypto_generichash(h, sizeof(h), (const unsigned char *)body, bl, NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        memcpy(out, MAGIC, ml);
        memcpy(out + ml, hex, sizeof(hex) - 1);
        out[ml + sizeof(hex) - 1] = '\n';
        memcpy(out + ml + sizeof(hex), body, bl);
        out[len - 1] = '\n';
        *ret_len = len;
        return out;
}

static void check_same_json(const cJSON *a, const cJSON *b)
{
        char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);

        CHECK(pa && pb);
        if (strcmp(pa, pb) != 0) {
                fprintf(stderr, "first:  %s\nsecond: %s\n", pa, pb);
                CHECK(!"JSON differs");
        }
        free(pa);
        free(pb);
}

/* seal → open must give the same JSON back. */
static void check_seal_open(const cJSON *j)
{
        char *sealed = NULL;
        size_t len = 0;
        cJSON *back = (cJSON *)1;
        int r = jit_record_seal(j, &sealed, &len);

        if (r == -EFBIG)
                return;
        CHECK(r == 0 && sealed && len == strlen(sealed));
        CHECK(jit_record_open(sealed, len, &back) == 0);
        check_same_json(j, back);
        cJSON_Delete(back);
        free(sealed);
}

static void check_request(const cJSON *j)
{
        struct jit_request *r = (struct jit_request *)1, *r2 = NULL;
        cJSON *j1, *j2;
        int e = jit_request_from_json(j, &r);

        if (e < 0) {
                CHECK(e == -EBADMSG || e == -ENOMEM);
                CHECK(r == (struct jit_request *)1);
                return;
        }
        CHECK(jit_id_is_valid(r->id, 'r'));
        CHECK(!r->grant_id[0] || jit_id_is_valid(r->grant_id, 'g'));
        CHECK((unsigned)r->state < _JIT_REQ_STATE_MAX);
        CHECK(r->user && r->role);
        CHECK(!r->reason || strlen(r->reason) <= JIT_TEXT_MAX);
        CHECK(!r->comment || strlen(r->comment) <= JIT_TEXT_MAX);

        j1 = jit_request_to_json(r);
        CHECK(j1);
        CHECK(jit_request_from_json(j1, &r2) == 0);
        j2 = jit_request_to_json(r2);
        CHECK(j2);
        check_same_json(j1, j2);
        check_seal_open(j1);
        cJSON_Delete(j1);
        cJSON_Delete(j2);
        jit_request_free(r2);
        jit_request_free(r);
}

static void check_grant(const cJSON *j)
{
        struct jit_grant *g = (struct jit_grant *)1, *g2 = NULL;
        cJSON *j1, *j2;
        int e = jit_grant_from_json(j, &g);

        if (e < 0) {
                CHECK(e == -EBADMSG || e == -ENOMEM);
                CHECK(g == (struct jit_grant *)1);
                return;
        }
        CHECK(jit_id_is_valid(g->id, 'g'));
        CHECK(jit_id_is_valid(g->request_id, 'r'));
        CHECK((unsigned)g->state < _JIT_GRANT_STATE_MAX);
        CHECK(g->user && g->role && g->group);

        j1 = jit_grant_to_json(g);
        CHECK(j1);
        CHECK(jit_grant_from_json(j1, &g2) == 0);
        j2 = jit_grant_to_json(g2);
        CHECK(j2);
        check_same_json(j1, j2);
        check_seal_open(j1);
        cJSON_Delete(j1);
        cJSON_Delete(j2);
        jit_grant_free(g2);
        jit_grant_free(g);
}

/* A valid envelope must not survive one flipped bit or a lost byte. */
static void check_tamper(const char *env, size_t len, const uint8_t *data, size_t size)
{
        char *copy = malloc(len);
        cJSON *j = (cJSON *)1;
        size_t pos = 0;
        unsigned bit = 0;

        CHECK(copy);
        for (size_t i = 0; i < size; i++)
                pos = pos * 131 + data[i];
        pos %= len;
        bit = size ? data[size - 1] % 8u : 0;
        memcpy(copy, env, len);
        copy[pos] ^= (char)(1u << bit);
        CHECK(jit_record_open(copy, len, &j) == -EBADMSG);
        CHECK(jit_record_open(env, len - 1, &j) == -EBADMSG);
        CHECK(j == (cJSON *)1);
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy, *env;
        size_t len;
        cJSON *j = (cJSON *)1;
        int r;

        CHECK(sodium_init() >= 0);

        /* 1. The input as an envelope, in an exact-size buffer. */
        copy = malloc(size ? size : 1);
        CHECK(copy);
        memcpy(copy, data, size);
        r = jit_record_open(copy, size, &j);
        if (r == 0) {
                CHECK(j && j != (cJSON *)1);
                check_request(j);
                check_grant(j);
                cJSON_Delete(j);
        } else {
                CHECK(r == -EBADMSG);
                CHECK(j == (cJSON *)1);
        }
        free(copy);

        /* 2. The input as a body behind a valid hash. */
        env = envelope((const char *)data, size, &len);
        j = (cJSON *)1;
        r = jit_record_open(env, len, &j);
        if (len > JIT_RECORD_MAX_SIZE) {
                CHECK(r == -EBADMSG);
        } else if (r == 0) {
                CHECK(j && j != (cJSON *)1);
                check_request(j);
                check_grant(j);
                cJSON_Delete(j);
        } else {
                CHECK(r == -EBADMSG);
                CHECK(j == (cJSON *)1);
        }
        if (len <= JIT_RECORD_MAX_SIZE)
                check_tamper(env, len, data, size);
        free(env);
        return 0;
}
