/* test_timewin.c — day lists, clock times, windows, instants and zones, as
 * timewin.h states them. Cases that need a real zone skip when tzdata
 * lacks it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "timewin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { SUN, MON, TUE, WED, THU, FRI, SAT };
#define D(x) (1u << (x))
#define HM(h, m) ((h) * 60 + (m))

static bool have_zone(const char *tz)
{
        char path[256];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", JIT_TZ_DIR, tz);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

#define REQUIRE_ZONE(tz) do { if (!have_zone(tz)) { skip(); } } while (0)

/* --- days --- */

static uint8_t days_ok(const char *s)
{
        uint8_t d = 0;
        int r = jit_window_parse_days(s, &d);

        if (r != 0)
                fail_msg("\"%s\" should parse, got %d", s, r);
        return d;
}

static void assert_days_rejected(const char *s)
{
        uint8_t d = 0xee;
        int r = jit_window_parse_days(s, &d);

        if (r != -EINVAL)
                fail_msg("days \"%s\" should be rejected with -EINVAL, got %d", s ? s : "(null)", r);
        assert_int_equal(d, 0xee);
}

static void t_days_lists_and_ranges(void **state)
{
        assert_int_equal(days_ok("mon-fri"), D(MON) | D(TUE) | D(WED) | D(THU) | D(FRI));
        assert_int_equal(days_ok("sat,sun"), D(SAT) | D(SUN));
        assert_int_equal(days_ok("mon,wed-fri"), D(MON) | D(WED) | D(THU) | D(FRI));
        assert_int_equal(days_ok("sun"), D(SUN));
        assert_int_equal(days_ok("sat"), D(SAT));
        assert_int_equal(days_ok("sun-sat"), JIT_DAYS_ALL);
        assert_int_equal(days_ok("*"), JIT_DAYS_ALL);
        assert_int_equal(days_ok("mon-mon"), D(MON));
}

static void t_days_ranges_wrap_over_the_week_end(void **state)
{
        assert_int_equal(days_ok("fri-mon"), D(FRI) | D(SAT) | D(SUN) | D(MON));
        assert_int_equal(days_ok("sat-sun"), D(SAT) | D(SUN));
        assert_int_equal(days_ok("tue-mon"), JIT_DAYS_ALL);
}

static void t_days_repeated_are_harmless(void **state)
{
        assert_int_equal(days_ok("mon,mon"), D(MON));
        assert_int_equal(days_ok("mon-wed,tue"), D(MON) | D(TUE) | D(WED));
        assert_int_equal(days_ok("sun,sat,sun"), D(SAT) | D(SUN));
}

static void t_days_junk_is_rejected(void **state)
{
        static const char *const bad[] = {
                "", "Mon", "MON", "mon-Fri", "monday", "mo", "xyz", "mon-", "-fri", "mon,",
                ",mon", "mon,,tue", "mon - fri", " mon", "mon ", "mon, tue", "*,mon", "mon,*",
                "**", "* ", "mon-tue-wed", "mon;tue", "mon-*", "mon\n", "montue", "mon--fri",
                "1", "0-6",
        };

        for (size_t i = 0; i < N(bad); i++)
                assert_days_rejected(bad[i]);
        assert_days_rejected(NULL);
}

/* --- HH:MM --- */

static void assert_hhmm(const char *s, int want)
{
        uint16_t m = 0;

        if (jit_window_parse_hhmm(s, &m) != 0)
                fail_msg("\"%s\" should parse", s);
        assert_int_equal(m, want);
}

static void t_hhmm_two_digits_each(void **state)
{
        assert_hhmm("00:00", 0);
        assert_hhmm("08:00", HM(8, 0));
        assert_hhmm("12:30", HM(12, 30));
        assert_hhmm("23:59", HM(23, 59));
}

static void t_hhmm_24_00_is_end_of_day(void **state)
{
        assert_hhmm("24:00", 1440);
}

