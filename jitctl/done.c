/* jitctl done GRANT — the task is over: its owner ends the grant now
 * (what still holds the group is ended as the role says). */
#include "jitctl.h"
#include "proto.h"

int verb_done(int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-')
                return jit_usage_error("usage: jitctl done GRANT");
        return jit_simple_call(JIT_OP_DONE, argv[1], NULL);
}
