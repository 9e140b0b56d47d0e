/* test_record.c — requests (one host's part of a request for several
 * hosts too), grants, their state machines, ids and the on-disk envelope
 * (record.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decision.h"
#include "record.h"
#include "strv.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static char *xstrdup(const char *s)
{
        char *d = strdup(s);

        assert_non_null(d);
        return d;
}

static char **xstrv(const char *const *items)
{
        char **v = NULL;

        for (size_t i = 0; items[i]; i++)
                assert_int_equal(jit_strv_push(&v, items[i]), 0);
        return v;
}

static const struct jit_signed signed_by_carol = {
        .canonical = "jit-decision 1\nrequest=r-0123456789\ndecision=approve\n",
        .signature = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
                     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        .key = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
};

/* A request with every field set, values chosen to survive only an exact
 * round trip (uid above 2^31, times above 2^32, quotes and UTF-8 in text). */
static struct jit_request *full_request(void)
{
        struct jit_request *r = calloc(1, sizeof(*r));

        assert_non_null(r);
        strcpy(r->id, "r-0123456789");
        r->state = JIT_REQ_APPROVED;
        r->user = xstrdup("alice");
        r->uid = 4000000001u;
        r->role = xstrdup("ops");
        r->group = xstrdup("jit-ops");
        r->ttl = 5400;
        r->reason = xstrdup("hotfix for \"INC-42\"\n\tcafé ☕");
        r->service = xstrdup("sudo");
        r->rhost = xstrdup("10.0.0.7");
        r->tty = xstrdup("/dev/pts/3");
        r->target_user = xstrdup("postgres");
        r->command = xstrv((const char *const[]){ "/usr/bin/systemctl", "restart", "nginx", "", NULL });
        r->created_us = 1700000000123457ULL;
        r->deadline_us = 1700003600123457ULL;
        r->policy_rule = xstrdup("restart-web");
        r->policy_reasons = xstrv((const char *const[]){ "TTL capped", "no template matches", NULL });
        r->decided_by = xstrdup("carol");
        r->decided_at_us = 1700000100000001ULL;
        r->comment = xstrdup("go ahead");
        strcpy(r->grant_id, "g-abcdefghjk");
        /* where it came from, what the policy saw and said, who approved */
        r->kind = xstrdup("extend");
        strcpy(r->extends, "g-bcdefghjkm");
        r->unit = xstrdup("session-4.scope");
        r->session = xstrdup("4");
        r->session_class = xstrdup("user");
        r->session_type = xstrdup("tty");
        r->has_tty = true;
        r->hist_requests = 4294967295u;
        r->hist_denials = 2;
        r->hist_grants = 0;
        r->hist_break_glass = 1;
        r->policy_action = xstrdup("escalate");
        r->tier = xstrdup("security");
        r->approvals_needed = 2;
        r->risk = 70;
        r->policy_reason_ids = xstrv((const char *const[]){ "ttl.capped", "tier.security", NULL });
        assert_int_equal(jit_request_add_approval(r, "carol", 1700000050000001ULL, false, &signed_by_carol), 0);
        assert_int_equal(jit_request_add_approval(r, "sam", 1700000090000002ULL, true, NULL), 0);
        r->review_state = xstrdup("closed");
        r->review_by = xstrdup("sam");
        r->review_comment = xstrdup("fine — \"INC-42\"");
        r->review_at_us = 1700086400000003ULL;
        /* what it is for and how it should end */
        r->task = xstrdup("rotate \"db\" keys — ticket 7");
        r->single_use = true;
        r->bind = xstrdup("unit");
        return r;
}

static struct jit_grant *full_grant(void)
{
        struct jit_grant *g = calloc(1, sizeof(*g));

        assert_non_null(g);
        strcpy(g->id, "g-abcdefghjk");
        strcpy(g->request_id, "r-0123456789");
        g->state = JIT_GRANT_REVOKED;
        g->user = xstrdup("alice");
        g->uid = 4000000001u;
        g->role = xstrdup("ops");
        g->group = xstrdup("jit-ops");
        g->approved_by = xstrdup("template:restart-web");
        g->created_us = 1700000000123457ULL;
        g->expires_us = 1700000600123457ULL;
        g->ended_us = 1700000300000003ULL;
        g->ended_by = xstrdup("carol");
        g->timer = xstrdup("jit-expire-g-abcdefghjk.timer");
        g->tier = xstrdup("break-glass");
        /* how it ends and what it is bound to */
        g->end = xstrdup("sessions");
        g->end_grace_s = 3600;
        g->swept_us = 1700000310000005ULL;
        g->single_use = true;
        g->task = xstrdup("rotate \"db\" keys — ticket 7");
        g->bound_session = xstrdup("c42");
        g->bound_unit = xstrdup("backup@nightly.service");
        g->bound_boot = xstrdup("0123456789abcdef0123456789abcdef");
        return g;
}

static void assert_str_same(const char *a, const char *b)
{
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

static void assert_strv_same(char *const *a, char *const *b)
{
        if (!a || !b) {
                assert_ptr_equal(a, b);
                return;
        }
        assert_int_equal(jit_strv_length(a), jit_strv_length(b));
        for (size_t i = 0; a[i]; i++)
                assert_string_equal(a[i], b[i]);
}

static void assert_request_same(const struct jit_request *a, const struct jit_request *b)
{
        assert_string_equal(a->id, b->id);
        assert_int_equal(a->state, b->state);
        assert_str_same(a->user, b->user);
        assert_int_equal(a->uid, b->uid);
        assert_str_same(a->role, b->role);
        assert_str_same(a->group, b->group);
        assert_int_equal(a->ttl, b->ttl);
        assert_str_same(a->reason, b->reason);
        assert_str_same(a->service, b->service);
        assert_str_same(a->rhost, b->rhost);
        assert_str_same(a->tty, b->tty);
        assert_str_same(a->target_user, b->target_user);
        assert_strv_same(a->command, b->command);
        assert_int_equal(a->created_us, b->created_us);
        assert_int_equal(a->deadline_us, b->deadline_us);
        assert_str_same(a->policy_rule, b->policy_rule);
        assert_strv_same(a->policy_reasons, b->policy_reasons);
        assert_str_same(a->decided_by, b->decided_by);
        assert_int_equal(a->decided_at_us, b->decided_at_us);
        assert_str_same(a->comment, b->comment);
        assert_string_equal(a->grant_id, b->grant_id);
        assert_str_same(a->kind, b->kind);
        assert_string_equal(a->extends, b->extends);
        assert_str_same(a->unit, b->unit);
        assert_str_same(a->session, b->session);
        assert_str_same(a->session_class, b->session_class);
        assert_str_same(a->session_type, b->session_type);
        assert_int_equal(a->has_tty, b->has_tty);
        assert_int_equal(a->hist_requests, b->hist_requests);
        assert_int_equal(a->hist_denials, b->hist_denials);
        assert_int_equal(a->hist_grants, b->hist_grants);
        assert_int_equal(a->hist_break_glass, b->hist_break_glass);
        assert_str_same(a->policy_action, b->policy_action);
        assert_str_same(a->tier, b->tier);
        assert_int_equal(a->approvals_needed, b->approvals_needed);
        assert_int_equal(a->risk, b->risk);
        assert_strv_same(a->policy_reason_ids, b->policy_reason_ids);
        assert_int_equal(a->n_approvals, b->n_approvals);
        for (size_t i = 0; i < a->n_approvals; i++) {
                assert_str_same(a->approvals[i].by, b->approvals[i].by);
                assert_int_equal(a->approvals[i].at_us, b->approvals[i].at_us);
                assert_int_equal(a->approvals[i].security, b->approvals[i].security);
                assert_str_same(a->approvals[i].sig.canonical, b->approvals[i].sig.canonical);
                assert_str_same(a->approvals[i].sig.signature, b->approvals[i].sig.signature);
                assert_str_same(a->approvals[i].sig.key, b->approvals[i].sig.key);
        }
        assert_str_same(a->review_state, b->review_state);
        assert_str_same(a->review_by, b->review_by);
        assert_str_same(a->review_comment, b->review_comment);
        assert_int_equal(a->review_at_us, b->review_at_us);
        assert_str_same(a->task, b->task);
        assert_int_equal(a->single_use, b->single_use);
        assert_str_same(a->bind, b->bind);
        assert_string_equal(a->fleet_id, b->fleet_id);
        assert_str_same(a->origin, b->origin);
        assert_strv_same(a->fleet_hosts, b->fleet_hosts);
        assert_int_equal(a->fleet_ttl, b->fleet_ttl);
        assert_int_equal(a->fleet_asked_us, b->fleet_asked_us);
}

static void assert_grant_same(const struct jit_grant *a, const struct jit_grant *b)
{
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->request_id, b->request_id);
        assert_int_equal(a->state, b->state);
        assert_str_same(a->user, b->user);
        assert_int_equal(a->uid, b->uid);
        assert_str_same(a->role, b->role);
        assert_str_same(a->group, b->group);
        assert_str_same(a->approved_by, b->approved_by);
        assert_int_equal(a->created_us, b->created_us);
        assert_int_equal(a->expires_us, b->expires_us);
        assert_int_equal(a->ended_us, b->ended_us);
        assert_str_same(a->ended_by, b->ended_by);
        assert_str_same(a->timer, b->timer);
        assert_str_same(a->tier, b->tier);
        assert_str_same(a->end, b->end);
        assert_int_equal(a->end_grace_s, b->end_grace_s);
        assert_int_equal(a->swept_us, b->swept_us);
        assert_int_equal(a->single_use, b->single_use);
        assert_str_same(a->task, b->task);
        assert_str_same(a->bound_session, b->bound_session);
        assert_str_same(a->bound_unit, b->bound_unit);
        assert_str_same(a->bound_boot, b->bound_boot);
}

