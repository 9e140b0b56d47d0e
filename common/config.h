/* config.h — /etc/jit/jit.conf: roles, templates, settings.
 *
 * Owns: the parsed, validated policy; nothing in it is ever defaulted from
 * a value that failed to parse.
 * Invariants: a struct jit_config exists only if the whole file validated;
 * every error names its JSON path ("$.roles.ops.max_ttl: ...").
 * MUST: unknown keys are errors; a role's default_ttl <= max_ttl; every
 * template names an existing role; command patterns are absolute; a
 * notification target posts to https only (http only to loopback, when
 * allowed), holds no credentials in the file (keys and secret URLs are in
 * root-only files it names), and every target a role names exists.
 */
#ifndef JIT_CONFIG_H
#define JIT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netmatch.h"
#include "timewin.h"

#define JIT_CONFIG_PATH "/etc/jit/jit.conf"
#define JIT_CONFIG_MAX_SIZE (1024 * 1024)
#define JIT_NAME_MAX 32

enum jit_action {
        JIT_ACTION_DENY = 0,    /* the zero value denies */
        JIT_ACTION_ALLOW,
        JIT_ACTION_ESCALATE,
};

/* How a role is approved when no template grants at once. */
enum jit_tier {
        JIT_TIER_AUTO = 0,      /* templates only: anything else is denied */
        JIT_TIER_OWNER,         /* one of the role's approvers */
        JIT_TIER_SECURITY,      /* M distinct approvers, one at least from "security" */
        JIT_TIER_BREAK_GLASS,   /* on-call, self-signed, reviewed afterwards */
};

enum jit_tty_need {
        JIT_TTY_ANY = 0,
        JIT_TTY_REQUIRED,       /* only from a terminal */
        JIT_TTY_NONE,           /* only without one (batch, agents) */
};

/* What happens at a grant's end to what still holds the group. */
enum jit_end_mode {
        JIT_END_PROCESSES = 0,  /* the user's processes that hold the group are killed */
        JIT_END_SESSIONS,       /* the login sessions they run in are terminated (logind) */
        JIT_END_NONE,           /* left running, and reported */
};

/* A weekly window in the policy's timezone (see timewin.h). */
struct jit_hours {
        struct jit_window *windows;
        size_t n;
};

/* Source addresses: CIDRs, and "local" for a request with no remote host. */
struct jit_sources {
        struct jit_cidr *cidrs;
        size_t n;
        bool local;
        bool set;               /* the key was given */
};

/* At most `count` events per `per` seconds (0/0: no limit). */
struct jit_rate {
        uint32_t count;
        uint64_t per;
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
        char **target_users;    /* sudo -u USER (absent: root) */
        char **units;           /* the requester's systemd unit (fnmatch) */
        struct jit_sources sources;
        struct jit_hours hours;
        enum jit_tty_need tty;
};

struct jit_deny_rule {
        char *id;
        char *reason;
        struct jit_match match;
};

/* Notifications (see notify.h): what happened, to which targets. */
enum jit_notify_event {
        JIT_NOTIFY_PENDING = 0,         /* a request waits for approvers */
        JIT_NOTIFY_GRANTED,
        JIT_NOTIFY_DENIED,              /* by an approver or the policy (recorded) */
        JIT_NOTIFY_BREAK_GLASS,
        JIT_NOTIFY_EXPIRED,
        JIT_NOTIFY_REVIEW,              /* a break-glass grant ended; its review is due */
        _JIT_NOTIFY_EVENT_MAX,
};

enum jit_notify_type {
        JIT_NOTIFY_SLACK = 0,           /* Slack-compatible incoming webhook: {"text": ...} */
        JIT_NOTIFY_JSON,                /* jit's own JSON document */
        JIT_NOTIFY_COMMAND,             /* argv run with the JSON on stdin, no environment */
};

#define JIT_NOTIFY_URL_MAX 2048
#define JIT_NOTIFY_ARGV_MAX 64
#define JIT_NOTIFY_TIMEOUT_MAX 60       /* seconds */

struct jit_notify_target {
        char *name;
        enum jit_notify_type type;
        char *url;                      /* slack/json: https (http only to loopback, if allowed) */
        char *url_file;                 /* ... or a root-only file holding it (a secret URL) */
        char *key_file;                 /* slack/json: the HMAC key, root's alone, 32+ bytes */
        char *ca_file;                  /* NULL: the system's CA bundle */
        char *proxy;                    /* NULL: no proxy, whatever the environment says */
        bool allow_http_loopback;
        uint64_t timeout;               /* seconds, whole delivery */
        char **argv;                    /* command: argv[0] absolute */
};

struct jit_notify_settings {
        struct jit_notify_target *targets;
        size_t n_targets;
        bool terminals;                 /* pending requests: a line on approvers' terminals */
        uint64_t retry_base;            /* seconds before the 1st retry, doubling after */
        uint64_t retry_max_delay;       /* seconds, the longest wait between attempts */
        uint32_t retry_max_attempts;    /* attempts in all, then dropped */
        uint64_t retry_max_age;         /* seconds after which an undelivered one is dropped */
};

