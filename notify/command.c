/* A command target: argv as the policy gives it (no shell), an empty
 * environment, the body on stdin from a sealed memfd, no terminal (its own
 * session), output discarded, killed with its process group at the
 * timeout. Exit status 0 is a delivery. */
#include "jit-notify.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int body_fd(const char *body)
{
        _cleanup_close_ int fd = memfd_create("jit-notify-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        size_t len = strlen(body), off = 0;

        if (fd < 0)
                return -errno;
        while (off < len) {
                ssize_t n = write(fd, body + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                off += (size_t)n;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0 ||
            lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int command_start(struct delivery *d, const struct jit_notify_target *t, struct jit_outbox_result *res)
{
        static char *const empty_env[] = { NULL };
        _cleanup_close_ int in = body_fd(d->rec->body);
        _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        char msg[JIT_OUTBOX_ERROR_MAX + 1];
        int r;

        if (in < 0 || null < 0) {
                snprintf(msg, sizeof(msg), "cannot prepare the command's input: %s", strerror(in < 0 ? -in : errno));
                res->error = strdup(msg);
                return -EIO;
        }
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, null, 1);
        posix_spawn_file_actions_adddup2(&fa, null, 2);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        r = posix_spawn(&d->pid, t->argv[0], &fa, &attr, t->argv, empty_env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                snprintf(msg, sizeof(msg), "cannot run %s: %s", t->argv[0], strerror(r));
                res->error = strdup(msg);
                d->pid = 0;
                return -r;
        }
        d->pidfd = (int)syscall(SYS_pidfd_open, d->pid, 0);
        d->deadline_us = now_monotonic_us() + t->timeout * 1000000ULL;
        return 0;
}

int command_poll(struct delivery *d, uint64_t now_mono, struct jit_outbox_result *res)
{
        char msg[JIT_OUTBOX_ERROR_MAX + 1];
        int status = 0;
        pid_t w = waitpid(d->pid, &status, WNOHANG);

        if (w == 0 && now_mono < d->deadline_us)
                return 0;
        if (w == 0) {
                /* Its whole process group (it leads its own session). */
                (void)kill(-d->pid, SIGKILL);
                (void)syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
                (void)waitpid(d->pid, &status, 0);
                snprintf(msg, sizeof(msg), "timed out: killed");
        } else if (w < 0)
                snprintf(msg, sizeof(msg), "lost the command: %s", strerror(errno));
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                msg[0] = '\0';
        else if (WIFEXITED(status))
                snprintf(msg, sizeof(msg), "exit status %d", WEXITSTATUS(status));
        else
                snprintf(msg, sizeof(msg), "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        res->ok = !msg[0];
        if (msg[0])
                res->error = strdup(msg);
        if (d->pidfd >= 0)
                close(d->pidfd);
        d->pidfd = -1;
        d->pid = 0;
        return 1;
}

void command_abort(struct delivery *d)
{
        if (d->pid > 0) {
                (void)kill(-d->pid, SIGKILL);
                (void)waitpid(d->pid, NULL, 0);
        }
        if (d->pidfd >= 0)
                close(d->pidfd);
        d->pidfd = -1;
        d->pid = 0;
}
