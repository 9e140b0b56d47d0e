/* test_policy.c — the pure decision of policy.h.
 *
 * The first tests run against tests/data/config-valid.json:
 *
 *   role ops: group jit-ops, default_ttl 15m, max_ttl 4h, tier owner;
 *     requesters alice + groups sre, oncall; approvers carol + group leads;
 *     deny "no-shells": commands /usr/bin/bash*, /bin/sh*;
 *     deny "no-ssh": service sshd, user mallory.
 *   role db: group jit-db, max_ttl 10m, tier auto; requesters alice, dave.
 *   security: users sam, group secops, 2 approvals.
 *   template restart-web (ops, max_ttl 10m): /usr/bin/systemctl restart|reload nginx
 *   template oncall (ops): group oncall via service sudo
 *   template db-read (db): user dave, /usr/bin/psql *
 *
 * A zeroed context has no terminal and no history, so these decisions
 * carry risk 30 (no_tty 10 + first_use 20): below the default security
 * threshold of 50, so templates still grant and the tier stays owner.
 *
 * The tests of the risk signals, tiers, the new match keys, service
 * accounts and break-glass write their policy inline (see policy()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "policy.h"
#include "strv.h"
#include "timewin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUPS(...) ((char *const[]){ __VA_ARGS__, NULL })
#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static int load_policy(void **state)
{
        const char *dir = getenv("JIT_TEST_DATA");
        struct jit_config *c = NULL;
        char path[4096], text[16384];
        char **errs = NULL;
        size_t n;
        FILE *f;

        if (!dir) {
                fprintf(stderr, "JIT_TEST_DATA is not set (run through ctest)\n");
                return -1;
        }
        snprintf(path, sizeof(path), "%s/config-valid.json", dir);
        f = fopen(path, "re");
        if (!f)
                return -1;
        n = fread(text, 1, sizeof(text), f);
        fclose(f);
        if (n == 0 || n == sizeof(text))
                return -1;
        if (jit_config_parse(text, n, &c, &errs) < 0) {
                for (size_t i = 0; errs && errs[i]; i++)
                        fprintf(stderr, "%s\n", errs[i]);
                jit_strv_free(errs);
                return -1;
        }
        *state = c;
        return 0;
}

static int free_policy(void **state)
{
        jit_config_free(*state);
        return 0;
}

/* Decide, and check what holds for every decision. A context that states
 * a command without a mode is a sudo command pam_jit judged exactly. */
static enum jit_action judge(const struct jit_config *config, const struct jit_context *in,
                             struct jit_decision *d, bool break_glass)
{
        struct jit_context c = *in;
        const struct jit_context *ctx = &c;
        enum jit_action a;

        if (c.command && c.command_mode == JIT_COMMAND_NONE)
                c.command_mode = JIT_COMMAND_EXACT;
        memset(d, 0xa5, sizeof(*d));    /* the decision must be filled in whole */
        a = break_glass ? jit_policy_break_glass(config, ctx, d) : jit_policy_decide(config, ctx, d);
        assert_int_equal(a, d->action);
        assert_in_range(d->n_reasons, 1, JIT_POLICY_MAX_REASONS);
        if (a == JIT_ACTION_DENY)
                assert_int_equal(d->ttl, 0);
        if (a == JIT_ACTION_ESCALATE)
                assert_int_equal(d->approvals, d->tier == JIT_TIER_SECURITY ? config->security.approvals : 1);
        return a;
}

static enum jit_action decide(void **state, const struct jit_context *in, struct jit_decision *d)
{
        return judge(*state, in, d, false);
}

/* Some reason's text mentions word. */
static bool has_reason(const struct jit_decision *d, const char *word)
{
        for (size_t i = 0; i < d->n_reasons; i++)
                if (strstr(d->reasons[i].text, word))
                        return true;
        return false;
}

/* Some reason has exactly this id. */
static bool has_reason_id(const struct jit_decision *d, const char *id)
{
        for (size_t i = 0; i < d->n_reasons; i++)
                if (strcmp(d->reasons[i].id, id) == 0)
                        return true;
        return false;
}

static void assert_reason_id(const struct jit_decision *d, const char *id)
{
        if (!has_reason_id(d, id)) {
                char got[1024] = "";
                size_t off = 0;

                for (size_t i = 0; i < d->n_reasons && off < sizeof(got); i++)
                        off += (size_t)snprintf(got + off, sizeof(got) - off, " %s", d->reasons[i].id);
                fail_msg("no reason \"%s\"; reasons:%s", id, got);
        }
}

/* ---- who may ask -------------------------------------------------------- */

static void t_unknown_role_denies(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "root", .service = "sudo" };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_null(d.rule);
        assert_null(d.group);
        assert_int_equal(d.ttl, 0);
}

static void t_incomplete_request_denies(void **state)
{
        struct jit_context no_user = { .role = "ops", .service = "sudo" };
        struct jit_context no_role = { .user = "alice", .service = "sudo" };
        struct jit_decision d;

        assert_int_equal(decide(state, &no_user, &d), JIT_ACTION_DENY);
        assert_int_equal(decide(state, &no_role, &d), JIT_ACTION_DENY);
        assert_int_equal(jit_policy_decide(NULL, &no_role, &d), JIT_ACTION_DENY);
        assert_int_equal(d.action, JIT_ACTION_DENY);
}

static void t_user_who_is_not_a_requester_is_denied(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .groups = GROUPS("staff", "leads"), .role = "ops", .service = "sudo",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_null(d.rule);
        assert_true(has_reason(&d, "bob"));
}

static void t_non_requester_with_active_grant_is_still_denied(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .role = "ops", .service = "sudo", .active_grant = "g-0123456789",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
}

static void t_requester_by_group_is_eligible(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .groups = GROUPS("staff", "sre"), .role = "ops", .service = "sudo",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
}

/* ---- deny rules ---------------------------------------------------------- */