static void t_hhmm_junk_is_rejected(void **state)
{
        static const char *const bad[] = {
                "8:00", "08:0", "8:0", "24:01", "24:59", "25:00", "12:60", "99:99", "08-00",
                "0800", "08:00 ", " 08:00", "08:00:00", "", "+8:00", "-1:00", "ab:cd", "08:5a",
                "08:00\n", "08.00", "008:00", "08::0", ":0800",
        };

        for (size_t i = 0; i < N(bad); i++) {
                uint16_t m = 4242;

                if (jit_window_parse_hhmm(bad[i], &m) != -EINVAL)
                        fail_msg("\"%s\" should be rejected", bad[i]);
                assert_int_equal(m, 4242);
        }
        assert_int_equal(jit_window_parse_hhmm(NULL, &(uint16_t){ 0 }), -EINVAL);
}

/* --- windows --- */

static void t_window_same_day(void **state)
{
        struct jit_window w = { D(MON) | D(TUE) | D(WED) | D(THU) | D(FRI), HM(9, 0), HM(17, 0) };

        assert_true(jit_window_contains(&w, MON, HM(9, 0)));
        assert_true(jit_window_contains(&w, MON, HM(16, 59)));
        assert_false(jit_window_contains(&w, MON, HM(8, 59)));
        assert_false(jit_window_contains(&w, MON, HM(17, 0)));
        assert_true(jit_window_contains(&w, FRI, HM(12, 0)));
        assert_false(jit_window_contains(&w, SAT, HM(12, 0)));
        assert_false(jit_window_contains(&w, SUN, HM(12, 0)));
}

static void t_window_to_24_00_is_the_whole_day(void **state)
{
        struct jit_window w = { D(MON), 0, 1440 };

        assert_true(jit_window_contains(&w, MON, 0));
        assert_true(jit_window_contains(&w, MON, 1439));
        assert_false(jit_window_contains(&w, TUE, 0));
        assert_false(jit_window_contains(&w, SUN, 1439));
}

static void t_window_wraps_past_midnight_into_the_next_day(void **state)
{
        struct jit_window w = { D(FRI), HM(22, 0), HM(6, 0) };

        assert_true(jit_window_contains(&w, FRI, HM(22, 0)));
        assert_true(jit_window_contains(&w, FRI, HM(23, 59)));
        assert_true(jit_window_contains(&w, SAT, HM(0, 0)));
        assert_true(jit_window_contains(&w, SAT, HM(5, 59)));
        assert_false(jit_window_contains(&w, SAT, HM(6, 0)));
        assert_false(jit_window_contains(&w, SAT, HM(22, 0)));  /* Saturday not listed */
        assert_false(jit_window_contains(&w, FRI, HM(21, 59)));
        assert_false(jit_window_contains(&w, FRI, HM(3, 0)));   /* Thursday's night */
        w.days |= D(THU);
        assert_true(jit_window_contains(&w, FRI, HM(3, 0)));
}

static void t_window_wraps_from_saturday_into_sunday(void **state)
{
        struct jit_window sat = { D(SAT), HM(20, 0), HM(2, 0) };
        struct jit_window sun = { D(SUN), HM(22, 0), HM(4, 0) };

        assert_true(jit_window_contains(&sat, SAT, HM(20, 0)));
        assert_true(jit_window_contains(&sat, SUN, HM(0, 0)));
        assert_true(jit_window_contains(&sat, SUN, HM(1, 59)));
        assert_false(jit_window_contains(&sat, SUN, HM(2, 0)));
        assert_false(jit_window_contains(&sat, SAT, HM(1, 0)));  /* Friday's night */

        assert_true(jit_window_contains(&sun, SUN, HM(23, 0)));
        assert_true(jit_window_contains(&sun, MON, HM(3, 59)));
        assert_false(jit_window_contains(&sun, SUN, HM(1, 0)));  /* Saturday's night */
        assert_false(jit_window_contains(&sun, SAT, HM(23, 0)));
}

static void t_window_from_equal_to_is_empty(void **state)
{
        struct jit_window w = { JIT_DAYS_ALL, HM(8, 0), HM(8, 0) };

        for (int d = 0; d < 7; d++)
                for (int m = 0; m < 1440; m++)
                        assert_false(jit_window_contains(&w, d, m));
        w.from = w.to = 0;
        assert_false(jit_window_contains(&w, MON, 0));
        w.from = w.to = 1440;
        assert_false(jit_window_contains(&w, MON, 0));
}

