/* test_config.c — jit.conf parsing and strict validation (config.h).
 *
 * Policies are written inline with single quotes, which sq() turns into
 * double quotes; error assertions check that a line starts with the JSON
 * path it is about, so "$.roles.ops" cannot pass for "$.roles.ops.max_ttl".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------- */

static char *sq(const char *s)
{
        char *d = strdup(s);

        assert_non_null(d);
        for (char *p = d; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return d;
}

static char *read_fixture(const char *name, size_t *ret_len)
{
        const char *dir = getenv("JIT_TEST_DATA");
        char path[4096];
        char *buf;
        long n;
        FILE *f;

        if (!dir)
                fail_msg("JIT_TEST_DATA is not set (run through ctest)");
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s", path);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n > 0);
        rewind(f);
        buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        buf[n] = '\0';
        fclose(f);
        *ret_len = (size_t)n;
        return buf;
}

/* Parse a policy that must be valid. */
static struct jit_config *parse_ok(const char *json_sq)
{
        char *text = sq(json_sq);
        struct jit_config *c = NULL;
        char **errs = NULL;
        int r = jit_config_parse(text, strlen(text), &c, &errs);

        if (r != 0) {
                char *all = jit_strv_join(errs, "\n  ");

                fail_msg("policy should be valid, got %d:\n  %s", r, all ? all : "");
        }
        assert_non_null(c);
        assert_null(errs);
        free(text);
        return c;
}

/* Parse a policy that must be refused; returns its error lines. */
static char **parse_fail(const char *json_sq)
{
        char *text = sq(json_sq);
        struct jit_config *c = (struct jit_config *)(uintptr_t)1;       /* sentinel */
        char **errs = NULL;
        int r = jit_config_parse(text, strlen(text), &c, &errs);

        if (r != -EINVAL)
                fail_msg("policy should be refused with -EINVAL, got %d:\n  %s", r, text);
        assert_ptr_equal(c, (struct jit_config *)(uintptr_t)1);         /* ret untouched */
        assert_non_null(errs);
        free(text);
        return errs;
}

static bool has_error(char **errs, const char *path, const char *word)
{
        size_t pl = strlen(path);

        for (size_t i = 0; errs && errs[i]; i++)
                if (strncmp(errs[i], path, pl) == 0 && errs[i][pl] == ':' &&
                    (!word || strstr(errs[i] + pl, word)))
                        return true;
        return false;
}

/* Some error line starts with "path:" and mentions word. */
static void assert_error(char **errs, const char *path, const char *word)
{
        if (!has_error(errs, path, word)) {
                char *all = jit_strv_join(errs, "\n  ");

                fail_msg("no error at \"%s\" mentioning \"%s\"; got:\n  %s",
                         path, word ? word : "", all ? all : "(none)");
        }
}

static void expect_error(const char *json_sq, const char *path, const char *word)
{
        char **errs = parse_fail(json_sq);

        assert_error(errs, path, word);
        jit_strv_free(errs);
}

/* Fragments of a minimal valid role. */
#define REQ "'requesters':{'users':['alice']}"
#define APP "'approvers':{'users':['carol']}"
#define OPS "'group':'jit-ops','max_ttl':'1h'," REQ "," APP
#define MINIMAL "{'version':1,'roles':{'ops':{" OPS "}}}"
#define WITH_TEMPLATE(t) "{'version':1,'roles':{'ops':{" OPS "}},'templates':{'t':{" t "}}}"
#define WITH_ROLE(extra) "{'version':1,'roles':{'ops':{" OPS "," extra "}}}"

/* ---- a valid policy ---------------------------------------------------- */

static void t_valid_policy_parses_with_its_values(void **state)
{
        _cleanup_config_free_ struct jit_config *c = NULL;
        char **errs = (char **)(uintptr_t)1;
        const struct jit_role *ops, *db;
        const struct jit_template *t;
        size_t len;
        char *text = read_fixture("config-valid.json", &len);

        assert_int_equal(jit_config_parse(text, len, &c, &errs), 0);
        free(text);
        assert_null(errs);
        assert_non_null(c);

        assert_int_equal(c->settings.expiry, JIT_EXPIRY_LOOP);
        assert_int_equal(c->settings.reconcile_interval, 30);
        assert_int_equal(c->settings.request_ttl, 7200);
        assert_int_equal(c->settings.timer_accuracy_ms, 250);

        assert_int_equal(c->n_roles, 2);
        ops = jit_config_find_role(c, "ops");
        assert_non_null(ops);
        assert_string_equal(ops->name, "ops");
        assert_string_equal(ops->description, "Operations on the web tier");
        assert_string_equal(ops->group, "jit-ops");
        assert_int_equal(ops->default_ttl, 900);
        assert_int_equal(ops->max_ttl, 4 * 3600);
        assert_int_equal(ops->tier, JIT_TIER_OWNER);
        assert_int_equal(ops->risk_security, 50);       /* the default, with a security block */
        assert_int_equal(ops->risk_deny, 0);
        assert_int_equal(jit_strv_length(ops->requester_users), 1);
        assert_string_equal(ops->requester_users[0], "alice");
        assert_int_equal(jit_strv_length(ops->requester_groups), 2);
        assert_string_equal(ops->requester_groups[0], "sre");
        assert_string_equal(ops->requester_groups[1], "oncall");
        assert_string_equal(ops->approver_users[0], "carol");
        assert_string_equal(ops->approver_groups[0], "leads");
        assert_int_equal(ops->n_deny, 2);
        assert_string_equal(ops->deny[0].id, "no-shells");
        assert_string_equal(ops->deny[0].reason, "interactive shells are not granted");
        assert_int_equal(jit_strv_length(ops->deny[0].match.commands), 2);
        assert_string_equal(ops->deny[0].match.commands[1], "/bin/sh*");
        assert_null(ops->deny[0].match.services);
        assert_string_equal(ops->deny[1].id, "no-ssh");
        assert_null(ops->deny[1].reason);
        assert_string_equal(ops->deny[1].match.services[0], "sshd");
        assert_string_equal(ops->deny[1].match.users[0], "mallory");

        db = jit_config_find_role(c, "db");
        assert_non_null(db);
        assert_string_equal(db->group, "jit-db");
        assert_int_equal(db->max_ttl, 600);
        assert_true(db->default_ttl > 0 && db->default_ttl <= db->max_ttl);
        assert_int_equal(db->tier, JIT_TIER_AUTO);
        assert_null(db->approver_users);
        assert_null(db->approver_groups);
        assert_int_equal(db->n_deny, 0);

        assert_null(jit_config_find_role(c, "nope"));
        assert_null(jit_config_find_role(c, NULL));

        assert_int_equal(c->n_templates, 3);
        t = &c->templates[0];
        assert_string_equal(t->name, "restart-web");
        assert_string_equal(t->description, "Restart the web server");
        assert_string_equal(t->role, "ops");
        assert_int_equal(t->max_ttl, 600);
        assert_int_equal(jit_strv_length(t->match.commands), 2);
        assert_string_equal(t->match.commands[0], "/usr/bin/systemctl restart nginx");
        t = &c->templates[1];
        assert_string_equal(t->name, "oncall");
        assert_int_equal(t->max_ttl, 0);        /* 0: the role's max */
        assert_string_equal(t->match.groups[0], "oncall");
        assert_string_equal(t->match.services[0], "sudo");
        assert_null(t->match.commands);
        t = &c->templates[2];
        assert_string_equal(t->name, "db-read");
        assert_string_equal(t->role, "db");
        assert_string_equal(t->match.users[0], "dave");

        assert_string_equal(c->security.users[0], "sam");
        assert_string_equal(c->security.groups[0], "secops");
        assert_int_equal(c->security.approvals, 2);
        assert_null(c->warnings);
}

static void t_minimal_policy_parses(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(MINIMAL);
        const struct jit_role *ops = jit_config_find_role(c, "ops");

        assert_int_equal(c->n_roles, 1);
        assert_int_equal(c->n_templates, 0);
        assert_non_null(ops);
        assert_int_equal(ops->max_ttl, 3600);
        assert_true(ops->default_ttl > 0 && ops->default_ttl <= ops->max_ttl);
        assert_int_equal(ops->tier, JIT_TIER_OWNER);   /* the default tier */
}

static void t_default_ttl_defaults_within_a_short_max_ttl(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{'group':'g','max_ttl':'5m'," REQ "," APP "}}}");

        assert_int_equal(c->roles[0].max_ttl, 300);
        assert_true(c->roles[0].default_ttl > 0 && c->roles[0].default_ttl <= 300);
}

static void t_auto_tier_without_approvers_is_valid(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ",'tier':'auto'}}}");

        assert_int_equal(c->roles[0].tier, JIT_TIER_AUTO);
}

static void t_whitespace_after_the_json_is_accepted(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(MINIMAL " \n\t\r\n");

        assert_int_equal(c->n_roles, 1);
}

/* ---- strict validation -------------------------------------------------- */

static void t_unknown_keys_are_errors_at_every_level(void **state)
{
        static const struct { const char *json, *path; } cases[] = {
                { "{'version':1,'colour':1,'roles':{'ops':{" OPS "}}}", "$" },
                { "{'version':1,'settings':{'colour':1},'roles':{'ops':{" OPS "}}}", "$.settings" },
                { WITH_ROLE("'colour':'red'"), "$.roles.ops" },
                { "{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                  "'requesters':{'users':['alice'],'colour':1}," APP "}}}", "$.roles.ops.requesters" },
                { "{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ","
                  "'approvers':{'users':['carol'],'colour':1}}}}", "$.roles.ops.approvers" },
                { WITH_ROLE("'deny':[{'id':'a','services':['sshd']},{'id':'b','colour':1}]"),
                  "$.roles.ops.deny[1]" },
                { WITH_TEMPLATE("'role':'ops','users':['alice'],'colour':1"), "$.templates.t" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_error(cases[i].json, cases[i].path, "\"colour\"");
}

