/* jitctl review list | review ID --comment TEXT — close the review a
 * break-glass leaves open (someone other than the one who broke it). */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int review_list(void)
{
        static const char *const head[] = { "REVIEW", "USER", "ROLE", "WHEN", "REASON" };
        struct jit_table t = { .head = head, .n_cols = 5, .max_cell = 200, .state_col = -1 };
        cJSON *req = cJSON_CreateObject(), *ans = NULL;
        const cJSON *reqs, *r;
        uint64_t now;
        int rc, e = 0;

        cJSON_AddStringToObject(req, "op", JIT_OP_LIST);
        cJSON_AddTrueToObject(req, "reviews");
        rc = jit_call(req, 10000, &ans);
        if (rc)
                return rc;
        if (jit_g.json || jit_exit_for(ans) != JIT_EXIT_OK) {
                rc = jit_print_outcome(ans);
                cJSON_Delete(ans);
                return rc;
        }
        now = jit_json_u64(ans, "now_us");
        reqs = cJSON_GetObjectItemCaseSensitive(ans, "requests");
        cJSON_ArrayForEach(r, reqs) {
                char when[64];

                if (!jit_json_str(r, "review_state") || strcmp(jit_json_str(r, "review_state"), "open") != 0)
                        continue;
                jit_format_when(when, sizeof(when), jit_json_u64(r, "created_us"), now);
                e = e ? e : jit_table_add(&t, (const char *const[]){ jit_json_str(r, "id"), jit_json_str(r, "user"),
                                                                   jit_json_str(r, "role"), when,
                                                                   jit_json_str(r, "reason") });
        }
        if (!e)
                jit_table_print(&t);    /* users' words escaped */
        if (!e && !t.n_rows)
                printf("No open break-glass reviews.\n");
        jit_table_free(&t);
        cJSON_Delete(ans);
        return e ? jit_fail(JIT_EXIT_ERROR, "out of memory") : JIT_EXIT_OK;
}

int verb_review(int argc, char **argv)
{
        static const struct option lo[] = {
                { "comment", required_argument, NULL, 'c' },
                {}
        };
        const char *comment = NULL;
        cJSON *extra;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'c': comment = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 == argc && strcmp(argv[optind], "list") == 0 && !comment)
                return review_list();
        if (optind + 1 != argc || !comment)
                return jit_usage_error("usage: jitctl review list | jitctl review REQUEST --comment TEXT");
        extra = cJSON_CreateObject();
        cJSON_AddStringToObject(extra, "comment", comment);
        return jit_simple_call(JIT_OP_REVIEW, argv[optind], extra);
}
