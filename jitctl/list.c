/* jitctl list — pending requests and active grants you may see. */
#include "jitctl.h"
#include "duration.h"
#include "proto.h"
#include "strv.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void clean(char *s)
{
        for (; s && *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        *s = '?';
}

static void print_requests(const cJSON *reqs, uint64_t now)
{
        const cJSON *r;

        if (cJSON_GetArraySize(reqs) == 0)
                return;
        printf("%-13s %-9s %-12s %-10s %-6s %-18s %s\n", "REQUEST", "STATE", "USER", "ROLE", "TTL", "ASKED", "FOR");
        cJSON_ArrayForEach(r, reqs) {
                char ttl[16] = "?", when[48], what[256];
                const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(r, "command");
                const char *svc = jit_json_str(r, "service");

                (void)jit_duration_format(ttl, sizeof(ttl), jit_json_u64(r, "ttl"));
                jit_format_when(when, sizeof(when), jit_json_u64(r, "created_us"), now);
                if (cJSON_IsArray(cmd)) {
                        const cJSON *a;
                        size_t off = (size_t)snprintf(what, sizeof(what), "%s:", svc ? svc : "?");

                        cJSON_ArrayForEach(a, cmd)
                                if (off < sizeof(what) && cJSON_IsString(a))
                                        off += (size_t)snprintf(what + off, sizeof(what) - off, " %s", a->valuestring);
                } else {
                        snprintf(what, sizeof(what), "%s%s%s", svc ? svc : "?",
                                 jit_json_str(r, "reason") ? ": " : "",
                                 jit_json_str(r, "reason") ? jit_json_str(r, "reason") : "");
                }
                clean(what);
                printf("%-13s %-9s %-12s %-10s %-6s %-18s %s\n", jit_json_str(r, "id"), jit_json_str(r, "state"),
                       jit_json_str(r, "user"), jit_json_str(r, "role"), ttl, when, what);
        }
}

static void print_grants(const cJSON *grants, uint64_t now)
{
        const cJSON *g;

        if (cJSON_GetArraySize(grants) == 0)
                return;
        printf("%-13s %-8s %-12s %-10s %-14s %-22s %s\n", "GRANT", "STATE", "USER", "ROLE", "GROUP", "UNTIL", "BY");
        cJSON_ArrayForEach(g, grants) {
                char until[48];

                jit_format_when(until, sizeof(until), jit_json_u64(g, "expires_us"), now);
                printf("%-13s %-8s %-12s %-10s %-14s %-22s %s\n", jit_json_str(g, "id"), jit_json_str(g, "state"),
                       jit_json_str(g, "user"), jit_json_str(g, "role"), jit_json_str(g, "group"), until,
                       jit_json_str(g, "approved_by") ? jit_json_str(g, "approved_by") : "-");
        }
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
        print_requests(reqs, jit_json_u64(ans, "now_us"));
        if (cJSON_GetArraySize(reqs) && cJSON_GetArraySize(grants))
                putchar('\n');
        print_grants(grants, jit_json_u64(ans, "now_us"));
        if (!cJSON_GetArraySize(reqs) && !cJSON_GetArraySize(grants))
                printf("%s\n", active ? "No active grants." : "No pending requests or active grants.");
        cJSON_Delete(ans);
        return JIT_EXIT_OK;
}
