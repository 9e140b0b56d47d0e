/* jitctl --fleet list|show|approve|deny|audit verify — the fleet's queue,
 * through this host's jit-fleet (/run/jit/fleet.sock), which mirrors the
 * store. Decisions are signed here, with the approver's own key, over the
 * other host's name; that host checks them as it checks its own. */
#include "jitctl.h"
#include "audit.h"
#include "cleanup.h"
#include "decision.h"
#include "proto.h"
#include "record.h"
#include "safeio.h"
#include "spool.h"
#include "strv.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLEET_SOCKET "/run/jit/fleet.sock"
#define FLEET_CALL_MS 10000
#define FLEET_BATCH 16          /* decisions per call to jit-fleet (and per store transaction) */

static void jsonp(cJSON **p) { cJSON_Delete(*p); }

/* --fleet-socket; else the approver's own jit-fleet (jit-fleet --approver,
 * $XDG_RUNTIME_DIR/jit-fleet.sock, theirs) when it runs; else the host's. */
static const char *fleet_socket(void)
{
        static char own[256];
        const char *run = secure_getenv("XDG_RUNTIME_DIR");
        struct stat st;

        if (jit_g.fleet_socket)
                return jit_g.fleet_socket;
        if (run && run[0] == '/' && (size_t)snprintf(own, sizeof(own), "%s/jit-fleet.sock", run) < sizeof(own) &&
            lstat(own, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == getuid())
                return own;
        return FLEET_SOCKET;
}

static int fleet_call(cJSON *req, cJSON **ret)
{
        const char *path = fleet_socket();
        _cleanup_close_ int fd = jit_proto_connect(path);
        uid_t peer = (uid_t)-1;
        gid_t pg;
        pid_t pp;
        int r;

        if (fd < 0) {
                cJSON_Delete(req);
                return jit_fail(JIT_EXIT_UNAVAILABLE, "cannot reach jit-fleet at %s: %s (is this host enrolled and "
                                "jit-fleet running? see jit-fleet(8))", path, strerror(-fd));
        }
        /* what it lists is what we sign: root's jit-fleet, or our own */
        if (jit_proto_peer(fd, &pp, &peer, &pg) < 0 || (peer != 0 && peer != getuid())) {
                cJSON_Delete(req);
                return jit_fail(JIT_EXIT_FORBIDDEN, "%s is served by uid %d, neither root nor you: not using it", path,
                                (int)peer);
        }
        r = jit_proto_send(fd, req, FLEET_CALL_MS);
        cJSON_Delete(req);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_ANSWER, FLEET_CALL_MS, ret);
        if (r < 0)
                return jit_fail(JIT_EXIT_UNAVAILABLE, "jit-fleet did not answer: %s", strerror(-r));
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(*ret, "ok"))) {
                r = jit_fail(JIT_EXIT_ERROR, "%s", jit_json_str(*ret, "error") ? jit_json_str(*ret, "error") : "refused");
                cJSON_Delete(*ret);
                *ret = NULL;
                return r;
        }
        return 0;
}

/* What to ask jit-fleet's op list for: one kind (NULL: all), requests on
 * one host, of one role or user, by id or fleet id (ids; more than
 * FLEET_IDS_MAX: all). The answer is bounded; asking only for what is
 * needed keeps it whole. */
#define FLEET_IDS_MAX 256
struct fleet_query {
        const char *kind;
        const char *host, *role, *user;
        char *const *ids;
};

static int fleet_list_raw(const struct fleet_query *fq, cJSON **ret)
{
        cJSON *q = cJSON_CreateObject(), *kinds = NULL, *ids = NULL;
        bool ok = q && cJSON_AddStringToObject(q, "op", "list");

        if (ok && fq->kind)
                ok = (kinds = cJSON_AddArrayToObject(q, "kinds")) && cJSON_AddItemToArray(kinds, cJSON_CreateString(fq->kind));
        if (ok && fq->host)
                ok = cJSON_AddStringToObject(q, "host", fq->host);
        if (ok && fq->role)
                ok = cJSON_AddStringToObject(q, "role", fq->role);
        if (ok && fq->user)
                ok = cJSON_AddStringToObject(q, "user", fq->user);
        if (ok && fq->ids && jit_strv_length(fq->ids) <= FLEET_IDS_MAX) {
                ok = (ids = cJSON_AddArrayToObject(q, "ids"));
                for (size_t i = 0; ok && fq->ids[i]; i++)
                        ok = cJSON_AddItemToArray(ids, cJSON_CreateString(fq->ids[i]));
        }
        if (!ok) {
                cJSON_Delete(q);
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        }
        return fleet_call(q, ret);
}

/* What jit-fleet holds of one kind for ids, FLEET_IDS_MAX ids at a
 * time, in one answer (the first's, with the others' entries added). */
