/* jitctl.h — what the verbs share: exit codes, global options, the call
 * to the service and the output helpers. One file per verb; main.c holds
 * the one dispatch table. */
#ifndef JITCTL_H
#define JITCTL_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Stable exit codes (jitctl(8) documents them; scripts rely on them). */
enum {
        JIT_EXIT_OK = 0,
        JIT_EXIT_ERROR = 1,         /* anything not below */
        JIT_EXIT_USAGE = 2,
        JIT_EXIT_DENIED = 3,        /* the policy or an approver said no */
        JIT_EXIT_PENDING = 4,       /* no decision yet (or the wait timed out) */
        JIT_EXIT_FORBIDDEN = 5,     /* you may not do that */
        JIT_EXIT_NOTFOUND = 6,
        JIT_EXIT_UNAVAILABLE = 7,   /* the jit service cannot be reached */
        JIT_EXIT_CONFLICT = 8,      /* already decided, not due yet */
        JIT_EXIT_CONFIG = 9,        /* the policy file is invalid */
        JIT_EXIT_TAMPERED = 10,     /* jitctl audit verify: the log does not hold */
};

struct jit_globals {
        const char *socket;
        bool json;
        bool fleet;                 /* --fleet: the fleet's queue, through jit-fleet */
        const char *fleet_socket;
};
extern struct jit_globals jit_g;

int jit_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int jit_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Send {op, ...fields of req} and read the answer. On transport failure
 * prints the reason and returns JIT_EXIT_UNAVAILABLE; else 0 with *ret. */
int jit_call(cJSON *req, int timeout_ms, cJSON **ret);
/* Exit code for an answer ("ok":false → by "code"; else by "decision"). */
int jit_exit_for(const cJSON *ans);
/* Print an answer: JSON when --json, else its message or error line. */
int jit_print_outcome(const cJSON *ans);
/* The same, when the caller knows better what the answer means for it. */
int jit_print_outcome_as(const cJSON *ans, int code);
const char *jit_json_str(const cJSON *j, const char *k);
uint64_t jit_json_u64(const cJSON *j, const char *k);
/* Text from records and users on a terminal: escaped as escape.h says
 * (no control character, escape sequence or BiDi override gets through),
 * cut to JIT_TEXT_SHOWN_MAX - 1 bytes. */
#define JIT_TEXT_SHOWN_MAX 4096
void jit_put_text(FILE *f, const char *s);
/* --json output: cJSON's text with C1, BiDi and other invisible controls
 * as \u escapes too, on stdout with a newline. */
void jit_print_json(const cJSON *j);
/* Colour only on a terminal, never with NO_COLOR (any value) or TERM=dumb. */
bool jit_colour_is_on(void);
/* The SGR sequence for a request's or grant's state, or NULL for none. */
const char *jit_state_colour(const char *state);
/* A table for people: every cell escaped (at most max_cell bytes, 0 for
 * JIT_TEXT_SHOWN_MAX - 1), columns as wide as their widest cell, the
 * cells of column state_col (-1: none) coloured by state. */
#define JIT_TABLE_MAX_COLS 8
struct jit_table {
        const char *const *head;        /* n_cols titles */
        size_t n_cols, max_cell;
        int state_col;
        size_t n_rows;
        char **cells;
};
int jit_table_add(struct jit_table *t, const char *const *row);     /* 0 or -ENOMEM; NULL cells print "-" */
void jit_table_print(const struct jit_table *t);
void jit_table_free(struct jit_table *t);
/* "16:40:12 (in 14m)" / "3m ago" into buf. */
void jit_format_when(char *buf, size_t size, uint64_t when_us, uint64_t now_us);
int jit_parse_duration_arg(const char *s, uint64_t *ret);
/* One call about one id (approve, deny, cancel, revoke, expire); prints it. */
int jit_simple_call(const char *op, const char *id, cJSON *extra);
/* Ask the service to hold until request id is decided, or timeout_s. */
int jit_wait_for(const char *id, uint64_t timeout_s, cJSON **ret);
/* Send a request op (request, extend), print the outcome; with wait, hold
 * with a progress line until it is decided or timeout_s passes. */
int jit_request_send(cJSON *req, bool wait, uint64_t timeout_s);
/* The same, with wait.c's progress line on a terminal (stderr). */
int jit_wait_shown(const char *id, uint64_t timeout_s, cJSON **ret);

/* signing.c */
int jit_key_dir(char *buf, size_t size);
int jit_read_passphrase(const char *file, const char *prompt, char buf[1024]);
struct jit_decision_fields;
/* Sign f (time and nonce are set here) with the caller's unlocked key:
 * 0, or -errno (jit_sign_why says it for people). */
int jit_sign_fields(struct jit_decision_fields *f, const char *keyfile, const char *passfile, char sig[129]);
const char *jit_sign_why(int r);
/* The same in two steps: unlock once (the approver's fresh authentication),
 * then sign many; the caller wipes sk (sodium_memzero). */
int jit_unlock_key(const char *keyfile, const char *passfile, unsigned char sk[64]);
int jit_sign_fields_with(struct jit_decision_fields *f, const unsigned char sk[64], char sig[129]);
int jit_sign_into(cJSON *req, const char *id, const char *decision, uint64_t ttl,
                  const char *keyfile, const char *passfile);

int verb_serve(int argc, char **argv);
int verb_keygen(int argc, char **argv);
int verb_approver(int argc, char **argv);
int verb_verify(int argc, char **argv);
int verb_request(int argc, char **argv);
int verb_wait(int argc, char **argv);
int verb_list(int argc, char **argv);
int verb_show(int argc, char **argv);
int verb_approve(int argc, char **argv);
int verb_deny(int argc, char **argv);
int verb_cancel(int argc, char **argv);
int verb_revoke(int argc, char **argv);
int verb_expire(int argc, char **argv);
int verb_policy(int argc, char **argv);
int verb_audit(int argc, char **argv);
int verb_break_glass(int argc, char **argv);
int verb_review(int argc, char **argv);
int verb_extend(int argc, char **argv);
int verb_template(int argc, char **argv);
int verb_done(int argc, char **argv);
/* setgid.c: jitctl audit setgid */
int jit_audit_setgid(const char *grant, char **paths);
int verb_reconcile(int argc, char **argv);
int verb_doctor(int argc, char **argv);
int verb_fleet(int argc, char **argv);
/* jitctl request ROLE --hosts PATTERN: through jit-fleet, for every
 * enrolled host the pattern matches; says what each host did with it. */
int jit_fleet_request(const char *role, uint64_t ttl, const char *reason, const char *hosts);

#endif