/* To text and back, as on the wire. */
static cJSON *through_text(const cJSON *j)
{
        char *text = cJSON_PrintUnformatted(j);
        cJSON *back;

        assert_non_null(text);
        back = cJSON_Parse(text);
        assert_non_null(back);
        free(text);
        return back;
}

/* ---- JSON round trips ------------------------------------------------- */

static void t_request_json_round_trip_keeps_every_field(void **state)
{
        _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
        cJSON *j = jit_request_to_json(r), *wire;

        assert_non_null(j);
        wire = through_text(j);
        assert_int_equal(jit_request_from_json(wire, &back), 0);
        assert_request_same(r, back);
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

static void t_minimal_request_round_trip_keeps_absent_fields_absent(void **state)
{
        struct jit_request r = {
                .id = "r-zzzzzzzzzz", .state = JIT_REQ_PENDING, .user = "bob", .uid = 0,
                .role = "db", .ttl = 60, .created_us = 1,
        };
        _cleanup_request_free_ struct jit_request *back = NULL;
        cJSON *j = jit_request_to_json(&r), *wire;

        assert_non_null(j);
        wire = through_text(j);
        assert_int_equal(jit_request_from_json(wire, &back), 0);
        assert_request_same(&r, back);
        assert_null(back->command);
        assert_null(back->reason);
        assert_string_equal(back->grant_id, "");
        assert_null(back->kind);
        assert_string_equal(back->extends, "");
        assert_false(back->has_tty);
        assert_null(back->approvals);
        assert_int_equal(back->n_approvals, 0);
        assert_null(back->review_state);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "approvals"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "review_at_us"));
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

static void t_request_round_trip_keeps_approvals_with_signatures_review_and_history(void **state)
{
        _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
        cJSON *j = jit_request_to_json(r), *wire;

        assert_non_null(j);
        wire = through_text(j);
        assert_int_equal(jit_request_from_json(wire, &back), 0);
        assert_int_equal(back->n_approvals, 2);
        assert_string_equal(back->approvals[0].by, "carol");
        assert_int_equal(back->approvals[0].at_us, 1700000050000001ULL);
        assert_false(back->approvals[0].security);
        assert_string_equal(back->approvals[0].sig.canonical, signed_by_carol.canonical);
        assert_string_equal(back->approvals[0].sig.signature, signed_by_carol.signature);
        assert_string_equal(back->approvals[0].sig.key, signed_by_carol.key);
        assert_string_equal(back->approvals[1].by, "sam");
        assert_true(back->approvals[1].security);
        assert_null(back->approvals[1].sig.canonical);
        assert_null(back->approvals[1].sig.signature);
        assert_string_equal(back->review_state, "closed");
        assert_string_equal(back->review_by, "sam");
        assert_string_equal(back->review_comment, "fine — \"INC-42\"");
        assert_int_equal(back->review_at_us, 1700086400000003ULL);
        assert_true(back->has_tty);
        assert_int_equal(back->hist_requests, 4294967295u);
        assert_int_equal(back->hist_denials, 2);
        assert_int_equal(back->hist_grants, 0);
        assert_int_equal(back->hist_break_glass, 1);
        assert_string_equal(back->kind, "extend");
        assert_string_equal(back->extends, "g-bcdefghjkm");
        assert_string_equal(back->tier, "security");
        assert_int_equal(back->approvals_needed, 2);
        assert_int_equal(back->risk, 70);
        assert_string_equal(back->policy_reason_ids[1], "tier.security");
        assert_request_same(r, back);
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

static void t_add_approval_takes_copies(void **state)
{
        _cleanup_request_free_ struct jit_request *r = calloc(1, sizeof(*r));
        char *by = xstrdup("carol");
        struct jit_signed sig = { 0 };

        assert_non_null(r);
        assert_int_equal(jit_signed_copy(&sig, &signed_by_carol), 0);
        assert_int_equal(jit_request_add_approval(r, by, 5, true, &sig), 0);
        memset(by, 'x', strlen(by));
        free(by);
        jit_signed_done(&sig);
        assert_string_equal(r->approvals[0].by, "carol");
        assert_string_equal(r->approvals[0].sig.key, signed_by_carol.key);
        assert_int_equal(r->approvals[0].at_us, 5);
        assert_true(r->approvals[0].security);
}

static void t_add_approval_refuses_more_than_the_maximum(void **state)
{
        _cleanup_request_free_ struct jit_request *r = calloc(1, sizeof(*r));

        assert_non_null(r);
        for (int i = 0; i < JIT_MAX_APPROVALS; i++)
                assert_int_equal(jit_request_add_approval(r, "carol", (uint64_t)i, false, NULL), 0);
        assert_int_equal(jit_request_add_approval(r, "sam", 99, true, &signed_by_carol), -E2BIG);
        assert_int_equal(r->n_approvals, JIT_MAX_APPROVALS);
        assert_string_equal(r->approvals[JIT_MAX_APPROVALS - 1].by, "carol");
}

static void t_grant_json_round_trip_keeps_every_field(void **state)
{
        _cleanup_grant_free_ struct jit_grant *g = full_grant(), *back = NULL;
        cJSON *j = jit_grant_to_json(g), *wire;

        assert_non_null(j);
        wire = through_text(j);
        assert_int_equal(jit_grant_from_json(wire, &back), 0);
        assert_grant_same(g, back);
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

static void t_grant_round_trip_keeps_how_it_ends_its_task_and_bindings(void **state)
{
        _cleanup_grant_free_ struct jit_grant *g = full_grant(), *back = NULL;
        cJSON *j = jit_grant_to_json(g), *wire;

        assert_non_null(j);
        wire = through_text(j);
        assert_int_equal(jit_grant_from_json(wire, &back), 0);
        assert_string_equal(back->end, "sessions");
        assert_int_equal(back->end_grace_s, 3600);
        assert_int_equal(back->swept_us, 1700000310000005ULL);
        assert_true(back->single_use);
        assert_string_equal(back->task, "rotate \"db\" keys — ticket 7");
        assert_string_equal(back->bound_session, "c42");
        assert_string_equal(back->bound_unit, "backup@nightly.service");
        assert_string_equal(back->bound_boot, "0123456789abcdef0123456789abcdef");
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

static void t_request_round_trip_keeps_task_single_use_and_either_binding(void **state)
{
        static const char *const binds[] = { "session", "unit", NULL };

        for (size_t i = 0; i < sizeof(binds) / sizeof(binds[0]); i++) {
                _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
                cJSON *j, *wire;

                free(r->bind);
                r->bind = binds[i] ? xstrdup(binds[i]) : NULL;
                r->single_use = i % 2 == 0;
                j = jit_request_to_json(r);
                assert_non_null(j);
                wire = through_text(j);
                assert_int_equal(jit_request_from_json(wire, &back), 0);
                assert_str_same(back->bind, binds[i]);
                assert_int_equal(back->single_use, i % 2 == 0);
                assert_string_equal(back->task, "rotate \"db\" keys — ticket 7");
                assert_request_same(r, back);
                cJSON_Delete(j);
                cJSON_Delete(wire);
        }
}

static void t_minimal_request_leaves_task_single_use_and_bind_unset(void **state)
{
        struct jit_request r = {
                .id = "r-zzzzzzzzzz", .state = JIT_REQ_PENDING, .user = "bob", .role = "db", .ttl = 60,
                .created_us = 1,
        };
        _cleanup_request_free_ struct jit_request *back = NULL;
        cJSON *j = jit_request_to_json(&r);

        assert_non_null(j);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "task"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "single_use"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "bind"));
        assert_int_equal(jit_request_from_json(j, &back), 0);
        assert_null(back->task);
        assert_false(back->single_use);
        assert_null(back->bind);
        cJSON_Delete(j);
}

static void t_minimal_grant_leaves_end_single_use_task_and_bindings_unset(void **state)
{
        static const char *const keys[] = {
                "end", "end_grace_s", "swept_us", "single_use", "task", "bound_session", "bound_unit", "bound_boot",
        };
        struct jit_grant g = {
                .id = "g-zzzzzzzzzz", .request_id = "r-zzzzzzzzzz", .state = JIT_GRANT_ACTIVE, .user = "bob",
                .role = "db", .group = "jit-db", .created_us = 1, .expires_us = 2,
        };
        _cleanup_grant_free_ struct jit_grant *back = NULL;
        cJSON *j = jit_grant_to_json(&g);

        assert_non_null(j);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (cJSON_GetObjectItemCaseSensitive(j, keys[i]))
                        fail_msg("a grant without it still wrote \"%s\"", keys[i]);
        assert_int_equal(jit_grant_from_json(j, &back), 0);
        assert_null(back->end);
        assert_int_equal(back->end_grace_s, 0);
        assert_int_equal(back->swept_us, 0);
        assert_false(back->single_use);
        assert_null(back->task);
        assert_null(back->bound_session);
        assert_null(back->bound_unit);
        assert_null(back->bound_boot);
        assert_grant_same(&g, back);
        cJSON_Delete(j);
}

/* A grant from before ends existed has no "end", and its grace means
 * nothing without one; with an end a zero grace is written and kept. */
static void t_end_grace_is_written_with_an_end_even_when_zero(void **state)
{
        struct jit_grant g = {
                .id = "g-zzzzzzzzzz", .request_id = "r-zzzzzzzzzz", .state = JIT_GRANT_EXPIRED, .user = "bob",
                .role = "db", .group = "jit-db", .created_us = 1, .expires_us = 2, .end_grace_s = 30,
        };
        _cleanup_grant_free_ struct jit_grant *back = NULL;
        cJSON *j = jit_grant_to_json(&g);
        const cJSON *grace;

        assert_non_null(j);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "end_grace_s"));
        cJSON_Delete(j);

        g.end = "none";
        g.end_grace_s = 0;
        j = jit_grant_to_json(&g);
        assert_non_null(j);
        grace = cJSON_GetObjectItemCaseSensitive(j, "end_grace_s");
        assert_true(cJSON_IsNumber(grace));
        assert_true(grace->valuedouble == 0);
        assert_int_equal(jit_grant_from_json(j, &back), 0);
        assert_string_equal(back->end, "none");
        assert_int_equal(back->end_grace_s, 0);
        cJSON_Delete(j);
}

