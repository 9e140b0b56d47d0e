/* policy.h — the decision: allow, escalate or deny, with every reason.
 *
 * Owns: nothing but its result.
 * Invariants: jit_policy_decide is pure. It reads no file, clock,
 * environment or name service: the caller snapshots all of that into
 * struct jit_context (the local weekday and minute too, in the policy's
 * timezone). Anything it cannot match denies.
 * Order: role exists → requester eligible → a service account asks from
 * its declared unit → deny rules (deny wins) → the role's allowed commands
 * → active grant → risk signals → risk at or above the role's "deny" →
 * templates (only while risk is below the role's "security") → the role's
 * tier (auto denies; owner escalates to one approver; security, or any
 * tier once risk reaches "security", to M approvers).
 * Commands: a template's command list matches only a command we can judge
 * exactly; a deny rule's command list also matches every command we
 * cannot judge (opaque, too long, not absolute). A request with no command
 * (jitctl, sshd) is judged by the other fields only. Likewise a deny rule
 * naming units matches a request whose unit is unknown; a template does not.
 */
#ifndef JIT_POLICY_H
#define JIT_POLICY_H

#include "cmdline.h"
#include "config.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* What the requester did before, from the spool (the caller counts). */
struct jit_history {
        uint32_t requests;      /* requests for the role within its rate period, before this one */
        uint32_t denials;       /* denied requests for the role within settings.history_window */
        uint32_t grants;        /* grants of the role within settings.history_window */
        uint32_t break_glass;   /* break-glass grants within the role's break_glass rate period */
};

struct jit_context {
        const char *user;
        char *const *groups;            /* every group the user is in, by name */
        const char *role;
        uint64_t ttl;                   /* requested seconds; 0 = role default */
        const char *service;            /* PAM service or "jitctl" */
        char *const *command;           /* argv as stated; NULL if none */
        enum jit_command_mode command_mode; /* NONE unless the caller runs one */
        const char *target_user;        /* sudo -u USER; NULL: root */
        const char *rhost;              /* remote host; NULL or "": local */
        bool tty;                       /* asked from a terminal */
        const char *unit;               /* systemd unit of the asking process; NULL: unknown */
        const char *session;            /* login session id, class and type; NULL: none */
        const char *session_class, *session_type;
        int64_t now;                    /* seconds since the epoch */
        int wday, minute;               /* local weekday (0 = Sunday), minute of day */
        struct jit_history history;
        const char *active_grant;       /* id of an active grant for (user, role) */
};

#define JIT_POLICY_MAX_REASONS 16

struct jit_reason {
        char id[48];                    /* "deny.no-shells", "risk.off_hours", "template.restart-web" */
        char text[200];
};

struct jit_decision {
        enum jit_action action;
        enum jit_tier tier;             /* who must approve when escalating */
        uint32_t approvals;             /* how many distinct approvers */
        uint64_t ttl;                   /* granted TTL when allow/escalate */
        uint32_t risk;                  /* sum of the signals' points */
        const char *rule;               /* template or rule that decided, or NULL */
        const char *group;              /* the role's group, or NULL */
        bool eligible;                  /* the role exists and the user may request it */
        bool service_account;           /* the user is a declared service account */
        size_t n_reasons;
        struct jit_reason reasons[JIT_POLICY_MAX_REASONS];
};

/* Always fills *ret (deny on anything unexpected). Returns the action. */
enum jit_action jit_policy_decide(const struct jit_config *c, const struct jit_context *ctx,
                                  struct jit_decision *ret);

/* Break-glass: allow at once (tier BREAK_GLASS) when the user is on call
 * for the role, break-glass is configured, the rate allows, and no deny
 * rule matches. Pure like jit_policy_decide. */
enum jit_action jit_policy_break_glass(const struct jit_config *c, const struct jit_context *ctx,
                                       struct jit_decision *ret);

/* The last reason's text (the one that decided), for one-line messages. */
const char *jit_decision_summary(const struct jit_decision *d);

/* {"action","tier","approvals","ttl","risk","rule","group","reasons":[{"id","text"}]} */
cJSON *jit_decision_to_json(const struct jit_decision *d);

/* Is user (with groups) in the users/groups lists? */
bool jit_policy_is_member(const char *user, char *const *groups,
                          char *const *users, char *const *group_list);

/* May user approve requests of role at this tier? Owner: the role's
 * approvers. Security: those, or the security approvers. (Self-approval
 * is the caller's check.) */
bool jit_policy_may_approve(const struct jit_config *c, const struct jit_role *role, enum jit_tier tier,
                            const char *user, char *const *groups);
bool jit_policy_is_security_approver(const struct jit_config *c, const char *user, char *const *groups);

/* Seconds of history the caller should count for role (rate period). */
uint64_t jit_policy_rate_period(const struct jit_config *c, const struct jit_role *role);

#endif