static void t_window_out_of_range_is_outside(void **state)
{
        struct jit_window w = { JIT_DAYS_ALL, 0, 1440 };

        assert_true(jit_window_contains(&w, SAT, 1439));
        assert_false(jit_window_contains(&w, -1, 0));
        assert_false(jit_window_contains(&w, 7, 0));
        assert_false(jit_window_contains(&w, MON, -1));
        assert_false(jit_window_contains(&w, MON, 1440));
        assert_false(jit_window_contains(NULL, MON, 0));
        w.to = 1441;
        assert_false(jit_window_contains(&w, MON, 0));
        w.to = 60;
        w.from = 1500;
        assert_false(jit_window_contains(&w, MON, 0));
}

/* Over a week a window covers (number of days) x (its length) minutes. */
static void t_window_covers_its_length_on_each_listed_day(void **state)
{
        static const struct jit_window ws[] = {
                { D(MON), HM(9, 0), HM(17, 0) }, { D(FRI), HM(22, 0), HM(6, 0) },
                { D(SAT) | D(SUN), HM(23, 0), HM(1, 0) }, { JIT_DAYS_ALL, 0, 1440 },
                { JIT_DAYS_ALL, 1, 0 }, { D(SUN), 1440, HM(3, 0) }, { 0, HM(1, 0), HM(2, 0) },
        };

        for (size_t i = 0; i < N(ws); i++) {
                int days = __builtin_popcount(ws[i].days), n = 0, len;

                for (int d = 0; d < 7; d++)
                        for (int m = 0; m < 1440; m++)
                                n += jit_window_contains(&ws[i], d, m);
                len = ws[i].from < ws[i].to ? ws[i].to - ws[i].from : 1440 - ws[i].from + ws[i].to;
                assert_int_equal(n, days * len);
        }
}

/* --- instants --- */

static int64_t instant_ok(const char *s)
{
        int64_t t = 0;
        int r = jit_time_parse_instant(s, &t);

        if (r != 0)
                fail_msg("\"%s\" should parse, got %d", s, r);
        return t;
}

static void assert_instant_rejected(const char *s)
{
        int64_t t = 4242;
        int r = jit_time_parse_instant(s, &t);

        if (r != -EINVAL)
                fail_msg("\"%s\" should be rejected with -EINVAL, got %d", s ? s : "(null)", r);
        assert_int_equal(t, 4242);
}

static void t_instant_utc_and_offsets(void **state)
{
        const int64_t want = 1795377600;        /* 2026-11-22T20:00:00Z */

        assert_int_equal(instant_ok("2026-11-22T20:00:00Z"), want);
        assert_int_equal(instant_ok("2026-11-22T20:00Z"), want);
        assert_int_equal(instant_ok("2026-11-22T21:00:00+01:00"), want);
        assert_int_equal(instant_ok("2026-11-22T14:30:00-05:30"), want);
        assert_int_equal(instant_ok("2026-11-23T19:59:00+23:59"), want);
        assert_int_equal(instant_ok("2026-11-22T20:00:00+00:00"), want);
        assert_int_equal(instant_ok("2026-11-22T20:00:00-00:00"), want);
        assert_int_equal(instant_ok("2026-11-22T20:00:59Z"), want + 59);
}

static void t_instant_range_is_1970_to_9999(void **state)
{
        assert_int_equal(instant_ok("1970-01-01T00:00:00Z"), 0);
        assert_int_equal(instant_ok("1970-01-01T00:00:00-00:01"), 60);
        assert_int_equal(instant_ok("9999-12-31T23:59:59Z"), JIT_TIME_MAX);
        assert_instant_rejected("1969-12-31T23:59:59Z");
        assert_instant_rejected("1970-01-01T00:00:00+00:01");   /* before the epoch */
        assert_instant_rejected("9999-12-31T23:59:59-00:01");   /* past JIT_TIME_MAX */
        assert_instant_rejected("10000-01-01T00:00:00Z");
        assert_instant_rejected("0000-01-01T00:00:00Z");
}

static void t_instant_leap_days(void **state)
{
        assert_int_equal(instant_ok("2028-02-29T00:00:00Z"), 1835395200);
        assert_int_equal(instant_ok("2000-02-29T12:34:56Z"), 951827696);
        assert_instant_rejected("2027-02-29T00:00:00Z");
        assert_instant_rejected("2100-02-29T00:00:00Z");
        assert_instant_rejected("2028-02-30T00:00:00Z");
}

