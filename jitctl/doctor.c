/* jitctl doctor — look over an installation and say precisely what is
 * wrong and how to fix it. Each check has an id (jitctl(8) lists them),
 * a status (ok, warn, fail, skip), a message and a fix.
 *
 * It changes nothing: files are opened O_PATH|O_NOFOLLOW and judged by
 * fstat on that fd, or read through safeio; the spool is only read when
 * its directories already exist (jit_spool_open_files would make them);
 * the service is asked one "list" only after SO_PEERCRED says it is
 * root's, as pam_jit does. Not root, what needs root (sudoers, shadow,
 * the spool, the audit log, the host key's content, timers) is skipped,
 * and the summary says which.
 */
#include "jitctl.h"
#include "audit.h"
#include "cleanup.h"
#include "config.h"
#include "decision.h"
#include "duration.h"
#include "escape.h"
#include "membership.h"
#include "proto.h"
#include "record.h"
#include "safeio.h"
#include "spool.h"
#include "strv.h"
#include "timer.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <link.h>
#include <pwd.h>
#include <shadow.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#define PAM_DIR_DEFAULT "/etc/pam.d"
#define PAM_FILE_MAX (256 * 1024)
#define PAM_INCLUDE_DEPTH 8
#define SUDOERS "/etc/sudoers"
#define SUDOERS_MAX (1024 * 1024)
#define AUDIT_QUICK_MAX (64 * 1024 * 1024)     /* larger: jitctl audit verify */
#define CLOCK_SLACK_US (5ULL * 1000000)
#define LIST_MAX 6                              /* names shown before "and N more" */

enum status { ST_OK, ST_WARN, ST_FAIL, ST_SKIP };

struct finding {
        const char *id;
        enum status status;
        char *message, *fix;
};

/* What a PAM stack file does with pam_jit, for the checks after it. */
struct gate {
        const char *service;
        bool exists, reported, gated;   /* reported: check_stack said something */
};

enum { GATE_SUDO, GATE_SUDO_I, GATE_SSHD, N_GATES };

struct doctor {
        const char *pam_dir, *config_path, *state_dir;
        char etc_dir[PATH_MAX];                 /* the policy's directory: keys */
        bool root;
        struct jit_config *config;              /* NULL: it does not load */
        struct jit_grant **grants;              /* the spool's, when read */
        size_t n_grants;
        bool grants_known;
        uint64_t newest_us;                     /* the newest time on record */
        char newest_what[96];
        char module_dir[PATH_MAX];              /* libpam's, "" when not found */
        struct gate gates[N_GATES];
        char **module_paths, **module_where;    /* pam_jit.so as the stacks name it */
        struct finding *f;
        size_t n;
};

/* ---- findings ---------------------------------------------------------- */

__attribute__((format(printf, 1, 0)))
static char *escaped(const char *fmt, va_list ap)
{
        _cleanup_free_ char *raw = NULL;

        if (vasprintf(&raw, fmt, ap) < 0)
                return NULL;
        return jit_escape_dup(raw, 0);
}

__attribute__((format(printf, 4, 5)))
static void report(struct doctor *d, const char *id, enum status st, const char *fmt, ...)
{
        struct finding *nf = realloc(d->f, (d->n + 1) * sizeof(*d->f));
        va_list ap;

        if (!nf)
                return;
        d->f = nf;
        nf[d->n] = (struct finding){ .id = id, .status = st };
        va_start(ap, fmt);
        nf[d->n].message = escaped(fmt, ap);
        va_end(ap);
        d->n++;
}

/* The fix of the finding reported last. */
__attribute__((format(printf, 2, 3)))
static void fix(struct doctor *d, const char *fmt, ...)
{
        va_list ap;

        if (d->n == 0)
                return;
        va_start(ap, fmt);
        free(d->f[d->n - 1].fix);
        d->f[d->n - 1].fix = escaped(fmt, ap);
        va_end(ap);
}

/* ---- small helpers ----------------------------------------------------- */

static const char *uid_name(uid_t uid, char buf[64])
{
        struct passwd *pw = getpwuid(uid);

        if (pw)
                snprintf(buf, 64, "%s", pw->pw_name);
        else
                snprintf(buf, 64, "uid %u", (unsigned)uid);
        return buf;
}

static unsigned perm(const struct stat *st)
{
        return (unsigned)(st->st_mode & 07777);
}

/* fstat of name below dirfd, the name itself if it is a link. */
static int stat_at(int dirfd, const char *name, struct stat *ret)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return fstat(fd, ret) < 0 ? -errno : 0;
}

/* Why a file is not one the service accepts (root's, regular, one link,
 * none of the forbidden mode bits), or NULL. */
static const char *file_fault(const struct stat *st, mode_t forbidden, char *buf, size_t size)
{
        char who[64];

        if (S_ISLNK(st->st_mode))
                return "a symbolic link";
        if (!S_ISREG(st->st_mode))
                return "not a regular file";
        if (st->st_nlink != 1)
                snprintf(buf, size, "hard-linked (%lu links)", (unsigned long)st->st_nlink);
        else if (st->st_uid != 0)
                snprintf(buf, size, "owned by %s, not root", uid_name(st->st_uid, who));
        else if (st->st_mode & forbidden)
                snprintf(buf, size, "mode %04o, %s by group or others", perm(st),
                         st->st_mode & (S_IWGRP | S_IWOTH) ? "writable" : "readable");
        else
                return NULL;
        return buf;
}

static const char *dir_fault(const struct stat *st, mode_t forbidden, char *buf, size_t size)
{
        char who[64];

        if (S_ISLNK(st->st_mode))
                return "a symbolic link";
        if (!S_ISDIR(st->st_mode))
                return "not a directory";
        if (st->st_uid != 0)
                snprintf(buf, size, "owned by %s, not root", uid_name(st->st_uid, who));
        else if (st->st_mode & forbidden)
                snprintf(buf, size, "mode %04o, %s by group or others", perm(st),
                         st->st_mode & (S_IWGRP | S_IWOTH) ? "writable" : "open");
        else
                return NULL;
        return buf;
}

/* Walk path from "/" as jit_safeio_open_dir(JIT_SAFEIO_TRUSTED) does and
 * name, in bad, the first directory it refuses and why: 1. 0 when it
 * refuses none; -ENOENT when a component is missing. */
static int untrusted_dir(const char *path, char *bad, size_t size)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -1;
        char sofar[PATH_MAX] = "/", *save = NULL, *comp;
        struct stat st;

        if (!copy || path[0] != '/')
                return -EINVAL;
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        comp = strtok_r(copy, "/", &save);
        for (;;) {
                bool last = !comp;
                int nfd;

                if (fstat(fd, &st) < 0)
                        return -errno;
                if (st.st_uid != 0 ||
                    ((st.st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st.st_mode & S_ISVTX)))) {
                        char why[96];

                        snprintf(bad, size, "%s is %s", sofar, dir_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why)));
                        return 1;
                }
                if (last)
                        return 0;
                nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0 && errno == ENOENT)
                        return -ENOENT;
                if (nfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
                        snprintf(bad, size, "%s%s%s is a symbolic link or not a directory (jit follows no links)",
                                 sofar, strcmp(sofar, "/") ? "/" : "", comp);
                        return 1;
                }
                if (nfd < 0)
                        return -errno;
                close(fd);
                fd = nfd;
                if (strcmp(sofar, "/") != 0)
                        strncat(sofar, "/", sizeof(sofar) - strlen(sofar) - 1);
                strncat(sofar, comp, sizeof(sofar) - strlen(sofar) - 1);
                comp = strtok_r(NULL, "/", &save);
        }
}

/* "/a/b/c" → dir "/a/b" in buf, returns "c". */
static const char *split_path(const char *path, char *buf, size_t size)
{
        const char *slash = strrchr(path, '/');

        if (!slash || slash == path)
                snprintf(buf, size, "/");
        else
                snprintf(buf, size, "%.*s", (int)(slash - path), path);
        return slash ? slash + 1 : path;
}

/* "a, b, c and 3 more" of a strv. */
static char *names_of(char *const *v)
{
        _cleanup_strv_free_ char **shown = NULL;
        size_t n = jit_strv_length(v);
        char *joined, *out = NULL;

        for (size_t i = 0; i < n && i < LIST_MAX; i++)
                if (jit_strv_push(&shown, v[i]) < 0)
                        return NULL;
        joined = jit_strv_join(shown, ", ");
        if (joined && n > LIST_MAX && asprintf(&out, "%s and %zu more", joined, n - LIST_MAX) > 0) {
                free(joined);
                return out;
        }
        return joined;
}

static uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void saw_time(struct doctor *d, uint64_t t, const char *what, const char *id)
{
        if (t <= d->newest_us)
                return;
        d->newest_us = t;
        snprintf(d->newest_what, sizeof(d->newest_what), "%s %s", what, id);
}

/* ---- config ------------------------------------------------------------ */

static bool check_config_file(struct doctor *d)
{
        char dir[PATH_MAX], bad[PATH_MAX + 128], why[96];
        const char *base = split_path(d->config_path, dir, sizeof(dir)), *fault;
        _cleanup_close_ int dfd = -1;
        struct stat st;
        int r;

        r = untrusted_dir(dir, bad, sizeof(bad));
        if (r == 0) {
                dfd = jit_safeio_open_dir(dir, 0);
                r = dfd < 0 ? dfd : stat_at(dfd, base, &st);
        }
        if (r == -ENOENT) {
                report(d, "config.file", ST_FAIL, "%s does not exist: the service denies every access and request",
                       d->config_path);
                fix(d, "install -m 0644 -o root examples/jit.conf %s, edit it, then: jitctl policy check", d->config_path);
                return false;
        }
        if (r == 1) {
                report(d, "config.file", ST_FAIL, "%s: the service refuses the policy and denies everything", bad);
                fix(d, "make every directory down to %s root's and not writable by group or others (chown root:root, chmod go-w)", dir);
                return false;
        }
        if (r < 0) {
                report(d, "config.file", ST_FAIL, "cannot look at %s: %s", d->config_path, strerror(-r));
                return false;
        }
        fault = file_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
        if (fault) {
                report(d, "config.file", ST_FAIL, "%s is %s: the service refuses it and denies every access and request",
                       d->config_path, fault);
                fix(d, "chown root:root %s && chmod 0644 %s", d->config_path, d->config_path);
                return false;
        }
        report(d, "config.file", ST_OK, "%s: root's, mode %04o, in directories only root can write",
               d->config_path, perm(&st));
        return true;
}

