/* jitctl audit setgid --grant GRANT [PATH...] — what a grant may have left
 * behind on disk. A member of a group can make a file setgid to it (chmod
 * g+s on a file it owns with that group); running that file later gives
 * the group back without any grant. This lists the regular files with the
 * grant's group and the setgid bit whose status changed during the grant
 * (from its start to its end, plus a minute), on local filesystems only
 * (pseudo and network filesystems are skipped), under each PATH (default
 * /). Mount user-writable filesystems nosuid so such files do nothing. */
#include "jitctl.h"
#include "proto.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define NFS_MAGIC 0x6969
#define SMB2_MAGIC 0xfe534d42
#define CIFS_MAGIC 0xff534d42
#define FUSE_MAGIC 0x65735546

static struct {
        gid_t gid;
        int64_t from, to;       /* seconds */
        size_t found;
        cJSON *out;
} scan;

static bool fs_is_local(const char *path)
{
        struct statfs f;

        if (statfs(path, &f) < 0)
                return false;
        switch ((unsigned long)f.f_type) {
        case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case DEVPTS_SUPER_MAGIC: case CGROUP_SUPER_MAGIC:
        case CGROUP2_SUPER_MAGIC: case DEBUGFS_MAGIC: case TRACEFS_MAGIC: case SECURITYFS_MAGIC:
        case BPF_FS_MAGIC: case NFS_MAGIC: case SMB2_MAGIC: case CIFS_MAGIC: case FUSE_MAGIC:
                return false;
        default:
                return true;
        }
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        if (type == FTW_D && ftw->level > 0 && !fs_is_local(path))
                return FTW_SKIP_SUBTREE;
        if (type != FTW_F || !S_ISREG(st->st_mode) || !(st->st_mode & S_ISGID) || st->st_gid != scan.gid)
                return FTW_CONTINUE;
        if (st->st_ctim.tv_sec < scan.from || st->st_ctim.tv_sec > scan.to)
                return FTW_CONTINUE;
        scan.found++;
        if (scan.out) {
                cJSON *e = cJSON_CreateObject();
                char mode[8];

                snprintf(mode, sizeof(mode), "%04o", (unsigned)(st->st_mode & 07777));
                cJSON_AddStringToObject(e, "path", path);
                cJSON_AddNumberToObject(e, "uid", st->st_uid);
                cJSON_AddStringToObject(e, "mode", mode);
                cJSON_AddNumberToObject(e, "ctime", (double)st->st_ctim.tv_sec);
                cJSON_AddItemToArray(scan.out, e);
        } else {
                printf("%04o uid=%-6u %s\n", (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, path);
        }
        return FTW_CONTINUE;
}

int jit_audit_setgid(const char *grant, char **paths)
{
        cJSON *req = cJSON_CreateObject(), *ans = NULL;
        const cJSON *g;
        struct group *gr;
        uint64_t created, ended;
        int r;

        cJSON_AddStringToObject(req, "op", JIT_OP_SHOW);
        cJSON_AddStringToObject(req, "id", grant);
        r = jit_call(req, 10000, &ans);
        if (r)
                return r;
        g = cJSON_GetObjectItemCaseSensitive(ans, "grant");
        if (jit_exit_for(ans) != JIT_EXIT_OK || !g) {
                r = jit_print_outcome(ans);
                cJSON_Delete(ans);
                return r ? r : JIT_EXIT_NOTFOUND;
        }
        gr = jit_json_str(g, "group") ? getgrnam(jit_json_str(g, "group")) : NULL;
        if (!gr) {
                cJSON_Delete(ans);
                return jit_fail(JIT_EXIT_NOTFOUND, "the group of grant %s does not exist here", grant);
        }
        created = jit_json_u64(g, "created_us");
        ended = jit_json_u64(g, "ended_us");
        scan.gid = gr->gr_gid;
        scan.from = (int64_t)(created / 1000000);
        scan.to = ended ? (int64_t)(ended / 1000000) + 60 : INT64_MAX;
        scan.found = 0;
        scan.out = jit_g.json ? cJSON_CreateArray() : NULL;
        cJSON_Delete(ans);
        for (size_t i = 0; paths[i]; i++)
                if (nftw(paths[i], visit, 64, FTW_PHYS | FTW_ACTIONRETVAL) < 0)
                        fprintf(stderr, "jitctl: %s: %s\n", paths[i], strerror(errno));
        if (scan.out) {
                char *t = cJSON_Print(scan.out);

                printf("%s\n", t ? t : "[]");
                cJSON_free(t);
                cJSON_Delete(scan.out);
        } else {
                printf("%zu setgid file%s of group %s changed during grant %s\n", scan.found,
                       scan.found == 1 ? "" : "s", gr->gr_name, grant);
        }
        return scan.found ? JIT_EXIT_TAMPERED : JIT_EXIT_OK;
}