static void t_deny_rule_matching_the_command_denies_with_its_id(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .command = ARGV("/usr/bin/bash", "-l"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_non_null(d.rule);
        assert_string_equal(d.rule, "no-shells");
        assert_true(has_reason(&d, "interactive shells are not granted"));
}

static void t_deny_rule_matching_the_service_denies_with_its_id(void **state)
{
        struct jit_context ctx = {
                .user = "mallory", .groups = GROUPS("sre"), .role = "ops", .service = "sshd",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_non_null(d.rule);
        assert_string_equal(d.rule, "no-ssh");
}

static void t_deny_rule_needs_all_of_its_conditions(void **state)
{
        /* no-ssh names mallory: alice over sshd, and mallory over sudo, pass it. */
        struct jit_context alice = { .user = "alice", .role = "ops", .service = "sshd" };
        struct jit_context mallory = { .user = "mallory", .groups = GROUPS("sre"), .role = "ops", .service = "sudo" };
        struct jit_decision d;

        assert_int_equal(decide(state, &alice, &d), JIT_ACTION_ESCALATE);
        assert_int_equal(decide(state, &mallory, &d), JIT_ACTION_ESCALATE);
}

static void t_deny_rule_wins_over_active_grant_and_template(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .groups = GROUPS("oncall"), .role = "ops", .service = "sudo",
                .command = ARGV("/bin/sh", "-c", "id"), .active_grant = "g-0123456789",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "no-shells");
}

static void t_deny_rule_applies_to_a_command_too_long_to_judge(void **state)
{
        /* "Anything it cannot match denies": a shell whose command line is
         * too long to compare must not slip past "no-shells", neither into
         * an escalation nor into the oncall template's pre-approval. */
        char *arg = malloc(8192);
        struct jit_decision d;

        assert_non_null(arg);
        memset(arg, 'x', 8191);
        arg[8191] = '\0';
        struct jit_context alice = {
                .user = "alice", .role = "ops", .service = "sudo",
                .command = ARGV("/usr/bin/bash", "-c", arg),
        };
        struct jit_context oncall = {
                .user = "bob", .groups = GROUPS("oncall"), .role = "ops", .service = "sudo",
                .command = ARGV("/usr/bin/bash", "-c", arg),
        };

        if (decide(state, &alice, &d) != JIT_ACTION_DENY)
                fail_msg("alice: an 8 KiB bash command was not denied: %s (%s)",
                         jit_action_to_string(d.action), jit_decision_summary(&d));
        if (decide(state, &oncall, &d) != JIT_ACTION_DENY)
                fail_msg("oncall: an 8 KiB bash command was not denied: %s (%s)",
                         jit_action_to_string(d.action), jit_decision_summary(&d));
        free(arg);
}

/* ---- active grants and templates ------------------------------------------ */

static void t_active_grant_allows(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .active_grant = "g-0123456789",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        assert_null(d.rule);
        assert_string_equal(d.group, "jit-ops");
        assert_true(has_reason(&d, "g-0123456789"));
}

static void t_template_by_group_allows_with_its_name(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .groups = GROUPS("staff", "oncall"), .role = "ops", .service = "sudo",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        assert_non_null(d.rule);
        assert_string_equal(d.rule, "oncall");
        assert_string_equal(d.group, "jit-ops");
        assert_int_equal(d.ttl, 15 * 60);       /* the role's default */
}

static void t_template_needs_its_service(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .groups = GROUPS("oncall"), .role = "ops", .service = "jitctl",
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_null(d.rule);
}

static void t_template_by_command_allows_with_ttl_capped_by_template(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .ttl = 3600,
                .command = ARGV("/usr/bin/systemctl", "restart", "nginx"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        assert_string_equal(d.rule, "restart-web");
        assert_int_equal(d.ttl, 600);
        assert_reason_id(&d, "ttl.capped");
}

static void t_template_keeps_a_ttl_below_its_cap(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .ttl = 120,
                .command = ARGV("/usr/bin/systemctl", "reload", "nginx"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        assert_string_equal(d.rule, "restart-web");
        assert_int_equal(d.ttl, 120);
}

static void t_template_without_max_ttl_is_capped_by_role_max(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .groups = GROUPS("oncall"), .role = "ops", .service = "sudo", .ttl = 86400,
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        assert_string_equal(d.rule, "oncall");
        assert_int_equal(d.ttl, 4 * 3600);
}

static void t_command_pattern_matches_the_whole_command_line(void **state)
{
        struct jit_context more = {
                .user = "alice", .role = "ops", .service = "sudo",
                .command = ARGV("/usr/bin/systemctl", "restart", "nginx", "postgresql"),
        };
        struct jit_context other = {
                .user = "alice", .role = "ops", .service = "sudo",
                .command = ARGV("/usr/bin/systemctl", "restart", "sshd"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &more, &d), JIT_ACTION_ESCALATE);
        assert_int_equal(decide(state, &other, &d), JIT_ACTION_ESCALATE);
}

static void t_relative_command_never_matches_a_command_template(void **state)
{
        char *const *cmds[] = {
                ARGV("systemctl", "restart", "nginx"),
                ARGV("VAR=x", "/usr/bin/systemctl", "restart", "nginx"),
                ARGV("./systemctl", "restart", "nginx"),
                ARGV(""),
        };
        struct jit_decision d;

        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
                struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .command = cmds[i] };

                /* Not judgeable: no template; the command deny rule applies. */
                assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
                assert_non_null(d.rule);
                assert_string_equal(d.rule, "no-shells");
        }
}

static void t_opaque_command_matches_deny_rules_never_templates(void **state)
{
        /* A shell (sudo -s), an edit (sudo -e) or an unparsable sudo line:
         * whatever argv says, a command deny rule applies and a command
         * template does not. */
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo",
                .command = ARGV("/usr/bin/systemctl", "restart", "nginx"),
                .command_mode = JIT_COMMAND_OPAQUE,
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_non_null(d.rule);
        assert_string_equal(d.rule, "no-shells");
        ctx.command = NULL;
        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "no-shells");
}

static void t_no_command_is_judged_by_the_other_fields(void **state)
{
        /* jitctl request and sshd run no command: command deny rules do
         * not apply, command templates do not match. */
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "jitctl", .command_mode = JIT_COMMAND_NONE,
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_null(d.rule);
}

static void t_request_without_command_never_matches_a_command_template(void **state)
{
        struct jit_context ctx = { .user = "dave", .role = "db", .service = "jitctl" };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_null(d.rule);
}

static void t_template_of_another_role_does_not_apply(void **state)
{
        /* restart-web belongs to ops; asking for db with its command gains nothing. */
        struct jit_context ctx = {
                .user = "alice", .role = "db", .service = "sudo",
                .command = ARGV("/usr/bin/systemctl", "restart", "nginx"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
}

/* ---- TTL and the tier ----------------------------------------------------- */

static void t_ttl_is_capped_by_the_role_max(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .ttl = 86400 };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_int_equal(d.ttl, 4 * 3600);
        assert_true(has_reason(&d, "capped"));
}

static void t_ttl_within_the_role_max_is_kept(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .ttl = 1800 };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_int_equal(d.ttl, 1800);
}

static void t_zero_ttl_means_the_role_default(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo" };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_int_equal(d.ttl, 15 * 60);
}

static void t_owner_tier_escalates_to_one_approver_when_no_template_matches(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .command = ARGV("/usr/bin/journalctl", "-f"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_null(d.rule);
        assert_string_equal(d.group, "jit-ops");
        assert_int_equal(d.tier, JIT_TIER_OWNER);
        assert_int_equal(d.approvals, 1);
        assert_int_equal(d.risk, 30);           /* no_tty + first_use, below 50 */
        assert_reason_id(&d, "tier.owner");
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "tier.owner");
}

static void t_auto_tier_denies_when_no_template_matches(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "db", .service = "sudo", .command = ARGV("/usr/bin/psql", "prod"),
        };
        struct jit_decision d;

        /* db-read is for dave only */
        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_null(d.rule);
        assert_int_equal(d.ttl, 0);
        assert_reason_id(&d, "tier.auto");
}

