/* jitctl keygen — make an approver's Ed25519 key pair: the secret key
 * sealed by a passphrase (Argon2id + secretbox) in ~/.config/jit, mode
 * 0600; the public key beside it, for root to register. */
#include "jitctl.h"
#include "cleanup.h"
#include "decision.h"
#include "safeio.h"

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_dirs(const char *dir)
{
        char parent[512];
        const char *slash = strrchr(dir, '/');

        snprintf(parent, sizeof(parent), "%.*s", (int)(slash - dir), dir);
        if (mkdir(parent, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int verb_keygen(int argc, char **argv)
{
        static const struct option lo[] = {
                { "passphrase-file", required_argument, NULL, 'p' },
                { "force", no_argument, NULL, 'f' },
                {}
        };
        const char *passfile = NULL;
        bool force = false;
        unsigned char pk[32], sk[64];
        char dir[512], pass[1024], again[1024], pkhex[66];
        _cleanup_free_ char *sealed = NULL;
        _cleanup_close_ int dfd = -1;
        struct stat st;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                if (c == 'p')
                        passfile = optarg;
                else if (c == 'f')
                        force = true;
                else
                        return JIT_EXIT_USAGE;
        }
        if (jit_key_dir(dir, sizeof(dir)) < 0 || make_dirs(dir) < 0)
                return jit_fail(JIT_EXIT_ERROR, "cannot make the key directory %s", dir);
        dfd = jit_safeio_ensure_dir_at(AT_FDCWD, dir, 0700);
        if (dfd < 0)
                return jit_fail(JIT_EXIT_ERROR, "%s must be a directory of yours, not writable by others", dir);
        if (!force && fstatat(dfd, "approver.key", &st, AT_SYMLINK_NOFOLLOW) == 0)
                return jit_fail(JIT_EXIT_CONFLICT, "%s/approver.key exists (use --force to replace it)", dir);
        r = jit_read_passphrase(passfile, "New passphrase for your jit approver key: ", pass);
        if (r == 0 && !passfile) {
                r = jit_read_passphrase(NULL, "Again: ", again);
                if (r == 0 && strcmp(pass, again) != 0)
                        r = -EINVAL;
                sodium_memzero(again, sizeof(again));
        }
        if (r == 0 && strlen(pass) < 8)
                r = -E2BIG;
        if (r < 0) {
                sodium_memzero(pass, sizeof(pass));
                return jit_fail(JIT_EXIT_USAGE, "%s", r == -EINVAL ? "the passphrases differ" :
                                r == -E2BIG ? "the passphrase needs at least 8 characters" :
                                r == -ENOTTY ? "no terminal to ask on: use --passphrase-file" : strerror(-r));
        }
        crypto_sign_keypair(pk, sk);
        r = jit_decision_seal_key(&sealed, sk, pass);
        sodium_memzero(sk, sizeof(sk));
        sodium_memzero(pass, sizeof(pass));
        if (r < 0)
                return jit_fail(JIT_EXIT_ERROR, "cannot seal the key: %s", strerror(-r));
        sodium_bin2hex(pkhex, sizeof(pkhex) - 1, pk, sizeof(pk));
        pkhex[64] = '\n';
        pkhex[65] = '\0';
        r = jit_safeio_write_at(dfd, "approver.key", sealed, strlen(sealed), 0600);
        if (r == 0)
                r = jit_safeio_write_at(dfd, "approver.pub", pkhex, strlen(pkhex), 0644);
        if (r < 0)
                return jit_fail(JIT_EXIT_ERROR, "cannot write %s: %s", dir, strerror(-r));
        printf("%s/approver.key written (sealed by your passphrase).\n"
               "Public key: %s"
               "Ask root to register it: jitctl approver add %s %s/approver.pub\n",
               dir, pkhex, getpwuid(getuid()) ? getpwuid(getuid())->pw_name : "YOURNAME", dir);
        return JIT_EXIT_OK;
}
