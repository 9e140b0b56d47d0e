/* jitctl deny REQUEST --reason TEXT — refuse a request (approvers). */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>


int verb_deny(int argc, char **argv)
{
        static const struct option lo[] = {
                { "reason", required_argument, NULL, 'r' },
                { "passphrase-file", required_argument, NULL, 'p' },
                { "key", required_argument, NULL, 'k' },
                {}
        };
        const char *reason = NULL, *passfile = NULL, *keyfile = NULL;
        cJSON *extra;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'r': reason = optarg; break;
                case 'p': passfile = optarg; break;
                case 'k': keyfile = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc || !reason || !*reason)
                return jit_usage_error("usage: jitctl deny REQUEST --reason TEXT (the requester sees the reason)");
        extra = cJSON_CreateObject();
        cJSON_AddStringToObject(extra, "reason", reason);
        c = jit_sign_into(extra, argv[optind], "deny", 0, keyfile, passfile);
        if (c) {
                cJSON_Delete(extra);
                return c;
        }
        return jit_simple_call(JIT_OP_DENY, argv[optind], extra);
}
