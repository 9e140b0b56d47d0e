/* The context snapshot behind every decision: who asks, from where, when,
 * from which workload, and what they did before. The service takes it;
 * the policy evaluator (common/policy.c) only reads it.
 *
 * Where: the asking process is the peer of the socket (SO_PEERCRED pid,
 * taken when it connected). Its systemd unit and login session come from
 * sd-login, never from the message: that is the workload identity of a
 * service account or agent. A system unit only: user units are named by
 * their user and could be named anything. For pam_jit (root peer, sudo or
 * sshd), the remote host and tty are the PAM items sudo/sshd set; for
 * jitctl, and for sudo where it sets no remote host, they come from the
 * caller's login session in logind.
 * Caveat: a pid can be reused after its process exits; the snapshot is
 * taken while the connection that carries the request is open.
 */
#include "service.h"
#include "strv.h"
#include "timewin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-login.h>

static void take(char **dst, char *src)
{
        free(*dst);
        *dst = src;
}

/* The requester's requests only, newest first, down to the oldest that any
 * of the counts can take (the index keeps them by uid and created_us). */
static void history_count(struct svc *s, struct svc_context *x, const struct jit_role *role, uint64_t now_us)
{
        uint64_t rate_from = now_us - jit_policy_rate_period(s->config, role) * 1000000ULL;
        uint64_t hist_from = now_us - s->config->settings.history_window * 1000000ULL;
        uint64_t bg_from = now_us - role->break_glass_rate.per * 1000000ULL;
        uint64_t from = rate_from < hist_from ? rate_from : hist_from;
        struct jit_history *h = &x->ctx.history;
        struct jit_request *const *v;
        size_t n;
        bool by_time = svc_uid_requests(s, x->uid, &v, &n);

        from = bg_from < from ? bg_from : from;
        for (size_t i = n; i-- > 0;) {
                const struct jit_request *r = v[i];
                bool bg = r->kind && strcmp(r->kind, "break-glass") == 0;

                if (by_time && r->created_us < from)
                        break;
                if (r->uid != x->uid || strcmp(r->role, role->name) != 0)
                        continue;
                if (!bg && r->created_us >= rate_from)
                        h->requests++;
                if (r->created_us >= hist_from && r->state == JIT_REQ_DENIED)
                        h->denials++;
                if (r->created_us >= hist_from && r->grant_id[0])
                        h->grants++;
                if (bg && r->grant_id[0] && r->created_us >= bg_from)
                        h->break_glass++;
        }
}

static void peer_snapshot(struct svc_context *x, pid_t pid, bool from_pam)
{
        char *v = NULL;

        if (pid <= 0)
                return;
        if (sd_pid_get_unit(pid, &v) >= 0)
                take(&x->unit, v);
        v = NULL;
        if (sd_pid_get_session(pid, &v) < 0)
                return;
        take(&x->session, v);
        v = NULL;
        if (sd_session_get_class(x->session, &v) >= 0)
                take(&x->session_class, v);
        v = NULL;
        if (sd_session_get_type(x->session, &v) >= 0)
                take(&x->session_type, v);
        /* Where from: the PAM item when sudo/sshd set one; else the login
         * session's remote host in logind (sudo inside an ssh login sets
         * no PAM_RHOST, but its session knows where the login came from). */
        v = NULL;
        if (!x->rhost && sd_session_get_remote_host(x->session, &v) >= 0)
                take(&x->rhost, v);
        if (from_pam)
                return;         /* sudo's/sshd's own PAM item says which tty */
        v = NULL;
        if (sd_session_get_tty(x->session, &v) >= 0 && v && v[0])
                x->ctx.tty = true;
        free(v);
        if (x->session_type && (strcmp(x->session_type, "x11") == 0 || strcmp(x->session_type, "wayland") == 0))
                x->ctx.tty = true;
}

int svc_context_build(struct svc *s, struct svc_context *x, const struct who *w, const char *role, pid_t pid,
                      const struct svc_pam_items *pam)
{
        const struct jit_role *r = s->config ? jit_config_find_role(s->config, role) : NULL;
        uint64_t now_us = svc_now_us();

        *x = (struct svc_context){ .uid = w->uid };
        x->ctx.user = w->name;
        x->ctx.groups = w->groups;
        x->ctx.role = role;
        x->ctx.now = (int64_t)(now_us / 1000000);
        if (pam) {
                x->rhost = pam->rhost && pam->rhost[0] ? strdup(pam->rhost) : NULL;
                /* A terminal: sudo's /dev/... tty, or an ssh login. */
                x->ctx.tty = pam->tty && (strncmp(pam->tty, "/dev/", 5) == 0 || strcmp(pam->tty, "ssh") == 0);
        }
        peer_snapshot(x, pid, pam != NULL);
        x->ctx.rhost = x->rhost;
        x->ctx.unit = x->unit;
        x->ctx.session = x->session;
        x->ctx.session_class = x->session_class;
        x->ctx.session_type = x->session_type;
        if (s->config &&
            jit_time_local(x->ctx.now, s->config->settings.timezone, &x->ctx.wday, &x->ctx.minute) < 0)
                return -EINVAL;
        if (r)
                history_count(s, x, r, now_us);
        return 0;
}

void svc_context_done(struct svc_context *x)
{
        free(x->rhost);
        free(x->unit);
        free(x->session);
        free(x->session_class);
        free(x->session_type);
        *x = (struct svc_context){ 0 };
}

/* The context a request was decided in, from its record: to judge it
 * again (a later approval, jitctl policy replay) exactly as it was seen.
 * The local time is recomputed in the policy's timezone. */
int svc_context_from_request(const struct jit_config *c, const struct jit_request *r, const struct who *w,
                             struct jit_context *ret)
{
        *ret = (struct jit_context){
                .user = r->user, .groups = w ? w->groups : NULL, .role = r->role, .ttl = r->ttl,
                .service = r->service, .command = r->command, .command_mode = r->command_mode,
                .target_user = r->target_user, .rhost = r->rhost, .tty = r->has_tty, .unit = r->unit,
                .session = r->session, .session_class = r->session_class, .session_type = r->session_type,
                .now = (int64_t)(r->created_us / 1000000),
                .history = { .requests = r->hist_requests, .denials = r->hist_denials,
                             .grants = r->hist_grants, .break_glass = r->hist_break_glass },
        };
        return jit_time_local(ret->now, c->settings.timezone, &ret->wday, &ret->minute);
}