static int fleet_list_ids(const char *kind, char *const *ids, cJSON **ret)
{
        size_t n = jit_strv_length(ids), at = 0;
        cJSON *all = NULL;

        do {
                _cleanup_strv_free_ char **part = NULL;
                cJSON *ans = NULL, *to, *from, *x;
                int rc;

                for (size_t i = at; i < n && i < at + FLEET_IDS_MAX; i++)
                        if (jit_strv_push(&part, ids[i]) < 0) {
                                cJSON_Delete(all);
                                return jit_fail(JIT_EXIT_ERROR, "out of memory");
                        }
                rc = fleet_list_raw(&(struct fleet_query){ .kind = kind, .ids = part ?: (char *[]){ NULL } }, &ans);
                if (rc) {
                        cJSON_Delete(all);
                        return rc;
                }
                if (!all)
                        all = ans;
                else {
                        to = cJSON_GetObjectItemCaseSensitive(all, kind);
                        from = cJSON_GetObjectItemCaseSensitive(ans, kind);
                        while ((x = cJSON_DetachItemFromArray(from, 0)))
                                if (!cJSON_AddItemToArray(to, x))
                                        cJSON_Delete(x);
                        cJSON_Delete(ans);
                }
                at += FLEET_IDS_MAX;
        } while (at < n);
        *ret = all;
        return 0;
}

/* The ids of [HOST/]ID references (one that is no request or fleet id
 * names nothing: left out, and found nowhere). */
static char **ref_ids(char *const *refs, int n)
{
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));

        for (int i = 0; v && i < n; i++) {
                const char *slash = strchr(refs[i], '/'), *id = slash ? slash + 1 : refs[i];

                if ((jit_id_is_valid(id, 'r') || jit_id_is_valid(id, 'm')) && jit_strv_push(&v, id) < 0)
                        return NULL;
        }
        return TAKE_PTR(v);
}

static bool matches(const char *filter, const char *v)
{
        return !filter || (v && strcmp(filter, v) == 0);
}

