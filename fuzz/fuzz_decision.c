/* fuzz_decision — signed decisions and approvers' keys (common/decision.c):
 * jit_decision_parse_pub (a registered .pub file), jit_decision_parse_key_file
 * and jit_decision_open_key (the sealed approver.key), jit_decision_verify
 * (a signature and canonical text from a record or a client), and
 * jit_decision_encode (the canonical text, from fields a client names).
 *
 * Input: byte 0 mod 4 picks (seeds start with an ASCII digit):
 *  0  a public key file's bytes;
 *  1  a sealed key file's bytes;
 *  2  a signature's hex, '\n', then the canonical text it claims to sign;
 *  3  the fields to encode, NUL-separated: request, requester, host, role,
 *     group, decision, approver, nonce, ttl, time (decimal); a field left
 *     out is NULL.
 * Invariants checked (abort on violation):
 *  - parse_pub accepts exactly 64 hex digits and an optional newline, and
 *    then gives those bytes; on failure the key is not written;
 *  - parse_key_file accepts exactly the magic line and three hex lines of
 *    the right sizes, nothing after (the text re-made from what it gives
 *    equals the input but for hex case); on failure nothing is written,
 *    and open_key refuses the same text with -EBADMSG, sk untouched;
 *  - verify returns 0, -EBADMSG (the signature is not 128 hex digits) or
 *    -EKEYREJECTED, and accepts only the one signature the harness's key
 *    makes over exactly that text;
 *  - encode accepts exactly what the header allows (every value 1..255
 *    bytes without a newline, host 1..JIT_DECISION_HOST_MAX, a list; a
 *    known decision; a nonce of 32 lowercase hex digits), and then writes the 11 documented lines, in order, each
 *    value as given -- never an extra line; it fits JIT_DECISION_MAX and
 *    exactly-sized buffers (one byte less: -ENOBUFS); what it writes
 *    signs and verifies.
 * The KDF: jit_decision_open_key runs Argon2id (64 MiB) once the text
 * parses, about 0.1 s -- a fuzzer that ran it on every valid input would
 * do ten executions a second. So it runs on fuzzed text only when the
 * parser refuses it (no KDF), and with the KDF only at start-up, on the
 * harness's own sealed key (the fixed passphrase opens it to the same
 * secret key, another one is refused).
 */
#include "decision.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

#define PASSPHRASE "fuzz passphrase, fixed"

static unsigned char pk[32], sk[64];

static void init(void)
{
        static int done;
        static const char seed[] = "jit-fuzz-decision-key-seed-v1!!!";
        unsigned char back[64];
        char *sealed = NULL;

        if (done++)
                return;
        CHECK(sodium_init() >= 0);
        CHECK(sizeof(seed) - 1 == crypto_sign_SEEDBYTES);
        crypto_sign_seed_keypair(pk, sk, (const unsigned char *)seed);
        /* The whole key path once, KDF included. */
        CHECK(jit_decision_seal_key(&sealed, sk, PASSPHRASE) == 0);
        CHECK(jit_decision_open_key(back, sealed, strlen(sealed), PASSPHRASE) == 0);
        CHECK(memcmp(back, sk, sizeof(back)) == 0);
        memset(back, 0xa5, sizeof(back));
        CHECK(jit_decision_open_key(back, sealed, strlen(sealed), PASSPHRASE "!") == -EKEYREJECTED);
        for (size_t i = 0; i < sizeof(back); i++)
                CHECK(back[i] == 0xa5);
        free(sealed);
}

static bool all_hex(const char *s, size_t n)
{
        return strspn(s, "0123456789abcdefABCDEF") >= n;
}

static void fuzz_pub(const char *text, size_t len)
{
        unsigned char got[32], hex_back[65];
        bool ok = (len == 64 || (len == 65 && text[64] == '\n')) && all_hex(text, 64);
        int r;

        memset(got, 0xa5, sizeof(got));
        r = jit_decision_parse_pub(text, len, got);
        CHECK(r == 0 || r == -EBADMSG);
        CHECK((r == 0) == ok);
        if (r < 0) {
                for (size_t i = 0; i < sizeof(got); i++)
                        CHECK(got[i] == 0xa5);
                return;
        }
        sodium_bin2hex((char *)hex_back, sizeof(hex_back), got, sizeof(got));
        CHECK(strncasecmp((const char *)hex_back, text, 64) == 0);
}

/* text is the input, NUL-terminated at len (it may hold NULs before). */
static void fuzz_key_file(const char *text, size_t len)
{
        struct jit_decision_sealed_key k, untouched;
        char s[33], n[49], b[161], *remade = NULL;
        unsigned char back[64];
        int r, m;

        memset(&k, 0xa5, sizeof(k));
        untouched = k;
        r = jit_decision_parse_key_file(&k, text, len);
        CHECK(r == 0 || r == -EBADMSG);
        if (r < 0) {
                CHECK(memcmp(&k, &untouched, sizeof(k)) == 0);
                memset(back, 0xa5, sizeof(back));
                CHECK(jit_decision_open_key(back, text, len, PASSPHRASE) == -EBADMSG);
                for (size_t i = 0; i < sizeof(back); i++)
                        CHECK(back[i] == 0xa5);
                return;
        }
        sodium_bin2hex(s, sizeof(s), k.salt, sizeof(k.salt));
        sodium_bin2hex(n, sizeof(n), k.nonce, sizeof(k.nonce));
        sodium_bin2hex(b, sizeof(b), k.box, sizeof(k.box));
        m = asprintf(&remade, "jit-approver-key 1\n%s\n%s\n%s\n", s, n, b);
        CHECK(m > 0 && (size_t)m == len && strncasecmp(remade, text, len) == 0);
        free(remade);
}

