/* service.h — the jit service (run by "jitctl serve"): the only writer of
 * the spool, the only code that changes group membership or timers.
 *
 * Owns: the in-memory copy of every request and grant (the spool is the
 * durable truth, written before anything is acted on), the loaded policy,
 * the client connections and the clients waiting on a decision.
 * MUSTs: answers only the operations in the table in service_ops.c, and
 * checks on every one who is asking (SO_PEERCRED, never the message);
 * no self-approval, by name or by uid; a broken or missing policy denies
 * everything; grants are durable record → membership → timer, and ending
 * one is membership → record → timer, so a crash anywhere leaves either an
 * active record (reconcile finishes the job) or nothing.
 */
#ifndef JIT_SERVICE_H
#define JIT_SERVICE_H

#include "config.h"
#include "policy.h"
#include "proto.h"
#include "record.h"
#include "spool.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#define JIT_TIMER_BACKSTOP_US (10ULL * 1000000) /* loop waits this long past expiry for a timer */
#define JIT_MAX_CLIENTS 256             /* connections in all */
#define JIT_ROOT_RESERVED 64            /* of which only root (PAM, timers) may use these */
#define JIT_MAX_CLIENTS_PER_UID 16      /* for any uid but root */
#define JIT_CLIENT_IDLE_US (10ULL * 1000000) /* to send a whole request */
#define JIT_MAX_WAIT_MS (24LL * 3600 * 1000)
#define JIT_MAX_PENDING_PER_USER 16
/* Requests for several hosts carried from one origin host, pending here:
 * counted apart from this host's own (a lying origin fills its own share,
 * never the user's local one), per user and in all. */
#define JIT_MAX_FLEET_PENDING_PER_ORIGIN 128
#define JIT_BIND_POLL_US (2ULL * 1000000) /* how often bound sessions/units are looked at */
#define JIT_SESSION_PENDING "pending"   /* bound to the login session pam_jit will name */
#define JIT_SESSION_PENDING_US (120ULL * 1000000) /* ... within this long, or the grant ends */

struct client {
        int fd;
        pid_t pid;
        uid_t uid;
        gid_t gid;
        struct jit_proto_reader rd;
        bool waiting;
        bool cancel_on_hangup;          /* pam_jit waiting: a hang-up is Ctrl-C */
        bool dead;                      /* close at the end of this loop turn */
        uint64_t idle_deadline_us;      /* when not waiting: a request must be in by then */
        char *out;                      /* an answer not yet written in full */
        size_t out_len, out_off;
        char wait_id[JIT_ID_LEN + 1];
        uint64_t wait_deadline_us;      /* realtime */
        bool fleet_sync;                /* waiting: for the pending set to change (wait_id "") */
        uint64_t fleet_after;           /* ... from this generation */
        struct client *next;
};

/* service_index.c: what a long history must not make slow (see there) */
struct svc_uid_requests {
        uid_t uid;
        bool used;
        struct jit_request **v;         /* by created_us */
        size_t n, cap;
};

struct svc_index {
        bool failed;                    /* out of memory: walks go over the arrays */
        size_t n_reqs, n_grants;        /* how many of s->reqs, s->grants are in */
        struct jit_request **req_by_id;
        struct jit_grant **grant_by_id;
        size_t cap_req_by_id, cap_grant_by_id;
        struct jit_request **open;      /* pending, or review open */
        size_t n_open, cap_open;
        struct jit_grant **live;        /* active, or ended and not swept */
        size_t n_live, cap_live;
        struct svc_uid_requests *by_uid;
        size_t n_uids, cap_uids;
};

