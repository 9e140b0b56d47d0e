/* jitctl extend GRANT --for DURATION — renewal is a fresh decision: a new
 * request for the same role, judged now, that replaces the grant only if
 * it is granted. Never a silent extension. */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>
#include <stdio.h>

int verb_extend(int argc, char **argv)
{
        static const struct option lo[] = {
                { "for", required_argument, NULL, 'f' },
                { "reason", required_argument, NULL, 'r' },
                { "wait", no_argument, NULL, 'w' },
                { "timeout", required_argument, NULL, 't' },
                {}
        };
        const char *reason = NULL;
        uint64_t ttl = 0, timeout = 900;
        bool wait = false;
        cJSON *req;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'f': if (jit_parse_duration_arg(optarg, &ttl)) return JIT_EXIT_USAGE; break;
                case 'r': reason = optarg; break;
                case 'w': wait = true; break;
                case 't': if (jit_parse_duration_arg(optarg, &timeout)) return JIT_EXIT_USAGE; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc || !ttl)
                return jit_usage_error("usage: jitctl extend GRANT --for DURATION [--reason TEXT] [--wait [--timeout DURATION]]");
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_REQUEST);
        cJSON_AddStringToObject(req, "extends", argv[optind]);
        cJSON_AddNumberToObject(req, "ttl", (double)ttl);
        if (reason)
                cJSON_AddStringToObject(req, "reason", reason);
        return jit_request_send(req, wait, timeout);
}
