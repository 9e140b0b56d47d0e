#include "membership.h"
#include "strv.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <gshadow.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One process holding /etc/.pwd.lock (lckpwdf(3)) for long, as vigr does
 * while its editor is open, would keep gpasswd waiting 15 s, and the
 * service answering nobody meanwhile. A lock that is free, or that passes
 * from one holder to another (useradd, gpasswd: milliseconds each), is
 * left to gpasswd, which queues for it; one held by the same process for
 * JIT_PWD_LOCK_WAIT_MS fails the change at once. Only looks (F_GETLK):
 * taking the lock is gpasswd's. */
static int wait_for_pwd_lock(char **ret_err)
{
        _cleanup_close_ int fd = open(JIT_PWD_LOCK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        pid_t holder = 0;

        if (fd < 0)
                return 0;       /* none yet: gpasswd makes it */
        for (unsigned ms = 0;; ms += 10) {
                struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

                if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK || (holder && fl.l_pid != holder))
                        return 0;
                holder = fl.l_pid;
                if (ms >= JIT_PWD_LOCK_WAIT_MS) {
                        if (ret_err && asprintf(ret_err, "the group files are locked (%s held by pid %d): try again later",
                                                JIT_PWD_LOCK, (int)holder) < 0)
                                *ret_err = NULL;
                        return -EBUSY;
                }
                (void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000L }, NULL);
        }
}

static int run_gpasswd(const char *flag, const char *user, const char *group, char **ret_err)
{
        char *const argv[] = { (char *)"gpasswd", (char *)flag, (char *)user, (char *)group, NULL };
        char *const envp[] = { NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        char buf[512];
        size_t got = 0;
        int pipefd[2], status = 0, r;
        pid_t pid;

        if (!user || !group || user[0] == '-' || group[0] == '-')
                return -EINVAL;
        r = wait_for_pwd_lock(ret_err);
        if (r < 0)
                return r;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        /* gpasswd starts as if from a clean shell: no blocked or ignored
         * signals inherited from the service. */
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = posix_spawn(&pid, JIT_GPASSWD, &fa, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                close(pipefd[0]);
                return -r;
        }
        for (;;) {
                ssize_t n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
                if (got == sizeof(buf) - 1) {
                        char drain[256];

                        while (read(pipefd[0], drain, sizeof(drain)) > 0)
                                ;
                        break;
                }
        }
        close(pipefd[0]);
        buf[got] = '\0';
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (ret_err) {
                buf[strcspn(buf, "\n")] = '\0';
                *ret_err = strdup(buf[0] ? buf : "gpasswd failed");
        }
        return -EIO;
}

int jit_membership_check(const char *group_file, const char *user, const char *group, bool *ret)
{
        _cleanup_close_ int fd = -1;
        struct group *gr;
        FILE *f;
        int r = -ENOENT;

        fd = open(group_file ? group_file : "/etc/group", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -1;
        while ((gr = fgetgrent(f))) {
                if (strcmp(gr->gr_name, group) != 0)
                        continue;
                *ret = false;
                for (char **m = gr->gr_mem; m && *m; m++)
                        if (strcmp(*m, user) == 0)
                                *ret = true;
                r = 0;
                break;
        }
        fclose(f);
        return r;
}

int jit_membership_add(const char *user, const char *group, char **ret_err)
{
        return run_gpasswd("-a", user, group, ret_err);
}

int jit_membership_remove(const char *user, const char *group, char **ret_err)
{
        bool member = false;
        int r = jit_membership_check(NULL, user, group, &member);

        if (r == -ENOENT)
                return 0;       /* no such group: nothing to take away */
        if (r < 0)
                return r;
        if (!member)
                return 0;
        return run_gpasswd("-d", user, group, ret_err);
}

static int add_gshadow_members(const char *group, char ***v)
{
        _cleanup_close_ int fd = open("/etc/gshadow", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct sgrp *sg;
        FILE *f;
        int r = 0;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -1;
        while ((sg = fgetsgent(f))) {
                if (strcmp(sg->sg_namp, group) != 0)
                        continue;
                for (char **m = sg->sg_mem; m && *m && r == 0; m++)
                        if (!jit_strv_contains(*v, *m))
                                r = jit_strv_push(v, *m);
                break;
        }
        fclose(f);
        return r;
}

int jit_membership_list(const char *group, char ***ret)
{
        _cleanup_close_ int fd = open("/etc/group", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char **v = NULL;
        struct group *gr;
        FILE *f;
        int r = -ENOENT;

        if (fd < 0)
                return -errno;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -1;
        while ((gr = fgetgrent(f))) {
                if (strcmp(gr->gr_name, group) != 0)
                        continue;
                r = 0;
                for (char **m = gr->gr_mem; m && *m && r == 0; m++)
                        r = jit_strv_push(&v, *m);
                break;
        }
        fclose(f);
        /* gshadow members may newgrp/sg into the group without a password */
        if (r == 0)
                r = add_gshadow_members(group, &v);
        if (r < 0) {
                jit_strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}