static void t_instant_days_per_month(void **state)
{
        static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        for (int m = 1; m <= 12; m++) {
                char s[32];

                snprintf(s, sizeof(s), "2027-%02d-%02dT00:00Z", m, dim[m - 1]);
                instant_ok(s);
                snprintf(s, sizeof(s), "2027-%02d-%02dT00:00Z", m, dim[m - 1] + 1);
                assert_instant_rejected(s);
                snprintf(s, sizeof(s), "2027-%02d-00T00:00Z", m);
                assert_instant_rejected(s);
        }
        assert_instant_rejected("2026-13-01T00:00Z");
        assert_instant_rejected("2026-00-10T00:00Z");
}

static void t_instant_junk_is_rejected(void **state)
{
        static const char *const bad[] = {
                "", "2026-11-22", "2026-11-22T20", "2026-11-22T20:00", "2026-11-22T20:00:00",
                "2026-11-22t20:00Z", "2026-11-22T20:00z", "2026-11-22 20:00Z", "2026-11-22T24:00:00Z",
                "2026-11-22T20:60Z", "2026-11-22T20:00:60Z", "2026-11-22T20:00:00.5Z",
                "2026-11-22T20:00:00,5Z", "2026-11-22T20:00:00+0100", "2026-11-22T20:00:00+01",
                "2026-11-22T20:00:00+1:00", "2026-11-22T20:00:00+24:00", "2026-11-22T20:00:00+01:60",
                "2026-11-22T20:00:00Z ", " 2026-11-22T20:00:00Z", "2026-1-22T20:00Z", "26-11-22T20:00Z",
                "2026-11-22T20:00:00ZZ", "2026-11-22T20:00:00+01:00Z", "2026-11-22T20:0Z",
                "2026-11-22T2:00Z", "+2026-11-22T20:00Z", "2026/11/22T20:00Z", "2026-11-22T20:00:0Z",
                "20261122T200000Z", "2026-11-22T20:00:00\nZ", "2026-W47-7T20:00Z",
        };

        for (size_t i = 0; i < N(bad); i++)
                assert_instant_rejected(bad[i]);
        assert_instant_rejected(NULL);
}

static void assert_formats(int64_t t, const char *want)
{
        char buf[JIT_TIME_INSTANT_SIZE];

        assert_int_equal(jit_time_format_instant(buf, sizeof(buf), t), 0);
        assert_string_equal(buf, want);
}

static void t_format_instant(void **state)
{
        assert_formats(0, "1970-01-01T00:00:00Z");
        assert_formats(1795377600, "2026-11-22T20:00:00Z");
        assert_formats(1835395200, "2028-02-29T00:00:00Z");
        assert_formats(JIT_TIME_MAX, "9999-12-31T23:59:59Z");
}

static void t_format_instant_refuses_range_and_short_buffer(void **state)
{
        char buf[64];

        assert_int_equal(jit_time_format_instant(buf, sizeof(buf), -1), -ERANGE);
        assert_int_equal(jit_time_format_instant(buf, sizeof(buf), JIT_TIME_MAX + 1), -ERANGE);
        assert_int_equal(jit_time_format_instant(buf, sizeof(buf), INT64_MIN), -ERANGE);
        assert_int_equal(jit_time_format_instant(buf, sizeof(buf), INT64_MAX), -ERANGE);
        assert_int_equal(jit_time_format_instant(buf, 20, 0), -ENOBUFS);
        assert_int_equal(jit_time_format_instant(buf, 0, 0), -ENOBUFS);
        assert_int_equal(jit_time_format_instant(buf, 21, 0), 0);
}

static void t_format_then_parse_round_trips(void **state)
{
        for (int64_t t = 0; t <= JIT_TIME_MAX - 7919LL * 86400; t += 7919LL * 86400 + 7)
                for (int k = 0; k < 2; k++) {
                        char buf[JIT_TIME_INSTANT_SIZE];
                        int64_t x = t + k * 86399, back = -1;

                        assert_int_equal(jit_time_format_instant(buf, sizeof(buf), x), 0);
                        assert_int_equal(jit_time_parse_instant(buf, &back), 0);
                        assert_int_equal(back, x);
                }
}

