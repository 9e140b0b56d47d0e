/* jitctl revoke GRANT — end a grant now (root, its holder, or an approver of its role). */
#include "jitctl.h"
#include "proto.h"

#include <string.h>


int verb_revoke(int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-')
                return jit_usage_error("usage: jitctl revoke GRANT");
        return jit_simple_call(JIT_OP_REVOKE, argv[1], NULL);
}
