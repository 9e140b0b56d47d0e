/* crashpoint.so — a test-only LD_PRELOAD shim (never installed): the
 * process SIGKILLs itself at one step of making a grant, so that a test can
 * check what a restart and its reconcile make of the half-done grant
 * (e2e/lifecycle, check 7). $JIT_CRASH_AT names the step:
 *
 *   record      right after a new grant record is renamed into place
 *               (renameat/rename onto a name "g-..." that did not exist;
 *               the directory is fsync'd first, so the record is durable)
 *   membership  right after a "gpasswd -a" child exited 0 (posix_spawn
 *               remembers its pid, waitpid sees it end)
 *   timer       right before sd_bus_call() sends StartTransientUnit
 *
 * $JIT_CRASH_ONCE names a marker file, created (O_EXCL) before the kill: if
 * it exists, or either variable is missing, the shim does nothing, so the
 * restarted process runs normally. Only libc and the interposed libraries'
 * own symbols are called (jit.service's seccomp filter and
 * MemoryDenyWriteExecute allow that). */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct sd_bus;
struct sd_bus_message;
struct sd_bus_error;

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int rename(const char *oldpath, const char *newpath);
int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
pid_t waitpid(pid_t pid, int *status, int options);
int sd_bus_call(struct sd_bus *bus, struct sd_bus_message *m, unsigned long long usec,
                struct sd_bus_error *ret_error, struct sd_bus_message **reply);

static pid_t gpasswd_add_pid = -1;

static int armed(const char *point)
{
        const char *at = getenv("JIT_CRASH_AT"), *once = getenv("JIT_CRASH_ONCE");

        return at && once && strcmp(at, point) == 0 && access(once, F_OK) != 0;
}

static void crash(void)
{
        int fd = open(getenv("JIT_CRASH_ONCE"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        if (fd < 0)
                return;         /* already crashed once (or cannot mark it): go on */
        close(fd);
        kill(getpid(), SIGKILL);
        _exit(137);             /* not reached */
}

static const char *base(const char *p)
{
        const char *s = strrchr(p, '/');

        return s ? s + 1 : p;
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
        static int (*real)(int, const char *, int, const char *);
        struct stat st;
        int fresh, r;

        if (!real)
                real = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
        fresh = armed("record") && strncmp(base(newpath), "g-", 2) == 0 &&
                fstatat(newdirfd, newpath, &st, AT_SYMLINK_NOFOLLOW) < 0;
        r = real(olddirfd, oldpath, newdirfd, newpath);
        if (r == 0 && fresh) {
                if (newdirfd != AT_FDCWD)
                        (void)fsync(newdirfd);
                crash();
        }
        return r;
}

int rename(const char *oldpath, const char *newpath)
{
        return renameat(AT_FDCWD, oldpath, AT_FDCWD, newpath);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
        static int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                           const posix_spawnattr_t *, char *const[], char *const[]);
        int r;

        if (!real)
                real = (int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                                const posix_spawnattr_t *, char *const[], char *const[]))dlsym(RTLD_NEXT, "posix_spawn");
        r = real(pid, path, fa, attr, argv, envp);
        if (r == 0 && pid && argv[0] && argv[1] &&
            strcmp(base(argv[0]), "gpasswd") == 0 && strcmp(argv[1], "-a") == 0)
                gpasswd_add_pid = *pid;
        return r;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
        static pid_t (*real)(pid_t, int *, int);
        int st = 0;
        pid_t r;

        if (!real)
                real = (pid_t (*)(pid_t, int *, int))dlsym(RTLD_NEXT, "waitpid");
        r = real(pid, &st, options);
        if (status)
                *status = st;
        if (r > 0 && r == gpasswd_add_pid) {
                gpasswd_add_pid = -1;
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && armed("membership"))
                        crash();
        }
        return r;
}

int sd_bus_call(struct sd_bus *bus, struct sd_bus_message *m, unsigned long long usec,
                struct sd_bus_error *ret_error, struct sd_bus_message **reply)
{
        static int (*real)(struct sd_bus *, struct sd_bus_message *, unsigned long long,
                           struct sd_bus_error *, struct sd_bus_message **);
        static const char *(*member)(struct sd_bus_message *);
        const char *name;

        if (!real) {
                real = (int (*)(struct sd_bus *, struct sd_bus_message *, unsigned long long,
                                struct sd_bus_error *, struct sd_bus_message **))dlsym(RTLD_NEXT, "sd_bus_call");
                member = (const char *(*)(struct sd_bus_message *))dlsym(RTLD_NEXT, "sd_bus_message_get_member");
        }
        if (member && armed("timer") && (name = member(m)) && strcmp(name, "StartTransientUnit") == 0)
                crash();
        return real(bus, m, usec, ret_error, reply);
}
