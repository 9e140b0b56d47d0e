/* jitctl list — pending requests and active grants you may see. */
#include "jitctl.h"
#include "duration.h"
#include "proto.h"
#include "strv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "sudo: /usr/bin/systemctl restart nginx", or the reason of a request
 * made ahead; escaped with the rest of the row. */
static void describe(char *what, size_t size, const cJSON *r)
{
        const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(r, "command"), *a;
        const char *svc = jit_json_str(r, "service"), *reason = jit_json_str(r, "reason");
        size_t off;

        if (!cJSON_IsArray(cmd)) {
                snprintf(what, size, "%s%s%s", svc ? svc : "?", reason ? ": " : "", reason ? reason : "");
                return;
        }
        off = (size_t)snprintf(what, size, "%s:", svc ? svc : "?");
        cJSON_ArrayForEach(a, cmd)
                if (off < size && cJSON_IsString(a))
                        off += (size_t)snprintf(what + off, size - off, " %s", a->valuestring);
}

static int print_requests(const cJSON *reqs, uint64_t now)
{
        static const char *const head[] = { "REQUEST", "STATE", "USER", "ROLE", "TTL", "ASKED", "FOR" };
        struct jit_table t = { .head = head, .n_cols = 7, .max_cell = 200, .state_col = 1 };
        const cJSON *r;
        int e = 0;

        cJSON_ArrayForEach(r, reqs) {
                char ttl[16] = "?", when[48], what[1024];

                (void)jit_duration_format(ttl, sizeof(ttl), jit_json_u64(r, "ttl"));
                jit_format_when(when, sizeof(when), jit_json_u64(r, "created_us"), now);
                describe(what, sizeof(what), r);
                e = e ? e : jit_table_add(&t, (const char *const[]){ jit_json_str(r, "id"), jit_json_str(r, "state"),
                                                                   jit_json_str(r, "user"), jit_json_str(r, "role"),
                                                                   ttl, when, what });
        }
        if (!e)
                jit_table_print(&t);
        jit_table_free(&t);
        return e;
}

static int print_grants(const cJSON *grants, uint64_t now)
{
        static const char *const head[] = { "GRANT", "STATE", "USER", "ROLE", "GROUP", "UNTIL", "BY" };
        struct jit_table t = { .head = head, .n_cols = 7, .max_cell = 200, .state_col = 1 };
        const cJSON *g;
        int e = 0;

        cJSON_ArrayForEach(g, grants) {
                char until[48];

                jit_format_when(until, sizeof(until), jit_json_u64(g, "expires_us"), now);
                e = e ? e : jit_table_add(&t, (const char *const[]){ jit_json_str(g, "id"), jit_json_str(g, "state"),
                                                                   jit_json_str(g, "user"), jit_json_str(g, "role"),
                                                                   jit_json_str(g, "group"), until,
                                                                   jit_json_str(g, "approved_by") });
        }
        if (!e)
                jit_table_print(&t);
        jit_table_free(&t);
        return e;
}

int verb_list(int argc, char **argv)
{
        static const struct option lo[] = {
                { "active", no_argument, NULL, 'a' },
                { "all", no_argument, NULL, 'A' },
                {}
        };
        bool active = false, all = false;
        cJSON *req, *ans = NULL;
        const cJSON *reqs, *grants;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                if (c == 'a')
                        active = true;
                else if (c == 'A')
                        all = true;
                else
                        return JIT_EXIT_USAGE;
        }
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_LIST);
        cJSON_AddBoolToObject(req, "active", active);
        cJSON_AddBoolToObject(req, "all", all);
        r = jit_call(req, 10000, &ans);
        if (r)
                return r;
        if (jit_g.json || jit_exit_for(ans) != JIT_EXIT_OK) {
                r = jit_print_outcome(ans);
                cJSON_Delete(ans);
                return r;
        }
        reqs = cJSON_GetObjectItemCaseSensitive(ans, "requests");
        grants = cJSON_GetObjectItemCaseSensitive(ans, "grants");
        r = print_requests(reqs, jit_json_u64(ans, "now_us"));
        if (cJSON_GetArraySize(reqs) && cJSON_GetArraySize(grants))
                putchar('\n');
        r = r ? r : print_grants(grants, jit_json_u64(ans, "now_us"));
        if (!cJSON_GetArraySize(reqs) && !cJSON_GetArraySize(grants))
                printf("%s\n", active ? "No active grants." : "No pending requests or active grants.");
        if (jit_json_u64(ans, "requests_left_out") || jit_json_u64(ans, "grants_left_out"))
                printf("(the newest shown: %llu older requests and %llu older grants left out; "
                       "jitctl audit show for the whole history)\n",
                       (unsigned long long)jit_json_u64(ans, "requests_left_out"),
                       (unsigned long long)jit_json_u64(ans, "grants_left_out"));
        cJSON_Delete(ans);
        return r ? jit_fail(JIT_EXIT_ERROR, "out of memory") : JIT_EXIT_OK;
}
