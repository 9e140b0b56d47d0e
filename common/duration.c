#include "duration.h"

#include <errno.h>
#include <stdio.h>

static int unit_seconds(char c, uint64_t *ret)
{
        switch (c) {
        case 'd': *ret = 86400; return 4;
        case 'h': *ret = 3600; return 3;
        case 'm': *ret = 60; return 2;
        case 's': *ret = 1; return 1;
        default: return -EINVAL;
        }
}

int jit_duration_parse(const char *s, uint64_t *ret_sec)
{
        uint64_t total = 0;
        int last_rank = 5;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        while (*p) {
                uint64_t n = 0, mult = 1;
                int digits = 0, rank;

                while (*p >= '0' && *p <= '9') {
                        if (n > (UINT64_MAX - 9) / 10)
                                return -EINVAL;
                        n = n * 10 + (uint64_t)(*p - '0');
                        p++;
                        if (++digits > 12)
                                return -EINVAL;
                }
                if (digits == 0)
                        return -EINVAL;
                if (*p == '\0') {
                        if (p - s != digits)      /* "1h30": unit missing */
                                return -EINVAL;
                        rank = 0;
                } else {
                        rank = unit_seconds(*p, &mult);
                        if (rank < 0 || rank >= last_rank)
                                return -EINVAL;
                        p++;
                }
                last_rank = rank;
                total += n * mult;
                if (total > JIT_DURATION_MAX)
                        return -EINVAL;
        }
        if (total == 0)
                return -EINVAL;
        *ret_sec = total;
        return 0;
}

int jit_duration_format(char *buf, size_t size, uint64_t sec)
{
        static const struct { char c; uint64_t s; } u[] = {
                { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
        };
        size_t off = 0;

        if (size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        if (sec == 0) {
                if (size < 3)
                        return -ENOBUFS;
                buf[0] = '0'; buf[1] = 's'; buf[2] = '\0';
                return 0;
        }
        for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
                uint64_t n = sec / u[i].s;
                int w;

                if (n == 0)
                        continue;
                sec -= n * u[i].s;
                w = snprintf(buf + off, size - off, "%llu%c", (unsigned long long)n, u[i].c);
                if (w < 0 || (size_t)w >= size - off)
                        return -ENOBUFS;
                off += (size_t)w;
        }
        return 0;
}
