/* Signed decisions: the canonical encoding (golden text), signatures over
 * it, and the sealed approver key file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "decision.h"

#define SEED "jit-decision-unit-test-seed-v01!"        /* 32 bytes */

static const char golden[] =
        "jit-decision 1\n"
        "request=r-0123456789\n"
        "requester=alice\n"
        "host=web1\n"
        "role=ops\n"
        "group=jit-ops\n"
        "ttl=900\n"
        "decision=approve\n"
        "approver=bob\n"
        "time=1795368403461026\n"
        "nonce=00112233445566778899aabbccddeeff\n";

/* Ed25519 is deterministic: the signature of the golden text by the key
 * from SEED, computed independently (Python's cryptography package). */
static const char golden_sig[] =
        "8d0a05ec521fa940d4405b473614fb1067186e3811c0d19f557d248d96fae3a0"
        "cb3ae41a962ac61619768bda117a29916751114c341f474a26ba6310b9c36c0e";

static struct jit_decision_fields fields(void)
{
        struct jit_decision_fields f = {
                .request = "r-0123456789", .requester = "alice", .host = "web1", .role = "ops",
                .group = "jit-ops", .decision = "approve", .approver = "bob", .ttl = 900,
                .time_us = 1795368403461026ULL,
        };

        memcpy(f.nonce, "00112233445566778899aabbccddeeff", 33);
        return f;
}

static void keys(unsigned char pk[32], unsigned char sk[64])
{
        assert_int_equal(crypto_sign_seed_keypair(pk, sk, (const unsigned char *)SEED), 0);
}

static void t_encoding_is_the_documented_text(void **state)
{
        struct jit_decision_fields f = fields();
        char buf[JIT_DECISION_MAX];

        (void)state;
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), 0);
        assert_string_equal(buf, golden);
}

static void t_encoding_refuses_what_could_forge_a_line(void **state)
{
        struct jit_decision_fields f = fields();
        char buf[JIT_DECISION_MAX];

        (void)state;
        f.requester = "alice\napprover=mallory";
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        f = fields();
        f.decision = "maybe";
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        f = fields();
        f.nonce[5] = '\0';
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        f = fields();
        memcpy(f.nonce, "0011223344\nrequester=mallory\n000", 33);
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        f = fields();
        memcpy(f.nonce, "00112233445566778899AABBCCDDEEFF", 33);
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        f = fields();
        f.group = "";
        assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        f = fields();
        assert_int_equal(jit_decision_encode(buf, 64, &f), -ENOBUFS);
        {
                /* host= names up to 100 hosts of 64 characters (a request for several hosts) */
                static char hosts[JIT_DECISION_HOST_MAX + 2];

                for (size_t i = 0; i < 100; i++) {
                        memset(hosts + i * 65, 'a' + (char)(i % 26), 64);
                        hosts[i * 65 + 64] = i < 99 ? ',' : '\0';
                }
                f = fields();
                f.host = hosts;
                assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), 0);
                f.role = hosts;         /* other values stay under 256 */
                assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
                memset(hosts, 'h', JIT_DECISION_HOST_MAX + 1);
                hosts[JIT_DECISION_HOST_MAX + 1] = '\0';
                f = fields();
                f.host = hosts;
                assert_int_equal(jit_decision_encode(buf, sizeof(buf), &f), -EINVAL);
        }
}

static void t_signature_verifies_and_binds_every_field(void **state)
{
        static const char *const variants[] = {
                "request=r-0123456780", "requester=alicf", "host=web2", "role=opt", "group=jit-opt",
                "ttl=901", "decision=deny", "approver=bov", "time=1795368403461027",
                "nonce=00112233445566778899aabbccddeefe",
        };
        unsigned char pk[32], sk[64];
        char sig[129];

        (void)state;
        keys(pk, sk);
        assert_int_equal(jit_decision_sign(sig, golden, sk), 0);
        assert_string_equal(sig, golden_sig);
        assert_int_equal(jit_decision_verify(sig, golden, pk), 0);
        /* Change any one field: the signature no longer holds. */
        for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
                char other[JIT_DECISION_MAX], key[32];
                const char *eq = strchr(variants[i], '=');
                char *at, *end;

                snprintf(key, sizeof(key), "\n%.*s=", (int)(eq - variants[i]), variants[i]);
                strcpy(other, golden);
                at = strstr(other, key);
                assert_non_null(at);
                end = strchr(at + 1, '\n');
                memmove(at + 1 + strlen(variants[i]), end, strlen(end) + 1);
                memcpy(at + 1, variants[i], strlen(variants[i]));
                assert_string_not_equal(other, golden);
                assert_int_equal(jit_decision_verify(sig, other, pk), -EKEYREJECTED);
        }
}