static void fuzz_verify(const char *text, size_t len)
{
        const char *nl = memchr(text, '\n', len);
        char *sig, mine[129];
        const char *canonical;
        int r;

        if (!nl)
                return;
        sig = strndup(text, (size_t)(nl - text));
        CHECK(sig);
        canonical = nl + 1;
        r = jit_decision_verify(sig, canonical, pk);
        CHECK(r == 0 || r == -EBADMSG || r == -EKEYREJECTED);
        CHECK((r == -EBADMSG) == !(strlen(sig) == 128 && all_hex(sig, 128)));
        CHECK(jit_decision_sign(mine, canonical, sk) == 0);
        if (r == 0)
                CHECK(strcasecmp(mine, sig) == 0);
        CHECK(jit_decision_verify(mine, canonical, pk) == 0);
        free(sig);
}

static bool clean_max(const char *v, size_t max)
{
        return v && *v && !strchr(v, '\n') && strlen(v) <= max;
}

static bool clean(const char *v)
{
        return clean_max(v, 255);
}

/* What decision.h allows, written out again. */
static bool encodable(const struct jit_decision_fields *f)
{
        static const char *const decisions[] = { "approve", "deny", "break-glass" };
        bool known = false;

        for (size_t i = 0; f->decision && i < 3; i++)
                known |= strcmp(f->decision, decisions[i]) == 0;
        return known && clean(f->request) && clean(f->requester) && clean_max(f->host, JIT_DECISION_HOST_MAX) &&
               clean(f->role) &&
               clean(f->group) && clean(f->approver) && strlen(f->nonce) == 32 &&
               strspn(f->nonce, "0123456789abcdef") == 32;
}

static void check_lines(const char *text, const struct jit_decision_fields *f)
{
        char ttl[21], time_us[21];
        const char *const want[][2] = {
                { "jit-decision 1", NULL }, { "request=", f->request }, { "requester=", f->requester },
                { "host=", f->host }, { "role=", f->role }, { "group=", f->group }, { "ttl=", ttl },
                { "decision=", f->decision }, { "approver=", f->approver }, { "time=", time_us },
                { "nonce=", f->nonce },
        };
        const char *p = text;

        snprintf(ttl, sizeof(ttl), "%" PRIu64, f->ttl);
        snprintf(time_us, sizeof(time_us), "%" PRIu64, f->time_us);
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const char *nl = strchr(p, '\n');
                size_t k = strlen(want[i][0]);

                CHECK(nl && strncmp(p, want[i][0], k) == 0);
                if (want[i][1])
                        CHECK((size_t)(nl - p) == k + strlen(want[i][1]) &&
                              memcmp(p + k, want[i][1], strlen(want[i][1])) == 0);
                else
                        CHECK((size_t)(nl - p) == k);
                p = nl + 1;
        }
        CHECK(*p == '\0');
}

static void fuzz_encode(const char *text, size_t len)
{
        const char *v[10] = { 0 };
        struct jit_decision_fields f = { 0 };
        char buf[JIT_DECISION_MAX], sig[129], *exact;
        size_t n = 0, out;
        int r;

        for (const char *p = text; p < text + len && n < 10; p += strlen(p) + 1)
                v[n++] = p;
        f = (struct jit_decision_fields){
                .request = v[0], .requester = v[1], .host = v[2], .role = v[3], .group = v[4],
                .decision = v[5], .approver = v[6],
                .ttl = v[8] ? strtoull(v[8], NULL, 10) : 0, .time_us = v[9] ? strtoull(v[9], NULL, 10) : 0,
        };
        snprintf(f.nonce, sizeof(f.nonce), "%s", v[7] ? v[7] : "");
        r = jit_decision_encode(buf, sizeof(buf), &f);
        CHECK(r == 0 || r == -EINVAL);
        CHECK((r == 0) == encodable(&f));
        if (r < 0)
                return;
        check_lines(buf, &f);
        out = strlen(buf);
        exact = malloc(out + 1);
        CHECK(exact);
        CHECK(jit_decision_encode(exact, out + 1, &f) == 0 && strcmp(exact, buf) == 0);
        free(exact);
        exact = malloc(out);
        CHECK(exact);
        CHECK(jit_decision_encode(exact, out, &f) == -ENOBUFS);
        free(exact);
        CHECK(jit_decision_sign(sig, buf, sk) == 0);
        CHECK(jit_decision_verify(sig, buf, pk) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text;
        size_t len;

        init();
        if (size < 1 || size > 8192)
                return 0;
        len = size - 1;
        text = malloc(len + 1);
        CHECK(text);
        memcpy(text, data + 1, len);
        text[len] = '\0';
        switch (data[0] % 4) {
        case 0: fuzz_pub(text, len); break;
        case 1: fuzz_key_file(text, len); break;
        case 2: fuzz_verify(text, len); break;
        default: fuzz_encode(text, len); break;
        }
        free(text);
        return 0;
}
