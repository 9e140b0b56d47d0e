/* jitctl expire GRANT — end a grant whose time is up (root; the expiry timer runs this). */
#include "jitctl.h"
#include "proto.h"

#include <string.h>


int verb_expire(int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-')
                return jit_usage_error("usage: jitctl expire GRANT");
        return jit_simple_call(JIT_OP_EXPIRE, argv[1], NULL);
}