static void t_bad_durations_are_errors_with_their_path(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1m1h'," REQ "," APP "}}}",
                     "$.roles.ops.max_ttl", "1m1h");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'367d'," REQ "," APP "}}}",
                     "$.roles.ops.max_ttl", "367d");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':3600," REQ "," APP "}}}",
                     "$.roles.ops.max_ttl", NULL);
        expect_error(WITH_ROLE("'default_ttl':'forever'"), "$.roles.ops.default_ttl", "forever");
        expect_error(WITH_ROLE("'default_ttl':'0'"), "$.roles.ops.default_ttl", NULL);
        expect_error("{'version':1,'settings':{'request_ttl':''},'roles':{'ops':{" OPS "}}}",
                     "$.settings.request_ttl", NULL);
        expect_error("{'version':1,'settings':{'reconcile_interval':'1 m'},'roles':{'ops':{" OPS "}}}",
                     "$.settings.reconcile_interval", NULL);
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'max_ttl':'-5m'"),
                     "$.templates.t.max_ttl", NULL);
}

static void t_granted_group_that_confers_rights_is_an_error(void **state)
{
        /* Holding jit-ops must not make anyone a requester, an approver or
         * pre-approved: one grant would lead to the next. */
        expect_error("{'version':1,'roles':{'ops':{" OPS "},'db':{'group':'jit-db','max_ttl':'1h',"
                     "'requesters':{'groups':['jit-ops']},'approvers':{'groups':['jit-ops']}}}}",
                     "$.roles.db", "jit-ops");
        expect_error(WITH_TEMPLATE("'role':'ops','groups':['jit-ops']"), "$.templates.t", "jit-ops");
}

static void t_missing_max_ttl_is_an_error(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{'group':'g'," REQ "," APP "}}}", "$.roles.ops", "max_ttl");
}

static void t_default_ttl_longer_than_max_ttl_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'default_ttl':'61m'"), "$.roles.ops.default_ttl", "max_ttl");
}

static void t_template_naming_a_missing_role_is_an_error(void **state)
{
        expect_error(WITH_TEMPLATE("'role':'nope','users':['alice']"), "$.templates.t.role", "nope");
}

static void t_template_longer_than_its_role_is_an_error(void **state)
{
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'max_ttl':'2h'"),
                     "$.templates.t.max_ttl", NULL);
}

static void t_template_matching_every_request_is_an_error(void **state)
{
        expect_error(WITH_TEMPLATE("'role':'ops'"), "$.templates.t", NULL);
        expect_error(WITH_TEMPLATE("'role':'ops','services':['sudo']"), "$.templates.t", NULL);
}

static void t_empty_lists_are_errors(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                     "'requesters':{'users':[],'groups':['sre']}," APP "}}}",
                     "$.roles.ops.requesters.users", "empty");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ","
                     "'approvers':{'groups':[]}}}}", "$.roles.ops.approvers.groups", "empty");
        expect_error(WITH_ROLE("'deny':[{'id':'a','services':[]}]"), "$.roles.ops.deny[0].services", "empty");
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'commands':[]"),
                     "$.templates.t.commands", "empty");
}

static void t_requesters_naming_nobody_is_an_error(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h','requesters':{}," APP "}}}",
                     "$.roles.ops.requesters", NULL);
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," APP "}}}",
                     "$.roles.ops", "requesters");
}

static void t_bad_names_are_errors(void **state)
{
        expect_error("{'version':1,'roles':{'Ops':{" OPS "}}}", "$.roles", "Ops");
        expect_error("{'version':1,'roles':{'-ops':{" OPS "}}}", "$.roles", "-ops");
        expect_error("{'version':1,'roles':{'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa':{" OPS "}}}",
                     "$.roles", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");   /* 33 characters */
        expect_error("{'version':1,'roles':{'ops':{'group':'jit ops','max_ttl':'1h'," REQ "," APP "}}}",
                     "$.roles.ops.group", "jit ops");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                     "'requesters':{'users':['alice','bob;rm']}," APP "}}}",
                     "$.roles.ops.requesters.users[1]", "bob;rm");
        expect_error(WITH_ROLE("'deny':[{'id':'No Shells','services':['sshd']}]"),
                     "$.roles.ops.deny[0]", "No Shells");
        expect_error(WITH_ROLE("'deny':[{'id':'a','services':['ss/hd']}]"),
                     "$.roles.ops.deny[0].services[0]", "ss/hd");
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'templates':{'Restart':{'role':'ops','users':['alice']}}}",
                     "$.templates", "Restart");
}

static void t_duplicate_keys_in_an_object_are_errors(void **state)
{
        expect_error("{'version':1,'version':1,'roles':{'ops':{" OPS "}}}", "$", "version");
        expect_error(WITH_ROLE("'max_ttl':'9h'"), "$.roles.ops", "max_ttl");
        expect_error("{'version':1,'settings':{'expiry':'loop','expiry':'timer'},'roles':{'ops':{" OPS "}}}",
                     "$.settings", "expiry");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                     "'requesters':{'users':['alice'],'users':['mallory']}," APP "}}}",
                     "$.roles.ops.requesters", "users");
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'role':'ops'"), "$.templates.t", "role");
}

static void t_duplicate_list_entries_are_errors(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                     "'requesters':{'users':['alice','alice']}," APP "}}}",
                     "$.roles.ops.requesters.users[1]", "alice");
}

static void t_duplicate_role_names_are_errors(void **state)
{
        /* Different groups, so only the duplicate key itself can be reported. */
        expect_error("{'version':1,'roles':{'ops':{" OPS "},"
                     "'ops':{'group':'jit-other','max_ttl':'9h'," REQ "," APP "}}}",
                     "$.roles", "ops");
}

static void t_duplicate_template_names_are_errors(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'templates':{"
                     "'t':{'role':'ops','users':['alice']},'t':{'role':'ops','users':['mallory']}}}",
                     "$.templates", "\"t\"");
}

static void t_relative_command_patterns_are_errors(void **state)
{
        expect_error(WITH_TEMPLATE("'role':'ops','commands':['/usr/bin/id','systemctl restart nginx']"),
                     "$.templates.t.commands[1]", "systemctl restart nginx");
        expect_error(WITH_TEMPLATE("'role':'ops','commands':['*']"), "$.templates.t.commands[0]", NULL);
        expect_error(WITH_ROLE("'deny':[{'id':'a','commands':['bash']}]"),
                     "$.roles.ops.deny[0].commands[0]", "bash");
}

static void t_two_roles_granting_one_group_is_an_error(void **state)
{
        char **errs = parse_fail("{'version':1,'roles':{'ops':{" OPS "},"
                                 "'web':{'group':'jit-ops','max_ttl':'1h'," REQ "," APP "}}}");

        assert_error(errs, "$.roles", "jit-ops");
        assert_error(errs, "$.roles", "\"ops\"");
        assert_error(errs, "$.roles", "\"web\"");
        jit_strv_free(errs);
}

static void t_missing_version_is_an_error(void **state)
{
        expect_error("{'roles':{'ops':{" OPS "}}}", "$", "version");
}

static void t_unsupported_version_is_an_error(void **state)
{
        expect_error("{'version':2,'roles':{'ops':{" OPS "}}}", "$.version", NULL);
        expect_error("{'version':'1','roles':{'ops':{" OPS "}}}", "$.version", NULL);
}

static void t_missing_roles_is_an_error(void **state)
{
        expect_error("{'version':1}", "$", "roles");
}

static void t_trailing_garbage_after_the_json_is_an_error(void **state)
{
        expect_error(MINIMAL " x", "$", "JSON");
        expect_error(MINIMAL "{}", "$", "JSON");
        expect_error(MINIMAL ",", "$", "JSON");
}

static void t_trailing_nul_byte_is_an_error(void **state)
{
        static const char text[] = "{\"version\":1,\"roles\":{}}\0garbage";
        struct jit_config *c = NULL;
        char **errs = NULL;

        assert_int_equal(jit_config_parse(text, sizeof(text) - 1, &c, &errs), -EINVAL);
        assert_null(c);
        assert_error(errs, "$", "JSON");
        jit_strv_free(errs);
}

static void t_text_that_is_not_a_json_object_is_an_error(void **state)
{
        expect_error("", "$", NULL);
        expect_error("{'version':1,", "$", "JSON");
        expect_error("[1,2]", "$", "object");
        expect_error("'version'", "$", "object");
}

static void t_owner_tier_without_approvers_is_an_error(void **state)
{
        /* explicitly, and by default (owner is the default tier) */
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ",'tier':'owner'}}}",
                     "$.roles.ops", "approvers");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ "}}}",
                     "$.roles.ops", "approvers");
}

static void t_unknown_tier_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'tier':'escalate'"), "$.roles.ops.tier", "escalate");
        expect_error(WITH_ROLE("'tier':'break-glass'"), "$.roles.ops.tier", "break-glass");
        expect_error(WITH_ROLE("'tier':1"), "$.roles.ops.tier", NULL);
}

static void t_default_action_of_the_old_schema_is_an_unknown_key(void **state)
{
        /* Never read as a tier: an old policy is refused, not reinterpreted. */
        expect_error(WITH_ROLE("'default_action':'escalate'"), "$.roles.ops", "\"default_action\"");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ",'default_action':'deny'}}}",
                     "$.roles.ops", "\"default_action\"");
}

static void t_bad_settings_are_errors(void **state)
{
        expect_error("{'version':1,'settings':{'expiry':'cron'},'roles':{'ops':{" OPS "}}}",
                     "$.settings.expiry", "cron");
        expect_error("{'version':1,'settings':{'timer_accuracy_ms':0},'roles':{'ops':{" OPS "}}}",
                     "$.settings.timer_accuracy_ms", NULL);
        expect_error("{'version':1,'settings':{'timer_accuracy_ms':1.5},'roles':{'ops':{" OPS "}}}",
                     "$.settings.timer_accuracy_ms", NULL);
        expect_error("{'version':1,'settings':{'timer_accuracy_ms':'100'},'roles':{'ops':{" OPS "}}}",
                     "$.settings.timer_accuracy_ms", NULL);
        expect_error("{'version':1,'settings':{'timer_accuracy_ms':1e300},'roles':{'ops':{" OPS "}}}",
                     "$.settings.timer_accuracy_ms", NULL);
        expect_error("{'version':1,'settings':[],'roles':{'ops':{" OPS "}}}", "$.settings", NULL);
}

