/* decision.h — signed decisions: an approver's approve/deny, signed with
 * the approver's own Ed25519 key, checkable offline by anyone.
 *
 * Owns: the canonical encoding of a decision, the sealed key file, and
 * the approver registry's file names.
 * Canonical encoding (exactly these lines, '\n'-terminated, no others):
 *   jit-decision 1
 *   request=<id>
 *   requester=<user>
 *   host=<hostname>
 *   role=<role>
 *   group=<group>
 *   ttl=<seconds>
 *   decision=<approve|deny|break-glass>  (break-glass: signed by the requester)
 *   approver=<user>
 *   time=<microseconds since the epoch>
 *   nonce=<32 hex>
 * A decision on a request for several hosts (record.h, fleet_id) has
 * request=<fleet id>, host=<the hosts, sorted, comma-separated>, group=*
 * (the role's group on each host) and ttl=<the TTL asked>.
 * Values may not contain '\n' and the nonce is 32 lowercase hex digits
 * (jit_decision_encode refuses anything else).
 * Key file (approver's, 0600): "jit-approver-key 1\n" then hex lines
 * salt, nonce, secretbox(Ed25519 secret key) sealed with a key from
 * Argon2id (crypto_pwhash, INTERACTIVE limits) of the passphrase.
 * MUSTs: secrets are wiped (sodium_memzero) after use; verification is
 * crypto_sign_verify_detached over the exact canonical bytes.
 */
#ifndef JIT_DECISION_H
#define JIT_DECISION_H

#include <stddef.h>
#include <stdint.h>

#define JIT_APPROVERS_DIR "approvers"           /* below /etc/jit: <user>.pub */
#define JIT_DECISION_MAX 8192            /* a fleet decision names up to 100 hosts */
#define JIT_DECISION_HOST_MAX 6500      /* host=: 100 names of up to 64, and commas; other values 255 */
#define JIT_DECISION_SKEW_US (300ULL * 1000000) /* clock difference accepted */

struct jit_decision_fields {
        const char *request, *requester, *host, *role, *group, *decision, *approver;
        uint64_t ttl, time_us;
        char nonce[33];
};

/* Canonical text into buf (size >= JIT_DECISION_MAX). 0 or -EINVAL. */
int jit_decision_encode(char *buf, size_t size, const struct jit_decision_fields *f);

/* A fresh random nonce. */
void jit_decision_nonce(char nonce[33]);

int jit_decision_sign(char sig_hex[129], const char *canonical, const unsigned char sk[64]);
int jit_decision_verify(const char *sig_hex, const char *canonical, const unsigned char pk[32]);

/* Public keys as 64 hex characters (and an optional newline). */
int jit_decision_parse_pub(const char *text, size_t len, unsigned char pk[32]);

/* Sealed secret key file text <-> key, with a passphrase. */
int jit_decision_seal_key(char **ret_text, const unsigned char sk[64], const char *passphrase);
int jit_decision_open_key(unsigned char sk[64], const char *text, size_t len, const char *passphrase);

/* The parts of a sealed key file (sizes: crypto_pwhash_SALTBYTES,
 * crypto_secretbox_NONCEBYTES, 64 + crypto_secretbox_MACBYTES). */
struct jit_decision_sealed_key {
        unsigned char salt[16], nonce[24], box[80];
};

/* What jit_decision_open_key reads of the text before it runs the KDF:
 * exactly the magic line and three hex lines, nothing after them.
 * 0 or -EBADMSG; *ret is written only on success. */
int jit_decision_parse_key_file(struct jit_decision_sealed_key *ret, const char *text, size_t len);

#endif
