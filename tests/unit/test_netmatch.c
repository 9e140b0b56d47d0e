/* test_netmatch.c — CIDR blocks and remote addresses, as netmatch.h states them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "netmatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct jit_cidr cidr_ok(const char *s)
{
        struct jit_cidr c;
        int r = jit_cidr_parse(s, &c);

        if (r != 0)
                fail_msg("\"%s\" should parse, got %d", s, r);
        return c;
}

static void assert_cidr_rejected(const char *s)
{
        struct jit_cidr c, before;
        int r;

        memset(&c, 0xa5, sizeof(c));    /* must survive a failed parse */
        before = c;
        r = jit_cidr_parse(s, &c);
        if (r != -EINVAL)
                fail_msg("\"%s\" should be rejected with -EINVAL, got %d", s ? s : "(null)", r);
        assert_memory_equal(&c, &before, sizeof(c));
}

static void assert_cidr_is(const char *s, int family, const char *addr, unsigned prefix)
{
        struct jit_cidr c = cidr_ok(s);
        unsigned char want[16] = { 0 };

        assert_int_equal(inet_pton(family, addr, want), 1);
        assert_int_equal(c.family, family);
        assert_int_equal(c.prefix, prefix);
        assert_memory_equal(c.addr, want, 16);
}

static void assert_in(const char *cidr, const char *addr)
{
        struct jit_cidr c = cidr_ok(cidr);

        if (!jit_cidr_contains(&c, addr))
                fail_msg("\"%s\" should contain \"%s\"", cidr, addr);
}

static void assert_not_in(const char *cidr, const char *addr)
{
        struct jit_cidr c = cidr_ok(cidr);

        if (jit_cidr_contains(&c, addr))
                fail_msg("\"%s\" should not contain \"%s\"", cidr, addr ? addr : "(null)");
}

static void t_parse_blocks_and_single_hosts(void **state)
{
        assert_cidr_is("10.0.0.0/8", AF_INET, "10.0.0.0", 8);
        assert_cidr_is("192.168.1.7", AF_INET, "192.168.1.7", 32);
        assert_cidr_is("192.168.1.7/32", AF_INET, "192.168.1.7", 32);
        assert_cidr_is("0.0.0.0/0", AF_INET, "0.0.0.0", 0);
        assert_cidr_is("10.0.0.0/7", AF_INET, "10.0.0.0", 7);   /* 00001010: bit 8 is clear */
        assert_cidr_is("::1/128", AF_INET6, "::1", 128);
        assert_cidr_is("fe80::/10", AF_INET6, "fe80::", 10);
        assert_cidr_is("2001:db8::1", AF_INET6, "2001:db8::1", 128);
        assert_cidr_is("2001:DB8::/32", AF_INET6, "2001:db8::", 32);
        assert_cidr_is("::/0", AF_INET6, "::", 0);
        assert_cidr_is("::ffff:10.0.0.0/104", AF_INET6, "::ffff:10.0.0.0", 104);
}

static void t_host_bits_beyond_the_prefix_are_refused(void **state)
{
        static const char *const bad[] = {
                "10.0.0.1/8", "192.168.1.7/24", "11.0.0.0/7", "0.0.0.1/0", "128.0.0.0/0",
                "10.0.0.0/4", "fe80::1/10", "2001:db8::1/64", "::1/0", "ffc0::/9",
        };

        for (size_t i = 0; i < N(bad); i++)
                assert_cidr_rejected(bad[i]);
}

static void t_prefix_out_of_range_or_malformed_is_refused(void **state)
{
        static const char *const bad[] = {
                "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/00",
                "::1/0128", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/0x8", "10.0.0.0/8/8",
                "10.0.0.0/1000", "10.0.0.0/8a", "::/1280", "/8", "/",
        };

        for (size_t i = 0; i < N(bad); i++)
                assert_cidr_rejected(bad[i]);
}

