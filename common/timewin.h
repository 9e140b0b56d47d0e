/* timewin.h — weekly time windows, ISO 8601 instants, IANA time zones
 * (policy "hours", "change_windows"; jitctl policy test --time).
 *
 * Owns: the grammars of day lists ("mon-fri"), clock times ("08:00") and
 * instants ("2026-11-22T20:00:00Z"), which zone names we accept, and the
 * one place that turns an instant into a local weekday and minute.
 * Invariants: every instant this module parses or formats lies in
 * 0..JIT_TIME_MAX (1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z), so
 * format(parse(x)) always succeeds; the parsers, the formatter and
 * jit_window_contains are pure and need no locale.
 * MUST: a zone name is checked (charset, components, a TZif file under
 * JIT_TZ_DIR) before it reaches TZ, so it can neither walk out of the
 * zoneinfo tree nor silently fall back to UTC. jit_time_local and
 * jit_time_parse_local set TZ and call tzset(): they are NOT thread-safe
 * (the service is single-threaded) and restore TZ before returning.
 */
#ifndef JIT_TIMEWIN_H
#define JIT_TIMEWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_TIME_MAX INT64_C(253402300799)      /* 9999-12-31T23:59:59Z */
#define JIT_TIME_INSTANT_SIZE 21                /* "YYYY-MM-DDTHH:MM:SSZ" + NUL */
#define JIT_TZ_NAME_MAX 64
#define JIT_TZ_DIR "/usr/share/zoneinfo"
#define JIT_DAYS_ALL 0x7f

struct jit_window {
        uint8_t days;           /* bit 0 = Sunday ... bit 6 = Saturday (tm_wday) */
        uint16_t from, to;      /* minutes since local midnight, 0..1440 */
};

/* "mon-fri", "sat,sun", "mon,wed-fri", "fri-mon" (wraps), "*" (every day,
 * and only alone). Items are comma-separated three-letter English day
 * names, lower case, or ranges of two; a repeated day is harmless.
 * Returns 0 (*ret != 0), or -EINVAL for empty input, an empty item, upper
 * case, spaces or anything else. */
int jit_window_parse_days(const char *s, uint8_t *ret);

/* "HH:MM", exactly two digits each: "00:00".."23:59", and "24:00" (end of
 * day, 1440). Returns 0, or -EINVAL ("8:00", "24:01", "12:60", ...). */
int jit_window_parse_hhmm(const char *s, uint16_t *ret);

/* Is (wday 0..6, minute 0..1439) inside w?
 *  from < to: on a listed day, from <= minute < to.
 *  from > to: wraps midnight — starts on a listed day at from and runs to
 *             `to` on the next day ("fri 22:00-06:00" is Fri 22:00..24:00
 *             and Sat 00:00..06:00; Fri 03:00 only if Thursday is listed).
 *  from == to: empty (config refuses it; "00:00-24:00" is a whole day).
 * false for out-of-range wday/minute or a window field beyond 1440. */
bool jit_window_contains(const struct jit_window *w, int wday, int minute);

/* Strict ISO 8601 / RFC 3339 instant: "YYYY-MM-DDTHH:MM[:SS]" then "Z" or
 * "+HH:MM"/"-HH:MM"; upper-case T and Z, no fractions, no leap second,
 * hour 00..23, offset up to 23:59. The date is checked (leap years, days
 * per month), year 1970..9999, and the result must be in 0..JIT_TIME_MAX.
 * Returns 0, or -EINVAL. */
int jit_time_parse_instant(const char *s, int64_t *ret);

/* "2026-11-22T20:00:00Z" (UTC) for t into buf. Returns 0, -ERANGE when t
 * is outside 0..JIT_TIME_MAX, or -ENOBUFS when size < JIT_TIME_INSTANT_SIZE. */
int jit_time_format_instant(char *buf, size_t size, int64_t t);

/* "UTC" (valid even without tzdata), or 1..JIT_TZ_NAME_MAX bytes of
 * [A-Za-z0-9_+-] components joined by '/' (no leading, trailing or double
 * '/', no "." or ".." component) naming a regular file under JIT_TZ_DIR
 * (symlinks followed) that starts with the TZif magic. */
bool jit_tz_is_valid(const char *tz);

/* Local weekday (0 = Sunday) and minute of day (0..1439) of t in zone tz.
 * Returns 0, -EINVAL when !jit_tz_is_valid(tz), -EOVERFLOW when t cannot
 * be converted, or -ENOMEM. Not thread-safe (see above). */
int jit_time_local(int64_t t, const char *tz, int *ret_wday, int *ret_minute);

/* "2026-11-23T03:00" or "2026-11-23T03:00:00" (no zone) as local time in
 * tz, or any form jit_time_parse_instant accepts (then tz is still checked
 * but not used). A local time that does not exist (skipped by a DST
 * change) is -EINVAL; one that occurs twice is the earlier instant.
 * Returns 0, -EINVAL or -ENOMEM. Not thread-safe (see above). */
int jit_time_parse_local(const char *s, const char *tz, int64_t *ret);

#endif