static void t_template_allows_where_the_auto_tier_denies_otherwise(void **state)
{
        struct jit_context ctx = {
                .user = "dave", .role = "db", .service = "sudo", .ttl = 3600,
                .command = ARGV("/usr/bin/psql", "prod"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        assert_string_equal(d.rule, "db-read");
        assert_string_equal(d.group, "jit-db");
        assert_int_equal(d.ttl, 600);           /* the role's max; the template has none */
        assert_int_equal(d.tier, JIT_TIER_AUTO);
        assert_reason_id(&d, "template.db-read");
}

static void t_same_context_gives_the_same_decision(void **state)
{
        struct jit_context ctx = {
                .user = "bob", .groups = GROUPS("oncall"), .role = "ops", .service = "sudo", .ttl = 300,
        };
        struct jit_decision a, b;

        decide(state, &ctx, &a);
        decide(state, &ctx, &b);
        assert_memory_equal(&a, &b, sizeof(a));
}

/* ---- membership and approvers ---------------------------------------------- */

static void t_may_approve_by_user_or_group(void **state)
{
        const struct jit_config *c = *state;
        const struct jit_role *ops = jit_config_find_role(c, "ops");
        const struct jit_role *db = jit_config_find_role(c, "db");
        const enum jit_tier o = JIT_TIER_OWNER;

        assert_non_null(ops);
        assert_non_null(db);
        assert_true(jit_policy_may_approve(c, ops, o, "carol", NULL));
        assert_true(jit_policy_may_approve(c, ops, o, "erin", GROUPS("staff", "leads")));
        assert_false(jit_policy_may_approve(c, ops, o, "alice", GROUPS("sre", "oncall")));
        assert_false(jit_policy_may_approve(c, ops, o, "leads", NULL));       /* a user is not a group */
        assert_false(jit_policy_may_approve(c, ops, o, "erin", GROUPS("carol")));
        assert_false(jit_policy_may_approve(c, db, o, "carol", GROUPS("leads")));     /* db has no approvers */
        assert_false(jit_policy_may_approve(c, NULL, o, "carol", NULL));
}

static void t_is_member_by_user_or_group(void **state)
{
        char *const *users = GROUPS("alice", "bob");
        char *const *groups = GROUPS("wheel");

        assert_true(jit_policy_is_member("bob", NULL, users, groups));
        assert_true(jit_policy_is_member("zed", GROUPS("staff", "wheel"), users, groups));
        assert_false(jit_policy_is_member("zed", GROUPS("staff"), users, groups));
        assert_false(jit_policy_is_member("zed", NULL, NULL, NULL));
        assert_false(jit_policy_is_member("ali", NULL, users, groups));       /* no prefix match */
}

/* ---- policies written inline ------------------------------------------------ */

static char *sq(const char *s)
{
        char *d = strdup(s);

        assert_non_null(d);
        for (char *p = d; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return d;
}

/* A policy with single quotes for double; it must be valid. */
static struct jit_config *policy(const char *json_sq)
{
        char *text = sq(json_sq);
        struct jit_config *c = NULL;
        char **errs = NULL;

        if (jit_config_parse(text, strlen(text), &c, &errs) < 0) {
                char *all = jit_strv_join(errs, "\n  ");

                fail_msg("policy should be valid:\n  %s\n  %s", all ? all : "", text);
        }
        free(text);
        return c;
}

static int64_t instant(const char *s)
{
        int64_t t;

        assert_int_equal(jit_time_parse_instant(s, &t), 0);
        return t;
}

/* Role ops: requesters alice, backup (a service account) and olivia is
 * not one; approver carol; three security approvals. */
#define SECURITY "'security':{'users':['sam'],'groups':['secops'],'approvals':3}"
#define OPS "'group':'jit-ops','max_ttl':'4h','requesters':{'users':['alice','backup']},'approvers':{'users':['carol']}"
#define ACCOUNTS "'accounts':{'backup':{'kind':'service','units':['backup-*.service']},'alice':{'kind':'human'}}"
#define POLICY(role, rest) "{'version':1," SECURITY "," ACCOUNTS ",'roles':{'ops':{" OPS role "}}" rest "}"
#define TEMPLATE(t) ",'templates':{'t':{'role':'ops'," t "}}"

/* alice at a terminal, with a grant of ops in her history: risk 0. */
#define ALICE .user = "alice", .role = "ops", .service = "sudo", .tty = true, .history = { .grants = 1 }
/* the backup service account, from its unit, without a terminal: risk 0. */
#define BACKUP .user = "backup", .role = "ops", .service = "jitctl", .unit = "backup-db.service", \
        .history = { .grants = 1 }

static void assert_quiet(const struct jit_config *c, const struct jit_context *ctx)
{
        struct jit_decision d;

        judge(c, ctx, &d, false);
        if (d.risk != 0)
                fail_msg("the baseline context should carry no risk, has %u (%s)", d.risk, jit_decision_summary(&d));
}

/* ---- risk signals: each adds its weight and says why -------------------------- */

static void t_off_hours_adds_its_weight_outside_the_role_hours(void **state)
{
        struct jit_config *c = policy(POLICY(",'hours':[{'days':'mon-fri','from':'08:00','to':'18:00'}]", ""));
        struct jit_context ctx = { ALICE, .wday = 1, .minute = 10 * 60 };
        struct jit_decision d;

        assert_quiet(c, &ctx);
        ctx.wday = 6;                                   /* Saturday */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_int_equal(d.risk, 30);
        assert_reason_id(&d, "risk.off_hours");
        assert_true(has_reason(&d, "UTC"));             /* says which clock */
        ctx.wday = 1;
        ctx.minute = 18 * 60;                           /* "to" is not inside */
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 30);
        jit_config_free(c);
}

static void t_change_window_suppresses_off_hours_inside_it_only(void **state)
{
        struct jit_config *c = policy(POLICY(",'hours':[{'days':'mon-fri','from':'08:00','to':'18:00'}]",
                ",'change_windows':[{'id':'db-upgrade','from':'2026-11-22T20:00:00Z','to':'2026-11-22T23:00:00Z'}]"));
        struct jit_context ctx = { ALICE, .wday = 0, .minute = 21 * 60, .now = instant("2026-11-22T21:00:00Z") };
        struct jit_decision d;

        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 0);
        assert_false(has_reason_id(&d, "risk.off_hours"));
        assert_reason_id(&d, "window.db-upgrade");
        ctx.now = instant("2026-11-22T23:00:00Z");     /* the end is outside */
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 30);
        assert_reason_id(&d, "risk.off_hours");
        ctx.now = instant("2026-11-22T19:59:59Z");
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 30);
        jit_config_free(c);
}

