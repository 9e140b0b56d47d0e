#include "notify.h"
#include "cleanup.h"
#include "duration.h"
#include "escape.h"
#include "strv.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small text helpers ------------------------------------------------ */

/* A growing string, capped: past the cap it stays cut (and says so). */
struct text {
        char *s;
        size_t len, cap;
        bool oom;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (t->oom)
                return;
        if (!t->s) {
                t->cap = 1024;
                t->s = malloc(t->cap);
                if (!t->s) {
                        t->oom = true;
                        return;
                }
                t->s[0] = '\0';
        }
        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        t->oom = true;
                        return;
                }
                if ((size_t)n < t->cap - t->len) {
                        t->len += (size_t)n;
                        return;
                }
                if (t->cap >= JIT_NOTIFY_BODY_MAX / 2) {
                        t->s[t->len] = '\0';    /* the rest does not fit: left out */
                        return;
                }
                char *ns = realloc(t->s, t->cap * 2);

                if (!ns) {
                        t->oom = true;
                        return;
                }
                t->s = ns;
                t->cap *= 2;
        }
}

/* Escaped user text in a caller's buffer ("" for NULL). */
static const char *esc(char *buf, size_t size, const char *s)
{
        (void)jit_escape_text(buf, size, s ? s : "");
        return buf;
}

/* The length of the UTF-8 sequence lead starts (escaped text is valid). */
static size_t utf8_len(unsigned char lead)
{
        return lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/* After a cut (snprintf into a full buffer): a UTF-8 character left
 * incomplete at the end goes. */
static void utf8_trim(char *s)
{
        size_t n = strlen(s), i = n;

        while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
                i--;
        if (i > 0 && (unsigned char)s[i - 1] >= 0xc0 && utf8_len((unsigned char)s[i - 1]) > n - i + 1)
                s[i - 1] = '\0';
}

/* Slack's mrkdwn: &, < and > are its control characters (mentions, links). */
static const char *slack_esc(char *buf, size_t size, const char *s)
{
        char tmp[2400];
        size_t off = 0;

        (void)jit_escape_text(tmp, sizeof(tmp), s ? s : "");
        /* tmp is valid UTF-8: copied a whole character at a time, so that
         * a cut never splits one */
        for (const char *p = tmp; *p; p += utf8_len((unsigned char)*p)) {
                const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
                size_t n = rep ? strlen(rep) : utf8_len((unsigned char)*p);

                if (off + n + 1 > size || (!rep && strnlen(p, n) < n))
                        break;
                memcpy(buf + off, rep ? rep : p, n);
                off += n;
        }
        buf[off] = '\0';
        return buf;
}

static void iso_time(char *buf, size_t size, uint64_t us)
{
        time_t t = (time_t)(us / 1000000);
        struct tm tm;

        if (!us || !gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "?");
}

static void command_text(char *buf, size_t size, char *const *argv)
{
        _cleanup_free_ char *joined = argv ? jit_strv_join(argv, " ") : NULL;

        (void)jit_escape_text(buf, size, joined ? joined : "");
}

/* "bob, members of sre" */
static void approvers_text(char *buf, size_t size, char *const *appr)
{
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; appr && appr[i] && off < size; i++) {
                char e[80];

                (void)jit_escape_text(e, sizeof(e), appr[i] + (appr[i][0] == '%'));
                off += (size_t)snprintf(buf + off, size - off, "%s%s%s", i ? ", " : "",
                                        appr[i][0] == '%' ? "members of " : "", e);
        }
        utf8_trim(buf);
}

/* ---- the one-line summary ---------------------------------------------- */

struct fields {
        char host[128], user[128], role[80], group[80], id[32], gid[32], ttl[32];
        char reason[JIT_NOTIFY_TEXT_MAX], task[JIT_NOTIFY_TEXT_MAX], comment[JIT_NOTIFY_TEXT_MAX];
        char by[128], ended_by[128], expires[32], time[32], command[JIT_NOTIFY_COMMAND_MAX];
        char service[80], rhost[300], tty[80], unit[300], approvers[512], last_reason[JIT_NOTIFY_TEXT_MAX];
};

