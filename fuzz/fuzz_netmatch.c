/* fuzz_netmatch — jit_cidr_parse, jit_cidr_format, jit_cidr_contains,
 * jit_addr_is_numeric.
 *
 * Input: "<cidr>\n<address>" (each cut at the first NUL, as C sees it); with
 * no newline the whole input is both. The first bytes also build a raw
 * struct jit_cidr, as a caller could hand over.
 * Invariants checked (abort on violation):
 *  - parse returns 0 or -EINVAL and writes nothing on failure; a parsed
 *    CIDR has a known family, a prefix in range and no host bit set;
 *  - format(c) succeeds for every parsed c, fits JIT_CIDR_FORMAT_MAX,
 *    fails with -ENOBUFS when one byte short, and parse(format(c)) == c;
 *  - the address part of a parsed CIDR is a numeric address inside it;
 *  - contains(c, a) implies is_numeric(a); contains("::/0", a) ==
 *    is_numeric(a); widening a block that holds a keeps holding it;
 *  - a numeric address, brackets and zone stripped, parses as a host CIDR
 *    that contains it; bracketing a bare IPv6 literal keeps it numeric;
 *  - a raw struct formats iff it is valid, then parses back equal; an
 *    invalid one contains nothing.
 * Every buffer is heap-allocated at its exact size so ASan sees overruns.
 */
#include "netmatch.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

static char *dup_exact(const char *p, size_t n)
{
        char *s = malloc(n + 1);

        CHECK(s);
        memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

static unsigned bits_of(int family)
{
        return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static bool struct_is_valid(const struct jit_cidr *c)
{
        unsigned bits = bits_of(c->family);

        if (bits == 0 || c->prefix > bits)
                return false;
        for (unsigned i = c->prefix; i < bits; i++)
                if (c->addr[i / 8] & (0x80 >> (i % 8)))
                        return false;
        return true;
}

static struct jit_cidr cidr_of(const char *s)
{
        struct jit_cidr c;

        CHECK(jit_cidr_parse(s, &c) == 0);
        return c;
}

/* Format into an exactly-sized heap buffer, check the size contract,
 * and parse the text back. */
static void check_format_round_trip(const struct jit_cidr *c)
{
        char text[JIT_CIDR_FORMAT_MAX], *exact;
        struct jit_cidr back;
        size_t len;

        CHECK(jit_cidr_format(text, sizeof(text), c) == 0);
        len = strlen(text);
        exact = malloc(len + 1);
        CHECK(exact);
        CHECK(jit_cidr_format(exact, len + 1, c) == 0 && strcmp(exact, text) == 0);
        CHECK(jit_cidr_format(exact, len, c) == -ENOBUFS);
        free(exact);

        memset(&back, 0, sizeof(back));
        CHECK(jit_cidr_parse(text, &back) == 0);
        CHECK(back.family == c->family && back.prefix == c->prefix &&
              memcmp(back.addr, c->addr, bits_of(c->family) / 8) == 0);
}

static void check_parsed(const char *s, const struct jit_cidr *c)
{
        const char *slash = strchr(s, '/');
        char *lit;

        CHECK(struct_is_valid(c));
        check_format_round_trip(c);
        lit = dup_exact(s, slash ? (size_t)(slash - s) : strlen(s));
        CHECK(jit_addr_is_numeric(lit));
        CHECK(jit_cidr_contains(c, lit));
        free(lit);
}

/* Widen c one bit at a time down to /0; each must still hold addr. */
static void check_widening(struct jit_cidr c, const char *addr)
{
        while (c.prefix > 0) {
                c.prefix--;
                c.addr[c.prefix / 8] &= (unsigned char)~(0x80 >> (c.prefix % 8));
                CHECK(jit_cidr_contains(&c, addr));
        }
}

static void check_address(const char *a, const struct jit_cidr *parsed)
{
        struct jit_cidr any6 = cidr_of("::/0");
        bool numeric = jit_addr_is_numeric(a);
        const char *lit = a, *pct;
        size_t n = strlen(a);
        char *stripped, *bracketed;

        CHECK(jit_cidr_contains(&any6, a) == numeric);
        if (parsed && jit_cidr_contains(parsed, a)) {
                CHECK(numeric);
                check_widening(*parsed, a);
        }
        if (!numeric)
                return;

        if (a[0] == '[') {
                lit = a + 1;
                n -= 2;
        }
        pct = memchr(lit, '%', n);
        if (pct)
                n = (size_t)(pct - lit);
        stripped = dup_exact(lit, n);
        {
                struct jit_cidr host = cidr_of(stripped);

                CHECK(host.prefix == bits_of(host.family));
                CHECK(jit_cidr_contains(&host, a));
        }
        if (a[0] != '[' && strchr(a, ':')) {
                bracketed = malloc(strlen(a) + 3);
                CHECK(bracketed);
                sprintf(bracketed, "[%s]", a);
                CHECK(jit_addr_is_numeric(bracketed) == (strlen(bracketed) <= JIT_CIDR_TEXT_MAX));
                free(bracketed);
        }
        free(stripped);
}

static void check_raw_struct(const uint8_t *data, size_t size)
{
        struct jit_cidr c;
        char text[JIT_CIDR_FORMAT_MAX];
        uint8_t raw[18] = { 0 };

        memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
        memset(&c, 0, sizeof(c));
        c.family = raw[0] & 1 ? AF_INET6 : (raw[0] & 2 ? AF_INET : raw[0]);
        c.prefix = raw[1];
        memcpy(c.addr, raw + 2, 16);
        if (struct_is_valid(&c)) {
                check_format_round_trip(&c);
        } else {
                CHECK(jit_cidr_format(text, sizeof(text), &c) == -EINVAL);
                CHECK(!jit_cidr_contains(&c, "::"));
                CHECK(!jit_cidr_contains(&c, "0.0.0.0"));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nl = memchr(data, '\n', size);
        char *cidr_text, *addr_text;
        struct jit_cidr c, sentinel;
        int r;

        cidr_text = dup_exact((const char *)data, nl ? (size_t)(nl - data) : size);
        addr_text = nl ? dup_exact((const char *)nl + 1, size - (size_t)(nl - data) - 1)
                       : dup_exact((const char *)data, size);

        memset(&c, 0xa5, sizeof(c));
        sentinel = c;
        r = jit_cidr_parse(cidr_text, &c);
        CHECK(r == 0 || r == -EINVAL);
        if (r == 0)
                check_parsed(cidr_text, &c);
        else
                CHECK(memcmp(&c, &sentinel, sizeof(c)) == 0);

        check_address(addr_text, r == 0 ? &c : NULL);
        check_address(cidr_text, NULL);
        check_raw_struct(data, size);

        free(cidr_text);
        free(addr_text);
        return 0;
}
