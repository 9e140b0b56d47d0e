/* jitctl request ROLE — ask ahead for a role. */
#include "jitctl.h"
#include "proto.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>


int jit_wait_for(const char *id, uint64_t timeout_s, cJSON **ret)
{
        cJSON *req = cJSON_CreateObject();

        cJSON_AddStringToObject(req, "op", JIT_OP_WAIT);
        cJSON_AddStringToObject(req, "id", id);
        cJSON_AddNumberToObject(req, "timeout_ms", (double)timeout_s * 1000);
        return jit_call(req, (int)(timeout_s * 1000 + 10000), ret);
}

int jit_request_send(cJSON *req, bool wait, uint64_t timeout_s)
{
        cJSON *ans = NULL;
        int r = jit_call(req, 10000, &ans);

        if (r)
                return r;
        if (wait && jit_exit_for(ans) == JIT_EXIT_PENDING && jit_json_str(ans, "request_id")) {
                char id[32];
                cJSON *fin = NULL;

                snprintf(id, sizeof(id), "%s", jit_json_str(ans, "request_id"));
                if (!jit_g.json)
                        (void)jit_print_outcome(ans);
                cJSON_Delete(ans);
                r = jit_wait_shown(id, timeout_s, &fin);
                if (r)
                        return r;
                ans = fin;
        }
        r = jit_print_outcome(ans);
        cJSON_Delete(ans);
        return r;
}

int verb_request(int argc, char **argv)
{
        static const struct option lo[] = {
                { "for", required_argument, NULL, 'f' },
                { "reason", required_argument, NULL, 'r' },
                { "wait", no_argument, NULL, 'w' },
                { "timeout", required_argument, NULL, 't' },
                { "task", required_argument, NULL, 'k' },
                { "single-use", no_argument, NULL, '1' },
                { "bind", required_argument, NULL, 'b' },
                { "hosts", required_argument, NULL, 'H' },
                {}
        };
        const char *reason = NULL, *task = NULL, *bind = NULL, *hosts = NULL;
        bool single_use = false;
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
                case 'k': task = optarg; break;
                case 'H': hosts = optarg; break;
                case '1': single_use = true; break;
                case 'b':
                        if (strcmp(optarg, "session") && strcmp(optarg, "unit"))
                                return jit_usage_error("--bind takes session or unit");
                        bind = optarg;
                        break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc)
                return jit_usage_error("usage: jitctl request ROLE [--for DURATION] [--reason TEXT] [--task TEXT] "
                                       "[--single-use] [--bind session|unit] [--wait [--timeout DURATION]]\n"
                                       "       jitctl request ROLE --hosts PATTERN [--for DURATION] [--reason TEXT]");
        if (hosts) {
                if (task || single_use || bind || wait)
                        return jit_usage_error("--hosts takes only --for and --reason: --task, --single-use, --bind "
                                               "and --wait are for a request on this host");
                return jit_fleet_request(argv[optind], ttl ? ttl : 3600, reason, hosts);
        }
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_REQUEST);
        cJSON_AddStringToObject(req, "role", argv[optind]);
        if (ttl)
                cJSON_AddNumberToObject(req, "ttl", (double)ttl);
        if (reason)
                cJSON_AddStringToObject(req, "reason", reason);
        if (task)
                cJSON_AddStringToObject(req, "task", task);
        if (single_use)
                cJSON_AddTrueToObject(req, "single_use");
        if (bind)
                cJSON_AddStringToObject(req, "bind", bind);
        return jit_request_send(req, wait, timeout);
}
