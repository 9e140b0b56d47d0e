#include "netmatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define ZONE_MAX 15     /* IFNAMSIZ - 1 */

static const unsigned char v4mapped_prefix[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static unsigned family_bits(int family)
{
        return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

/* Read exactly len bytes of s as an IPv4 or IPv6 literal; a ':' says which. */
static int parse_literal(const char *s, size_t len, int *ret_family, unsigned char ret_addr[16])
{
        char buf[JIT_CIDR_TEXT_MAX + 1];
        int family;

        if (len == 0 || len > JIT_CIDR_TEXT_MAX)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        family = memchr(buf, ':', len) ? AF_INET6 : AF_INET;
        memset(ret_addr, 0, 16);
        if (inet_pton(family, buf, ret_addr) != 1)
                return -EINVAL;
        *ret_family = family;
        return 0;
}

/* Do the first bits bits of a and b agree? */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
        unsigned whole = bits / 8, rest = bits % 8;
        unsigned char mask;

        if (memcmp(a, b, whole) != 0)
                return false;
        if (rest == 0)
                return true;
        mask = (unsigned char)(0xff << (8 - rest));
        return ((a[whole] ^ b[whole]) & mask) == 0;
}

static bool has_host_bits(const unsigned char *addr, unsigned prefix, unsigned bits)
{
        for (unsigned i = prefix; i < bits; i++)
                if (addr[i / 8] & (0x80 >> (i % 8)))
                        return true;
        return false;
}

/* "/<prefix>": 1..3 digits, no leading zero unless it is "0", <= max. */
static int parse_prefix(const char *p, unsigned max, unsigned *ret)
{
        unsigned n = 0;
        size_t digits = 0;

        for (; p[digits] >= '0' && p[digits] <= '9'; digits++) {
                if (digits == 3)
                        return -EINVAL;
                n = n * 10 + (unsigned)(p[digits] - '0');
        }
        if (digits == 0 || p[digits] != '\0')
                return -EINVAL;
        if (p[0] == '0' && digits > 1)
                return -EINVAL;
        if (n > max)
                return -EINVAL;
        *ret = n;
        return 0;
}

int jit_cidr_parse(const char *s, struct jit_cidr *ret)
{
        struct jit_cidr c = { 0 };
        const char *slash;
        size_t len;

        if (!s)
                return -EINVAL;
        len = strnlen(s, JIT_CIDR_TEXT_MAX + 1);
        if (len == 0 || len > JIT_CIDR_TEXT_MAX)
                return -EINVAL;
        slash = memchr(s, '/', len);
        if (parse_literal(s, slash ? (size_t)(slash - s) : len, &c.family, c.addr) < 0)
                return -EINVAL;
        c.prefix = family_bits(c.family);
        if (slash && parse_prefix(slash + 1, family_bits(c.family), &c.prefix) < 0)
                return -EINVAL;
        if (has_host_bits(c.addr, c.prefix, family_bits(c.family)))
                return -EINVAL;
        *ret = c;
        return 0;
}

static bool cidr_is_valid(const struct jit_cidr *c)
{
        unsigned bits = family_bits(c->family);

        return bits > 0 && c->prefix <= bits && !has_host_bits(c->addr, c->prefix, bits);
}

int jit_cidr_format(char *buf, size_t size, const struct jit_cidr *c)
{
        char text[INET6_ADDRSTRLEN];
        int w;

        if (!c || !cidr_is_valid(c))
                return -EINVAL;
        if (!inet_ntop(c->family, c->addr, text, sizeof(text)))
                return -EINVAL;
        w = snprintf(buf, size, "%s/%u", text, c->prefix);
        if (w < 0 || (size_t)w >= size)
                return -ENOBUFS;
        return 0;
}

static bool zone_is_valid(const char *z, size_t len)
{
        if (len == 0 || len > ZONE_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char ch = z[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
                        return false;
        }
        return true;
}

/* PAM_RHOST text -> family and address, the zone dropped. */
static int parse_addr(const char *addr, int *ret_family, unsigned char ret_addr[16])
{
        const char *lit, *pct;
        size_t len, lit_len;
        bool decorated = false;

        if (!addr)
                return -EINVAL;
        len = strnlen(addr, JIT_CIDR_TEXT_MAX + 1);
        if (len == 0 || len > JIT_CIDR_TEXT_MAX)
                return -EINVAL;
        lit = addr;
        lit_len = len;
        if (addr[0] == '[') {
                if (len < 3 || addr[len - 1] != ']')
                        return -EINVAL;
                lit = addr + 1;
                lit_len = len - 2;
                decorated = true;
        }
        pct = memchr(lit, '%', lit_len);
        if (pct) {
                if (!zone_is_valid(pct + 1, lit_len - (size_t)(pct + 1 - lit)))
                        return -EINVAL;
                lit_len = (size_t)(pct - lit);
                decorated = true;
        }
        if (parse_literal(lit, lit_len, ret_family, ret_addr) < 0)
                return -EINVAL;
        if (decorated && *ret_family != AF_INET6)
                return -EINVAL;
        return 0;
}

bool jit_addr_is_numeric(const char *addr)
{
        unsigned char a[16];
        int family;

        return parse_addr(addr, &family, a) == 0;
}

bool jit_cidr_contains(const struct jit_cidr *c, const char *addr)
{
        unsigned char a[16], v4[4], v6[16];
        bool have_v4 = false;
        int family;

        if (!c || !cidr_is_valid(c) || parse_addr(addr, &family, a) < 0)
                return false;
        if (family == AF_INET) {
                memcpy(v4, a, 4);
                have_v4 = true;
                memcpy(v6, v4mapped_prefix, 12);
                memcpy(v6 + 12, a, 4);
        } else {
                memcpy(v6, a, 16);
                if (memcmp(a, v4mapped_prefix, 12) == 0) {
                        memcpy(v4, a + 12, 4);
                        have_v4 = true;
                }
        }
        if (c->family == AF_INET)
                return have_v4 && prefix_equal(c->addr, v4, c->prefix);
        return prefix_equal(c->addr, v6, c->prefix);
}