static void t_signature_of_another_key_or_malformed_is_refused(void **state)
{
        unsigned char pk[32], sk[64], pk2[32], sk2[64];
        char sig[129];

        (void)state;
        keys(pk, sk);
        crypto_sign_keypair(pk2, sk2);
        assert_int_equal(jit_decision_sign(sig, golden, sk2), 0);
        assert_int_equal(jit_decision_verify(sig, golden, pk), -EKEYREJECTED);
        assert_int_equal(jit_decision_verify("abcd", golden, pk), -EBADMSG);
        assert_int_equal(jit_decision_verify(NULL, golden, pk), -EBADMSG);
        sig[0] = 'z';
        assert_int_equal(jit_decision_verify(sig, golden, pk2), -EBADMSG);
}

static void t_sealed_key_opens_only_with_its_passphrase(void **state)
{
        unsigned char pk[32], sk[64], back[64];
        char *text = NULL;

        (void)state;
        keys(pk, sk);
        assert_int_equal(jit_decision_seal_key(&text, sk, "short"), -EINVAL);
        assert_int_equal(jit_decision_seal_key(&text, sk, "correct horse battery"), 0);
        assert_non_null(strstr(text, "jit-approver-key 1\n"));
        assert_null(strstr(text, "correct horse"));
        assert_int_equal(jit_decision_open_key(back, text, strlen(text), "correct horse battery"), 0);
        assert_memory_equal(back, sk, 64);
        assert_int_equal(jit_decision_open_key(back, text, strlen(text), "correct horse batterz"), -EKEYREJECTED);
        /* Any change to the sealed text is refused. */
        for (size_t i = strlen("jit-approver-key 1\n"); i < strlen(text); i += 7) {
                char *copy = strdup(text);

                if (copy[i] == '\n') {
                        free(copy);
                        continue;
                }
                copy[i] = copy[i] == '0' ? '1' : '0';
                assert_int_not_equal(jit_decision_open_key(back, copy, strlen(copy), "correct horse battery"), 0);
                free(copy);
        }
        assert_int_equal(jit_decision_open_key(back, text, 10, "correct horse battery"), -EBADMSG);
        free(text);
}

static void t_key_file_is_exactly_its_four_lines(void **state)
{
        struct jit_decision_sealed_key k;
        unsigned char pk[32], sk[64], back[64];
        char *text = NULL, *longer = NULL;

        (void)state;
        keys(pk, sk);
        assert_int_equal(jit_decision_seal_key(&text, sk, "correct horse battery"), 0);
        assert_int_equal(jit_decision_parse_key_file(&k, text, strlen(text)), 0);
        assert_int_equal(jit_decision_parse_key_file(&k, text, strlen(text) - 1), -EBADMSG);
        assert_true(asprintf(&longer, "%sextra\n", text) > 0);
        assert_int_equal(jit_decision_parse_key_file(&k, longer, strlen(longer)), -EBADMSG);
        assert_int_equal(jit_decision_open_key(back, longer, strlen(longer), "correct horse battery"), -EBADMSG);
        free(longer);
        free(text);
}

static void t_public_key_text_is_strict(void **state)
{
        unsigned char pk[32], sk[64], got[32];
        char hex[66];

        (void)state;
        keys(pk, sk);
        sodium_bin2hex(hex, 65, pk, 32);
        assert_int_equal(jit_decision_parse_pub(hex, 64, got), 0);
        assert_memory_equal(got, pk, 32);
        strcat(hex, "\n");
        assert_int_equal(jit_decision_parse_pub(hex, 65, got), 0);
        assert_int_equal(jit_decision_parse_pub(hex, 63, got), -EBADMSG);
        hex[64] = 'x';
        assert_int_equal(jit_decision_parse_pub(hex, 65, got), -EBADMSG);
        hex[3] = 'g';
        assert_int_equal(jit_decision_parse_pub(hex, 64, got), -EBADMSG);
}

static void t_nonces_differ(void **state)
{
        char a[33], b[33];

        (void)state;
        jit_decision_nonce(a);
        jit_decision_nonce(b);
        assert_int_equal(strlen(a), 32);
        assert_string_not_equal(a, b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_encoding_is_the_documented_text),
                cmocka_unit_test(t_encoding_refuses_what_could_forge_a_line),
                cmocka_unit_test(t_signature_verifies_and_binds_every_field),
                cmocka_unit_test(t_signature_of_another_key_or_malformed_is_refused),
                cmocka_unit_test(t_sealed_key_opens_only_with_its_passphrase),
                cmocka_unit_test(t_key_file_is_exactly_its_four_lines),
                cmocka_unit_test(t_public_key_text_is_strict),
                cmocka_unit_test(t_nonces_differ),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
