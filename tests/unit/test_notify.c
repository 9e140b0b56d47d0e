/* test_notify.c — notification bodies, signatures, retries and outbox
 * records (notify.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "notify.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVIL "deploy \x1b[31mred\x1b[0m \xe2\x80\xae" "evil <!channel> & <https://x.example|click>"
#define EVIL_ESCAPED "deploy \\x1b[31mred\\x1b[0m \\u{202E}evil <!channel> & <https://x.example|click>"

static char *const command[] = { "/usr/bin/systemctl", "restart", "nginx\x1b]0;x\x07", NULL };
static char *const reason_ids[] = { "escalate.owner", "risk.off_hours", "risk.unknown_source", NULL };
static char *const reasons[] = { "needs an approver", "outside working hours", "from an unknown source", NULL };
static char *const approvers[] = { "bob", "%sre", NULL };

static struct jit_notify_message pending_message(void)
{
        return (struct jit_notify_message){
                .event = JIT_NOTIFY_PENDING, .host = "web1", .time_us = 1795316407000000ULL,
                .request_id = "r-abcdefghjk", .kind = "request", .user = "alice", .role = "ops", .group = "jit-ops",
                .ttl = 900, .reason = EVIL, .command = command, .service = "sudo", .rhost = "10.1.2.3",
                .tty = "pts/3", .risk = 60, .tier = "owner", .reason_ids = reason_ids, .reasons = reasons,
                .approvers = approvers,
        };
}

static cJSON *render_json(const struct jit_notify_message *m, enum jit_notify_type t, char **ret_body)
{
        char *body = NULL;
        cJSON *j;

        assert_int_equal(jit_notify_render(t, m, &body), 0);
        assert_non_null(body);
        j = cJSON_Parse(body);
        assert_non_null(j);
        if (ret_body)
                *ret_body = body;
        else
                free(body);
        return j;
}

static const char *str(const cJSON *o, const char *path1, const char *path2)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, path1);

        if (path2)
                it = cJSON_GetObjectItemCaseSensitive(it, path2);
        return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void assert_no_raw_controls(const char *body)
{
        assert_null(strchr(body, 0x1b));
        assert_null(strchr(body, 0x07));
        assert_null(strstr(body, "\xe2\x80\xae"));
}

static void t_pending_json_has_what_an_approver_needs(void **state)
{
        struct jit_notify_message m = pending_message();
        char *body;
        cJSON *j = render_json(&m, JIT_NOTIFY_JSON, &body), *rs;

        assert_no_raw_controls(body);
        assert_string_equal(str(j, "event", NULL), "pending");
        assert_string_equal(str(j, "host", NULL), "web1");
        assert_string_equal(str(j, "time", NULL), "2026-11-22T03:00:07Z");
        assert_string_equal(str(j, "approve", NULL), "jitctl approve r-abcdefghjk");
        assert_string_equal(str(j, "deny", NULL), "jitctl deny r-abcdefghjk --reason TEXT");
        assert_string_equal(str(j, "request", "id"), "r-abcdefghjk");
        assert_string_equal(str(j, "request", "user"), "alice");
        assert_string_equal(str(j, "request", "role"), "ops");
        assert_string_equal(str(j, "request", "ttl_text"), "15m");
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "ttl")->valueint, 900);
        assert_string_equal(str(j, "request", "reason"), EVIL_ESCAPED);
        assert_string_equal(str(j, "request", "command"), "/usr/bin/systemctl restart nginx\\x1b]0;x\\x07");
        assert_string_equal(str(j, "request", "service"), "sudo");
        assert_string_equal(str(j, "request", "rhost"), "10.1.2.3");
        assert_string_equal(str(j, "request", "tty"), "pts/3");
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "risk")->valueint, 60);
        rs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "reasons");
        assert_int_equal(cJSON_GetArraySize(rs), 3);
        assert_string_equal(str(cJSON_GetArrayItem(rs, 1), "id", NULL), "risk.off_hours");
        assert_string_equal(str(cJSON_GetArrayItem(rs, 1), "text", NULL), "outside working hours");
        assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "approvers"), 1)->valuestring,
                            "members of sre");
        assert_non_null(strstr(str(j, "summary", NULL), "alice asks for role ops (15m) on web1"));
        assert_non_null(strstr(str(j, "summary", NULL), "jitctl approve r-abcdefghjk"));
        assert_null(cJSON_GetObjectItem(j, "grant"));
        cJSON_Delete(j);
        free(body);
}

static void t_slack_text_is_escaped_for_mrkdwn(void **state)
{
        struct jit_notify_message m = pending_message();
        char *body;
        cJSON *j = render_json(&m, JIT_NOTIFY_SLACK, &body);
        const char *text = str(j, "text", NULL);

        assert_no_raw_controls(body);
        assert_non_null(text);
        assert_non_null(strstr(text, "\\x1b[31mred"));
        assert_non_null(strstr(text, "\\u{202E}evil"));
        assert_non_null(strstr(text, "&lt;!channel&gt; &amp; &lt;https://x.example|click&gt;"));
        assert_null(strstr(text, "<!channel>"));
        assert_non_null(strstr(text, "`jitctl approve r-abcdefghjk`"));
        assert_non_null(strstr(text, ">Command: /usr/bin/systemctl restart nginx\\x1b]0;x\\x07"));
        assert_non_null(strstr(text, ">Source: sudo from 10.1.2.3 on pts/3"));
        assert_non_null(strstr(text, ">Risk: 60, tier owner: off_hours, unknown_source"));
        assert_non_null(strstr(text, ">Approvers: bob, members of sre"));
        assert_int_equal(cJSON_GetArraySize(j), 1);     /* {"text": ...} and nothing else */
        cJSON_Delete(j);
        free(body);
}

