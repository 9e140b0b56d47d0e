/* test_policy.c — the pure decision of policy.h, against tests/data/config-valid.json:
 *
 *   role ops: group jit-ops, default_ttl 15m, max_ttl 4h, escalate;
 *     requesters alice + groups sre, oncall; approvers carol + group leads;
 *     deny "no-shells": commands /usr/bin/bash*, /bin/sh*;
 *     deny "no-ssh": service sshd, user mallory.
 *   role db: group jit-db, max_ttl 10m, default_action deny; requesters alice, dave.
 *   template restart-web (ops, max_ttl 10m): /usr/bin/systemctl restart|reload nginx
 *   template oncall (ops): group oncall via service sudo
 *   template db-read (db): user dave, /usr/bin/psql *
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "policy.h"
#include "strv.h"

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
static enum jit_action decide(void **state, const struct jit_context *in, struct jit_decision *d)
{
        struct jit_context c = *in;
        const struct jit_context *ctx = &c;
        enum jit_action a;

        if (c.command && c.command_mode == JIT_COMMAND_NONE)
                c.command_mode = JIT_COMMAND_EXACT;
        memset(d, 0xa5, sizeof(*d));    /* the decision must be filled in whole */
        a = jit_policy_decide(*state, ctx, d);
        assert_int_equal(a, d->action);
        assert_in_range(d->n_reasons, 1, JIT_POLICY_MAX_REASONS);
        return a;
}

static bool has_reason(const struct jit_decision *d, const char *word)
{
        for (size_t i = 0; i < d->n_reasons; i++)
                if (strstr(d->reasons[i], word))
                        return true;
        return false;
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
                         jit_action_to_string(d.action), d.reasons[d.n_reasons - 1]);
        if (decide(state, &oncall, &d) != JIT_ACTION_DENY)
                fail_msg("oncall: an 8 KiB bash command was not denied: %s (%s)",
                         jit_action_to_string(d.action), d.reasons[d.n_reasons - 1]);
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

/* ---- TTL and the default action ------------------------------------------- */

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

static void t_default_action_escalate_when_no_template_matches(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "ops", .service = "sudo", .command = ARGV("/usr/bin/journalctl", "-f"),
        };
        struct jit_decision d;

        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_ESCALATE);
        assert_null(d.rule);
        assert_string_equal(d.group, "jit-ops");
}

static void t_default_action_deny_when_no_template_matches(void **state)
{
        struct jit_context ctx = {
                .user = "alice", .role = "db", .service = "sudo", .command = ARGV("/usr/bin/psql", "prod"),
        };
        struct jit_decision d;

        /* db-read is for dave only */
        assert_int_equal(decide(state, &ctx, &d), JIT_ACTION_DENY);
        assert_null(d.rule);
}

static void t_template_allows_where_the_role_denies_by_default(void **state)
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

        assert_non_null(ops);
        assert_non_null(db);
        assert_true(jit_policy_may_approve(ops, "carol", NULL));
        assert_true(jit_policy_may_approve(ops, "erin", GROUPS("staff", "leads")));
        assert_false(jit_policy_may_approve(ops, "alice", GROUPS("sre", "oncall")));
        assert_false(jit_policy_may_approve(ops, "leads", NULL));     /* a user is not a group */
        assert_false(jit_policy_may_approve(ops, "erin", GROUPS("carol")));
        assert_false(jit_policy_may_approve(db, "carol", GROUPS("leads")));   /* db has no approvers */
        assert_false(jit_policy_may_approve(NULL, "carol", NULL));
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
                cmocka_unit_test(t_default_action_escalate_when_no_template_matches),
                cmocka_unit_test(t_default_action_deny_when_no_template_matches),
                cmocka_unit_test(t_template_allows_where_the_role_denies_by_default),
                cmocka_unit_test(t_same_context_gives_the_same_decision),
                cmocka_unit_test(t_may_approve_by_user_or_group),
                cmocka_unit_test(t_is_member_by_user_or_group),
        };

        return cmocka_run_group_tests(tests, load_policy, free_policy);
}
