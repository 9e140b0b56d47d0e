#include "cmdline.h"
#include "cleanup.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void jit_cmdline_done(struct jit_cmdline *c)
{
        jit_strv_free(c->argv);
        free(c->target_user);
        *c = (struct jit_cmdline){ 0 };
}

int jit_cmdline_split(const char *buf, size_t len, char ***ret)
{
        char **v = NULL;
        size_t off = 0, n = 0;

        if (len > JIT_CMDLINE_MAX)
                return -E2BIG;
        while (off < len) {
                size_t l = strnlen(buf + off, len - off);
                _cleanup_free_ char *s = strndup(buf + off, l);

                if (!s || ++n > JIT_CMDLINE_MAX_ARGS || jit_strv_push(&v, s) < 0) {
                        jit_strv_free(v);
                        return s ? -E2BIG : -ENOMEM;
                }
                off += l + 1;
        }
        *ret = v;
        return 0;
}

const char *jit_command_mode_to_string(enum jit_command_mode m)
{
        switch (m) {
        case JIT_COMMAND_NONE: return "none";
        case JIT_COMMAND_EXACT: return "exact";
        default: return "opaque";
        }
}

enum jit_command_mode jit_command_mode_from_string(const char *s)
{
        if (s && strcmp(s, "none") == 0)
                return JIT_COMMAND_NONE;
        if (s && strcmp(s, "exact") == 0)
                return JIT_COMMAND_EXACT;
        return JIT_COMMAND_OPAQUE;
}

/* sudo 1.9's options, as its getopt_long sees them. 'r': takes an
 * argument; 'o': optional argument (attached only); 0: none. */
static const char sudo_shorts[] = "Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv";

static const struct long_opt {
        const char *name;
        char arg;               /* 'r' required, 'o' optional, 0 none */
        char as;                /* the short option it stands for ('\1' for --host) */
} sudo_longs[] = {
        { "askpass", 0, 'A' }, { "auth-type", 'r', 'a' }, { "background", 0, 'b' },
        { "bell", 0, 'B' }, { "chdir", 'r', 'D' }, { "chroot", 'r', 'R' },
        { "close-from", 'r', 'C' }, { "command-timeout", 'r', 'T' }, { "edit", 0, 'e' },
        { "group", 'r', 'g' }, { "help", 0, 'h' }, { "host", 'r', '\1' },
        { "list", 0, 'l' }, { "login", 0, 'i' }, { "login-class", 'r', 'c' },
        { "no-update", 0, 'N' }, { "non-interactive", 0, 'n' }, { "other-user", 'r', 'U' },
        { "preserve-env", 'o', 'E' }, { "preserve-groups", 0, 'P' }, { "prompt", 'r', 'p' },
        { "remove-timestamp", 0, 'K' }, { "reset-timestamp", 0, 'k' }, { "role", 'r', 'r' },
        { "set-home", 0, 'H' }, { "shell", 0, 's' }, { "stdin", 0, 'S' },
        { "type", 'r', 't' }, { "user", 'r', 'u' }, { "validate", 0, 'v' },
        { "version", 0, 'V' },
};

struct sudo_flags {
        bool shell, edit, no_run, opaque;
};

static int set_user(struct jit_cmdline *c, const char *u)
{
        free(c->target_user);
        c->target_user = strndup(u, 64);
        return c->target_user ? 0 : -ENOMEM;
}

/* What one option means for us. */
static int apply(struct jit_cmdline *c, struct sudo_flags *f, char opt, const char *val)
{
        switch (opt) {
        case 'n': c->non_interactive = true; break;
        case 'u': return set_user(c, val);
        case 's': case 'i': f->shell = true; break;
        case 'e': f->edit = true; break;
        case 'l': case 'v': case 'V': case 'K': f->no_run = true; break;
        case 'h': if (!val) f->no_run = true; break;
        default: break;
        }
        return 0;
}

/* A long option at argv[*i]: exact name, else a unique prefix, as
 * getopt_long does. An unknown or ambiguous one makes sudo stop, but we
 * do not guess: the command becomes opaque. */
static int parse_long(struct jit_cmdline *c, struct sudo_flags *f, char *const *argv, size_t *i)
{
        const char *a = argv[*i] + 2, *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a), hits = 0;
        const struct long_opt *o = NULL;

        for (size_t k = 0; k < JIT_ELEMENTSOF(sudo_longs); k++) {
                if (strncmp(sudo_longs[k].name, a, nl) != 0)
                        continue;
                if (strlen(sudo_longs[k].name) == nl) {
                        o = &sudo_longs[k];
                        hits = 1;
                        break;
                }
                o = &sudo_longs[k];
                hits++;
        }
        if (hits != 1 || (eq && !o->arg)) {
                f->opaque = true;
                return 0;
        }
        if (o->arg == 'r' && !eq) {
                if (!argv[*i + 1])
                        return -EINVAL;         /* sudo refuses it too */
                return apply(c, f, o->as, argv[++*i]);
        }
        return apply(c, f, o->as, eq ? eq + 1 : NULL);
}