static void t_junk_spaces_and_decorations_are_refused(void **state)
{
        static const char *const bad[] = {
                "", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0 /8", "10.0.0.0/ 8", "10.0.0.0/8\n",
                "010.0.0.0/8", "10.0.0/8", "10.0.0.0.0/8", "256.0.0.0/8", "10.0.0.0.",
                "host.example.com", "localhost/32", "[::1]/128", "[::1]", "fe80::1%eth0",
                "fe80::/10%eth0", ":::/0", "1:2:3:4:5:6:7:8:9/128", "0x0a.0.0.0/8", "10/8",
                "*", "any",
        };

        for (size_t i = 0; i < N(bad); i++)
                assert_cidr_rejected(bad[i]);
        assert_cidr_rejected(NULL);
}

static void t_longest_literal_parses_and_overlong_text_is_refused(void **state)
{
        char s[JIT_CIDR_TEXT_MAX + 2];

        /* The longest text a CIDR can be fits well under the cap. */
        cidr_ok("0000:0000:0000:0000:0000:ffff:255.255.255.255/128");
        /* Past the cap: refused on length, whatever follows. */
        memset(s, '0', sizeof(s) - 1);
        s[sizeof(s) - 1] = '\0';
        memcpy(s, "::", 2);
        assert_int_equal(strlen(s), JIT_CIDR_TEXT_MAX + 1);
        assert_cidr_rejected(s);
}

static void t_contains_ipv4(void **state)
{
        assert_in("10.0.0.0/8", "10.0.0.0");
        assert_in("10.0.0.0/8", "10.1.2.3");
        assert_in("10.0.0.0/8", "10.255.255.255");
        assert_not_in("10.0.0.0/8", "11.0.0.0");
        assert_not_in("10.0.0.0/8", "9.255.255.255");
        assert_in("192.168.0.0/23", "192.168.1.255");
        assert_not_in("192.168.0.0/23", "192.168.2.0");
        assert_in("192.168.1.7", "192.168.1.7");
        assert_not_in("192.168.1.7", "192.168.1.8");
        assert_in("0.0.0.0/0", "255.255.255.255");
        assert_in("0.0.0.0/0", "0.0.0.0");
}

