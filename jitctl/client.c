/* What the verbs share: calling the service, exit codes, printing. */
#include "jitctl.h"
#include "duration.h"
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__attribute__((format(printf, 2, 0)))
static int vfail(int code, const char *fmt, va_list ap)
{
        fputs("jitctl: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        return code;
}

int jit_usage_error(const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vfail(JIT_EXIT_USAGE, fmt, ap);
        va_end(ap);
        return r;
}

int jit_fail(int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vfail(code, fmt, ap);
        va_end(ap);
        return r;
}

int jit_call(cJSON *req, int timeout_ms, cJSON **ret)
{
        int fd, r;

        fd = jit_proto_connect(jit_g.socket);
        if (fd < 0) {
                cJSON_Delete(req);
                return jit_fail(JIT_EXIT_UNAVAILABLE, "cannot reach the jit service at %s: %s",
                                jit_g.socket, strerror(-fd));
        }
        r = jit_proto_send(fd, req, 10000);
        cJSON_Delete(req);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_ANSWER, timeout_ms, ret);
        close(fd);
        if (r < 0)
                return jit_fail(JIT_EXIT_UNAVAILABLE, "no answer from the jit service: %s", strerror(-r));
        return 0;
}

const char *jit_json_str(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsString(it) ? it->valuestring : NULL;
}

uint64_t jit_json_u64(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsNumber(it) && it->valuedouble > 0 ? (uint64_t)it->valuedouble : 0;
}

int jit_exit_for(const cJSON *ans)
{
        static const struct { const char *code; int exit; } map[] = {
                { "denied", JIT_EXIT_DENIED }, { "pending", JIT_EXIT_PENDING },
                { "forbidden", JIT_EXIT_FORBIDDEN }, { "notfound", JIT_EXIT_NOTFOUND },
                { "invalid", JIT_EXIT_USAGE }, { "conflict", JIT_EXIT_CONFLICT },
                { "notdue", JIT_EXIT_CONFLICT }, { "policy", JIT_EXIT_CONFIG },
        };
        const char *d = jit_json_str(ans, "decision"), *code = jit_json_str(ans, "code");

        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))) {
                for (size_t i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
                        if (strcmp(code, map[i].code) == 0)
                                return map[i].exit;
                return JIT_EXIT_ERROR;
        }
        if (!d || strcmp(d, "allow") == 0)
                return JIT_EXIT_OK;
        if (strcmp(d, "pending") == 0)
                return JIT_EXIT_PENDING;
        return JIT_EXIT_DENIED;
}

/* Never send control characters from records to a terminal. */
static void put_safe(FILE *f, const char *s)
{
        for (; s && *s; s++)
                fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

int jit_print_outcome(const cJSON *ans)
{
        return jit_print_outcome_as(ans, jit_exit_for(ans));
}

int jit_print_outcome_as(const cJSON *ans, int code)
{
        if (jit_g.json) {
                char *t = cJSON_Print(ans);

                if (t)
                        puts(t);
                free(t);
                return code;
        }
        if (jit_json_str(ans, "message") || jit_json_str(ans, "status")) {
                put_safe(code == JIT_EXIT_OK || code == JIT_EXIT_PENDING ? stdout : stderr,
                         jit_json_str(ans, "message") ? jit_json_str(ans, "message") : jit_json_str(ans, "status"));
                fputc('\n', code == JIT_EXIT_OK || code == JIT_EXIT_PENDING ? stdout : stderr);
        } else if (jit_json_str(ans, "error")) {
                fputs("jitctl: ", stderr);
                put_safe(stderr, jit_json_str(ans, "error"));
                fputc('\n', stderr);
        }
        return code;
}

void jit_format_when(char *buf, size_t size, uint64_t when_us, uint64_t now_us)
{
        time_t t = (time_t)(when_us / 1000000);
        uint64_t d = when_us > now_us ? when_us - now_us : now_us - when_us;
        char rel[32], hm[16] = "?";
        struct tm tm;

        d = (d + 500000) / 1000000;
        if (d >= 86400)
                snprintf(rel, sizeof(rel), "%llud", (unsigned long long)(d / 86400));
        else if (d >= 3600)
                snprintf(rel, sizeof(rel), "%lluh%02llum", (unsigned long long)(d / 3600), (unsigned long long)(d % 3600 / 60));
        else if (d >= 60)
                snprintf(rel, sizeof(rel), "%llum", (unsigned long long)(d / 60));
        else
                snprintf(rel, sizeof(rel), "%llus", (unsigned long long)d);
        if (localtime_r(&t, &tm))
                strftime(hm, sizeof(hm), "%H:%M:%S", &tm);
        if (when_us > now_us)
                snprintf(buf, size, "%s (in %s)", hm, rel);
        else
                snprintf(buf, size, "%s (%s ago)", hm, rel);
}

int jit_parse_duration_arg(const char *s, uint64_t *ret)
{
        if (jit_duration_parse(s, ret) < 0)
                return jit_usage_error("bad duration \"%s\" (e.g. 90s, 15m, 1h30m)", s);
        return 0;
}