static void t_unknown_source_adds_its_weight_outside_the_role_sources(void **state)
{
        struct jit_config *c = policy(POLICY(",'sources':['10.0.0.0/8','2001:db8::/32']", ""));
        struct jit_config *l = policy(POLICY(",'sources':['10.0.0.0/8','local']", ""));
        struct jit_context ctx = { ALICE, .rhost = "10.20.30.40" };
        static const char *const unknown[] = { "192.0.2.7", "bastion.example.com", "11.0.0.1", NULL };
        struct jit_decision d;

        assert_quiet(c, &ctx);
        ctx.rhost = "2001:db8::7";
        assert_quiet(c, &ctx);
        for (size_t i = 0; unknown[i]; i++) {
                ctx.rhost = unknown[i];
                judge(c, &ctx, &d, false);
                assert_int_equal(d.risk, 30);
                assert_reason_id(&d, "risk.unknown_source");
        }
        ctx.rhost = NULL;                               /* local, not listed */
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 30);
        assert_reason_id(&d, "risk.unknown_source");
        assert_quiet(l, &ctx);                          /* "local" lists it */
        ctx.rhost = "";
        assert_quiet(l, &ctx);
        jit_config_free(c);
        jit_config_free(l);
}

static void t_no_tty_adds_its_weight_for_a_person(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        ctx.tty = false;
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 10);
        assert_reason_id(&d, "risk.no_tty");
        assert_false(d.service_account);
        jit_config_free(c);
}

static void t_no_tty_does_not_count_against_a_service_account(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        struct jit_context ctx = { BACKUP };
        struct jit_decision d;

        judge(c, &ctx, &d, false);
        assert_true(d.service_account);
        assert_int_equal(d.risk, 0);
        assert_false(has_reason_id(&d, "risk.no_tty"));
        jit_config_free(c);
}

static void t_service_account_at_a_terminal_adds_its_weight(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        struct jit_context ctx = { BACKUP, .tty = true };
        struct jit_decision d;

        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 30);
        assert_reason_id(&d, "risk.service_account_tty");
        jit_config_free(c);
}

static void t_first_use_adds_its_weight_with_no_grant_in_the_history(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        ctx.history.grants = 0;
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 20);
        assert_reason_id(&d, "risk.first_use");
        jit_config_free(c);
}

static void t_rate_adds_its_weight_once_the_role_rate_is_reached(void **state)
{
        struct jit_config *c = policy(POLICY(",'rate':{'requests':3,'per':'1h'}", ""));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        ctx.history.requests = 2;                       /* this is the third */
        assert_quiet(c, &ctx);
        ctx.history.requests = 3;                       /* the fourth */
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 50);
        assert_reason_id(&d, "risk.rate");
        jit_config_free(c);
}

static void t_recent_denials_add_their_weight_once(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        ctx.history.denials = 1;
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 20);
        assert_reason_id(&d, "risk.recent_denials");
        ctx.history.denials = 9;                        /* a flat weight, not per denial */
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 20);
        jit_config_free(c);
}

static void t_risk_is_the_sum_of_the_configured_weights_of_every_signal_that_fires(void **state)
{
        /* Powers of two: the sum tells exactly which signals fired. */
        struct jit_config *c = policy(
                "{'version':1," SECURITY "," ACCOUNTS ","
                "'settings':{'risk_weights':{'off_hours':1,'unknown_source':2,'no_tty':4,'first_use':8,"
                "'rate':16,'recent_denials':32,'service_account_tty':64}},"
                "'roles':{'ops':{" OPS ",'risk':{'security':1000},'rate':{'requests':1,'per':'1h'},"
                "'sources':['10.0.0.0/8'],'hours':[{'days':'mon-fri','from':'08:00','to':'18:00'}]}}}");
        static const char *const person[] = {
                "risk.off_hours", "risk.unknown_source", "risk.no_tty", "risk.first_use", "risk.rate",
                "risk.recent_denials", NULL,
        };
        struct jit_context alice = {
                .user = "alice", .role = "ops", .service = "sudo", .wday = 0, .rhost = "192.0.2.1",
                .history = { .requests = 1, .denials = 1 },
        };
        struct jit_context backup = {
                BACKUP, .tty = true, .wday = 0, .rhost = "192.0.2.1",
        };
        struct jit_decision d;

        judge(c, &alice, &d, false);
        assert_int_equal(d.risk, 1 + 2 + 4 + 8 + 16 + 32);
        for (size_t i = 0; person[i]; i++)
                assert_reason_id(&d, person[i]);
        assert_false(has_reason_id(&d, "risk.service_account_tty"));
        backup.history.grants = 0;
        backup.history.requests = 1;
        backup.history.denials = 1;
        judge(c, &backup, &d, false);
        assert_int_equal(d.risk, 1 + 2 + 8 + 16 + 32 + 64);
        assert_reason_id(&d, "risk.service_account_tty");
        assert_false(has_reason_id(&d, "risk.no_tty"));
        assert_int_equal(d.action, JIT_ACTION_ESCALATE);
        assert_int_equal(d.tier, JIT_TIER_OWNER);       /* 123 < 1000 */
        jit_config_free(c);
}

static void t_signal_with_weight_zero_neither_adds_nor_says_anything(void **state)
{
        struct jit_config *c = policy("{'version':1," SECURITY ",'settings':{'risk_weights':{'no_tty':0,'first_use':0}},"
                                      "'roles':{'ops':{" OPS "}}}");
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo" };
        struct jit_decision d;

        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 0);
        assert_false(has_reason_id(&d, "risk.no_tty"));
        assert_false(has_reason_id(&d, "risk.first_use"));
        jit_config_free(c);
}

/* ---- tiers and thresholds ------------------------------------------------------ */

static void t_risk_at_the_security_threshold_raises_the_tier_to_m_approvals(void **state)
{
        struct jit_config *c = policy(POLICY(",'risk':{'security':30}", ""));
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .tty = true };
        struct jit_decision d;

        judge(c, &ctx, &d, false);                      /* first_use: 20 */
        assert_int_equal(d.risk, 20);
        assert_int_equal(d.action, JIT_ACTION_ESCALATE);
        assert_int_equal(d.tier, JIT_TIER_OWNER);
        assert_int_equal(d.approvals, 1);
        assert_false(has_reason_id(&d, "tier.raised"));
        ctx.tty = false;                                /* + no_tty: 30 */
        judge(c, &ctx, &d, false);
        assert_int_equal(d.risk, 30);
        assert_int_equal(d.action, JIT_ACTION_ESCALATE);
        assert_int_equal(d.tier, JIT_TIER_SECURITY);
        assert_int_equal(d.approvals, 3);
        assert_reason_id(&d, "tier.raised");
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "tier.security");
        jit_config_free(c);
}

static void t_security_tier_needs_m_approvals_at_any_risk(void **state)
{
        struct jit_config *c = policy(POLICY(",'tier':'security'", ""));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_int_equal(d.risk, 0);
        assert_int_equal(d.tier, JIT_TIER_SECURITY);
        assert_int_equal(d.approvals, 3);
        assert_false(has_reason_id(&d, "tier.raised"));
        assert_reason_id(&d, "tier.security");
        jit_config_free(c);
}

static void t_risk_at_the_deny_threshold_denies(void **state)
{
        struct jit_config *c = policy(POLICY(",'risk':{'security':20,'deny':30}", TEMPLATE("'users':['alice']")));
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .tty = true };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);      /* 20 */
        assert_int_equal(d.tier, JIT_TIER_SECURITY);
        ctx.tty = false;                                                        /* 30 */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
        assert_int_equal(d.risk, 30);
        assert_null(d.rule);                            /* not even the template */
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "risk.deny");
        jit_config_free(c);
}

