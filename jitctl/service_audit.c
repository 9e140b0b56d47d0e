/* The service's audit log: every journal event is also appended to
 * /var/lib/jit/audit.log, hash-chained, with checkpoints signed by the host
 * key (/etc/jit/host.key, created on first start, next to the policy). */
#include "service.h"
#include "audit.h"
#include "cleanup.h"
#include "journal.h"
#include "safeio.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define HOST_KEY "host.key"
#define HOST_PUB "host.pub"

/* Load the host key from dir, or make one. The secret key file must be
 * root's alone. */
static int host_key(const char *dir, unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        char skhex[crypto_sign_SECRETKEYBYTES * 2 + 2], pkhex[crypto_sign_PUBLICKEYBYTES * 2 + 2];
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int dfd = jit_safeio_open_dir(dir, JIT_SAFEIO_TRUSTED);
        size_t len = 0, got = 0;
        int r;

        if (dfd < 0)
                return dfd;
        r = jit_safeio_read_at(dfd, HOST_KEY, 1024, JIT_SAFEIO_TRUSTED | JIT_SAFEIO_SECRET, &text, &len);
        if (r == 0) {
                r = sodium_hex2bin(sk, crypto_sign_SECRETKEYBYTES, text, len, "\n", &got, NULL);
                sodium_memzero(text, len);
                return r == 0 && got == crypto_sign_SECRETKEYBYTES ? 0 : -EKEYREJECTED;
        }
        if (r != -ENOENT)
                return r;
        crypto_sign_keypair(pk, sk);
        sodium_bin2hex(skhex, sizeof(skhex) - 1, sk, crypto_sign_SECRETKEYBYTES);
        sodium_bin2hex(pkhex, sizeof(pkhex) - 1, pk, sizeof(pk));
        skhex[crypto_sign_SECRETKEYBYTES * 2] = '\n';
        skhex[crypto_sign_SECRETKEYBYTES * 2 + 1] = '\0';
        pkhex[crypto_sign_PUBLICKEYBYTES * 2] = '\n';
        pkhex[crypto_sign_PUBLICKEYBYTES * 2 + 1] = '\0';
        r = jit_safeio_write_at(dfd, HOST_KEY, skhex, strlen(skhex), 0600);
        sodium_memzero(skhex, sizeof(skhex));
        if (r == 0)
                r = jit_safeio_write_at(dfd, HOST_PUB, pkhex, strlen(pkhex), 0644);
        if (r == 0)
                jit_journal_event(JIT_EV_SERVICE, LOG_NOTICE, NULL,
                                  "created the host key %s/%s (public: %s/%s) for audit checkpoints",
                                  dir, HOST_KEY, dir, HOST_PUB);
        return r;
}

static int add(cJSON *o, const char *k, const char *v)
{
        return !v || cJSON_AddStringToObject(o, k, v) ? 0 : -ENOMEM;
}

static int audit_hook(void *userdata, enum jit_event ev, const struct jit_journal_fields *f, const char *message)
{
        struct svc *s = userdata;
        cJSON *o;
        int r = 0;

        if (!s->audit)
                return -EBADF;
        o = cJSON_CreateObject();
        if (!o)
                return -ENOMEM;
        r |= add(o, "request_id", f->request_id);
        r |= add(o, "grant_id", f->grant_id);
        r |= add(o, "role", f->role);
        r |= add(o, "user", f->user);
        r |= add(o, "group", f->group);
        r |= add(o, "decision", f->decision);
        r |= add(o, "approver", f->approver);
        r |= add(o, "rule", f->rule);
        r |= add(o, "service", f->service);
        r |= add(o, "by", f->by);
        r |= add(o, "command", f->command);
        r |= add(o, "target", f->target);
        r |= add(o, "host", f->host);
        r |= add(o, "message", message);
        if (r == 0)
                r = jit_audit_append(s->audit, jit_journal_event_name(ev), svc_now_us(), o,
                                     ev != JIT_EV_USE);
        cJSON_Delete(o);
        return r;
}

int svc_audit_open(struct svc *s, const char *state_dir)
{
        unsigned char sk[crypto_sign_SECRETKEYBYTES];
        _cleanup_free_ char *keydir = strdup(s->config_path);
        _cleanup_close_ int dfd = -1;
        char *slash;
        int r;

        if (!keydir)
                return -ENOMEM;
        slash = strrchr(keydir, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        r = host_key(keydir[0] ? keydir : "/", sk);
        if (r < 0)
                return r;
        dfd = jit_safeio_open_dir(state_dir, 0);
        if (dfd < 0) {
                sodium_memzero(sk, sizeof(sk));
                return dfd;
        }
        r = jit_audit_open(dfd, sk, &s->audit);
        sodium_memzero(sk, sizeof(sk));
        if (r < 0)
                return r;
        jit_journal_set_hook(audit_hook, s);
        return 0;
}

void svc_audit_close(struct svc *s)
{
        if (!s->audit)
                return;
        (void)jit_audit_checkpoint(s->audit, svc_now_us());
        jit_journal_set_hook(NULL, NULL);
        jit_audit_free(s->audit);
        s->audit = NULL;
}
