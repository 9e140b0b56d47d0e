/* record.h — requests and grants: the durable facts jit keeps.
 *
 * Owns: struct jit_request, struct jit_grant, their JSON form, their state
 * machines and the on-disk envelope.
 * Invariants: a request moves only pending → approved | denied | lapsed |
 * cancelled; a grant only active → expired | revoked. Terminal states never
 * change again (so expiry and revoke are idempotent).
 * Envelope: "jit-record 1 <blake2b-256 hex of body>\n" + JSON body; any
 * edit, truncation or bit flip is detected on read (-EBADMSG).
 * Times are microseconds since the epoch (CLOCK_REALTIME).
 */
#ifndef JIT_RECORD_H
#define JIT_RECORD_H

#include "cmdline.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_ID_LEN 12           /* "r-" or "g-" + 10 base32 characters */
#define JIT_RECORD_MAX_SIZE (256 * 1024)
#define JIT_TEXT_MAX 512        /* reasons and comments */
#define JIT_COMMAND_MAX_ARGS 256
#define JIT_FLEET_HOSTS_MAX 100 /* hosts one request may name */

enum jit_request_state {
        JIT_REQ_PENDING = 0,
        JIT_REQ_APPROVED,
        JIT_REQ_DENIED,
        JIT_REQ_LAPSED,         /* nobody decided before its deadline */
        JIT_REQ_CANCELLED,
        _JIT_REQ_STATE_MAX,
};

enum jit_grant_state {
        JIT_GRANT_ACTIVE = 0,
        JIT_GRANT_EXPIRED,
        JIT_GRANT_REVOKED,
        _JIT_GRANT_STATE_MAX,
};

/* An approver's signed decision (see decision.h), kept verbatim so that
 * anyone can check it offline. All NULL when no human decided. */
struct jit_signed {
        char *canonical;
        char *signature;                /* hex Ed25519 */
        char *key;                      /* hex public key of the approver */
};

/* One approval of a request that needs several (M-of-N). */
struct jit_approval {
        char *by;
        uint64_t at_us;
        bool security;                  /* the approver was a security approver */
        struct jit_signed sig;
};

#define JIT_MAX_APPROVALS 16

struct jit_request {
        char id[JIT_ID_LEN + 1];
        enum jit_request_state state;
        char *kind;                     /* "request", "break-glass" or "extend" */
        char extends[JIT_ID_LEN + 1];   /* kind extend: the grant it would follow */
        char *user;
        uint32_t uid;
        char *role;
        char *group;
        uint64_t ttl;                   /* seconds asked for (after capping) */
        char *reason;                   /* requester's words, may be NULL */
        char *service;                  /* sudo, sshd, jitctl, ... */
        char *rhost, *tty, *target_user;
        char **command;                 /* argv as stated, may be NULL */
        enum jit_command_mode command_mode;
        char *unit, *session, *session_class, *session_type; /* where it came from */
        bool has_tty;
        uint32_t hist_requests, hist_denials, hist_grants, hist_break_glass; /* what the policy saw */
        uint64_t created_us, deadline_us;
        char *policy_action;            /* the policy's answer: allow, escalate, deny */
        char *tier;                     /* auto, owner, security, break-glass */
        uint32_t approvals_needed;
        uint32_t risk;
        char *policy_rule;              /* what decided or escalated */
        char **policy_reasons;
        char **policy_reason_ids;       /* parallel to policy_reasons */
        struct jit_approval *approvals;
        size_t n_approvals;
        char *task;                     /* what the grant is for (agents, service accounts) */
        bool single_use;                /* asked for one use only */
        char *bind;                     /* "session" or "unit": asked to end with it */
        char *review_state;             /* break-glass: "open" until reviewed, then "closed" */
        char *review_by, *review_comment;
        uint64_t review_at_us;
        char *decided_by;               /* user name, "policy" or "template:NAME" */
        uint64_t decided_at_us;
        char *comment;
        char grant_id[JIT_ID_LEN + 1];  /* "" until granted */
        struct jit_signed signed_decision; /* an approver's, when one decided */
        /* One request for several hosts, carried by the fleet store: each
         * host it names keeps its own request; one signature over the id,
         * the requester, the role, the sorted host list and the TTL asked
         * (decision.h: request=FLEET_ID, host=H1,H2,..., group=*) decides
         * them all. fleet_id[0] == '\0' for a request of this host alone. */
        char fleet_id[JIT_ID_LEN + 1];  /* "m-..." */
        char *origin;                   /* the host it was asked on */
        char **fleet_hosts;             /* sorted, each once, this host among them */
        uint64_t fleet_ttl;             /* the TTL asked: what an approval signs */
        uint64_t fleet_asked_us;        /* when it was asked (signatures are no older) */
};