static void t_every_request_state_round_trips(void **state)
{
        for (int s = 0; s < _JIT_REQ_STATE_MAX; s++) {
                _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
                cJSON *j;

                r->state = (enum jit_request_state)s;
                j = jit_request_to_json(r);
                assert_int_equal(jit_request_from_json(j, &back), 0);
                assert_int_equal(back->state, s);
                assert_int_equal(jit_request_state_from_string(jit_request_state_to_string(s)), s);
                cJSON_Delete(j);
        }
}

static void t_every_grant_state_round_trips(void **state)
{
        for (int s = 0; s < _JIT_GRANT_STATE_MAX; s++) {
                _cleanup_grant_free_ struct jit_grant *g = full_grant(), *back = NULL;
                cJSON *j;

                g->state = (enum jit_grant_state)s;
                j = jit_grant_to_json(g);
                assert_int_equal(jit_grant_from_json(j, &back), 0);
                assert_int_equal(back->state, s);
                assert_int_equal(jit_grant_state_from_string(jit_grant_state_to_string(s)), s);
                cJSON_Delete(j);
        }
}

static void t_state_names(void **state)
{
        assert_string_equal(jit_request_state_to_string(JIT_REQ_PENDING), "pending");
        assert_string_equal(jit_request_state_to_string(JIT_REQ_LAPSED), "lapsed");
        assert_string_equal(jit_grant_state_to_string(JIT_GRANT_ACTIVE), "active");
        assert_string_equal(jit_grant_state_to_string(JIT_GRANT_REVOKED), "revoked");
        assert_string_equal(jit_request_state_to_string(_JIT_REQ_STATE_MAX), "invalid");
        assert_string_equal(jit_grant_state_to_string((enum jit_grant_state)-1), "invalid");
        assert_int_equal(jit_request_state_from_string("active"), -EINVAL);
        assert_int_equal(jit_request_state_from_string("Pending"), -EINVAL);
        assert_int_equal(jit_request_state_from_string(""), -EINVAL);
        assert_int_equal(jit_request_state_from_string(NULL), -EINVAL);
        assert_int_equal(jit_grant_state_from_string("pending"), -EINVAL);
        assert_int_equal(jit_grant_state_from_string("invalid"), -EINVAL);
        assert_int_equal(jit_grant_state_from_string(NULL), -EINVAL);
}

/* ---- from_json is strict ---------------------------------------------- */

/* Replace (or with value NULL, remove) key in a fresh JSON of full_request()
 * or full_grant(), and expect -EBADMSG with *ret untouched. */
static void expect_request_refused(const char *key, const char *value)
{
        _cleanup_request_free_ struct jit_request *r = full_request();
        struct jit_request *back = (struct jit_request *)(uintptr_t)1;
        cJSON *j = jit_request_to_json(r);
        int e;

        assert_non_null(j);
        cJSON_DeleteItemFromObjectCaseSensitive(j, key);
        if (value) {
                cJSON *v = cJSON_Parse(value);

                assert_non_null(v);
                cJSON_AddItemToObject(j, key, v);
        }
        e = jit_request_from_json(j, &back);
        if (e != -EBADMSG)
                fail_msg("request with %s=%s: want -EBADMSG, got %d", key, value ? value : "(absent)", e);
        assert_ptr_equal(back, (struct jit_request *)(uintptr_t)1);
        cJSON_Delete(j);
}

static void expect_grant_refused(const char *key, const char *value)
{
        _cleanup_grant_free_ struct jit_grant *g = full_grant();
        struct jit_grant *back = (struct jit_grant *)(uintptr_t)1;
        cJSON *j = jit_grant_to_json(g);
        int e;

        assert_non_null(j);
        cJSON_DeleteItemFromObjectCaseSensitive(j, key);
        if (value) {
                cJSON *v = cJSON_Parse(value);

                assert_non_null(v);
                cJSON_AddItemToObject(j, key, v);
        }
        e = jit_grant_from_json(j, &back);
        if (e != -EBADMSG)
                fail_msg("grant with %s=%s: want -EBADMSG, got %d", key, value ? value : "(absent)", e);
        assert_ptr_equal(back, (struct jit_grant *)(uintptr_t)1);
        cJSON_Delete(j);
}

/* The JSON string "aaa…" of n characters, quotes included. */
static char *quoted(size_t n)
{
        char *s = malloc(n + 3);

        assert_non_null(s);
        s[0] = '"';
        memset(s + 1, 'a', n);
        strcpy(s + 1 + n, "\"");
        return s;
}

/* full_grant() with key replaced by value, which must be accepted. */
static struct jit_grant *grant_with(const char *key, const char *value)
{
        _cleanup_grant_free_ struct jit_grant *g = full_grant();
        struct jit_grant *back = NULL;
        cJSON *j = jit_grant_to_json(g), *v = cJSON_Parse(value);
        int e;