/* --- zones --- */

static void t_tz_utc_always_valid(void **state)
{
        assert_true(jit_tz_is_valid("UTC"));
}

static void t_tz_real_zones_valid(void **state)
{
        REQUIRE_ZONE("Europe/Berlin");
        assert_true(jit_tz_is_valid("Europe/Berlin"));
        if (have_zone("Etc/GMT+5"))
                assert_true(jit_tz_is_valid("Etc/GMT+5"));
        if (have_zone("America/Argentina/Buenos_Aires"))
                assert_true(jit_tz_is_valid("America/Argentina/Buenos_Aires"));
        if (have_zone("Eire"))                  /* a symlink in zoneinfo */
                assert_true(jit_tz_is_valid("Eire"));
        if (have_zone("Etc/UTC"))
                assert_true(jit_tz_is_valid("Etc/UTC"));
}

static void t_tz_bad_names_rejected(void **state)
{
        char longname[JIT_TZ_NAME_MAX + 2];
        static const char *const bad[] = {
                "", "/Europe/Berlin", "Europe/Berlin/", "Europe//Berlin", "../etc/passwd",
                "Europe/../Europe/Berlin", "./UTC", ".", "..", "Europe/Berlin ", " UTC", "UTC\n",
                "Europe/Berlin\n", "Nowhere/Nothing", "Europe", "zone.tab", "tzdata.zi",
                "Europe/Ber*", "Europe\\Berlin", ":Europe/Berlin", "/etc/localtime", "UTC/",
                "leapseconds",          /* a regular file, but not TZif */
        };

        for (size_t i = 0; i < N(bad); i++)
                if (jit_tz_is_valid(bad[i]))
                        fail_msg("\"%s\" should not be a valid zone", bad[i]);
        assert_false(jit_tz_is_valid(NULL));
        memset(longname, 'A', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_false(jit_tz_is_valid(longname));
}

static void assert_local(int64_t t, const char *tz, int wday, int minute)
{
        int d = -1, m = -1;

        assert_int_equal(jit_time_local(t, tz, &d, &m), 0);
        assert_int_equal(d, wday);
        assert_int_equal(m, minute);
}

static void t_local_utc(void **state)
{
        assert_local(1795377600, "UTC", SUN, HM(20, 0));
        assert_local(0, "UTC", THU, 0);
        assert_local(JIT_TIME_MAX, "UTC", FRI, HM(23, 59));
}

static void t_local_europe_berlin_summer_and_winter(void **state)
{
        REQUIRE_ZONE("Europe/Berlin");
        assert_local(1784116800, "Europe/Berlin", WED, HM(14, 0));     /* 2026-07-15T12:00Z, CEST */
        assert_local(1768478400, "Europe/Berlin", THU, HM(13, 0));     /* 2026-01-15T12:00Z, CET */
        assert_local(1784116800 + HM(10, 30) * 60, "Europe/Berlin", THU, HM(0, 30));
        /* 2026-03-29T01:00Z: 02:00 CET becomes 03:00 CEST. */
        assert_local(instant_ok("2026-03-29T00:59:00Z"), "Europe/Berlin", SUN, HM(1, 59));
        assert_local(instant_ok("2026-03-29T01:00:00Z"), "Europe/Berlin", SUN, HM(3, 0));
}

static void t_local_other_zones(void **state)
{
        REQUIRE_ZONE("America/New_York");
        assert_local(instant_ok("2026-07-15T02:00Z"), "America/New_York", TUE, HM(22, 0));
        if (have_zone("Asia/Kolkata"))
                assert_local(instant_ok("2026-07-15T20:00Z"), "Asia/Kolkata", THU, HM(1, 30));
}

static void t_local_rejects_bad_zone_and_keeps_outputs(void **state)
{
        int d = 99, m = 99;

        assert_int_equal(jit_time_local(0, "Nowhere/Nothing", &d, &m), -EINVAL);
        assert_int_equal(jit_time_local(0, "../etc/passwd", &d, &m), -EINVAL);
        assert_int_equal(jit_time_local(0, NULL, &d, &m), -EINVAL);
        assert_int_equal(d, 99);
        assert_int_equal(m, 99);
}

static void t_local_restores_tz(void **state)
{
        int d, m;
        int64_t t;

        REQUIRE_ZONE("Europe/Berlin");
        assert_int_equal(setenv("TZ", "EST5EDT", 1), 0);
        tzset();
        assert_int_equal(jit_time_local(0, "Europe/Berlin", &d, &m), 0);
        assert_string_equal(getenv("TZ"), "EST5EDT");
        assert_int_equal(jit_time_parse_local("2026-07-15T12:00", "Europe/Berlin", &t), 0);
        assert_string_equal(getenv("TZ"), "EST5EDT");
        {
                struct tm tm;
                time_t z = 0;

                localtime_r(&z, &tm);           /* the process's own zone is back */
                assert_int_equal(tm.tm_hour, 19);
        }
        assert_int_equal(unsetenv("TZ"), 0);
        tzset();
        assert_int_equal(jit_time_local(0, "Europe/Berlin", &d, &m), 0);
        assert_null(getenv("TZ"));
        assert_int_equal(jit_time_parse_local("2026-07-15T12:00", "Europe/Berlin", &t), 0);
        assert_null(getenv("TZ"));
}

static int64_t local_ok(const char *s, const char *tz)
{
        int64_t t = 0;
        int r = jit_time_parse_local(s, tz, &t);

        if (r != 0)
                fail_msg("\"%s\" in %s should parse, got %d", s, tz, r);
        return t;
}

static void assert_local_rejected(const char *s, const char *tz)
{
        int64_t t = 4242;
        int r = jit_time_parse_local(s, tz, &t);

        if (r != -EINVAL)
                fail_msg("\"%s\" in %s should be rejected, got %d", s ? s : "(null)",
                         tz ? tz : "(null)", r);
        assert_int_equal(t, 4242);
}

static void t_parse_local_utc(void **state)
{
        assert_int_equal(local_ok("2026-11-22T20:00", "UTC"), 1795377600);
        assert_int_equal(local_ok("2026-11-22T20:00:00", "UTC"), 1795377600);
        assert_int_equal(local_ok("2026-11-22T20:00:00Z", "UTC"), 1795377600);
        assert_int_equal(local_ok("1970-01-01T00:00", "UTC"), 0);
}

static void t_parse_local_in_a_zone(void **state)
{
        REQUIRE_ZONE("Europe/Berlin");
        assert_int_equal(local_ok("2026-11-23T03:00", "Europe/Berlin"), 1795399200);  /* 02:00Z */
        assert_int_equal(local_ok("2026-11-23T03:00:00", "Europe/Berlin"), 1795399200);
        assert_int_equal(local_ok("2026-07-15T14:00", "Europe/Berlin"), 1784116800);  /* CEST */
}

static void t_parse_local_takes_instants_as_they_are(void **state)
{
        REQUIRE_ZONE("Europe/Berlin");
        assert_int_equal(local_ok("2026-11-22T20:00:00Z", "Europe/Berlin"), 1795377600);
        assert_int_equal(local_ok("2026-11-22T21:00+01:00", "Europe/Berlin"), 1795377600);
        assert_int_equal(local_ok("2026-11-22T15:00-05:00", "Europe/Berlin"), 1795377600);
}

static void t_parse_local_skipped_time_rejected_repeated_time_earlier(void **state)
{
        REQUIRE_ZONE("Europe/Berlin");
        /* 2026-03-29: clocks go 02:00 -> 03:00; 02:30 never happens. */
        assert_local_rejected("2026-03-29T02:30", "Europe/Berlin");
        assert_local_rejected("2026-03-29T02:00", "Europe/Berlin");
        assert_int_equal(local_ok("2026-03-29T01:59", "Europe/Berlin"), instant_ok("2026-03-29T00:59Z"));
        assert_int_equal(local_ok("2026-03-29T03:00", "Europe/Berlin"), instant_ok("2026-03-29T01:00Z"));
        /* 2026-10-25: clocks go 03:00 -> 02:00; 02:30 happens twice. */
        assert_int_equal(local_ok("2026-10-25T02:30", "Europe/Berlin"), 1792888200);  /* 00:30Z */
        assert_int_equal(local_ok("2026-10-25T03:00", "Europe/Berlin"), instant_ok("2026-10-25T02:00Z"));
}

static void t_parse_local_negative_dst_zone(void **state)
{
        /* Europe/Dublin: tzdata's main form calls winter GMT the DST period. */
        REQUIRE_ZONE("Europe/Dublin");
        assert_int_equal(local_ok("2026-01-15T12:00", "Europe/Dublin"), instant_ok("2026-01-15T12:00Z"));
        assert_int_equal(local_ok("2026-07-15T12:00", "Europe/Dublin"), instant_ok("2026-07-15T11:00Z"));
}

static void t_parse_local_rejects_junk_bad_zone_and_range(void **state)
{
        static const char *const bad[] = {
                "", "2026-11-23", "2026-11-23T03", "2026-11-23T03:00 ", "2026-11-23T03:00:00.0",
                "2026-11-23T24:00", "2027-02-29T00:00", "2026-11-23 03:00", "1969-12-31T23:59",
                "10000-01-01T00:00", "2026-11-23T03:00+01", "2026-11-23t03:00",
        };

        for (size_t i = 0; i < N(bad); i++)
                assert_local_rejected(bad[i], "UTC");
        assert_local_rejected(NULL, "UTC");
        assert_local_rejected("2026-11-23T03:00", "Nowhere/Nothing");
        assert_local_rejected("2026-11-23T03:00Z", "Nowhere/Nothing");
        assert_local_rejected("2026-11-23T03:00", NULL);
        assert_int_equal(local_ok("2028-02-29T00:00", "UTC"), 1835395200);
        if (have_zone("Europe/Berlin")) {
                assert_local_rejected("1970-01-01T00:30", "Europe/Berlin");     /* 1969 in UTC */
                assert_int_equal(local_ok("1970-01-01T01:00", "Europe/Berlin"), 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_days_lists_and_ranges),
                cmocka_unit_test(t_days_ranges_wrap_over_the_week_end),
                cmocka_unit_test(t_days_repeated_are_harmless),
                cmocka_unit_test(t_days_junk_is_rejected),
                cmocka_unit_test(t_hhmm_two_digits_each),
                cmocka_unit_test(t_hhmm_24_00_is_end_of_day),
                cmocka_unit_test(t_hhmm_junk_is_rejected),
                cmocka_unit_test(t_window_same_day),
                cmocka_unit_test(t_window_to_24_00_is_the_whole_day),
                cmocka_unit_test(t_window_wraps_past_midnight_into_the_next_day),
                cmocka_unit_test(t_window_wraps_from_saturday_into_sunday),
                cmocka_unit_test(t_window_from_equal_to_is_empty),
                cmocka_unit_test(t_window_out_of_range_is_outside),
                cmocka_unit_test(t_window_covers_its_length_on_each_listed_day),
                cmocka_unit_test(t_instant_utc_and_offsets),
                cmocka_unit_test(t_instant_range_is_1970_to_9999),
                cmocka_unit_test(t_instant_leap_days),
                cmocka_unit_test(t_instant_days_per_month),
                cmocka_unit_test(t_instant_junk_is_rejected),
                cmocka_unit_test(t_format_instant),
                cmocka_unit_test(t_format_instant_refuses_range_and_short_buffer),
                cmocka_unit_test(t_format_then_parse_round_trips),
                cmocka_unit_test(t_tz_utc_always_valid),
                cmocka_unit_test(t_tz_real_zones_valid),
                cmocka_unit_test(t_tz_bad_names_rejected),
                cmocka_unit_test(t_local_utc),
                cmocka_unit_test(t_local_europe_berlin_summer_and_winter),
                cmocka_unit_test(t_local_other_zones),
                cmocka_unit_test(t_local_rejects_bad_zone_and_keeps_outputs),
                cmocka_unit_test(t_local_restores_tz),
                cmocka_unit_test(t_parse_local_utc),
                cmocka_unit_test(t_parse_local_in_a_zone),
                cmocka_unit_test(t_parse_local_takes_instants_as_they_are),
                cmocka_unit_test(t_parse_local_skipped_time_rejected_repeated_time_earlier),
                cmocka_unit_test(t_parse_local_negative_dst_zone),
                cmocka_unit_test(t_parse_local_rejects_junk_bad_zone_and_range),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
