#include "timewin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(time_t) >= 8, "instants up to 9999 need a 64-bit time_t");

static const char day_names[7][4] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int day_index(const char *p)
{
        for (int i = 0; i < 7; i++)
                if (strncmp(p, day_names[i], 3) == 0)
                        return i;
        return -EINVAL;
}

int jit_window_parse_days(const char *s, uint8_t *ret)
{
        uint8_t days = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "*") == 0) {
                *ret = JIT_DAYS_ALL;
                return 0;
        }
        for (;;) {
                int a = day_index(p), b;

                if (a < 0)
                        return -EINVAL;
                p += 3;
                b = a;
                if (*p == '-') {
                        b = day_index(p + 1);
                        if (b < 0)
                                return -EINVAL;
                        p += 4;
                }
                for (int d = a;; d = (d + 1) % 7) {     /* "fri-mon" wraps */
                        days |= (uint8_t)(1u << d);
                        if (d == b)
                                break;
                }
                if (*p == '\0')
                        break;
                if (*p != ',')
                        return -EINVAL;
                p++;
        }
        *ret = days;
        return 0;
}

/* Exactly n ASCII digits at p (a NUL stops it: '\0' is not a digit). */
static int digits(const char *p, int n, int *ret)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -EINVAL;
                v = v * 10 + (p[i] - '0');
        }
        *ret = v;
        return 0;
}

int jit_window_parse_hhmm(const char *s, uint16_t *ret)
{
        int h, m;

        if (!s || strnlen(s, 6) != 5 || s[2] != ':' ||
            digits(s, 2, &h) < 0 || digits(s + 3, 2, &m) < 0)
                return -EINVAL;
        if (m > 59 || h > 24 || (h == 24 && m != 0))
                return -EINVAL;
        *ret = (uint16_t)(h * 60 + m);
        return 0;
}

bool jit_window_contains(const struct jit_window *w, int wday, int minute)
{
        bool today, yesterday;

        if (!w || wday < 0 || wday > 6 || minute < 0 || minute >= 1440 ||
            w->from > 1440 || w->to > 1440)
                return false;
        today = w->days & (1u << wday);
        yesterday = w->days & (1u << ((wday + 6) % 7));
        if (w->from < w->to)
                return today && minute >= w->from && minute < w->to;
        if (w->from > w->to)
                return (today && minute >= w->from) || (yesterday && minute < w->to);
        return false;
}

static bool is_leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
        static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* "YYYY-MM-DDTHH:MM[:SS]", checked, into *ret (tm_isdst = -1); *ret_end
 * points past it. */
static int parse_datetime(const char *s, struct tm *ret, const char **ret_end)
{
        struct tm tm = { .tm_isdst = -1 };
        int y, mo, d, h, mi, sec = 0;
        const char *p = s;

        if (digits(p, 4, &y) < 0 || p[4] != '-' || digits(p + 5, 2, &mo) < 0 ||
            p[7] != '-' || digits(p + 8, 2, &d) < 0 || p[10] != 'T' ||
            digits(p + 11, 2, &h) < 0 || p[13] != ':' || digits(p + 14, 2, &mi) < 0)
                return -EINVAL;
        p += 16;
        if (*p == ':') {
                if (digits(p + 1, 2, &sec) < 0)
                        return -EINVAL;
                p += 3;
        }
        if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
            h > 23 || mi > 59 || sec > 59)
                return -EINVAL;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        *ret = tm;
        *ret_end = p;
        return 0;
}

static bool in_range(int64_t t)
{
        return t >= 0 && t <= JIT_TIME_MAX;
}

int jit_time_parse_instant(const char *s, int64_t *ret)
{
        struct tm tm;
        const char *p;
        int64_t t, off = 0;

        if (!s || parse_datetime(s, &tm, &p) < 0)
                return -EINVAL;
        if (p[0] == 'Z') {
                p++;
        } else if (p[0] == '+' || p[0] == '-') {
                int oh, om;

                if (digits(p + 1, 2, &oh) < 0 || p[3] != ':' || digits(p + 4, 2, &om) < 0 ||
                    oh > 23 || om > 59)
                        return -EINVAL;
                off = (int64_t)oh * 3600 + om * 60;
                if (p[0] == '-')
                        off = -off;
                p += 6;
        } else {
                return -EINVAL;
        }
        if (*p != '\0')
                return -EINVAL;
        t = (int64_t)timegm(&tm) - off;        /* fields checked: timegm cannot fail */
        if (!in_range(t))
                return -EINVAL;
        *ret = t;
        return 0;
}

int jit_time_format_instant(char *buf, size_t size, int64_t t)
{
        time_t tt = (time_t)t;
        struct tm tm;
        int w;

        if (!in_range(t))
                return -ERANGE;
        if (size < JIT_TIME_INSTANT_SIZE)
                return -ENOBUFS;
        if (!gmtime_r(&tt, &tm))
                return -ERANGE;
        w = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (w != JIT_TIME_INSTANT_SIZE - 1)
                return -ERANGE;
        return 0;
}

/* Components of [A-Za-z0-9_+-] joined by single '/'. The charset has no
 * '.', so "." and ".." components cannot occur. */