        assert_non_null(j);
        assert_non_null(v);
        cJSON_DeleteItemFromObjectCaseSensitive(j, key);
        cJSON_AddItemToObject(j, key, v);
        e = jit_grant_from_json(j, &back);
        if (e != 0)
                fail_msg("grant with %s=%.40s: want 0, got %d", key, value, e);
        cJSON_Delete(j);
        return back;
}

static struct jit_request *request_with(const char *key, const char *value)
{
        _cleanup_request_free_ struct jit_request *r = full_request();
        struct jit_request *back = NULL;
        cJSON *j = jit_request_to_json(r), *v = cJSON_Parse(value);
        int e;

        assert_non_null(j);
        assert_non_null(v);
        cJSON_DeleteItemFromObjectCaseSensitive(j, key);
        cJSON_AddItemToObject(j, key, v);
        e = jit_request_from_json(j, &back);
        if (e != 0)
                fail_msg("request with %s=%.40s: want 0, got %d", key, value, e);
        cJSON_Delete(j);
        return back;
}

static void t_from_json_rejects_wrong_types(void **state)
{
        expect_request_refused("user", "5");
        expect_request_refused("user", "[\"alice\"]");
        expect_request_refused("role", "true");
        expect_request_refused("uid", "\"1000\"");
        expect_request_refused("uid", "-1");
        expect_request_refused("uid", "1.5");
        expect_request_refused("uid", "4294967296");
        expect_request_refused("ttl", "\"90m\"");
        expect_request_refused("ttl", "-60");
        expect_request_refused("created_us", "{}");
        expect_request_refused("deadline_us", "1e300");
        expect_request_refused("reason", "7");
        expect_request_refused("command", "\"/bin/ls -l\"");
        expect_request_refused("command", "[\"/bin/ls\", 5]");
        expect_request_refused("command", "[\"/bin/ls\", null]");
        expect_request_refused("policy_reasons", "{\"a\":\"b\"}");
        expect_grant_refused("uid", "\"0\"");
        expect_grant_refused("expires_us", "\"tomorrow\"");
        expect_grant_refused("ended_by", "[]");
        expect_grant_refused("timer", "1");
}

static void t_from_json_rejects_missing_required_fields(void **state)
{
        static const char *const req_keys[] = { "id", "state", "user", "uid", "role", "ttl", "created_us" };
        static const char *const grant_keys[] = {
                "id", "request_id", "state", "user", "uid", "role", "group", "created_us", "expires_us",
        };

        for (size_t i = 0; i < sizeof(req_keys) / sizeof(req_keys[0]); i++)
                expect_request_refused(req_keys[i], NULL);
        for (size_t i = 0; i < sizeof(grant_keys) / sizeof(grant_keys[0]); i++)
                expect_grant_refused(grant_keys[i], NULL);
        expect_request_refused("user", "null");
}

