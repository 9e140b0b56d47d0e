/* Shared by approve, deny, cancel, revoke, expire: one call about one id. */
#include "jitctl.h"

#include <stdio.h>
#include <string.h>


int jit_simple_call(const char *op, const char *id, cJSON *extra)
{
        cJSON *req = extra ? extra : cJSON_CreateObject(), *ans = NULL;
        int r;

        cJSON_AddStringToObject(req, "op", op);
        cJSON_AddStringToObject(req, "id", id);
        r = jit_call(req, 30000, &ans);
        if (r)
                return r;
        r = jit_exit_for(ans);
        /* A denial or cancellation that was carried out is a success here. */
        if ((strcmp(op, "deny") == 0 || strcmp(op, "cancel") == 0) &&
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok")))
                r = JIT_EXIT_OK;
        r = jit_print_outcome_as(ans, r);
        if (!jit_g.json && r == JIT_EXIT_OK && !jit_json_str(ans, "message")) {
                const cJSON *g = cJSON_GetObjectItemCaseSensitive(ans, "grant");

                if (g)
                        printf("grant %s: %s%s\n", jit_json_str(g, "id"), jit_json_str(g, "state"),
                               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "already")) ? " (already)" : "");
        }
        cJSON_Delete(ans);
        return r;
}
