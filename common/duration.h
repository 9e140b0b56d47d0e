/* duration.h — human durations ("90s", "15m", "1h30m", "2d") <-> seconds.
 *
 * Owns: the one grammar used in jit.conf, PAM options and jitctl flags.
 * Grammar: one or more <digits><unit> groups, unit one of s m h d, units in
 * strictly decreasing order, no spaces, no sign; a bare number is seconds.
 * MUST: reject overflow, empty input, zero, and anything above
 * JIT_DURATION_MAX; never depend on the locale.
 */
#ifndef JIT_DURATION_H
#define JIT_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define JIT_DURATION_MAX (366ULL * 24 * 3600) /* one year, in seconds */

/* Parse s into seconds. Returns 0, or -EINVAL. */
int jit_duration_parse(const char *s, uint64_t *ret_sec);

/* Write the shortest canonical form ("1h30m") into buf. Returns 0 or -ENOBUFS. */
int jit_duration_format(char *buf, size_t size, uint64_t sec);

#endif
