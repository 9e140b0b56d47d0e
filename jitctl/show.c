/* jitctl show ID — everything about one request or grant. */
#include "jitctl.h"
#include "duration.h"
#include "escape.h"
#include "proto.h"
#include "record.h"

#include <stdio.h>
#include <string.h>

/* Every value is escaped: reasons, comments, commands and names are
 * users' words, shown to approvers. */
static void line(const char *k, const char *v)
{
        if (!v)
                return;
        printf("%-12s ", k);
        jit_put_text(stdout, v);
        putchar('\n');
}

static void state_line(const char *state)
{
        const char *sgr = jit_state_colour(state);

        if (!state)
                return;
        printf("%-12s %s", "State:", sgr ? sgr : "");
        jit_put_text(stdout, state);
        printf("%s\n", sgr ? "\033[0m" : "");
}

static void list_line(const char *k, const cJSON *arr, const char *sep)
{
        char buf[2048];
        size_t off = 0;
        const cJSON *e;

        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
                return;
        buf[0] = '\0';
        cJSON_ArrayForEach(e, arr)
                if (cJSON_IsString(e) && off < sizeof(buf))
                        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? sep : "", e->valuestring);
        line(k, buf);
}

/* "%sre" in the JSON is "members of sre" for people. */
static void approvers_line(const cJSON *arr)
{
        char buf[2048];
        size_t off = 0;
        const cJSON *e;

        buf[0] = '\0';
        cJSON_ArrayForEach(e, arr)
                if (cJSON_IsString(e) && off < sizeof(buf))
                        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s%s", off ? ", " : "",
                                                e->valuestring[0] == '%' ? "members of " : "",
                                                e->valuestring + (e->valuestring[0] == '%'));
        if (off)
                line("Approvers:", buf);
}

static void time_line(const char *k, uint64_t us, uint64_t now)
{
        char b[64];

        if (!us)
                return;
        jit_format_when(b, sizeof(b), us, now);
        line(k, b);
}

static void show_request(const cJSON *r, const cJSON *ans, uint64_t now)
{
        char ttl[16] = "?";
        const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(r, "policy_reasons"), *e;

        (void)jit_duration_format(ttl, sizeof(ttl), jit_json_u64(r, "ttl"));
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r, "policy_reason_ids");
        const cJSON *apps = cJSON_GetObjectItemCaseSensitive(r, "approvals");
        char risk[64], need[64];
        int i = 0;

        line("Request:", jit_json_str(r, "id"));
        line("Kind:", jit_json_str(r, "kind"));
        line("Extends:", jit_json_str(r, "extends"));
        state_line(jit_json_str(r, "state"));
        line("User:", jit_json_str(r, "user"));
        line("Role:", jit_json_str(r, "role"));
        line("Group:", jit_json_str(r, "group"));
        line("TTL:", ttl);
        line("Via:", jit_json_str(r, "service"));
        line("From host:", jit_json_str(r, "rhost"));
        line("TTY:", jit_json_str(r, "tty"));
        line("Unit:", jit_json_str(r, "unit"));
        line("Session:", jit_json_str(r, "session"));
        line("Run as:", jit_json_str(r, "target_user"));
        list_line("Command:", cJSON_GetObjectItemCaseSensitive(r, "command"), " ");
        line("Reason:", jit_json_str(r, "reason"));
        time_line("Asked:", jit_json_u64(r, "created_us"), now);
        if (strcmp(jit_json_str(r, "state") ? jit_json_str(r, "state") : "", "pending") == 0)
                time_line("Lapses:", jit_json_u64(r, "deadline_us"), now);
        line("Policy said:", jit_json_str(r, "policy_action"));
        line("Tier:", jit_json_str(r, "tier"));
        if (jit_json_u64(r, "approvals_needed") > 1) {
                snprintf(need, sizeof(need), "%zu of %llu (one at least from security)",
                         (size_t)cJSON_GetArraySize(apps), (unsigned long long)jit_json_u64(r, "approvals_needed"));
                line("Approvals:", need);
        }
        snprintf(risk, sizeof(risk), "%llu", (unsigned long long)jit_json_u64(r, "risk"));
        line("Risk:", risk);
        line("Policy rule:", jit_json_str(r, "policy_rule"));
        cJSON_ArrayForEach(e, reasons) {
                const cJSON *id = cJSON_GetArrayItem(ids, i++);

                if (!cJSON_IsString(e))
                        continue;
                if (cJSON_IsString(id)) {
                        char shown[128];

                        (void)jit_escape_text(shown, sizeof(shown), id->valuestring);
                        printf("%-12s %-26s ", "Why:", shown);
                        jit_put_text(stdout, e->valuestring);
                        putchar('\n');
                } else
                        line("Why:", e->valuestring);
        }
        cJSON_ArrayForEach(e, apps)
                line("Approved by:", jit_json_str(e, "by"));
        line("Review:", jit_json_str(r, "review_state"));
        line("Reviewed by:", jit_json_str(r, "review_by"));
        line("Review note:", jit_json_str(r, "review_comment"));
        approvers_line(cJSON_GetObjectItemCaseSensitive(ans, "approvers"));
        line("Decided by:", jit_json_str(r, "decided_by"));
        time_line("Decided:", jit_json_u64(r, "decided_at_us"), now);
        line("Comment:", jit_json_str(r, "comment"));
        line("Grant:", jit_json_str(r, "grant_id"));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "you_may_approve")) &&
            strcmp(jit_json_str(r, "state") ? jit_json_str(r, "state") : "", "pending") == 0 &&
            jit_id_is_valid(jit_json_str(r, "id"), 'r'))
                printf("\nYou may decide: jitctl approve %s  |  jitctl deny %s --reason TEXT\n",
                       jit_json_str(r, "id"), jit_json_str(r, "id"));
}

