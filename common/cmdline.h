/* cmdline.h — what sudo was asked to run, from sudo's own argv.
 *
 * Owns: the parse of sudo's command line into target user, flags and the
 * command's argv, and the resolution of argv[0] to an absolute path.
 * This is the requester's stated intent, used for matching templates and
 * shown to approvers; sudoers remains the authority on what may run.
 * MUSTs: bounded (JIT_CMDLINE_MAX bytes, JIT_CMDLINE_MAX_ARGS args); sudo's
 * own option grammar (getopt_long: clustered short options, attached
 * arguments, unambiguous prefixes of long options) is followed, and
 * anything we are not sure sudo will exec exactly is JIT_COMMAND_OPAQUE:
 * it never matches a template and always matches a command deny rule.
 */
#ifndef JIT_CMDLINE_H
#define JIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define JIT_CMDLINE_MAX (64 * 1024)
#define JIT_CMDLINE_MAX_ARGS 256

enum jit_command_mode {
        JIT_COMMAND_NONE = 0,   /* nothing runs (sudo -l, -v, -V, -h, -K) */
        JIT_COMMAND_EXACT,      /* sudo will exec exactly argv (argv[0] absolute) */
        JIT_COMMAND_OPAQUE,     /* something runs that we cannot judge: a shell
                                 * (-s, -i), an edit (-e, sudoedit), environment
                                 * assignments, an option we cannot parse, an
                                 * unresolved program */
};

struct jit_cmdline {
        char **argv;            /* the words after the options, NULL if none */
        char *target_user;      /* -u USER, NULL for the default */
        bool non_interactive;   /* -n / --non-interactive */
        enum jit_command_mode mode;
};

const char *jit_command_mode_to_string(enum jit_command_mode m);
enum jit_command_mode jit_command_mode_from_string(const char *s); /* unknown → OPAQUE */

/* Parse sudo's argv (argv[0] is sudo itself). Returns 0 or -errno. */
int jit_cmdline_parse_sudo(struct jit_cmdline *ret, char *const *argv);

/* Split a NUL-separated buffer (as in /proc/PID/cmdline) into a strv. */
int jit_cmdline_split(const char *buf, size_t len, char ***ret);

/* Read /proc/self/cmdline, parse it as sudo's, resolve argv[0] through
 * secure_path ("dir:dir:..."). Returns 0 or -errno. */
int jit_cmdline_read_sudo(struct jit_cmdline *ret, const char *secure_path);

void jit_cmdline_done(struct jit_cmdline *c);

#endif