static int fleet_list(int argc, char **argv)
{
        static const struct option lo[] = {
                { "host", required_argument, NULL, 'H' },
                { "role", required_argument, NULL, 'r' },
                { "user", required_argument, NULL, 'u' },
                {}
        };
        static const char *const head[] = { "HOST", "REQUEST", "USER", "ROLE", "TIER", "APPROVALS", "LAPSES", "REASON" };
        const char *host = NULL, *role = NULL, *user = NULL;
        _cleanup_(jsonp) cJSON *ans = NULL;
        struct jit_table t = { .head = head, .n_cols = 8, .max_cell = 200, .state_col = -1 };
        const cJSON *r;
        uint64_t now;
        struct timespec ts;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'H': host = optarg; break;
                case 'r': role = optarg; break;
                case 'u': user = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind != argc)
                return jit_usage_error("usage: jitctl --fleet list [--host H] [--role R] [--user U]");
        c = fleet_list_raw(&(struct fleet_query){ .kind = jit_g.json ? NULL : "requests", .host = host, .role = role,
                                                  .user = user }, &ans);
        if (c)
                return c;
        if (jit_json_u64(cJSON_GetObjectItemCaseSensitive(ans, "left_out"), "requests"))
                fprintf(stderr, "jitctl: %llu more pending requests are not shown (the answer would be too large): "
                        "narrow the list with --host, --role or --user\n",
                        (unsigned long long)jit_json_u64(cJSON_GetObjectItemCaseSensitive(ans, "left_out"), "requests"));
        if (strcmp(jit_json_str(ans, "store") ? jit_json_str(ans, "store") : "", "ok") != 0)
                fprintf(stderr, "jitctl: the fleet store is unreachable from %s (%s): this is its last known queue\n",
                        jit_json_str(ans, "host"), jit_json_str(ans, "store"));
        if (jit_g.json) {
                cJSON *list = cJSON_GetObjectItemCaseSensitive(ans, "requests"), *next;

                for (cJSON *e = list ? list->child : NULL; e; e = next) {
                        next = e->next;
                        if (!matches(host, jit_json_str(e, "host")) || !matches(role, jit_json_str(e, "role")) ||
                            !matches(user, jit_json_str(e, "user")))
                                cJSON_Delete(cJSON_DetachItemViaPointer(list, e));
                }
                jit_print_json(ans);
                return JIT_EXIT_OK;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ans, "requests")) {
                char appr[32], when[64];
                const char *row[8];

                if (!matches(host, jit_json_str(r, "host")) || !matches(role, jit_json_str(r, "role")) ||
                    !matches(user, jit_json_str(r, "user")))
                        continue;
                snprintf(appr, sizeof(appr), "%d/%llu", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "approvals")),
                         (unsigned long long)(jit_json_u64(r, "approvals_needed") ? jit_json_u64(r, "approvals_needed") : 1));
                jit_format_when(when, sizeof(when), jit_json_u64(r, "deadline_us"), now);
                row[0] = jit_json_str(r, "host");
                /* a part of a request for several hosts is decided by its fleet id */
                row[1] = jit_json_str(r, "fleet_id") ? jit_json_str(r, "fleet_id") : jit_json_str(r, "id");
                row[2] = jit_json_str(r, "user");
                row[3] = jit_json_str(r, "role");
                row[4] = jit_json_str(r, "tier");
                row[5] = appr;
                row[6] = jit_json_u64(r, "deadline_us") ? when : NULL;
                row[7] = jit_json_str(r, "reason");
                if (jit_table_add(&t, row) < 0) {
                        jit_table_free(&t);
                        return jit_fail(JIT_EXIT_ERROR, "out of memory");
                }
        }
        if (t.n_rows)
                jit_table_print(&t);
        else
                printf("No pending requests in the fleet%s.\n", host || role || user ? " that match" : "");
        jit_table_free(&t);
        return JIT_EXIT_OK;
}

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int jit_fleet_request(const char *role, uint64_t ttl, const char *reason, const char *hosts)
{
        _cleanup_(jsonp) cJSON *ans = NULL;
        const cJSON *h;
        cJSON *q = cJSON_CreateObject();
        char id[JIT_ID_LEN + 1];
        uint64_t until;
        size_t n = 0, heard = 0, pending = 0;
        int rc;

        if (!q || !cJSON_AddStringToObject(q, "op", "request") || !cJSON_AddStringToObject(q, "role", role) ||
            !cJSON_AddNumberToObject(q, "ttl", (double)ttl) || !cJSON_AddStringToObject(q, "hosts", hosts) ||
            (reason && !cJSON_AddStringToObject(q, "reason", reason))) {
                cJSON_Delete(q);
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        }
        rc = fleet_call(q, &ans);
        if (rc)
                return rc;
        snprintf(id, sizeof(id), "%s", jit_json_str(ans, "id") ? jit_json_str(ans, "id") : "");
        n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ans, "hosts"));
        if (!jit_g.json) {
                printf("Request %s for role %s on %zu host%s:", id, role, n, n == 1 ? "" : "s");
                cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(ans, "hosts"))
                        printf(" %s", h->valuestring);
                printf("\nEach host judges it by its own policy; one approval (jitctl --fleet approve %s) "
                       "signs the whole list.\n", id);
        }
        /* what each host did with it: a few seconds to hear */
        until = mono_ms() + 10000;
        for (;;) {
                _cleanup_(jsonp) cJSON *l = NULL;
                const cJSON *o;

                heard = pending = 0;
                rc = fleet_list_raw(&(struct fleet_query){ .kind = "opened", .ids = (char *[]){ id[0] ? id : NULL, NULL } },
                                    &l);
                if (rc)
                        return rc;
                cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(l, "opened"))
                        if (matches(id, jit_json_str(o, "fleet_id"))) {
                                heard++;
                                pending += matches("pending", jit_json_str(o, "outcome"));
                        }
                if (heard >= n || mono_ms() >= until) {
                        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(ans, "hosts")) {
                                const cJSON *got = NULL;

                                cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(l, "opened"))
                                        if (matches(id, jit_json_str(o, "fleet_id")) &&
                                            matches(h->valuestring, jit_json_str(o, "host")))
                                                got = o;
                                if (jit_g.json)
                                        continue;
                                if (!got)
                                        printf("  %-20s not heard from yet (unreachable? it opens the request "
                                               "when it reads the store again)\n", h->valuestring);
                                else if (matches("refused", jit_json_str(got, "outcome")))
                                        printf("  %-20s refused: %s\n", h->valuestring,
                                               jit_json_str(got, "error") ? jit_json_str(got, "error") : "no reason given");
                                else
                                        printf("  %-20s %s as %s\n", h->valuestring, jit_json_str(got, "outcome"),
                                               jit_json_str(got, "id") ? jit_json_str(got, "id") : "?");
                        }
                        if (jit_g.json) {
                                cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(l, "opened");

                                if (list)
                                        cJSON_AddItemToObject(ans, "opened", list);
                                jit_print_json(ans);
                        }
                        break;
                }
                usleep(50 * 1000);
        }
        return pending ? JIT_EXIT_PENDING : heard == n ? JIT_EXIT_DENIED : JIT_EXIT_UNAVAILABLE;
}

/* [HOST/]ID in the list: exactly one. */
static const cJSON *find_request(const cJSON *ans, const char *ref, int *rc)
{
        const char *slash = strchr(ref, '/');
        const cJSON *r, *found = NULL;
        int n = 0;

        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ans, "requests")) {
                const char *h = jit_json_str(r, "host"), *id = jit_json_str(r, "id");
                const char *fid = jit_json_str(r, "fleet_id");      /* a part of a request for several hosts */

                if (!h || !id)
                        continue;
                if (slash ? strncmp(ref, h, (size_t)(slash - ref)) == 0 && h[slash - ref] == '\0' &&
                                    (strcmp(slash + 1, id) == 0 || (fid && strcmp(slash + 1, fid) == 0))
                          : strcmp(ref, id) == 0 || (fid && strcmp(ref, fid) == 0)) {
                        found = r;
                        n++;
                }
        }
        if (n == 1)
                return found;
        *rc = n ? jit_fail(JIT_EXIT_USAGE, "%s is pending on %d hosts: name one as HOST/%s", ref, n, ref)
                : jit_fail(JIT_EXIT_NOTFOUND, "no pending request %s in the fleet (decided, lapsed, or not yours to see)", ref);
        return NULL;
}

