/* netmatch.h — CIDR blocks and numeric remote addresses (policy "sources").
 *
 * Owns: the CIDR grammar of jit.conf and the forms of PAM_RHOST we accept
 * as a numeric address.
 * CIDR: an IPv4 dotted quad or an IPv6 literal as inet_pton reads it,
 * optionally "/<prefix>" (decimal, no sign, no leading zero, 0..32 or
 * 0..128); no prefix means a single host. No brackets, zones or spaces.
 * Address: the same literals, plus for IPv6 an optional zone "%eth0"
 * (1..15 of [A-Za-z0-9._-], ignored) and optional brackets "[::1]",
 * "[fe80::1%eth0]". An IPv4 literal takes neither.
 * Invariants: a parsed jit_cidr has no bit set beyond its prefix; an
 * IPv4 address and its IPv4-mapped IPv6 form (::ffff:a.b.c.d) are the same
 * host and match a CIDR when either form lies inside it (so "::/0" holds
 * every numeric address, "0.0.0.0/0" every IPv4 and IPv4-mapped one).
 * MUST: never resolve a name — anything that is not a numeric address
 * matches nothing; reject a CIDR with host bits set rather than guess
 * which block was meant; never depend on the locale.
 */
#ifndef JIT_NETMATCH_H
#define JIT_NETMATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest text accepted, for a CIDR and for an address (brackets and zone
 * included). Longer input is refused, never truncated. */
#define JIT_CIDR_TEXT_MAX 64
/* Buffer size that always holds jit_cidr_format's output. */
#define JIT_CIDR_FORMAT_MAX 50  /* INET6_ADDRSTRLEN (46) + "/128" */

struct jit_cidr {
        int family;                     /* AF_INET or AF_INET6 */
        unsigned char addr[16];         /* network order; IPv4 in the first 4,
                                           the rest zero after parse, else unread */
        unsigned prefix;                /* 0..32 or 0..128 */
};

/* "10.0.0.0/8", "192.168.1.7" (= /32), "::1/128", "fe80::/10",
 * "2001:db8::1" (= /128). Returns 0, or -EINVAL (also for host bits set
 * beyond the prefix). *ret is written only on success. */
int jit_cidr_parse(const char *s, struct jit_cidr *ret);

/* Canonical text ("10.0.0.0/8", "2001:db8::/32"; always with the prefix)
 * into buf. Returns 0, -EINVAL for a struct jit_cidr_parse could not have
 * produced, or -ENOBUFS. */
int jit_cidr_format(char *buf, size_t size, const struct jit_cidr *c);

/* Is the remote host addr (PAM_RHOST text) inside c? false for NULL, a
 * host name, or anything else that is not a numeric address. */
bool jit_cidr_contains(const struct jit_cidr *c, const char *addr);

/* Is addr a numeric IPv4/IPv6 address by the rules above? */
bool jit_addr_is_numeric(const char *addr);

#endif