/* A cluster of short options at argv[*i] ("-nu", "-uroot"). */
static int parse_short(struct jit_cmdline *c, struct sudo_flags *f, char *const *argv, size_t *i)
{
        for (const char *a = argv[*i] + 1; *a; a++) {
                const char *spec = strchr(sudo_shorts, *a);

                if (!spec || *a == ':') {
                        f->opaque = true;
                        return 0;
                }
                if (spec[1] != ':')
                        (void)apply(c, f, *a, NULL);
                else if (spec[2] == ':')        /* optional: attached only */
                        return apply(c, f, *a, a[1] ? a + 1 : NULL);
                else if (a[1])
                        return apply(c, f, *a, a + 1);
                else if (!argv[*i + 1])
                        return -EINVAL;         /* sudo refuses it too */
                else
                        return apply(c, f, *a, argv[++*i]);
        }
        return 0;
}

static bool is_sudoedit(const char *argv0)
{
        const char *base = strrchr(argv0, '/');

        return strcmp(base ? base + 1 : argv0, "sudoedit") == 0;
}

int jit_cmdline_parse_sudo(struct jit_cmdline *ret, char *const *argv)
{
        struct jit_cmdline c = { 0 };
        struct sudo_flags f = { 0 };
        size_t i = 1;
        int r = 0;

        if (!argv || !argv[0])
                return -EINVAL;
        f.edit = is_sudoedit(argv[0]);
        for (; argv[i] && r == 0; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (a[0] != '-' || a[1] == '\0')
                        break;
                r = a[1] == '-' ? parse_long(&c, &f, argv, &i) : parse_short(&c, &f, argv, &i);
        }
        for (; r == 0 && argv[i]; i++)
                r = jit_strv_push(&c.argv, argv[i]);
        if (r < 0) {
                jit_cmdline_done(&c);
                return r;
        }
        if (f.opaque || f.edit || f.shell)
                c.mode = JIT_COMMAND_OPAQUE;    /* a shell, an edit, or unsure */
        else if (f.no_run || !c.argv)
                c.mode = JIT_COMMAND_NONE;
        else
                c.mode = JIT_COMMAND_EXACT;     /* until resolve() says otherwise */
        *ret = c;
        return 0;
}

static bool is_executable_file(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* Resolve the command like sudo does with secure_path; on failure leave it
 * as typed (then it matches no absolute pattern). */
/* Resolve the command like sudo does with secure_path. What we cannot
 * resolve to one absolute file is opaque. */
static int resolve(struct jit_cmdline *c, const char *secure_path)
{
        char path[PATH_MAX], *real = NULL;

        if (c->mode != JIT_COMMAND_EXACT)
                return 0;
        if (!c->argv || !c->argv[0] || !*c->argv[0] || strchr(c->argv[0], '=')) {
                c->mode = JIT_COMMAND_OPAQUE;  /* "VAR=x cmd": sudo sets the environment */
                return 0;
        }
        if (strchr(c->argv[0], '/')) {
                real = realpath(c->argv[0], NULL);
        } else {
                const char *p = secure_path;

                while (p && *p && !real) {
                        const char *colon = strchr(p, ':');
                        size_t dl = colon ? (size_t)(colon - p) : strlen(p);

                        if (dl > 0 && p[0] == '/' &&
                            snprintf(path, sizeof(path), "%.*s/%s", (int)dl, p, c->argv[0]) < (int)sizeof(path) &&
                            is_executable_file(path))
                                real = realpath(path, NULL);
                        p = colon ? colon + 1 : NULL;
                }
        }
        if (!real || !is_executable_file(real)) {
                free(real);
                c->mode = JIT_COMMAND_OPAQUE;
                return 0;
        }
        free(c->argv[0]);
        c->argv[0] = real;
        return 0;
}

int jit_cmdline_read_sudo(struct jit_cmdline *ret, const char *secure_path)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = malloc(JIT_CMDLINE_MAX + 1);
        size_t len = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        fd = open("/proc/self/cmdline", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf + len, JIT_CMDLINE_MAX + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > JIT_CMDLINE_MAX)
                        return -E2BIG;
        }
        r = jit_cmdline_split(buf, len, &argv);
        if (r < 0)
                return r;
        r = jit_cmdline_parse_sudo(ret, argv);
        if (r < 0)
                return r;
        return resolve(ret, secure_path);
}