static void fields_fill(struct fields *f, const struct jit_notify_message *m)
{
        size_t nr = jit_strv_length(m->reasons);

        esc(f->host, sizeof(f->host), m->host ? m->host : "?");
        esc(f->user, sizeof(f->user), m->user ? m->user : "?");
        esc(f->role, sizeof(f->role), m->role ? m->role : "?");
        esc(f->group, sizeof(f->group), m->group);
        esc(f->id, sizeof(f->id), m->request_id);
        esc(f->gid, sizeof(f->gid), m->grant_id);
        esc(f->reason, sizeof(f->reason), m->reason);
        esc(f->task, sizeof(f->task), m->task);
        esc(f->comment, sizeof(f->comment), m->comment);
        esc(f->by, sizeof(f->by), m->decided_by);
        esc(f->ended_by, sizeof(f->ended_by), m->ended_by);
        esc(f->service, sizeof(f->service), m->service);
        esc(f->rhost, sizeof(f->rhost), m->rhost);
        esc(f->tty, sizeof(f->tty), m->tty);
        esc(f->unit, sizeof(f->unit), m->unit);
        esc(f->last_reason, sizeof(f->last_reason), nr ? m->reasons[nr - 1] : NULL);
        command_text(f->command, sizeof(f->command), m->command);
        approvers_text(f->approvers, sizeof(f->approvers), m->approvers);
        iso_time(f->expires, sizeof(f->expires), m->expires_us);
        iso_time(f->time, sizeof(f->time), m->time_us);
        if (!m->ttl || jit_duration_format(f->ttl, sizeof(f->ttl), m->ttl) < 0)
                snprintf(f->ttl, sizeof(f->ttl), "?");
}

static void summary(char *buf, size_t size, const struct jit_notify_message *m, const struct fields *f)
{
        switch (m->event) {
        case JIT_NOTIFY_PENDING:
                snprintf(buf, size, "%s asks for role %s (%s) on %s: request %s, risk %u. Approve: jitctl approve %s",
                         f->user, f->role, f->ttl, f->host, f->id, m->risk, f->id);
                break;
        case JIT_NOTIFY_GRANTED:
                snprintf(buf, size, "%s holds role %s (group %s) on %s until %s, %s %s: grant %s",
                         f->user, f->role, f->group, f->host, f->expires,
                         strncmp(f->by, "template:", 9) == 0 ? "granted by template" : "approved by",
                         strncmp(f->by, "template:", 9) == 0 ? f->by + 9 : f->by, f->gid);
                break;
        case JIT_NOTIFY_DENIED:
                snprintf(buf, size, "request %s of %s for role %s on %s was denied by %s: %s", f->id, f->user, f->role,
                         f->host, f->by[0] ? f->by : "policy", f->comment[0] ? f->comment : f->last_reason);
                break;
        case JIT_NOTIFY_BREAK_GLASS:
                snprintf(buf, size, "BREAK-GLASS on %s: %s took role %s (grant %s) without an approver: \"%s\". "
                         "Review: jitctl review %s --comment TEXT", f->host, f->user, f->role, f->gid, f->reason, f->id);
                break;
        case JIT_NOTIFY_EXPIRED:
                snprintf(buf, size, "grant %s of %s for role %s on %s has expired: %s left group %s", f->gid, f->user,
                         f->role, f->host, f->user, f->group);
                break;
        default:
                snprintf(buf, size, "break-glass %s by %s for role %s on %s has ended (grant %s, %s) and needs a review: "
                         "jitctl review %s --comment TEXT", f->id, f->user, f->role, f->host, f->gid,
                         f->ended_by[0] ? f->ended_by : "ended", f->id);
                break;
        }
        utf8_trim(buf);
}

/* ---- bodies ---------------------------------------------------------- */

static void add_str(cJSON *o, const char *k, const char *v, bool *oom)
{
        if (v && v[0] && !cJSON_AddStringToObject(o, k, v))
                *oom = true;
}

static void add_num(cJSON *o, const char *k, double v, bool *oom)
{
        if (!cJSON_AddNumberToObject(o, k, v))
                *oom = true;
}