static void show_grant(const cJSON *g, uint64_t now)
{
        line("Grant:", jit_json_str(g, "id"));
        state_line(jit_json_str(g, "state"));
        line("User:", jit_json_str(g, "user"));
        line("Role:", jit_json_str(g, "role"));
        line("Group:", jit_json_str(g, "group"));
        line("Approved by:", jit_json_str(g, "approved_by"));
        line("Request:", jit_json_str(g, "request_id"));
        time_line("Granted:", jit_json_u64(g, "created_us"), now);
        time_line("Expires:", jit_json_u64(g, "expires_us"), now);
        time_line("Ended:", jit_json_u64(g, "ended_us"), now);
        line("Ended by:", jit_json_str(g, "ended_by"));
        line("Tier:", jit_json_str(g, "tier"));
        line("Task:", jit_json_str(g, "task"));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "single_use")))
                line("Single use:", "yes: ends at its first use");
        line("Bound to:", jit_json_str(g, "bound_session") ? jit_json_str(g, "bound_session") : jit_json_str(g, "bound_unit"));
        line("At its end:", jit_json_str(g, "end"));
        line("Timer:", jit_json_str(g, "timer"));
}

int verb_show(int argc, char **argv)
{
        cJSON *req, *ans = NULL;
        const cJSON *r, *g;
        uint64_t now;
        int rc;

        if (argc != 2 || argv[1][0] == '-')
                return jit_usage_error("usage: jitctl show REQUEST|GRANT");
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_SHOW);
        cJSON_AddStringToObject(req, "id", argv[1]);
        rc = jit_call(req, 10000, &ans);
        if (rc)
                return rc;
        if (jit_g.json || jit_exit_for(ans) != JIT_EXIT_OK) {
                rc = jit_print_outcome(ans);
                cJSON_Delete(ans);
                return rc;
        }
        now = jit_json_u64(ans, "now_us");
        r = cJSON_GetObjectItemCaseSensitive(ans, "request");
        g = cJSON_GetObjectItemCaseSensitive(ans, "grant");
        if (r)
                show_request(r, ans, now);
        if (r && g)
                putchar('\n');
        if (g)
                show_grant(g, now);
        cJSON_Delete(ans);
        return JIT_EXIT_OK;
}