static void t_from_json_rejects_bad_ids(void **state)
{
        static const char *const bad[] = {
                "\"g-0123456789\"",     /* a grant id where a request id belongs */
                "\"r-012345678\"",      /* short */
                "\"r-0123456789a\"",    /* long */
                "\"R-0123456789\"",
                "\"r_0123456789\"",
                "\"r-01234567AB\"",     /* upper case */
                "\"r-0123456i89\"",     /* i, l, o, u are not in the alphabet */
                "\"r-01234567u9\"",
                "\"r-../../etc/\"",
                "\"\"",
                "12",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_request_refused("id", bad[i]);
        expect_request_refused("grant_id", "\"r-0123456789\"");
        expect_request_refused("grant_id", "\"g-short\"");
        expect_grant_refused("id", "\"r-0123456789\"");
        expect_grant_refused("request_id", "\"g-abcdefghjk\"");
        expect_grant_refused("request_id", "\"\"");
}

static void t_from_json_rejects_bad_states(void **state)
{
        expect_request_refused("state", "\"active\"");
        expect_request_refused("state", "\"PENDING\"");
        expect_request_refused("state", "\"invalid\"");
        expect_request_refused("state", "\"\"");
        expect_request_refused("state", "0");
        expect_request_refused("state", "null");
        expect_grant_refused("state", "\"pending\"");
        expect_grant_refused("state", "\"approved\"");
        expect_grant_refused("state", "1");
}

static void t_from_json_rejects_oversized_fields(void **state)
{
        char *big = malloc(JIT_TEXT_MAX + 4);
        char *many = malloc(JIT_COMMAND_MAX_ARGS * 5 + 8);
        size_t off = 0;

        assert_non_null(big);
        assert_non_null(many);
        big[0] = '"';
        memset(big + 1, 'a', JIT_TEXT_MAX + 1);
        strcpy(big + JIT_TEXT_MAX + 2, "\"");
        expect_request_refused("reason", big);
        expect_request_refused("comment", big);
        expect_request_refused("review_comment", big);
        expect_request_refused("user", big);

        many[off++] = '[';
        for (int i = 0; i <= JIT_COMMAND_MAX_ARGS; i++)
                off += (size_t)sprintf(many + off, "%s\"a\"", i ? "," : "");
        strcpy(many + off, "]");
        expect_request_refused("command", many);
        free(big);
        free(many);
}

static void t_from_json_rejects_bad_new_request_fields(void **state)
{
        char approvals[2048];
        size_t off = 0;

        expect_request_refused("has_tty", "\"yes\"");
        expect_request_refused("has_tty", "1");
        expect_request_refused("hist_requests", "4294967296");
        expect_request_refused("hist_denials", "-1");
        expect_request_refused("hist_grants", "\"3\"");
        expect_request_refused("hist_break_glass", "0.5");
        expect_request_refused("approvals_needed", "\"2\"");
        expect_request_refused("risk", "4294967296");
        expect_request_refused("extends", "\"r-0123456789\"");
        expect_request_refused("extends", "\"g-short\"");
        expect_request_refused("kind", "\"a kind far too long\"");
        expect_request_refused("tier", "7");
        expect_request_refused("policy_reason_ids", "\"tier.owner\"");
        expect_request_refused("review_at_us", "\"later\"");
        expect_request_refused("approvals", "{}");
        expect_request_refused("approvals", "[\"carol\"]");
        expect_request_refused("approvals", "[{\"at_us\":1}]");                          /* by whom? */
        expect_request_refused("approvals", "[{\"by\":\"carol\"}]");                     /* when? */
        expect_request_refused("approvals", "[{\"by\":\"carol\",\"at_us\":1,\"security\":\"yes\"}]");
        expect_request_refused("approvals", "[{\"by\":\"carol\",\"at_us\":1,"
                                            "\"signed_decision\":{\"canonical\":\"x\",\"key\":\"00\"}}]");  /* no signature */
        off += (size_t)sprintf(approvals + off, "[");
        for (int i = 0; i <= JIT_MAX_APPROVALS; i++)
                off += (size_t)sprintf(approvals + off, "%s{\"by\":\"u%d\",\"at_us\":%d}", i ? "," : "", i, i);
        sprintf(approvals + off, "]");
        expect_request_refused("approvals", approvals);
        expect_grant_refused("tier", "[]");
}

static void t_from_json_rejects_bind_other_than_session_or_unit(void **state)
{
        static const char *const bad[] = {
                "\"Session\"", "\"UNIT\"", "\"session \"", "\"scope\"", "\"user\"", "\"none\"", "\"\"",
                "\"sessions\"", "1", "true", "[\"session\"]", "{}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_request_refused("bind", bad[i]);
}

static void t_from_json_rejects_wrong_types_of_task_end_and_binding_fields(void **state)
{
        expect_request_refused("task", "5");
        expect_request_refused("task", "[\"rotate keys\"]");
        expect_request_refused("single_use", "\"true\"");
        expect_request_refused("single_use", "1");
        expect_request_refused("single_use", "null");
        expect_grant_refused("end", "0");
        expect_grant_refused("end", "[\"sessions\"]");
        expect_grant_refused("end", "\"Sessions\"");   /* only the three modes */
        expect_grant_refused("end", "\"kill\"");
        expect_grant_refused("end_grace_s", "3601");    /* at most 1h, as in jit.conf */
        expect_grant_refused("end_grace_s", "\"10s\"");
        expect_grant_refused("end_grace_s", "-1");
        expect_grant_refused("end_grace_s", "1.5");
        expect_grant_refused("end_grace_s", "1e300");
        expect_grant_refused("swept_us", "\"now\"");
        expect_grant_refused("swept_us", "-1");
        expect_grant_refused("swept_us", "true");
        expect_grant_refused("single_use", "\"yes\"");
        expect_grant_refused("single_use", "0");
        expect_grant_refused("task", "{}");
        expect_grant_refused("bound_session", "42");
        expect_grant_refused("bound_unit", "[\"x.service\"]");
        expect_grant_refused("bound_boot", "false");
}

/* Each new string at its maximum is read; one character more is refused. */
static void t_from_json_refuses_task_end_and_binding_strings_over_their_maximum(void **state)
{
        static const struct { const char *key; size_t max; } grant_max[] = {
                { "task", JIT_TEXT_MAX }, { "bound_session", 64 }, { "bound_unit", 256 }, { "bound_boot", 32 },
        };

        for (size_t i = 0; i < sizeof(grant_max) / sizeof(grant_max[0]); i++) {
                char *at = quoted(grant_max[i].max), *over = quoted(grant_max[i].max + 1);
                struct jit_grant *g = grant_with(grant_max[i].key, at);

                jit_grant_free(g);
                expect_grant_refused(grant_max[i].key, over);
                free(at);
                free(over);
        }

        char *at = quoted(JIT_TEXT_MAX), *over = quoted(JIT_TEXT_MAX + 1), *bind_over = quoted(17);
        struct jit_request *r = request_with("task", at);

        assert_int_equal(strlen(r->task), JIT_TEXT_MAX);
        jit_request_free(r);
        expect_request_refused("task", over);
        expect_request_refused("bind", bind_over);
        free(at);
        free(over);
        free(bind_over);
}

/* from_json reads members through an index of the object's names: it
 * must answer as cJSON's own lookup does — the first of a repeated name
 * counts — and an object with more members than the index holds (only a
 * hand-made record has) is read all the same. */
static void t_from_json_reads_the_first_of_a_repeated_name(void **state)
{
        _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
        _cleanup_grant_free_ struct jit_grant *g = full_grant(), *gback = NULL;
        cJSON *j = jit_request_to_json(r), *k = jit_grant_to_json(g);

        assert_non_null(j);
        assert_non_null(k);
        cJSON_AddItemToObject(j, "user", cJSON_CreateString("mallory"));
        cJSON_AddItemToObject(j, "uid", cJSON_CreateString("not a number"));
        cJSON_AddItemToObject(k, "group", cJSON_CreateString("root"));
        assert_int_equal(jit_request_from_json(j, &back), 0);
        assert_string_equal(back->user, r->user);
        assert_int_equal(back->uid, r->uid);
        assert_int_equal(jit_grant_from_json(k, &gback), 0);
        assert_string_equal(gback->group, g->group);
        cJSON_Delete(j);
        cJSON_Delete(k);
}

static void t_from_json_reads_an_object_with_very_many_members(void **state)
{
        _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
        cJSON *j = jit_request_to_json(r), *first = jit_request_to_json(r);

        assert_non_null(j);
        assert_non_null(first);
        for (int i = 0; i < 300; i++) {
                char name[32];

                snprintf(name, sizeof(name), "x-%d", i);
                cJSON_AddItemToObject(j, name, cJSON_CreateNumber(i));
        }
        cJSON_AddItemToObject(j, "user", cJSON_CreateString("mallory"));
        assert_int_equal(jit_request_from_json(j, &back), 0);
        cJSON_Delete(j);
        j = jit_request_to_json(back);
        assert_true(cJSON_Compare(j, first, true));
        cJSON_Delete(j);
        cJSON_Delete(first);
}

static void t_from_json_rejects_non_objects(void **state)
{
        struct jit_request *r = NULL;
        struct jit_grant *g = NULL;
        cJSON *arr = cJSON_Parse("[1]"), *str = cJSON_Parse("\"r-0123456789\"");

        assert_int_equal(jit_request_from_json(arr, &r), -EBADMSG);
        assert_int_equal(jit_request_from_json(str, &r), -EBADMSG);
        assert_int_equal(jit_request_from_json(NULL, &r), -EBADMSG);
        assert_int_equal(jit_grant_from_json(arr, &g), -EBADMSG);
        assert_int_equal(jit_grant_from_json(NULL, &g), -EBADMSG);
        assert_null(r);
        assert_null(g);
        cJSON_Delete(arr);
        cJSON_Delete(str);
}

/* ---- requests for several hosts (fleet) -------------------------------- */

/* full_request() as one host's part of a request for several hosts. */
static struct jit_request *fleet_request(void)
{
        struct jit_request *r = full_request();

        strcpy(r->fleet_id, "m-abcdefghjk");
        r->origin = xstrdup("hA");
        r->fleet_hosts = xstrv((const char *const[]){ "hA", "hB", "web-01.example.net", NULL });
        r->fleet_ttl = 5400;
        r->fleet_asked_us = 1700000000123456ULL;
        return r;
}

/* The JSON of base() with key set to value (JSON text), or removed when
 * value is NULL. */
static cJSON *json_with(struct jit_request *(*base)(void), const char *key, const char *value)
{
        _cleanup_request_free_ struct jit_request *r = base();
        cJSON *j = jit_request_to_json(r);

        assert_non_null(j);
        cJSON_DeleteItemFromObjectCaseSensitive(j, key);
        if (value) {
                cJSON *v = cJSON_Parse(value);

                assert_non_null(v);
                cJSON_AddItemToObject(j, key, v);
        }
        return j;
}

static void expect_refused_from(struct jit_request *(*base)(void), const char *key, const char *value)
{
        struct jit_request *back = (struct jit_request *)(uintptr_t)1;
        cJSON *j = json_with(base, key, value);
        int e = jit_request_from_json(j, &back);

        if (e != -EBADMSG)
                fail_msg("request with %s=%.60s: want -EBADMSG, got %d", key, value ? value : "(absent)", e);
        assert_ptr_equal(back, (struct jit_request *)(uintptr_t)1);
        cJSON_Delete(j);
}

/* Accepted, through text as on disk. */
static struct jit_request *accepted_from(struct jit_request *(*base)(void), const char *key, const char *value)
{
        struct jit_request *back = NULL;
        cJSON *j = json_with(base, key, value), *wire = through_text(j);
        int e = jit_request_from_json(wire, &back);

        if (e != 0)
                fail_msg("request with %s=%.60s: want 0, got %d", key, value ? value : "(absent)", e);
        cJSON_Delete(j);
        cJSON_Delete(wire);
        return back;
}

/* "[\"h000\",\"h001\",...]": n host names, sorted. */
static char *hosts_json(int n)
{
        size_t size = (size_t)n * 8 + 4, off = 0;
        char *s = malloc(size);

        assert_non_null(s);
        s[off++] = '[';
        for (int i = 0; i < n; i++)
                off += (size_t)snprintf(s + off, size - off, "%s\"h%03d\"", i ? "," : "", i);
        snprintf(s + off, size - off, "]");
        return s;
}

static void t_request_round_trip_keeps_its_fleet_fields(void **state)
{
        _cleanup_request_free_ struct jit_request *r = fleet_request(), *back = NULL;
        cJSON *j = jit_request_to_json(r), *wire;
        const cJSON *h;

        assert_non_null(j);
        h = cJSON_GetObjectItemCaseSensitive(j, "fleet_hosts");
        assert_true(cJSON_IsArray(h));
        assert_int_equal(cJSON_GetArraySize(h), 3);
        assert_string_equal(cJSON_GetArrayItem(h, 2)->valuestring, "web-01.example.net");
        wire = through_text(j);
        assert_int_equal(jit_request_from_json(wire, &back), 0);
        assert_string_equal(back->fleet_id, "m-abcdefghjk");
        assert_string_equal(back->origin, "hA");
        assert_int_equal(jit_strv_length(back->fleet_hosts), 3);
        assert_string_equal(back->fleet_hosts[0], "hA");
        assert_string_equal(back->fleet_hosts[1], "hB");
        assert_string_equal(back->fleet_hosts[2], "web-01.example.net");
        assert_int_equal(back->fleet_ttl, 5400);
        assert_int_equal(back->fleet_asked_us, 1700000000123456ULL);
        assert_request_same(r, back);
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

static void t_request_without_fleet_fields_prints_none_and_parses(void **state)
{
        static const char *const keys[] = { "fleet_id", "origin", "fleet_hosts", "fleet_ttl", "fleet_asked_us" };
        _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
        cJSON *j = jit_request_to_json(r), *wire;

        assert_non_null(j);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (cJSON_GetObjectItemCaseSensitive(j, keys[i]))
                        fail_msg("a request of this host alone has \"%s\"", keys[i]);
        wire = through_text(j);
        assert_int_equal(jit_request_from_json(wire, &back), 0);
        assert_string_equal(back->fleet_id, "");
        assert_null(back->origin);
        assert_null(back->fleet_hosts);
        assert_int_equal(back->fleet_ttl, 0);
        assert_int_equal(back->fleet_asked_us, 0);
        cJSON_Delete(j);
        cJSON_Delete(wire);
}

/* fleet_id, origin and fleet_hosts: all three or none. */
static void t_from_json_refuses_some_of_the_fleet_fields(void **state)
{
        _cleanup_request_free_ struct jit_request *none = NULL;

        expect_refused_from(fleet_request, "fleet_id", NULL);
        expect_refused_from(fleet_request, "origin", NULL);
        expect_refused_from(fleet_request, "fleet_hosts", NULL);
        expect_refused_from(fleet_request, "fleet_id", "\"\"");
        expect_refused_from(fleet_request, "fleet_id", "null");
        expect_refused_from(fleet_request, "origin", "null");
        expect_refused_from(fleet_request, "fleet_hosts", "null");
        expect_refused_from(fleet_request, "fleet_hosts", "[]");
        expect_refused_from(full_request, "fleet_id", "\"m-abcdefghjk\"");
        expect_refused_from(full_request, "origin", "\"hA\"");
        expect_refused_from(full_request, "fleet_hosts", "[\"hA\",\"hB\"]");
        /* "" and null stand for absent, as for the other optional ids */
        none = accepted_from(full_request, "fleet_id", "\"\"");
        assert_string_equal(none->fleet_id, "");
}

static void t_from_json_refuses_fleet_hosts_unsorted_or_twice(void **state)
{
        _cleanup_request_free_ struct jit_request *one = NULL, *bytewise = NULL;

        expect_refused_from(fleet_request, "fleet_hosts", "[\"hB\",\"hA\"]");
        expect_refused_from(fleet_request, "fleet_hosts", "[\"hA\",\"hA\"]");
        expect_refused_from(fleet_request, "fleet_hosts", "[\"hA\",\"hB\",\"hB\"]");
        expect_refused_from(fleet_request, "fleet_hosts", "[\"hA\",\"hC\",\"hB\"]");
        expect_refused_from(fleet_request, "fleet_hosts", "[\"hb\",\"hC\"]");  /* byte order: 'C' < 'b' */
        expect_refused_from(fleet_request, "fleet_hosts", "[\"hA\",1]");
        expect_refused_from(fleet_request, "fleet_hosts", "[\"hA\",null]");
        expect_refused_from(fleet_request, "fleet_hosts", "\"hA,hB\"");
        expect_refused_from(fleet_request, "fleet_hosts", "{\"hA\":1}");
        one = accepted_from(fleet_request, "fleet_hosts", "[\"hB\"]");
        assert_int_equal(jit_strv_length(one->fleet_hosts), 1);
        bytewise = accepted_from(fleet_request, "fleet_hosts", "[\"hA\",\"hA.x\",\"hC\",\"hb\"]");
        assert_int_equal(jit_strv_length(bytewise->fleet_hosts), 4);
}

static void t_from_json_takes_at_most_100_fleet_hosts(void **state)
{
        _cleanup_request_free_ struct jit_request *r = NULL;
        char *hosts = hosts_json(JIT_FLEET_HOSTS_MAX), *more = hosts_json(JIT_FLEET_HOSTS_MAX + 1);

        assert_int_equal(JIT_FLEET_HOSTS_MAX, 100);
        r = accepted_from(fleet_request, "fleet_hosts", hosts);
        assert_int_equal(jit_strv_length(r->fleet_hosts), 100);
        assert_string_equal(r->fleet_hosts[99], "h099");
        expect_refused_from(fleet_request, "fleet_hosts", more);
        free(hosts);
        free(more);
}

static void t_from_json_refuses_a_fleet_id_that_is_not_m(void **state)
{
        static const char *const bad[] = {
                "\"r-0123456789\"", "\"g-abcdefghjk\"", "\"M-abcdefghjk\"", "\"m_abcdefghjk\"",
                "\"m-abcdefghj\"", "\"m-abcdefghjkm\"", "\"m-ABCDEFGHJK\"", "\"m-abcdefghil\"", "\"m-../../etc\"",
                "12", "[\"m-abcdefghjk\"]",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_refused_from(fleet_request, "fleet_id", bad[i]);
}

static void t_from_json_refuses_a_fleet_request_without_a_ttl(void **state)
{
        _cleanup_request_free_ struct jit_request *one = NULL, *unasked = NULL;

        expect_refused_from(fleet_request, "fleet_ttl", "0");
        expect_refused_from(fleet_request, "fleet_ttl", NULL);
        expect_refused_from(fleet_request, "fleet_ttl", "-1");
        expect_refused_from(fleet_request, "fleet_ttl", "1.5");
        expect_refused_from(fleet_request, "fleet_ttl", "\"3600\"");
        expect_refused_from(fleet_request, "fleet_asked_us", "-1");
        expect_refused_from(fleet_request, "fleet_asked_us", "0.5");
        expect_refused_from(fleet_request, "fleet_asked_us", "\"1700000000123456\"");
        expect_refused_from(fleet_request, "origin", "7");
        one = accepted_from(fleet_request, "fleet_ttl", "1");
        assert_int_equal(one->fleet_ttl, 1);
        unasked = accepted_from(fleet_request, "fleet_asked_us", NULL);
        assert_int_equal(unasked->fleet_asked_us, 0);
}

/* A fleet decision names up to 100 hosts: its canonical text may hold
 * JIT_DECISION_MAX - 1 bytes (the signer's buffer keeps a NUL). */
static char *signed_decision_of(size_t canonical_len)
{
        size_t size = canonical_len + 512, off;
        char *s = malloc(size);

        assert_non_null(s);
        off = (size_t)snprintf(s, size, "{\"canonical\":\"");
        memset(s + off, 'c', canonical_len);
        off += canonical_len;
        snprintf(s + off, size - off, "\",\"signature\":\"%s\",\"key\":\"%s\"}", signed_by_carol.signature,
                 signed_by_carol.key);
        return s;
}

static void t_signed_decision_canonical_holds_up_to_8191_bytes(void **state)
{
        _cleanup_request_free_ struct jit_request *r = NULL, *back = NULL;
        char *most = signed_decision_of(JIT_DECISION_MAX - 1), *over = signed_decision_of(JIT_DECISION_MAX);
        cJSON *j, *wire;

        assert_int_equal(JIT_DECISION_MAX, 8192);
        r = accepted_from(fleet_request, "signed_decision", most);
        assert_int_equal(strlen(r->signed_decision.canonical), 8191);
        assert_string_equal(r->signed_decision.signature, signed_by_carol.signature);
        j = jit_request_to_json(r);
        assert_non_null(j);
        wire = through_text(j);
        assert_int_equal(jit_request_from_json(wire, &back), 0);
        assert_string_equal(back->signed_decision.canonical, r->signed_decision.canonical);
        expect_refused_from(fleet_request, "signed_decision", over);
        expect_refused_from(full_request, "signed_decision", over);
        cJSON_Delete(j);
        cJSON_Delete(wire);
        free(most);
        free(over);
}

/* ---- state machines ---------------------------------------------------- */

static void t_pending_request_moves_to_any_decision(void **state)
{
        static const enum jit_request_state to[] = {
                JIT_REQ_APPROVED, JIT_REQ_DENIED, JIT_REQ_LAPSED, JIT_REQ_CANCELLED,
        };

        for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
                struct jit_request r = { .state = JIT_REQ_PENDING };

                assert_int_equal(jit_request_transition(&r, to[i]), 0);
                assert_int_equal(r.state, to[i]);
        }
}

static void t_decided_request_never_changes_again(void **state)
{
        for (int from = JIT_REQ_APPROVED; from < _JIT_REQ_STATE_MAX; from++)
                for (int to = 0; to < _JIT_REQ_STATE_MAX; to++) {
                        struct jit_request r = { .state = (enum jit_request_state)from };

                        if (jit_request_transition(&r, (enum jit_request_state)to) != -EBUSY)
                                fail_msg("request %s -> %s was allowed",
                                         jit_request_state_to_string(from), jit_request_state_to_string(to));
                        assert_int_equal(r.state, from);
                }
}

static void t_approved_request_cannot_be_denied(void **state)
{
        struct jit_request r = { .state = JIT_REQ_PENDING };

        assert_int_equal(jit_request_transition(&r, JIT_REQ_APPROVED), 0);
        assert_int_equal(jit_request_transition(&r, JIT_REQ_DENIED), -EBUSY);
        assert_int_equal(r.state, JIT_REQ_APPROVED);
}

static void t_request_cannot_move_to_pending_or_out_of_range(void **state)
{
        struct jit_request r = { .state = JIT_REQ_PENDING };

        assert_int_equal(jit_request_transition(&r, JIT_REQ_PENDING), -EBUSY);
        assert_int_equal(jit_request_transition(&r, _JIT_REQ_STATE_MAX), -EBUSY);
        assert_int_equal(jit_request_transition(&r, (enum jit_request_state)-1), -EBUSY);
        assert_int_equal(r.state, JIT_REQ_PENDING);
}

static void t_active_grant_expires_or_is_revoked(void **state)
{
        struct jit_grant a = { .state = JIT_GRANT_ACTIVE }, b = { .state = JIT_GRANT_ACTIVE };

        assert_int_equal(jit_grant_transition(&a, JIT_GRANT_EXPIRED), 0);
        assert_int_equal(a.state, JIT_GRANT_EXPIRED);
        assert_int_equal(jit_grant_transition(&b, JIT_GRANT_REVOKED), 0);
        assert_int_equal(b.state, JIT_GRANT_REVOKED);
}

static void t_ended_grant_never_changes_again(void **state)
{
        struct jit_grant g = { .state = JIT_GRANT_ACTIVE };

        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_EXPIRED), 0);
        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_REVOKED), -EBUSY);
        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_EXPIRED), -EBUSY);
        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_ACTIVE), -EBUSY);
        assert_int_equal(g.state, JIT_GRANT_EXPIRED);

        g.state = JIT_GRANT_REVOKED;
        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_EXPIRED), -EBUSY);
        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_ACTIVE), -EBUSY);
        assert_int_equal(g.state, JIT_GRANT_REVOKED);
}