static cJSON *reasons_json(const struct jit_notify_message *m, bool *oom)
{
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && m->reasons && m->reasons[i] && i < 32; i++) {
                cJSON *o = cJSON_CreateObject();
                char id[80], txt[JIT_NOTIFY_TEXT_MAX];

                if (!o || !cJSON_AddItemToArray(a, o)) {
                        cJSON_Delete(o);
                        *oom = true;
                        break;
                }
                if (m->reason_ids && i < jit_strv_length(m->reason_ids))
                        add_str(o, "id", esc(id, sizeof(id), m->reason_ids[i]), oom);
                add_str(o, "text", esc(txt, sizeof(txt), m->reasons[i]), oom);
        }
        if (!a)
                *oom = true;
        return a;
}

static cJSON *request_json(const struct jit_notify_message *m, const struct fields *f, bool *oom)
{
        cJSON *r = cJSON_CreateObject(), *appr;
        char kind[32];

        if (!r) {
                *oom = true;
                return NULL;
        }
        add_str(r, "id", f->id, oom);
        add_str(r, "kind", esc(kind, sizeof(kind), m->kind), oom);
        add_str(r, "user", f->user, oom);
        add_str(r, "role", f->role, oom);
        add_str(r, "group", f->group, oom);
        if (m->ttl) {
                add_num(r, "ttl", (double)m->ttl, oom);
                add_str(r, "ttl_text", f->ttl, oom);
        }
        add_str(r, "reason", f->reason, oom);
        add_str(r, "task", f->task, oom);
        add_str(r, "command", f->command, oom);
        add_str(r, "service", f->service, oom);
        add_str(r, "rhost", f->rhost, oom);
        add_str(r, "tty", f->tty, oom);
        add_str(r, "unit", f->unit, oom);
        add_num(r, "risk", m->risk, oom);
        add_str(r, "tier", m->tier, oom);
        if (m->reasons && !cJSON_AddItemToObject(r, "reasons", reasons_json(m, oom)))
                *oom = true;
        appr = cJSON_CreateArray();
        for (size_t i = 0; appr && m->approvers && m->approvers[i]; i++) {
                char a[96], e[80];

                snprintf(a, sizeof(a), "%s%s", m->approvers[i][0] == '%' ? "members of " : "",
                         esc(e, sizeof(e), m->approvers[i] + (m->approvers[i][0] == '%')));
                if (!cJSON_AddItemToArray(appr, cJSON_CreateString(a)))
                        *oom = true;
        }
        if (!appr || !cJSON_AddItemToObject(r, "approvers", appr))
                *oom = true;
        add_str(r, "decided_by", f->by, oom);
        add_str(r, "comment", f->comment, oom);
        return r;
}

static char *render_json(const struct jit_notify_message *m, const struct fields *f, const char *sum)
{
        cJSON *o = cJSON_CreateObject(), *g;
        bool oom = !o;
        char line[96];
        char *out = NULL;

        if (oom)
                return NULL;
        add_num(o, "version", 1, &oom);
        add_str(o, "event", jit_notify_event_to_string(m->event), &oom);
        add_str(o, "host", f->host, &oom);
        add_str(o, "time", f->time, &oom);
        add_str(o, "summary", sum, &oom);
        if (m->request_id && !cJSON_AddItemToObject(o, "request", request_json(m, f, &oom)))
                oom = true;
        if (m->grant_id) {
                g = cJSON_AddObjectToObject(o, "grant");
                if (!g)
                        oom = true;
                else {
                        add_str(g, "id", f->gid, &oom);
                        if (m->expires_us)
                                add_str(g, "expires", f->expires, &oom);
                        add_str(g, "ended_by", f->ended_by, &oom);
                }
        }
        if (m->event == JIT_NOTIFY_PENDING && m->request_id) {
                snprintf(line, sizeof(line), "jitctl approve %s", f->id);
                add_str(o, "approve", line, &oom);
                snprintf(line, sizeof(line), "jitctl deny %s --reason TEXT", f->id);
                add_str(o, "deny", line, &oom);
        }
        if ((m->event == JIT_NOTIFY_BREAK_GLASS || m->event == JIT_NOTIFY_REVIEW) && m->request_id) {
                snprintf(line, sizeof(line), "jitctl review %s --comment TEXT", f->id);
                add_str(o, "review", line, &oom);
        }
        if (!oom)
                out = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return out;
}

