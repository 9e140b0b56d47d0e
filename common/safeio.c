#include "safeio.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_trusted_dir(const struct stat *st, bool last)
{
        if (!S_ISDIR(st->st_mode))
                return -ENOTDIR;
        if (st->st_uid != 0)
                return -EPERM;
        if (st->st_mode & (S_IWGRP | S_IWOTH)) {
                /* /tmp-like: others cannot replace what is below it. */
                if (last || !(st->st_mode & S_ISVTX))
                        return -EPERM;
        }
        return 0;
}

int jit_safeio_open_dir(const char *path, int flags)
{
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -1;
        char *save = NULL, *comp;
        struct stat st;

        if (!path || path[0] != '/')
                return -EINVAL;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        comp = strtok_r(copy, "/", &save);
        while (comp) {
                char *next = strtok_r(NULL, "/", &save);
                int nfd;

                if (strcmp(comp, "..") == 0)
                        return -EINVAL;
                if (flags & JIT_SAFEIO_TRUSTED) {
                        if (fstat(fd, &st) < 0)
                                return -errno;
                        if (check_trusted_dir(&st, false) < 0)
                                return -EPERM;
                }
                /* Directories on the way need only search permission;
                 * the last one is opened for reading (and fsync). */
                nfd = openat(fd, comp, (next ? O_PATH : O_RDONLY) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0)
                        return -errno;
                close(fd);
                fd = nfd;
                comp = next;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((flags & JIT_SAFEIO_TRUSTED) && check_trusted_dir(&st, true) < 0)
                return -EPERM;
        return TAKE_FD(fd);
}

int jit_safeio_ensure_dir_at(int dirfd, const char *name, mode_t mode)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return -EPERM;
        return TAKE_FD(fd);
}

int jit_safeio_read_path(const char *path, size_t max, int flags, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *dir = path && path[0] == '/' ? strdup(path) : NULL;
        _cleanup_close_ int dfd = -1;
        char *slash;

        if (!dir)
                return path && path[0] == '/' ? -ENOMEM : -EINVAL;
        slash = strrchr(dir, '/');
        *slash = '\0';
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", flags & JIT_SAFEIO_TRUSTED);
        if (dfd < 0)
                return dfd;
        return jit_safeio_read_at(dfd, slash + 1, max, flags, ret, ret_len);
}

int jit_safeio_read_at(int dirfd, const char *name, size_t max, int flags,
                       char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t off = 0;

        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -ENXIO;
        if (st.st_nlink != 1)
                return -EMLINK;
        if ((flags & JIT_SAFEIO_TRUSTED) &&
            (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))))
                return -EPERM;
        if ((flags & JIT_SAFEIO_OWN) &&
            (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))))
                return -EPERM;
        if ((flags & JIT_SAFEIO_SECRET) && (st.st_mode & 077))
                return -EPERM;
        if (st.st_size < 0 || (size_t)st.st_size > max)
                return -EFBIG;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (off < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;          /* shrank under us: take what is there */
                off += (size_t)n;
        }
        buf[off] = '\0';
        if (ret_len)
                *ret_len = off;
        *ret = TAKE_PTR(buf);
        return 0;
}

const char *jit_safeio_strerror(int r)
{
        switch (r) {
        case -ELOOP: return "a symbolic link (not followed)";
        case -ENOTDIR: return "not a directory (symbolic links are not followed)";
        case -EISDIR: return "a directory, not a file";
        case -ENXIO: return "not a regular file (a FIFO, socket or device)";
        case -EMLINK: return "more than one hard link";
        case -EPERM: return "wrong owner or mode";
        default: return strerror(-r);
        }
}

static int write_all(int fd, const char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int jit_safeio_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
        char tmp[300];
        unsigned char rnd[6];
        _cleanup_close_ int fd = -1;
        int r;

        if (strchr(name, '/') || strlen(name) > 200)
                return -EINVAL;
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return -EIO;
        snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x.tmp", name,
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dirfd, tmp, 0);
                return r;
        }
        if (fsync(dirfd) < 0)
                return -errno;
        return 0;
}
