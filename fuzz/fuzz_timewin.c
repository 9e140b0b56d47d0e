/* fuzz_timewin — jit_window_parse_days, jit_window_parse_hhmm,
 * jit_window_contains, jit_time_parse_instant, jit_time_format_instant,
 * jit_time_parse_local, jit_tz_is_valid, jit_time_local.
 *
 * Input: the bytes of a string (cut at the first NUL, as C sees it), fed to
 * every parser; its first bytes also build a raw window and a raw instant.
 * Invariants checked (abort on violation):
 *  - every parser returns 0 or -EINVAL and writes nothing on failure;
 *  - days: a parsed set is non-empty and within JIT_DAYS_ALL;
 *  - hhmm: a parsed value is <= 1440 and "%02d:%02d" of it is the input
 *    (the grammar has one spelling per value);
 *  - instants: a parsed t is in 0..JIT_TIME_MAX, parse(format(t)) == t,
 *    and the same text read as local time in "UTC" gives the same t; a
 *    zone-less text read in "UTC" equals the text with "Z" appended;
 *  - format: every t in range formats into exactly JIT_TIME_INSTANT_SIZE
 *    bytes (and not one fewer) and parses back; out of range is -ERANGE;
 *  - a local time read in Europe/Berlin shows its own wall clock there, and
 *    is the earliest instant that does (an hour before shows another);
 *  - jit_time_local in "UTC" agrees with arithmetic on t; in Europe/Berlin
 *    it is UTC + 1 or 2 hours; TZ is the same before and after;
 *  - a zone name the input names is valid only if it passes an
 *    independent check of the name rules, and then converts any instant;
 *  - a window covers exactly (listed days) x (its length) minutes of a
 *    week, none when from == to or a field is beyond 1440.
 * Every buffer is heap-allocated at its exact size so ASan sees overruns.
 */
#include "timewin.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

#define BERLIN "Europe/Berlin"

static bool have_berlin;        /* set once, at the first input */

