/* jitctl cancel REQUEST — withdraw your own pending request. */
#include "jitctl.h"
#include "proto.h"

#include <string.h>


int verb_cancel(int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-')
                return jit_usage_error("usage: jitctl cancel REQUEST");
        return jit_simple_call(JIT_OP_CANCEL, argv[1], NULL);
}