static void t_command_targets_get_the_json_form(void **state)
{
        struct jit_notify_message m = pending_message();
        char *a = NULL, *b = NULL;

        assert_int_equal(jit_notify_render(JIT_NOTIFY_COMMAND, &m, &a), 0);
        assert_int_equal(jit_notify_render(JIT_NOTIFY_JSON, &m, &b), 0);
        assert_string_equal(a, b);
        free(a);
        free(b);
}

static void t_each_event_says_what_happened(void **state)
{
        struct jit_notify_message m = pending_message();
        cJSON *j;

        m.grant_id = "g-abcdefghjk";
        m.expires_us = 1795317307000000ULL;
        m.decided_by = "bob";
        m.comment = "ticket 42";
        m.event = JIT_NOTIFY_GRANTED;
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_string_equal(str(j, "summary", NULL),
                            "alice holds role ops (group jit-ops) on web1 until 2026-11-22T03:15:07Z, approved by bob: grant g-abcdefghjk");
        assert_string_equal(str(j, "grant", "id"), "g-abcdefghjk");
        assert_string_equal(str(j, "grant", "expires"), "2026-11-22T03:15:07Z");
        assert_null(cJSON_GetObjectItem(j, "approve"));
        cJSON_Delete(j);

        m.decided_by = "template:read-logs";
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_non_null(strstr(str(j, "summary", NULL), "granted by template read-logs"));
        cJSON_Delete(j);

        m.event = JIT_NOTIFY_DENIED;
        m.decided_by = "bob";
        m.grant_id = NULL;
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_string_equal(str(j, "summary", NULL), "request r-abcdefghjk of alice for role ops on web1 was denied by bob: ticket 42");
        assert_string_equal(str(j, "request", "comment"), "ticket 42");
        cJSON_Delete(j);

        m.decided_by = "policy";
        m.comment = NULL;
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_non_null(strstr(str(j, "summary", NULL), "denied by policy: from an unknown source"));
        cJSON_Delete(j);

        m.event = JIT_NOTIFY_BREAK_GLASS;
        m.grant_id = "g-abcdefghjk";
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_non_null(strstr(str(j, "summary", NULL), "BREAK-GLASS on web1: alice took role ops (grant g-abcdefghjk)"));
        assert_string_equal(str(j, "review", NULL), "jitctl review r-abcdefghjk --comment TEXT");
        cJSON_Delete(j);

        m.event = JIT_NOTIFY_EXPIRED;
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_string_equal(str(j, "summary", NULL), "grant g-abcdefghjk of alice for role ops on web1 has expired: alice left group jit-ops");
        cJSON_Delete(j);

        m.event = JIT_NOTIFY_REVIEW;
        m.ended_by = "timer";
        j = render_json(&m, JIT_NOTIFY_JSON, NULL);
        assert_non_null(strstr(str(j, "summary", NULL), "needs a review: jitctl review r-abcdefghjk --comment TEXT"));
        assert_string_equal(str(j, "grant", "ended_by"), "timer");
        cJSON_Delete(j);
}

