/* jitctl approve REQUEST — grant what was asked (approvers of the role). */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>


int verb_approve(int argc, char **argv)
{
        static const struct option lo[] = {
                { "for", required_argument, NULL, 'f' },
                { "comment", required_argument, NULL, 'c' },
                { "passphrase-file", required_argument, NULL, 'p' },
                { "key", required_argument, NULL, 'k' },
                {}
        };
        const char *comment = NULL, *passfile = NULL, *keyfile = NULL;
        uint64_t ttl = 0;
        cJSON *extra;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'f': if (jit_parse_duration_arg(optarg, &ttl)) return JIT_EXIT_USAGE; break;
                case 'c': comment = optarg; break;
                case 'p': passfile = optarg; break;
                case 'k': keyfile = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc)
                return jit_usage_error("usage: jitctl approve REQUEST [--for DURATION] [--comment TEXT] [--passphrase-file FILE] [--key FILE]");
        extra = cJSON_CreateObject();
        if (ttl)
                cJSON_AddNumberToObject(extra, "ttl", (double)ttl);
        if (comment)
                cJSON_AddStringToObject(extra, "comment", comment);
        c = jit_sign_into(extra, argv[optind], "approve", ttl, keyfile, passfile);
        if (c) {
                cJSON_Delete(extra);
                return c;
        }
        return jit_simple_call(JIT_OP_APPROVE, argv[optind], extra);
}
