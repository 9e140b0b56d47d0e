/* journal.h — jit's events, to journald with structured fields.
 *
 * Owns: the list of event types, their stable MESSAGE_IDs and the JIT_*
 * field names. Every request, decision, grant, use, expiry and revocation
 * goes through jit_journal_event exactly once, from the service.
 * Fields: JIT_EVENT, JIT_REQUEST_ID, JIT_GRANT_ID, JIT_ROLE, JIT_USER,
 * JIT_GROUP, JIT_DECISION, JIT_APPROVER, JIT_RULE, JIT_SERVICE, JIT_BY,
 * JIT_COMMAND, JIT_TARGET.
 * MUST: user-supplied text (reasons, comments, commands) reaches this
 * module only after the service replaced its control characters.
 */
#ifndef JIT_JOURNAL_H
#define JIT_JOURNAL_H

#include <stdbool.h>

enum jit_event {
        JIT_EV_SERVICE = 0,     /* start, stop, config loaded or refused */
        JIT_EV_REQUEST,
        JIT_EV_DECISION,
        JIT_EV_GRANT,
        JIT_EV_USE,
        JIT_EV_EXPIRE,
        JIT_EV_REVOKE,
        JIT_EV_RECONCILE,
        JIT_EV_ERROR,
        JIT_EV_BREAK_GLASS,     /* logged at LOG_ALERT */
        JIT_EV_REVIEW,
        JIT_EV_POLICY,          /* templates added or removed */
        JIT_EV_NOTIFY,          /* a notification queued, delivered, retried or dropped */
        JIT_EV_FLEET,           /* a decision from the fleet store applied or refused */
        _JIT_EV_MAX,
};

struct jit_journal_fields {
        const char *request_id, *grant_id, *role, *user, *group;
        const char *decision, *approver, *rule, *service, *by, *command;
        const char *target;     /* a notification target */
        const char *host;       /* fleet: the host a decision came from */
};

/* Also print one line per event to stderr (foreground service). */
void jit_journal_set_stderr(bool on);

/* Log one event. Returns 0, or the audit hook's error: the caller of an
 * event that must be on record before it acts (a grant) checks it. */
int jit_journal_event(enum jit_event ev, int priority, const struct jit_journal_fields *f,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Every event is also handed to this hook (the service's audit log). */
typedef int (*jit_journal_hook)(void *userdata, enum jit_event ev, const struct jit_journal_fields *f,
                                const char *message);
void jit_journal_set_hook(jit_journal_hook fn, void *userdata);

const char *jit_journal_event_name(enum jit_event ev);

#endif