static char *render_slack(const struct jit_notify_message *m, const struct fields *f, const char *sum)
{
        struct text t = { 0 };
        char a[2400], b[2400], c[600], d[600];
        cJSON *o;
        char *out = NULL;

        text_add(&t, "*jit on %s*: %s", slack_esc(a, sizeof(a), m->host ? m->host : "?"), slack_esc(b, sizeof(b), sum));
        if (m->reason && m->reason[0])
                text_add(&t, "\n>Reason: %s", slack_esc(a, sizeof(a), m->reason));
        if (m->task && m->task[0])
                text_add(&t, "\n>Task: %s", slack_esc(a, sizeof(a), m->task));
        if (m->command)
                text_add(&t, "\n>Command: %s", slack_esc(a, sizeof(a), f->command));
        if (m->service)
                text_add(&t, "\n>Source: %s%s%s%s%s%s%s", slack_esc(a, sizeof(a), m->service),
                         m->rhost ? " from " : "", m->rhost ? slack_esc(b, sizeof(b), m->rhost) : "",
                         m->tty ? " on " : "", m->tty ? slack_esc(c, sizeof(c), m->tty) : "",
                         m->unit ? ", unit " : "", m->unit ? slack_esc(d, sizeof(d), m->unit) : "");
        if (m->event == JIT_NOTIFY_PENDING) {
                text_add(&t, "\n>Risk: %u, tier %s", m->risk, slack_esc(a, sizeof(a), m->tier ? m->tier : "?"));
                for (size_t i = 0, n = 0; m->reason_ids && m->reason_ids[i]; i++)
                        if (strncmp(m->reason_ids[i], "risk.", 5) == 0)
                                text_add(&t, "%s%s", n++ ? ", " : ": ", slack_esc(a, sizeof(a), m->reason_ids[i] + 5));
                if (f->approvers[0])
                        text_add(&t, "\n>Approvers: %s", slack_esc(a, sizeof(a), f->approvers));
                text_add(&t, "\n`jitctl approve %s`", f->id);
        }
        if ((m->event == JIT_NOTIFY_DENIED || m->event == JIT_NOTIFY_GRANTED) && m->comment && m->comment[0])
                text_add(&t, "\n>Comment: %s", slack_esc(a, sizeof(a), m->comment));
        if (m->event == JIT_NOTIFY_BREAK_GLASS || m->event == JIT_NOTIFY_REVIEW)
                text_add(&t, "\n`jitctl review %s --comment TEXT`", f->id);
        o = t.oom ? NULL : cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "text", t.s))
                out = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        free(t.s);
        return out;
}

int jit_notify_render(enum jit_notify_type type, const struct jit_notify_message *m, char **ret_body)
{
        _cleanup_free_ struct fields *f = calloc(1, sizeof(*f));
        char sum[2048];
        char *body;

        if (!f)
                return -ENOMEM;
        fields_fill(f, m);
        summary(sum, sizeof(sum), m, f);
        body = type == JIT_NOTIFY_SLACK ? render_slack(m, f, sum) : render_json(m, f, sum);
        if (!body)
                return -ENOMEM;
        if (strlen(body) > JIT_NOTIFY_BODY_MAX) {
                free(body);
                return -E2BIG;
        }
        *ret_body = body;
        return 0;
}

void jit_notify_terminal_line(char *buf, size_t size, const struct jit_notify_message *m)
{
        _cleanup_free_ struct fields *f = calloc(1, sizeof(*f));
        char reason[160];
        size_t n;

        if (!f || size < 8) {
                if (size)
                        buf[0] = '\0';
                return;
        }
        fields_fill(f, m);
        (void)jit_escape_text(reason, sizeof(reason), m->reason ? m->reason : m->task ? m->task : "");
        snprintf(buf, size - 2, "\r\njit: %s asks for role %s (%s) on %s%s%s%s. Approve: jitctl approve %s",
                 f->user, f->role, f->ttl, f->host, reason[0] ? ": \"" : "", reason, reason[0] ? "\"" : "", f->id);
        utf8_trim(buf);
        n = strlen(buf);                        /* at most size - 3: room for the line end */
        snprintf(buf + n, size - n, "\r\n");
}

/* ---- signing and retries ----------------------------------------------- */

