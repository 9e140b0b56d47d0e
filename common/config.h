/* config.h — /etc/jit/jit.conf: roles, templates, settings.
 *
 * Owns: the parsed, validated policy; nothing in it is ever defaulted from
 * a value that failed to parse.
 * Invariants: a struct jit_config exists only if the whole file validated;
 * every error names its JSON path ("$.roles.ops.max_ttl: ...").
 * MUST: unknown keys are errors; a role's default_ttl <= max_ttl; every
 * template names an existing role; command patterns are absolute.
 */
#ifndef JIT_CONFIG_H
#define JIT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JIT_CONFIG_PATH "/etc/jit/jit.conf"
#define JIT_CONFIG_MAX_SIZE (1024 * 1024)
#define JIT_NAME_MAX 32

enum jit_action {
        JIT_ACTION_DENY = 0,    /* the zero value denies */
        JIT_ACTION_ALLOW,
        JIT_ACTION_ESCALATE,
};

enum jit_expiry_mode {
        JIT_EXPIRY_AUTO = 0,    /* systemd timers when systemd runs, else the loop */
        JIT_EXPIRY_TIMER,       /* systemd timers; the loop only backs them up */
        JIT_EXPIRY_LOOP,        /* the service's own loop, on time */
};

/* Who a rule or list applies to: absent lists match anyone. */
struct jit_match {
        char **users;
        char **groups;
        char **services;
        char **commands;        /* fnmatch patterns over "/abs/path arg arg" */
};

struct jit_deny_rule {
        char *id;
        char *reason;
        struct jit_match match;
};

struct jit_role {
        char *name;
        char *description;
        char *group;
        uint64_t default_ttl;
        uint64_t max_ttl;
        char **requester_users, **requester_groups;
        char **approver_users, **approver_groups;
        enum jit_action default_action; /* ESCALATE or DENY */
        struct jit_deny_rule *deny;
        size_t n_deny;
};

struct jit_template {
        char *name;
        char *description;
        char *role;
        uint64_t max_ttl;       /* 0: the role's max */
        struct jit_match match;
};

struct jit_settings {
        enum jit_expiry_mode expiry;
        uint64_t reconcile_interval;    /* seconds */
        uint64_t request_ttl;           /* seconds a request stays approvable */
        uint64_t timer_accuracy_ms;
};

struct jit_config {
        struct jit_settings settings;
        struct jit_role *roles;
        size_t n_roles;
        struct jit_template *templates;
        size_t n_templates;
};

/* Parse and validate JSON text. On failure returns -EINVAL and, if
 * ret_errors is not NULL, a strv of "path: message" lines. */
int jit_config_parse(const char *text, size_t len, struct jit_config **ret, char ***ret_errors);

/* Open path (no symlinks; file and its directory owned by root and not
 * writable by group or others), then parse. -EPERM on bad ownership/mode;
 * errors are reported the same way as jit_config_parse. */
int jit_config_load(const char *path, struct jit_config **ret, char ***ret_errors);

void jit_config_free(struct jit_config *c);

const struct jit_role *jit_config_find_role(const struct jit_config *c, const char *name);

const char *jit_action_to_string(enum jit_action a);

static inline void jit_config_freep(struct jit_config **c) { jit_config_free(*c); }
#define _cleanup_config_free_ __attribute__((cleanup(jit_config_freep)))

#endif