static void t_wrong_types_are_errors(void **state)
{
        expect_error("{'version':1,'roles':[]}", "$.roles", NULL);
        expect_error("{'version':1,'roles':{'ops':'admin'}}", "$.roles.ops", NULL);
        expect_error("{'version':1,'roles':{'ops':{'group':7,'max_ttl':'1h'," REQ "," APP "}}}",
                     "$.roles.ops.group", NULL);
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                     "'requesters':{'users':'alice'}," APP "}}}", "$.roles.ops.requesters.users", NULL);
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h',"
                     "'requesters':{'users':['alice',3]}," APP "}}}", "$.roles.ops.requesters.users[1]", NULL);
        expect_error(WITH_ROLE("'deny':{'id':'a'}"), "$.roles.ops.deny", NULL);
        expect_error(WITH_ROLE("'deny':['no-ssh']"), "$.roles.ops.deny[0]", NULL);
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'templates':[]}", "$.templates", NULL);
}

static void t_every_error_is_reported_not_only_the_first(void **state)
{
        char **errs = parse_fail(
                "{'colour':1,"
                "'roles':{"
                "  'ops':{'group':'jit-ops','max_ttl':'1m1h','default_ttl':'forever'," REQ "},"
                "  'db':{'group':'jit-db','max_ttl':'1h','requesters':{'users':[]},'tier':'auto'}},"
                "'templates':{'t':{'role':'nope','commands':['systemctl']}}}");

        assert_error(errs, "$", "colour");
        assert_error(errs, "$", "version");
        assert_error(errs, "$.roles.ops.max_ttl", "1m1h");
        assert_error(errs, "$.roles.ops.default_ttl", "forever");
        assert_error(errs, "$.roles.ops", "approvers");
        assert_error(errs, "$.roles.db.requesters.users", "empty");
        assert_error(errs, "$.templates.t.role", "nope");
        assert_error(errs, "$.templates.t.commands[0]", "systemctl");
        assert_true(jit_strv_length(errs) >= 8);
        jit_strv_free(errs);
}

static void t_errors_may_be_ignored_by_passing_null(void **state)
{
        char *text = sq("{'version':2,'roles':{}}");
        struct jit_config *c = NULL;

        assert_int_equal(jit_config_parse(text, strlen(text), &c, NULL), -EINVAL);
        assert_null(c);
        free(text);
}

/* ---- the keys of dynamic decisions -------------------------------------- */

#define SEC "'security':{'users':['sam']}"
#define WITH_SEC_ROLE(extra) "{'version':1," SEC ",'roles':{'ops':{" OPS "," extra "}}}"
#define WITH_TOP(extra) "{'version':1,'roles':{'ops':{" OPS "}}," extra "}"

static void t_new_keys_parse_with_their_values(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,"
                "'settings':{'timezone':'UTC','history_window':'3d','request_ttl':'30m',"
                "  'risk_weights':{'off_hours':5,'unknown_source':6,'no_tty':7,'first_use':8,'rate':9,"
                "  'recent_denials':11,'service_account_tty':12}},"
                "'security':{'users':['sam'],'groups':['secops'],'approvals':3},"
                "'accounts':{'backup':{'kind':'service','units':['backup-*.service','backup.timer'],'description':'nightly dumps'},"
                "  'alice':{'kind':'human'}},"
                "'change_windows':[{'id':'db-upgrade','from':'2026-11-22T20:00:00Z','to':'2026-11-22T23:00:00+01:00'}],"
                "'roles':{'ops':{'group':'jit-ops','max_ttl':'4h','requesters':{'users':['alice','backup']},"
                "  'approvers':{'users':['carol']},'tier':'security','commands':['/usr/bin/systemctl *'],"
                "  'hours':[{'days':'mon-fri','from':'08:00','to':'18:00'},{'days':'sat','from':'22:00','to':'02:00'}],"
                "  'sources':['10.0.0.0/8','2001:db8::/32','local'],'rate':{'requests':5,'per':'1h'},"
                "  'risk':{'security':40,'deny':90},'request_ttl':'10m',"
                "  'break_glass':{'groups':['oncall'],'max_ttl':'30m','rate':{'requests':1,'per':'12h'}},"
                "  'deny':[{'id':'cron-root','target_users':['root'],'units':['cron.service'],'sources':['0.0.0.0/0'],"
                "    'hours':[{'days':'*','from':'00:00','to':'24:00'}],'tty':false}]}},"
                "'templates':{'restart':{'role':'ops','commands':['/usr/bin/systemctl restart nginx'],"
                "  'target_users':['root'],'units':['deploy.service'],'sources':['10.1.0.0/16'],"
                "  'hours':[{'days':'mon','from':'09:00','to':'10:00'}],'tty':true}}}");
        const struct jit_settings *s = &c->settings;
        const struct jit_role *ops = jit_config_find_role(c, "ops");
        const struct jit_account *backup = jit_config_find_account(c, "backup");
        const struct jit_account *alice = jit_config_find_account(c, "alice");
        const struct jit_match *deny, *t;

        assert_string_equal(s->timezone, "UTC");
        assert_int_equal(s->history_window, 3 * 86400);
        assert_int_equal(s->request_ttl, 1800);
        assert_int_equal(s->risk.off_hours, 5);
        assert_int_equal(s->risk.unknown_source, 6);
        assert_int_equal(s->risk.no_tty, 7);
        assert_int_equal(s->risk.first_use, 8);
        assert_int_equal(s->risk.rate, 9);
        assert_int_equal(s->risk.recent_denials, 11);
        assert_int_equal(s->risk.service_account_tty, 12);

        assert_string_equal(c->security.users[0], "sam");
        assert_string_equal(c->security.groups[0], "secops");
        assert_int_equal(c->security.approvals, 3);

        assert_int_equal(c->n_accounts, 2);
        assert_non_null(backup);
        assert_true(backup->service);
        assert_string_equal(backup->description, "nightly dumps");
        assert_int_equal(jit_strv_length(backup->units), 2);
        assert_string_equal(backup->units[1], "backup.timer");
        assert_non_null(alice);
        assert_false(alice->service);
        assert_null(alice->units);
        assert_null(jit_config_find_account(c, "carol"));

        assert_int_equal(c->n_change_windows, 1);
        assert_string_equal(c->change_windows[0].id, "db-upgrade");
        assert_int_equal(c->change_windows[0].from, 1795377600);       /* 2026-11-22T20:00:00Z */
        assert_int_equal(c->change_windows[0].to, 1795377600 + 2 * 3600);

        assert_non_null(ops);
        assert_int_equal(ops->tier, JIT_TIER_SECURITY);
        assert_string_equal(ops->commands[0], "/usr/bin/systemctl *");
        assert_int_equal(ops->hours.n, 2);
        assert_int_equal(ops->hours.windows[0].days, 0x3e);            /* Monday to Friday */
        assert_int_equal(ops->hours.windows[0].from, 8 * 60);
        assert_int_equal(ops->hours.windows[0].to, 18 * 60);
        assert_int_equal(ops->hours.windows[1].days, 0x40);            /* Saturday */
        assert_int_equal(ops->hours.windows[1].from, 22 * 60);
        assert_int_equal(ops->hours.windows[1].to, 2 * 60);
        assert_true(ops->sources.set);
        assert_true(ops->sources.local);
        assert_int_equal(ops->sources.n, 2);
        assert_true(jit_cidr_contains(&ops->sources.cidrs[0], "10.255.0.1"));
        assert_true(jit_cidr_contains(&ops->sources.cidrs[1], "2001:db8::1"));
        assert_int_equal(ops->rate.count, 5);
        assert_int_equal(ops->rate.per, 3600);
        assert_int_equal(ops->risk_security, 40);
        assert_int_equal(ops->risk_deny, 90);
        assert_int_equal(ops->request_ttl, 600);
        assert_null(ops->oncall_users);
        assert_string_equal(ops->oncall_groups[0], "oncall");
        assert_int_equal(ops->break_glass_ttl, 1800);
        assert_int_equal(ops->break_glass_rate.count, 1);
        assert_int_equal(ops->break_glass_rate.per, 12 * 3600);

        deny = &ops->deny[0].match;
        assert_string_equal(deny->target_users[0], "root");
        assert_string_equal(deny->units[0], "cron.service");
        assert_true(deny->sources.set);
        assert_false(deny->sources.local);
        assert_int_equal(deny->hours.windows[0].days, JIT_DAYS_ALL);
        assert_int_equal(deny->hours.windows[0].to, 1440);
        assert_int_equal(deny->tty, JIT_TTY_NONE);

        t = &c->templates[0].match;
        assert_string_equal(t->target_users[0], "root");
        assert_string_equal(t->units[0], "deploy.service");
        assert_int_equal(t->sources.n, 1);
        assert_int_equal(t->hours.n, 1);
        assert_int_equal(t->tty, JIT_TTY_REQUIRED);
        assert_null(c->warnings);
}

static void t_new_keys_have_their_defaults(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(MINIMAL);
        _cleanup_config_free_ struct jit_config *sec = parse_ok(WITH_SEC_ROLE("'break_glass':{'users':['olivia'],'max_ttl':'20m'}"));
        const struct jit_settings *s = &c->settings;
        const struct jit_role *ops = &c->roles[0];

        assert_string_equal(s->timezone, "UTC");
        assert_int_equal(s->history_window, 7 * 86400);
        assert_int_equal(s->request_ttl, 900);
        assert_int_equal(s->risk.off_hours, 30);
        assert_int_equal(s->risk.unknown_source, 30);
        assert_int_equal(s->risk.no_tty, 10);
        assert_int_equal(s->risk.first_use, 20);
        assert_int_equal(s->risk.rate, 50);
        assert_int_equal(s->risk.recent_denials, 20);
        assert_int_equal(s->risk.service_account_tty, 30);
        assert_int_equal(c->n_accounts, 0);
        assert_int_equal(c->n_change_windows, 0);
        assert_null(c->security.users);
        assert_null(c->security.groups);
        assert_int_equal(c->security.approvals, 2);

        assert_null(ops->commands);
        assert_int_equal(ops->hours.n, 0);
        assert_false(ops->sources.set);
        assert_int_equal(ops->rate.count, 0);
        assert_int_equal(ops->risk_security, 0);        /* no security tier to rise to */
        assert_int_equal(ops->risk_deny, 0);
        assert_int_equal(ops->request_ttl, 0);          /* settings.request_ttl */
        assert_int_equal(ops->break_glass_ttl, 0);      /* no break-glass */
        assert_null(ops->oncall_users);
        assert_null(ops->oncall_groups);

        ops = &sec->roles[0];
        assert_int_equal(sec->security.approvals, 2);
        assert_int_equal(ops->risk_security, 50);
        assert_int_equal(ops->break_glass_ttl, 1200);
        assert_int_equal(ops->break_glass_rate.count, 3);       /* three a day */
        assert_int_equal(ops->break_glass_rate.per, 86400);
}

