#include "escape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode one UTF-8 character at s (strictly: no overlong forms, no
 * surrogates, nothing past U+10FFFF). Returns its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret)
{
        unsigned char c = s[0];
        size_t n;
        uint32_t cp, min;

        if (c < 0x80) {
                *ret = c;
                return 1;
        }
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07, min = 0x10000;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)      /* also stops at the NUL */
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret = cp;
        return n;
}

bool jit_utf8_is_valid(const char *s)
{
        uint32_t cp;

        for (const unsigned char *p = (const unsigned char *)s; p && *p;) {
                size_t n = utf8_decode(p, &cp);

                if (!n)
                        return false;
                p += n;
        }
        return true;
}

/* Characters that change how the text around them is shown, or hide. */
static bool is_format_char(uint32_t cp)
{
        return (cp >= 0x80 && cp <= 0x9f) ||                    /* C1 controls */
               cp == 0x061c ||                                  /* ALM */
               (cp >= 0x200b && cp <= 0x200f) ||                /* ZWSP..RLM */
               (cp >= 0x2028 && cp <= 0x202e) ||                /* LS, PS, LRE..RLO */
               cp == 0x2060 ||                                  /* WJ */
               (cp >= 0x2066 && cp <= 0x2069) ||                /* LRI..PDI */
               cp == 0xfeff;                                    /* ZWNBSP/BOM */
}

int jit_escape_text(char *out, size_t size, const char *in)
{
        const unsigned char *p = (const unsigned char *)(in ? in : "");
        size_t off = 0, mark = 0;       /* mark: a boundary where "..." still fits */

        if (!out || size == 0)
                return -EINVAL;
        while (*p) {
                char piece[16];
                size_t len;
                uint32_t cp = 0;
                size_t n = utf8_decode(p, &cp);

                if (n == 0 || cp < 0x20 || cp == 0x7f) {
                        snprintf(piece, sizeof(piece), "\\x%02x", p[0]);
                        n = 1;
                } else if (is_format_char(cp)) {
                        snprintf(piece, sizeof(piece), "\\u{%04X}", (unsigned)cp);
                } else {
                        memcpy(piece, p, n);
                        piece[n] = '\0';
                }
                len = strlen(piece);
                if (off + len + 1 > size) {
                        if (size >= 4)
                                memcpy(out + mark, "...", 4);
                        else
                                out[off] = '\0';
                        return 1;
                }
                memcpy(out + off, piece, len);
                off += len;
                p += n;
                if (off + 4 <= size)
                        mark = off;
        }
        out[off] = '\0';
        return 0;
}

char *jit_escape_dup(const char *in, size_t max)
{
        size_t size;
        char *out;

        if (!in)
                return NULL;
        size = strlen(in) * JIT_ESCAPE_GROWTH + 1;
        if (max && size > max + 1)
                size = max + 1;
        out = malloc(size);
        if (out && jit_escape_text(out, size, in) < 0) {
                free(out);
                return NULL;
        }
        return out;
}
