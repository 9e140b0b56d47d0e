/* test_cmdline.c — sudo's argv as jit reads it (cmdline.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdline.h"
#include "strv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static struct jit_cmdline parse(char *const *argv)
{
        struct jit_cmdline c;

        memset(&c, 0xa5, sizeof(c));    /* every field must be written */
        assert_int_equal(jit_cmdline_parse_sudo(&c, argv), 0);
        return c;
}

/* The command equals want (a NULL-terminated list), or is NULL if want is. */
static void assert_command(const struct jit_cmdline *c, char *const *want)
{
        if (!want) {
                assert_null(c->argv);
                return;
        }
        if (!c->argv || jit_strv_length(c->argv) != jit_strv_length(want)) {
                char *got = jit_strv_join(c->argv, " "), *exp = jit_strv_join(want, " ");

                fail_msg("command: want \"%s\", got \"%s\"", exp, c->argv ? got : "(none)");
        }
        for (size_t i = 0; want[i]; i++)
                assert_string_equal(c->argv[i], want[i]);
}

static void assert_user(const struct jit_cmdline *c, const char *want)
{
        if (!want) {
                assert_null(c->target_user);
                return;
        }
        if (!c->target_user)
                fail_msg("target user: want \"%s\", got none", want);
        assert_string_equal(c->target_user, want);
}

/* ---- jit_cmdline_parse_sudo ------------------------------------------------ */

static void t_plain_command(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "/usr/bin/id", "-u"));

        assert_command(&c, ARGV("/usr/bin/id", "-u"));
        assert_user(&c, NULL);
        assert_false(c.non_interactive);
        jit_cmdline_done(&c);
}

static void t_user_option_with_separate_value(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-u", "bob", "cmd", "a"));

        assert_user(&c, "bob");
        assert_command(&c, ARGV("cmd", "a"));
        assert_false(c.non_interactive);
        jit_cmdline_done(&c);
}

static void t_user_option_with_attached_value(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-ubob", "cmd"));

        assert_user(&c, "bob");
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_clustered_short_options(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-nu", "root", "cmd"));

        assert_true(c.non_interactive);
        assert_user(&c, "root");
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_long_user_option_with_equals(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "--user=bob", "cmd"));

        assert_user(&c, "bob");
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_long_user_option_with_separate_value(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "--user", "bob", "cmd"));

        assert_user(&c, "bob");
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_last_user_option_wins(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-u", "bob", "-u", "carol", "cmd"));

        assert_user(&c, "carol");
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_double_dash_ends_options(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "--", "cmd", "-x"));

        assert_command(&c, ARGV("cmd", "-x"));
        assert_user(&c, NULL);
        jit_cmdline_done(&c);

        c = parse(ARGV("sudo", "-n", "--", "-u", "bob"));
        assert_true(c.non_interactive);
        assert_command(&c, ARGV("-u", "bob"));
        assert_user(&c, NULL);
        jit_cmdline_done(&c);
}

static void t_options_after_the_command_belong_to_it(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "cmd", "-u", "bob", "-n"));

        assert_command(&c, ARGV("cmd", "-u", "bob", "-n"));
        assert_user(&c, NULL);
        assert_false(c.non_interactive);
        jit_cmdline_done(&c);
}

static void t_login_shell_has_no_command(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-i"));

        assert_command(&c, NULL);
        jit_cmdline_done(&c);

        c = parse(ARGV("sudo", "-s", "-u", "bob"));
        assert_command(&c, NULL);
        assert_user(&c, "bob");
        jit_cmdline_done(&c);

        c = parse(ARGV("sudo"));
        assert_command(&c, NULL);
        jit_cmdline_done(&c);
}

static void t_short_n_sets_non_interactive(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-n", "cmd"));

        assert_true(c.non_interactive);
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_long_non_interactive_sets_non_interactive(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "--non-interactive", "cmd"));

        assert_true(c.non_interactive);
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_n_as_an_option_value_is_not_the_flag(void **state)
{
        /* "-p n": n is the prompt, not -n */
        struct jit_cmdline c = parse(ARGV("sudo", "-p", "n", "-g", "-n", "cmd"));

        assert_false(c.non_interactive);
        assert_command(&c, ARGV("cmd"));
        jit_cmdline_done(&c);
}

static void t_other_options_with_values_are_skipped(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-g", "wheel", "-D", "/tmp", "-C", "5", "-E", "-H",
                                          "--prompt", "pw:", "--chdir=/", "-T", "10", "cmd", "x"));

        assert_command(&c, ARGV("cmd", "x"));
        assert_user(&c, NULL);
        jit_cmdline_done(&c);
}