static void t_template_is_not_applied_once_risk_reaches_the_security_threshold(void **state)
{
        struct jit_config *c = policy(POLICY("", TEMPLATE("'users':['alice']")));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ALLOW);
        assert_string_equal(d.rule, "t");
        ctx.tty = false;
        ctx.history.grants = 0;
        ctx.history.denials = 1;                        /* 10 + 20 + 20 = 50 */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_int_equal(d.risk, 50);
        assert_null(d.rule);
        assert_int_equal(d.tier, JIT_TIER_SECURITY);
        assert_int_equal(d.approvals, 3);
        assert_reason_id(&d, "template.t");
        assert_true(has_reason(&d, "risk is too high"));
        jit_config_free(c);
}

static void t_template_not_applied_on_an_auto_role_at_high_risk_denies(void **state)
{
        struct jit_config *c = policy(
                "{'version':1," SECURITY ",'roles':{'ops':{'group':'jit-ops','max_ttl':'1h','requesters':{'users':['alice']},"
                "'tier':'auto','risk':{'security':30}}},'templates':{'t':{'role':'ops','users':['alice']}}}");
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo" };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
        assert_reason_id(&d, "template.t");
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "tier.auto");
        jit_config_free(c);
}

static void t_without_a_security_block_risk_neither_raises_the_tier_nor_stops_templates(void **state)
{
        /* The old schema's behaviour: no security tier exists to raise to. */
        struct jit_config *c = policy("{'version':1,'roles':{'ops':{" OPS "}}" TEMPLATE("'users':['alice']") "}");
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .history = { .denials = 1 } };
        struct jit_decision d;

        assert_int_equal(c->roles[0].risk_security, 0);
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ALLOW);
        assert_int_equal(d.risk, 50);
        assert_string_equal(d.rule, "t");
        ctx.user = "backup";                    /* a requester the template does not name */
        ctx.unit = "backup-db.service";
        ctx.tty = true;
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_int_equal(d.tier, JIT_TIER_OWNER);
        assert_int_equal(d.approvals, 1);
        jit_config_free(c);
}

/* ---- what a template matches ---------------------------------------------------- */

static void t_template_hours_restrict_it_to_its_window(void **state)
{
        /* Friday and Saturday nights, 22:00 to 06:00 the next morning. */
        struct jit_config *c = policy(POLICY("", TEMPLATE("'users':['alice'],'hours':[{'days':'fri,sat','from':'22:00','to':'06:00'}]")));
        static const struct { int wday, minute; enum jit_action want; } cases[] = {
                { 5, 22 * 60, JIT_ACTION_ALLOW },       /* Fri 22:00 */
                { 6, 5 * 60 + 59, JIT_ACTION_ALLOW },   /* Sat 05:59, Friday's night */
                { 0, 3 * 60, JIT_ACTION_ALLOW },        /* Sun 03:00, Saturday's night */
                { 0, 6 * 60, JIT_ACTION_ESCALATE },     /* Sun 06:00 */
                { 5, 3 * 60, JIT_ACTION_ESCALATE },     /* Fri 03:00: Thursday is not listed */
                { 3, 23 * 60, JIT_ACTION_ESCALATE },    /* Wed 23:00 */
        };
        struct jit_decision d;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct jit_context ctx = { ALICE, .wday = cases[i].wday, .minute = cases[i].minute };

                if (judge(c, &ctx, &d, false) != cases[i].want)
                        fail_msg("day %d minute %d: %s", cases[i].wday, cases[i].minute, jit_action_to_string(d.action));
        }
        jit_config_free(c);
}

static void t_template_sources_restrict_it_to_its_networks(void **state)
{
        struct jit_config *c = policy(POLICY("", TEMPLATE("'users':['alice'],'sources':['10.0.0.0/8','2001:db8::/32']")));
        static const struct { const char *rhost; enum jit_action want; } cases[] = {
                { "10.1.2.3", JIT_ACTION_ALLOW },
                { "[2001:db8::1]", JIT_ACTION_ALLOW },
                { "::ffff:10.1.2.3", JIT_ACTION_ALLOW },
                { "192.0.2.1", JIT_ACTION_ESCALATE },
                { "10.example.com", JIT_ACTION_ESCALATE },      /* a name is never resolved */
                { NULL, JIT_ACTION_ESCALATE },                  /* local, not listed */
        };
        struct jit_decision d;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct jit_context ctx = { ALICE, .rhost = cases[i].rhost };

                if (judge(c, &ctx, &d, false) != cases[i].want)
                        fail_msg("rhost %s: %s", cases[i].rhost ? cases[i].rhost : "(local)",
                                 jit_action_to_string(d.action));
        }
        jit_config_free(c);
}

static void t_template_units_restrict_it_to_its_units(void **state)
{
        struct jit_config *c = policy(POLICY("", TEMPLATE("'units':['deploy-*.service']")));
        struct jit_context ctx = { ALICE, .unit = "deploy-web.service" };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ALLOW);
        ctx.unit = "cron.service";
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        ctx.unit = NULL;                                /* unknown: no template */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_null(d.rule);
        jit_config_free(c);
}

static void t_template_target_users_restrict_it_to_its_targets(void **state)
{
        struct jit_config *c = policy(POLICY("", TEMPLATE("'users':['alice'],'target_users':['postgres']")));
        struct jit_context ctx = { ALICE, .target_user = "postgres" };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ALLOW);
        ctx.target_user = NULL;                         /* root */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        ctx.target_user = "root";
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        ctx.target_user = "postgres2";
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        jit_config_free(c);
}

static void t_template_tty_true_needs_a_terminal_and_false_needs_none(void **state)
{
        struct jit_config *term = policy(POLICY("", TEMPLATE("'users':['alice'],'tty':true")));
        struct jit_config *batch = policy(POLICY("", TEMPLATE("'users':['alice'],'tty':false")));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        assert_int_equal(judge(term, &ctx, &d, false), JIT_ACTION_ALLOW);
        assert_int_equal(judge(batch, &ctx, &d, false), JIT_ACTION_ESCALATE);
        ctx.tty = false;
        assert_int_equal(judge(term, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_int_equal(judge(batch, &ctx, &d, false), JIT_ACTION_ALLOW);
        jit_config_free(term);
        jit_config_free(batch);
}

static void t_deny_rule_with_units_matches_an_unknown_unit_a_template_does_not(void **state)
{
        /* ops has the deny rule, web the template: an unknown unit is
         * counted against the request both times. */
        struct jit_config *c = policy(
                "{'version':1," SECURITY ",'roles':{"
                "'ops':{" OPS ",'deny':[{'id':'not-from-cron','units':['cron.service']}]},"
                "'web':{'group':'jit-web','max_ttl':'1h','requesters':{'users':['alice']},'approvers':{'users':['carol']}}},"
                "'templates':{'from-deploy':{'role':'web','units':['*.service']}}}");
        struct jit_context ops = { ALICE, .unit = "nginx.service" };
        struct jit_context web = { ALICE, .unit = "nginx.service" };
        struct jit_decision d;

        web.role = "web";

        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_ESCALATE);
        ops.unit = "cron.service";
        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "not-from-cron");
        ops.unit = NULL;
        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "not-from-cron");
        assert_reason_id(&d, "deny.not-from-cron");

        assert_int_equal(judge(c, &web, &d, false), JIT_ACTION_ALLOW);
        assert_string_equal(d.rule, "from-deploy");
        web.unit = NULL;
        assert_int_equal(judge(c, &web, &d, false), JIT_ACTION_ESCALATE);
        assert_null(d.rule);
        jit_config_free(c);
}

