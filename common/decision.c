#include "decision.h"
#include "cleanup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAGIC "jit-approver-key 1\n"

static bool clean_max(const char *v, size_t max)
{
        return v && *v && !strchr(v, '\n') && strlen(v) <= max;
}

static bool clean(const char *v)
{
        return clean_max(v, 255);
}

/* A client sends the nonce: exactly what jit_decision_nonce makes, or a
 * newline in it would add a line to the signed text. */
static bool is_nonce(const char *v)
{
        return strnlen(v, 33) == 32 && strspn(v, "0123456789abcdef") == 32;
}

int jit_decision_encode(char *buf, size_t size, const struct jit_decision_fields *f)
{
        int n;

        if (!clean(f->request) || !clean(f->requester) || !clean_max(f->host, JIT_DECISION_HOST_MAX) || !clean(f->role) ||
            !clean(f->group) || !clean(f->approver) || !is_nonce(f->nonce) ||
            !f->decision || (strcmp(f->decision, "approve") != 0 && strcmp(f->decision, "deny") != 0 &&
                             strcmp(f->decision, "break-glass") != 0))
                return -EINVAL;
        n = snprintf(buf, size,
                     "jit-decision 1\nrequest=%s\nrequester=%s\nhost=%s\nrole=%s\ngroup=%s\nttl=%" PRIu64
                     "\ndecision=%s\napprover=%s\ntime=%" PRIu64 "\nnonce=%s\n",
                     f->request, f->requester, f->host, f->role, f->group, f->ttl, f->decision,
                     f->approver, f->time_us, f->nonce);
        return n > 0 && (size_t)n < size ? 0 : -ENOBUFS;
}

void jit_decision_nonce(char nonce[33])
{
        unsigned char r[16];

        randombytes_buf(r, sizeof(r));
        sodium_bin2hex(nonce, 33, r, sizeof(r));
}

int jit_decision_sign(char sig_hex[129], const char *canonical, const unsigned char sk[64])
{
        unsigned char sig[crypto_sign_BYTES];

        if (sodium_init() < 0)
                return -EIO;
        crypto_sign_detached(sig, NULL, (const unsigned char *)canonical, strlen(canonical), sk);
        sodium_bin2hex(sig_hex, 129, sig, sizeof(sig));
        return 0;
}

int jit_decision_verify(const char *sig_hex, const char *canonical, const unsigned char pk[32])
{
        unsigned char sig[crypto_sign_BYTES];
        size_t got = 0;

        if (sodium_init() < 0)
                return -EIO;
        if (!sig_hex || strlen(sig_hex) != 128 ||
            sodium_hex2bin(sig, sizeof(sig), sig_hex, 128, NULL, &got, NULL) < 0 || got != sizeof(sig))
                return -EBADMSG;
        return crypto_sign_verify_detached(sig, (const unsigned char *)canonical, strlen(canonical), pk) == 0
               ? 0 : -EKEYREJECTED;
}

int jit_decision_parse_pub(const char *text, size_t len, unsigned char pk[32])
{
        unsigned char k[32];
        size_t got = 0;

        if (len < 64 || len > 65 || (len == 65 && text[64] != '\n'))
                return -EBADMSG;
        if (sodium_hex2bin(k, sizeof(k), text, 64, NULL, &got, NULL) < 0 || got != sizeof(k))
                return -EBADMSG;
        memcpy(pk, k, sizeof(k));
        return 0;
}

static int derive(unsigned char key[crypto_secretbox_KEYBYTES], const char *pass,
                  const unsigned char salt[crypto_pwhash_SALTBYTES])
{
        return crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, strlen(pass), salt,
                             crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                             crypto_pwhash_ALG_ARGON2ID13) == 0 ? 0 : -ENOMEM;
}

int jit_decision_seal_key(char **ret_text, const unsigned char sk[64], const char *passphrase)
{
        unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
        unsigned char key[crypto_secretbox_KEYBYTES], box[64 + crypto_secretbox_MACBYTES];
        char shex[sizeof(salt) * 2 + 1], nhex[sizeof(nonce) * 2 + 1], bhex[sizeof(box) * 2 + 1];
        char *out;
        int r;

        if (sodium_init() < 0)
                return -EIO;
        if (!passphrase || strlen(passphrase) < 8)
                return -EINVAL;
        randombytes_buf(salt, sizeof(salt));
        randombytes_buf(nonce, sizeof(nonce));
        r = derive(key, passphrase, salt);
        if (r < 0)
                return r;
        crypto_secretbox_easy(box, sk, 64, nonce, key);
        sodium_memzero(key, sizeof(key));
        sodium_bin2hex(shex, sizeof(shex), salt, sizeof(salt));
        sodium_bin2hex(nhex, sizeof(nhex), nonce, sizeof(nonce));
        sodium_bin2hex(bhex, sizeof(bhex), box, sizeof(box));
        if (asprintf(&out, KEY_MAGIC "%s\n%s\n%s\n", shex, nhex, bhex) < 0)
                return -ENOMEM;
        *ret_text = out;
        return 0;
}

/* One line of exactly size bytes in hex at *p; *p moves past its '\n'. */
static int hex_line(unsigned char *out, size_t size, const char **p, const char *end)
{
        const char *stop = NULL;
        size_t got = 0;

        if (*p >= end || sodium_hex2bin(out, size, *p, (size_t)(end - *p), NULL, &got, &stop) < 0 ||
            got != size || !stop || stop >= end || *stop != '\n')
                return -EBADMSG;
        *p = stop + 1;
        return 0;
}

_Static_assert(sizeof(((struct jit_decision_sealed_key *)0)->salt) == crypto_pwhash_SALTBYTES &&
               sizeof(((struct jit_decision_sealed_key *)0)->nonce) == crypto_secretbox_NONCEBYTES &&
               sizeof(((struct jit_decision_sealed_key *)0)->box) == 64 + crypto_secretbox_MACBYTES,
               "jit_decision_sealed_key has libsodium's sizes");

int jit_decision_parse_key_file(struct jit_decision_sealed_key *ret, const char *text, size_t len)
{
        struct jit_decision_sealed_key k;
        const char *p, *end = text + len;

        if (len < strlen(KEY_MAGIC) || memcmp(text, KEY_MAGIC, strlen(KEY_MAGIC)) != 0)
                return -EBADMSG;
        p = text + strlen(KEY_MAGIC);
        if (hex_line(k.salt, sizeof(k.salt), &p, end) < 0 || hex_line(k.nonce, sizeof(k.nonce), &p, end) < 0 ||
            hex_line(k.box, sizeof(k.box), &p, end) < 0 || p != end)
                return -EBADMSG;
        *ret = k;
        return 0;
}

int jit_decision_open_key(unsigned char sk[64], const char *text, size_t len, const char *passphrase)
{
        struct jit_decision_sealed_key k;
        unsigned char key[crypto_secretbox_KEYBYTES];
        int r;

        if (sodium_init() < 0)
                return -EIO;
        if (!passphrase || jit_decision_parse_key_file(&k, text, len) < 0)
                return -EBADMSG;
        r = derive(key, passphrase, k.salt);
        if (r < 0)
                return r;
        r = crypto_secretbox_open_easy(sk, k.box, sizeof(k.box), k.nonce, key) == 0 ? 0 : -EKEYREJECTED;
        sodium_memzero(key, sizeof(key));
        return r;
}