static void t_environment_assignment_stays_first(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "VAR=x", "cmd", "a"));

        assert_command(&c, ARGV("VAR=x", "cmd", "a"));
        jit_cmdline_done(&c);

        c = parse(ARGV("sudo", "-u", "bob", "A=1", "B=2", "/usr/bin/id"));
        assert_command(&c, ARGV("A=1", "B=2", "/usr/bin/id"));
        assert_user(&c, "bob");
        jit_cmdline_done(&c);
}

static void t_single_dash_is_a_command(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-", "x"));

        assert_command(&c, ARGV("-", "x"));
        jit_cmdline_done(&c);
}

static void t_abbreviated_long_options_are_understood(void **state)
{
        /* sudo uses getopt_long, which takes any unambiguous prefix:
         * "sudo --us bob /usr/bin/id" runs /usr/bin/id as bob, and
         * "--non-inter" is --non-interactive. */
        struct jit_cmdline c = parse(ARGV("sudo", "--us", "bob", "/usr/bin/id"));

        assert_user(&c, "bob");
        assert_command(&c, ARGV("/usr/bin/id"));
        jit_cmdline_done(&c);

        c = parse(ARGV("sudo", "--non-inter", "/usr/bin/id"));
        assert_true(c.non_interactive);
        assert_command(&c, ARGV("/usr/bin/id"));
        jit_cmdline_done(&c);
}

static void t_option_missing_its_value_is_an_error(void **state)
{
        struct jit_cmdline c = { 0 };

        assert_int_equal(jit_cmdline_parse_sudo(&c, ARGV("sudo", "-u")), -EINVAL);
        assert_int_equal(jit_cmdline_parse_sudo(&c, ARGV("sudo", "-n", "--user")), -EINVAL);
        assert_int_equal(jit_cmdline_parse_sudo(&c, ARGV("sudo", "-g")), -EINVAL);
        assert_null(c.argv);
        assert_null(c.target_user);
}

static void t_missing_argv_is_an_error(void **state)
{
        struct jit_cmdline c = { 0 };
        char *const empty[] = { NULL };

        assert_int_equal(jit_cmdline_parse_sudo(&c, NULL), -EINVAL);
        assert_int_equal(jit_cmdline_parse_sudo(&c, empty), -EINVAL);
}

static void t_done_resets_and_may_repeat(void **state)
{
        struct jit_cmdline c = parse(ARGV("sudo", "-n", "-u", "bob", "cmd"));

        jit_cmdline_done(&c);
        assert_null(c.argv);
        assert_null(c.target_user);
        assert_false(c.non_interactive);
        jit_cmdline_done(&c);
}

/* ---- jit_cmdline_split ------------------------------------------------------ */

static void t_split_nul_separated_buffer(void **state)
{
        static const char buf[] = "sudo\0-u\0bob\0cmd\0";
        char **v = NULL;

        assert_int_equal(jit_cmdline_split(buf, sizeof(buf) - 1, &v), 0);
        assert_int_equal(jit_strv_length(v), 4);
        assert_string_equal(v[0], "sudo");
        assert_string_equal(v[1], "-u");
        assert_string_equal(v[2], "bob");
        assert_string_equal(v[3], "cmd");
        jit_strv_free(v);
}

static void t_split_without_final_nul_keeps_the_last_argument(void **state)
{
        static const char buf[] = { 's', 'u', 'd', 'o', '\0', 'l', 's' };    /* no terminator at all */
        char *copy = malloc(sizeof(buf));      /* exact size, so ASan sees overreads */
        char **v = NULL;

        assert_non_null(copy);
        memcpy(copy, buf, sizeof(buf));
        assert_int_equal(jit_cmdline_split(copy, sizeof(buf), &v), 0);
        assert_int_equal(jit_strv_length(v), 2);
        assert_string_equal(v[0], "sudo");
        assert_string_equal(v[1], "ls");
        jit_strv_free(v);
        free(copy);
}

static void t_split_keeps_empty_arguments(void **state)
{
        static const char buf[] = "a\0\0b\0";
        char **v = NULL;

        assert_int_equal(jit_cmdline_split(buf, sizeof(buf) - 1, &v), 0);
        assert_int_equal(jit_strv_length(v), 3);
        assert_string_equal(v[0], "a");
        assert_string_equal(v[1], "");
        assert_string_equal(v[2], "b");
        jit_strv_free(v);
}

static void t_split_of_empty_buffer_is_empty(void **state)
{
        char **v = (char **)(uintptr_t)1;

        assert_int_equal(jit_cmdline_split("", 0, &v), 0);
        assert_int_equal(jit_strv_length(v), 0);
        jit_strv_free(v);
}

