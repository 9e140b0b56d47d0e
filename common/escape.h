/* escape.h — text that came from a user, made safe to show.
 *
 * Owns: the one rule for showing user-supplied text (reasons, comments,
 * tasks, command lines, host names) where something interprets it: a
 * terminal, a chat client, a web page that renders a JSON string.
 * Rule: printable ASCII and valid UTF-8 pass unchanged, except
 *   - C0 controls 0x00-0x1f and DEL 0x7f        -> "\xHH"   (ESC is "\x1b")
 *   - bytes that are not valid UTF-8 (stray or missing continuation bytes,
 *     overlong forms, surrogates, past U+10FFFF) -> "\xHH", one per byte
 *   - C1 controls U+0080-U+009F                   -> "\u{0085}"
 *   - bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E,
 *     U+2066-U+2069; invisible U+200B-U+200D, U+2060, U+FEFF; line and
 *     paragraph separators U+2028, U+2029        -> "\u{202E}"
 * A backslash is left as it is: the result is for reading, not for
 * undoing, and an escape typed by the user is as inert as a real one.
 * Invariants: the output is NUL-terminated valid UTF-8 holding none of
 * the above; when it does not fit, it is cut at a character boundary
 * (never inside an escape) and ends with "...".
 * MUST: pure (no allocation but jit_escape_dup's, no locale, no state).
 */
#ifndef JIT_ESCAPE_H
#define JIT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* An escape is at most 8 bytes for a 3-byte character, 4 for one byte:
 * size 4 * strlen(in) + 1 always holds all of it. */
#define JIT_ESCAPE_GROWTH 4

/* Escape in into out (size bytes, NUL included). Returns 0 when all of
 * in fit, 1 when it was cut, -EINVAL when out is NULL or size is 0
 * (in NULL is ""). */
int jit_escape_text(char *out, size_t size, const char *in);

/* The same into a new string of at most max bytes (NUL excluded; 0: no
 * limit but the growth). NULL on -ENOMEM or when in is NULL. */
char *jit_escape_dup(const char *in, size_t max);

/* Is s (NUL-terminated; NULL is "") strict UTF-8 by the rule above? */
bool jit_utf8_is_valid(const char *s);

#endif