static bool check_templates(struct doctor *d)
{
        _cleanup_strv_free_ char **bad = NULL;
        _cleanup_close_ int dfd = jit_safeio_open_dir(d->etc_dir, 0), tfd = -1;
        _cleanup_free_ char *list = NULL;
        char why[96], line[PATH_MAX + 128];
        struct stat st;
        size_t n = 0;
        DIR *dir;
        struct dirent *de;
        const char *fault;

        if (dfd < 0 || stat_at(dfd, JIT_TEMPLATES_DIR, &st) == -ENOENT) {
                report(d, "config.templates", ST_OK, "no %s/%s: the templates are those of the policy file",
                       d->etc_dir, JIT_TEMPLATES_DIR);
                return true;
        }
        fault = dir_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
        if (fault) {
                report(d, "config.templates", ST_FAIL, "%s/%s is %s: the service refuses the whole policy",
                       d->etc_dir, JIT_TEMPLATES_DIR, fault);
                fix(d, "chown root:root %s/%s && chmod 0755 %s/%s", d->etc_dir, JIT_TEMPLATES_DIR, d->etc_dir, JIT_TEMPLATES_DIR);
                return false;
        }
        tfd = openat(dfd, JIT_TEMPLATES_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        dir = tfd < 0 ? NULL : fdopendir(tfd);
        if (!dir) {
                report(d, "config.templates", ST_WARN, "cannot list %s/%s: %s", d->etc_dir, JIT_TEMPLATES_DIR, strerror(errno));
                return true;
        }
        tfd = -1;
        while ((de = readdir(dir))) {
                size_t l = strlen(de->d_name);

                if (de->d_name[0] == '.' || l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0)
                        continue;
                n++;
                if (stat_at(dirfd(dir), de->d_name, &st) < 0)
                        continue;
                fault = file_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
                snprintf(line, sizeof(line), "%s is %s", de->d_name, fault ? fault : "");
                if (fault)
                        (void)jit_strv_push(&bad, line);
        }
        closedir(dir);
        if (bad) {
                list = names_of(bad);
                report(d, "config.templates", ST_FAIL, "in %s/%s: %s: the service refuses the whole policy",
                       d->etc_dir, JIT_TEMPLATES_DIR, list ? list : "?");
                fix(d, "chown root:root %s/%s/*.json && chmod 0644 %s/%s/*.json", d->etc_dir, JIT_TEMPLATES_DIR,
                    d->etc_dir, JIT_TEMPLATES_DIR);
                return false;
        }
        report(d, "config.templates", ST_OK, "%s/%s: %zu template file%s, root's and not writable by others",
               d->etc_dir, JIT_TEMPLATES_DIR, n, n == 1 ? "" : "s");
        return true;
}

static void report_errors(struct doctor *d, const char *id, enum status st, char *const *errors, const char *what)
{
        _cleanup_free_ char *list = NULL;
        _cleanup_strv_free_ char **first = NULL;
        size_t n = jit_strv_length(errors);

        for (size_t i = 0; i < n && i < 3; i++)
                (void)jit_strv_push(&first, errors[i]);
        list = jit_strv_join(first, "; ");
        report(d, id, st, "%s: %zu %s%s: %s%s", d->config_path, n, what, n == 1 ? "" : "s", list ? list : "?",
               n > 3 ? "; ..." : "");
        fix(d, "jitctl policy check %s (every one, with its JSON path)", d->config_path);
}

/* Loaded as the service loads it, and without the owner/mode check so
 * that a policy with a bad mode is still judged on its content. */
static void check_config_valid(struct doctor *d, bool modes_ok)
{
        _cleanup_strv_free_ char **errors = NULL;
        struct jit_config *c = NULL;
        int r;

        r = jit_config_load_flags(d->config_path, JIT_SAFEIO_TRUSTED, &c, &errors);
        if (r == -EPERM) {
                if (modes_ok) {
                        report(d, "config.file", ST_FAIL, "the service's own owner and mode check refuses %s or a file "
                               "beside it", d->config_path);
                        fix(d, "jitctl policy check (it runs the same check)");
                }
                jit_strv_free(TAKE_PTR(errors));
                r = jit_config_load_flags(d->config_path, 0, &c, &errors);
        }
        if (r == -ENOENT) {
                report(d, "config.valid", ST_SKIP, "no policy file");
        } else if (r < 0 && errors) {
                report_errors(d, "config.valid", ST_FAIL, errors, "error");
                jit_strv_free(TAKE_PTR(errors));
        } else if (r < 0) {
                report(d, "config.valid", ST_FAIL, "%s cannot be read: %s", d->config_path, strerror(-r));
        } else {
                report(d, "config.valid", ST_OK, "%s: %zu role%s, %zu template%s", d->config_path, c->n_roles,
                       c->n_roles == 1 ? "" : "s", c->n_templates, c->n_templates == 1 ? "" : "s");
        }
        d->config = c;
        if (!c)
                report(d, "config.conflicts", ST_SKIP, "the policy does not load");
        else if (c->warnings)
                report_errors(d, "config.conflicts", ST_WARN, c->warnings, "conflict");
        else
                report(d, "config.conflicts", ST_OK, "no conflicts between rules and templates");
}

/* ---- PAM stacks -------------------------------------------------------- */

struct pam_entry {
        char *file;             /* below the PAM directory */
        unsigned line;
        char *control, *module, *args;
        bool substack;          /* inside a substack: "done" ends only that */
};

struct pam_list {
        struct pam_entry *v;
        size_t n;
};

static void pam_list_done(struct pam_list *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].file);
                free(l->v[i].control);
                free(l->v[i].module);
                free(l->v[i].args);
        }
        free(l->v);
        *l = (struct pam_list){ 0 };
}

static int pam_list_push(struct pam_list *l, const char *file, unsigned line, const char *control,
                         const char *module, const char *args, bool substack)
{
        struct pam_entry *nv = realloc(l->v, (l->n + 1) * sizeof(*l->v)), *e;

        if (!nv)
                return -ENOMEM;
        l->v = nv;
        e = &nv[l->n];
        *e = (struct pam_entry){
                .file = strdup(file), .line = line, .control = strdup(control),
                .module = strdup(module), .args = strdup(args), .substack = substack,
        };
        l->n++;
        return e->file && e->control && e->module && e->args ? 0 : -ENOMEM;
}

/* The next word of a PAM line; a control in brackets is one word. */
static char *pam_token(char **p)
{
        char *s = *p, *e;

        while (*s && isspace((unsigned char)*s))
                s++;
        if (!*s) {
                *p = s;
                return NULL;
        }
        if (*s == '[') {
                e = strchr(s, ']');
                e = e ? e + 1 : s + strlen(s);
        } else {
                for (e = s; *e && !isspace((unsigned char)*e); e++)
                        ;
        }
        if (*e)
                *e++ = '\0';
        *p = e;
        return s;
}

static const char *module_base(const char *module)
{
        const char *s = strrchr(module, '/');

        return s ? s + 1 : module;
}

static bool is_jit(const struct pam_entry *e)
{
        return strcmp(module_base(e->module), "pam_jit.so") == 0;
}

/* The entries of one phase of pam.d file name, with @include, include and
 * substack expanded in place as libpam does. Backslash-newline joins
 * lines; '#' starts a comment. */