static void t_grant_cannot_move_to_active_or_out_of_range(void **state)
{
        struct jit_grant g = { .state = JIT_GRANT_ACTIVE };

        assert_int_equal(jit_grant_transition(&g, JIT_GRANT_ACTIVE), -EBUSY);
        assert_int_equal(jit_grant_transition(&g, _JIT_GRANT_STATE_MAX), -EBUSY);
        assert_int_equal(g.state, JIT_GRANT_ACTIVE);
}

static void t_grant_is_active_until_it_expires(void **state)
{
        struct jit_grant g = { .state = JIT_GRANT_ACTIVE, .created_us = 1000, .expires_us = 5000 };

        assert_true(jit_grant_is_active(&g, 1000));
        assert_true(jit_grant_is_active(&g, 4999));
        assert_false(jit_grant_is_active(&g, 5000));
        assert_false(jit_grant_is_active(&g, 5001));
        assert_false(jit_grant_is_active(&g, UINT64_MAX));
}

static void t_ended_grant_is_not_active_before_its_expiry(void **state)
{
        struct jit_grant expired = { .state = JIT_GRANT_EXPIRED, .expires_us = 5000 };
        struct jit_grant revoked = { .state = JIT_GRANT_REVOKED, .expires_us = 5000 };

        assert_false(jit_grant_is_active(&expired, 10));
        assert_false(jit_grant_is_active(&revoked, 10));
        assert_false(jit_grant_is_active(NULL, 10));
}