struct jit_grant {
        char id[JIT_ID_LEN + 1];
        char request_id[JIT_ID_LEN + 1];
        char fleet_id[JIT_ID_LEN + 1];  /* its request's, when that named several hosts; "" else */
        enum jit_grant_state state;
        char *user;
        uint32_t uid;
        char *role;
        char *group;
        char *approved_by;
        uint64_t created_us, expires_us, ended_us;
        char *ended_by;                 /* "timer", "reconcile", user name */
        char *tier;                     /* auto, owner, security, break-glass */
        char *end;                      /* processes, sessions, none: the role's, at grant time */
        uint64_t end_grace_s;
        uint64_t swept_us;              /* when what held the group was ended (or reported) */
        bool single_use;                /* ends at its first use */
        char *task;                     /* what it is for (jitctl request --task) */
        char *bound_session, *bound_unit; /* ends when this session/unit goes */
        char *bound_boot;               /* the boot the session belongs to (ids restart at boot) */
        char *timer;                    /* transient unit name, or NULL */
        struct jit_signed signed_decision; /* the approval this grant rests on */
        /* In memory only, never stored: after a failed end (the member
         * could not be removed) the loop tries again from end_retry_us. */
        uint64_t end_retry_us;
        unsigned end_failures;
};

void jit_signed_done(struct jit_signed *s);
int jit_signed_copy(struct jit_signed *dst, const struct jit_signed *src);
/* Append an approval (taking copies). -E2BIG past JIT_MAX_APPROVALS. */
int jit_request_add_approval(struct jit_request *r, const char *by, uint64_t at_us, bool security,
                             const struct jit_signed *sig);

const char *jit_request_state_to_string(enum jit_request_state s);
int jit_request_state_from_string(const char *s);
const char *jit_grant_state_to_string(enum jit_grant_state s);
int jit_grant_state_from_string(const char *s);

/* State machines. Return 0, or -EBUSY when the move is not allowed. */
int jit_request_transition(struct jit_request *r, enum jit_request_state to);
int jit_grant_transition(struct jit_grant *g, enum jit_grant_state to);

bool jit_grant_is_active(const struct jit_grant *g, uint64_t now_us);

/* Random ids: prefix 'r' or 'g'. */
int jit_id_new(char prefix, char ret[JIT_ID_LEN + 1]);
bool jit_id_is_valid(const char *s, char prefix);

/* JSON form (also the wire form). from_json validates strictly: -EBADMSG. */
cJSON *jit_request_to_json(const struct jit_request *r);
int jit_request_from_json(const cJSON *j, struct jit_request **ret);
cJSON *jit_grant_to_json(const struct jit_grant *g);
int jit_grant_from_json(const cJSON *j, struct jit_grant **ret);

void jit_request_free(struct jit_request *r);
void jit_grant_free(struct jit_grant *g);

/* On-disk envelope around a JSON body. */
int jit_record_seal(const cJSON *body, char **ret, size_t *ret_len);
int jit_record_open(const char *data, size_t len, cJSON **ret);

static inline void jit_request_freep(struct jit_request **r) { jit_request_free(*r); }
static inline void jit_grant_freep(struct jit_grant **g) { jit_grant_free(*g); }
#define _cleanup_request_free_ __attribute__((cleanup(jit_request_freep)))
#define _cleanup_grant_free_ __attribute__((cleanup(jit_grant_freep)))

#endif
