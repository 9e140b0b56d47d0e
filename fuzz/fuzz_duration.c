/* fuzz_duration — jit_duration_parse and its inverse, jit_duration_format.
 *
 * Input: the bytes of a duration string (cut at the first NUL, as C sees it).
 * Invariants checked (abort on violation):
 *  - a parsed value is in 1..JIT_DURATION_MAX;
 *  - format(x) succeeds and parse(format(x)) == x for every parsed x;
 *  - format is canonical: format(parse(format(x))) == format(x);
 *  - format writes nothing past the size it is given, fails with -ENOBUFS
 *    when the text does not fit, and succeeds when it exactly fits;
 *  - the same round trip holds for the input's first 8 bytes read as a
 *    number (any value, not only what the grammar can reach quickly).
 * Every buffer is heap-allocated at its exact size so ASan sees overruns.
 */
#include "duration.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

/* Format into an exactly-sized heap buffer; returns the text or NULL on
 * -ENOBUFS. */
static char *format_exact(uint64_t sec, size_t size, int *ret_r)
{
        char *buf = malloc(size ? size : 1);

        CHECK(buf);
        *ret_r = jit_duration_format(buf, size, sec);
        if (*ret_r < 0) {
                free(buf);
                return NULL;
        }
        CHECK(size > 0 && memchr(buf, '\0', size));
        return buf;
}

static void check_round_trip(uint64_t x)
{
        char text[64], *exact, *small;
        uint64_t back = 0;
        size_t len;
        int r;

        r = jit_duration_format(text, sizeof(text), x);
        CHECK(r == 0);
        len = strlen(text);
        CHECK(len > 0);

        exact = format_exact(x, len + 1, &r);
        CHECK(r == 0 && exact && strcmp(exact, text) == 0);
        free(exact);
        small = format_exact(x, len, &r);
        CHECK(r == -ENOBUFS && !small);

        if (x == 0 || x > JIT_DURATION_MAX) {
                CHECK(jit_duration_parse(text, &back) == -EINVAL);
                return;
        }
        CHECK(jit_duration_parse(text, &back) == 0);
        CHECK(back == x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        uint64_t x = UINT64_MAX, raw = 0;
        int r;

        CHECK(s);
        memcpy(s, data, size);
        s[size] = '\0';

        r = jit_duration_parse(s, &x);
        CHECK(r == 0 || r == -EINVAL);
        if (r == 0) {
                CHECK(x >= 1 && x <= JIT_DURATION_MAX);
                check_round_trip(x);
        } else {
                CHECK(x == UINT64_MAX);         /* not written on failure */
        }
        free(s);

        memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
        check_round_trip(raw);
        check_round_trip(raw % (JIT_DURATION_MAX + 1));
        return 0;
}