static void print_field(const char *k, const char *v)
{
        if (!v)
                return;
        printf("%-12s ", k);
        jit_put_text(stdout, v);
        putchar('\n');
}

static int fleet_show(int argc, char **argv)
{
        _cleanup_(jsonp) cJSON *ans = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        const cJSON *r, *it;
        int rc = 0;
        char num[32];

        if (argc != 2)
                return jit_usage_error("usage: jitctl --fleet show [HOST/]REQUEST");
        ids = ref_ids(argv + 1, 1);
        if (!ids)
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        rc = fleet_list_raw(&(struct fleet_query){ .kind = "requests", .ids = ids }, &ans);
        if (rc)
                return rc;
        r = find_request(ans, argv[1], &rc);
        if (!r)
                return rc;
        if (jit_g.json) {
                jit_print_json(r);
                return JIT_EXIT_OK;
        }
        print_field("host", jit_json_str(r, "host"));
        print_field("request", jit_json_str(r, "id"));
        print_field("fleet id", jit_json_str(r, "fleet_id"));
        print_field("asked on", jit_json_str(r, "origin"));
        print_field("hosts", jit_json_str(r, "sign_host"));     /* what one approval signs */
        print_field("user", jit_json_str(r, "user"));
        print_field("role", jit_json_str(r, "role"));
        print_field("group", jit_json_str(r, "sign_group"));
        snprintf(num, sizeof(num), "%llus", (unsigned long long)jit_json_u64(r, "sign_ttl"));
        print_field("ttl", num);
        print_field("tier", jit_json_str(r, "tier"));
        snprintf(num, sizeof(num), "%llu", (unsigned long long)jit_json_u64(r, "risk"));
        print_field("risk", num);
        print_field("reason", jit_json_str(r, "reason"));
        print_field("service", jit_json_str(r, "service"));
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "policy_reasons"))
                if (cJSON_IsString(it))
                        print_field("why", it->valuestring);
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "approvals"))
                print_field("approved by", jit_json_str(it, "by"));
        return JIT_EXIT_OK;
}

struct sent {
        char *host, *id;
        double rev;             /* the decision's revision in the store */
        int rc;                 /* -1: not confirmed yet */
};

/* Wait for each host to say what it did with our decision on its request. */
static int await_results(struct sent *sent, size_t n, const char *me, const char *origin, uint64_t timeout_s)
{
        _cleanup_strv_free_ char **ids = NULL;
        struct timespec ts;
        uint64_t until;
        size_t left = n;
        int worst = JIT_EXIT_OK;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        until = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + timeout_s * 1000;
        while (left) {
                _cleanup_(jsonp) cJSON *ans = NULL;
                const cJSON *x;
                int rc;

                /* what is still to hear about */
                jit_strv_free(ids);
                ids = NULL;
                for (size_t i = 0; i < n; i++)
                        if (sent[i].rc < 0 && !jit_strv_contains(ids, sent[i].id) && jit_strv_push(&ids, sent[i].id) < 0)
                                return jit_fail(JIT_EXIT_ERROR, "out of memory");
                rc = fleet_list_ids("results", ids, &ans);
                if (rc)
                        return rc;
                cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(ans, "results")) {
                        const char *outcome = jit_json_str(x, "outcome");

                        if (!outcome || !matches(me, jit_json_str(x, "approver")) ||
                            !matches(origin, jit_json_str(x, "origin")))
                                continue;
                        for (size_t i = 0; i < n; i++) {
                                const cJSON *rev = cJSON_GetObjectItemCaseSensitive(x, "rev");

                                if (sent[i].rc >= 0 || !matches(sent[i].host, jit_json_str(x, "host")) ||
                                    !matches(sent[i].id, jit_json_str(x, "id")) ||
                                    (sent[i].rev > 0 && (!cJSON_IsNumber(rev) || rev->valuedouble != sent[i].rev)))
                                        continue;       /* another decision's result (an older one) */
                                left--;
                                if (strcmp(outcome, "refused") == 0) {
                                        sent[i].rc = jit_fail(JIT_EXIT_FORBIDDEN, "%s refused the decision on %s: %s",
                                                              sent[i].host, sent[i].id,
                                                              jit_json_str(x, "error") ? jit_json_str(x, "error") : "no reason given");
                                        worst = JIT_EXIT_FORBIDDEN;
                                        continue;
                                }
                                sent[i].rc = JIT_EXIT_OK;
                                if (jit_g.json)
                                        jit_print_json(x);
                                else
                                        printf("%s %s the decision on request %s.\n", sent[i].host,
                                               strcmp(outcome, "recorded") == 0 ? "recorded (more approvals needed)"
                                                                                : "applied", sent[i].id);
                        }
                }
                if (!left)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                if ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 >= until)
                        break;
                usleep(20 * 1000);
        }
        for (size_t i = 0; i < n; i++)
                if (sent[i].rc < 0) {
                        fprintf(stderr, "jitctl: the decision on %s is in the fleet store, but %s has not confirmed it "
                                "within %llus (unreachable?): it applies it when it reads the store again\n",
                                sent[i].id, sent[i].host, (unsigned long long)timeout_s);
                        if (worst == JIT_EXIT_OK)
                                worst = JIT_EXIT_PENDING;
                }
        return worst;
}