static void t_deny_rule_with_sources_matches_a_host_name_a_template_does_not(void **state)
{
        /* sshd with UseDNS gives PAM_RHOST as a name: no CIDR can place it. */
        struct jit_config *c = policy(
                "{'version':1," SECURITY ",'roles':{"
                "'ops':{" OPS ",'deny':[{'id':'not-from-dmz','sources':['192.0.2.0/24']}]},"
                "'web':{'group':'jit-web','max_ttl':'1h','requesters':{'users':['alice']},'approvers':{'users':['carol']}}},"
                "'templates':{'office':{'role':'web','users':['alice'],'sources':['10.0.0.0/8']}}}");
        struct jit_context ops = { ALICE, .rhost = "10.1.2.3" };
        struct jit_context web = { ALICE, .rhost = "10.1.2.3" };
        struct jit_decision d;

        web.role = "web";
        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_ESCALATE);
        ops.rhost = "192.0.2.9";
        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "not-from-dmz");
        ops.rhost = "host.dmz.example.com";
        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "not-from-dmz");
        ops.rhost = NULL;                               /* local: a known fact, not listed */
        assert_int_equal(judge(c, &ops, &d, false), JIT_ACTION_ESCALATE);

        assert_int_equal(judge(c, &web, &d, false), JIT_ACTION_ALLOW);
        web.rhost = "host.office.example.com";
        assert_int_equal(judge(c, &web, &d, false), JIT_ACTION_ESCALATE);
        jit_config_free(c);
}

/* ---- the role's allowed commands ---------------------------------------------- */

static void t_role_commands_deny_every_other_command_and_opaque_ones(void **state)
{
        struct jit_config *c = policy(POLICY(",'commands':['/usr/bin/systemctl status *','/usr/bin/journalctl *']", ""));
        struct jit_context ctx = { ALICE, .command = ARGV("/usr/bin/journalctl", "-u", "nginx") };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        ctx.command = ARGV("/usr/bin/id");
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "role.commands");
        ctx.command = ARGV("journalctl", "-u", "nginx");        /* cannot be judged */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
        assert_reason_id(&d, "role.commands");
        ctx.command = ARGV("/usr/bin/journalctl", "-u", "nginx");
        ctx.command_mode = JIT_COMMAND_OPAQUE;                  /* sudo -s, sudo -e */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
        assert_reason_id(&d, "role.commands");
        ctx.command = NULL;                                     /* jitctl request: no command */
        ctx.command_mode = JIT_COMMAND_NONE;
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        jit_config_free(c);
}

/* ---- service accounts ------------------------------------------------------------ */

static void t_service_account_outside_its_declared_units_is_denied(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        static const char *const units[] = { "cron.service", "backup-db.timer", "user@1000.service", NULL };
        struct jit_context ctx = { BACKUP };
        struct jit_decision d;

        for (size_t i = 0; units[i]; i++) {
                ctx.unit = units[i];
                assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
                assert_string_equal(d.reasons[d.n_reasons - 1].id, "account.unit");
                assert_true(d.service_account);
        }
        ctx.unit = NULL;                                /* unknown: denied */
        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "account.unit");
        jit_config_free(c);
}

static void t_service_account_inside_its_declared_units_is_judged_as_usual(void **state)
{
        struct jit_config *c = policy(POLICY("", TEMPLATE("'users':['backup'],'units':['backup-*.service']")));
        struct jit_context ctx = { BACKUP };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ALLOW);
        assert_true(d.service_account);
        assert_string_equal(d.rule, "t");
        jit_config_free(c);
}

static void t_declared_human_needs_no_unit(void **state)
{
        struct jit_config *c = policy(POLICY("", ""));
        struct jit_context ctx = { ALICE };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_ESCALATE);
        assert_false(d.service_account);
        jit_config_free(c);
}

/* ---- break-glass -------------------------------------------------------------------- */

#define GLASS ",'break_glass':{'users':['olivia','backup'],'max_ttl':'30m','rate':{'requests':2,'per':'1d'}}," \
        "'deny':[{'id':'no-shells','commands':['/usr/bin/bash*']}]"
#define OLIVIA .user = "olivia", .role = "ops", .service = "sudo", .tty = true

static void t_break_glass_refuses_a_user_not_on_call(void **state)
{
        struct jit_config *c = policy(POLICY(GLASS, ""));
        struct jit_context ctx = { ALICE };                     /* a requester, not on call */
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_DENY);
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "break_glass.oncall");
        assert_false(d.eligible);
        jit_config_free(c);
}

static void t_break_glass_grants_on_call_at_once_with_its_own_tier(void **state)
{
        struct jit_config *c = policy(POLICY(GLASS, ""));
        struct jit_context ctx = { OLIVIA };                    /* on call, not a requester */
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, false), JIT_ACTION_DENY);  /* a plain request */
        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_ALLOW);
        assert_int_equal(d.tier, JIT_TIER_BREAK_GLASS);
        assert_int_equal(d.ttl, 30 * 60);                       /* its max by default */
        assert_null(d.rule);
        assert_string_equal(d.group, "jit-ops");
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "break_glass.granted");
        jit_config_free(c);
}

static void t_break_glass_caps_the_ttl_to_its_own_max(void **state)
{
        struct jit_config *c = policy(POLICY(GLASS, ""));
        struct jit_context ctx = { OLIVIA, .ttl = 2 * 3600 };   /* within the role's 4h */
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_ALLOW);
        assert_int_equal(d.ttl, 30 * 60);
        assert_reason_id(&d, "ttl.capped");
        ctx.ttl = 600;
        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_ALLOW);
        assert_int_equal(d.ttl, 600);
        assert_false(has_reason_id(&d, "ttl.capped"));
        jit_config_free(c);
}

static void t_break_glass_refuses_once_its_rate_is_used_up(void **state)
{
        struct jit_config *c = policy(POLICY(GLASS, ""));
        struct jit_context ctx = { OLIVIA, .history = { .break_glass = 1 } };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_ALLOW);
        ctx.history.break_glass = 2;
        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_DENY);
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "break_glass.rate");
        jit_config_free(c);
}

static void t_break_glass_refuses_a_service_account(void **state)
{
        struct jit_config *c = policy(POLICY(GLASS, ""));
        struct jit_context ctx = { BACKUP, .tty = true };       /* on call, in its unit */
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_DENY);
        assert_true(d.service_account);
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "break_glass.person");
        jit_config_free(c);
}