struct svc {
        const char *config_path;
        struct jit_config *config;      /* NULL: policy invalid, deny all */
        struct stat config_stamp;
        struct stat templates_stamp;
        bool config_seen;
        struct jit_spool *spool;
        struct jit_audit *audit;        /* the hash-chained audit log */
        struct jit_request **reqs;
        size_t n_reqs;
        struct jit_grant **grants;
        size_t n_grants;
        sd_bus *bus;                    /* NULL: no systemd, the loop expires */
        char *self_path;                /* this jitctl, for timers to run */
        const char *socket_path;        /* where we listen, for timers to call */
        struct client *clients;
        size_t n_clients;
        uint64_t next_reconcile_us;
        pid_t sweep_exempt_pid;         /* the sudo using a single-use grant as it ends */
        struct svc_notify *notify;      /* NULL: no notifications (no outbox) */
        uint64_t fleet_gen;             /* bumped by every request saved */
        struct svc_index index;         /* follows reqs and grants */
};

/* Who is asking: resolved from the peer uid or, for access, the PAM user. */
struct who {
        char *name;
        uid_t uid;
        gid_t gid;
        char **groups;
};

uint64_t svc_now_us(void);

/* service_who.c */
#define JIT_WHO_NAME_MAX 64
bool who_name_is_usable(const char *name);
/* -EINVAL: the name is not usable by jit (who_name_is_usable) */
int who_from_uid(uid_t uid, struct who *ret);
int who_from_name(const char *name, struct who *ret);
void who_done(struct who *w);
/* Approvers of a role as "user" and "%group" strings. */
char **role_approvers(const struct jit_role *role);

/* service_context.c: the snapshot a decision is taken on */
/* A request asked on another host for several hosts (svc_fleet_open). */
struct svc_fleet_ask {
        char id[JIT_ID_LEN + 1];        /* "m-..." */
        const char *origin;
        char **hosts;                   /* sorted, each once */
        uint64_t ttl, asked_us;
};

struct svc_pam_items {
        const char *rhost, *tty;        /* as sudo/sshd set them */
};

struct svc_context {
        struct jit_context ctx;         /* points into the fields below and the who */
        uid_t uid;
        char *rhost, *unit, *session, *session_class, *session_type;
};

/* pid: the asking process (peer); pam: NULL unless pam_jit asks. */
int svc_context_build(struct svc *s, struct svc_context *x, const struct who *w, const char *role, pid_t pid,
                      const struct svc_pam_items *pam);
void svc_context_done(struct svc_context *x);
/* The context a recorded request was decided in (w: the requester's groups now). */
int svc_context_from_request(const struct jit_config *c, const struct jit_request *r, const struct who *w,
                             struct jit_context *ret);

/* service_index.c. Walks: for (i = 0; (r = svc_open_request(s, i)); i++)
 * meets every pending request and every open review (and maybe others:
 * check the state), in array order; svc_live_grant every active grant and
 * every ended one not yet swept. svc_uid_requests: uid's requests by
 * created_us (true), or, out of memory, every request in array order
 * (false). Prune (outside every walk) drops what can no longer be open or
 * live; reset after replacing s->reqs or s->grants wholesale, and to free. */
struct jit_request *svc_find_request(struct svc *s, const char *id);
struct jit_grant *svc_find_grant(struct svc *s, const char *id);
struct jit_request *svc_open_request(struct svc *s, size_t i);
struct jit_grant *svc_live_grant(struct svc *s, size_t i);
bool svc_uid_requests(struct svc *s, uid_t uid, struct jit_request *const **ret, size_t *ret_n);
void svc_index_prune(struct svc *s);
void svc_index_reset(struct svc *s);

/* service_state.c: policy, records, grants */
void svc_config_refresh(struct svc *s, bool force);
struct jit_grant *svc_active_grant(struct svc *s, const char *user, const char *role, uint64_t now);
int svc_add_request(struct svc *s, struct jit_request *r);   /* takes ownership, persists */
int svc_save_request(struct svc *s, struct jit_request *r);
int svc_grant_create(struct svc *s, struct jit_request *r, const char *approved_by,
                     uint64_t ttl, struct jit_grant **ret, char **ret_err);
int svc_grant_end(struct svc *s, struct jit_grant *g, enum jit_grant_state how, const char *by);
int svc_save_grant(struct svc *s, struct jit_grant *g);
/* Does another active grant give g's user g's group? */
bool svc_membership_needed(struct svc *s, const struct jit_grant *g, uint64_t now);