struct jit_role {
        char *name;
        char *description;
        char *group;
        uint64_t default_ttl;
        uint64_t max_ttl;
        char **requester_users, **requester_groups;
        char **approver_users, **approver_groups;
        enum jit_tier tier;             /* AUTO, OWNER or SECURITY */
        char **commands;                /* allowed commands (absent: any) */
        struct jit_hours hours;         /* working hours (absent: always) */
        struct jit_sources sources;     /* known sources (absent: any) */
        struct jit_rate rate;           /* requests before it is an anomaly */
        uint32_t risk_security;         /* risk at which the tier rises to security */
        uint32_t risk_deny;             /* risk at which it is denied (0: never) */
        uint64_t request_ttl;           /* 0: settings.request_ttl */
        enum jit_end_mode end;          /* at expiry/revoke */
        uint64_t end_grace;             /* seconds between the warning and the end */
        bool single_use;                /* every grant is good for one use */
        bool bind_session, bind_unit;   /* revoked when the asking session/unit goes */
        struct jit_deny_rule *deny;
        size_t n_deny;
        /* break-glass: who may, for how long, how often */
        char **oncall_users, **oncall_groups;
        uint64_t break_glass_ttl;       /* 0: break-glass not allowed */
        struct jit_rate break_glass_rate;
        char **notify_targets;          /* names in $.notify.targets */
        uint32_t notify_events;         /* 1 << enum jit_notify_event */
};

/* A declared account: a human (the default for anyone undeclared) or a
 * service account bound to the systemd units it may ask from. */
struct jit_account {
        char *name;
        char *description;
        bool service;
        char **units;                   /* fnmatch patterns, required for service */
};

/* The security tier's approvers, and how many approvals it needs. */
struct jit_security {
        char **users, **groups;
        uint32_t approvals;             /* M: distinct approvers (>= 2) */
};

struct jit_change_window {
        char *id;
        int64_t from, to;               /* seconds since the epoch */
};

/* Points each risk signal adds (see policy.h). */
struct jit_risk_weights {
        uint32_t off_hours, unknown_source, no_tty, first_use, rate, recent_denials, service_account_tty;
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
        char *timezone;                 /* IANA name the hours are in; "UTC" by default */
        uint64_t history_window;        /* seconds of history the risk signals look at */
        struct jit_risk_weights risk;
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
        struct jit_account *accounts;
        size_t n_accounts;
        struct jit_security security;
        struct jit_change_window *change_windows;
        size_t n_change_windows;
        struct jit_notify_settings notify;
        char **warnings;                /* conflicts found (jitctl policy check); not fatal */
};

/* Parse and validate JSON text. On failure returns -EINVAL and, if
 * ret_errors is not NULL, a strv of "path: message" lines. */
int jit_config_parse(const char *text, size_t len, struct jit_config **ret, char ***ret_errors);

/* Open path (no symlinks; file and its directory owned by root and not
 * writable by group or others), then parse. -EPERM on bad ownership/mode;
 * errors are reported the same way as jit_config_parse. */
int jit_config_load(const char *path, struct jit_config **ret, char ***ret_errors);

/* jit_config_load with flags: JIT_SAFEIO_TRUSTED (what the service uses)
 * checks owner and mode of the file, its directories and templates.d; 0
 * reads a draft anywhere (jitctl policy check/test/replay FILE).
 * Templates in <dir of path>/templates.d/NAME.json are merged in name
 * order after those of the file; a name in both is an error. */
int jit_config_load_flags(const char *path, int flags, struct jit_config **ret, char ***ret_errors);

/* The same, with one more template (name, JSON text) as if it were
 * templates.d/NAME.json: what "jitctl template validate|add" checks. */
int jit_config_load_extra(const char *path, int flags, const char *extra_name, const char *extra_text,
                          size_t extra_len, struct jit_config **ret, char ***ret_errors);

#define JIT_TEMPLATES_DIR "templates.d"

void jit_config_free(struct jit_config *c);

const struct jit_role *jit_config_find_role(const struct jit_config *c, const char *name);

const struct jit_account *jit_config_find_account(const struct jit_config *c, const char *name);

const char *jit_action_to_string(enum jit_action a);
const char *jit_tier_to_string(enum jit_tier t);
const char *jit_end_mode_to_string(enum jit_end_mode m);
int jit_end_mode_from_string(const char *s);
const char *jit_notify_event_to_string(enum jit_notify_event e);
int jit_notify_event_from_string(const char *s);
const char *jit_notify_type_to_string(enum jit_notify_type t);
const struct jit_notify_target *jit_config_find_target(const struct jit_config *c, const char *name);
/* Is url one a target may post to: https (or, with allow_http_loopback,
 * http to 127.0.0.1, [::1] or localhost), no user:password@, printable
 * ASCII only? Returns 0, or -EINVAL with *ret_why (a static string).
 * jit-notify checks a url_file's content with it too. */
int jit_notify_url_check(const char *url, bool allow_http_loopback, const char **ret_why);

static inline void jit_config_freep(struct jit_config **c) { jit_config_free(*c); }
#define _cleanup_config_free_ __attribute__((cleanup(jit_config_freep)))

#endif