/* A signed decision (f, sig) on request id of host, as jit-fleet takes it. */
static cJSON *decision_json(const struct jit_decision_fields *f, const char *sig, const char *host, const char *id,
                            const char *comment)
{
        cJSON *d = cJSON_CreateObject();

        if (!d || !cJSON_AddNumberToObject(d, "v", 1) ||
            !cJSON_AddStringToObject(d, "host", host) || !cJSON_AddStringToObject(d, "id", id) ||
            !cJSON_AddStringToObject(d, "approver", f->approver) || !cJSON_AddStringToObject(d, "decision", f->decision) ||
            !cJSON_AddNumberToObject(d, "ttl", (double)f->ttl) || !cJSON_AddNumberToObject(d, "time_us", (double)f->time_us) ||
            !cJSON_AddStringToObject(d, "nonce", f->nonce) || !cJSON_AddStringToObject(d, "signature", sig) ||
            (comment && !cJSON_AddStringToObject(d, "comment", comment))) {
                cJSON_Delete(d);
                return NULL;
        }
        return d;
}

/* Hand jit-fleet one decision ("decision") or several ("decisions", one
 * transaction in the store); *ret_rev: their revision there. Takes d. */
static int write_decisions(cJSON *d, bool many, double *ret_rev)
{
        _cleanup_(jsonp) cJSON *put = NULL;
        const cJSON *rev;
        cJSON *q = cJSON_CreateObject();
        int rc;

        if (!d || !q || !cJSON_AddStringToObject(q, "op", "decide") ||
            !cJSON_AddItemToObject(q, many ? "decisions" : "decision", d)) {
                cJSON_Delete(d);
                cJSON_Delete(q);
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        }
        rc = fleet_call(q, &put);
        rev = cJSON_GetObjectItemCaseSensitive(put, "revision");
        *ret_rev = rc == 0 && cJSON_IsNumber(rev) ? rev->valuedouble : 0;
        return rc;
}

/* The fields a published request is signed over: for a part of a request
 * for several hosts, its fleet id, every host it names, group "*" and the
 * TTL asked (the same for each part, so one signature decides them all). */
static int sign_published(const cJSON *r, const char *decision, const char *me, const unsigned char sk[64],
                          struct jit_decision_fields *f, char sig[129])
{
        bool multi = jit_json_str(r, "fleet_id") != NULL;

        *f = (struct jit_decision_fields){
                .decision = decision, .request = multi ? jit_json_str(r, "sign_request") : jit_json_str(r, "id"),
                .requester = jit_json_str(r, "user"), .role = jit_json_str(r, "role"), .approver = me,
                .host = multi ? jit_json_str(r, "sign_host") : jit_json_str(r, "host"),
        };
        if (multi || strcmp(decision, "approve") == 0) {
                f->group = jit_json_str(r, "sign_group");
                f->ttl = jit_json_u64(r, "sign_ttl");
        } else {
                f->group = jit_json_str(r, "group");
                f->ttl = jit_json_u64(r, "ttl");
        }
        if (!f->request || !f->requester || !f->host || !f->role || !f->group || jit_sign_fields_with(f, sk, sig) < 0)
                return jit_fail(JIT_EXIT_ERROR, "the published request %s cannot be signed",
                                jit_json_str(r, "id") ? jit_json_str(r, "id") : "?");
        return 0;
}

/* The parts of a request for several hosts visible in the list: they must
 * agree on what is signed. The first is returned; NULL (rc set) if none. */
static const cJSON *find_multi(const cJSON *ans, const char *ref, int *rc)
{
        const cJSON *r, *first = NULL;

        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ans, "requests")) {
                if (!matches(ref, jit_json_str(r, "fleet_id")))
                        continue;
                if (!first) {
                        first = r;
                        continue;
                }
                if (!matches(jit_json_str(first, "sign_host"), jit_json_str(r, "sign_host")) ||
                    !matches(jit_json_str(first, "user"), jit_json_str(r, "user")) ||
                    !matches(jit_json_str(first, "role"), jit_json_str(r, "role")) ||
                    jit_json_u64(first, "sign_ttl") != jit_json_u64(r, "sign_ttl")) {
                        *rc = jit_fail(JIT_EXIT_CONFLICT, "the hosts of %s do not agree on what it asks (%s and %s): "
                                       "nothing was signed", ref, jit_json_str(first, "host"), jit_json_str(r, "host"));
                        return NULL;
                }
        }
        if (!first)
                *rc = jit_fail(JIT_EXIT_NOTFOUND, "no host has %s pending (decided, lapsed, not opened yet, or not "
                               "yours to see)", ref);
        return first;
}

