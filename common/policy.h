/* policy.h — the decision: allow, escalate or deny, with every reason.
 *
 * Owns: nothing but its result.
 * Invariants: jit_policy_decide is pure. It reads no file, clock,
 * environment or name service: the caller snapshots all of that into
 * struct jit_context. Anything it cannot match denies.
 * Order: role exists → requester eligible → deny rules → active grant →
 * templates → the role's default_action.
 * Commands: a template's command list matches only a command we can judge
 * exactly; a deny rule's command list also matches every command we
 * cannot judge (opaque, too long, not absolute). A request with no command
 * (jitctl, sshd) is judged by the other fields only.
 */
#ifndef JIT_POLICY_H
#define JIT_POLICY_H

#include "cmdline.h"
#include "config.h"

#include <stdbool.h>
#include <stdint.h>

struct jit_context {
        const char *user;
        char *const *groups;            /* every group the user is in, by name */
        const char *role;
        uint64_t ttl;                   /* requested seconds; 0 = role default */
        const char *service;            /* PAM service or "jitctl" */
        char *const *command;           /* argv as stated; NULL if none */
        enum jit_command_mode command_mode; /* NONE unless the caller runs one */
        const char *active_grant;       /* id of an active grant for (user, role) */
};

#define JIT_POLICY_MAX_REASONS 8

struct jit_decision {
        enum jit_action action;
        uint64_t ttl;                   /* granted TTL when allow/escalate */
        const char *rule;               /* template or rule that decided, or NULL */
        const char *group;              /* the role's group, or NULL */
        bool eligible;                  /* the role exists and the user may request it */
        size_t n_reasons;
        char reasons[JIT_POLICY_MAX_REASONS][160];
};

/* Always fills *ret (deny on anything unexpected). Returns the action. */
enum jit_action jit_policy_decide(const struct jit_config *c, const struct jit_context *ctx,
                                  struct jit_decision *ret);

/* Is user (with groups) in the users/groups lists? */
bool jit_policy_is_member(const char *user, char *const *groups,
                          char *const *users, char *const *group_list);

/* May user approve requests of role? (Self-approval is the caller's check.) */
bool jit_policy_may_approve(const struct jit_role *role, const char *user, char *const *groups);

#endif