static void t_break_glass_loses_to_a_deny_rule(void **state)
{
        struct jit_config *c = policy(POLICY(GLASS, ""));
        struct jit_context ctx = { OLIVIA, .command = ARGV("/usr/bin/bash", "-i") };
        struct jit_decision d;

        assert_int_equal(judge(c, &ctx, &d, true), JIT_ACTION_DENY);
        assert_string_equal(d.rule, "no-shells");
        assert_reason_id(&d, "deny.no-shells");
        jit_config_free(c);
}

static void t_break_glass_on_a_role_without_it_is_denied(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .tty = true };
        struct jit_decision d;

        assert_int_equal(judge(*state, &ctx, &d, true), JIT_ACTION_DENY);
        assert_string_equal(d.reasons[d.n_reasons - 1].id, "break_glass.disabled");
}

/* ---- who approves at which tier ---------------------------------------------------- */

static void t_owner_tier_is_approved_by_the_role_approvers_only(void **state)
{
        const struct jit_config *c = *state;
        const struct jit_role *ops = jit_config_find_role(c, "ops");
        const enum jit_tier o = JIT_TIER_OWNER;

        assert_true(jit_policy_may_approve(c, ops, o, "carol", NULL));
        assert_false(jit_policy_may_approve(c, ops, o, "sam", NULL));                 /* security */
        assert_false(jit_policy_may_approve(c, ops, o, "erin", GROUPS("secops")));    /* security */
}

static void t_security_tier_is_approved_by_role_or_security_approvers(void **state)
{
        const struct jit_config *c = *state;
        const struct jit_role *ops = jit_config_find_role(c, "ops");
        const enum jit_tier s = JIT_TIER_SECURITY;

        assert_true(jit_policy_may_approve(c, ops, s, "carol", NULL));
        assert_true(jit_policy_may_approve(c, ops, s, "erin", GROUPS("leads")));
        assert_true(jit_policy_may_approve(c, ops, s, "sam", NULL));
        assert_true(jit_policy_may_approve(c, ops, s, "erin", GROUPS("secops")));
        assert_false(jit_policy_may_approve(c, ops, s, "alice", GROUPS("sre")));
        assert_true(jit_policy_is_security_approver(c, "sam", NULL));
        assert_true(jit_policy_is_security_approver(c, "erin", GROUPS("staff", "secops")));
        assert_false(jit_policy_is_security_approver(c, "carol", GROUPS("leads")));
        assert_false(jit_policy_is_security_approver(NULL, "sam", NULL));
}

static void t_nobody_approves_at_the_auto_or_break_glass_tier(void **state)
{
        const struct jit_config *c = *state;
        const struct jit_role *ops = jit_config_find_role(c, "ops");

        assert_false(jit_policy_may_approve(c, ops, JIT_TIER_AUTO, "carol", NULL));
        assert_false(jit_policy_may_approve(c, ops, JIT_TIER_AUTO, "sam", NULL));
        assert_false(jit_policy_may_approve(c, ops, JIT_TIER_BREAK_GLASS, "carol", NULL));
        assert_false(jit_policy_may_approve(c, ops, JIT_TIER_BREAK_GLASS, "sam", NULL));
}

/* ---- the decision as JSON and as one line --------------------------------------------- */

static const cJSON *field(const cJSON *j, const char *key)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);

        if (!it)
                fail_msg("no \"%s\" in the decision", key);
        return it;
}

static void assert_reasons_json(const cJSON *j, const struct jit_decision *d)
{
        const cJSON *rs = field(j, "reasons"), *r;
        size_t i = 0;

        assert_true(cJSON_IsArray(rs));
        assert_int_equal(cJSON_GetArraySize(rs), d->n_reasons);
        cJSON_ArrayForEach(r, rs) {
                assert_int_equal(cJSON_GetArraySize(r), 2);
                assert_string_equal(cJSON_GetStringValue(field(r, "id")), d->reasons[i].id);
                assert_string_equal(cJSON_GetStringValue(field(r, "text")), d->reasons[i].text);
                i++;
        }
}

static void t_decision_json_of_an_escalation_has_tier_approvals_ttl_and_reasons(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .ttl = 1800 };
        struct jit_decision d;
        cJSON *j;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        j = jit_decision_to_json(&d);
        assert_non_null(j);
        assert_string_equal(cJSON_GetStringValue(field(j, "action")), "escalate");
        assert_string_equal(cJSON_GetStringValue(field(j, "tier")), "owner");
        assert_int_equal(field(j, "approvals")->valuedouble, 1);
        assert_int_equal(field(j, "ttl")->valuedouble, 1800);
        assert_int_equal(field(j, "risk")->valuedouble, 30);
        assert_string_equal(cJSON_GetStringValue(field(j, "group")), "jit-ops");
        assert_true(cJSON_IsFalse(field(j, "service_account")));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "rule"));
        assert_reasons_json(j, &d);
        assert_int_equal(cJSON_GetArraySize(j), 8);
        cJSON_Delete(j);
}

static void t_decision_json_of_a_denial_has_no_tier_approvals_or_ttl(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .command = ARGV("/bin/sh") };
        struct jit_decision d;
        cJSON *j;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        j = jit_decision_to_json(&d);
        assert_non_null(j);
        assert_string_equal(cJSON_GetStringValue(field(j, "action")), "deny");
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "tier"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "approvals"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "ttl"));
        assert_string_equal(cJSON_GetStringValue(field(j, "rule")), "no-shells");
        assert_reasons_json(j, &d);
        assert_string_equal(d.reasons[0].id, "deny.no-shells");
        cJSON_Delete(j);
}

static void t_decision_json_of_a_template_grant_names_it_with_no_approvals(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .command = ARGV("/usr/bin/systemctl", "reload", "nginx"),
        };
        struct jit_decision d;
        cJSON *j;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ALLOW);
        j = jit_decision_to_json(&d);
        assert_non_null(j);
        assert_string_equal(cJSON_GetStringValue(field(j, "action")), "allow");
        assert_string_equal(cJSON_GetStringValue(field(j, "tier")), "auto");
        assert_int_equal(field(j, "approvals")->valuedouble, 0);
        assert_int_equal(field(j, "ttl")->valuedouble, 600);
        assert_string_equal(cJSON_GetStringValue(field(j, "rule")), "restart-web");
        assert_reasons_json(j, &d);
        cJSON_Delete(j);
}

static void t_decision_summary_is_the_text_of_the_deciding_reason(void **state)
{
        struct jit_context ctx = { .user = "alice", .role = "ops", .service = "sudo", .ttl = 86400 };
        struct jit_decision d;

        decide(state, &ctx, &d);
        assert_true(d.n_reasons >= 2);                  /* ttl.capped, the risk, tier.owner */
        assert_string_equal(d.reasons[0].id, "ttl.capped");
        assert_string_equal(jit_decision_summary(&d), d.reasons[d.n_reasons - 1].text);
        assert_non_null(strstr(jit_decision_summary(&d), "one approver"));
        d.n_reasons = 0;
        assert_string_equal(jit_decision_summary(&d), "no reason");
}