static void t_timezone_names_a_real_zone(void **state)
{
        if (access(JIT_TZ_DIR "/Europe/Berlin", R_OK) < 0)
                skip();
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'settings':{'timezone':'Europe/Berlin'},'roles':{'ops':{" OPS "}}}");

        assert_string_equal(c->settings.timezone, "Europe/Berlin");
}

static void t_bad_timezone_is_an_error(void **state)
{
        static const char *const zones[] = { "Mars/Olympus", "../etc/passwd", "Europe//Berlin", "", "utc/", NULL };

        for (size_t i = 0; zones[i]; i++) {
                char json[256];

                snprintf(json, sizeof(json), "{'version':1,'settings':{'timezone':'%s'},'roles':{'ops':{" OPS "}}}", zones[i]);
                expect_error(json, "$.settings.timezone", NULL);
        }
}

static void t_bad_sources_are_errors_with_their_index(void **state)
{
        expect_error(WITH_ROLE("'sources':['10.0.0.0/8','10.0.0.1/8']"), "$.roles.ops.sources[1]", "10.0.0.1/8");
        expect_error(WITH_ROLE("'sources':['2001:db8::1/32']"), "$.roles.ops.sources[0]", "host bits");
        expect_error(WITH_ROLE("'sources':['10.0.0.0/33']"), "$.roles.ops.sources[0]", NULL);
        expect_error(WITH_ROLE("'sources':['bastion.example.com']"), "$.roles.ops.sources[0]", NULL);
        expect_error(WITH_ROLE("'sources':['LOCAL']"), "$.roles.ops.sources[0]", NULL);
        expect_error(WITH_ROLE("'sources':[7]"), "$.roles.ops.sources[0]", NULL);
        expect_error(WITH_ROLE("'sources':[]"), "$.roles.ops.sources", NULL);
        expect_error(WITH_ROLE("'sources':'10.0.0.0/8'"), "$.roles.ops.sources", NULL);
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'sources':['192.168.1.1/24']"),
                     "$.templates.t.sources[0]", NULL);
        expect_error(WITH_ROLE("'deny':[{'id':'a','sources':['10.1.0.0/8']}]"), "$.roles.ops.deny[0].sources[0]", NULL);
}

static void t_bad_hours_are_errors_with_their_index(void **state)
{
        expect_error(WITH_ROLE("'hours':[{'days':'monday','from':'08:00','to':'18:00'}]"), "$.roles.ops.hours[0]", "days");
        expect_error(WITH_ROLE("'hours':[{'days':'Mon-Fri','from':'08:00','to':'18:00'}]"), "$.roles.ops.hours[0]", "days");
        expect_error(WITH_ROLE("'hours':[{'days':'mon-fri','from':'08:00','to':'18:00'},{'days':'','from':'08:00','to':'18:00'}]"),
                     "$.roles.ops.hours[1]", "days");
        expect_error(WITH_ROLE("'hours':[{'days':'mon','from':'09:00','to':'09:00'}]"), "$.roles.ops.hours[0]", "same time");
        expect_error(WITH_ROLE("'hours':[{'days':'mon','from':'24:00','to':'09:00'}]"), "$.roles.ops.hours[0]", "from");
        expect_error(WITH_ROLE("'hours':[{'days':'mon','from':'8:00','to':'09:00'}]"), "$.roles.ops.hours[0]", "from");
        expect_error(WITH_ROLE("'hours':[{'days':'mon','from':'08:00','to':'24:01'}]"), "$.roles.ops.hours[0]", "to");
        expect_error(WITH_ROLE("'hours':[{'days':'mon','from':'08:00'}]"), "$.roles.ops.hours[0]", "\"to\"");
        expect_error(WITH_ROLE("'hours':[]"), "$.roles.ops.hours", NULL);
        expect_error(WITH_ROLE("'hours':['mon-fri 08:00-18:00']"), "$.roles.ops.hours[0]", "object");
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'hours':[{'days':'sun','from':'10:00','to':'10:00'}]"),
                     "$.templates.t.hours[0]", "same time");
}

static void t_bad_rate_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'rate':{'requests':0,'per':'1h'}"), "$.roles.ops.rate", "requests");
        expect_error(WITH_ROLE("'rate':{'requests':2.5,'per':'1h'}"), "$.roles.ops.rate", "requests");
        expect_error(WITH_ROLE("'rate':{'requests':5}"), "$.roles.ops.rate", "\"per\"");
        expect_error(WITH_ROLE("'rate':{'requests':5,'per':'often'}"), "$.roles.ops.rate.per", "often");
        expect_error(WITH_ROLE("'rate':5"), "$.roles.ops.rate", NULL);
}

static void t_bad_tty_is_an_error(void **state)
{
        expect_error(WITH_TEMPLATE("'role':'ops','users':['alice'],'tty':'yes'"), "$.templates.t.tty", NULL);
        expect_error(WITH_ROLE("'deny':[{'id':'a','tty':1}]"), "$.roles.ops.deny[0].tty", NULL);
}

static void t_bad_units_are_errors(void **state)
{
        expect_error(WITH_TEMPLATE("'role':'ops','units':['/etc/systemd/system/x.service']"), "$.templates.t.units[0]", NULL);
        expect_error(WITH_TEMPLATE("'role':'ops','units':['a b.service']"), "$.templates.t.units[0]", NULL);
        expect_error(WITH_ROLE("'deny':[{'id':'a','units':[]}]"), "$.roles.ops.deny[0].units", "empty");
}

static void t_service_account_without_units_is_an_error(void **state)
{
        expect_error(WITH_TOP("'accounts':{'backup':{'kind':'service'}}"), "$.accounts.backup", "units");
}

static void t_units_on_a_human_account_are_an_error(void **state)
{
        expect_error(WITH_TOP("'accounts':{'alice':{'kind':'human','units':['x.service']}}"), "$.accounts.alice", "units");
}

static void t_bad_accounts_are_errors(void **state)
{
        expect_error(WITH_TOP("'accounts':{'alice':{'kind':'robot'}}"), "$.accounts.alice.kind", "robot");
        expect_error(WITH_TOP("'accounts':{'alice':{}}"), "$.accounts.alice", "kind");
        expect_error(WITH_TOP("'accounts':{'bob;rm':{'kind':'human'}}"), "$.accounts", "bob;rm");
        expect_error(WITH_TOP("'accounts':{'alice':'human'}"), "$.accounts.alice", NULL);
        expect_error(WITH_TOP("'accounts':[]"), "$.accounts", NULL);
}

static void t_security_approvals_out_of_range_are_errors(void **state)
{
        expect_error(WITH_TOP("'security':{'users':['sam'],'approvals':1}"), "$.security.approvals", NULL);
        expect_error(WITH_TOP("'security':{'users':['sam'],'approvals':17}"), "$.security.approvals", NULL);
        expect_error(WITH_TOP("'security':{'users':['sam'],'approvals':2.5}"), "$.security.approvals", NULL);
        expect_error(WITH_TOP("'security':{'users':['sam'],'approvals':'2'}"), "$.security.approvals", NULL);
}

static void t_security_naming_nobody_is_an_error(void **state)
{
        expect_error(WITH_TOP("'security':{'approvals':2}"), "$.security", "nobody");
        expect_error(WITH_TOP("'security':['sam']"), "$.security", NULL);
}

static void t_security_tier_without_a_security_block_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'tier':'security'"), "$.roles.ops", "security");
        expect_error(WITH_ROLE("'risk':{'security':40}"), "$.roles.ops", "security");
}

static void t_risk_deny_at_or_below_security_is_an_error(void **state)
{
        expect_error(WITH_SEC_ROLE("'risk':{'security':50,'deny':50}"), "$.roles.ops.risk", "deny");
        expect_error(WITH_SEC_ROLE("'risk':{'security':60,'deny':40}"), "$.roles.ops.risk", "deny");
        expect_error(WITH_SEC_ROLE("'risk':{'deny':30}"), "$.roles.ops.risk", "deny");  /* default 50 */
        expect_error(WITH_SEC_ROLE("'risk':{'security':0}"), "$.roles.ops.risk.security", NULL);
        expect_error(WITH_SEC_ROLE("'risk':{'deny':1001}"), "$.roles.ops.risk.deny", NULL);
}

static void t_risk_deny_alone_is_valid_without_a_security_tier(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(WITH_ROLE("'risk':{'deny':30}"));

        assert_int_equal(c->roles[0].risk_deny, 30);
        assert_int_equal(c->roles[0].risk_security, 0);
}

static void t_break_glass_longer_than_the_role_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'break_glass':{'users':['olivia'],'max_ttl':'2h'}"), "$.roles.ops.break_glass.max_ttl", "max_ttl");
}

static void t_bad_break_glass_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'break_glass':{'max_ttl':'30m'}"), "$.roles.ops.break_glass", "nobody");
        expect_error(WITH_ROLE("'break_glass':{'users':['olivia']}"), "$.roles.ops.break_glass", "max_ttl");
        expect_error(WITH_ROLE("'break_glass':{'users':['olivia'],'max_ttl':'30m','rate':{'requests':0,'per':'1d'}}"),
                     "$.roles.ops.break_glass.rate", "requests");
        expect_error(WITH_ROLE("'break_glass':true"), "$.roles.ops.break_glass", NULL);
        /* on call for the group it grants: one grant would lead to the next */
        expect_error(WITH_ROLE("'break_glass':{'groups':['jit-ops'],'max_ttl':'30m'}"), "$.roles.ops", "jit-ops");
}