/* n arguments "a", each NUL-terminated */
static char *many_args(size_t n)
{
        char *buf = malloc(2 * n);

        assert_non_null(buf);
        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = 'a';
                buf[2 * i + 1] = '\0';
        }
        return buf;
}

static void t_split_accepts_the_argument_limit(void **state)
{
        char *buf = many_args(JIT_CMDLINE_MAX_ARGS);
        char **v = NULL;

        assert_int_equal(jit_cmdline_split(buf, 2 * JIT_CMDLINE_MAX_ARGS, &v), 0);
        assert_int_equal(jit_strv_length(v), JIT_CMDLINE_MAX_ARGS);
        jit_strv_free(v);
        free(buf);
}

static void t_split_refuses_more_arguments_than_the_limit(void **state)
{
        char *buf = many_args(JIT_CMDLINE_MAX_ARGS + 1);
        char **v = (char **)(uintptr_t)1;

        assert_int_equal(jit_cmdline_split(buf, 2 * (JIT_CMDLINE_MAX_ARGS + 1), &v), -E2BIG);
        assert_ptr_equal(v, (char **)(uintptr_t)1);
        free(buf);
}

static void t_split_refuses_a_buffer_over_the_byte_limit(void **state)
{
        char *buf = calloc(1, JIT_CMDLINE_MAX + 1);
        char **v = (char **)(uintptr_t)1;

        assert_non_null(buf);
        memset(buf, 'a', JIT_CMDLINE_MAX);
        assert_int_equal(jit_cmdline_split(buf, JIT_CMDLINE_MAX + 1, &v), -E2BIG);
        assert_ptr_equal(v, (char **)(uintptr_t)1);
        assert_int_equal(jit_cmdline_split(buf, JIT_CMDLINE_MAX, &v), 0);    /* one long argument */
        assert_int_equal(jit_strv_length(v), 1);
        assert_int_equal(strlen(v[0]), JIT_CMDLINE_MAX);
        jit_strv_free(v);
        free(buf);
}

static void t_split_then_parse(void **state)
{
        static const char buf[] = "sudo\0-nu\0root\0--\0/usr/bin/systemctl\0restart\0nginx";
        struct jit_cmdline c;
        char **v = NULL;

        assert_int_equal(jit_cmdline_split(buf, sizeof(buf) - 1, &v), 0);
        c = parse(v);
        assert_true(c.non_interactive);
        assert_user(&c, "root");
        assert_command(&c, ARGV("/usr/bin/systemctl", "restart", "nginx"));
        jit_cmdline_done(&c);
        jit_strv_free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_plain_command),
                cmocka_unit_test(t_user_option_with_separate_value),
                cmocka_unit_test(t_user_option_with_attached_value),
                cmocka_unit_test(t_clustered_short_options),
                cmocka_unit_test(t_long_user_option_with_equals),
                cmocka_unit_test(t_long_user_option_with_separate_value),
                cmocka_unit_test(t_last_user_option_wins),
                cmocka_unit_test(t_double_dash_ends_options),
                cmocka_unit_test(t_options_after_the_command_belong_to_it),
                cmocka_unit_test(t_login_shell_has_no_command),
                cmocka_unit_test(t_short_n_sets_non_interactive),
                cmocka_unit_test(t_long_non_interactive_sets_non_interactive),
                cmocka_unit_test(t_n_as_an_option_value_is_not_the_flag),
                cmocka_unit_test(t_other_options_with_values_are_skipped),
                cmocka_unit_test(t_environment_assignment_stays_first),
                cmocka_unit_test(t_single_dash_is_a_command),
                cmocka_unit_test(t_abbreviated_long_options_are_understood),
                cmocka_unit_test(t_option_missing_its_value_is_an_error),
                cmocka_unit_test(t_missing_argv_is_an_error),
                cmocka_unit_test(t_done_resets_and_may_repeat),
                cmocka_unit_test(t_split_nul_separated_buffer),
                cmocka_unit_test(t_split_without_final_nul_keeps_the_last_argument),
                cmocka_unit_test(t_split_keeps_empty_arguments),
                cmocka_unit_test(t_split_of_empty_buffer_is_empty),
                cmocka_unit_test(t_split_accepts_the_argument_limit),
                cmocka_unit_test(t_split_refuses_more_arguments_than_the_limit),
                cmocka_unit_test(t_split_refuses_a_buffer_over_the_byte_limit),
                cmocka_unit_test(t_split_then_parse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