int jit_notify_sign(char out[JIT_NOTIFY_SIG_MAX], const unsigned char *key, size_t key_len, uint64_t time_s,
                    const char *body, size_t body_len)
{
        crypto_auth_hmacsha256_state st;
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        char t[24], hex[crypto_auth_hmacsha256_BYTES * 2 + 1];

        if (!key || key_len < JIT_NOTIFY_KEY_MIN || key_len > JIT_NOTIFY_KEY_MAX)
                return -EINVAL;
        snprintf(t, sizeof(t), "%llu", (unsigned long long)time_s);
        crypto_auth_hmacsha256_init(&st, key, key_len);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_memzero(&st, sizeof(st));
        sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
        snprintf(out, JIT_NOTIFY_SIG_MAX, "t=%s,v1=%s", t, hex);
        return 0;
}

uint64_t jit_notify_backoff_us(uint32_t failed, uint64_t base_s, uint64_t max_delay_s, uint32_t rnd)
{
        uint64_t delay = base_s ? base_s : 1, us;

        for (uint32_t i = 1; i < failed && delay < max_delay_s; i++)
                delay *= 2;
        if (delay > max_delay_s)
                delay = max_delay_s;
        us = delay * 1000000ULL;
        us = us / 2 + ((us / 2) * (uint64_t)rnd >> 32);
        return us < 1000000 ? 1000000 : us;
}

/* ---- outbox records ---------------------------------------------------- */

static bool is_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > JIT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

cJSON *jit_outbox_to_json(const struct jit_outbox_record *r)
{
        cJSON *o = cJSON_CreateObject(), *res;
        bool oom = !o;

        if (oom)
                return NULL;
        add_str(o, "id", r->id, &oom);
        add_str(o, "target", r->target, &oom);
        add_str(o, "event", jit_notify_event_to_string(r->event), &oom);
        add_str(o, "request_id", r->request_id, &oom);
        add_str(o, "grant_id", r->grant_id, &oom);
        add_num(o, "created_us", (double)r->created_us, &oom);
        add_num(o, "next_us", (double)r->next_us, &oom);
        add_num(o, "attempts", r->attempts, &oom);
        if (!cJSON_AddBoolToObject(o, "done", r->done))
                oom = true;
        res = cJSON_AddArrayToObject(o, "results");
        for (size_t i = 0; res && i < r->n_results; i++) {
                const struct jit_outbox_result *x = &r->results[i];
                cJSON *e = cJSON_CreateObject();

                if (!e || !cJSON_AddItemToArray(res, e)) {
                        cJSON_Delete(e);
                        oom = true;
                        break;
                }
                add_num(e, "attempt", x->attempt, &oom);
                if (!cJSON_AddBoolToObject(e, "ok", x->ok) || !cJSON_AddBoolToObject(e, "final", x->final))
                        oom = true;
                add_num(e, "http_status", x->http_status, &oom);
                add_str(e, "error", x->error, &oom);
                add_num(e, "at_us", (double)x->at_us, &oom);
        }
        add_str(o, "body", r->body, &oom);
        if (!res || oom) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static bool only_keys(const cJSON *o, const char *const *keys)
{
        const cJSON *it;

        cJSON_ArrayForEach(it, o) {
                bool ok = false;

                for (size_t i = 0; keys[i]; i++)
                        ok |= strcmp(it->string, keys[i]) == 0;
                if (!ok)
                        return false;
        }
        return true;
}

static int get_u64(const cJSON *o, const char *k, uint64_t max, uint64_t *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > (double)max ||
            it->valuedouble != (double)(uint64_t)it->valuedouble)
                return -EBADMSG;
        *ret = (uint64_t)it->valuedouble;
        return 0;
}

static int get_id(const cJSON *o, const char *k, char prefix, bool required, char ret[JIT_ID_LEN + 1])
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

        ret[0] = '\0';
        if (!it)
                return required ? -EBADMSG : 0;
        if (!cJSON_IsString(it) || !jit_id_is_valid(it->valuestring, prefix))
                return -EBADMSG;
        memcpy(ret, it->valuestring, JIT_ID_LEN + 1);
        return 0;
}

