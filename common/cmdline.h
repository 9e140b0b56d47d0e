/* cmdline.h — what sudo was asked to run, from sudo's own argv.
 *
 * Owns: the parse of sudo's command line into target user, flags and the
 * command's argv, and the resolution of argv[0] to an absolute path.
 * This is the requester's stated intent, used for matching templates and
 * shown to approvers; sudoers remains the authority on what may run.
 * MUSTs: bounded (JIT_CMDLINE_MAX bytes, JIT_CMDLINE_MAX_ARGS args); a
 * command that cannot be resolved keeps its name as given (not absolute),
 * so it matches no command pattern; environment assignments before the
 * command ("VAR=x cmd") make the command unmatchable the same way.
 */
#ifndef JIT_CMDLINE_H
#define JIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define JIT_CMDLINE_MAX (64 * 1024)
#define JIT_CMDLINE_MAX_ARGS 256

struct jit_cmdline {
        char **argv;            /* the command, NULL if none (sudo -i, -v, ...) */
        char *target_user;      /* -u USER, NULL for the default */
        bool non_interactive;   /* -n / --non-interactive */
};

/* Parse sudo's argv (argv[0] is sudo itself). Returns 0 or -errno. */
int jit_cmdline_parse_sudo(struct jit_cmdline *ret, char *const *argv);

/* Split a NUL-separated buffer (as in /proc/PID/cmdline) into a strv. */
int jit_cmdline_split(const char *buf, size_t len, char ***ret);

/* Read /proc/self/cmdline, parse it as sudo's, resolve argv[0] through
 * secure_path ("dir:dir:..."). Returns 0 or -errno. */
int jit_cmdline_read_sudo(struct jit_cmdline *ret, const char *secure_path);

void jit_cmdline_done(struct jit_cmdline *c);

#endif