static void t_bad_change_windows_are_errors_with_their_index(void **state)
{
        expect_error(WITH_TOP("'change_windows':[{'id':'a','from':'2026-11-22T20:00:00Z','to':'2026-11-22T20:00:00Z'}]"),
                     "$.change_windows[0]", "ends before");
        expect_error(WITH_TOP("'change_windows':[{'id':'a','from':'2026-11-22T20:00:00Z','to':'2026-11-22T21:00:00Z'},"
                              "{'id':'b','from':'2026-11-22 20:00','to':'2026-11-22T21:00:00Z'}]"),
                     "$.change_windows[1]", "from");
        expect_error(WITH_TOP("'change_windows':[{'id':'a','from':'2026-11-22T20:00:00Z','to':'tomorrow'}]"),
                     "$.change_windows[0]", "to");
        expect_error(WITH_TOP("'change_windows':[{'from':'2026-11-22T20:00:00Z','to':'2026-11-22T21:00:00Z'}]"),
                     "$.change_windows[0]", "id");
        expect_error(WITH_TOP("'change_windows':{'id':'a'}"), "$.change_windows", NULL);
}

static void t_unknown_keys_in_the_new_objects_are_errors(void **state)
{
        static const struct { const char *json, *path; } cases[] = {
                { WITH_ROLE("'hours':[{'days':'mon','from':'08:00','to':'09:00','colour':1}]"), "$.roles.ops.hours[0]" },
                { WITH_ROLE("'rate':{'requests':1,'per':'1h','colour':1}"), "$.roles.ops.rate" },
                { WITH_SEC_ROLE("'risk':{'security':10,'colour':1}"), "$.roles.ops.risk" },
                { WITH_ROLE("'break_glass':{'users':['olivia'],'max_ttl':'30m','colour':1}"), "$.roles.ops.break_glass" },
                { WITH_ROLE("'break_glass':{'users':['olivia'],'max_ttl':'30m','rate':{'requests':1,'per':'1h','colour':1}}"),
                  "$.roles.ops.break_glass.rate" },
                { WITH_TOP("'accounts':{'backup':{'kind':'service','units':['b.service'],'colour':1}}"), "$.accounts.backup" },
                { WITH_TOP("'security':{'users':['sam'],'colour':1}"), "$.security" },
                { WITH_TOP("'change_windows':[{'id':'a','from':'2026-11-22T20:00:00Z','to':'2026-11-22T21:00:00Z','colour':1}]"),
                  "$.change_windows[0]" },
                { "{'version':1,'settings':{'risk_weights':{'colour':1}},'roles':{'ops':{" OPS "}}}", "$.settings.risk_weights" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_error(cases[i].json, cases[i].path, "\"colour\"");
}

static void t_bad_risk_weights_are_errors(void **state)
{
        expect_error("{'version':1,'settings':{'risk_weights':{'no_tty':-1}},'roles':{'ops':{" OPS "}}}",
                     "$.settings.risk_weights.no_tty", NULL);
        expect_error("{'version':1,'settings':{'risk_weights':{'rate':1001}},'roles':{'ops':{" OPS "}}}",
                     "$.settings.risk_weights.rate", NULL);
        expect_error("{'version':1,'settings':{'risk_weights':[]},'roles':{'ops':{" OPS "}}}",
                     "$.settings.risk_weights", NULL);
        expect_error("{'version':1,'settings':{'history_window':'forever'},'roles':{'ops':{" OPS "}}}",
                     "$.settings.history_window", "forever");
}

/* ---- how a role's grants end ------------------------------------------- */

#define ROLE(name, group, extra) "'" name "':{'group':'" group "','max_ttl':'1h'," REQ "," APP "," extra "}"

static void t_end_keys_parse_with_their_values(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{"
                ROLE("ops", "jit-ops", "'end':'sessions','end_grace':'5m','single_use':true,'bind':'session'") ","
                ROLE("db", "jit-db", "'end':'none','end_grace':'1h','single_use':false,'bind':'unit'") ","
                ROLE("web", "jit-web", "'end':'processes','end_grace':'1s'") "}}");
        const struct jit_role *ops = jit_config_find_role(c, "ops");
        const struct jit_role *db = jit_config_find_role(c, "db");
        const struct jit_role *web = jit_config_find_role(c, "web");

        assert_non_null(ops);
        assert_int_equal(ops->end, JIT_END_SESSIONS);
        assert_int_equal(ops->end_grace, 300);
        assert_true(ops->single_use);
        assert_true(ops->bind_session);
        assert_false(ops->bind_unit);

        assert_non_null(db);
        assert_int_equal(db->end, JIT_END_NONE);
        assert_int_equal(db->end_grace, 3600);
        assert_false(db->single_use);
        assert_false(db->bind_session);
        assert_true(db->bind_unit);

        assert_non_null(web);
        assert_int_equal(web->end, JIT_END_PROCESSES);
        assert_int_equal(web->end_grace, 1);
        assert_false(web->single_use);
        assert_false(web->bind_session);
        assert_false(web->bind_unit);
}

static void t_end_keys_have_their_defaults(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(MINIMAL);
        const struct jit_role *ops = &c->roles[0];

        assert_int_equal(ops->end, JIT_END_PROCESSES);
        assert_int_equal(ops->end_grace, 10);
        assert_false(ops->single_use);
        assert_false(ops->bind_session);
        assert_false(ops->bind_unit);
}

static void t_end_grace_of_the_string_zero_means_no_grace(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(WITH_ROLE("'end_grace':'0'"));
        _cleanup_config_free_ struct jit_config *none = parse_ok(WITH_ROLE("'end':'none','end_grace':'0'"));

        assert_int_equal(c->roles[0].end_grace, 0);
        assert_int_equal(c->roles[0].end, JIT_END_PROCESSES);
        assert_int_equal(none->roles[0].end_grace, 0);
        assert_int_equal(none->roles[0].end, JIT_END_NONE);
        expect_error(WITH_ROLE("'end_grace':0"), "$.roles.ops.end_grace", "string");
}

static void t_end_grace_of_at_most_one_hour_is_valid(void **state)
{
        static const struct { const char *text; uint64_t s; } ok[] = {
                { "1h", 3600 }, { "60m", 3600 }, { "3600s", 3600 }, { "59m59s", 3599 }, { "1s", 1 },
        };

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char json[512];

                snprintf(json, sizeof(json), WITH_ROLE("'end_grace':'%s'"), ok[i].text);
                _cleanup_config_free_ struct jit_config *c = parse_ok(json);

                assert_int_equal(c->roles[0].end_grace, ok[i].s);
        }
}

static void t_end_grace_above_one_hour_is_an_error(void **state)
{
        static const char *const over[] = { "1h1s", "3601s", "61m", "2h", "1d", NULL };

        for (size_t i = 0; over[i]; i++) {
                char json[512];

                snprintf(json, sizeof(json), WITH_ROLE("'end_grace':'%s'"), over[i]);
                expect_error(json, "$.roles.ops.end_grace", "at most 1h");
        }
}

static void t_bad_end_grace_is_an_error(void **state)
{
        static const char *const bad[] = { "soon", "-1", "10 s", "1h30", "1m1h", "", "0x10", NULL };

        for (size_t i = 0; bad[i]; i++) {
                char json[512];

                snprintf(json, sizeof(json), WITH_ROLE("'end_grace':'%s'"), bad[i]);
                expect_error(json, "$.roles.ops.end_grace", "bad duration");
        }
        expect_error(WITH_ROLE("'end_grace':10"), "$.roles.ops.end_grace", "string");
        expect_error(WITH_ROLE("'end_grace':null"), "$.roles.ops.end_grace", "string");
        expect_error(WITH_ROLE("'end_grace':'100000000000000000000s'"), "$.roles.ops.end_grace", NULL);
}

static void t_bad_end_mode_is_an_error(void **state)
{
        static const char *const bad[] = { "kill", "Processes", "session", "process", "NONE", "sessions ", NULL };

        for (size_t i = 0; bad[i]; i++) {
                char json[512], word[64];

                snprintf(json, sizeof(json), WITH_ROLE("'end':'%s'"), bad[i]);
                snprintf(word, sizeof(word), "not \"%s\"", bad[i]);
                expect_error(json, "$.roles.ops.end", word);
        }
        expect_error(WITH_ROLE("'end':''"), "$.roles.ops.end", "not \"\"");
        expect_error(WITH_ROLE("'end':'processesprocesses'"), "$.roles.ops.end", "longer than 16");
        expect_error(WITH_ROLE("'end':2"), "$.roles.ops.end", "string");
        expect_error(WITH_ROLE("'end':null"), "$.roles.ops.end", "string");
        expect_error(WITH_ROLE("'end':['none']"), "$.roles.ops.end", "string");
}

static void t_single_use_that_is_not_a_bool_is_an_error(void **state)
{
        static const char *const bad[] = { "'true'", "1", "0", "null", "[]", "{}", NULL };

        for (size_t i = 0; bad[i]; i++) {
                char json[512];

                snprintf(json, sizeof(json), WITH_ROLE("'single_use':%s"), bad[i]);
                expect_error(json, "$.roles.ops.single_use", "true or false");
        }
}

static void t_bind_other_than_session_or_unit_is_an_error(void **state)
{
        static const char *const bad[] = { "sessions", "Session", "UNIT", "scope", "none", "user", "", NULL };

        for (size_t i = 0; bad[i]; i++) {
                char json[512], word[64];

                snprintf(json, sizeof(json), WITH_ROLE("'bind':'%s'"), bad[i]);
                snprintf(word, sizeof(word), "not \"%s\"", bad[i]);
                expect_error(json, "$.roles.ops.bind", word);
        }
        expect_error(WITH_ROLE("'bind':'session-and-unit-too'"), "$.roles.ops.bind", "longer than 16");
        expect_error(WITH_ROLE("'bind':true"), "$.roles.ops.bind", "string");
        expect_error(WITH_ROLE("'bind':['session','unit']"), "$.roles.ops.bind", "string");
}

static void t_every_end_key_error_is_reported_at_its_own_path(void **state)
{
        char **errs = parse_fail("{'version':1,'roles':{"
                                 ROLE("ops", "jit-ops", "'end':'kill','end_grace':'2h','single_use':'yes','bind':'tty'") ","
                                 ROLE("db", "jit-db", "'end_grace':'soon'") "}}");

        assert_error(errs, "$.roles.ops.end", "kill");
        assert_error(errs, "$.roles.ops.end_grace", "at most 1h");
        assert_error(errs, "$.roles.ops.single_use", "true or false");
        assert_error(errs, "$.roles.ops.bind", "tty");
        assert_error(errs, "$.roles.db.end_grace", "soon");
        assert_int_equal(jit_strv_length(errs), 5);
        jit_strv_free(errs);
}

static void t_end_keys_belong_to_roles_not_templates(void **state)
{
        static const char *const keys[] = { "'end':'none'", "'end_grace':'0'", "'single_use':true", "'bind':'unit'", NULL };

        for (size_t i = 0; keys[i]; i++) {
                char json[512];

                snprintf(json, sizeof(json), WITH_TEMPLATE("'role':'ops','users':['alice'],%s"), keys[i]);
                expect_error(json, "$.templates.t", "unknown key");
        }
}

static void t_end_mode_names_round_trip(void **state)
{
        assert_string_equal(jit_end_mode_to_string(JIT_END_PROCESSES), "processes");
        assert_string_equal(jit_end_mode_to_string(JIT_END_SESSIONS), "sessions");
        assert_string_equal(jit_end_mode_to_string(JIT_END_NONE), "none");
        for (int m = JIT_END_PROCESSES; m <= JIT_END_NONE; m++)
                assert_int_equal(jit_end_mode_from_string(jit_end_mode_to_string((enum jit_end_mode)m)), m);
}

static void t_unknown_end_mode_names_are_refused(void **state)
{
        static const char *const bad[] = { "", "Processes", "SESSIONS", "session", "process", "none ", "kill", NULL };

        for (size_t i = 0; bad[i]; i++)
                assert_int_equal(jit_end_mode_from_string(bad[i]), -EINVAL);
        assert_int_equal(jit_end_mode_from_string(NULL), -EINVAL);
}

/* A mode out of range is named for the strictest end, never "none". */
static void t_end_mode_out_of_range_is_named_processes(void **state)
{
        assert_string_equal(jit_end_mode_to_string((enum jit_end_mode)(JIT_END_NONE + 1)), "processes");
        assert_string_equal(jit_end_mode_to_string((enum jit_end_mode)-1), "processes");
}

static void t_template_may_match_by_units_alone(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(WITH_TEMPLATE("'role':'ops','units':['deploy.service']"));

        assert_string_equal(c->templates[0].match.units[0], "deploy.service");
        /* sources, hours, tty or target_users alone still match everyone */
        expect_error(WITH_TEMPLATE("'role':'ops','sources':['10.0.0.0/8']"), "$.templates.t", "every request");
        expect_error(WITH_TEMPLATE("'role':'ops','tty':true,'target_users':['root']"), "$.templates.t", "every request");
}

/* ---- conflicts: reported in c->warnings, never fatal -------------------- */

static bool has_warning(char **w, const char *path, const char *word)
{
        size_t pl = strlen(path);

        for (size_t i = 0; w && w[i]; i++)
                if (strncmp(w[i], path, pl) == 0 && strncmp(w[i] + pl, ": conflict: ", 12) == 0 && strstr(w[i] + pl, word))
                        return true;
        return false;
}

static void assert_warning(char **w, const char *path, const char *word)
{
        if (!has_warning(w, path, word)) {
                char *all = jit_strv_join(w, "\n  ");

                fail_msg("no conflict at \"%s\" mentioning \"%s\"; got:\n  %s", path, word, all ? all : "(none)");
        }
}

static void t_deny_rule_matching_everything_shadows_every_template(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{" OPS ",'deny':[{'id':'freeze','reason':'change freeze'}]}},"
                "'templates':{'a':{'role':'ops','users':['alice']},'b':{'role':'ops','commands':['/usr/bin/id']}}}");

        assert_warning(c->warnings, "$.templates.a", "freeze");
        assert_warning(c->warnings, "$.templates.b", "freeze");
        assert_int_equal(jit_strv_length(c->warnings), 2);
}