static int result_from_json(const cJSON *e, struct jit_outbox_result *x)
{
        static const char *const keys[] = { "attempt", "ok", "final", "http_status", "error", "at_us", NULL };
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(e, "ok"), *fin = cJSON_GetObjectItemCaseSensitive(e, "final");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(e, "error");
        uint64_t v;

        if (!cJSON_IsObject(e) || !only_keys(e, keys) || !cJSON_IsBool(ok) || !cJSON_IsBool(fin) ||
            (err && (!cJSON_IsString(err) || strlen(err->valuestring) > JIT_OUTBOX_ERROR_MAX)))
                return -EBADMSG;
        x->ok = cJSON_IsTrue(ok);
        x->final = cJSON_IsTrue(fin);
        if (get_u64(e, "attempt", 1000, &v) < 0)
                return -EBADMSG;
        x->attempt = (uint32_t)v;
        if (get_u64(e, "http_status", 999, &v) < 0)
                return -EBADMSG;
        x->http_status = (uint32_t)v;
        if (get_u64(e, "at_us", UINT64_C(1) << 53, &x->at_us) < 0)
                return -EBADMSG;
        if (err && !(x->error = strdup(err->valuestring)))
                return -ENOMEM;
        return 0;
}

int jit_outbox_from_json(const cJSON *j, struct jit_outbox_record **ret)
{
        static const char *const keys[] = {
                "id", "target", "event", "request_id", "grant_id", "created_us", "next_us", "attempts", "done",
                "results", "body", NULL,
        };
        _cleanup_outbox_free_ struct jit_outbox_record *r = NULL;
        const cJSON *target = cJSON_GetObjectItemCaseSensitive(j, "target");
        const cJSON *event = cJSON_GetObjectItemCaseSensitive(j, "event");
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
        const cJSON *done = cJSON_GetObjectItemCaseSensitive(j, "done");
        const cJSON *results = cJSON_GetObjectItemCaseSensitive(j, "results"), *e;
        uint64_t v;
        int ev;

        if (!cJSON_IsObject(j) || !only_keys(j, keys) || !cJSON_IsString(target) || !is_name(target->valuestring) ||
            !cJSON_IsString(event) || (ev = jit_notify_event_from_string(event->valuestring)) < 0 ||
            !cJSON_IsString(body) || strlen(body->valuestring) > JIT_NOTIFY_BODY_MAX || !cJSON_IsBool(done) ||
            !cJSON_IsArray(results) || cJSON_GetArraySize(results) > JIT_OUTBOX_RESULTS_MAX)
                return -EBADMSG;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        if (get_id(j, "id", 'n', true, r->id) < 0 || get_id(j, "request_id", 'r', false, r->request_id) < 0 ||
            get_id(j, "grant_id", 'g', false, r->grant_id) < 0 ||
            get_u64(j, "created_us", UINT64_C(1) << 53, &r->created_us) < 0 ||
            get_u64(j, "next_us", UINT64_C(1) << 53, &r->next_us) < 0 || get_u64(j, "attempts", 1000, &v) < 0)
                return -EBADMSG;
        r->attempts = (uint32_t)v;
        r->event = (enum jit_notify_event)ev;
        r->done = cJSON_IsTrue(done);
        r->target = strdup(target->valuestring);
        r->body = strdup(body->valuestring);
        if (!r->target || !r->body)
                return -ENOMEM;
        cJSON_ArrayForEach(e, results) {
                int x = result_from_json(e, &r->results[r->n_results]);

                r->n_results++;
                if (x < 0)
                        return x;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int jit_outbox_add_result(struct jit_outbox_record *r, const struct jit_outbox_result *res)
{
        struct jit_outbox_result x = *res;

        x.error = res->error ? strndup(res->error, JIT_OUTBOX_ERROR_MAX) : NULL;
        if (res->error && !x.error)
                return -ENOMEM;
        if (r->n_results == JIT_OUTBOX_RESULTS_MAX) {
                free(r->results[0].error);
                memmove(&r->results[0], &r->results[1], (JIT_OUTBOX_RESULTS_MAX - 1) * sizeof(r->results[0]));
                r->n_results--;
        }
        r->results[r->n_results++] = x;
        return 0;
}

void jit_outbox_clear_results(struct jit_outbox_record *r)
{
        for (size_t i = 0; i < r->n_results; i++)
                free(r->results[i].error);
        memset(r->results, 0, sizeof(r->results));
        r->n_results = 0;
}

void jit_outbox_free(struct jit_outbox_record *r)
{
        if (!r)
                return;
        jit_outbox_clear_results(r);
        free(r->target);
        free(r->body);
        free(r);
}
