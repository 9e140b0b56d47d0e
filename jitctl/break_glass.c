/* jitctl break-glass ROLE --reason TEXT — the emergency path: on call,
 * granted at once without an approver, for the role's short break-glass
 * TTL, on the caller's own signed statement (unlocking the sealed key is
 * the fresh authentication), logged at alert priority, reviewed later. */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int verb_break_glass(int argc, char **argv)
{
        static const struct option lo[] = {
                { "reason", required_argument, NULL, 'r' },
                { "for", required_argument, NULL, 'f' },
                { "passphrase-file", required_argument, NULL, 'p' },
                { "key", required_argument, NULL, 'k' },
                {}
        };
        const char *reason = NULL, *passfile = NULL, *keyfile = NULL;
        char id[32];
        uint64_t ttl = 0;
        cJSON *req, *ans = NULL, *extra;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'r': reason = optarg; break;
                case 'f': if (jit_parse_duration_arg(optarg, &ttl)) return JIT_EXIT_USAGE; break;
                case 'p': passfile = optarg; break;
                case 'k': keyfile = optarg; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc || !reason)
                return jit_usage_error("usage: jitctl break-glass ROLE --reason TEXT [--for DURATION] [--passphrase-file FILE] [--key FILE]");
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_BREAK_GLASS);
        cJSON_AddStringToObject(req, "role", argv[optind]);
        cJSON_AddStringToObject(req, "reason", reason);
        if (ttl)
                cJSON_AddNumberToObject(req, "ttl", (double)ttl);
        r = jit_call(req, 10000, &ans);
        if (r)
                return r;
        if (!jit_json_str(ans, "decision") || !jit_json_str(ans, "request_id") ||
            strcmp(jit_json_str(ans, "decision"), "sign") != 0) {
                r = jit_print_outcome(ans);
                cJSON_Delete(ans);
                return r;
        }
        snprintf(id, sizeof(id), "%s", jit_json_str(ans, "request_id"));
        cJSON_Delete(ans);
        /* Prove presence: sign the break-glass with your own sealed key. */
        extra = cJSON_CreateObject();
        r = jit_sign_into(extra, id, "break-glass", 0, keyfile, passfile);
        if (r) {
                cJSON_Delete(extra);
                return r;
        }
        return jit_simple_call(JIT_OP_APPROVE, id, extra);
}
