/* fuzz_notify — the policy's "notify" section, the outbox record, and the
 * bodies and terminal lines rendered from users' text (notify.h,
 * escape.h).
 *
 * Input: byte 0 picks the part (its value mod 3), the rest is its input:
 *  0  a policy (jit_config_parse). Accepted: every target has a valid
 *     name; slack/json targets exactly one of url/url_file, a url that
 *     jit_notify_url_check accepts (https, or http to loopback only when
 *     allowed, no userinfo), absolute key_file, no argv, no proxy with
 *     allow_http_loopback; command targets an absolute argv[0] and none of
 *     the http keys; timeouts 1..60 s; retry base <= max_delay, 1..20
 *     attempts; every target a role names exists; event bits known. Then
 *     each target renders every event to a body within the limit that is
 *     valid JSON.
 *  1  an outbox record (jit_outbox_from_json): refused, or it round-trips
 *     through jit_outbox_to_json to the same record.
 *  2  users' texts, NUL-separated (reason, task, comment, user, host,
 *     rhost, tty, then the command's arguments): every body of every type
 *     and event is valid JSON within the limit, valid UTF-8, and holds no
 *     C0 control but in JSON's own escapes, no DEL, no C1, no BiDi
 *     control; the terminal line likewise, ending in "\r\n"; and
 *     jit_escape_text into buffers of every small size is NUL-terminated,
 *     valid UTF-8, free of them, and never longer than the buffer.
 */
#include "cleanup.h"
#include "config.h"
#include "escape.h"
#include "notify.h"
#include "strv.h"

#include <cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

/* Valid UTF-8 holding no C1 control, no BiDi control and no
 * line/paragraph separator; C0 and DEL: none (C0_NONE), only the newlines
 * a Slack text is made of (C0_NEWLINE), or any (C0_ANY: JSON escapes them
 * itself, so a body's strings are checked once parsed). */
enum { C0_NONE, C0_NEWLINE, C0_ANY };

static bool text_is_clean(const char *s, int c0)
{
        const unsigned char *p = (const unsigned char *)s;

        while (*p) {
                uint32_t cp;
                size_t n;

                if (p[0] < 0x80)
                        cp = p[0], n = 1;
                else if (p[0] >= 0xc2 && p[0] <= 0xdf)
                        cp = p[0] & 0x1f, n = 2;
                else if (p[0] >= 0xe0 && p[0] <= 0xef)
                        cp = p[0] & 0x0f, n = 3;
                else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                        cp = p[0] & 0x07, n = 4;
                else
                        return false;
                for (size_t i = 1; i < n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                if (c0 != C0_ANY && (cp < 0x20 || cp == 0x7f) && !(c0 == C0_NEWLINE && cp == '\n'))
                        return false;
                if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
                    (cp >= 0x2028 && cp <= 0x202e) || cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
                        return false;
                p += n;
        }
        return true;
}

/* Every string value in a parsed body is clean. */
static void check_strings(const cJSON *j)
{
        const cJSON *it;

        if (cJSON_IsString(j))
                CHECK(text_is_clean(j->valuestring, C0_NEWLINE));
        cJSON_ArrayForEach(it, j) {
                if (it->string)
                        CHECK(text_is_clean(it->string, C0_NONE));
                check_strings(it);
        }
}

static void check_body(const char *body, bool strict)
{
        cJSON *j;

        CHECK(body && strlen(body) <= JIT_NOTIFY_BODY_MAX);
        CHECK(text_is_clean(body, C0_ANY));
        for (const char *p = body; *p; p++)
                CHECK((unsigned char)*p >= 0x20);       /* JSON escapes C0 itself */
        j = cJSON_Parse(body);
        CHECK(j != NULL);
        if (strict)
                check_strings(j);
        cJSON_Delete(j);
}

static void render_all(const struct jit_notify_message *base, bool strict)
{
        for (int t = JIT_NOTIFY_SLACK; t <= JIT_NOTIFY_COMMAND; t++)
                for (int e = 0; e < _JIT_NOTIFY_EVENT_MAX; e++) {
                        struct jit_notify_message m = *base;
                        char *body = NULL;

                        m.event = (enum jit_notify_event)e;
                        CHECK(jit_notify_render((enum jit_notify_type)t, &m, &body) == 0);
                        check_body(body, strict);
                        free(body);
                }
}

static void fuzz_policy(const char *text, size_t len)
{
        struct jit_config *c = NULL;
        char **errors = NULL;
        int r = jit_config_parse(text, len, &c, &errors);
        static char *const appr[] = { "bob", "%sre", NULL };
        struct jit_notify_message m = { .host = "h", .request_id = "r-0123456789", .user = "u", .role = "r",
                                        .ttl = 60, .approvers = appr, .grant_id = "g-0123456789" };

        CHECK((r == 0) == (c != NULL));
        CHECK((r == 0) == (errors == NULL));
        jit_strv_free(errors);
        if (!c)
                return;
        CHECK(c->notify.retry_base >= 1 && c->notify.retry_base <= c->notify.retry_max_delay);
        CHECK(c->notify.retry_max_delay <= 86400 && c->notify.retry_max_age <= 7 * 86400);
        CHECK(c->notify.retry_max_attempts >= 1 && c->notify.retry_max_attempts <= 20);
        CHECK(c->notify.n_targets <= 64);
        for (size_t i = 0; i < c->notify.n_targets; i++) {
                const struct jit_notify_target *t = &c->notify.targets[i];

                CHECK(t->name && t->name[0] && strlen(t->name) <= JIT_NAME_MAX);
                CHECK(jit_config_find_target(c, t->name) == t);
                CHECK(t->timeout >= 1 && t->timeout <= JIT_NOTIFY_TIMEOUT_MAX);
                if (t->type == JIT_NOTIFY_COMMAND) {
                        CHECK(t->argv && t->argv[0] && t->argv[0][0] == '/');
                        CHECK(!t->url && !t->url_file && !t->key_file && !t->ca_file && !t->proxy);
                        CHECK(!t->allow_http_loopback);
                        continue;
                }
                CHECK(!t->argv);
                CHECK(!t->url != !t->url_file);
                CHECK(t->key_file && t->key_file[0] == '/');
                CHECK(!t->ca_file || t->ca_file[0] == '/');
                CHECK(!t->url_file || t->url_file[0] == '/');
                CHECK(!(t->proxy && t->allow_http_loopback));
                if (t->url) {
                        CHECK(jit_notify_url_check(t->url, t->allow_http_loopback, NULL) == 0);
                        CHECK(strncmp(t->url, "https://", 8) == 0 || t->allow_http_loopback);
                }
                m.event = JIT_NOTIFY_PENDING;
                render_all(&m, true);
        }
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct jit_role *role = &c->roles[i];

                CHECK((role->notify_events >> _JIT_NOTIFY_EVENT_MAX) == 0);
                for (size_t k = 0; role->notify_targets && role->notify_targets[k]; k++)
                        CHECK(jit_config_find_target(c, role->notify_targets[k]) != NULL);
        }
        jit_config_free(c);
}

