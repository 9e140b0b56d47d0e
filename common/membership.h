/* membership.h — grants as real Unix group membership.
 *
 * Owns: adding and removing a user's supplementary membership of a
 * jit-managed group in /etc/group and /etc/gshadow.
 * MUSTs: changes go through shadow-utils' gpasswd (its lckpwdf and
 * <file>.lock locking, atomic replace, nscd/sssd cache flush), run with an
 * empty environment, stdin /dev/null, and an absolute path; we never edit
 * those files ourselves. Both operations are idempotent.
 */
#ifndef JIT_MEMBERSHIP_H
#define JIT_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>

#define JIT_GPASSWD "/usr/bin/gpasswd"
#define JIT_PWD_LOCK "/etc/.pwd.lock"
#define JIT_PWD_LOCK_WAIT_MS 1000       /* one holder this long: -EBUSY, not gpasswd's 15 s */

/* Returns 0, or -errno; on failure *ret_err (if given) holds gpasswd's
 * first line of complaint. -EBUSY, without running gpasswd, when one other
 * process has held /etc/.pwd.lock for JIT_PWD_LOCK_WAIT_MS. */
int jit_membership_add(const char *user, const char *group, char **ret_err);
int jit_membership_remove(const char *user, const char *group, char **ret_err);

/* Is user listed as a member of group in the group file (default
 * /etc/group)? -ENOENT when the group does not exist. */
int jit_membership_check(const char *group_file, const char *user, const char *group, bool *ret);

/* The members of group in /etc/group and /etc/gshadow (a strv, NULL when
 * none). -ENOENT when the group does not exist in /etc/group. */
int jit_membership_list(const char *group, char ***ret);

#endif
