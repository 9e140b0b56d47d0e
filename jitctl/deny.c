/* jitctl deny REQUEST --reason TEXT — refuse a request (approvers). */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>


int verb_deny(int argc, char **argv)
{
        static const struct option lo[] = {
                { "reason", required_argument, NULL, 'r' },
                {}
        };
        const char *reason = NULL;
        cJSON *extra;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                if (c != 'r')
                        return JIT_EXIT_USAGE;
                reason = optarg;
        }
        if (optind + 1 != argc || !reason || !*reason)
                return jit_usage_error("usage: jitctl deny REQUEST --reason TEXT (the requester sees the reason)");
        extra = cJSON_CreateObject();
        cJSON_AddStringToObject(extra, "reason", reason);
        return jit_simple_call(JIT_OP_DENY, argv[optind], extra);
}