static void t_contains_ipv6(void **state)
{
        assert_in("fe80::/10", "fe80::1");
        assert_in("fe80::/10", "febf:ffff::1");
        assert_not_in("fe80::/10", "fec0::1");
        assert_in("::1/128", "::1");
        assert_in("::1/128", "0:0:0:0:0:0:0:1");
        assert_not_in("::1/128", "::2");
        assert_in("2001:db8::/32", "2001:DB8:1::42");
        assert_not_in("2001:db8::/32", "2001:db9::1");
        assert_in("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void t_families_do_not_mix_except_ipv4_mapped(void **state)
{
        assert_not_in("10.0.0.0/8", "::1");
        assert_not_in("10.0.0.0/8", "a00::");             /* 10.0.0.0's bytes, but IPv6 */
        assert_not_in("::1/128", "127.0.0.1");
        assert_not_in("2001:db8::/32", "32.1.13.184");    /* 2001:0db8 as a dotted quad */
        assert_not_in("0.0.0.0/0", "2001:db8::1");
        /* The deprecated IPv4-compatible form is an IPv6 address, no more. */
        assert_not_in("10.0.0.0/8", "::10.1.2.3");
}

static void t_ipv4_mapped_matches_ipv4_blocks(void **state)
{
        assert_in("10.0.0.0/8", "::ffff:10.1.2.3");
        assert_in("10.0.0.0/8", "::FFFF:10.1.2.3");
        assert_in("10.0.0.0/8", "::ffff:a01:203");
        assert_in("10.0.0.0/8", "[::ffff:10.1.2.3]");
        assert_in("10.1.2.3", "::ffff:10.1.2.3");
        assert_not_in("10.0.0.0/8", "::ffff:11.1.2.3");
        assert_in("0.0.0.0/0", "::ffff:1.2.3.4");
}

static void t_ipv4_is_its_mapped_form_in_ipv6_blocks(void **state)
{
        assert_in("::ffff:0:0/96", "10.1.2.3");
        assert_in("::ffff:10.0.0.0/104", "10.1.2.3");
        assert_not_in("::ffff:10.0.0.0/104", "11.1.2.3");
        assert_in("::/0", "10.1.2.3");
        assert_not_in("2000::/3", "10.1.2.3");
}

static void t_zone_suffix_is_ignored(void **state)
{
        assert_in("fe80::/10", "fe80::1%eth0");
        assert_in("fe80::/10", "fe80::1%1");
        assert_in("fe80::/10", "fe80::1%enp0s31f6");
        assert_in("fe80::/10", "[fe80::1%eth0]");
        assert_in("fe80::/10", "fe80::1%br-lan.10_x");
        assert_not_in("fe80::/10", "fec0::1%eth0");
        assert_in("10.0.0.0/8", "::ffff:10.1.2.3%eth0");
}

static void t_malformed_zones_are_not_numeric(void **state)
{
        static const char *const bad[] = {
                "fe80::1%", "fe80::1%eth0%eth1", "fe80::1%eth 0", "fe80::1%eth0 ",
                "fe80::1%eth/0", "fe80::1%0123456789abcdef",     /* 16 > IFNAMSIZ - 1 */
                "fe80::1%[eth0]", "%eth0", "10.1.2.3%eth0", "fe80::1%eth0]", "[fe80::1]%eth0",
        };

        for (size_t i = 0; i < N(bad); i++)
                if (jit_addr_is_numeric(bad[i]))
                        fail_msg("\"%s\" should not be numeric", bad[i]);
        assert_true(jit_addr_is_numeric("fe80::1%0123456789abcde"));   /* 15 */
}

static void t_brackets_are_for_ipv6_only_and_must_pair(void **state)
{
        static const char *const bad[] = {
                "[10.1.2.3]", "[::1", "::1]", "[]", "[[::1]]", "[ ::1]", "[::1]:22", "[::1]]",
                "[", "]",
        };

        assert_in("::1/128", "[::1]");
        assert_in("2001:db8::/32", "[2001:db8::7]");
        for (size_t i = 0; i < N(bad); i++)
                if (jit_addr_is_numeric(bad[i]))
                        fail_msg("\"%s\" should not be numeric", bad[i]);
}

static void t_host_names_and_junk_match_nothing(void **state)
{
        static const char *const names[] = {
                "localhost", "example.com", "10.1.2.3.example.com", "host-10-1-2-3",
                "1.2.3", "1.2.3.4.5", "0x0a.1.2.3", "010.1.2.3", "10.1.2.3 ", " 10.1.2.3",
                "10.1.2.3\n", "1.2.3.4:22", "10.1.2.3/32", "::1/128", "", "::g", ":::", "1",
        };
        struct jit_cidr any4 = cidr_ok("0.0.0.0/0"), any6 = cidr_ok("::/0");

        for (size_t i = 0; i < N(names); i++) {
                if (jit_addr_is_numeric(names[i]) || jit_cidr_contains(&any4, names[i]) ||
                    jit_cidr_contains(&any6, names[i]))
                        fail_msg("\"%s\" is not a numeric address", names[i]);
        }
        assert_false(jit_addr_is_numeric(NULL));
        assert_false(jit_cidr_contains(&any4, NULL));
        assert_false(jit_cidr_contains(&any6, NULL));
}

static void t_numeric_addresses_are_recognised(void **state)
{
        static const char *const ok[] = {
                "10.1.2.3", "0.0.0.0", "255.255.255.255", "::1", "::", "[::1]", "fe80::1%eth0",
                "[fe80::1%eth0]", "::ffff:10.1.2.3", "2001:db8::1", "2001:DB8:0:0:0:0:0:1",
        };

        for (size_t i = 0; i < N(ok); i++)
                if (!jit_addr_is_numeric(ok[i]))
                        fail_msg("\"%s\" should be numeric", ok[i]);
}

static void t_overlong_address_matches_nothing(void **state)
{
        char s[JIT_CIDR_TEXT_MAX + 2];
        struct jit_cidr any6 = cidr_ok("::/0");

        /* A legal literal whose zone pads it past the cap. */
        snprintf(s, sizeof(s), "[0000:0000:0000:0000:0000:0000:0000:0001%%eth0]");
        assert_true(jit_cidr_contains(&any6, s));
        memset(s, '0', sizeof(s) - 1);
        s[sizeof(s) - 1] = '\0';
        memcpy(s, "::", 2);
        assert_false(jit_addr_is_numeric(s));
}

static void t_invalid_struct_matches_nothing(void **state)
{
        struct jit_cidr c = cidr_ok("10.0.0.0/8");

        assert_false(jit_cidr_contains(NULL, "10.1.2.3"));
        c.family = 0;
        assert_false(jit_cidr_contains(&c, "10.1.2.3"));
        c = cidr_ok("10.0.0.0/8");
        c.prefix = 33;
        assert_false(jit_cidr_contains(&c, "10.1.2.3"));
        c = cidr_ok("10.0.0.0/8");
        c.addr[3] = 1;                  /* a host bit: not what parse makes */
        assert_false(jit_cidr_contains(&c, "10.0.0.1"));
}

static void assert_formats(const char *in, const char *want)
{
        struct jit_cidr c = cidr_ok(in), back;
        char buf[JIT_CIDR_FORMAT_MAX];

        assert_int_equal(jit_cidr_format(buf, sizeof(buf), &c), 0);
        assert_string_equal(buf, want);
        assert_int_equal(jit_cidr_parse(buf, &back), 0);
        assert_memory_equal(&back, &c, sizeof(c));
}

static void t_format_is_canonical_and_parses_back(void **state)
{
        assert_formats("10.0.0.0/8", "10.0.0.0/8");
        assert_formats("192.168.1.7", "192.168.1.7/32");
        assert_formats("0.0.0.0/0", "0.0.0.0/0");
        assert_formats("2001:DB8:0:0::/32", "2001:db8::/32");
        assert_formats("::1", "::1/128");
        assert_formats("fe80::/10", "fe80::/10");
        assert_formats("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104");
        assert_formats("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

static void t_format_refuses_short_buffer_and_bad_struct(void **state)
{
        struct jit_cidr c = cidr_ok("10.0.0.0/8");
        char buf[16];

        assert_int_equal(jit_cidr_format(buf, 10, &c), -ENOBUFS);      /* needs 11 */
        assert_int_equal(jit_cidr_format(buf, 11, &c), 0);
        assert_string_equal(buf, "10.0.0.0/8");
        c.prefix = 7;
        c.addr[0] = 11;
        assert_int_equal(jit_cidr_format(buf, sizeof(buf), &c), -EINVAL);
        c.family = AF_UNIX;
        assert_int_equal(jit_cidr_format(buf, sizeof(buf), &c), -EINVAL);
        assert_int_equal(jit_cidr_format(buf, sizeof(buf), NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_parse_blocks_and_single_hosts),
                cmocka_unit_test(t_host_bits_beyond_the_prefix_are_refused),
                cmocka_unit_test(t_prefix_out_of_range_or_malformed_is_refused),
                cmocka_unit_test(t_junk_spaces_and_decorations_are_refused),
                cmocka_unit_test(t_longest_literal_parses_and_overlong_text_is_refused),
                cmocka_unit_test(t_contains_ipv4),
                cmocka_unit_test(t_contains_ipv6),
                cmocka_unit_test(t_families_do_not_mix_except_ipv4_mapped),
                cmocka_unit_test(t_ipv4_mapped_matches_ipv4_blocks),
                cmocka_unit_test(t_ipv4_is_its_mapped_form_in_ipv6_blocks),
                cmocka_unit_test(t_zone_suffix_is_ignored),
                cmocka_unit_test(t_malformed_zones_are_not_numeric),
                cmocka_unit_test(t_brackets_are_for_ipv6_only_and_must_pair),
                cmocka_unit_test(t_host_names_and_junk_match_nothing),
                cmocka_unit_test(t_numeric_addresses_are_recognised),
                cmocka_unit_test(t_overlong_address_matches_nothing),
                cmocka_unit_test(t_invalid_struct_matches_nothing),
                cmocka_unit_test(t_format_is_canonical_and_parses_back),
                cmocka_unit_test(t_format_refuses_short_buffer_and_bad_struct),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
