/* safeio.h — opening and replacing files without trusting the path.
 *
 * Owns: the only code in jit that opens configuration or spool files.
 * MUSTs: every open is O_NOFOLLOW|O_CLOEXEC relative to a directory fd that
 * was itself walked from "/" one component at a time; type, owner, mode,
 * link count and size are checked on the fd we opened, never on a path;
 * writes go to a temp file in the same directory, are fsync'ed, renamed
 * over the target, and the directory is fsync'ed.
 */
#ifndef JIT_SAFEIO_H
#define JIT_SAFEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Flags for jit_safeio_open_dir / jit_safeio_read_at. */
#define JIT_SAFEIO_TRUSTED 0x1  /* every component owned by root and not
                                 * writable by group/others (sticky root
                                 * directories such as /tmp excepted for
                                 * intermediate components) */

#define JIT_SAFEIO_SECRET 0x2   /* read_at: not readable by group/others either */

#define JIT_SAFEIO_OWN 0x4      /* read_at: owned by the caller's euid and not
                                 * writable by group/others (the spool) */

/* Open directory path (absolute) walking from "/". Returns fd or -errno;
 * -EPERM when JIT_SAFEIO_TRUSTED fails. */
int jit_safeio_open_dir(const char *path, int flags);

/* Open or create (mode) directory name below dirfd; it must be a real
 * directory owned by the caller's euid. Returns fd or -errno. */
int jit_safeio_ensure_dir_at(int dirfd, const char *name, mode_t mode);

/* Read a whole regular file (nlink 1, size <= max) into a NUL-terminated
 * buffer. The open never blocks and never follows a symbolic link. Refused:
 * -ELOOP a symbolic link, -EISDIR a directory, -ENXIO a FIFO, socket or
 * device, -EMLINK more than one hard link, -EPERM the owner or mode the
 * flags ask for (JIT_SAFEIO_TRUSTED: root's and not writable by
 * group/others), -EFBIG larger than max. */
int jit_safeio_read_at(int dirfd, const char *name, size_t max, int flags,
                       char **ret, size_t *ret_len);

/* Why read_at (or any open here) refused a file, in words (a directory
 * opened O_DIRECTORY|O_NOFOLLOW that is a symlink gives -ENOTDIR);
 * strerror() for anything else. */
const char *jit_safeio_strerror(int r);

/* jit_safeio_read_at on an absolute path: its directory opened with
 * jit_safeio_open_dir (flags & JIT_SAFEIO_TRUSTED), then the file. */
int jit_safeio_read_path(const char *path, size_t max, int flags, char **ret, size_t *ret_len);

/* Atomically replace name below dirfd with data (mode). Returns 0 or -errno. */
int jit_safeio_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

#endif
