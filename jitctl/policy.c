/* jitctl policy check [FILE] — validate a policy file without the service. */
#include "jitctl.h"
#include "cleanup.h"
#include "config.h"
#include "strv.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

int verb_policy(int argc, char **argv)
{
        const char *arg = argc > 2 ? argv[2] : JIT_CONFIG_PATH;
        _cleanup_free_ char *cwd = arg[0] == '/' ? NULL : getcwd(NULL, 0);
        _cleanup_free_ char *abs = NULL;
        const char *path = arg;

        /* Relative to here, but as the service would open it: no links. */
        if (cwd && asprintf(&abs, "%s/%s", cwd, arg) > 0)
                path = abs;
        struct jit_config *c = NULL;
        char **errors = NULL;
        int r;

        if (argc < 2 || strcmp(argv[1], "check") != 0)
                return jit_usage_error("usage: jitctl policy check [FILE]");
        r = jit_config_load(path, &c, &errors);
        if (r == -EPERM)
                return jit_fail(JIT_EXIT_CONFIG, "%s: refused: the file and every directory above it must be "
                                "owned by root and not writable by group or others", path);
        if (r < 0 && !errors)
                return jit_fail(JIT_EXIT_CONFIG, "%s: %s", path, strerror(-r));
        if (r < 0) {
                for (size_t i = 0; errors[i]; i++)
                        fprintf(stderr, "%s: %s\n", path, errors[i]);
                fprintf(stderr, "%s: %zu error%s: the service would deny every request\n", path,
                        jit_strv_length(errors), jit_strv_length(errors) == 1 ? "" : "s");
                jit_strv_free(errors);
                return JIT_EXIT_CONFIG;
        }
        printf("%s: OK (%zu role%s, %zu template%s)\n", path, c->n_roles, c->n_roles == 1 ? "" : "s",
               c->n_templates, c->n_templates == 1 ? "" : "s");
        jit_config_free(c);
        return JIT_EXIT_OK;
}
