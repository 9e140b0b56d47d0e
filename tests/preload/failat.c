/* failat.so — a test-only LD_PRELOAD shim (never installed) for the jit
 * service: the Nth call of one function fails, counted from the moment a
 * trigger file appears, so that a test can walk a fault through every call
 * site of a grant in turn (e2e/faults).
 *
 *   $FAILAT_ARM    the trigger file. While it is missing nothing is counted
 *                  and nothing fails (service start-up is not disturbed).
 *                  Its content is "FUNC N GEN [ERRNO]": fail the Nth call
 *                  of FUNC (N = 0: count only), counting afresh whenever
 *                  the content changes (GEN is any word the test changes
 *                  for each arming). An empty file takes FUNC, N and ERRNO
 *                  from $FAILAT_FUNC, $FAILAT_N, $FAILAT_ERRNO instead.
 *   $FAILAT_LOG    optional: each counted call is appended as
 *                  "GEN COUNT FUNC DETAIL", the failed one as "... FAIL".
 *                  FUNC "all" counts every function (a dry run, N ignored).
 *
 * FUNC is one of openat (also __openat_2, openat64), open (also __open_2,
 * open64), write, fsync, fdatasync, renameat, rename, posix_spawn,
 * sd_bus_call (also sd_bus_call_method), malloc (also calloc, realloc).
 * A failed call does nothing and returns -1 with errno = ERRNO (default
 * EIO; ENOSPC for write; ENOMEM for malloc, which returns NULL), for
 * posix_spawn the error number, for sd-bus -ERRNO.
 *
 * Only the process that loaded the shim counts: a fork()ed child does not
 * (its pid differs), and gpasswd is spawned with an empty environment. The
 * shim's own I/O goes through syscall(2), so it neither counts itself nor
 * allocates: malloc is wrapped through glibc's __libc_malloc, __libc_calloc
 * and __libc_realloc, never through dlsym (which itself allocates). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

struct sd_bus;
struct sd_bus_message;
struct sd_bus_error;

int __openat_2(int dfd, const char *p, int flags);
int __open_2(const char *p, int flags);
int sd_bus_call(struct sd_bus *bus, struct sd_bus_message *m, unsigned long long usec,
                struct sd_bus_error *ret_error, struct sd_bus_message **reply);
int sd_bus_call_method(struct sd_bus *bus, const char *dest, const char *path, const char *iface,
                       const char *member, struct sd_bus_error *ret_error, struct sd_bus_message **reply,
                       const char *types, ...);
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static pid_t owner;                     /* 0 until the constructor ran */
static __thread int busy;               /* inside the shim: pass through */
static char gen_seen[160];              /* the arming counted so far */
static unsigned long count;

__attribute__((constructor)) static void failat_init(void)
{
        owner = getpid();
}

static int sys_open(const char *p, int flags, mode_t mode)
{
        return (int)syscall(SYS_openat, AT_FDCWD, p, flags | O_CLOEXEC, mode);
}

static void log_line(const char *gen, unsigned long n, const char *fn, const char *detail, int failed)
{
        const char *path = getenv("FAILAT_LOG");
        char buf[512];
        int fd, len;

        if (!path || (fd = sys_open(path, O_WRONLY | O_APPEND | O_CREAT, 0600)) < 0)
                return;
        len = snprintf(buf, sizeof(buf), "%s %lu %s %s%s\n", gen, n, fn, detail && detail[0] ? detail : "-",
                       failed ? " FAIL" : "");
        if (len > (int)sizeof(buf) - 1)
                len = (int)sizeof(buf) - 1;
        (void)syscall(SYS_write, fd, buf, (size_t)len);
        (void)syscall(SYS_close, fd);
}