static int pam_expand(int pamfd, const char *name, const char *phase, bool substack, int depth, struct pam_list *out)
{
        _cleanup_free_ char *text = NULL;
        unsigned lineno = 0;
        char *line, *next;
        int r;

        if (depth > PAM_INCLUDE_DEPTH || strchr(name, '/') || name[0] == '.')
                return -EINVAL;
        r = jit_safeio_read_at(pamfd, name, PAM_FILE_MAX, 0, &text, NULL);
        if (r < 0)
                return r;
        for (char *p = text; (p = strstr(p, "\\\n")); p += 2)
                p[0] = ' ', p[1] = '\v';        /* one line, still counted */
        for (line = text; line; line = next) {
                unsigned here = ++lineno;
                char *p, *type, *control, *module;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                for (p = line; *p; p++)
                        lineno += *p == '\v';
                if ((p = strchr(line, '#')))
                        *p = '\0';
                p = line;
                type = pam_token(&p);
                if (!type)
                        continue;
                if (strcmp(type, "@include") == 0) {
                        if ((module = pam_token(&p)))
                                (void)pam_expand(pamfd, module, phase, substack, depth + 1, out);
                        continue;
                }
                if (strcasecmp(type + (type[0] == '-'), phase) != 0)
                        continue;
                control = pam_token(&p);
                module = pam_token(&p);
                if (!control || !module)
                        continue;
                if (strcasecmp(control, "include") == 0 || strcasecmp(control, "substack") == 0) {
                        (void)pam_expand(pamfd, module, phase, substack || strcasecmp(control, "substack") == 0,
                                         depth + 1, out);
                        continue;
                }
                while (*p && isspace((unsigned char)*p))
                        p++;
                r = pam_list_push(out, name, here, control, module, p, substack);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What libpam does when a module under control returns code: "ok",
 * "done", "bad", "die", "ignore", "reset" or a jump count. The four
 * keywords as libpam defines them; what brackets leave out is "bad". */
static void pam_action(const char *control, const char *code, char *buf, size_t size)
{
        static const struct { const char *word, *brackets; } words[] = {
                { "required",   "[success=ok new_authtok_reqd=ok ignore=ignore default=bad]" },
                { "requisite",  "[success=ok new_authtok_reqd=ok ignore=ignore default=die]" },
                { "optional",   "[success=ok new_authtok_reqd=ok default=ignore]" },
                { "sufficient", "[success=done new_authtok_reqd=done default=ignore]" },
        };
        _cleanup_free_ char *copy = NULL;
        const char *b = control, *found = NULL, *dflt = "bad";
        char *save = NULL, *t;

        for (size_t i = 0; i < JIT_ELEMENTSOF(words); i++)
                if (strcasecmp(control, words[i].word) == 0)
                        b = words[i].brackets;
        snprintf(buf, size, "bad");
        if (b[0] != '[' || strlen(b) < 2 || !(copy = strndup(b + 1, strlen(b) - 2)))
                return;
        for (t = strtok_r(copy, " \t]", &save); t; t = strtok_r(NULL, " \t]", &save)) {
                char *eq = strchr(t, '=');

                if (!eq)
                        continue;
                *eq = '\0';
                if (strcasecmp(t, code) == 0)
                        found = eq + 1;
                else if (strcasecmp(t, "default") == 0)
                        dflt = eq + 1;
        }
        snprintf(buf, size, "%s", found ? found : dflt);
}

/* Does a denial by this line fail the stack? */
static bool pam_enforces(const char *control)
{
        char a[32];

        pam_action(control, "perm_denied", a, sizeof(a));
        return strcmp(a, "bad") == 0 || strcmp(a, "die") == 0 || strcmp(a, "ok") == 0 || strcmp(a, "done") == 0;
}

/* Can entry i, before j in the same list, make libpam pass over j? Why,
 * in buf. A success that ends the stack ("sufficient", success=done), or
 * a jump for any value that lands past j. */
static bool pam_passes_over(const struct pam_list *l, size_t i, size_t j, char *buf, size_t size)
{
        static const char *const codes[] = { "success", "perm_denied", "auth_err", "user_unknown", "ignore",
                                             "new_authtok_reqd", "acct_expired", "module_unknown", "default" };
        const struct pam_entry *e = &l->v[i];
        char a[32];

        if (e->substack)
                return false;
        pam_action(e->control, "success", a, sizeof(a));
        if (strcmp(a, "done") == 0) {
                snprintf(buf, size, "when it succeeds, the phase ends there");
                return true;
        }
        for (size_t k = 0; k < JIT_ELEMENTSOF(codes); k++) {
                char *end;
                unsigned long n;

                pam_action(e->control, codes[k], a, sizeof(a));
                n = strtoul(a, &end, 10);
                if (isdigit((unsigned char)a[0]) && !*end && i + n >= j) {
                        snprintf(buf, size, "%s=%lu jumps over it", codes[k], n);
                        return true;
                }
        }
        return false;
}

static bool role_in_policy(const struct doctor *d, const char *role)
{
        return !d->config || jit_config_find_role(d->config, role);
}

/* pam_jit's options as the module reads them (pam_jit.c parse_opts_for):
 * NULL and the role, or what makes the module deny everyone. */
static const char *jit_args_fault(const char *args, char *role, size_t size, char *buf, size_t bsize)
{
        static const struct { const char *name; bool zero_ok; uint64_t max; } durations[] = {
                { "ttl=", false, JIT_DURATION_MAX }, { "wait=", true, 86400 }, { "batch_wait=", true, 86400 },
                { "timeout=", false, 3600 }, { "progress=", true, 3600 },
        };
        _cleanup_free_ char *copy = strdup(args);
        char *p = copy, *a;

        role[0] = '\0';
        while (copy && (a = pam_token(&p))) {
                bool known = strcmp(a, "quiet") == 0 || strcmp(a, "debug") == 0 ||
                             strncmp(a, "secure_path=", 12) == 0 || (strncmp(a, "socket=", 7) == 0 && a[7] == '/');
                uint64_t v;

                if (strncmp(a, "role=", 5) == 0) {
                        snprintf(role, size, "%s", a + 5);
                        continue;
                }
                for (size_t i = 0; !known && i < JIT_ELEMENTSOF(durations); i++) {
                        size_t l = strlen(durations[i].name);

                        if (strncmp(a, durations[i].name, l) != 0)
                                continue;
                        known = (durations[i].zero_ok && (strcmp(a + l, "0") == 0 || strcmp(a + l, "0s") == 0)) ||
                                (jit_duration_parse(a + l, &v) == 0 && v <= durations[i].max);
                        if (!known) {
                                snprintf(buf, bsize, "option \"%s\" does not parse or is too long", a);
                                return buf;
                        }
                }
                if (!known) {
                        snprintf(buf, bsize, "option \"%s\" is unknown", a);
                        return buf;
                }
        }
        if (!role[0])
                return "it has no role= option";
        return NULL;
}

static void note_module(struct doctor *d, const struct pam_entry *e)
{
        char path[PATH_MAX * 2], where[PATH_MAX + 300];

        if (e->module[0] == '/')
                snprintf(path, sizeof(path), "%s", e->module);
        else
                snprintf(path, sizeof(path), "%s/%s", d->module_dir[0] ? d->module_dir : "(libpam's module directory)",
                         e->module);
        if (jit_strv_contains(d->module_paths, path))
                return;
        snprintf(where, sizeof(where), "%s/%s:%u", d->pam_dir, e->file, e->line);
        if (jit_strv_push(&d->module_paths, path) == 0 && jit_strv_push(&d->module_where, where) < 0)
                jit_strv_free(TAKE_PTR(d->module_paths));
}

struct stack_view {
        struct pam_list phase[4];       /* account, auth, password, session */
};
static const char *const phases[] = { "account", "auth", "password", "session" };

static void stack_view_done(struct stack_view *v)
{
        for (size_t i = 0; i < JIT_ELEMENTSOF(v->phase); i++)
                pam_list_done(&v->phase[i]);
}

/* What one pam_jit account line at index j does, into msg; its status. */
static enum status judge_jit_line(struct doctor *d, const struct pam_list *acc, size_t j, char *msg, size_t size)
{
        const struct pam_entry *e = &acc->v[j];
        char role[JIT_NAME_MAX + 32], buf[160], why[96], exempt[PATH_MAX + 64] = "";
        const char *fault = jit_args_fault(e->args, role, sizeof(role), buf, sizeof(buf));
        bool after_common = false;
        size_t off;

        off = (size_t)snprintf(msg, size, "%s/%s:%u \"account %s %s%s%s\": ", d->pam_dir, e->file, e->line,
                               e->control, e->module, e->args[0] ? " " : "", e->args);
        off = off < size ? off : size;
        if (!pam_enforces(e->control)) {
                snprintf(msg + off, size - off, "a denial by pam_jit is ignored under \"%s\": it does not enforce", e->control);
                return ST_FAIL;
        }
        if (fault) {
                snprintf(msg + off, size - off, "%s: pam_jit denies everyone", fault);
                return ST_FAIL;
        }
        if (!role_in_policy(d, role)) {
                snprintf(msg + off, size - off, "role %s is not in %s: the service denies every call", role, d->config_path);
                return ST_FAIL;
        }
        for (size_t i = 0; i < j; i++) {
                after_common |= strcmp(acc->v[i].file, "common-account") == 0;
                if (!pam_passes_over(acc, i, j, why, sizeof(why)))
                        continue;
                if (strcmp(module_base(acc->v[i].module), "pam_succeed_if.so") == 0) {
                        snprintf(exempt, sizeof(exempt), "; users that %s/%s:%u (pam_succeed_if) matches skip it",
                                 d->pam_dir, acc->v[i].file, acc->v[i].line);
                        continue;
                }
                snprintf(msg + off, size - off, "%s/%s:%u \"account %s %s\" comes first and %s: pam_jit is not asked",
                         d->pam_dir, acc->v[i].file, acc->v[i].line, acc->v[i].control, acc->v[i].module, why);
                return ST_WARN;
        }
        snprintf(msg + off, size - off, "enforces role %s%s%s", role,
                 after_common ? ", after common-account (nothing there passes over it)" : ", before common-account",
                 exempt);
        return ST_OK;
}

/* One stack: is pam_jit in it, where, and does it gate? */
static void check_stack(struct doctor *d, int pamfd, struct gate *g, const char *id)
{
        struct stack_view v = { 0 };
        char msg[2048] = "", other[256] = "";
        enum status worst = ST_OK;
        bool in_account = false;
        struct stat st;
        int r;

        g->exists = stat_at(pamfd, g->service, &st) == 0;
        if (!g->exists)
                return;
        r = pam_expand(pamfd, g->service, phases[0], false, 0, &v.phase[0]);
        if (r < 0) {
                g->reported = true;
                report(d, id, ST_WARN, "cannot read %s/%s: %s (doctor reads a regular file with one link, and "
                       "follows no link)", d->pam_dir, g->service, strerror(-r));
                pam_list_done(&v.phase[0]);
                return;
        }
        for (size_t p = 1; p < JIT_ELEMENTSOF(phases); p++)
                (void)pam_expand(pamfd, g->service, phases[p], false, 0, &v.phase[p]);
        for (size_t p = 0; p < JIT_ELEMENTSOF(phases); p++)
                for (size_t i = 0; i < v.phase[p].n; i++) {
                        const struct pam_entry *e = &v.phase[p].v[i];

                        if (!is_jit(e))
                                continue;
                        note_module(d, e);
                        if (p == 0) {
                                char one[1024];
                                enum status s = judge_jit_line(d, &v.phase[0], i, one, sizeof(one));

                                in_account = true;
                                if (s >= worst || !msg[0])
                                        snprintf(msg, sizeof(msg), "%s", one);
                                worst = s > worst ? s : worst;
                                g->gated |= s != ST_FAIL;
                        } else if (p != 3 && !other[0]) {
                                snprintf(other, sizeof(other), "%s/%s:%u (%s)", d->pam_dir, e->file, e->line, phases[p]);
                        }
                }
        g->reported = in_account || other[0];
        if (in_account) {
                report(d, id, worst, "%s", msg);
                if (worst != ST_OK)
                        fix(d, "in %s/%s, before \"@include common-account\": account required pam_jit.so role=ROLE",
                            d->pam_dir, g->service);
        } else if (other[0]) {
                report(d, id, ST_FAIL, "pam_jit.so is named at %s but not in the account phase, where it decides: "
                       "%s/%s is not gated (as auth or password it returns PAM_SERVICE_ERR)", other, d->pam_dir, g->service);
                fix(d, "make it \"account required pam_jit.so role=ROLE\", before \"@include common-account\"");
        }
        stack_view_done(&v);
}

/* A stack without pam_jit: fine when another stack is gated (jit need not
 * gate everything), worth a warning when nothing is; sudo-i is how sudo
 * -i runs, so with sudo gated an ungated sudo-i is a way around. */
static void report_ungated(struct doctor *d, const struct gate *g, const char *id, bool any)
{
        if (!g->exists) {
                report(d, id, ST_SKIP, "no %s/%s", d->pam_dir, g->service);
                return;
        }
        if (g->reported)
                return;
        if (g == &d->gates[GATE_SUDO_I] && d->gates[GATE_SUDO].gated) {
                report(d, id, ST_WARN, "sudo is gated but %s/sudo-i has no pam_jit account line: \"sudo -i\" uses "
                       "that stack and is not gated", d->pam_dir);
                fix(d, "add the same \"account required pam_jit.so role=...\" line to %s/sudo-i", d->pam_dir);
        } else if (g == &d->gates[GATE_SUDO] && d->gates[GATE_SUDO_I].gated) {
                report(d, id, ST_WARN, "sudo-i is gated but %s/sudo has no pam_jit account line: every sudo but "
                       "\"sudo -i\" is not gated", d->pam_dir);
                fix(d, "add the same \"account required pam_jit.so role=...\" line to %s/sudo", d->pam_dir);
        } else if (any) {
                report(d, id, ST_OK, "%s/%s has no pam_jit account line: %s is not gated", d->pam_dir, g->service,
                       g->service);
        } else {
                report(d, id, ST_WARN, "%s/%s has no pam_jit account line: %s is not gated (no stack is)", d->pam_dir,
                       g->service, g->service);
                fix(d, "in %s/%s, before \"@include common-account\": account required pam_jit.so role=ROLE",
                    d->pam_dir, g->service);
        }
}

/* sshd's session phase: pam_jit there must come after pam_systemd, which
 * sets XDG_SESSION_ID; roles that bind grants to a session need it. */
static void check_session(struct doctor *d, int pamfd)
{
        struct pam_list s = { 0 };
        ssize_t jit = -1, sysd = -1;
        bool binds = false;
        const char *binder = NULL;

        if (!d->gates[GATE_SSHD].exists) {
                report(d, "session.sshd", ST_SKIP, "no %s/sshd", d->pam_dir);
                return;
        }
        (void)pam_expand(pamfd, "sshd", "session", false, 0, &s);
        for (size_t i = 0; i < s.n; i++) {
                if (jit < 0 && is_jit(&s.v[i]))
                        jit = (ssize_t)i;
                if (sysd < 0 && strcmp(module_base(s.v[i].module), "pam_systemd.so") == 0)
                        sysd = (ssize_t)i;
        }
        for (size_t i = 0; d->config && i < d->config->n_roles && !binds; i++)
                if ((binds = d->config->roles[i].bind_session))
                        binder = d->config->roles[i].name;
        if (jit >= 0 && sysd < 0) {
                report(d, "session.sshd", ST_WARN, "%s/%s:%u: pam_jit's session line, but no pam_systemd in sshd's "
                       "session phase: no logind session id to name", d->pam_dir, s.v[jit].file, s.v[jit].line);
                fix(d, "keep \"session optional pam_systemd.so\" (common-session) before it");
        } else if (jit >= 0 && jit < sysd) {
                report(d, "session.sshd", ST_WARN, "%s/%s:%u: pam_jit's session line comes before pam_systemd "
                       "(%s:%u): XDG_SESSION_ID is not set yet, so logins never name their session",
                       d->pam_dir, s.v[jit].file, s.v[jit].line, s.v[sysd].file, s.v[sysd].line);
                fix(d, "move \"session optional pam_jit.so\" after \"@include common-session\" in %s/sshd", d->pam_dir);
        } else if (jit >= 0) {
                report(d, "session.sshd", ST_OK, "%s/%s:%u: pam_jit's session line comes after pam_systemd",
                       d->pam_dir, s.v[jit].file, s.v[jit].line);
        } else if (binds && d->gates[GATE_SSHD].gated) {
                report(d, "session.sshd", ST_WARN, "role %s binds grants to the login session, but sshd's session "
                       "phase has no pam_jit line: such grants end 2 minutes after they are made", binder);
                fix(d, "add \"session optional pam_jit.so\" after \"@include common-session\" in %s/sshd", d->pam_dir);
        } else {
                report(d, "session.sshd", ST_OK, "no pam_jit session line (optional: for grants bound to a session)");
        }
        pam_list_done(&s);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
        const char *n = info->dlpi_name, *b = n ? strrchr(n, '/') : NULL;

        (void)size;
        if (!b || strncmp(b + 1, "libc.so", 7) != 0)
                return 0;
        snprintf(data, PATH_MAX, "%.*s", (int)(b - n), n);
        return 1;
}

/* libpam's module directory: where pam_unix.so is, beside the C library's
 * multiarch directory first (/usr/lib/x86_64-linux-gnu/security). */
static void find_module_dir(struct doctor *d)
{
        char libdir[PATH_MAX] = "", cand[6][PATH_MAX + 16], path[PATH_MAX + 32];
        struct stat st;

        (void)dl_iterate_phdr(find_libc, libdir);
        snprintf(cand[0], sizeof(cand[0]), "%s%s/security", strncmp(libdir, "/usr/", 5) ? "/usr" : "", libdir);
        snprintf(cand[1], sizeof(cand[1]), "%s/security", libdir);
        snprintf(cand[2], sizeof(cand[2]), "/usr/lib64/security");
        snprintf(cand[3], sizeof(cand[3]), "/lib64/security");
        snprintf(cand[4], sizeof(cand[4]), "/usr/lib/security");
        snprintf(cand[5], sizeof(cand[5]), "/lib/security");
        for (size_t i = 0; i < JIT_ELEMENTSOF(cand); i++) {
                snprintf(path, sizeof(path), "%s/pam_unix.so", cand[i]);
                if ((libdir[0] || i >= 2) && stat(path, &st) == 0) {
                        snprintf(d->module_dir, sizeof(d->module_dir), "%s", cand[i]);
                        return;
                }
        }
}

static void check_stacks(struct doctor *d)
{
        static const char *const ids[N_GATES] = { "stack.sudo", "stack.sudo-i", "stack.sshd" };
        _cleanup_close_ int pamfd = jit_safeio_open_dir(d->pam_dir, 0);
        bool any = false;

        d->gates[GATE_SUDO].service = "sudo";
        d->gates[GATE_SUDO_I].service = "sudo-i";
        d->gates[GATE_SSHD].service = "sshd";
        find_module_dir(d);
        if (pamfd < 0) {
                for (size_t i = 0; i < N_GATES; i++)
                        report(d, ids[i], ST_FAIL, "cannot open %s: %s", d->pam_dir, strerror(-pamfd));
                report(d, "session.sshd", ST_SKIP, "no %s", d->pam_dir);
                return;
        }
        for (size_t i = 0; i < N_GATES; i++)
                check_stack(d, pamfd, &d->gates[i], ids[i]);
        for (size_t i = 0; i < N_GATES; i++)
                any |= d->gates[i].gated;
        for (size_t i = 0; i < N_GATES; i++)
                report_ungated(d, &d->gates[i], ids[i], any);
        check_session(d, pamfd);
}

/* ---- the module -------------------------------------------------------- */

static void check_module_file(struct doctor *d, const char *path, const char *where)
{
        _cleanup_free_ char *real = realpath(path, NULL);
        _cleanup_close_ int fd = -1;
        char why[96], dir[PATH_MAX], bad[PATH_MAX + 128];
        const char *fault;
        struct stat st;

        if (!real) {
                report(d, "module", ST_FAIL, "%s names %s, which %s: libpam cannot load it, so a \"required\" line "
                       "refuses everyone and an \"optional\" one gates nothing", where, path,
                       errno == ENOENT ? "does not exist" : strerror(errno));
                fix(d, "install pam_jit.so there (cmake --install build), or correct the path at %s", where);
                return;
        }
        fd = open(real, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                report(d, "module", ST_FAIL, "cannot look at %s: %s", real, strerror(errno));
                return;
        }
        st.st_nlink = 1;        /* a module may have several links */
        fault = file_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
        if (fault) {
                report(d, "module", ST_FAIL, "%s is %s: whoever may write it runs code inside sudo and sshd", real, fault);
                fix(d, "chown root:root %s && chmod 0644 %s", real, real);
                return;
        }
        split_path(real, dir, sizeof(dir));
        if (untrusted_dir(dir, bad, sizeof(bad)) == 1) {
                report(d, "module", ST_FAIL, "%s: whoever may write there can replace pam_jit.so (%s)", bad, real);
                fix(d, "install the module in a directory only root can write (%s)",
                    d->module_dir[0] ? d->module_dir : "libpam's module directory");
                return;
        }
        report(d, "module", ST_OK, "%s: root's, mode %04o (named at %s)", real, perm(&st), where);
}

static void check_module(struct doctor *d)
{
        char path[PATH_MAX + 32];
        struct stat st;

        for (size_t i = 0; d->module_paths && d->module_paths[i]; i++)
                check_module_file(d, d->module_paths[i], d->module_where[i]);
        if (d->module_paths)
                return;
        if (!d->module_dir[0]) {
                report(d, "module", ST_WARN, "cannot tell libpam's module directory (no pam_unix.so found)");
                return;
        }
        snprintf(path, sizeof(path), "%s/pam_jit.so", d->module_dir);
        if (stat(path, &st) == 0) {
                report(d, "module", ST_OK, "%s is installed; no PAM stack names it", path);
                return;
        }
        report(d, "module", ST_WARN, "pam_jit.so is not in %s and no PAM stack names it", d->module_dir);
        fix(d, "cmake --install build (or install the jit package)");
}

/* ---- sudoers ----------------------------------------------------------- */

static bool sudoers_item_gated(const struct jit_config *c, const char *item)
{
        bool group = item[0] == '%';
        const char *name = item + (group ? (item[1] == ':' ? 2 : 1) : 0);

        if (strcmp(item, "ALL") == 0)
                return true;
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct jit_role *r = &c->roles[i];

                if (group ? jit_strv_contains(r->requester_groups, name) || strcmp(r->group, name) == 0
                          : jit_strv_contains(r->requester_users, name))
                        return true;
        }
        return false;
}

/* Where a rule's user list ends: "alice, %eng ALL=..." → after "%eng",
 * at the first blank that is not next to a comma. */
static char *user_list_end(char *line)
{
        char last = 0;

        for (char *p = line; *p; p++) {
                char *q = p;

                if (!isspace((unsigned char)*p)) {
                        last = *p;
                        continue;
                }
                while (*q && isspace((unsigned char)*q))
                        q++;
                if (last != ',' && *q != ',')
                        return p;
                p = q - 1;
        }
        return line + strlen(line);
}

static bool sudoers_line_gated(const struct jit_config *c, char *line, char *item, size_t size)
{
        char *save = NULL, *t;

        *user_list_end(line) = '\0';
        if (strncmp(line, "Defaults", 8) == 0 || strstr(line, "_Alias"))
                return false;
        for (t = strtok_r(line, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
                if (t[0] != '!' && sudoers_item_gated(c, t)) {
                        snprintf(item, size, "%s", t);
                        return true;
                }
        return false;
}

static int scan_sudoers(const struct jit_config *c, const char *path, int depth, char *found, size_t size);

static int scan_sudoers_dir(const struct jit_config *c, const char *dir, int depth, char *found, size_t size)
{
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort), r = 0;

        for (int i = 0; i < n; i++) {
                const char *f = names[i]->d_name;
                size_t l = strlen(f);
                char path[PATH_MAX + 256];

                /* sudo skips names with a dot and backups ending in ~ */
                if (r == 0 && !strchr(f, '.') && l && f[l - 1] != '~') {
                        snprintf(path, sizeof(path), "%s/%s", dir, f);
                        r = scan_sudoers(c, path, depth + 1, found, size);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

/* 1 and "FILE:LINE: item" in found when some rule names a requester or a
 * role's group. Aliases and netgroups are not expanded. */
static int scan_sudoers(const struct jit_config *c, const char *path, int depth, char *found, size_t size)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -1;
        char dir[PATH_MAX], item[128], *line, *next;
        const char *base = split_path(path, dir, sizeof(dir));
        unsigned lineno = 0;

        if (depth > 4 || (dfd = jit_safeio_open_dir(dir, 0)) < 0 ||
            jit_safeio_read_at(dfd, base, SUDOERS_MAX, 0, &text, NULL) < 0)
                return 0;
        for (line = text; line; line = next) {
                char *p = line, *arg;

                lineno++;
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                while (isspace((unsigned char)*p))
                        p++;
                if (strncmp(p, "#include", 8) == 0 || strncmp(p, "@include", 8) == 0) {
                        bool isdir = strncmp(p + 8, "dir", 3) == 0;
                        char inc[PATH_MAX + 256];

                        arg = p + 8 + (isdir ? 3 : 0);
                        arg = pam_token(&arg);
                        if (!arg)
                                continue;
                        snprintf(inc, sizeof(inc), "%s%s%s", arg[0] == '/' ? "" : dir, arg[0] == '/' ? "" : "/", arg);
                        if ((isdir ? scan_sudoers_dir(c, inc, depth, found, size)
                                   : scan_sudoers(c, inc, depth + 1, found, size)) == 1)
                                return 1;
                        continue;
                }
                if (*p == '#' || !*p)
                        continue;
                if (sudoers_line_gated(c, p, item, sizeof(item))) {
                        snprintf(found, size, "%s:%u: %s", path, lineno, item);
                        return 1;
                }
        }
        return 0;
}

static void check_sudoers(struct doctor *d)
{
        char found[PATH_MAX + 200];

        if (!d->gates[GATE_SUDO].gated && !d->gates[GATE_SUDO_I].gated) {
                report(d, "sudoers", ST_SKIP, "sudo is not gated by pam_jit");
                return;
        }
        if (!d->root) {
                report(d, "sudoers", ST_SKIP, "needs root (%s is not readable)", SUDOERS);
                return;
        }
        if (!d->config) {
                report(d, "sudoers", ST_SKIP, "the policy does not load: no requesters to look for");
                return;
        }
        if (scan_sudoers(d->config, SUDOERS, 0, found, sizeof(found)) == 1) {
                report(d, "sudoers", ST_OK, "a rule names requesters: %s", found);
                return;
        }
        report(d, "sudoers", ST_WARN, "no rule in %s or its includes names a requester, a requester group or a "
               "role's group: pam_jit decides only on what sudoers allows (a plain look: aliases and netgroups "
               "are not expanded)", SUDOERS);
        fix(d, "e.g. in /etc/sudoers.d/jit: %%eng ALL=(ALL:ALL) ALL (the users eligible to request)");
}

/* ---- keys -------------------------------------------------------------- */

static void check_approvers_dir(struct doctor *d, int etcfd)
{
        _cleanup_strv_free_ char **bad = NULL;
        _cleanup_free_ char *list = NULL;
        char why[96], line[600];
        const char *fault;
        struct stat st;
        size_t n = 0;
        DIR *dir;
        struct dirent *de;
        int fd;

        if (stat_at(etcfd, JIT_APPROVERS_DIR, &st) == -ENOENT) {
                report(d, "keys.approvers", ST_WARN, "%s/%s does not exist: no approver key is registered, so every "
                       "approve and deny is refused", d->etc_dir, JIT_APPROVERS_DIR);
                fix(d, "each approver runs jitctl keygen; root runs: jitctl approver add USER ~USER/.config/jit/approver.pub");
                return;
        }
        fault = dir_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
        if (fault) {
                report(d, "keys.approvers", ST_FAIL, "%s/%s is %s: anyone who may write there could register a key; "
                       "the service trusts none of them and refuses every signed decision", d->etc_dir,
                       JIT_APPROVERS_DIR, fault);
                fix(d, "chown root:root %s/%s && chmod 0755 %s/%s", d->etc_dir, JIT_APPROVERS_DIR, d->etc_dir,
                    JIT_APPROVERS_DIR);
                return;
        }
        fd = openat(etcfd, JIT_APPROVERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        dir = fd < 0 ? NULL : fdopendir(fd);
        if (!dir) {
                report(d, "keys.approvers", ST_WARN, "cannot list %s/%s: %s", d->etc_dir, JIT_APPROVERS_DIR, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((de = readdir(dir))) {
                _cleanup_free_ char *text = NULL;
                unsigned char pk[32];
                size_t l = strlen(de->d_name), len = 0;

                if (de->d_name[0] == '.' || l <= 4 || strcmp(de->d_name + l - 4, ".pub") != 0)
                        continue;
                n++;
                if (stat_at(dirfd(dir), de->d_name, &st) < 0)
                        continue;
                fault = file_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
                if (!fault && (jit_safeio_read_at(dirfd(dir), de->d_name, 128, JIT_SAFEIO_TRUSTED, &text, &len) < 0 ||
                               jit_decision_parse_pub(text, len, pk) < 0))
                        fault = "not a jit public key (64 hex characters)";
                snprintf(line, sizeof(line), "%s is %s", de->d_name, fault ? fault : "");
                if (fault)
                        (void)jit_strv_push(&bad, line);
        }
        closedir(dir);
        if (bad) {
                list = names_of(bad);
                report(d, "keys.approvers", ST_FAIL, "in %s/%s: %s: the service refuses those approvers' decisions",
                       d->etc_dir, JIT_APPROVERS_DIR, list ? list : "?");
                fix(d, "chown root:root %s/%s/*.pub && chmod 0644 %s/%s/*.pub, or register the key again "
                    "(jitctl approver add USER PUBFILE)", d->etc_dir, JIT_APPROVERS_DIR, d->etc_dir, JIT_APPROVERS_DIR);
                return;
        }
        report(d, "keys.approvers", ST_OK, "%s/%s: root's, %zu registered key%s, none writable by others",
               d->etc_dir, JIT_APPROVERS_DIR, n, n == 1 ? "" : "s");
}

/* Root: does host.pub belong to host.key? 0, 1 (no), -errno. */
static int host_pub_matches(int etcfd)
{
        _cleanup_free_ char *sktext = NULL, *pktext = NULL;
        unsigned char sk[64], pk[32], derived[32];
        size_t sklen = 0, pklen = 0, got = 0;
        int r;

        r = jit_safeio_read_at(etcfd, "host.key", 1024, JIT_SAFEIO_TRUSTED | JIT_SAFEIO_SECRET, &sktext, &sklen);
        if (r < 0)
                return r;
        r = sodium_hex2bin(sk, sizeof(sk), sktext, sklen, "\n", &got, NULL);
        sodium_memzero(sktext, sklen);
        if (r < 0 || got != sizeof(sk)) {
                sodium_memzero(sk, sizeof(sk));
                return -EKEYREJECTED;
        }
        crypto_sign_ed25519_sk_to_pk(derived, sk);
        sodium_memzero(sk, sizeof(sk));
        r = jit_safeio_read_at(etcfd, "host.pub", 1024, 0, &pktext, &pklen);
        if (r < 0)
                return r;
        if (sodium_hex2bin(pk, sizeof(pk), pktext, pklen, "\n", &got, NULL) < 0 || got != sizeof(pk))
                return 1;
        return sodium_memcmp(pk, derived, sizeof(pk)) == 0 ? 0 : 1;
}

static void check_host_key(struct doctor *d, int etcfd)
{
        char why[96];
        const char *fault;
        struct stat st;
        int r;

        if (stat_at(etcfd, "host.key", &st) == -ENOENT) {
                report(d, "keys.host", ST_WARN, "no %s/host.key: the service makes one at its first start", d->etc_dir);
                return;
        }
        fault = file_fault(&st, 077, why, sizeof(why));
        if (fault) {
                report(d, "keys.host", ST_FAIL, "%s/host.key is %s: anyone who can read it can sign audit "
                       "checkpoints, and the service will not start with it", d->etc_dir, fault);
                fix(d, "chown root:root %s/host.key && chmod 0600 %s/host.key (and, since it was exposed, consider a "
                    "new key: the old checkpoints then verify only with the old host.pub)", d->etc_dir, d->etc_dir);
                return;
        }
        if (!d->root) {
                report(d, "keys.host", ST_OK, "%s/host.key: root's, mode %04o (its content not checked: needs root)",
                       d->etc_dir, perm(&st));
                return;
        }
        r = host_pub_matches(etcfd);
        if (r == -ENOENT) {
                report(d, "keys.host", ST_WARN, "no %s/host.pub: the audit log's checkpoints cannot be verified",
                       d->etc_dir);
                fix(d, "restore host.pub from a backup (it is the public half of host.key)");
        } else if (r == 1) {
                report(d, "keys.host", ST_FAIL, "%s/host.pub is not host.key's public key: jitctl audit verify "
                       "refuses every checkpoint", d->etc_dir);
                fix(d, "put back the host.pub that belongs to host.key");
        } else if (r < 0) {
                report(d, "keys.host", ST_FAIL, "%s/host.key: %s: the service will not start with it", d->etc_dir,
                       r == -EKEYREJECTED ? "not a hex Ed25519 secret key" : strerror(-r));
        } else {
                report(d, "keys.host", ST_OK, "%s/host.key: root's, mode %04o; host.pub is its public key",
                       d->etc_dir, perm(&st));
        }
}

static void push_group_members(char ***v, const char *group)
{
        struct group *gr = getgrnam(group);
        struct passwd *pw;
        gid_t gid;

        if (!gr)
                return;
        gid = gr->gr_gid;
        for (char **m = gr->gr_mem; m && *m; m++)
                if (!jit_strv_contains(*v, *m))
                        (void)jit_strv_push(v, *m);
        setpwent();
        while ((pw = getpwent()))
                if (pw->pw_gid == gid && !jit_strv_contains(*v, pw->pw_name))
                        (void)jit_strv_push(v, pw->pw_name);
        endpwent();
}

static void push_people(char ***v, char *const *users, char *const *groups)
{
        for (size_t i = 0; users && users[i]; i++)
                if (!jit_strv_contains(*v, users[i]))
                        (void)jit_strv_push(v, users[i]);
        for (size_t i = 0; groups && groups[i]; i++)
                push_group_members(v, groups[i]);
}

/* Everyone who may sign a decision needs a registered key: approvers,
 * security approvers, and the on-call (a break-glass is self-signed). */
static void check_registered(struct doctor *d, int etcfd)
{
        _cleanup_strv_free_ char **people = NULL, **missing = NULL;
        _cleanup_close_ int reg = -1;
        _cleanup_free_ char *list = NULL;
        char name[300];
        struct stat st;

        if (!d->config) {
                report(d, "keys.registered", ST_SKIP, "the policy does not load");
                return;
        }
        for (size_t i = 0; i < d->config->n_roles; i++) {
                const struct jit_role *r = &d->config->roles[i];

                push_people(&people, r->approver_users, r->approver_groups);
                push_people(&people, r->oncall_users, r->oncall_groups);
        }
        push_people(&people, d->config->security.users, d->config->security.groups);
        reg = openat(etcfd, JIT_APPROVERS_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        for (size_t i = 0; people && people[i]; i++) {
                snprintf(name, sizeof(name), "%s.pub", people[i]);
                if (!getpwnam(people[i]))
                        continue;       /* not a user here: cannot decide anything here */
                if (reg < 0 || stat_at(reg, name, &st) < 0)
                        (void)jit_strv_push(&missing, people[i]);
        }
        if (missing) {
                list = names_of(missing);
                report(d, "keys.registered", ST_WARN, "no registered key for %s: their approve, deny and break-glass "
                       "are refused", list ? list : "?");
                fix(d, "each runs jitctl keygen; root runs: jitctl approver add USER ~USER/.config/jit/approver.pub");
                return;
        }
        report(d, "keys.registered", ST_OK, "every approver and on-call user (%zu) has a registered key",
               jit_strv_length(people));
}

static void check_keys(struct doctor *d)
{
        _cleanup_close_ int etcfd = jit_safeio_open_dir(d->etc_dir, 0);

        if (etcfd < 0) {
                report(d, "keys.approvers", ST_SKIP, "cannot open %s: %s", d->etc_dir, strerror(-etcfd));
                report(d, "keys.host", ST_SKIP, "cannot open %s: %s", d->etc_dir, strerror(-etcfd));
                report(d, "keys.registered", ST_SKIP, "cannot open %s: %s", d->etc_dir, strerror(-etcfd));
                return;
        }
        check_approvers_dir(d, etcfd);
        check_host_key(d, etcfd);
        check_registered(d, etcfd);
}

/* ---- state ------------------------------------------------------------- */

static bool check_state_dir(struct doctor *d)
{
        char parent[PATH_MAX], bad[PATH_MAX + 128], why[96];
        const char *base = split_path(d->state_dir, parent, sizeof(parent)), *fault;
        _cleanup_close_ int pfd = -1;
        struct stat st;
        int r;

        r = untrusted_dir(parent, bad, sizeof(bad));
        if (r == 1) {
                report(d, "state.dir", ST_FAIL, "%s: whoever may write there can replace the spool and the audit log",
                       bad);
                fix(d, "make every directory down to %s root's and not writable by group or others", parent);
                return false;
        }
        /* O_PATH: the parent need not be readable, only searchable; the
         * walk above has seen that no link is on the way. */
        pfd = r < 0 ? r : open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        r = r < 0 ? r : pfd < 0 ? -errno : stat_at(pfd, base, &st);
        if (r == -ENOENT) {
                report(d, "state.dir", ST_WARN, "%s does not exist yet: the service makes it (0700) at its first start",
                       d->state_dir);
                return false;
        }
        if (r < 0) {
                report(d, "state.dir", ST_FAIL, "cannot look at %s: %s", d->state_dir, strerror(-r));
                return false;
        }
        fault = dir_fault(&st, 077, why, sizeof(why));
        if (fault) {
                report(d, "state.dir", ST_FAIL, "%s is %s: the service will not start (it must be root's, mode 0700)",
                       d->state_dir, fault);
                fix(d, "chown root:root %s && chmod 0700 %s", d->state_dir, d->state_dir);
                return false;
        }
        report(d, "state.dir", ST_OK, "%s: root's, mode %04o", d->state_dir, perm(&st));
        return true;
}

static void note_record_times(struct doctor *d, struct jit_request **reqs, size_t nr)
{
        for (size_t i = 0; i < nr; i++) {
                saw_time(d, reqs[i]->created_us, "request", reqs[i]->id);
                saw_time(d, reqs[i]->decided_at_us, "decision on", reqs[i]->id);
        }
        for (size_t i = 0; i < d->n_grants; i++) {
                saw_time(d, d->grants[i]->created_us, "grant", d->grants[i]->id);
                saw_time(d, d->grants[i]->ended_us, "end of grant", d->grants[i]->id);
        }
}

static void check_spool(struct doctor *d, int sfd)
{
        static const char *const subs[] = { "requests", "grants" };
        _cleanup_strv_free_ char **bad = NULL;
        _cleanup_free_ char *list = NULL;
        struct jit_request **reqs = NULL;
        struct jit_spool *sp = NULL;
        char why[96];
        size_t nr = 0, active = 0;
        struct stat st;
        int r;

        for (size_t i = 0; i < JIT_ELEMENTSOF(subs); i++) {
                const char *fault;

                if (stat_at(sfd, subs[i], &st) == -ENOENT) {
                        report(d, "state.spool", ST_WARN, "no %s/%s yet: the service makes it at its first start",
                               d->state_dir, subs[i]);
                        return;
                }
                fault = dir_fault(&st, S_IWGRP | S_IWOTH, why, sizeof(why));
                if (fault) {
                        report(d, "state.spool", ST_FAIL, "%s/%s is %s: the service will not start", d->state_dir,
                               subs[i], fault);
                        fix(d, "chown root:root %s/%s && chmod 0700 %s/%s", d->state_dir, subs[i], d->state_dir, subs[i]);
                        return;
                }
        }
        r = jit_spool_open_files(d->state_dir, &sp);
        if (r == 0)
                r = jit_spool_load(sp, &reqs, &nr, &d->grants, &d->n_grants, &bad);
        jit_spool_free(sp);
        if (r < 0) {
                report(d, "state.spool", ST_FAIL, "cannot read the spool in %s: %s", d->state_dir, strerror(-r));
                return;
        }
        d->grants_known = true;
        note_record_times(d, reqs, nr);
        for (size_t i = 0; i < nr; i++)
                jit_request_free(reqs[i]);
        free(reqs);
        for (size_t i = 0; i < d->n_grants; i++)
                active += jit_grant_is_active(d->grants[i], now_us());
        if (bad) {
                list = names_of(bad);
                report(d, "state.spool", ST_WARN, "%zu record%s in %s fail%s their integrity check and %s not used: %s",
                       jit_strv_length(bad), jit_strv_length(bad) == 1 ? "" : "s", d->state_dir,
                       jit_strv_length(bad) == 1 ? "s" : "", jit_strv_length(bad) == 1 ? "is" : "are", list ? list : "?");
                fix(d, "find out what changed them (jitctl audit show); move them out of the spool once understood");
                return;
        }
        report(d, "state.spool", ST_OK, "%zu request%s, %zu grant%s (%zu active), every record intact", nr,
               nr == 1 ? "" : "s", d->n_grants, d->n_grants == 1 ? "" : "s", active);
}

static void note_audit_tail(struct doctor *d, const char *log, size_t len)
{
        const char *end = log + len, *start;
        cJSON *j;

        while (end > log && end[-1] == '\n')
                end--;
        for (start = end; start > log && start[-1] != '\n'; start--)
                ;
        j = cJSON_ParseWithLength(start, (size_t)(end - start));
        saw_time(d, jit_json_u64(j, "time_us"), "the audit log's last line:",
                 jit_json_str(j, "event") ? jit_json_str(j, "event") : "?");
        cJSON_Delete(j);
}

/* The audit log as jitctl audit verify judges it, up to AUDIT_QUICK_MAX. */
static void check_audit(struct doctor *d, int sfd)
{
        _cleanup_free_ char *log = NULL, *pubhex = NULL, *head = NULL;
        _cleanup_close_ int etcfd = jit_safeio_open_dir(d->etc_dir, 0);
        struct jit_audit_report rep, ok;
        unsigned char pk[32];
        size_t len = 0, plen = 0, hlen = 0, got = 0;
        char why[96];
        const char *fault;
        struct stat st;
        int r;

        if (stat_at(sfd, JIT_AUDIT_FILE, &st) == -ENOENT) {
                report(d, "state.audit", ST_WARN, "no %s/%s yet: the service starts it at its first start",
                       d->state_dir, JIT_AUDIT_FILE);
                return;
        }
        fault = file_fault(&st, 077, why, sizeof(why));
        if (fault) {
                report(d, "state.audit", ST_FAIL, "%s/%s is %s: the service will not start (it must be root's, 0600)",
                       d->state_dir, JIT_AUDIT_FILE, fault);
                fix(d, "chown root:root %s/%s && chmod 0600 %s/%s", d->state_dir, JIT_AUDIT_FILE, d->state_dir, JIT_AUDIT_FILE);
                return;
        }
        r = jit_safeio_read_at(sfd, JIT_AUDIT_FILE, AUDIT_QUICK_MAX, 0, &log, &len);
        if (r == -EFBIG) {
                report(d, "state.audit", ST_OK, "%s/%s: root's, mode %04o; over %d MiB, not verified here",
                       d->state_dir, JIT_AUDIT_FILE, perm(&st), AUDIT_QUICK_MAX >> 20);
                fix(d, "jitctl audit verify");
                return;
        }
        if (r < 0 || etcfd < 0 || jit_safeio_read_at(etcfd, "host.pub", 1024, 0, &pubhex, &plen) < 0 ||
            sodium_hex2bin(pk, sizeof(pk), pubhex, plen, "\n", &got, NULL) < 0 || got != sizeof(pk)) {
                report(d, "state.audit", ST_WARN, "%s/%s: root's, mode %04o; not verified: %s", d->state_dir,
                       JIT_AUDIT_FILE, perm(&st), r < 0 ? strerror(-r) : "no usable host.pub");
                return;
        }
        r = jit_audit_verify(log, len, pk, &rep);
        ok = rep;
        if (r == 0 && jit_safeio_read_at(sfd, JIT_AUDIT_HEAD_FILE, 256, 0, &head, &hlen) == 0)
                r = jit_audit_check_head(head, hlen, &ok, ok.last_hash, &rep);
        if (r < 0) {
                report(d, "state.audit", ST_FAIL, "%s/%s does not hold: line %llu: %s", d->state_dir, JIT_AUDIT_FILE,
                       (unsigned long long)rep.bad_line, rep.why);
                fix(d, "jitctl audit verify --file %s/%s; find out who changed it before anything else",
                    d->state_dir, JIT_AUDIT_FILE);
                return;
        }
        note_audit_tail(d, log, len);
        report(d, "state.audit", ST_OK, "%s/%s: root's, mode %04o; %llu lines, %llu signed checkpoint%s, the chain holds",
               d->state_dir, JIT_AUDIT_FILE, perm(&st), (unsigned long long)rep.lines,
               (unsigned long long)rep.checkpoints, rep.checkpoints == 1 ? "" : "s");
}

static void check_state(struct doctor *d)
{
        _cleanup_close_ int sfd = -1;

        bool usable = check_state_dir(d);

        if (!usable || !d->root) {
                const char *why = !usable ? "no usable state directory" : "needs root (the state directory is 0700)";

                report(d, "state.spool", ST_SKIP, "%s", why);
                report(d, "state.audit", ST_SKIP, "%s", why);
                return;
        }
        sfd = jit_safeio_open_dir(d->state_dir, 0);
        if (sfd < 0) {
                report(d, "state.spool", ST_FAIL, "cannot open %s: %s", d->state_dir, strerror(-sfd));
                return;
        }
        check_spool(d, sfd);
        check_audit(d, sfd);
}

/* ---- groups ------------------------------------------------------------ */

static bool explained(const struct doctor *d, const char *user, const char *group, uint64_t now)
{
        for (size_t i = 0; i < d->n_grants; i++) {
                const struct jit_grant *g = d->grants[i];

                if (jit_grant_is_active(g, now) && strcmp(g->user, user) == 0 && strcmp(g->group, group) == 0)
                        return true;
        }
        return false;
}

static void check_role_group(struct doctor *d, const struct jit_role *role, uint64_t now)
{
        _cleanup_strv_free_ char **members = NULL, **standing = NULL, **primary = NULL;
        _cleanup_free_ char *list = NULL;
        struct group *gr = getgrnam(role->group);
        struct passwd *pw;
        gid_t gid;

        if (!gr) {
                report(d, "groups", ST_FAIL, "role %s: group %s does not exist: every grant of %s fails",
                       role->name, role->group, role->name);
                fix(d, "groupadd --system %s (a group for jit alone)", role->group);
                return;
        }
        gid = gr->gr_gid;
        if (!d->root || jit_membership_list(role->group, &members) < 0)
                for (char **m = gr->gr_mem; m && *m; m++)
                        (void)jit_strv_push(&members, *m);
        setpwent();
        while ((pw = getpwent()))
                if (pw->pw_gid == gid)
                        (void)jit_strv_push(&primary, pw->pw_name);
        endpwent();
        if (primary) {
                list = names_of(primary);
                report(d, "groups", ST_WARN, "role %s: %s is the primary group of %s: they hold it with no grant, "
                       "and reconcile cannot take it away", role->name, role->group, list ? list : "?");
                fix(d, "usermod -g ANOTHER-GROUP USER, or give the role a group used for nothing else");
                return;
        }
        for (size_t i = 0; d->grants_known && members && members[i]; i++)
                if (!explained(d, members[i], role->group, now))
                        (void)jit_strv_push(&standing, members[i]);
        if (standing) {
                list = names_of(standing);
                report(d, "groups", ST_WARN, "role %s: %s has members no active grant explains: %s: the next "
                       "reconcile removes them", role->name, role->group, list ? list : "?");
                fix(d, "a role's group must be jit's alone: give the role a new group, or let reconcile remove them "
                    "(jitctl reconcile)");
                return;
        }
        report(d, "groups", ST_OK, "role %s: group %s (gid %u), %zu member%s%s", role->name, role->group,
               (unsigned)gid, jit_strv_length(members), jit_strv_length(members) == 1 ? "" : "s",
               !d->grants_known ? (d->root ? " (not compared with the grants: the spool was not read)"
                                           : " (not compared with the grants: needs root)")
               : members ? ", each with an active grant" : "");
}

static void check_groups(struct doctor *d)
{
        uint64_t now = now_us();

        if (!d->config) {
                report(d, "groups", ST_SKIP, "the policy does not load");
                return;
        }
        for (size_t i = 0; i < d->config->n_roles; i++)
                check_role_group(d, &d->config->roles[i], now);
}

/* ---- service ----------------------------------------------------------- */

static void check_answer(struct doctor *d, int fd, pid_t pid)
{
        cJSON *req = cJSON_CreateObject(), *ans = NULL;
        const cJSON *grants;
        int r = -ENOMEM;

        if (req && cJSON_AddStringToObject(req, "op", JIT_OP_LIST) && cJSON_AddBoolToObject(req, "active", true))
                r = jit_proto_send(fd, req, 5000);
        cJSON_Delete(req);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_ANSWER, 5000, &ans);
        if (r < 0) {
                report(d, "service.answer", ST_FAIL, "the service (pid %d) did not answer \"list --active\": %s",
                       (int)pid, strerror(-r));
                fix(d, "journalctl -u jit.service; systemctl restart jit.service");
                return;
        }
        grants = cJSON_GetObjectItemCaseSensitive(ans, "grants");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok")) || !cJSON_IsArray(grants)) {
                report(d, "service.answer", ST_FAIL, "the service refused \"list --active\": %s",
                       jit_json_str(ans, "error") ? jit_json_str(ans, "error") : "no reason given");
                fix(d, "journalctl -u jit.service");
        } else {
                report(d, "service.answer", ST_OK, "the service (pid %d) answers: %d active grant%s%s", (int)pid,
                       cJSON_GetArraySize(grants), cJSON_GetArraySize(grants) == 1 ? "" : "s",
                       d->root ? "" : " that you may see");
        }
        cJSON_Delete(ans);
}

static void check_socket(struct doctor *d)
{
        _cleanup_close_ int fd = jit_proto_connect(jit_g.socket);
        char who[64];
        pid_t pid = 0;
        uid_t uid = (uid_t)-1;

        if (fd < 0) {
                report(d, "service.socket", ST_FAIL, "nothing answers on %s (%s): every gated sudo and ssh is refused",
                       jit_g.socket, strerror(-fd));
                fix(d, "systemctl enable --now jit.socket jit.service (or: jitctl serve)");
                report(d, "service.peer", ST_SKIP, "no service to look at");
                report(d, "service.answer", ST_SKIP, "no service to ask");
                return;
        }
        report(d, "service.socket", ST_OK, "%s accepts connections", jit_g.socket);
        if (jit_proto_peer(fd, &pid, &uid, NULL) < 0 || uid != 0) {
                report(d, "service.peer", ST_FAIL, "%s is served by %s (pid %d), not root: pam_jit will not talk to "
                       "it, so every gated sudo and ssh is refused", jit_g.socket, uid_name(uid, who), (int)pid);
                fix(d, "stop pid %d, remove %s, then: systemctl restart jit.socket jit.service", (int)pid, jit_g.socket);
                report(d, "service.answer", ST_SKIP, "not asked: the socket is not root's service");
                return;
        }
        report(d, "service.peer", ST_OK, "served by root (pid %d)", (int)pid);
        check_answer(d, fd, pid);
}

/* "enabled", "disabled", ... of a unit file, or an error in buf. */
static int unit_file_state(sd_bus *bus, const char *unit, char *buf, size_t size)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *s = NULL;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnitFileState", &err, &reply, "s", unit);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &s);
        snprintf(buf, size, "%s", r >= 0 && s ? s : "not installed");
        sd_bus_error_free(&err);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

static bool systemd_here(void)
{
        return sd_booted() > 0;
}

static void check_units(struct doctor *d, sd_bus *bus)
{
        char sock[32], svc[32], rec[32];

        if (!bus) {
                report(d, "service.units", ST_SKIP, "systemd is not running here");
                report(d, "timers.reconcile", ST_SKIP, "systemd is not running here");
                return;
        }
        (void)unit_file_state(bus, "jit.socket", sock, sizeof(sock));
        (void)unit_file_state(bus, "jit.service", svc, sizeof(svc));
        if (strcmp(sock, "enabled") != 0 || strcmp(svc, "enabled") != 0) {
                report(d, "service.units", ST_WARN, "jit.socket is %s, jit.service is %s: after a reboot nothing "
                       "may listen, and grants that expired while down wait for the first connection", sock, svc);
                fix(d, "systemctl enable --now jit.socket jit.service");
        } else {
                report(d, "service.units", ST_OK, "jit.socket and jit.service are enabled");
        }
        (void)unit_file_state(bus, "jit-reconcile.timer", rec, sizeof(rec));
        if (strcmp(rec, "enabled") != 0) {
                report(d, "timers.reconcile", ST_WARN, "jit-reconcile.timer is %s: nothing recreates lost expiry "
                       "timers or removes hand-made members between the service's own passes", rec);
                fix(d, "systemctl enable --now jit-reconcile.timer");
        } else {
                report(d, "timers.reconcile", ST_OK, "jit-reconcile.timer is enabled");
        }
}

/* ---- timers ------------------------------------------------------------ */

static void check_expiry_timers(struct doctor *d, sd_bus *bus)
{
        _cleanup_strv_free_ char **missing = NULL;
        _cleanup_free_ char *list = NULL;
        uint64_t now = now_us();
        size_t active = 0;

        if (!bus) {
                report(d, "timers.expire", ST_SKIP, "systemd is not running here: the service's own loop ends grants");
                return;
        }
        if (d->config && d->config->settings.expiry == JIT_EXPIRY_LOOP) {
                report(d, "timers.expire", ST_OK, "settings.expiry is \"loop\": the service's own loop ends grants");
                return;
        }
        if (!d->grants_known) {
                report(d, "timers.expire", ST_SKIP, "%s", d->root ? "the spool was not read" : "needs root (the spool)");
                return;
        }
        for (size_t i = 0; i < d->n_grants; i++) {
                const struct jit_grant *g = d->grants[i];
                char line[200], when[48];
                bool exists = true;

                if (!jit_grant_is_active(g, now))
                        continue;
                active++;
                if (jit_timer_exists(bus, g->id, &exists) < 0 || exists)
                        continue;
                jit_format_when(when, sizeof(when), g->expires_us, now);
                snprintf(line, sizeof(line), "%s (%s, %s, until %s%s)", g->id, g->user, g->role, when,
                         g->timer ? "" : "; none was ever made for it");
                (void)jit_strv_push(&missing, line);
        }
        if (missing) {
                list = names_of(missing);
                report(d, "timers.expire", ST_WARN, "active grant%s without a jit-expire-<grant>.timer: %s: %s only "
                       "when the service itself notices (its loop, or a reconcile pass)",
                       jit_strv_length(missing) == 1 ? "" : "s", list ? list : "?", jit_strv_length(missing) == 1 ? "it ends" : "they end");
                fix(d, "jitctl reconcile (it recreates missing timers; if none appear, the service cannot reach "
                    "systemd: journalctl -u jit.service)");
                return;
        }
        report(d, "timers.expire", ST_OK, "%zu active grant%s, each with its jit-expire-<grant>.timer", active,
               active == 1 ? "" : "s");
}

static void check_systemd(struct doctor *d)
{
        sd_bus *bus = NULL;
        int r;

        if (systemd_here() && (r = sd_bus_open_system(&bus)) < 0) {
                bus = NULL;
                report(d, "service.units", ST_WARN, "cannot reach systemd over D-Bus: %s", strerror(-r));
                report(d, "timers.reconcile", ST_SKIP, "systemd cannot be reached");
                report(d, "timers.expire", ST_SKIP, "systemd cannot be reached");
                return;
        }
        check_units(d, bus);
        check_expiry_timers(d, bus);
        sd_bus_flush_close_unref(bus);
}

/* ---- clock ------------------------------------------------------------- */

/* The kernel's NTP state, which is what timedated reports as
 * NTPSynchronized; no D-Bus needed. */
static void check_clock_sync(struct doctor *d)
{
        struct timex tx = { 0 };
        int st = adjtimex(&tx);

        if (st < 0) {
                report(d, "clock.sync", ST_WARN, "cannot read the kernel's clock state: %s", strerror(errno));
        } else if (st == TIME_ERROR || (tx.status & STA_UNSYNC)) {
                report(d, "clock.sync", ST_WARN, "the system clock is not synchronized: grants start and end by "
                       "wall-clock time");
                fix(d, "timedatectl set-ntp true (or run chrony or systemd-timesyncd)");
        } else {
                report(d, "clock.sync", ST_OK, "synchronized (estimated error %ld ms)", tx.maxerror / 1000);
        }
}

static void check_clock_past(struct doctor *d)
{
        uint64_t now = now_us();
        char when[48];

        if (!d->newest_us) {
                if (d->grants_known)
                        report(d, "clock.past", ST_OK, "nothing on record to compare with");
                else
                        report(d, "clock.past", ST_SKIP, "%s", d->root ? "the spool was not read" : "needs root (the spool)");
                return;
        }
        jit_format_when(when, sizeof(when), d->newest_us, now);
        if (d->newest_us > now + CLOCK_SLACK_US) {
                report(d, "clock.past", ST_WARN, "the clock is behind the newest record (%s at %s): it was set back, "
                       "and active grants last until it reaches their expiry again", d->newest_what, when);
                fix(d, "set the clock right and find out why it went back");
                return;
        }
        report(d, "clock.past", ST_OK, "the clock is past the newest record (%s at %s)", d->newest_what, when);
}

/* ---- lock-out ---------------------------------------------------------- */

static void check_lockout(struct doctor *d)
{
        bool sudo = d->gates[GATE_SUDO].gated || d->gates[GATE_SUDO_I].gated, sshd = d->gates[GATE_SSHD].gated;
        struct spwd *sp;
        bool locked;

        if (!sudo || !sshd) {
                report(d, "lockout", ST_OK, "%s", sudo ? "sshd is not gated: ssh stays a way in that jit does not gate"
                       : sshd ? "sudo is not gated: sudo stays a way in that jit does not gate"
                       : "neither sudo nor sshd is gated");
                return;
        }
        if (!d->root) {
                report(d, "lockout", ST_SKIP, "needs root (/etc/shadow)");
                return;
        }
        sp = getspnam("root");
        if (!sp || !sp->sp_pwdp) {
                report(d, "lockout", ST_SKIP, "root has no entry in /etc/shadow");
                return;
        }
        locked = sp->sp_pwdp[0] == '!' || sp->sp_pwdp[0] == '*';
        if (locked) {
                report(d, "lockout", ST_WARN, "LOCK-OUT RISK: sudo and sshd are both gated by pam_jit and root's "
                       "password is locked: if the service stops or the policy breaks, every sudo and ssh login is "
                       "refused and only the console's rescue mode is left");
                fix(d, "before enabling: keep a root shell open, and give root a console password (passwd root) "
                    "or exempt an admin group before pam_jit (pam_succeed_if)");
                return;
        }
        report(d, "lockout", ST_OK, "root has a password: the console stays a way in that jit does not gate");
}

/* ---- output ------------------------------------------------------------ */

static const char *const status_word[] = { "ok", "warn", "fail", "skip" };

static void print_json(const struct doctor *d)
{
        cJSON *a = cJSON_CreateArray();
        char *t;

        for (size_t i = 0; a && i < d->n; i++) {
                const struct finding *f = &d->f[i];
                cJSON *o = cJSON_CreateObject();

                cJSON_AddStringToObject(o, "id", f->id);
                cJSON_AddStringToObject(o, "status", status_word[f->status]);
                cJSON_AddStringToObject(o, "message", f->message ? f->message : "(out of memory)");
                if (f->fix)
                        cJSON_AddStringToObject(o, "fix", f->fix);
                else
                        cJSON_AddNullToObject(o, "fix");
                cJSON_AddItemToArray(a, o);
        }
        t = a ? cJSON_Print(a) : NULL;
        puts(t ? t : "[]");
        free(t);
        cJSON_Delete(a);
}

static void print_text(const struct doctor *d)
{
        static const char *const label[] = { "ok", "warn", "FAIL", "skip" };
        _cleanup_strv_free_ char **skipped = NULL;
        size_t count[4] = { 0 };

        for (size_t i = 0; i < d->n; i++) {
                const struct finding *f = &d->f[i];

                printf("%-4s  %-16s  %s\n", label[f->status], f->id, f->message ? f->message : "(out of memory)");
                if (f->fix && f->status != ST_OK)
                        printf("      %-16s  fix: %s\n", "", f->fix);
                count[f->status]++;
                if (f->message && strstr(f->message, "needs root") &&
                    !jit_strv_contains(skipped, f->id))
                        (void)jit_strv_push(&skipped, f->id);
        }
        printf("\n%zu checks: %zu ok, %zu warning%s, %zu failure%s, %zu skipped\n", d->n, count[ST_OK],
               count[ST_WARN], count[ST_WARN] == 1 ? "" : "s", count[ST_FAIL], count[ST_FAIL] == 1 ? "" : "s",
               count[ST_SKIP]);
        if (!d->root) {
                _cleanup_free_ char *list = jit_strv_join(skipped, ", ");

                printf("Not root: %s%s; run it as root for the full check.\n",
                       skipped ? "skipped or only in part: " : "nothing was skipped", list && skipped ? list : "");
        }
}

static void doctor_done(struct doctor *d)
{
        for (size_t i = 0; i < d->n; i++) {
                free(d->f[i].message);
                free(d->f[i].fix);
        }
        free(d->f);
        for (size_t i = 0; i < d->n_grants; i++)
                jit_grant_free(d->grants[i]);
        free(d->grants);
        jit_config_free(d->config);
        jit_strv_free(d->module_paths);
        jit_strv_free(d->module_where);
}

static int parse_doctor(int argc, char **argv, struct doctor *d)
{
        static const struct option lo[] = {
                { "pam-dir", required_argument, NULL, 'p' },
                { "config", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, 'd' },
                {}
        };
        int c;

        d->pam_dir = PAM_DIR_DEFAULT;
        d->config_path = JIT_CONFIG_PATH;
        d->state_dir = JIT_SPOOL_DIR;
        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'p': d->pam_dir = optarg; break;
                case 'c': d->config_path = optarg; break;
                case 'd': d->state_dir = optarg; break;
                default: return -EINVAL;
                }
        }
        if (optind != argc || d->pam_dir[0] != '/' || d->config_path[0] != '/' || d->state_dir[0] != '/')
                return -EINVAL;
        split_path(d->config_path, d->etc_dir, sizeof(d->etc_dir));
        return 0;
}

int verb_doctor(int argc, char **argv)
{
        struct doctor d = { 0 };
        bool failed = false;
        bool templates_ok, file_ok;

        if (parse_doctor(argc, argv, &d) < 0)
                return jit_usage_error("usage: jitctl doctor [--json] [--pam-dir DIR] [--config FILE] "
                                       "[--state-dir DIR] (absolute paths)");
        d.root = geteuid() == 0;
        if (sodium_init() < 0)
                return jit_fail(JIT_EXIT_ERROR, "doctor: libsodium failed to initialise");
        file_ok = check_config_file(&d);
        templates_ok = check_templates(&d);
        check_config_valid(&d, file_ok && templates_ok);
        check_stacks(&d);
        check_module(&d);
        check_sudoers(&d);
        check_keys(&d);
        check_state(&d);
        check_groups(&d);
        check_socket(&d);
        check_systemd(&d);
        check_clock_sync(&d);
        check_clock_past(&d);
        check_lockout(&d);
        if (jit_g.json)
                print_json(&d);
        else
                print_text(&d);
        for (size_t i = 0; i < d.n; i++)
                failed |= d.f[i].status == ST_FAIL;
        doctor_done(&d);
        return failed ? JIT_EXIT_ERROR : JIT_EXIT_OK;
}