/* ---- ids ---------------------------------------------------------------- */

static void t_new_ids_are_valid_and_distinct(void **state)
{
        enum { N = 1000 };
        static char ids[N][JIT_ID_LEN + 1];

        for (int i = 0; i < N; i++) {
                char prefix = i % 2 ? 'g' : 'r';

                memset(ids[i], 0x7f, sizeof(ids[i]));
                assert_int_equal(jit_id_new(prefix, ids[i]), 0);
                assert_int_equal(strlen(ids[i]), JIT_ID_LEN);
                assert_int_equal(ids[i][0], prefix);
                assert_true(jit_id_is_valid(ids[i], prefix));
                assert_false(jit_id_is_valid(ids[i], prefix == 'r' ? 'g' : 'r'));
                assert_null(strpbrk(ids[i] + 2, "ilouILOU-"));
        }
        for (int i = 0; i < N; i++)
                for (int j = i + 1; j < N; j++)
                        if (strcmp(ids[i] + 2, ids[j] + 2) == 0)
                                fail_msg("id %s repeated", ids[i]);
}

static void t_new_ids_use_the_whole_alphabet(void **state)
{
        /* 10 characters of 5 random bits each: over 1000 ids every one of
         * the 32 characters shows up (missing one has odds below 1e-130). */
        static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
        bool seen[256] = { false };
        char id[JIT_ID_LEN + 1];

        for (int i = 0; i < 1000; i++) {
                assert_int_equal(jit_id_new('r', id), 0);
                for (size_t k = 2; k < JIT_ID_LEN; k++)
                        seen[(unsigned char)id[k]] = true;
        }
        for (size_t k = 0; k < sizeof(alphabet) - 1; k++)
                if (!seen[(unsigned char)alphabet[k]])
                        fail_msg("'%c' never appeared in 1000 ids", alphabet[k]);
}

static void t_id_validation(void **state)
{
        assert_true(jit_id_is_valid("r-0123456789", 'r'));
        assert_true(jit_id_is_valid("g-abcdefghjk", 'g'));
        assert_true(jit_id_is_valid("r-mnpqrstvwx", 'r'));
        assert_true(jit_id_is_valid("r-yz00000000", 'r'));
        assert_false(jit_id_is_valid("g-0123456789", 'r'));
        assert_false(jit_id_is_valid("r-012345678", 'r'));
        assert_false(jit_id_is_valid("r-01234567890", 'r'));
        assert_false(jit_id_is_valid("r0123456789x", 'r'));
        assert_false(jit_id_is_valid("r-0123456789\n", 'r'));
        assert_false(jit_id_is_valid("r-ABCDEFGHJK", 'r'));
        assert_false(jit_id_is_valid("r-iiiiiiiiii", 'r'));
        assert_false(jit_id_is_valid("r-llllllllll", 'r'));
        assert_false(jit_id_is_valid("r-oooooooooo", 'r'));
        assert_false(jit_id_is_valid("r-uuuuuuuuuu", 'r'));
        assert_false(jit_id_is_valid("r-01234/6789", 'r'));
        assert_false(jit_id_is_valid("r-0123 56789", 'r'));
        assert_false(jit_id_is_valid("", 'r'));
        assert_false(jit_id_is_valid(NULL, 'r'));
}

/* ---- envelope ------------------------------------------------------------ */

static char *sealed_request(size_t *ret_len)
{
        _cleanup_request_free_ struct jit_request *r = full_request();
        cJSON *j = jit_request_to_json(r);
        char *data = NULL;

        assert_non_null(j);
        assert_int_equal(jit_record_seal(j, &data, ret_len), 0);
        cJSON_Delete(j);
        return data;
}

static void expect_open_refused(const char *data, size_t len, const char *what, size_t where)
{
        cJSON *j = (cJSON *)(uintptr_t)1;
        int r = jit_record_open(data, len, &j);

        if (r != -EBADMSG)
                fail_msg("%s at %zu: want -EBADMSG, got %d", what, where, r);
        assert_ptr_equal(j, (cJSON *)(uintptr_t)1);
}

static void t_seal_then_open_gives_the_same_body(void **state)
{
        _cleanup_request_free_ struct jit_request *r = full_request(), *back = NULL;
        cJSON *j = jit_request_to_json(r), *opened = NULL;
        char *data = NULL;
        size_t len = 0;

        assert_int_equal(jit_record_seal(j, &data, &len), 0);
        assert_int_equal(len, strlen(data));
        assert_int_equal(jit_record_open(data, len, &opened), 0);
        assert_true(cJSON_Compare(j, opened, true));
        assert_int_equal(jit_request_from_json(opened, &back), 0);
        assert_request_same(r, back);
        cJSON_Delete(j);
        cJSON_Delete(opened);
        free(data);
}