static void t_template_command_also_denied_is_a_conflict(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{" OPS ",'deny':[{'id':'no-shells','commands':['/usr/bin/bash*']}]}},"
                "'templates':{'t':{'role':'ops','commands':['/usr/bin/id','/usr/bin/bash -c uptime']}}}");

        assert_warning(c->warnings, "$.templates.t", "/usr/bin/bash -c uptime");
        assert_warning(c->warnings, "$.templates.t", "no-shells");
        assert_int_equal(jit_strv_length(c->warnings), 1);
}

static void t_template_command_outside_the_role_commands_is_a_conflict(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{" OPS ",'commands':['/usr/bin/systemctl *']}},"
                "'templates':{'t':{'role':'ops','commands':['/usr/bin/systemctl restart nginx','/usr/bin/reboot']}}}");

        assert_warning(c->warnings, "$.templates.t", "/usr/bin/reboot");
        assert_int_equal(jit_strv_length(c->warnings), 1);
}

static void t_template_covered_by_an_earlier_broad_one_is_a_conflict(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{'group':'jit-ops','max_ttl':'1h','requesters':{'groups':['eng']}," APP "}},"
                "'templates':{'eng':{'role':'ops','groups':['eng'],'users':['alice']},"
                "'alice-short':{'role':'ops','users':['alice'],'commands':['/usr/bin/id'],'max_ttl':'5m'},"
                "'other':{'role':'ops','users':['bob']}}}");

        assert_warning(c->warnings, "$.templates.alice-short", "template eng");
        assert_false(has_warning(c->warnings, "$.templates.other", "template eng"));
        assert_int_equal(jit_strv_length(c->warnings), 1);
}

static void t_policy_with_errors_reports_no_conflicts(void **state)
{
        /* warnings belong to a config; errors return none */
        char **errs = parse_fail(
                "{'version':1,'roles':{'ops':{" OPS ",'deny':[{'id':'freeze'}],'colour':1}},"
                "'templates':{'t':{'role':'ops','users':['alice']}}}");

        assert_error(errs, "$.roles.ops", "colour");
        for (size_t i = 0; errs[i]; i++)
                assert_null(strstr(errs[i], "conflict"));
        jit_strv_free(errs);
}

/* ---- jit_config_load: ownership and mode -------------------------------- */

struct loadenv {
        char dir[64];
        char path[128];
};

static int load_setup(void **state)
{
        struct loadenv *e = calloc(1, sizeof(*e));

        if (!e)
                return -1;
        snprintf(e->dir, sizeof(e->dir), "/tmp/jit-test-config-XXXXXX");
        if (!mkdtemp(e->dir) || chmod(e->dir, 0755) < 0) {
                free(e);
                return -1;
        }
        snprintf(e->path, sizeof(e->path), "%s/jit.conf", e->dir);
        *state = e;
        return 0;
}

static int load_teardown(void **state)
{
        static const char *const names[] = { "jit.conf", "real.conf", "link.conf" };
        struct loadenv *e = *state;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char p[160];

                snprintf(p, sizeof(p), "%s/%s", e->dir, names[i]);
                (void)unlink(p);
        }
        (void)rmdir(e->dir);
        free(e);
        return 0;
}

static void write_policy(const char *path, mode_t mode, uid_t uid)
{
        char *text = sq(MINIMAL);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchown(fd, uid, 0), 0);
        assert_int_equal(fchmod(fd, mode), 0);  /* after fchown, which may clear bits */
        close(fd);
        free(text);
}

static void assert_load_refused(const char *path, int want)
{
        struct jit_config *c = NULL;
        char **errs = NULL;

        assert_int_equal(jit_config_load(path, &c, &errs), want);
        assert_null(c);
        assert_null(errs);
}

static void t_load_reads_a_root_owned_file(void **state)
{
        struct loadenv *e = *state;
        _cleanup_config_free_ struct jit_config *c = NULL;
        char **errs = NULL;

        write_policy(e->path, 0644, 0);
        assert_int_equal(jit_config_load(e->path, &c, &errs), 0);
        assert_non_null(c);
        assert_null(errs);
        assert_non_null(jit_config_find_role(c, "ops"));
        assert_int_equal(c->roles[0].max_ttl, 3600);
}

static void t_load_reads_a_root_only_file(void **state)
{
        struct loadenv *e = *state;
        _cleanup_config_free_ struct jit_config *c = NULL;

        write_policy(e->path, 0600, 0);
        assert_int_equal(jit_config_load(e->path, &c, NULL), 0);
        assert_non_null(c);
}

static void t_load_refuses_a_group_writable_file(void **state)
{
        struct loadenv *e = *state;

        write_policy(e->path, 0664, 0);
        assert_load_refused(e->path, -EPERM);
}

static void t_load_refuses_a_world_writable_file(void **state)
{
        struct loadenv *e = *state;

        write_policy(e->path, 0646, 0);
        assert_load_refused(e->path, -EPERM);
}

static void t_load_refuses_a_file_not_owned_by_root(void **state)
{
        struct loadenv *e = *state;

        write_policy(e->path, 0644, 65534);
        assert_load_refused(e->path, -EPERM);
}

static void t_load_refuses_a_group_writable_directory(void **state)
{
        struct loadenv *e = *state;

        write_policy(e->path, 0644, 0);
        assert_int_equal(chmod(e->dir, 0775), 0);
        assert_load_refused(e->path, -EPERM);
}

static void t_load_refuses_a_sticky_world_writable_directory(void **state)
{
        /* /tmp-like directories are fine on the way, never as the last one */
        struct loadenv *e = *state;

        write_policy(e->path, 0644, 0);
        assert_int_equal(chmod(e->dir, 01777), 0);
        assert_load_refused(e->path, -EPERM);
}

static void t_load_refuses_a_directory_not_owned_by_root(void **state)
{
        struct loadenv *e = *state;

        write_policy(e->path, 0644, 0);
        assert_int_equal(chown(e->dir, 65534, 0), 0);
        assert_load_refused(e->path, -EPERM);
}

