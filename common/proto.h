/* proto.h — the service socket: framing and the list of operations.
 *
 * Owns: the wire format. One message is a 4-byte big-endian length and
 * that many bytes of JSON (one object). Requests carry "op"; answers carry
 * "ok" (true/false) and, when false, "error" (one line for humans) and
 * "code" (one of the JIT_CODE_* strings, for programs).
 * MUSTs: sizes are capped before allocation; every read has a deadline;
 * writes never raise SIGPIPE; the peer's identity comes from SO_PEERCRED
 * (jit_proto_peer), never from the message.
 */
#ifndef JIT_PROTO_H
#define JIT_PROTO_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JIT_SOCKET_PATH "/run/jit/jit.sock"
#define JIT_PROTO_MAX_REQUEST (64 * 1024)
#define JIT_PROTO_MAX_ANSWER (4 * 1024 * 1024)

/* Operations the service answers; anything else is refused. */
#define JIT_OP_ACCESS  "access"   /* root only: PAM asks at the moment of use */
#define JIT_OP_REQUEST "request"  /* ask ahead for a role */
#define JIT_OP_WAIT    "wait"     /* block until a request is decided */
#define JIT_OP_CANCEL  "cancel"   /* requester withdraws a pending request */
#define JIT_OP_LIST    "list"
#define JIT_OP_SHOW    "show"
#define JIT_OP_APPROVE "approve"
#define JIT_OP_DENY    "deny"
#define JIT_OP_REVOKE  "revoke"
#define JIT_OP_EXPIRE  "expire"   /* root only: the expiry timer's call */
#define JIT_OP_BREAK_GLASS "break-glass" /* on call: granted once self-signed */
#define JIT_OP_REVIEW  "review"   /* close a break-glass review */
#define JIT_OP_RELOAD  "reload"   /* root only: read the policy again now */
#define JIT_OP_DONE    "done"     /* the grant's owner: the task is over */
#define JIT_OP_SESSION "session"  /* root only: pam_jit's session open/close */
#define JIT_OP_RECONCILE "reconcile" /* root only: a reconcile pass now */
#define JIT_OP_TEMPLATE_ADD "template-add"       /* root only (validate runs in jitctl) */
#define JIT_OP_TEMPLATE_REMOVE "template-remove" /* root only */
#define JIT_OP_NOTIFY_RESULT "notify-result"     /* root only: jit-notify reports a delivery */
#define JIT_OP_FLEET_SYNC "fleet-sync"           /* root only: jit-fleet waits for the pending set */
#define JIT_OP_FLEET_DECIDE "fleet-decide"       /* root only: jit-fleet hands over a signed decision */
#define JIT_OP_FLEET_OPEN "fleet-open"           /* root only: jit-fleet hands over a request for several hosts */

/* Answer codes. */
#define JIT_CODE_DENIED    "denied"
#define JIT_CODE_PENDING   "pending"
#define JIT_CODE_FORBIDDEN "forbidden"
#define JIT_CODE_NOTFOUND  "notfound"
#define JIT_CODE_INVALID   "invalid"
#define JIT_CODE_CONFLICT  "conflict"
#define JIT_CODE_NOTDUE    "notdue"
#define JIT_CODE_INTERNAL  "internal"
#define JIT_CODE_POLICY    "policy"      /* the policy (with the change) does not validate */

/* Connect to path (SOCK_STREAM|SOCK_CLOEXEC). Returns fd or -errno. */
int jit_proto_connect(const char *path);

/* Serialise msg as one frame (header + JSON) into a new buffer. */
int jit_proto_frame(const cJSON *msg, char **ret, size_t *ret_len);

/* Entries of one answer kept within a share of it (every answer must fit
 * JIT_PROTO_MAX_ANSWER): offered in order, each goes in while the share
 * (bytes of text, and at most max_items when that is not 0) holds it;
 * once one does not, none after it, so that what is kept has no gap.
 * The rest are counted in left_out. */
struct jit_proto_budget {
        size_t max_bytes, max_items;
        size_t bytes, n, left_out;
};
static inline bool jit_proto_budget_full(const struct jit_proto_budget *b)
{
        return b->bytes >= b->max_bytes || (b->max_items && b->n >= b->max_items);
}
/* item (owned, NULL counts as left out) into arr: appended, or put first
 * when the newest are offered first. */
void jit_proto_budget_add(struct jit_proto_budget *b, cJSON *arr, cJSON *item, bool first);

/* Send one message. Returns 0 or -errno. */
int jit_proto_send(int fd, const cJSON *msg, int timeout_ms);

/* Receive one message of at most max bytes within timeout_ms (-1: none).
 * Returns 0, -ETIMEDOUT, -ECONNRESET (peer closed), -EMSGSIZE, -EBADMSG. */
int jit_proto_recv(int fd, size_t max, int timeout_ms, cJSON **ret);

/* The same, but a signal caught by the process while waiting ends the
 * wait with -EINTR (pam_jit: sudo catches Ctrl-C and defers it; a wait
 * for an approver must end when the user interrupts). */
int jit_proto_recv_interruptible(int fd, size_t max, int timeout_ms, cJSON **ret);

/* Kernel-reported credentials of the peer of a connected socket. */
int jit_proto_peer(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid);

/* One JSON object, as strictly as the wire takes it: UTF-8 without
 * overlong forms or surrogates, no raw control byte in a string, no key
 * twice in an object, nothing after it but white space. 0 or -EBADMSG. */
int jit_proto_parse_strict(const char *text, size_t len, cJSON **ret);

/* Incremental reader for the non-blocking service side. */
struct jit_proto_reader {
        unsigned char hdr[4];
        size_t hdr_got;
        char *buf;
        size_t len, got;
};
/* Read what is available. Returns 1 when a whole message is in *ret,
 * 0 when more is needed, or -errno (-ECONNRESET on EOF). */
int jit_proto_reader_feed(struct jit_proto_reader *rd, int fd, size_t max, cJSON **ret);
void jit_proto_reader_reset(struct jit_proto_reader *rd);

#endif
