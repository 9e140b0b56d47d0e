/* What approve, deny and keygen share: the approver's key file, the
 * passphrase, and signing a decision over exactly what the service will
 * do (see decision.h). */
#include "jitctl.h"
#include "cleanup.h"
#include "decision.h"
#include "proto.h"
#include "safeio.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PASS_MAX 1024

/* ~/.config/jit of the real user (from the password database, not $HOME). */
int jit_key_dir(char *buf, size_t size)
{
        struct passwd *pw = getpwuid(getuid());

        if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
                return -ENOENT;
        return snprintf(buf, size, "%s/.config/jit", pw->pw_dir) < (int)size ? 0 : -ENAMETOOLONG;
}

static int read_line_fd(int fd, char *buf, size_t size)
{
        size_t n = 0;

        while (n + 1 < size) {
                char c;
                ssize_t r = read(fd, &c, 1);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0 || c == '\n')
                        break;
                buf[n++] = c;
        }
        buf[n] = '\0';
        return (int)n;
}

/* The passphrase: the first line of file, or asked on the terminal. */
int jit_read_passphrase(const char *file, const char *prompt, char buf[PASS_MAX])
{
        struct termios old, quiet;
        int fd, n;

        if (file) {
                fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return -errno;
                n = read_line_fd(fd, buf, PASS_MAX);
                close(fd);
                return n > 0 ? 0 : -ENODATA;
        }
        fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -ENOTTY;
        if (tcgetattr(fd, &old) < 0) {
                close(fd);
                return -ENOTTY;
        }
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        (void)!write(fd, prompt, strlen(prompt));
        (void)tcsetattr(fd, TCSAFLUSH, &quiet);
        n = read_line_fd(fd, buf, PASS_MAX);
        (void)tcsetattr(fd, TCSAFLUSH, &old);
        (void)!write(fd, "\n", 1);
        close(fd);
        return n > 0 ? 0 : -ENODATA;
}

/* Unlock the approver's key: the approver's fresh authentication. */
static int load_key(const char *keyfile, const char *passfile, unsigned char sk[64])
{
        char dir[512], pass[PASS_MAX];
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = -1;
        const char *name = "approver.key";
        size_t len = 0;
        int r;

        if (keyfile) {
                const char *slash = strrchr(keyfile, '/');

                if (!slash)
                        return -EINVAL;
                snprintf(dir, sizeof(dir), "%.*s", (int)(slash - keyfile), keyfile);
                name = slash + 1;
        } else if ((r = jit_key_dir(dir, sizeof(dir))) < 0) {
                return r;
        }
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", 0);
        if (dfd < 0)
                return dfd;
        r = jit_safeio_read_at(dfd, name, 4096, JIT_SAFEIO_SECRET, &text, &len);
        if (r < 0)
                return r;
        r = jit_read_passphrase(passfile, "Passphrase for your jit approver key: ", pass);
        if (r == 0)
                r = jit_decision_open_key(sk, text, len, pass);
        sodium_memzero(pass, sizeof(pass));
        return r;
}

static const char *why(int r)
{
        switch (r) {
        case -ENOENT: return "no approver key (run: jitctl keygen)";
        case -EPERM: return "the key file must be yours alone (mode 0600)";
        case -EKEYREJECTED: return "wrong passphrase";
        case -ENOTTY: return "no terminal to ask the passphrase on (use --passphrase-file)";
        default: return jit_safeio_strerror(r);    /* a link, FIFO, directory, ...: not opened */
        }
}

int jit_unlock_key(const char *keyfile, const char *passfile, unsigned char sk[64])
{
        return load_key(keyfile, passfile, sk);
}

int jit_sign_fields_with(struct jit_decision_fields *f, const unsigned char sk[64], char sig[129])
{
        char canonical[JIT_DECISION_MAX];
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        f->time_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        jit_decision_nonce(f->nonce);
        if (jit_decision_encode(canonical, sizeof(canonical), f) < 0)
                return -EINVAL;
        return jit_decision_sign(sig, canonical, sk);
}