static bool same_env_tz(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_days(const char *s)
{
        uint8_t d = 0xee;
        int r = jit_window_parse_days(s, &d);

        CHECK(r == 0 || r == -EINVAL);
        if (r == 0)
                CHECK(d != 0 && (d & ~JIT_DAYS_ALL) == 0);
        else
                CHECK(d == 0xee);
}

static void check_hhmm(const char *s)
{
        uint16_t m = 0xeeee;
        char back[16];
        int r = jit_window_parse_hhmm(s, &m);

        CHECK(r == 0 || r == -EINVAL);
        if (r < 0) {
                CHECK(m == 0xeeee);
                return;
        }
        CHECK(m <= 1440);
        snprintf(back, sizeof(back), "%02d:%02d", m / 60, m % 60);
        CHECK(strcmp(back, s) == 0);
}

static void check_format(int64_t t)
{
        char *exact = malloc(JIT_TIME_INSTANT_SIZE), small[JIT_TIME_INSTANT_SIZE - 1];
        int64_t back = -1;
        int r;

        CHECK(exact);
        r = jit_time_format_instant(exact, JIT_TIME_INSTANT_SIZE, t);
        if (t < 0 || t > JIT_TIME_MAX) {
                CHECK(r == -ERANGE);
                free(exact);
                return;
        }
        CHECK(r == 0 && strlen(exact) == JIT_TIME_INSTANT_SIZE - 1);
        CHECK(jit_time_format_instant(small, sizeof(small), t) == -ENOBUFS);
        CHECK(jit_time_parse_instant(exact, &back) == 0 && back == t);
        free(exact);
}

static void check_instant(const char *s)
{
        int64_t t = -42, u = -42;
        size_t n = strlen(s);
        char *z;
        int r = jit_time_parse_instant(s, &t), rl;

        CHECK(r == 0 || r == -EINVAL);
        rl = jit_time_parse_local(s, "UTC", &u);
        CHECK(rl == 0 || rl == -EINVAL);
        if (r == 0) {
                CHECK(t >= 0 && t <= JIT_TIME_MAX);
                check_format(t);
                CHECK(rl == 0 && u == t);
                return;
        }
        CHECK(t == -42);
        if (rl < 0) {
                CHECK(u == -42);
                return;
        }
        /* Read as local time in UTC == the same text as a UTC instant. */
        z = malloc(n + 2);
        CHECK(z);
        memcpy(z, s, n);
        z[n] = 'Z';
        z[n + 1] = '\0';
        CHECK(jit_time_parse_instant(z, &t) == 0 && t == u);
        free(z);
}

static void check_local_berlin(const char *s)
{
        const char *before = getenv("TZ");
        int64_t t = -42, dummy;
        int r, wday, minute, hh, mm;

        if (!have_berlin)
                return;
        r = jit_time_parse_local(s, BERLIN, &t);
        CHECK(same_env_tz(before, getenv("TZ")));
        CHECK(r == 0 || r == -EINVAL);
        if (r < 0) {
                CHECK(t == -42);
                return;
        }
        CHECK(t >= 0 && t <= JIT_TIME_MAX);
        if (jit_time_parse_instant(s, &dummy) == 0)
                return;                         /* an instant: the zone played no part */
        hh = (s[11] - '0') * 10 + (s[12] - '0');
        mm = (s[14] - '0') * 10 + (s[15] - '0');
        CHECK(jit_time_local(t, BERLIN, &wday, &minute) == 0);
        CHECK(minute == hh * 60 + mm);
        if (t >= 3600) {
                CHECK(jit_time_local(t - 3600, BERLIN, &wday, &minute) == 0);
                CHECK(minute != hh * 60 + mm);
        }
}

/* jit_time_local for t in UTC, in Berlin and, if the input names one, in
 * the input's zone. */
static void check_local(int64_t t, const char *tz_from_input)
{
        const char *before = getenv("TZ");
        int wday = -1, minute = -1, bw, bm, diff, r;

        r = jit_time_local(t, "UTC", &wday, &minute);
        if (t >= 0 && t <= JIT_TIME_MAX) {
                CHECK(r == 0);
                CHECK(wday == (int)((t / 86400 + 4) % 7));
                CHECK(minute == (int)(t % 86400 / 60));
                if (have_berlin) {
                        CHECK(jit_time_local(t, BERLIN, &bw, &bm) == 0);
                        diff = ((bw - wday + 7) % 7) * 1440 + bm - minute;
                        CHECK(diff == 60 || diff == 120);
                }
        }
        if (jit_tz_is_valid(tz_from_input)) {
                r = jit_time_local(t % (JIT_TIME_MAX + 1), tz_from_input, &wday, &minute);
                CHECK(r == 0 || r == -EOVERFLOW);
                if (r == 0)
                        CHECK(wday >= 0 && wday <= 6 && minute >= 0 && minute < 1440);
        }
        CHECK(same_env_tz(before, getenv("TZ")));
}

/* The name rules of timewin.h, written again independently. */
static bool tz_name_plausible(const char *tz)
{
        size_t n = strlen(tz);

        if (strcmp(tz, "UTC") == 0)
                return true;
        if (n == 0 || n > JIT_TZ_NAME_MAX || tz[0] == '/' || tz[n - 1] == '/' || strstr(tz, "//"))
                return false;
        return strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") == n;
}

static void check_tz(const char *s)
{
        if (jit_tz_is_valid(s))
                CHECK(tz_name_plausible(s));
}

static void check_window(const uint8_t *data, size_t size)
{
        uint8_t raw[5] = { 0 };
        struct jit_window w;
        int n = 0, expect, len;

        memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
        w.days = raw[0];
        w.from = (uint16_t)(raw[1] | raw[2] << 8);
        w.to = (uint16_t)(raw[3] | raw[4] << 8);
        if (!(raw[0] & 0x80)) {                 /* mostly in range */
                w.from %= 1441;
                w.to %= 1441;
        }
        for (int d = 0; d < 7; d++)
                for (int m = 0; m < 1440; m++)
                        n += jit_window_contains(&w, d, m);
        for (int d = -1; d <= 7; d += 8)
                CHECK(!jit_window_contains(&w, d, 0));
        CHECK(!jit_window_contains(&w, 0, -1) && !jit_window_contains(&w, 0, 1440));
        if (w.from > 1440 || w.to > 1440 || w.from == w.to) {
                expect = 0;
        } else {
                len = w.from < w.to ? w.to - w.from : 1440 - w.from + w.to;
                expect = __builtin_popcount(w.days & JIT_DAYS_ALL) * len;
        }
        CHECK(n == expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool looked;
        char *s = malloc(size + 1);
        int64_t raw = 0;

        CHECK(s);
        memcpy(s, data, size);
        s[size] = '\0';
        if (!looked) {
                have_berlin = jit_tz_is_valid(BERLIN);
                looked = true;
        }

        check_days(s);
        check_hhmm(s);
        check_instant(s);
        check_local_berlin(s);
        check_tz(s);
        check_window(data, size);

        memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
        check_format(raw);
        if (raw != INT64_MIN)
                check_format(raw < 0 ? -raw % (JIT_TIME_MAX + 1) : raw % (JIT_TIME_MAX + 1));
        check_local(raw < 0 ? raw : raw % (JIT_TIME_MAX + 1), s);
        free(s);
        return 0;
}
