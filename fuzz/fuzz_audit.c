/* fuzz_audit — jit_audit_verify and jit_audit_split_line over any bytes
 * (an audit log file is outside input for jitctl audit verify|show).
 *
 * Input: the bytes of a log. Invariants checked (abort on violation):
 *  - verify returns 0 or -EBADMSG, and on -EBADMSG names a line within
 *    1..lines read, with a reason;
 *  - a log that verifies stops verifying when any single byte of its
 *    first line is flipped;
 *  - split_line never reports a body longer than the line.
 * The host key is the one of tests/data/audit/golden.log (the same seed),
 * so the golden log in the corpus verifies.
 */
#include "audit.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];

static void init(void)
{
        static int done;
        static const char seed[] = "jit-audit-golden-vector-seed-v1!";
        unsigned char sk[crypto_sign_SECRETKEYBYTES];

        if (done++)
                return;
        CHECK(sodium_init() >= 0);
        CHECK(sizeof(seed) - 1 == crypto_sign_SEEDBYTES);
        crypto_sign_seed_keypair(pk, sk, (const unsigned char *)seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct jit_audit_report rep;
        const char *text = (const char *)data;
        char hash[JIT_AUDIT_HASH_HEX + 1];
        size_t body = 0;
        int r;

        init();
        r = jit_audit_verify(text, size, pk, &rep);
        CHECK(r == 0 || r == -EBADMSG);
        if (r < 0) {
                CHECK(rep.bad_line >= 1 && rep.bad_line <= rep.lines && rep.why[0]);
        } else if (size > 0) {
                /* Flip each byte of the first line: never still valid. */
                char *copy = malloc(size);
                const char *nl = memchr(text, '\n', size);
                size_t first = nl ? (size_t)(nl - text) : size;

                CHECK(copy);
                for (size_t i = 0; i < first && i < 256; i++) {
                        memcpy(copy, text, size);
                        copy[i] ^= 0x01;
                        CHECK(jit_audit_verify(copy, size, pk, &rep) == -EBADMSG);
                }
                free(copy);
        }
        if (jit_audit_split_line(text, size, &body, hash) == 0)
                CHECK(body < size && strlen(hash) == JIT_AUDIT_HASH_HEX);
        return 0;
}
