/* jitctl reconcile — ask the service for a reconcile pass now (root; run
 * by jit-reconcile.timer): expired grants stripped, lost timers recreated,
 * members of managed groups that no grant explains removed, what still
 * holds an ended grant's group ended. */
#include "jitctl.h"
#include "proto.h"

#include <stdio.h>

int verb_reconcile(int argc, char **argv)
{
        cJSON *req, *ans = NULL;
        int r;

        if (argc != 1)
                return jit_usage_error("usage: jitctl reconcile");
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_RECONCILE);
        r = jit_call(req, 60000, &ans);
        if (r)
                return r;
        r = jit_print_outcome(ans);
        cJSON_Delete(ans);
        return r;
}