static void t_long_texts_are_capped(void **state)
{
        struct jit_notify_message m = pending_message();
        char *big = malloc(20000), *body = NULL;
        char *argv[] = { big, NULL };
        cJSON *j;

        memset(big, 0x1b, 19999);
        big[19999] = '\0';
        m.reason = big;
        m.task = big;
        m.comment = big;
        m.command = argv;
        assert_int_equal(jit_notify_render(JIT_NOTIFY_SLACK, &m, &body), 0);
        assert_true(strlen(body) <= JIT_NOTIFY_BODY_MAX);
        free(body);
        j = render_json(&m, JIT_NOTIFY_JSON, &body);
        assert_true(strlen(body) <= JIT_NOTIFY_BODY_MAX);
        assert_true(strlen(str(j, "request", "reason")) < JIT_NOTIFY_TEXT_MAX);
        assert_true(strlen(str(j, "request", "command")) < JIT_NOTIFY_COMMAND_MAX);
        cJSON_Delete(j);
        free(body);
        free(big);
}

static void t_terminal_line_is_one_escaped_line(void **state)
{
        struct jit_notify_message m = pending_message();
        char line[300];

        jit_notify_terminal_line(line, sizeof(line), &m);
        assert_no_raw_controls(line);
        assert_int_equal(strncmp(line, "\r\njit: alice asks for role ops (15m) on web1: \"deploy \\x1b[31m", 62), 0);
        assert_non_null(strstr(line, ". Approve: jitctl approve r-abcdefghjk\r\n"));
        assert_ptr_equal(strchr(line + 2, '\n'), line + strlen(line) - 1);     /* one line */
        jit_notify_terminal_line(line, 40, &m);
        assert_true(strlen(line) <= 39);
        assert_string_equal(line + strlen(line) - 2, "\r\n");
}

static void t_signature_is_hmac_sha256_over_time_and_body(void **state)
{
        unsigned char key[32];
        char sig[JIT_NOTIFY_SIG_MAX];

        memset(key, 'k', sizeof(key));
        /* python3: hmac.new(b"k"*32, b"1700000000." + b'{"a":1}', hashlib.sha256).hexdigest() */
        assert_int_equal(jit_notify_sign(sig, key, sizeof(key), 1700000000, "{\"a\":1}", 7), 0);
        assert_string_equal(sig, "t=1700000000,v1=6935b796c0fec66e5dee52c86c7fd1218a424c32f1adb239ff2893c31e54f033");
        assert_int_equal(jit_notify_sign(sig, key, 31, 1700000000, "{}", 2), -EINVAL);
        assert_int_equal(jit_notify_sign(sig, NULL, 32, 1700000000, "{}", 2), -EINVAL);
}

static void t_backoff_doubles_with_jitter_and_a_cap(void **state)
{
        /* base 2s: the waits are in [1, 2), [2, 4), [4, 8), ... */
        assert_int_equal(jit_notify_backoff_us(1, 2, 600, 0), 1000000);
        assert_true(jit_notify_backoff_us(1, 2, 600, UINT32_MAX) < 2000000);
        assert_true(jit_notify_backoff_us(1, 2, 600, UINT32_MAX) > 1990000);
        assert_int_equal(jit_notify_backoff_us(2, 2, 600, 0), 2000000);
        assert_int_equal(jit_notify_backoff_us(4, 2, 600, 0), 8000000);
        assert_int_equal(jit_notify_backoff_us(3, 2, 600, 1U << 31), 6000000);
        /* capped at max_delay, and no overflow for many failures */
        assert_int_equal(jit_notify_backoff_us(10, 2, 600, 0), 300000000);
        assert_int_equal(jit_notify_backoff_us(1000, 2, 600, 0), 300000000);
        assert_true(jit_notify_backoff_us(1000, 3600, 86400, UINT32_MAX) < 86400000000ULL);
        /* never under a second */
        assert_int_equal(jit_notify_backoff_us(1, 1, 1, 0), 1000000);
}

static struct jit_outbox_record *sample_record(void)
{
        struct jit_outbox_record *r = calloc(1, sizeof(*r));
        struct jit_outbox_result res = { .attempt = 1, .http_status = 302, .error = "HTTP 302", .at_us = 1795316408123457ULL };

        memcpy(r->id, "n-abcdefghjk", JIT_ID_LEN + 1);
        memcpy(r->request_id, "r-abcdefghjk", JIT_ID_LEN + 1);
        r->target = strdup("chat");
        r->event = JIT_NOTIFY_BREAK_GLASS;
        r->body = strdup("{\"text\":\"x\"}");
        r->created_us = 1795316407123456ULL;
        r->next_us = 1795316409654321ULL;
        r->attempts = 1;
        assert_int_equal(jit_outbox_add_result(r, &res), 0);
        return r;
}