/* Is this call of fn (group name) the one to fail? Sets *err. */
static int should_fail(const char *fn, const char *detail, int *err)
{
        const char *arm = getenv("FAILAT_ARM");
        char buf[160], want[32] = "", gen[64] = "";
        long n = -1;
        int fd, e = 0, failed = 0;
        ssize_t got;

        if (busy || owner == 0 || getpid() != owner || !arm)
                return 0;
        busy = 1;
        fd = sys_open(arm, O_RDONLY, 0);
        if (fd < 0)
                goto out;
        got = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
        (void)syscall(SYS_close, fd);
        if (got < 0)
                goto out;
        buf[got] = '\0';
        if (sscanf(buf, "%31s %ld %63s %d", want, &n, gen, &e) < 3) {
                snprintf(want, sizeof(want), "%s", getenv("FAILAT_FUNC") ? getenv("FAILAT_FUNC") : "");
                n = getenv("FAILAT_N") ? strtol(getenv("FAILAT_N"), NULL, 10) : 1;
                snprintf(gen, sizeof(gen), "env");
                e = getenv("FAILAT_ERRNO") ? (int)strtol(getenv("FAILAT_ERRNO"), NULL, 10) : 0;
        }
        if (strcmp(want, fn) != 0 && strcmp(want, "all") != 0)
                goto out;
        if (strcmp(buf, gen_seen) != 0) {       /* armed anew */
                snprintf(gen_seen, sizeof(gen_seen), "%s", buf);
                count = 0;
        }
        count++;
        failed = strcmp(want, "all") != 0 && n > 0 && count == (unsigned long)n;
        log_line(gen, count, fn, detail, failed);
        *err = e > 0 ? e : strcmp(fn, "write") == 0 ? ENOSPC : strcmp(fn, "malloc") == 0 ? ENOMEM : EIO;
out:
        busy = 0;
        return failed;
}

static void fd_name(int fd, char *buf, size_t size)
{
        char p[64];
        long n;

        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        n = syscall(SYS_readlinkat, AT_FDCWD, p, buf, size - 1);
        if (n < 0)
                snprintf(buf, size, "fd%d", fd);
        else
                buf[n] = '\0';
        for (char *c = buf; *c; c++)
                if (*c == ' ' || *c == '\n')
                        *c = '_';
}

static void *next(const char *name)
{
        return dlsym(RTLD_NEXT, name);
}

#define REAL(type, name) static __typeof__(type) real_##name; if (!real_##name) real_##name = (type)next(#name)
#define FAIL_IF(fn, detail, ret) do { int e_; if (should_fail(fn, detail, &e_)) { errno = e_; return ret; } } while (0)

