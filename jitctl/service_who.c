/* Name-service lookups for the service: who a uid or name is, and which
 * groups they are in. Only the service and jitctl run these; pam_jit
 * never resolves groups itself. */
#include "service.h"
#include "cleanup.h"
#include "strv.h"
#include "decision.h"
#include "safeio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#define NSS_BUF (64 * 1024)

/* Every group the user is in, by name. A lookup that fails makes the
 * whole answer fail: a group we could not name could be the one a deny
 * rule names. */
static int fill_groups(struct who *w)
{
        gid_t gids[1024];
        int n = (int)JIT_ELEMENTSOF(gids);
        size_t size = NSS_BUF;
        _cleanup_free_ char *buf = malloc(size);

        if (!buf)
                return -ENOMEM;
        if (getgrouplist(w->name, w->gid, gids, &n) < 0)
                return -E2BIG;
        for (int i = 0; i < n; i++) {
                struct group gr, *res = NULL;
                int e;

                while ((e = getgrgid_r(gids[i], &gr, buf, size, &res)) == ERANGE && size < 16 * 1024 * 1024) {
                        char *nb = realloc(buf, size * 4);

                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        size *= 4;
                }
                if (e != 0)
                        return -e;
                if (!res)
                        continue;       /* a gid with no name cannot be named in a policy */
                if (!jit_strv_contains(w->groups, res->gr_name) && jit_strv_push(&w->groups, res->gr_name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A name jit can record, show and log: 1..64 bytes, not starting with
 * '-', no ':' ',' space or control character. */
bool who_name_is_usable(const char *n)
{
        size_t l = n ? strlen(n) : 0;

        if (l == 0 || l > JIT_WHO_NAME_MAX || n[0] == '-')
                return false;
        for (size_t i = 0; i < l; i++) {
                unsigned char c = (unsigned char)n[i];

                if (c <= 0x20 || c == 0x7f || c == ':' || c == ',')
                        return false;
        }
        return true;
}

static int from_passwd(struct passwd *pw, struct who *ret)
{
        struct who w = { .uid = pw->pw_uid, .gid = pw->pw_gid };
        int r;

        if (!who_name_is_usable(pw->pw_name))
                return -EINVAL;
        w.name = strdup(pw->pw_name);
        if (!w.name)
                return -ENOMEM;
        r = fill_groups(&w);
        if (r < 0) {
                who_done(&w);
                return r;
        }
        *ret = w;
        return 0;
}

int who_from_uid(uid_t uid, struct who *ret)
{
        _cleanup_free_ char *buf = malloc(NSS_BUF);
        struct passwd pw, *res = NULL;

        if (!buf)
                return -ENOMEM;
        if (getpwuid_r(uid, &pw, buf, NSS_BUF, &res) != 0 || !res)
                return -ESRCH;
        return from_passwd(res, ret);
}

int who_from_name(const char *name, struct who *ret)
{
        _cleanup_free_ char *buf = malloc(NSS_BUF);
        struct passwd pw, *res = NULL;

        if (!buf)
                return -ENOMEM;
        if (!name || getpwnam_r(name, &pw, buf, NSS_BUF, &res) != 0 || !res)
                return -ESRCH;
        return from_passwd(res, ret);
}

void who_done(struct who *w)
{
        free(w->name);
        jit_strv_free(w->groups);
        *w = (struct who){ 0 };
}

char **role_approvers(const struct jit_role *role)
{
        char **out = NULL;

        for (size_t i = 0; role && role->approver_users && role->approver_users[i]; i++)
                (void)jit_strv_push(&out, role->approver_users[i]);
        for (size_t i = 0; role && role->approver_groups && role->approver_groups[i]; i++) {
                char g[JIT_NAME_MAX + 2] = "%";

                strncat(g, role->approver_groups[i], JIT_NAME_MAX);
                (void)jit_strv_push(&out, g);
        }
        return out;
}

const char *svc_hostname(void)
{
        static char name[256];

        if (!name[0] && gethostname(name, sizeof(name) - 1) < 0)
                snprintf(name, sizeof(name), "localhost");
        return name;
}

/* dir-of-the-policy/approvers/<approver>.pub, root's and not writable by
 * others, as everything that authorizes. */
int svc_approver_key(struct svc *s, const char *approver, unsigned char pk[32])
{
        _cleanup_free_ char *dir = strdup(s->config_path), *text = NULL;
        _cleanup_close_ int etc = -1, reg = -1;
        char name[80], *slash;
        size_t len = 0;
        int r;

        if (!dir || !approver || strchr(approver, '/') || approver[0] == '.' || strlen(approver) > 64)
                return -EINVAL;
        slash = strrchr(dir, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        etc = jit_safeio_open_dir(dir[0] ? dir : "/", JIT_SAFEIO_TRUSTED);
        if (etc < 0)
                return etc;
        reg = openat(etc, JIT_APPROVERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (reg < 0)
                return -errno;
        {
                struct stat st;

                if (fstat(reg, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
                        return -EPERM;
        }
        snprintf(name, sizeof(name), "%s.pub", approver);
        r = jit_safeio_read_at(reg, name, 128, JIT_SAFEIO_TRUSTED, &text, &len);
        if (r < 0)
                return r;
        return jit_decision_parse_pub(text, len, pk);
}