static bool tz_name_is_valid(const char *tz)
{
        size_t len = strnlen(tz, JIT_TZ_NAME_MAX + 1), comp = 0;

        if (len == 0 || len > JIT_TZ_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char ch = tz[i];

                if (ch == '/') {
                        if (comp == 0)
                                return false;
                        comp = 0;
                        continue;
                }
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-'))
                        return false;
                comp++;
        }
        return comp > 0;
}

static bool tz_file_is_tzif(const char *tz)
{
        char path[sizeof(JIT_TZ_DIR) + 1 + JIT_TZ_NAME_MAX + 1], magic[4];
        struct stat st;
        bool ok;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", JIT_TZ_DIR, tz);
        /* O_NONBLOCK: a FIFO planted in the tree must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return false;
        ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
             read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
             memcmp(magic, "TZif", 4) == 0;
        (void)close(fd);
        return ok;
}

bool jit_tz_is_valid(const char *tz)
{
        if (!tz)
                return false;
        if (strcmp(tz, "UTC") == 0)
                return true;
        return tz_name_is_valid(tz) && tz_file_is_tzif(tz);
}

struct tz_saved {
        char *value;            /* NULL: TZ was unset */
};

/* TZ=":<JIT_TZ_DIR>/<tz>" — an absolute path, so TZDIR cannot send libc
 * anywhere but the file jit_tz_is_valid checked. */
static int tz_push(const char *tz, struct tz_saved *ret)
{
        char val[1 + sizeof(JIT_TZ_DIR) + 1 + JIT_TZ_NAME_MAX + 1];
        const char *old = secure_getenv("TZ");
        char *saved = NULL;

        if (old && !(saved = strdup(old)))
                return -ENOMEM;
        snprintf(val, sizeof(val), ":%s/%s", JIT_TZ_DIR, tz);
        if (setenv("TZ", val, 1) < 0) {
                free(saved);
                return -ENOMEM;
        }
        tzset();
        ret->value = saved;
        return 0;
}

static int tz_pop(struct tz_saved *s)
{
        int r = s->value ? setenv("TZ", s->value, 1) : unsetenv("TZ");

        free(s->value);
        s->value = NULL;
        tzset();
        return r < 0 ? -ENOMEM : 0;
}

int jit_time_local(int64_t t, const char *tz, int *ret_wday, int *ret_minute)
{
        struct tz_saved saved;
        time_t tt = (time_t)t;
        struct tm tm, *ok;
        int r;

        if (!jit_tz_is_valid(tz))
                return -EINVAL;
        if (strcmp(tz, "UTC") == 0) {
                ok = gmtime_r(&tt, &tm);
        } else {
                r = tz_push(tz, &saved);
                if (r < 0)
                        return r;
                ok = localtime_r(&tt, &tm);
                r = tz_pop(&saved);
                if (r < 0)
                        return r;
        }
        if (!ok)
                return -EOVERFLOW;
        *ret_wday = tm.tm_wday;
        *ret_minute = tm.tm_hour * 60 + tm.tm_min;
        return 0;
}

static bool same_wall_clock(const struct tm *a, const struct tm *b)
{
        return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
               a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* The earliest instant whose wall clock in the current TZ is *want, or
 * -EINVAL if none (skipped by a DST change). mktime is asked with each
 * tm_isdst and each answer is checked, since it normalises what does not
 * exist and picks either side of what exists twice. */
static int local_to_instant(const struct tm *want, int64_t *ret)
{
        static const int isdst[] = { -1, 0, 1 };
        bool found = false;
        int64_t best = 0;

        for (size_t i = 0; i < sizeof(isdst) / sizeof(isdst[0]); i++) {
                struct tm tm = *want;
                time_t t;

                tm.tm_isdst = isdst[i];
                t = mktime(&tm);
                if (t == (time_t)-1 || !same_wall_clock(&tm, want))
                        continue;
                if (isdst[i] >= 0 && (tm.tm_isdst > 0) != (isdst[i] > 0))
                        continue;
                if (!found || (int64_t)t < best)
                        best = (int64_t)t;
                found = true;
        }
        if (!found)
                return -EINVAL;
        *ret = best;
        return 0;
}

int jit_time_parse_local(const char *s, const char *tz, int64_t *ret)
{
        struct tz_saved saved;
        const char *end;
        struct tm tm;
        int64_t t;
        int r, r2;

        if (!s || !jit_tz_is_valid(tz))
                return -EINVAL;
        if (jit_time_parse_instant(s, &t) == 0) {
                *ret = t;
                return 0;
        }
        if (parse_datetime(s, &tm, &end) < 0 || *end != '\0')
                return -EINVAL;
        if (strcmp(tz, "UTC") == 0) {
                t = (int64_t)timegm(&tm);
        } else {
                r = tz_push(tz, &saved);
                if (r < 0)
                        return r;
                r = local_to_instant(&tm, &t);
                r2 = tz_pop(&saved);
                if (r < 0)
                        return r;
                if (r2 < 0)
                        return r2;
        }
        if (!in_range(t))
                return -EINVAL;
        *ret = t;
        return 0;
}