static void t_outbox_record_round_trips(void **state)
{
        _cleanup_outbox_free_ struct jit_outbox_record *r = sample_record(), *back = NULL;
        cJSON *j = jit_outbox_to_json(r);
        char *text = cJSON_PrintUnformatted(j);
        cJSON *j2 = cJSON_Parse(text);

        assert_int_equal(jit_outbox_from_json(j2, &back), 0);
        assert_string_equal(back->id, "n-abcdefghjk");
        assert_string_equal(back->request_id, "r-abcdefghjk");
        assert_string_equal(back->grant_id, "");
        assert_string_equal(back->target, "chat");
        assert_int_equal(back->event, JIT_NOTIFY_BREAK_GLASS);
        assert_string_equal(back->body, "{\"text\":\"x\"}");
        assert_int_equal(back->created_us, 1795316407123456ULL);
        assert_int_equal(back->next_us, 1795316409654321ULL);
        assert_int_equal(back->attempts, 1);
        assert_false(back->done);
        assert_int_equal(back->n_results, 1);
        assert_int_equal(back->results[0].http_status, 302);
        assert_string_equal(back->results[0].error, "HTTP 302");
        assert_int_equal(back->results[0].at_us, 1795316408123457ULL);
        cJSON_Delete(j);
        cJSON_Delete(j2);
        free(text);
}

static void expect_refused(const char *key, cJSON *value)
{
        _cleanup_outbox_free_ struct jit_outbox_record *r = sample_record(), *back = NULL;
        cJSON *j = jit_outbox_to_json(r);

        cJSON_DeleteItemFromObject(j, key);
        if (value)
                cJSON_AddItemToObject(j, key, value);
        if (jit_outbox_from_json(j, &back) != -EBADMSG)
                fail_msg("a record with %s changed should be refused", key);
        assert_null(back);
        cJSON_Delete(j);
}

static void t_outbox_record_is_read_strictly(void **state)
{
        char big[JIT_NOTIFY_BODY_MAX + 2];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        expect_refused("id", cJSON_CreateString("r-abcdefghjk"));
        expect_refused("id", NULL);
        expect_refused("target", cJSON_CreateString("../etc"));
        expect_refused("event", cJSON_CreateString("approved"));
        expect_refused("body", cJSON_CreateString(big));
        expect_refused("body", cJSON_CreateNumber(1));
        expect_refused("attempts", cJSON_CreateNumber(-1));
        expect_refused("next_us", cJSON_CreateNumber(1.5));
        expect_refused("done", cJSON_CreateString("yes"));
        expect_refused("request_id", cJSON_CreateString("g-abcdefghjk"));
        expect_refused("surprise", cJSON_CreateTrue());
        expect_refused("results", cJSON_CreateString("none"));
}

static void t_outbox_keeps_the_latest_results(void **state)
{
        _cleanup_outbox_free_ struct jit_outbox_record *r = sample_record();

        for (uint32_t i = 2; i <= JIT_OUTBOX_RESULTS_MAX + 5; i++) {
                struct jit_outbox_result res = { .attempt = i, .error = "down" };

                assert_int_equal(jit_outbox_add_result(r, &res), 0);
        }
        assert_int_equal(r->n_results, JIT_OUTBOX_RESULTS_MAX);
        assert_int_equal(r->results[JIT_OUTBOX_RESULTS_MAX - 1].attempt, JIT_OUTBOX_RESULTS_MAX + 5);
        assert_int_equal(r->results[0].attempt, 6);
        jit_outbox_clear_results(r);
        assert_int_equal(r->n_results, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_pending_json_has_what_an_approver_needs),
                cmocka_unit_test(t_slack_text_is_escaped_for_mrkdwn),
                cmocka_unit_test(t_command_targets_get_the_json_form),
                cmocka_unit_test(t_each_event_says_what_happened),
                cmocka_unit_test(t_long_texts_are_capped),
                cmocka_unit_test(t_terminal_line_is_one_escaped_line),
                cmocka_unit_test(t_signature_is_hmac_sha256_over_time_and_body),
                cmocka_unit_test(t_backoff_doubles_with_jitter_and_a_cap),
                cmocka_unit_test(t_outbox_record_round_trips),
                cmocka_unit_test(t_outbox_record_is_read_strictly),
                cmocka_unit_test(t_outbox_keeps_the_latest_results),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