static void t_load_refuses_a_symlink(void **state)
{
        struct loadenv *e = *state;
        char target[160], link[160];
        struct jit_config *c = NULL;

        snprintf(target, sizeof(target), "%s/real.conf", e->dir);
        snprintf(link, sizeof(link), "%s/link.conf", e->dir);
        write_policy(target, 0644, 0);
        assert_int_equal(symlink(target, link), 0);
        assert_true(jit_config_load(link, &c, NULL) < 0);
        assert_null(c);
}

static void t_load_reports_parse_errors_of_a_trusted_file(void **state)
{
        struct loadenv *e = *state;
        struct jit_config *c = NULL;
        char **errs = NULL;
        int fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"roles\":{}}", 12), 12);
        close(fd);
        assert_int_equal(jit_config_load(e->path, &c, &errs), -EINVAL);
        assert_null(c);
        assert_error(errs, "$", "version");
        jit_strv_free(errs);
}

static void t_load_refuses_a_file_over_the_size_limit(void **state)
{
        /* valid JSON padded with spaces: at the limit it loads, one byte over it does not */
        struct loadenv *e = *state;
        struct jit_config *c = NULL;
        char *text = sq(MINIMAL), *buf = malloc(JIT_CONFIG_MAX_SIZE + 1);
        int fd;

        assert_non_null(buf);
        memset(buf, ' ', JIT_CONFIG_MAX_SIZE + 1);
        memcpy(buf, text, strlen(text));
        fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, JIT_CONFIG_MAX_SIZE), JIT_CONFIG_MAX_SIZE);
        assert_int_equal(jit_config_load(e->path, &c, NULL), 0);
        jit_config_free(c);
        c = NULL;
        assert_int_equal(write(fd, buf, 1), 1);
        close(fd);
        assert_int_equal(jit_config_load(e->path, &c, NULL), -EFBIG);
        assert_null(c);
        free(buf);
        free(text);
}

static void t_load_refuses_a_relative_path(void **state)
{
        struct jit_config *c = NULL;

        assert_int_equal(jit_config_load("jit.conf", &c, NULL), -EINVAL);
        assert_null(c);
}

#define LOAD_TEST(f) cmocka_unit_test_setup_teardown(f, load_setup, load_teardown)

/* ---- notifications --------------------------------------------------- */

#define KEY "'key_file':'/etc/jit/notify/k.key'"
#define NOTIFY(targets) "{'version':1,'roles':{'ops':{" OPS "}},'notify':{'targets':{" targets "}}}"
#define NOTIFY_ROLE(targets, role) "{'version':1,'roles':{'ops':{" OPS ",'notify':{" role "}}},'notify':{'targets':{" targets "}}}"

static void t_notify_targets_parse_with_their_values(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{" OPS ",'notify':{'targets':['chat','siem','pager'],"
                "'events':['pending','break-glass','review']}}},"
                "'notify':{'terminals':true,'retry':{'base':'1s','max_delay':'1m','max_attempts':3,'max_age':'1h'},"
                "'targets':{"
                "'chat':{'type':'slack','url_file':'/etc/jit/notify/chat.url'," KEY "},"
                "'siem':{'type':'json','url':'https://siem.example:8443/jit?x=1'," KEY ",'ca_file':'/etc/jit/notify/ca.pem',"
                "'proxy':'http://proxy.example:3128','timeout':'10s'},"
                "'local':{'type':'json','url':'http://127.0.0.1:8080/hook','allow_http_loopback':true," KEY "},"
                "'pager':{'type':'command','argv':['/usr/local/bin/page','--urgent'],'timeout':'3s'}}}}");
        const struct jit_notify_target *t;
        const struct jit_role *ops = jit_config_find_role(c, "ops");

        assert_int_equal(c->notify.n_targets, 4);
        assert_true(c->notify.terminals);
        assert_int_equal(c->notify.retry_base, 1);
        assert_int_equal(c->notify.retry_max_delay, 60);
        assert_int_equal(c->notify.retry_max_attempts, 3);
        assert_int_equal(c->notify.retry_max_age, 3600);
        t = jit_config_find_target(c, "chat");
        assert_int_equal(t->type, JIT_NOTIFY_SLACK);
        assert_null(t->url);
        assert_string_equal(t->url_file, "/etc/jit/notify/chat.url");
        assert_int_equal(t->timeout, 5);                /* the default */
        t = jit_config_find_target(c, "siem");
        assert_int_equal(t->type, JIT_NOTIFY_JSON);
        assert_string_equal(t->url, "https://siem.example:8443/jit?x=1");
        assert_string_equal(t->ca_file, "/etc/jit/notify/ca.pem");
        assert_string_equal(t->proxy, "http://proxy.example:3128");
        assert_int_equal(t->timeout, 10);
        assert_false(t->allow_http_loopback);
        assert_true(jit_config_find_target(c, "local")->allow_http_loopback);
        t = jit_config_find_target(c, "pager");
        assert_int_equal(t->type, JIT_NOTIFY_COMMAND);
        assert_string_equal(t->argv[0], "/usr/local/bin/page");
        assert_string_equal(t->argv[1], "--urgent");
        assert_null(t->argv[2]);
        assert_null(jit_config_find_target(c, "nope"));
        assert_string_equal(ops->notify_targets[2], "pager");
        assert_int_equal(ops->notify_events, 1U << JIT_NOTIFY_PENDING | 1U << JIT_NOTIFY_BREAK_GLASS | 1U << JIT_NOTIFY_REVIEW);
}

static void t_notify_defaults_without_the_key(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(MINIMAL);

        assert_int_equal(c->notify.n_targets, 0);
        assert_false(c->notify.terminals);
        assert_int_equal(c->notify.retry_base, 2);
        assert_int_equal(c->notify.retry_max_delay, 600);
        assert_int_equal(c->notify.retry_max_attempts, 8);
        assert_int_equal(c->notify.retry_max_age, 86400);
        assert_null(jit_config_find_role(c, "ops")->notify_targets);
        assert_int_equal(jit_config_find_role(c, "ops")->notify_events, 0);
}

static void t_notify_urls_are_https_without_credentials(void **state)
{
        expect_error(NOTIFY("'a':{'type':'json','url':'http://hooks.example/x'," KEY "}"),
                     "$.notify.targets.a.url", "must be https");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://user:pw@hooks.example/x'," KEY "}"),
                     "$.notify.targets.a.url", "user name or password");
        expect_error(NOTIFY("'a':{'type':'json','url':'ftp://hooks.example/x'," KEY "}"),
                     "$.notify.targets.a.url", "https://");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://hooks.example/a b'," KEY "}"),
                     "$.notify.targets.a.url", "printable ASCII");
        expect_error(NOTIFY("'a':{'type':'json','url':'https:///x'," KEY "}"),
                     "$.notify.targets.a.url", "no host");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example:99999/'," KEY "}"),
                     "$.notify.targets.a.url", "bad port");
        expect_error(NOTIFY("'a':{'type':'json'," KEY "}"), "$.notify.targets.a", "exactly one of");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/','url_file':'/etc/u'," KEY "}"),
                     "$.notify.targets.a", "exactly one of");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/'}"), "$.notify.targets.a", "key_file");
}

static void t_notify_http_only_to_loopback_when_allowed(void **state)
{
        const char *why = NULL;

        assert_int_equal(jit_notify_url_check("http://127.0.0.1:8080/h", true, &why), 0);
        assert_int_equal(jit_notify_url_check("http://[::1]:8080/h", true, &why), 0);
        assert_int_equal(jit_notify_url_check("http://localhost/h", true, &why), 0);
        assert_int_equal(jit_notify_url_check("https://hooks.example/h", true, &why), 0);
        assert_int_equal(jit_notify_url_check("http://127.0.0.1:8080/h", false, &why), -EINVAL);
        assert_int_equal(jit_notify_url_check("http://127.0.0.2/h", true, &why), -EINVAL);
        assert_int_equal(jit_notify_url_check("http://localhost.evil.example/h", true, &why), -EINVAL);
        assert_int_equal(jit_notify_url_check("http://127.0.0.1@evil.example/h", true, &why), -EINVAL);
        assert_int_equal(jit_notify_url_check("http://[::1]evil/h", true, &why), -EINVAL);
        assert_int_equal(jit_notify_url_check(NULL, true, &why), -EINVAL);
        expect_error(NOTIFY("'a':{'type':'json','url':'http://127.0.0.1/h','allow_http_loopback':true,"
                            "'proxy':'http://p.example:3128'," KEY "}"),
                     "$.notify.targets.a.proxy", "takes no proxy");
}

static void t_notify_target_keys_fit_their_type(void **state)
{
        expect_error(NOTIFY("'a':{'type':'command','argv':['/bin/true'],'url':'https://h.example/'}"),
                     "$.notify.targets.a", "\"url\" is for slack and json");
        expect_error(NOTIFY("'a':{'type':'command','argv':['/bin/true']," KEY "}"),
                     "$.notify.targets.a", "\"key_file\" is for slack and json");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/','argv':['/bin/true']," KEY "}"),
                     "$.notify.targets.a", "for command targets only");
        expect_error(NOTIFY("'a':{'type':'command','argv':['true']}"), "$.notify.targets.a.argv[0]", "absolute path");
        expect_error(NOTIFY("'a':{'type':'command','argv':[]}"), "$.notify.targets.a.argv", "1 to 64");
        expect_error(NOTIFY("'a':{'type':'command'}"), "$.notify.targets.a.argv", "1 to 64");
        expect_error(NOTIFY("'a':{'type':'command','argv':['/bin/sh','a\\u001bb']}"), "$.notify.targets.a.argv[1]",
                     "control characters");
        expect_error(NOTIFY("'a':{'type':'mail'}"), "$.notify.targets.a.type", "\"slack\", \"json\" or \"command\"");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/','key_file':'k.key'}"),
                     "$.notify.targets.a.key_file", "absolute path");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/','key_file':'/etc/../k.key'}"),
                     "$.notify.targets.a.key_file", "absolute path");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/'," KEY ",'timeout':'2m'}"),
                     "$.notify.targets.a.timeout", "at most 60s");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/'," KEY ",'proxy':'socks5://p:1080'}"),
                     "$.notify.targets.a.proxy", "http:// or https://");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/'," KEY ",'proxy':'http://u:p@p:3128'}"),
                     "$.notify.targets.a.proxy", "user name or password");
        expect_error(NOTIFY("'a':{'type':'json','url':'https://h.example/'," KEY ",'color':'red'}"),
                     "$.notify.targets.a", "unknown key \"color\"");
        expect_error(NOTIFY("'A b':{'type':'command','argv':['/bin/true']}"), "$.notify.targets", "bad target name");
}