static void t_sealed_record_has_the_documented_form(void **state)
{
        size_t len;
        char *data = sealed_request(&len);
        const size_t magic = strlen("jit-record 1 ");

        assert_memory_equal(data, "jit-record 1 ", magic);
        for (size_t i = magic; i < magic + 64; i++)
                assert_non_null(strchr("0123456789abcdef", data[i]));
        assert_int_equal(data[magic + 64], '\n');
        assert_int_equal(data[magic + 65], '{');
        assert_int_equal(data[len - 1], '\n');
        assert_null(memchr(data + magic + 65, '\n', len - magic - 66));  /* body is one line */
        free(data);
}

static void t_any_single_byte_flip_is_detected(void **state)
{
        static const unsigned char masks[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff };
        size_t len;
        char *data = sealed_request(&len);
        char *copy = malloc(len);

        assert_non_null(copy);
        for (size_t i = 0; i < len; i++)
                for (size_t m = 0; m < sizeof(masks); m++) {
                        memcpy(copy, data, len);
                        copy[i] = (char)(copy[i] ^ masks[m]);
                        expect_open_refused(copy, len, "byte flip", i);
                }
        free(copy);
        free(data);
}

static void t_any_truncation_is_detected(void **state)
{
        size_t len;
        char *data = sealed_request(&len);

        for (size_t l = 0; l < len; l++) {
                char *copy = malloc(l + 1);     /* exact size, so ASan sees overreads */

                assert_non_null(copy);
                memcpy(copy, data, l);
                expect_open_refused(copy, l, "truncation", l);
                free(copy);
        }
        free(data);
}

static void t_any_appended_byte_is_detected(void **state)
{
        static const char extra[] = { '\n', ' ', '}', 'x', '\0', '0', '\r' };
        size_t len;
        char *data = sealed_request(&len);
        char *copy = malloc(len + 1);

        assert_non_null(copy);
        for (size_t i = 0; i < sizeof(extra); i++) {
                memcpy(copy, data, len);
                copy[len] = extra[i];
                expect_open_refused(copy, len + 1, "appended byte", (size_t)(unsigned char)extra[i]);
        }
        free(copy);
        free(data);
}

static void t_well_hashed_body_that_is_not_json_is_refused(void **state)
{
        static const char body[] = "{\"id\":";
        unsigned char h[crypto_generichash_BYTES];
        char hex[2 * crypto_generichash_BYTES + 1], data[256];
        cJSON *j = NULL;
        int n;

        assert_true(sodium_init() >= 0);
        crypto_generichash(h, sizeof(h), (const unsigned char *)body, strlen(body), NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        n = snprintf(data, sizeof(data), "jit-record 1 %s\n%s\n", hex, body);
        assert_int_equal(jit_record_open(data, (size_t)n, &j), -EBADMSG);
        assert_null(j);

        /* the same construction with a JSON body opens: the check above is real */
        crypto_generichash(h, sizeof(h), (const unsigned char *)"{}", 2, NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        n = snprintf(data, sizeof(data), "jit-record 1 %s\n{}\n", hex);
        assert_int_equal(jit_record_open(data, (size_t)n, &j), 0);
        assert_true(cJSON_IsObject(j));
        cJSON_Delete(j);
}

static void t_seal_refuses_a_body_over_the_size_limit(void **state)
{
        char *big = malloc(JIT_RECORD_MAX_SIZE + 1);
        cJSON *j = cJSON_CreateObject();
        char *data = NULL;
        size_t len = 0;

        assert_non_null(big);
        memset(big, 'a', JIT_RECORD_MAX_SIZE);
        big[JIT_RECORD_MAX_SIZE] = '\0';
        assert_non_null(cJSON_AddStringToObject(j, "comment", big));
        assert_int_equal(jit_record_seal(j, &data, &len), -EFBIG);
        assert_null(data);
        cJSON_Delete(j);
        free(big);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_request_json_round_trip_keeps_every_field),
                cmocka_unit_test(t_minimal_request_round_trip_keeps_absent_fields_absent),
                cmocka_unit_test(t_request_round_trip_keeps_approvals_with_signatures_review_and_history),
                cmocka_unit_test(t_add_approval_takes_copies),
                cmocka_unit_test(t_add_approval_refuses_more_than_the_maximum),
                cmocka_unit_test(t_grant_json_round_trip_keeps_every_field),
                cmocka_unit_test(t_grant_round_trip_keeps_how_it_ends_its_task_and_bindings),
                cmocka_unit_test(t_request_round_trip_keeps_task_single_use_and_either_binding),
                cmocka_unit_test(t_minimal_request_leaves_task_single_use_and_bind_unset),
                cmocka_unit_test(t_minimal_grant_leaves_end_single_use_task_and_bindings_unset),
                cmocka_unit_test(t_end_grace_is_written_with_an_end_even_when_zero),
                cmocka_unit_test(t_every_request_state_round_trips),
                cmocka_unit_test(t_every_grant_state_round_trips),
                cmocka_unit_test(t_state_names),
                cmocka_unit_test(t_from_json_rejects_wrong_types),
                cmocka_unit_test(t_from_json_reads_the_first_of_a_repeated_name),
                cmocka_unit_test(t_from_json_reads_an_object_with_very_many_members),
                cmocka_unit_test(t_from_json_rejects_missing_required_fields),
                cmocka_unit_test(t_from_json_rejects_bad_ids),
                cmocka_unit_test(t_from_json_rejects_bad_states),
                cmocka_unit_test(t_from_json_rejects_oversized_fields),
                cmocka_unit_test(t_from_json_rejects_bad_new_request_fields),
                cmocka_unit_test(t_from_json_rejects_bind_other_than_session_or_unit),
                cmocka_unit_test(t_from_json_rejects_wrong_types_of_task_end_and_binding_fields),
                cmocka_unit_test(t_from_json_refuses_task_end_and_binding_strings_over_their_maximum),
                cmocka_unit_test(t_from_json_rejects_non_objects),
                cmocka_unit_test(t_request_round_trip_keeps_its_fleet_fields),
                cmocka_unit_test(t_request_without_fleet_fields_prints_none_and_parses),
                cmocka_unit_test(t_from_json_refuses_some_of_the_fleet_fields),
                cmocka_unit_test(t_from_json_refuses_fleet_hosts_unsorted_or_twice),
                cmocka_unit_test(t_from_json_takes_at_most_100_fleet_hosts),
                cmocka_unit_test(t_from_json_refuses_a_fleet_id_that_is_not_m),
                cmocka_unit_test(t_from_json_refuses_a_fleet_request_without_a_ttl),
                cmocka_unit_test(t_signed_decision_canonical_holds_up_to_8191_bytes),
                cmocka_unit_test(t_pending_request_moves_to_any_decision),
                cmocka_unit_test(t_decided_request_never_changes_again),
                cmocka_unit_test(t_approved_request_cannot_be_denied),
                cmocka_unit_test(t_request_cannot_move_to_pending_or_out_of_range),
                cmocka_unit_test(t_active_grant_expires_or_is_revoked),
                cmocka_unit_test(t_ended_grant_never_changes_again),
                cmocka_unit_test(t_grant_cannot_move_to_active_or_out_of_range),
                cmocka_unit_test(t_grant_is_active_until_it_expires),
                cmocka_unit_test(t_ended_grant_is_not_active_before_its_expiry),
                cmocka_unit_test(t_new_ids_are_valid_and_distinct),
                cmocka_unit_test(t_new_ids_use_the_whole_alphabet),
                cmocka_unit_test(t_id_validation),
                cmocka_unit_test(t_seal_then_open_gives_the_same_body),
                cmocka_unit_test(t_sealed_record_has_the_documented_form),
                cmocka_unit_test(t_any_single_byte_flip_is_detected),
                cmocka_unit_test(t_any_truncation_is_detected),
                cmocka_unit_test(t_any_appended_byte_is_detected),
                cmocka_unit_test(t_well_hashed_body_that_is_not_json_is_refused),
                cmocka_unit_test(t_seal_refuses_a_body_over_the_size_limit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
