/* jitctl wait REQUEST — block until a request is decided. */
#include "jitctl.h"
#include "record.h"

#include <getopt.h>


int verb_wait(int argc, char **argv)
{
        static const struct option lo[] = {
                { "timeout", required_argument, NULL, 't' },
                {}
        };
        uint64_t timeout = 900;
        cJSON *ans = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                if (c != 't' || jit_parse_duration_arg(optarg, &timeout))
                        return JIT_EXIT_USAGE;
        }
        if (optind + 1 != argc || !jit_id_is_valid(argv[optind], 'r'))
                return jit_usage_error("usage: jitctl wait REQUEST [--timeout DURATION] (a request id looks like r-xxxxxxxxxx)");
        r = jit_wait_for(argv[optind], timeout, &ans);
        if (r)
                return r;
        r = jit_print_outcome(ans);
        cJSON_Delete(ans);
        return r;
}