int jit_sign_fields(struct jit_decision_fields *f, const char *keyfile, const char *passfile, char sig[129])
{
        char canonical[JIT_DECISION_MAX];
        unsigned char sk[64];
        int rc;

        /* refuse what cannot be signed before asking for the passphrase */
        f->time_us = 0;
        memset(f->nonce, '0', 32);
        f->nonce[32] = '\0';
        if (jit_decision_encode(canonical, sizeof(canonical), f) < 0)
                return -EINVAL;
        rc = load_key(keyfile, passfile, sk);
        if (rc < 0)
                return rc;
        rc = jit_sign_fields_with(f, sk, sig);
        sodium_memzero(sk, sizeof(sk));
        return rc;
}

const char *jit_sign_why(int r)
{
        return why(r);
}

/* Ask the service what it holds for request id, sign the decision over
 * it, and add signature, nonce and time to req. ttl 0: the request's. */
int jit_sign_into(cJSON *req, const char *id, const char *decision, uint64_t ttl,
                  const char *keyfile, const char *passfile)
{
        struct jit_decision_fields f = { .decision = decision };
        _cleanup_free_ char *hosts = NULL;
        char sig[129];
        cJSON *q = cJSON_CreateObject(), *ans = NULL;
        const cJSON *r;
        int rc;

        cJSON_AddStringToObject(q, "op", JIT_OP_SHOW);
        cJSON_AddStringToObject(q, "id", id);
        rc = jit_call(q, 10000, &ans);
        if (rc)
                return rc;
        r = cJSON_GetObjectItemCaseSensitive(ans, "request");
        if (jit_exit_for(ans) != JIT_EXIT_OK || !r) {
                rc = jit_print_outcome(ans);
                cJSON_Delete(ans);
                return rc ? rc : JIT_EXIT_NOTFOUND;
        }
        f.request = jit_json_str(r, "id");
        f.requester = jit_json_str(r, "user");
        f.role = jit_json_str(r, "role");
        f.group = jit_json_str(r, "group");
        f.host = jit_json_str(ans, "host");
        f.approver = jit_json_str(ans, "you");
        f.ttl = ttl ? ttl : jit_json_u64(r, "ttl");
        if (strcmp(decision, "approve") == 0 || strcmp(decision, "break-glass") == 0) {
                /* Sign what the service will grant under today's policy. */
                const cJSON *wg = cJSON_GetObjectItemCaseSensitive(ans, "would_grant");

                if (jit_json_str(wg, "group"))
                        f.group = jit_json_str(wg, "group");
                if (!ttl && jit_json_u64(wg, "ttl"))
                        f.ttl = jit_json_u64(wg, "ttl");
        }
        if (jit_json_str(r, "fleet_id")) {
                /* a request for several hosts: one signature names them all */
                _cleanup_strv_free_ char **list = NULL;
                const cJSON *h;

                f.request = jit_json_str(r, "fleet_id");
                f.group = "*";
                f.ttl = ttl ? ttl : jit_json_u64(r, "fleet_ttl");
                cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r, "fleet_hosts"))
                        if (cJSON_IsString(h) && jit_strv_push(&list, h->valuestring) < 0) {
                                jit_strv_free(list);
                                list = NULL;
                                break;
                        }
                hosts = list ? jit_strv_join(list, ",") : NULL;
                if (!hosts) {
                        cJSON_Delete(ans);
                        return jit_fail(JIT_EXIT_ERROR, "the service's record of %s names no hosts", id);
                }
                f.host = hosts;
                if (!jit_g.json)
                        fprintf(stderr, "jitctl: %s was asked for several hosts: this signature approves it on "
                                "each of %s\n", id, hosts);
        }
        rc = jit_sign_fields(&f, keyfile, passfile, sig);
        cJSON_Delete(ans);
        if (rc == -ENOENT && !keyfile)
                return 0;       /* no key: unsigned; the service says why it refuses */
        if (rc == -EINVAL)
                return jit_fail(JIT_EXIT_ERROR, "the service's record of %s cannot be signed", id);
        if (rc < 0)
                return jit_fail(rc == -EKEYREJECTED ? JIT_EXIT_FORBIDDEN : JIT_EXIT_ERROR,
                                "cannot unlock your approver key %s: %s", keyfile ? keyfile : "~/.config/jit/approver.key",
                                why(rc));
        cJSON_AddStringToObject(req, "signature", sig);
        cJSON_AddStringToObject(req, "nonce", f.nonce);
        cJSON_AddNumberToObject(req, "time_us", (double)f.time_us);
        if (!cJSON_GetObjectItemCaseSensitive(req, "ttl"))
                cJSON_AddNumberToObject(req, "ttl", (double)f.ttl);
        return 0;
}
