/* test_duration.c — the duration grammar of duration.h, both directions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "duration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint64_t parse_ok(const char *s)
{
        uint64_t sec = 0;
        int r = jit_duration_parse(s, &sec);

        if (r != 0)
                fail_msg("\"%s\" should parse, got %d", s, r);
        return sec;
}

static void assert_rejected(const char *s)
{
        uint64_t sec = 4242;    /* must survive a failed parse */
        int r = jit_duration_parse(s, &sec);

        if (r != -EINVAL)
                fail_msg("\"%s\" should be rejected with -EINVAL, got %d (sec=%llu)",
                         s ? s : "(null)", r, (unsigned long long)sec);
        assert_int_equal(sec, 4242);
}

static void t_parse_single_units(void **state)
{
        assert_int_equal(parse_ok("90s"), 90);
        assert_int_equal(parse_ok("15m"), 15 * 60);
        assert_int_equal(parse_ok("3h"), 3 * 3600);
        assert_int_equal(parse_ok("2d"), 2 * 86400);
}

static void t_parse_groups_in_decreasing_order(void **state)
{
        assert_int_equal(parse_ok("1h30m"), 5400);
        assert_int_equal(parse_ok("1d2h3m4s"), 86400 + 2 * 3600 + 3 * 60 + 4);
        assert_int_equal(parse_ok("1d30s"), 86430);
        assert_int_equal(parse_ok("90m"), 5400);        /* not normalised, still valid */
}

static void t_bare_number_is_seconds(void **state)
{
        assert_int_equal(parse_ok("1"), 1);
        assert_int_equal(parse_ok("90"), 90);
        assert_int_equal(parse_ok("007"), 7);
}

static void t_units_out_of_order_are_rejected(void **state)
{
        assert_rejected("1m1h");
        assert_rejected("1s1d");
        assert_rejected("1h1d");
        assert_rejected("30m1h");
}

static void t_repeated_unit_is_rejected(void **state)
{
        assert_rejected("1h1h");
        assert_rejected("1m2m");
}

static void t_number_after_unit_groups_is_rejected(void **state)
{
        /* A bare number is seconds only when it is the whole input. */
        assert_rejected("1h30");
        assert_rejected("1d5");
}

static void t_empty_and_null_are_rejected(void **state)
{
        assert_rejected("");
        assert_rejected(NULL);
}

static void t_zero_is_rejected(void **state)
{
        assert_rejected("0");
        assert_rejected("0s");
        assert_rejected("0d0h0m0s");
        assert_rejected("000");
}

static void t_malformed_input_is_rejected(void **state)
{
        static const char *const bad[] = {
                "s", "h1", "1x", "1H", "1S", "1.5h", "1,5h", "-1h", "+1h", " 1h", "1h ",
                "1 h", "1h 30m", "1w", "1y", "1ms", "1hh", "0x10", "1e3", "\t1", "1h\n",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_rejected(bad[i]);
}

static void t_one_year_is_the_maximum(void **state)
{
        assert_int_equal(parse_ok("366d"), JIT_DURATION_MAX);
        assert_int_equal(parse_ok("31622400"), JIT_DURATION_MAX);
        assert_int_equal(parse_ok("365d23h59m59s"), JIT_DURATION_MAX - 1);
        assert_rejected("366d1s");
        assert_rejected("367d");
        assert_rejected("31622401");
        assert_rejected("8785h");
}

static void t_overflow_is_rejected(void **state)
{
        assert_rejected("18446744073709551615");        /* UINT64_MAX */
        assert_rejected("18446744073709551616");        /* UINT64_MAX + 1 */
        assert_rejected("99999999999999999999999999d");
        assert_rejected("213503982334602d");            /* * 86400 wraps to 61184 */
        assert_rejected("5124095576030432h");           /* * 3600 wraps to 3584 */
        assert_rejected("1d18446744073709551615s");
        assert_rejected("1000000000000000000000000000000s");
}

static void assert_formats(uint64_t sec, const char *want)
{
        char buf[64];

        memset(buf, 'X', sizeof(buf));
        assert_int_equal(jit_duration_format(buf, sizeof(buf), sec), 0);
        assert_string_equal(buf, want);
}

static void t_format_is_shortest_canonical(void **state)
{
        assert_formats(1, "1s");
        assert_formats(59, "59s");
        assert_formats(60, "1m");
        assert_formats(90, "1m30s");
        assert_formats(5400, "1h30m");
        assert_formats(86400, "1d");
        assert_formats(86400 + 3600 + 60 + 1, "1d1h1m1s");
        assert_formats(86400 + 1, "1d1s");
        assert_formats(JIT_DURATION_MAX, "366d");
}

static void t_format_of_zero(void **state)
{
        assert_formats(0, "0s");
}

static void t_format_refuses_short_buffer(void **state)
{
        char buf[16];

        assert_int_equal(jit_duration_format(buf, 0, 5400), -ENOBUFS);
        assert_int_equal(jit_duration_format(buf, 5, 5400), -ENOBUFS);     /* "1h30m" needs 6 */
        assert_int_equal(jit_duration_format(buf, 6, 5400), 0);
        assert_string_equal(buf, "1h30m");
        assert_int_equal(jit_duration_format(buf, 2, 0), -ENOBUFS);
        assert_int_equal(jit_duration_format(buf, 3, 0), 0);
        assert_string_equal(buf, "0s");
}

static void assert_round_trip(uint64_t sec)
{
        char buf[64];
        uint64_t back = 0;

        assert_int_equal(jit_duration_format(buf, sizeof(buf), sec), 0);
        if (jit_duration_parse(buf, &back) != 0 || back != sec)
                fail_msg("%llu formatted as \"%s\" parsed back as %llu",
                         (unsigned long long)sec, buf, (unsigned long long)back);
}

static void t_format_then_parse_round_trips(void **state)
{
        for (uint64_t s = 1; s <= 2 * 86400 + 10; s++)
                assert_round_trip(s);
        for (uint64_t s = JIT_DURATION_MAX; s > 86400; s -= 7919)     /* a prime stride */
                assert_round_trip(s);
        assert_round_trip(JIT_DURATION_MAX);
}

static void t_parse_then_format_gives_canonical_text(void **state)
{
        static const struct { const char *in, *out; } cases[] = {
                { "90m", "1h30m" }, { "3600", "1h" }, { "48h", "2d" }, { "61s", "1m1s" },
                { "1d0h0m5s", "1d5s" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[32];

                assert_int_equal(jit_duration_format(buf, sizeof(buf), parse_ok(cases[i].in)), 0);
                assert_string_equal(buf, cases[i].out);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_parse_single_units),
                cmocka_unit_test(t_parse_groups_in_decreasing_order),
                cmocka_unit_test(t_bare_number_is_seconds),
                cmocka_unit_test(t_units_out_of_order_are_rejected),
                cmocka_unit_test(t_repeated_unit_is_rejected),
                cmocka_unit_test(t_number_after_unit_groups_is_rejected),
                cmocka_unit_test(t_empty_and_null_are_rejected),
                cmocka_unit_test(t_zero_is_rejected),
                cmocka_unit_test(t_malformed_input_is_rejected),
                cmocka_unit_test(t_one_year_is_the_maximum),
                cmocka_unit_test(t_overflow_is_rejected),
                cmocka_unit_test(t_format_is_shortest_canonical),
                cmocka_unit_test(t_format_of_zero),
                cmocka_unit_test(t_format_refuses_short_buffer),
                cmocka_unit_test(t_format_then_parse_round_trips),
                cmocka_unit_test(t_parse_then_format_gives_canonical_text),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
