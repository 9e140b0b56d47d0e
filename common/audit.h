/* audit.h — the local audit log: one JSON line per event, each linked to
 * the one before it by a BLAKE2b-256 hash, with checkpoints signed by the
 * host's Ed25519 key.
 *
 * Owns: the log file's format, appending to it, and verifying it.
 * Line format (one line, '\n'-terminated):
 *   {"seq":N,"time_us":T,"event":"E",...fields...,"prev":"<hex>","hash":"<hex>"}
 * where hash = BLAKE2b-256(body), body being the line's bytes up to (not
 * including) the final ',"hash":"<hex>"}', and prev is the previous line's
 * hash (64 zeros for the first line). seq starts at 1 and grows by one.
 * A checkpoint is a line with event "checkpoint" and a field "sig": the
 * hex Ed25519 signature, by the host key, of "jit-audit-checkpoint 1 " +
 * seq + " " + prev (the hash of the line before it).
 * MUSTs: an append is written with one write() and, when durable,
 * fdatasync'ed before the function returns success (the service acts only
 * after that); the
 * file is opened O_APPEND|O_NOFOLLOW|O_CLOEXEC below a verified directory
 * fd; verification names the first bad line and never trusts "hash".
 */
#ifndef JIT_AUDIT_H
#define JIT_AUDIT_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_AUDIT_FILE "audit.log"
#define JIT_AUDIT_HEAD_FILE "audit.head"    /* "seq hash\n" of the last durable line */
#define JIT_AUDIT_LINE_MAX (64 * 1024)
#define JIT_AUDIT_HASH_HEX 64
#define JIT_AUDIT_CHECKPOINT_EVERY 64   /* lines between signed checkpoints */

struct jit_audit;

/* Open (creating, mode 0600) dir/audit.log for appending and pick up the
 * chain where it ends. sk is the 64-byte Ed25519 secret key used for
 * checkpoints (copied). Returns 0 or -errno; -EBADMSG when the last line
 * cannot be read as a chain link (the log needs an admin's attention);
 * a log that is not a regular file of ours with one link is refused as
 * jit_safeio_read_at refuses it (-ELOOP, -EISDIR, -ENXIO, -EMLINK, -EPERM),
 * without blocking on a FIFO. */
int jit_audit_open(int dirfd, const unsigned char sk[64], struct jit_audit **ret);

/* Append one event. fields (may be NULL) is an object whose members are
 * copied after seq/time_us/event; the caller keeps it. With durable, it
 * returns 0 only once the line is on disk (fdatasync); without (uses of a
 * grant, on the fast path), once it is written. */
int jit_audit_append(struct jit_audit *a, const char *event, uint64_t time_us, const cJSON *fields,
                     bool durable);

/* Append a signed checkpoint now. */
int jit_audit_checkpoint(struct jit_audit *a, uint64_t time_us);

uint64_t jit_audit_seq(const struct jit_audit *a);
/* The hash of the last line written (hex; "" before the first). */
const char *jit_audit_head(const struct jit_audit *a);
void jit_audit_free(struct jit_audit *a);

struct jit_audit_report {
        uint64_t lines;                 /* lines read */
        uint64_t checkpoints;           /* good signed checkpoints */
        uint64_t last_checkpoint_line;  /* 0 if none */
        uint64_t bad_line;              /* first bad line (1-based), 0 if none */
        char why[160];
        char last_hash[JIT_AUDIT_HASH_HEX + 1]; /* of the last line, when it verified */
};

/* Verify a whole log held in memory against the host public key (pk may
 * be NULL: then checkpoint signatures cannot be checked and count as bad).
 * Returns 0 when every line holds, -EBADMSG with report->bad_line set. */
int jit_audit_verify(const char *data, size_t len, const unsigned char pk[32],
                     struct jit_audit_report *report);

/* After jit_audit_verify succeeded (rep_ok): does the log reach the point
 * audit.head (its text in head) records? Lines cut off the end are found
 * here. A head older than the log is fine (uses are not synced). */
int jit_audit_check_head(const char *head, size_t head_len, const struct jit_audit_report *rep_ok,
                         const char *last_hash, struct jit_audit_report *rep);

/* The body/hash split of one line (no trailing '\n'): 0 and the hex hash,
 * or -EBADMSG. Exposed for jitctl audit show and the tests. */
int jit_audit_split_line(const char *line, size_t len, size_t *ret_body_len, char ret_hash[JIT_AUDIT_HASH_HEX + 1]);

#endif