static bool find_multi_quiet(const cJSON *ans, const char *ref)
{
        const cJSON *r;

        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ans, "requests"))
                if (matches(ref, jit_json_str(r, "fleet_id")))
                        return true;
        return false;
}

struct todo_sign {
        const cJSON *r;         /* the published request (for several hosts: one of its parts) */
        const char *ref;
};

static int add_sent(struct sent **sent, size_t *n, const char *host, const char *id, double rev, int rc)
{
        struct sent *x = realloc(*sent, (*n + 1) * sizeof(**sent));

        if (!x)
                return -ENOMEM;
        *sent = x;
        x[(*n)++] = (struct sent){ .host = strdup(host), .id = strdup(id), .rev = rev, .rc = rc };
        return x[*n - 1].host && x[*n - 1].id ? 0 : -ENOMEM;
}

/* Decisions on requests of one host each, signed and not written yet:
 * written FLEET_BATCH at a time, in one store transaction per call. */
struct plain_batch {
        cJSON *list;
        size_t first;           /* their entries in sent[] */
};

static int flush_plain(struct plain_batch *b, const char *decision, struct sent *sent, size_t n_sent)
{
        double rev = 0;
        int e;

        if (!b->list)
                return 0;
        e = write_decisions(b->list, true, &rev);       /* takes the list */
        b->list = NULL;
        for (size_t i = b->first; i < n_sent; i++) {
                sent[i].rev = rev;
                sent[i].rc = e ? e : -1;
                if (!e && !jit_g.json)
                        printf("Signed %s of %s on %s written to the fleet store.\n", decision, sent[i].id, sent[i].host);
        }
        b->first = n_sent;
        return e;
}

/* Sign one published request (or request for several hosts) and write the
 * decision for each host it names. */
static int decide_one(const struct todo_sign *t, const char *decision, const char *me, const char *comment,
                      const unsigned char sk[64], struct plain_batch *b, struct sent **sent, size_t *n_sent)
{
        struct jit_decision_fields f;
        _cleanup_free_ char *hosts = NULL;
        cJSON *list;
        size_t first;
        char sig[129];
        int rc = sign_published(t->r, decision, me, sk, &f, sig), worst = 0;

        if (rc)
                return rc;
        if (!jit_json_str(t->r, "fleet_id")) {
                cJSON *d = decision_json(&f, sig, f.host, f.request, comment);

                if (!b->list) {
                        b->list = cJSON_CreateArray();
                        b->first = *n_sent;
                }
                if (!d || !b->list || !cJSON_AddItemToArray(b->list, d)) {
                        cJSON_Delete(d);
                        return jit_fail(JIT_EXIT_ERROR, "out of memory");
                }
                if (add_sent(sent, n_sent, f.host, f.request, 0, -1) < 0)
                        return jit_fail(JIT_EXIT_ERROR, "out of memory");
                return cJSON_GetArraySize(b->list) == FLEET_BATCH ? flush_plain(b, decision, *sent, *n_sent) : 0;
        }
        rc = flush_plain(b, decision, *sent, *n_sent);
        if (rc)
                worst = rc;
        /* one signature, a copy for every host it names (those not heard
         * from yet read theirs when they open the request), a transaction
         * per FLEET_BATCH copies (one call stays well under the 64 KiB a
         * request to jit-fleet may have, comments of 1 KiB included) */
        hosts = strdup(f.host);
        if (!hosts)
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        list = NULL;
        first = *n_sent;
        for (char *save = NULL, *h = strtok_r(hosts, ",", &save);; h = strtok_r(NULL, ",", &save)) {
                cJSON *d;

                if (list && (!h || cJSON_GetArraySize(list) == FLEET_BATCH)) {
                        double rev = 0;
                        int e = write_decisions(list, true, &rev);      /* takes list */

                        list = NULL;
                        for (size_t i = first; i < *n_sent; i++) {
                                (*sent)[i].rev = rev;
                                (*sent)[i].rc = e ? e : -1;
                        }
                        first = *n_sent;
                        if (e)
                                worst = e;
                }
                if (!h)
                        break;
                if (!list && !(list = cJSON_CreateArray()))
                        return jit_fail(JIT_EXIT_ERROR, "out of memory");
                d = decision_json(&f, sig, h, f.request, comment);
                if (!d || !cJSON_AddItemToArray(list, d)) {
                        cJSON_Delete(d);
                        d = NULL;
                }
                if (!d || add_sent(sent, n_sent, h, f.request, 0, -1) < 0) {
                        cJSON_Delete(list);
                        return jit_fail(JIT_EXIT_ERROR, "out of memory");
                }
        }
        if (worst)
                return worst;
        if (!jit_g.json)
                printf("Signed %s of %s (role %s for %s on %s) written to the fleet store.\n", decision, f.request,
                       f.role, f.requester, f.host);
        return worst;
}

/* approve|deny REF...: one unlock of the approver's key, a signed decision
 * per request, each written to the store; then each host's answer. */