static void t_rate_period_is_the_role_rate_or_else_the_history_window(void **state)
{
        struct jit_config *c = policy(
                "{'version':1," SECURITY ",'settings':{'history_window':'3d'},'roles':{"
                "'ops':{" OPS ",'rate':{'requests':5,'per':'2h'}},"
                "'web':{'group':'jit-web','max_ttl':'1h','requesters':{'users':['alice']},'approvers':{'users':['carol']}}}}");

        assert_int_equal(jit_policy_rate_period(c, jit_config_find_role(c, "ops")), 2 * 3600);
        assert_int_equal(jit_policy_rate_period(c, jit_config_find_role(c, "web")), 3 * 86400);
        assert_int_equal(jit_policy_rate_period(c, NULL), 3 * 86400);
        jit_config_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_unknown_role_denies),
                cmocka_unit_test(t_incomplete_request_denies),
                cmocka_unit_test(t_user_who_is_not_a_requester_is_denied),
                cmocka_unit_test(t_non_requester_with_active_grant_is_still_denied),
                cmocka_unit_test(t_requester_by_group_is_eligible),
                cmocka_unit_test(t_deny_rule_matching_the_command_denies_with_its_id),
                cmocka_unit_test(t_deny_rule_matching_the_service_denies_with_its_id),
                cmocka_unit_test(t_deny_rule_needs_all_of_its_conditions),
                cmocka_unit_test(t_deny_rule_wins_over_active_grant_and_template),
                cmocka_unit_test(t_deny_rule_applies_to_a_command_too_long_to_judge),
                cmocka_unit_test(t_active_grant_allows),
                cmocka_unit_test(t_template_by_group_allows_with_its_name),
                cmocka_unit_test(t_template_needs_its_service),
                cmocka_unit_test(t_template_by_command_allows_with_ttl_capped_by_template),
                cmocka_unit_test(t_template_keeps_a_ttl_below_its_cap),
                cmocka_unit_test(t_template_without_max_ttl_is_capped_by_role_max),
                cmocka_unit_test(t_command_pattern_matches_the_whole_command_line),
                cmocka_unit_test(t_relative_command_never_matches_a_command_template),
                cmocka_unit_test(t_request_without_command_never_matches_a_command_template),
                cmocka_unit_test(t_opaque_command_matches_deny_rules_never_templates),
                cmocka_unit_test(t_no_command_is_judged_by_the_other_fields),
                cmocka_unit_test(t_template_of_another_role_does_not_apply),
                cmocka_unit_test(t_ttl_is_capped_by_the_role_max),
                cmocka_unit_test(t_ttl_within_the_role_max_is_kept),
                cmocka_unit_test(t_zero_ttl_means_the_role_default),
                cmocka_unit_test(t_owner_tier_escalates_to_one_approver_when_no_template_matches),
                cmocka_unit_test(t_auto_tier_denies_when_no_template_matches),
                cmocka_unit_test(t_template_allows_where_the_auto_tier_denies_otherwise),
                cmocka_unit_test(t_same_context_gives_the_same_decision),
                cmocka_unit_test(t_may_approve_by_user_or_group),
                cmocka_unit_test(t_is_member_by_user_or_group),
                cmocka_unit_test(t_off_hours_adds_its_weight_outside_the_role_hours),
                cmocka_unit_test(t_change_window_suppresses_off_hours_inside_it_only),
                cmocka_unit_test(t_unknown_source_adds_its_weight_outside_the_role_sources),
                cmocka_unit_test(t_no_tty_adds_its_weight_for_a_person),
                cmocka_unit_test(t_no_tty_does_not_count_against_a_service_account),
                cmocka_unit_test(t_service_account_at_a_terminal_adds_its_weight),
                cmocka_unit_test(t_first_use_adds_its_weight_with_no_grant_in_the_history),
                cmocka_unit_test(t_rate_adds_its_weight_once_the_role_rate_is_reached),
                cmocka_unit_test(t_recent_denials_add_their_weight_once),
                cmocka_unit_test(t_risk_is_the_sum_of_the_configured_weights_of_every_signal_that_fires),
                cmocka_unit_test(t_signal_with_weight_zero_neither_adds_nor_says_anything),
                cmocka_unit_test(t_risk_at_the_security_threshold_raises_the_tier_to_m_approvals),
                cmocka_unit_test(t_security_tier_needs_m_approvals_at_any_risk),
                cmocka_unit_test(t_risk_at_the_deny_threshold_denies),
                cmocka_unit_test(t_template_is_not_applied_once_risk_reaches_the_security_threshold),
                cmocka_unit_test(t_template_not_applied_on_an_auto_role_at_high_risk_denies),
                cmocka_unit_test(t_without_a_security_block_risk_neither_raises_the_tier_nor_stops_templates),
                cmocka_unit_test(t_template_hours_restrict_it_to_its_window),
                cmocka_unit_test(t_template_sources_restrict_it_to_its_networks),
                cmocka_unit_test(t_template_units_restrict_it_to_its_units),
                cmocka_unit_test(t_template_target_users_restrict_it_to_its_targets),
                cmocka_unit_test(t_template_tty_true_needs_a_terminal_and_false_needs_none),
                cmocka_unit_test(t_deny_rule_with_units_matches_an_unknown_unit_a_template_does_not),
                cmocka_unit_test(t_deny_rule_with_sources_matches_a_host_name_a_template_does_not),
                cmocka_unit_test(t_role_commands_deny_every_other_command_and_opaque_ones),
                cmocka_unit_test(t_service_account_outside_its_declared_units_is_denied),
                cmocka_unit_test(t_service_account_inside_its_declared_units_is_judged_as_usual),
                cmocka_unit_test(t_declared_human_needs_no_unit),
                cmocka_unit_test(t_break_glass_refuses_a_user_not_on_call),
                cmocka_unit_test(t_break_glass_grants_on_call_at_once_with_its_own_tier),
                cmocka_unit_test(t_break_glass_caps_the_ttl_to_its_own_max),
                cmocka_unit_test(t_break_glass_refuses_once_its_rate_is_used_up),
                cmocka_unit_test(t_break_glass_refuses_a_service_account),
                cmocka_unit_test(t_break_glass_loses_to_a_deny_rule),
                cmocka_unit_test(t_break_glass_on_a_role_without_it_is_denied),
                cmocka_unit_test(t_owner_tier_is_approved_by_the_role_approvers_only),
                cmocka_unit_test(t_security_tier_is_approved_by_role_or_security_approvers),
                cmocka_unit_test(t_nobody_approves_at_the_auto_or_break_glass_tier),
                cmocka_unit_test(t_decision_json_of_an_escalation_has_tier_approvals_ttl_and_reasons),
                cmocka_unit_test(t_decision_json_of_a_denial_has_no_tier_approvals_or_ttl),
                cmocka_unit_test(t_decision_json_of_a_template_grant_names_it_with_no_approvals),
                cmocka_unit_test(t_decision_summary_is_the_text_of_the_deciding_reason),
                cmocka_unit_test(t_rate_period_is_the_role_rate_or_else_the_history_window),
        };

        return cmocka_run_group_tests(tests, load_policy, free_policy);
}
