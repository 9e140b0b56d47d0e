/* jitctl approver add USER PUBFILE | remove USER | list — the registry of
 * approvers' public keys, /etc/jit/approvers/USER.pub (root). */
#include "jitctl.h"
#include "cleanup.h"
#include "config.h"
#include "decision.h"
#include "safeio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ETC_JIT "/etc/jit"

static bool is_user_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 32 || s[0] == '-' || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
                        return false;
        return true;
}

static int open_registry(bool create)
{
        _cleanup_close_ int etc = jit_safeio_open_dir(ETC_JIT, JIT_SAFEIO_TRUSTED);
        int fd;

        if (etc < 0)
                return etc;
        if (create) {
                mode_t old = umask(022);

                fd = jit_safeio_ensure_dir_at(etc, JIT_APPROVERS_DIR, 0755);
                umask(old);
                return fd;
        }
        fd = openat(etc, JIT_APPROVERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int add(const char *user, const char *pubfile)
{
        _cleanup_close_ int reg = -1, fd = -1;
        char text[80], name[64];
        unsigned char pk[32];
        struct stat st = { 0 };
        ssize_t n;

        /* Often in the approver's own home: a FIFO there must not hang root. */
        fd = open(pubfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return jit_fail(JIT_EXIT_NOTFOUND, "cannot open %s: %s", pubfile, jit_safeio_strerror(-errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return jit_fail(JIT_EXIT_USAGE, "%s is %s", pubfile,
                                S_ISDIR(st.st_mode) ? "a directory" : "not a regular file (a FIFO, socket or device)");
        n = read(fd, text, sizeof(text));
        if (n < 0 || jit_decision_parse_pub(text, (size_t)n, pk) < 0)
                return jit_fail(JIT_EXIT_USAGE, "%s is not a jit public key (64 hex characters)", pubfile);
        reg = open_registry(true);
        if (reg < 0)
                return jit_fail(JIT_EXIT_FORBIDDEN, "cannot open %s/%s: %s", ETC_JIT, JIT_APPROVERS_DIR, strerror(-reg));
        snprintf(name, sizeof(name), "%s.pub", user);
        if (jit_safeio_write_at(reg, name, text, 64, 0644) < 0)
                return jit_fail(JIT_EXIT_ERROR, "cannot write the key of %s", user);
        printf("%s: key %.16s... registered\n", user, text);
        return JIT_EXIT_OK;
}

static int list(void)
{
        _cleanup_close_ int reg = open_registry(false);
        cJSON *out = jit_g.json ? cJSON_CreateArray() : NULL;
        DIR *d;
        struct dirent *de;

        if (reg == -ENOENT) {
                if (out)
                        jit_print_json(out);
                else
                        printf("No approver keys registered.\n");
                cJSON_Delete(out);
                return JIT_EXIT_OK;
        }
        if (reg < 0) {
                cJSON_Delete(out);
                return jit_fail(JIT_EXIT_ERROR, "cannot open the registry: %s", strerror(-reg));
        }
        d = fdopendir(TAKE_FD(reg));
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0, l = strlen(de->d_name);
                char user[64];
                bool ok;

                if (l < 5 || l - 4 >= sizeof(user) || strcmp(de->d_name + l - 4, ".pub") != 0)
                        continue;
                snprintf(user, sizeof(user), "%.*s", (int)(l - 4), de->d_name);
                ok = jit_safeio_read_at(dirfd(d), de->d_name, 128, JIT_SAFEIO_TRUSTED, &text, &len) == 0;
                if (ok && len && text[len - 1] == '\n')
                        text[len - 1] = '\0';
                if (out) {
                        cJSON *e = cJSON_CreateObject();

                        cJSON_AddStringToObject(e, "user", user);
                        if (ok)
                                cJSON_AddStringToObject(e, "key", text);
                        else
                                cJSON_AddStringToObject(e, "error", "unreadable or wrong owner/mode");
                        cJSON_AddItemToArray(out, e);
                } else if (!ok) {
                        printf("%-20s (unreadable or wrong owner/mode)\n", user);
                } else {
                        printf("%-20s %.64s\n", user, text);
                }
        }
        if (d)
                closedir(d);
        if (out)
                jit_print_json(out);
        cJSON_Delete(out);
        return JIT_EXIT_OK;
}

int verb_approver(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc == 2)
                return list();
        if (geteuid() != 0)
                return jit_fail(JIT_EXIT_FORBIDDEN, "approver add/remove: only root keeps the registry");
        if (argc == 4 && strcmp(argv[1], "add") == 0) {
                if (!is_user_name(argv[2]))
                        return jit_usage_error("bad user name \"%s\"", argv[2]);
                return add(argv[2], argv[3]);
        }
        if (argc == 3 && strcmp(argv[1], "remove") == 0) {
                _cleanup_close_ int reg = open_registry(false);
                char name[64];

                if (!is_user_name(argv[2]))
                        return jit_usage_error("bad user name \"%s\"", argv[2]);
                snprintf(name, sizeof(name), "%s.pub", argv[2]);
                if (reg < 0 || unlinkat(reg, name, 0) < 0)
                        return jit_fail(JIT_EXIT_NOTFOUND, "no key registered for %s", argv[2]);
                printf("%s: key removed\n", argv[2]);
                return JIT_EXIT_OK;
        }
        return jit_usage_error("usage: jitctl approver add USER PUBFILE | remove USER | list");
}