static int fleet_decide(int argc, char **argv, const char *decision)
{
        static const struct option lo[] = {
                { "comment", required_argument, NULL, 'c' },
                { "reason", required_argument, NULL, 'c' },
                { "passphrase-file", required_argument, NULL, 'p' },
                { "key", required_argument, NULL, 'k' },
                { "timeout", required_argument, NULL, 't' },
                {}
        };
        const char *comment = NULL, *passfile = NULL, *keyfile = NULL;
        _cleanup_(jsonp) cJSON *ans = NULL;
        _cleanup_free_ char *me = NULL, *origin = NULL;
        _cleanup_free_ struct todo_sign *todo = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        struct plain_batch batch = { 0 };
        struct sent *sent = NULL;
        struct passwd *pw = getpwuid(getuid());
        unsigned char sk[64];
        uint64_t timeout_s = 10;
        size_t n = 0, n_sent = 0;
        int c, rc = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'c': comment = optarg; break;
                case 'p': passfile = optarg; break;
                case 'k': keyfile = optarg; break;
                case 't': if (jit_parse_duration_arg(optarg, &timeout_s)) return JIT_EXIT_USAGE; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind >= argc || (strcmp(decision, "deny") == 0 && (!comment || !*comment)))
                return jit_usage_error("usage: jitctl --fleet %s [HOST/]REQUEST|FLEET-ID... %s [--passphrase-file FILE] "
                                       "[--key FILE] [--timeout S]", decision,
                                       strcmp(decision, "deny") == 0 ? "--reason TEXT (the requester reads it)"
                                                                     : "[--comment TEXT]");
        if (!pw)
                return jit_fail(JIT_EXIT_FORBIDDEN, "your uid has no user name");
        ids = ref_ids(argv + optind, argc - optind);
        if (!ids)
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        rc = fleet_list_ids("requests", ids, &ans);
        if (rc)
                return rc;
        me = strdup(pw->pw_name);
        origin = strdup(jit_json_str(ans, "host") ?: "");
        todo = calloc((size_t)(argc - optind), sizeof(*todo));
        if (!me || !origin || !todo)
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        for (uint64_t until = mono_ms() + 5000;;) {
                /* a request for several hosts just asked: its parts are
                 * published a moment after each host opens them */
                bool retry = false;

                for (int i = optind; i < argc && !retry; i++)
                        retry = jit_id_is_valid(argv[i], 'm') && !find_multi_quiet(ans, argv[i]) &&
                                mono_ms() < until;
                if (!retry)
                        break;
                usleep(100 * 1000);
                cJSON_Delete(ans);
                ans = NULL;
                rc = fleet_list_ids("requests", ids, &ans);
                if (rc)
                        return rc;
        }
        for (int i = optind; i < argc; i++) {
                bool again = false;

                todo[n].ref = argv[i];
                todo[n].r = jit_id_is_valid(argv[i], 'm') ? find_multi(ans, argv[i], &rc) : find_request(ans, argv[i], &rc);
                if (!todo[n].r)
                        return rc;
                for (size_t k = 0; k < n; k++)
                        again |= todo[k].r == todo[n].r;        /* named twice: decided once */
                n += !again;
        }
        rc = jit_unlock_key(keyfile, passfile, sk);
        if (rc < 0)
                return jit_fail(rc == -EKEYREJECTED ? JIT_EXIT_FORBIDDEN : JIT_EXIT_ERROR, "cannot sign: %s",
                                jit_sign_why(rc));
        rc = JIT_EXIT_OK;
        for (size_t i = 0; i < n; i++) {
                int e = decide_one(&todo[i], decision, me, comment, sk, &batch, &sent, &n_sent);

                if (e)
                        rc = e;
        }
        if ((c = flush_plain(&batch, decision, sent, n_sent)))
                rc = c;
        sodium_memzero(sk, sizeof(sk));
        {
                /* those written: wait for their hosts */
                size_t w = 0;

                for (size_t i = 0; i < n_sent; i++)
                        if (sent[i].rc < 0)
                                sent[w++] = sent[i];
                        else {
                                free(sent[i].host);
                                free(sent[i].id);
                        }
                if (w) {
                        int e = await_results(sent, w, me, origin, timeout_s);

                        if (rc == JIT_EXIT_OK)
                                rc = e;
                }
                for (size_t i = 0; i < w; i++) {
                        free(sent[i].host);
                        free(sent[i].id);
                }
                free(sent);
        }
        return rc;
}

/* The local log (or a copy of another host's) against the heads that host
 * published: a head whose line is missing or hashes otherwise means the
 * log was cut or rewritten after it was published. */