static mode_t mode_of(int flags, va_list ap)
{
        return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int openat(int dfd, const char *p, int flags, ...)
{
        va_list ap;
        mode_t m;

        REAL(int (*)(int, const char *, int, ...), openat);
        va_start(ap, flags);
        m = mode_of(flags, ap);
        va_end(ap);
        FAIL_IF("openat", p, -1);
        return real_openat(dfd, p, flags, m);
}

int openat64(int dfd, const char *p, int flags, ...)
{
        va_list ap;
        mode_t m;

        REAL(int (*)(int, const char *, int, ...), openat64);
        va_start(ap, flags);
        m = mode_of(flags, ap);
        va_end(ap);
        FAIL_IF("openat", p, -1);
        return real_openat64(dfd, p, flags, m);
}

int __openat_2(int dfd, const char *p, int flags)
{
        REAL(int (*)(int, const char *, int), __openat_2);
        FAIL_IF("openat", p, -1);
        return real___openat_2(dfd, p, flags);
}

int open(const char *p, int flags, ...)
{
        va_list ap;
        mode_t m;

        REAL(int (*)(const char *, int, ...), open);
        va_start(ap, flags);
        m = mode_of(flags, ap);
        va_end(ap);
        FAIL_IF("open", p, -1);
        return real_open(p, flags, m);
}

int open64(const char *p, int flags, ...)
{
        va_list ap;
        mode_t m;

        REAL(int (*)(const char *, int, ...), open64);
        va_start(ap, flags);
        m = mode_of(flags, ap);
        va_end(ap);
        FAIL_IF("open", p, -1);
        return real_open64(p, flags, m);
}

int __open_2(const char *p, int flags)
{
        REAL(int (*)(const char *, int), __open_2);
        FAIL_IF("open", p, -1);
        return real___open_2(p, flags);
}

ssize_t write(int fd, const void *b, size_t n)
{
        char name[256] = "";

        REAL(ssize_t (*)(int, const void *, size_t), write);
        if (!busy && owner && getenv("FAILAT_LOG"))
                fd_name(fd, name, sizeof(name));
        FAIL_IF("write", name, -1);
        return real_write(fd, b, n);
}

int fsync(int fd)
{
        char name[256] = "";

        REAL(int (*)(int), fsync);
        if (!busy && owner && getenv("FAILAT_LOG"))
                fd_name(fd, name, sizeof(name));
        FAIL_IF("fsync", name, -1);
        return real_fsync(fd);
}

int fdatasync(int fd)
{
        char name[256] = "";

        REAL(int (*)(int), fdatasync);
        if (!busy && owner && getenv("FAILAT_LOG"))
                fd_name(fd, name, sizeof(name));
        FAIL_IF("fdatasync", name, -1);
        return real_fdatasync(fd);
}

int renameat(int od, const char *op, int nd, const char *np)
{
        REAL(int (*)(int, const char *, int, const char *), renameat);
        FAIL_IF("renameat", np, -1);
        return real_renameat(od, op, nd, np);
}

int rename(const char *op, const char *np)
{
        REAL(int (*)(const char *, const char *), rename);
        FAIL_IF("rename", np, -1);
        return real_rename(op, np);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
        char what[160];
        int e;

        REAL(int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                     char *const[], char *const[]), posix_spawn);
        snprintf(what, sizeof(what), "%s_%s", path, argv[0] && argv[1] ? argv[1] : "");
        if (should_fail("posix_spawn", what, &e))
                return e;
        return real_posix_spawn(pid, path, fa, attr, argv, envp);
}

int sd_bus_call(struct sd_bus *bus, struct sd_bus_message *m, unsigned long long usec,
                struct sd_bus_error *ret_error, struct sd_bus_message **reply)
{
        int e;

        REAL(int (*)(struct sd_bus *, struct sd_bus_message *, unsigned long long, struct sd_bus_error *,
                     struct sd_bus_message **), sd_bus_call);
        if (should_fail("sd_bus_call", "sd_bus_call", &e))
                return -e;
        return real_sd_bus_call(bus, m, usec, ret_error, reply);
}

int sd_bus_call_method(struct sd_bus *bus, const char *dest, const char *path, const char *iface,
                       const char *member, struct sd_bus_error *ret_error, struct sd_bus_message **reply,
                       const char *types, ...)
{
        va_list ap;
        int e, r;

        REAL(int (*)(struct sd_bus *, const char *, const char *, const char *, const char *,
                     struct sd_bus_error *, struct sd_bus_message **, const char *, va_list), sd_bus_call_methodv);
        if (should_fail("sd_bus_call", member, &e))
                return -e;
        va_start(ap, types);
        r = real_sd_bus_call_methodv(bus, dest, path, iface, member, ret_error, reply, types, ap);
        va_end(ap);
        return r;
}

/* The caller's address stands for the call site (addr2line it). */
static void site(char *buf, size_t size, const void *ra)
{
        snprintf(buf, size, "%p", ra);
}

void *malloc(size_t n)
{
        char s[32] = "";

        if (!busy && owner)
                site(s, sizeof(s), __builtin_return_address(0));
        FAIL_IF("malloc", s, NULL);
        return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
        char s[32] = "";

        if (!busy && owner)
                site(s, sizeof(s), __builtin_return_address(0));
        FAIL_IF("malloc", s, NULL);
        return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
        char s[32] = "";

        if (!busy && owner)
                site(s, sizeof(s), __builtin_return_address(0));
        if (p && n)
                FAIL_IF("malloc", s, NULL);     /* the old block stays the caller's */
        return __libc_realloc(p, n);
}