/* service_end.c: what still holds the group when a grant ends */
void svc_end_warn(struct svc *s, const struct jit_grant *g);
void svc_end_sweep(struct svc *s, uint64_t now);
/* End uid's processes holding group as mode ("processes", "sessions",
 * "none") says, at once; logged under label. */
void svc_end_holders(struct svc *s, uid_t uid, const char *user, const char *group, const char *mode,
                     const char *label, const char *grant_id);
uint64_t svc_end_next_us(struct svc *s, uint64_t next);
/* A terminal name ("pts/N", "ttyN"), and pid's controlling terminal as one. */
bool svc_is_terminal_name(const char *t);
int svc_controlling_tty(pid_t pid, char *buf, size_t size);
/* This boot's id, as 32 hex digits. */
int svc_boot_id(char buf[33]);
/* Is the systemd unit active, activating or reloading? (No bus: assume so.) */
bool svc_unit_is_running(struct svc *s, const char *unit);
void svc_reconcile(struct svc *s, bool at_start);
bool svc_uses_timers(const struct svc *s);
uint64_t svc_next_wakeup_us(struct svc *s);
void svc_format_until(char *buf, size_t size, uint64_t when_us, uint64_t now_us);

/* service_audit.c: the host key and the audit log behind every event */
int svc_audit_open(struct svc *s, const char *state_dir);
void svc_audit_close(struct svc *s);

/* service_notify.c: notifications (rendered at the event, written to the
 * outbox and to approvers' terminals by svc_notify_flush, after the loop
 * has answered), and jit-notify's reports of each delivery */
int svc_notify_open(struct svc *s, const char *state_dir);
void svc_notify_close(struct svc *s);
void svc_notify(struct svc *s, enum jit_notify_event ev, const struct jit_request *r, const struct jit_grant *g);
void svc_notify_grant_ended(struct svc *s, const struct jit_grant *g, enum jit_grant_state how, const char *by);
void svc_notify_flush(struct svc *s);
cJSON *svc_op_notify_result(struct svc *s, struct client *c, const cJSON *req);

/* service_who.c: the host's name, and an approver's registered key */
const char *svc_hostname(void);
int svc_approver_key(struct svc *s, const char *approver, unsigned char pk[32]);

/* A string member of j, or NULL. */
const char *svc_str_of(const cJSON *j, const char *k);

/* service_fleet.c: what jit-fleet (root) publishes and carries back */
cJSON *svc_op_fleet_sync(struct svc *s, struct client *c, const cJSON *req);
cJSON *svc_op_fleet_decide(struct svc *s, struct client *c, const cJSON *req);
cJSON *svc_op_fleet_open(struct svc *s, struct client *c, const cJSON *req);
void svc_fleet_expire_waiters(struct svc *s, uint64_t now);
/* service_ops.c: a decision carried from host origin, checked as a local one */
cJSON *svc_fleet_decide(struct svc *s, const cJSON *req, const char *origin);
/* service_ops.c: a request for several hosts, this one among them */
cJSON *svc_fleet_open(struct svc *s, const struct svc_fleet_ask *f, const char *user, const char *role,
                      const char *reason);

/* service_ops.c */
/* Handle one request; returns the answer, or NULL when the client now
 * waits (the answer comes from svc_notify_decided / svc_expire_waiters). */
cJSON *svc_handle(struct svc *s, struct client *c, const cJSON *req);
void svc_notify_decided(struct svc *s, const struct jit_request *r);
void svc_expire_waiters(struct svc *s, uint64_t now);
/* The sudo that waited for request id went away before a decision. */
void svc_cancel_interrupted(struct svc *s, const char *id);
cJSON *svc_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cJSON *svc_outcome(struct svc *s, const struct jit_request *r);

/* serve.c */
void svc_client_answer(struct svc *s, struct client *c, cJSON *ans);

#endif
