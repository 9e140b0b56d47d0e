/* notify.h — what a notification says, the outbox record it waits in, and
 * how a delivery is signed and retried.
 *
 * Owns: the bodies sent to targets (rendered here, from a message the
 * service fills in, for every target type), the outbox record format, the
 * X-Jit-Signature header and the retry schedule. The service renders and
 * writes records; jit-notify reads them, delivers, rewrites or removes
 * them. Nothing here does I/O or reads the clock: callers pass the time
 * and the randomness in.
 * Invariants: every text that came from a user is escaped (escape.h) and
 * capped before it is put in a body; a body is at most
 * JIT_NOTIFY_BODY_MAX bytes; a record names its target and event and
 * carries its body verbatim, so the bytes signed are the bytes rendered.
 * MUSTs: signatures use the whole body and the attempt's time; key bytes
 * are the caller's to wipe.
 */
#ifndef JIT_NOTIFY_H
#define JIT_NOTIFY_H

#include "config.h"
#include "record.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_NOTIFY_BODY_MAX (32 * 1024)
#define JIT_NOTIFY_TEXT_MAX 600         /* bytes of one escaped user text */
#define JIT_NOTIFY_COMMAND_MAX 1200     /* bytes of the escaped command line */
#define JIT_NOTIFY_KEY_MIN 32
#define JIT_NOTIFY_KEY_MAX 1024
#define JIT_NOTIFY_SIG_MAX 96           /* "t=<20 digits>,v1=<64 hex>" and NUL */
#define JIT_OUTBOX_DIR "outbox"         /* below the state directory */
#define JIT_OUTBOX_MAX 10000            /* records; past it new ones are dropped */
#define JIT_OUTBOX_ERROR_MAX 200

/* What the service knows of an event. Any field may be NULL/0; texts are
 * taken raw (the renderer escapes them). */
struct jit_notify_message {
        enum jit_notify_event event;
        const char *host;
        uint64_t time_us;
        /* the request */
        const char *request_id, *kind, *user, *role, *group;
        uint64_t ttl;
        const char *reason, *task;
        char *const *command;
        const char *service, *rhost, *tty, *unit;
        uint32_t risk;
        const char *tier;
        char *const *reason_ids, *const *reasons;   /* parallel */
        char *const *approvers;                     /* "bob", "%sre" */
        const char *decided_by, *comment;
        /* the grant, for granted/break-glass/expired/review */
        const char *grant_id, *ended_by;
        uint64_t expires_us;
};

/* Render m for a target of type t (command targets get the JSON form).
 * Returns 0 and a new NUL-terminated body, or -ENOMEM. */
int jit_notify_render(enum jit_notify_type t, const struct jit_notify_message *m, char **ret_body);

/* One line for a terminal: "jit: ..." with \r\n, escaped, at most size. */
void jit_notify_terminal_line(char *buf, size_t size, const struct jit_notify_message *m);

/* The X-Jit-Signature value: "t=<time_s>,v1=<hex HMAC-SHA256(key,
 * "<time_s>." + body)>". Returns 0, -EINVAL for a key outside
 * JIT_NOTIFY_KEY_MIN..MAX bytes. */
int jit_notify_sign(char out[JIT_NOTIFY_SIG_MAX], const unsigned char *key, size_t key_len, uint64_t time_s,
                    const char *body, size_t body_len);

/* How long to wait after failed attempt n (1-based): base·2^(n-1) capped
 * at max_delay (seconds), times (0.5 + rnd/2^33) — a factor in [0.5, 1).
 * In microseconds, at least 1 s. */
uint64_t jit_notify_backoff_us(uint32_t failed, uint64_t base_s, uint64_t max_delay_s, uint32_t rnd);

/* One attempt's outcome, kept until the service has heard of it. */
struct jit_outbox_result {
        uint32_t attempt;
        bool ok;
        bool final;                     /* delivered, or dropped after it */
        uint32_t http_status;           /* 0: none */
        char *error;                    /* NULL when ok */
        uint64_t at_us;
};

#define JIT_OUTBOX_RESULTS_MAX 32

/* One delivery of one event to one target: /var/lib/jit/outbox/<id>. */
struct jit_outbox_record {
        char id[JIT_ID_LEN + 1];        /* "n-xxxxxxxxxx" */
        char *target;
        enum jit_notify_event event;
        char request_id[JIT_ID_LEN + 1];/* "" when none */
        char grant_id[JIT_ID_LEN + 1];  /* "" when none */
        char *body;
        uint64_t created_us, next_us;
        uint32_t attempts;
        bool done;                      /* delivered or dropped: only reports are left */
        struct jit_outbox_result results[JIT_OUTBOX_RESULTS_MAX]; /* not yet reported */
        size_t n_results;
};

cJSON *jit_outbox_to_json(const struct jit_outbox_record *r);
/* Strict: -EBADMSG for anything out of shape. */
int jit_outbox_from_json(const cJSON *j, struct jit_outbox_record **ret);
void jit_outbox_free(struct jit_outbox_record *r);
/* Add an outcome (the oldest unreported one is forgotten when full). */
int jit_outbox_add_result(struct jit_outbox_record *r, const struct jit_outbox_result *res);
void jit_outbox_clear_results(struct jit_outbox_record *r);

static inline void jit_outbox_freep(struct jit_outbox_record **r) { jit_outbox_free(*r); }
#define _cleanup_outbox_free_ __attribute__((cleanup(jit_outbox_freep)))

#endif
