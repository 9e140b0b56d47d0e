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
        assert_int_equal(ops->default_action, JIT_ACTION_ESCALATE);
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
        assert_int_equal(db->default_action, JIT_ACTION_DENY);
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
        assert_int_equal(ops->default_action, JIT_ACTION_ESCALATE);
}

static void t_default_ttl_defaults_within_a_short_max_ttl(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{'group':'g','max_ttl':'5m'," REQ "," APP "}}}");

        assert_int_equal(c->roles[0].max_ttl, 300);
        assert_true(c->roles[0].default_ttl > 0 && c->roles[0].default_ttl <= 300);
}

static void t_deny_without_approvers_is_valid(void **state)
{
        _cleanup_config_free_ struct jit_config *c = parse_ok(
                "{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ",'default_action':'deny'}}}");

        assert_int_equal(c->roles[0].default_action, JIT_ACTION_DENY);
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

static void t_escalate_without_approvers_is_an_error(void **state)
{
        /* explicitly, and by default (escalate is the default action) */
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ ",'default_action':'escalate'}}}",
                     "$.roles.ops", "approvers");
        expect_error("{'version':1,'roles':{'ops':{'group':'g','max_ttl':'1h'," REQ "}}}",
                     "$.roles.ops", "approvers");
}

static void t_unknown_default_action_is_an_error(void **state)
{
        expect_error(WITH_ROLE("'default_action':'allow'"), "$.roles.ops.default_action", "allow");
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
                "  'db':{'group':'jit-db','max_ttl':'1h','requesters':{'users':[]},'default_action':'deny'}},"
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_valid_policy_parses_with_its_values),
                cmocka_unit_test(t_minimal_policy_parses),
                cmocka_unit_test(t_default_ttl_defaults_within_a_short_max_ttl),
                cmocka_unit_test(t_deny_without_approvers_is_valid),
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
                cmocka_unit_test(t_escalate_without_approvers_is_an_error),
                cmocka_unit_test(t_unknown_default_action_is_an_error),
                cmocka_unit_test(t_bad_settings_are_errors),
                cmocka_unit_test(t_wrong_types_are_errors),
                cmocka_unit_test(t_every_error_is_reported_not_only_the_first),
                cmocka_unit_test(t_errors_may_be_ignored_by_passing_null),
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