static int fleet_audit(int argc, char **argv)
{
        static const struct option lo[] = {
                { "file", required_argument, NULL, 'f' },
                { "host", required_argument, NULL, 'H' },
                {}
        };
        const char *file = JIT_SPOOL_DIR "/audit.log", *host = NULL;
        _cleanup_free_ char *log = NULL;
        _cleanup_(jsonp) cJSON *ans = NULL;
        char hostname[256] = "";
        uint64_t lines = 0, checked = 0, bad = 0;
        size_t len = 0;
        const cJSON *h;
        cJSON *q;
        int c, rc;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'f': file = optarg; break;
                case 'H': host = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc || strcmp(argv[optind], "verify") != 0)
                return jit_usage_error("usage: jitctl --fleet audit verify [--file LOG] [--host HOST]");
        if (!host) {
                (void)gethostname(hostname, sizeof(hostname) - 1);
                host = hostname;
        }
        if (file[0] != '/')
                return jit_usage_error("--file takes an absolute path");
        rc = jit_safeio_read_path(file, 1024LL * 1024 * 1024, 0, &log, &len);
        if (rc < 0)
                return jit_fail(rc == -EACCES ? JIT_EXIT_FORBIDDEN : JIT_EXIT_ERROR, "cannot read %s: %s", file,
                                strerror(-rc));
        q = cJSON_CreateObject();
        if (!q || !cJSON_AddStringToObject(q, "op", "heads") || !cJSON_AddStringToObject(q, "host", host)) {
                cJSON_Delete(q);
                return jit_fail(JIT_EXIT_ERROR, "out of memory");
        }
        rc = fleet_call(q, &ans);
        if (rc)
                return rc;
        {
                /* in the order of their keys (the sequence number): each
                 * created after the one before it, or it was deleted and
                 * written again later */
                uint64_t prev_seq = 0, prev_rev = 0;

                cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(ans, "heads")) {
                        uint64_t seq = jit_json_u64(h, "seq"), rev = jit_json_u64(h, "create_revision");

                        if (prev_rev && rev && rev < prev_rev) {
                                bad++;
                                fprintf(stderr, "%s: the head for line %llu was created in the fleet store after the "
                                        "head for line %llu: it was deleted and written again there\n", host,
                                        (unsigned long long)prev_seq, (unsigned long long)seq);
                        }
                        prev_seq = seq;
                        prev_rev = rev;
                }
        }
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(ans, "heads")) {
                uint64_t seq = jit_json_u64(h, "seq"), n = 0;
                const char *want = jit_json_str(h, "hash");
                char got[JIT_AUDIT_HASH_HEX + 1] = "";
                size_t off = 0;

                if (!seq || !want)
                        continue;
                checked++;
                if (jit_json_u64(h, "version") > 1) {
                        bad++;
                        fprintf(stderr, "%s: the head for line %llu was written %llu times in the fleet store: heads are "
                                "written once, so it was rewritten there\n", host, (unsigned long long)seq,
                                (unsigned long long)jit_json_u64(h, "version"));
                        continue;
                }
                while (off < len && n < seq) {
                        const char *nl = memchr(log + off, '\n', len - off);
                        size_t ll = nl ? (size_t)(nl - (log + off)) : len - off, body;

                        n++;
                        if (n == seq && jit_audit_split_line(log + off, ll, &body, got) == 0) {
                                /* the line as it is now, not the hash it claims */
                                unsigned char hb[32];

                                crypto_generichash(hb, sizeof(hb), (const unsigned char *)log + off, body, NULL, 0);
                                sodium_bin2hex(got, sizeof(got), hb, sizeof(hb));
                        } else if (n == seq)
                                got[0] = '\0';
                        off += ll + 1;
                }
                if (n < seq || strcmp(got, want) != 0) {
                        bad++;
                        fprintf(stderr, "%s: line %llu: %s (published by %s as %.16s...)\n", file, (unsigned long long)seq,
                                n < seq ? "missing: the log was cut after this head was published"
                                        : "differs from the head published: the log was rewritten", host, want);
                }
        }
        for (size_t i = 0; i < len; i++)
                lines += log[i] == '\n';
        if (jit_g.json)
                printf("{\"ok\":%s,\"host\":\"%s\",\"lines\":%llu,\"heads_checked\":%llu,\"heads_bad\":%llu}\n",
                       bad ? "false" : "true", host, (unsigned long long)lines, (unsigned long long)checked,
                       (unsigned long long)bad);
        else if (!bad)
                printf("%s: %llu lines agree with the %llu heads %s published to the fleet store.\n", file,
                       (unsigned long long)lines, (unsigned long long)checked, host);
        return bad ? JIT_EXIT_TAMPERED : checked ? JIT_EXIT_OK : jit_fail(JIT_EXIT_NOTFOUND, "%s has published no audit head", host);
}

int verb_fleet(int argc, char **argv)
{
        if (argc < 1)
                return jit_usage_error("usage: jitctl --fleet list|show|approve|deny|audit ...");
        if (strcmp(argv[0], "list") == 0)
                return fleet_list(argc, argv);
        if (strcmp(argv[0], "show") == 0)
                return fleet_show(argc, argv);
        if (strcmp(argv[0], "approve") == 0)
                return fleet_decide(argc, argv, "approve");
        if (strcmp(argv[0], "deny") == 0)
                return fleet_decide(argc, argv, "deny");
        if (strcmp(argv[0], "audit") == 0)
                return fleet_audit(argc, argv);
        return jit_usage_error("jitctl --fleet takes list, show, approve, deny or audit verify, not \"%s\"", argv[0]);
}