static void fuzz_record(const char *text, size_t len)
{
        cJSON *j = cJSON_ParseWithLength(text, len), *j2;
        struct jit_outbox_record *r = NULL, *back = NULL;

        if (!j)
                return;
        if (jit_outbox_from_json(j, &r) < 0) {
                CHECK(r == NULL);
                cJSON_Delete(j);
                return;
        }
        j2 = jit_outbox_to_json(r);
        CHECK(j2 != NULL);
        CHECK(jit_outbox_from_json(j2, &back) == 0);
        CHECK(strcmp(back->id, r->id) == 0 && strcmp(back->target, r->target) == 0);
        CHECK(strcmp(back->body, r->body) == 0 && back->event == r->event);
        CHECK(back->created_us == r->created_us && back->next_us == r->next_us && back->attempts == r->attempts);
        CHECK(back->done == r->done && back->n_results == r->n_results);
        CHECK(strcmp(back->request_id, r->request_id) == 0 && strcmp(back->grant_id, r->grant_id) == 0);
        for (size_t i = 0; i < r->n_results; i++) {
                CHECK(back->results[i].attempt == r->results[i].attempt && back->results[i].ok == r->results[i].ok);
                CHECK(!back->results[i].error == !r->results[i].error);
        }
        jit_outbox_free(back);
        jit_outbox_free(r);
        cJSON_Delete(j);
        cJSON_Delete(j2);
}

static void fuzz_texts(const char *text, size_t len)
{
        char *copy = malloc(len + 1), *fields[8 + 16] = { 0 };
        char *argv[17] = { 0 };
        size_t n = 0, na = 0;
        struct jit_notify_message m;
        char line[400];

        if (!copy)
                return;
        memcpy(copy, text, len);
        copy[len] = '\0';
        for (size_t off = 0; off <= len && n < JIT_ELEMENTSOF(fields); off += strlen(copy + off) + 1)
                fields[n++] = copy + off;
        for (size_t i = 7; i < n && na < 16; i++)
                argv[na++] = fields[i];
        m = (struct jit_notify_message){
                .host = fields[4], .time_us = 1795316407000000ULL, .request_id = "r-0123456789", .kind = "request",
                .user = fields[3], .role = "ops", .group = "jit-ops", .ttl = 900, .reason = fields[0],
                .task = fields[1], .comment = fields[2], .command = na ? argv : NULL, .service = "sudo",
                .rhost = fields[5], .tty = fields[6], .risk = 10, .tier = "owner", .grant_id = "g-0123456789",
                .decided_by = fields[3], .expires_us = 1795317307000000ULL,
        };
        render_all(&m, true);
        jit_notify_terminal_line(line, sizeof(line), &m);
        CHECK(strlen(line) < sizeof(line) && strcmp(line + strlen(line) - 2, "\r\n") == 0);
        line[strlen(line) - 2] = '\0';
        CHECK(text_is_clean(line + 2, C0_NONE));
        for (size_t size = 1; size <= 40; size++) {
                char buf[41];

                memset(buf, 'Z', sizeof(buf));
                CHECK(jit_escape_text(buf, size, fields[0]) >= 0);
                CHECK(memchr(buf, '\0', size) != NULL);
                CHECK(buf[size] == 'Z');
                CHECK(text_is_clean(buf, C0_NONE));
        }
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0: fuzz_policy((const char *)data + 1, size - 1); break;
        case 1: fuzz_record((const char *)data + 1, size - 1); break;
        default: fuzz_texts((const char *)data + 1, size - 1); break;
        }
        return 0;
}
