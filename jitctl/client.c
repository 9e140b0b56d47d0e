/* What the verbs share: calling the service, exit codes, printing. */
#include "jitctl.h"
#include "duration.h"
#include "escape.h"
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

void jit_put_text(FILE *f, const char *s)
{
        char buf[JIT_TEXT_SHOWN_MAX];

        (void)jit_escape_text(buf, sizeof(buf), s);
        fputs(buf, f);
}

/* JSON as cJSON prints it, with what it leaves raw in strings written as
 * \u escapes instead: DEL, C1 and BiDi controls and the other characters
 * escape.h shows escaped (the same JSON to a parser, inert on a terminal),
 * and bytes that are not UTF-8 (which JSON cannot hold) as U+FFFD. */
static void put_json(FILE *f, const char *t)
{
        const unsigned char *p = (const unsigned char *)t;

        while (*p) {
                char one[5] = { 0 }, shown[16];
                size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;

                if (*p == 0x7f) {
                        fputs("\\u007f", f);
                        p++;
                        continue;
                }
                if (n == 1) {
                        fputc(*p++, f);
                        continue;
                }
                for (size_t i = 0; i < n && p[i]; i++)
                        one[i] = (char)p[i];
                (void)jit_escape_text(shown, sizeof(shown), one);
                if (strcmp(shown, one) == 0) {
                        fputs(one, f);
                        p += n;
                } else if (strncmp(shown, "\\u{", 3) == 0) {
                        fprintf(f, "\\u%04lx", strtoul(shown + 3, NULL, 16));
                        p += n;
                } else {
                        fputs("\\ufffd", f);    /* not UTF-8: one byte at a time */
                        p++;
                }
        }
}

void jit_print_json(const cJSON *j)
{
        char *t = cJSON_Print(j);

        if (t) {
                put_json(stdout, t);
                fputc('\n', stdout);
        }
        free(t);
}

int jit_print_outcome(const cJSON *ans)
{
        return jit_print_outcome_as(ans, jit_exit_for(ans));
}

int jit_print_outcome_as(const cJSON *ans, int code)
{
        if (jit_g.json) {
                jit_print_json(ans);
                return code;
        }
        if (jit_json_str(ans, "message") || jit_json_str(ans, "status")) {
                jit_put_text(code == JIT_EXIT_OK || code == JIT_EXIT_PENDING ? stdout : stderr,
                             jit_json_str(ans, "message") ? jit_json_str(ans, "message") : jit_json_str(ans, "status"));
                fputc('\n', code == JIT_EXIT_OK || code == JIT_EXIT_PENDING ? stdout : stderr);
        } else if (jit_json_str(ans, "error")) {
                fputs("jitctl: ", stderr);
                jit_put_text(stderr, jit_json_str(ans, "error"));
                fputc('\n', stderr);
        }
        return code;
}

/* A day or more away, the date too: "2026-11-24 09:00 (in 1d)". */
void jit_format_when(char *buf, size_t size, uint64_t when_us, uint64_t now_us)
{
        time_t t = (time_t)(when_us / 1000000);
        uint64_t d = when_us > now_us ? when_us - now_us : now_us - when_us;
        char rel[32], hm[32] = "?";
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
                strftime(hm, sizeof(hm), d >= 86400 ? "%Y-%m-%d %H:%M" : "%H:%M:%S", &tm);
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

/* NO_COLOR (https://no-color.org) with any value, even empty, turns
 * colour off; so do TERM=dumb, no TERM, and a stdout that is not a
 * terminal. */
bool jit_colour_is_on(void)
{
        static int on = -1;

        if (on < 0) {
                const char *term = secure_getenv("TERM");

                on = isatty(STDOUT_FILENO) && !secure_getenv("NO_COLOR") && term && *term &&
                     strcmp(term, "dumb") != 0;
        }
        return on;
}

/* Modest: pending yellow, active and approved green, denied and revoked
 * red; the states that just ended stay plain. */
const char *jit_state_colour(const char *state)
{
        static const struct { const char *state, *sgr; } map[] = {
                { "pending", "\033[33m" }, { "active", "\033[32m" }, { "approved", "\033[32m" },
                { "denied", "\033[31m" }, { "revoked", "\033[31m" },
        };

        for (size_t i = 0; state && jit_colour_is_on() && i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(state, map[i].state) == 0)
                        return map[i].sgr;
        return NULL;
}

/* Columns on a terminal count characters, not bytes: the escaped text is
 * UTF-8, so every byte that does not continue a character starts one. */
static size_t shown_width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                w += ((unsigned char)*s & 0xc0) != 0x80;
        return w;
}

int jit_table_add(struct jit_table *t, const char *const *row)
{
        char **cells = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));

        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        for (size_t c = 0; c < t->n_cols; c++) {
                char **cell = &t->cells[t->n_rows * t->n_cols + c];

                *cell = jit_escape_dup(row[c] ? row[c] : "-", t->max_cell ? t->max_cell : JIT_TEXT_SHOWN_MAX - 1);
                if (!*cell) {
                        while (c-- > 0)
                                free(t->cells[t->n_rows * t->n_cols + c]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

static void table_cell(const char *text, size_t width, bool last, const char *sgr)
{
        if (sgr)
                printf("%s%s\033[0m", sgr, text);
        else
                fputs(text, stdout);
        if (last)
                putchar('\n');
        else
                printf("%*s", (int)(width - shown_width(text) + 2), "");
}

void jit_table_print(const struct jit_table *t)
{
        size_t width[JIT_TABLE_MAX_COLS] = { 0 };

        if (t->n_rows == 0 || t->n_cols > JIT_TABLE_MAX_COLS)
                return;
        for (size_t c = 0; c < t->n_cols; c++) {
                width[c] = strlen(t->head[c]);
                for (size_t r = 0; r < t->n_rows; r++)
                        if (shown_width(t->cells[r * t->n_cols + c]) > width[c])
                                width[c] = shown_width(t->cells[r * t->n_cols + c]);
        }
        for (size_t c = 0; c < t->n_cols; c++)
                table_cell(t->head[c], width[c], c + 1 == t->n_cols, NULL);
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c < t->n_cols; c++) {
                        const char *cell = t->cells[r * t->n_cols + c];

                        table_cell(cell, width[c], c + 1 == t->n_cols,
                                   (int)c == t->state_col ? jit_state_colour(cell) : NULL);
                }
}

void jit_table_free(struct jit_table *t)
{
        for (size_t i = 0; t && t->cells && i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        if (t)
                free(t->cells);
}
