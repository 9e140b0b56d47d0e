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

/* sudo 1.9's options that take an argument. */
static bool short_takes_arg(char c)
{
        return c && strchr("CDghprRtTUu", c) != NULL;
}

static const char *const long_with_arg[] = {
        "close-from", "chdir", "group", "host", "prompt", "chroot", "role",
        "type", "command-timeout", "other-user", "user", NULL,
};

static bool is_long_with_arg(const char *name, size_t len)
{
        for (size_t i = 0; long_with_arg[i]; i++)
                if (strlen(long_with_arg[i]) == len && strncmp(long_with_arg[i], name, len) == 0)
                        return true;
        return false;
}

static int set_user(struct jit_cmdline *c, const char *u)
{
        free(c->target_user);
        c->target_user = strndup(u, 64);
        return c->target_user ? 0 : -ENOMEM;
}

/* One long option at argv[*i]; may consume the next argument. */
static int parse_long(struct jit_cmdline *c, char *const *argv, size_t *i)
{
        const char *a = argv[*i] + 2, *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *val = eq ? eq + 1 : NULL;

        if (nl == 15 && strncmp(a, "non-interactive", nl) == 0)
                c->non_interactive = true;
        if (!eq && is_long_with_arg(a, nl)) {
                if (!argv[*i + 1])
                        return -EINVAL;
                val = argv[++*i];
        }
        if (val && nl == 4 && strncmp(a, "user", 4) == 0)
                return set_user(c, val);
        return 0;
}

/* A cluster of short options at argv[*i] ("-nu", "-uroot"). */
static int parse_short(struct jit_cmdline *c, char *const *argv, size_t *i)
{
        const char *a = argv[*i] + 1;

        for (; *a; a++) {
                const char *val;

                if (*a == 'n')
                        c->non_interactive = true;
                if (!short_takes_arg(*a))
                        continue;
                if (a[1]) {
                        val = a + 1;
                } else {
                        if (!argv[*i + 1])
                                return -EINVAL;
                        val = argv[++*i];
                }
                return *a == 'u' ? set_user(c, val) : 0;
        }
        return 0;
}

int jit_cmdline_parse_sudo(struct jit_cmdline *ret, char *const *argv)
{
        struct jit_cmdline c = { 0 };
        size_t i = 1;
        int r = 0;

        if (!argv || !argv[0])
                return -EINVAL;
        for (; argv[i] && r == 0; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (a[0] != '-' || a[1] == '\0')
                        break;
                r = a[1] == '-' ? parse_long(&c, argv, &i) : parse_short(&c, argv, &i);
        }
        for (; r == 0 && argv[i]; i++)
                r = jit_strv_push(&c.argv, argv[i]);
        if (r < 0) {
                jit_cmdline_done(&c);
                return r;
        }
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
static int resolve(struct jit_cmdline *c, const char *secure_path)
{
        char path[PATH_MAX], *real = NULL;

        if (!c->argv || !c->argv[0] || strchr(c->argv[0], '=') || !*c->argv[0])
                return 0;
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
        if (!real)
                return 0;
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