static void t_notify_roles_name_declared_targets_and_known_events(void **state)
{
        expect_error(NOTIFY_ROLE("'a':{'type':'command','argv':['/bin/true']}", "'targets':['b'],'events':['pending']"),
                     "$.roles.ops.notify.targets[0]", "no such target \"b\"");
        expect_error(NOTIFY_ROLE("'a':{'type':'command','argv':['/bin/true']}", "'targets':['a'],'events':['approved']"),
                     "$.roles.ops.notify.events[0]", "unknown event \"approved\"");
        expect_error(NOTIFY_ROLE("'a':{'type':'command','argv':['/bin/true']}", "'targets':['a']"),
                     "$.roles.ops.notify", "missing required key \"events\"");
        expect_error(NOTIFY_ROLE("'a':{'type':'command','argv':['/bin/true']}", "'targets':[],'events':['pending']"),
                     "$.roles.ops.notify.targets", "must not be empty");
        expect_error(WITH_ROLE("'notify':{'targets':['a'],'events':['pending']}"),
                     "$.roles.ops.notify.targets[0]", "no such target");
}

static void t_notify_retry_and_terminals_are_checked(void **state)
{
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'notify':{'retry':{'max_attempts':0}}}",
                     "$.notify.retry.max_attempts", "from 1 to 20");
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'notify':{'retry':{'base':'2h'}}}",
                     "$.notify.retry.base", "at most 1h");
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'notify':{'retry':{'base':'1m','max_delay':'30s'}}}",
                     "$.notify.retry.max_delay", "at least");
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'notify':{'terminals':'yes'}}",
                     "$.notify.terminals", "true or false");
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'notify':{'targets':[]}}",
                     "$.notify.targets", "at most 64 targets");
        expect_error("{'version':1,'roles':{'ops':{" OPS "}},'notify':{'sms':{}}}",
                     "$.notify", "unknown key \"sms\"");
}

static void t_notify_event_names_round_trip(void **state)
{
        for (int e = 0; e < _JIT_NOTIFY_EVENT_MAX; e++)
                assert_int_equal(jit_notify_event_from_string(jit_notify_event_to_string((enum jit_notify_event)e)), e);
        assert_string_equal(jit_notify_event_to_string(JIT_NOTIFY_BREAK_GLASS), "break-glass");
        assert_int_equal(jit_notify_event_from_string("nope"), -EINVAL);
        assert_int_equal(jit_notify_event_from_string(NULL), -EINVAL);
        assert_string_equal(jit_notify_type_to_string(JIT_NOTIFY_SLACK), "slack");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_valid_policy_parses_with_its_values),
                cmocka_unit_test(t_minimal_policy_parses),
                cmocka_unit_test(t_default_ttl_defaults_within_a_short_max_ttl),
                cmocka_unit_test(t_auto_tier_without_approvers_is_valid),
                cmocka_unit_test(t_whitespace_after_the_json_is_accepted),
                cmocka_unit_test(t_unknown_keys_are_errors_at_every_level),
                cmocka_unit_test(t_bad_durations_are_errors_with_their_path),
                cmocka_unit_test(t_missing_max_ttl_is_an_error),
                cmocka_unit_test(t_granted_group_that_confers_rights_is_an_error),
                cmocka_unit_test(t_default_ttl_longer_than_max_ttl_is_an_error),
                cmocka_unit_test(t_template_naming_a_missing_role_is_an_error),
                cmocka_unit_test(t_template_longer_than_its_role_is_an_error),
                cmocka_unit_test(t_template_matching_every_request_is_an_error),
                cmocka_unit_test(t_empty_lists_are_errors),
                cmocka_unit_test(t_requesters_naming_nobody_is_an_error),
                cmocka_unit_test(t_bad_names_are_errors),
                cmocka_unit_test(t_duplicate_keys_in_an_object_are_errors),
                cmocka_unit_test(t_duplicate_list_entries_are_errors),
                cmocka_unit_test(t_duplicate_role_names_are_errors),
                cmocka_unit_test(t_duplicate_template_names_are_errors),
                cmocka_unit_test(t_relative_command_patterns_are_errors),
                cmocka_unit_test(t_two_roles_granting_one_group_is_an_error),
                cmocka_unit_test(t_missing_version_is_an_error),
                cmocka_unit_test(t_unsupported_version_is_an_error),
                cmocka_unit_test(t_missing_roles_is_an_error),
                cmocka_unit_test(t_trailing_garbage_after_the_json_is_an_error),
                cmocka_unit_test(t_trailing_nul_byte_is_an_error),
                cmocka_unit_test(t_text_that_is_not_a_json_object_is_an_error),
                cmocka_unit_test(t_owner_tier_without_approvers_is_an_error),
                cmocka_unit_test(t_unknown_tier_is_an_error),
                cmocka_unit_test(t_default_action_of_the_old_schema_is_an_unknown_key),
                cmocka_unit_test(t_bad_settings_are_errors),
                cmocka_unit_test(t_wrong_types_are_errors),
                cmocka_unit_test(t_every_error_is_reported_not_only_the_first),
                cmocka_unit_test(t_errors_may_be_ignored_by_passing_null),
                cmocka_unit_test(t_new_keys_parse_with_their_values),
                cmocka_unit_test(t_new_keys_have_their_defaults),
                cmocka_unit_test(t_timezone_names_a_real_zone),
                cmocka_unit_test(t_bad_timezone_is_an_error),
                cmocka_unit_test(t_bad_sources_are_errors_with_their_index),
                cmocka_unit_test(t_bad_hours_are_errors_with_their_index),
                cmocka_unit_test(t_bad_rate_is_an_error),
                cmocka_unit_test(t_bad_tty_is_an_error),
                cmocka_unit_test(t_bad_units_are_errors),
                cmocka_unit_test(t_service_account_without_units_is_an_error),
                cmocka_unit_test(t_units_on_a_human_account_are_an_error),
                cmocka_unit_test(t_bad_accounts_are_errors),
                cmocka_unit_test(t_security_approvals_out_of_range_are_errors),
                cmocka_unit_test(t_security_naming_nobody_is_an_error),
                cmocka_unit_test(t_security_tier_without_a_security_block_is_an_error),
                cmocka_unit_test(t_risk_deny_at_or_below_security_is_an_error),
                cmocka_unit_test(t_risk_deny_alone_is_valid_without_a_security_tier),
                cmocka_unit_test(t_break_glass_longer_than_the_role_is_an_error),
                cmocka_unit_test(t_bad_break_glass_is_an_error),
                cmocka_unit_test(t_bad_change_windows_are_errors_with_their_index),
                cmocka_unit_test(t_unknown_keys_in_the_new_objects_are_errors),
                cmocka_unit_test(t_bad_risk_weights_are_errors),
                cmocka_unit_test(t_end_keys_parse_with_their_values),
                cmocka_unit_test(t_end_keys_have_their_defaults),
                cmocka_unit_test(t_end_grace_of_the_string_zero_means_no_grace),
                cmocka_unit_test(t_end_grace_of_at_most_one_hour_is_valid),
                cmocka_unit_test(t_end_grace_above_one_hour_is_an_error),
                cmocka_unit_test(t_bad_end_grace_is_an_error),
                cmocka_unit_test(t_bad_end_mode_is_an_error),
                cmocka_unit_test(t_single_use_that_is_not_a_bool_is_an_error),
                cmocka_unit_test(t_bind_other_than_session_or_unit_is_an_error),
                cmocka_unit_test(t_every_end_key_error_is_reported_at_its_own_path),
                cmocka_unit_test(t_end_keys_belong_to_roles_not_templates),
                cmocka_unit_test(t_end_mode_names_round_trip),
                cmocka_unit_test(t_unknown_end_mode_names_are_refused),
                cmocka_unit_test(t_end_mode_out_of_range_is_named_processes),
                cmocka_unit_test(t_template_may_match_by_units_alone),
                cmocka_unit_test(t_deny_rule_matching_everything_shadows_every_template),
                cmocka_unit_test(t_template_command_also_denied_is_a_conflict),
                cmocka_unit_test(t_template_command_outside_the_role_commands_is_a_conflict),
                cmocka_unit_test(t_template_covered_by_an_earlier_broad_one_is_a_conflict),
                cmocka_unit_test(t_policy_with_errors_reports_no_conflicts),
                cmocka_unit_test(t_notify_targets_parse_with_their_values),
                cmocka_unit_test(t_notify_defaults_without_the_key),
                cmocka_unit_test(t_notify_urls_are_https_without_credentials),
                cmocka_unit_test(t_notify_http_only_to_loopback_when_allowed),
                cmocka_unit_test(t_notify_target_keys_fit_their_type),
                cmocka_unit_test(t_notify_roles_name_declared_targets_and_known_events),
                cmocka_unit_test(t_notify_retry_and_terminals_are_checked),
                cmocka_unit_test(t_notify_event_names_round_trip),
                LOAD_TEST(t_load_reads_a_root_owned_file),
                LOAD_TEST(t_load_reads_a_root_only_file),
                LOAD_TEST(t_load_refuses_a_group_writable_file),
                LOAD_TEST(t_load_refuses_a_world_writable_file),
                LOAD_TEST(t_load_refuses_a_file_not_owned_by_root),
                LOAD_TEST(t_load_refuses_a_group_writable_directory),
                LOAD_TEST(t_load_refuses_a_sticky_world_writable_directory),
                LOAD_TEST(t_load_refuses_a_directory_not_owned_by_root),
                LOAD_TEST(t_load_refuses_a_symlink),
                LOAD_TEST(t_load_reports_parse_errors_of_a_trusted_file),
                LOAD_TEST(t_load_refuses_a_file_over_the_size_limit),
                LOAD_TEST(t_load_refuses_a_relative_path),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
