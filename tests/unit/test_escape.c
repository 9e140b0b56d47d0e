/* test_escape.c — user text made safe to show (escape.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "escape.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void expect(const char *in, const char *out)
{
        char buf[512];

        assert_int_equal(jit_escape_text(buf, sizeof(buf), in), 0);
        assert_string_equal(buf, out);
}

static void t_plain_text_and_utf8_pass_unchanged(void **state)
{
        expect("restart nginx (INC-4711)", "restart nginx (INC-4711)");
        expect("Grüße, 東京, emoji \xf0\x9f\x94\xa5", "Grüße, 東京, emoji \xf0\x9f\x94\xa5");
        expect("C:\\path \\x1b stays as typed", "C:\\path \\x1b stays as typed");
        expect("", "");
        expect(NULL, "");
}

static void t_c0_controls_esc_and_del_become_hex(void **state)
{
        expect("a\x1b[31mred\x1b[0m", "a\\x1b[31mred\\x1b[0m");
        expect("line1\nline2\r\t", "line1\\x0aline2\\x0d\\x09");
        expect("bell\x07 del\x7f", "bell\\x07 del\\x7f");
        expect("\x1b]0;title\x07", "\\x1b]0;title\\x07");
}

static void t_c1_controls_become_code_points(void **state)
{
        expect("csi\xc2\x9b" "31m", "csi\\u{009B}31m");
        expect("nel\xc2\x85", "nel\\u{0085}");
        expect("nbsp\xc2\xa0ok", "nbsp\xc2\xa0ok");     /* U+00A0 is printable */
}

static void t_bidi_overrides_and_invisibles_are_shown(void **state)
{
        expect("evil\xe2\x80\xae" "txt.exe", "evil\\u{202E}txt.exe");
        expect("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "\\u{202A}\\u{202B}\\u{202C}\\u{202D}");
        expect("\xe2\x81\xa6x\xe2\x81\xa9", "\\u{2066}x\\u{2069}");
        expect("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u{200E}\\u{200F}\\u{061C}");
        expect("zero\xe2\x80\x8bwidth\xef\xbb\xbf", "zero\\u{200B}width\\u{FEFF}");
        expect("a\xe2\x80\xa8" "b\xe2\x80\xa9", "a\\u{2028}b\\u{2029}");
}

static void t_invalid_utf8_becomes_hex_bytes(void **state)
{
        expect("\xff\xfe", "\\xff\\xfe");
        expect("stray\x80", "stray\\x80");
        expect("cut\xe2\x80", "cut\\xe2\\x80");                 /* truncated sequence */
        expect("over\xc0\xaf", "over\\xc0\\xaf");               /* overlong '/' */
        expect("sur\xed\xa0\x80", "sur\\xed\\xa0\\x80");        /* a surrogate */
        expect("big\xf4\x90\x80\x80", "big\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
}

static void t_cut_at_a_boundary_with_dots(void **state)
{
        char buf[12];

        assert_int_equal(jit_escape_text(buf, sizeof(buf), "0123456789abcdef"), 1);
        assert_string_equal(buf, "01234567...");
        /* never inside an escape: "\x1b" is 4 bytes */
        assert_int_equal(jit_escape_text(buf, sizeof(buf), "abcdef\x1b\x1b\x1b"), 1);
        assert_string_equal(buf, "abcdef...");
        /* never inside a UTF-8 character */
        assert_int_equal(jit_escape_text(buf, sizeof(buf), "ab東京東京東京"), 1);
        assert_string_equal(buf, "ab東京...");
        /* exactly full is not a cut */
        assert_int_equal(jit_escape_text(buf, sizeof(buf), "0123456789a"), 0);
        assert_string_equal(buf, "0123456789a");
}

static void t_tiny_buffers(void **state)
{
        char buf[4];

        assert_int_equal(jit_escape_text(buf, 1, "abc"), 1);
        assert_string_equal(buf, "");
        assert_int_equal(jit_escape_text(buf, 3, "abc"), 1);
        assert_string_equal(buf, "ab");
        assert_int_equal(jit_escape_text(buf, 4, "abcd"), 1);
        assert_string_equal(buf, "...");
        assert_int_equal(jit_escape_text(NULL, 4, "a"), -EINVAL);
        assert_int_equal(jit_escape_text(buf, 0, "a"), -EINVAL);
}

static void t_growth_bound_holds(void **state)
{
        char in[97], *out;

        for (size_t i = 0; i < 96; i += 3)
                memcpy(in + i, "\xe2\x80\xae", 3);      /* worst case for 3 bytes: 8 */
        in[96] = '\0';
        out = jit_escape_dup(in, 0);
        assert_non_null(out);
        assert_int_equal(strlen(out), 32 * 8);
        free(out);
        memset(in, 0x1b, 96);                           /* worst case per byte: 4 */
        out = jit_escape_dup(in, 0);
        assert_int_equal(strlen(out), 96 * 4);
        free(out);
        out = jit_escape_dup(in, 10);
        assert_string_equal(out, "\\x1b...");
        free(out);
        assert_null(jit_escape_dup(NULL, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_plain_text_and_utf8_pass_unchanged),
                cmocka_unit_test(t_c0_controls_esc_and_del_become_hex),
                cmocka_unit_test(t_c1_controls_become_code_points),
                cmocka_unit_test(t_bidi_overrides_and_invisibles_are_shown),
                cmocka_unit_test(t_invalid_utf8_becomes_hex_bytes),
                cmocka_unit_test(t_cut_at_a_boundary_with_dots),
                cmocka_unit_test(t_tiny_buffers),
                cmocka_unit_test(t_growth_bound_holds),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
