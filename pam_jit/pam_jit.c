/* pam_jit.so — the moment-of-use gate, PAM account phase (and, optional,
 * the session phase that names a login's logind session to the service).
 *
 * It gathers the PAM context (and, under sudo, the command line from
 * /proc/self/cmdline as the stated intent), asks the jit service over its
 * Unix socket, tells the user what happens, and returns.
 *
 * MUSTs (this code runs inside setuid sudo and sshd):
 *  - fail closed: every path but one returns a denial; only decide() can
 *    return PAM_SUCCESS, and only for an "allow" answer from the service;
 *  - no network, no /etc/group edits, no libcurl, no process environment
 *    variables (the session phase reads XDG_SESSION_ID from the PAM
 *    environment, which pam_systemd set);
 *  - text from the service reaches the terminal only escaped (escape.h):
 *    no control character, escape sequence or BiDi override it carries is
 *    ever acted on, and each message is capped;
 *  - every wait is bounded, and a signal (Ctrl-C under sudo) ends it.
 */
#include "cmdline.h"
#include "duration.h"
#include "escape.h"
#include "proto.h"
#include "../common/cleanup.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define DEFAULT_WAIT_S 300
#define DEFAULT_TIMEOUT_S 10
#define DEFAULT_PROGRESS_S 15
#define MAX_PROGRESS_S 3600
#define SAY_MAX 1024            /* bytes of one message, escapes included */
#define DEFAULT_SECURE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct opts {
        const char *role;
        const char *socket;
        const char *secure_path;
        uint64_t ttl;           /* 0: the role's default */
        uint64_t wait_s;        /* interactive wait bound */
        uint64_t batch_wait_s;  /* no tty, sudo -n, sshd: 0 = do not wait */
        uint64_t timeout_s;     /* first answer */
        uint64_t progress_s;    /* a line while waiting, this often: 0 = none */
        bool quiet, debug;
        bool silent;            /* session phase: nothing is shown to the user */
};

enum outcome { OUT_ERROR = 0, OUT_DENIED, OUT_ALLOWED };

static int parse_secs(const char *v, bool zero_ok, uint64_t *ret)
{
        if (zero_ok && (strcmp(v, "0") == 0 || strcmp(v, "0s") == 0)) {
                *ret = 0;
                return 0;
        }
        return jit_duration_parse(v, ret);
}

static int parse_opts_for(pam_handle_t *pamh, int argc, const char **argv, struct opts *o, bool need_role);

static int parse_opts(pam_handle_t *pamh, int argc, const char **argv, struct opts *o)
{
        return parse_opts_for(pamh, argc, argv, o, true);
}

static int parse_opts_for(pam_handle_t *pamh, int argc, const char **argv, struct opts *o, bool need_role)
{
        *o = (struct opts) {
                .socket = JIT_SOCKET_PATH, .secure_path = DEFAULT_SECURE_PATH,
                .wait_s = DEFAULT_WAIT_S, .timeout_s = DEFAULT_TIMEOUT_S,
                .progress_s = DEFAULT_PROGRESS_S,
        };
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                int r = 0;

                if (strncmp(a, "role=", 5) == 0)
                        o->role = a + 5;
                else if (strncmp(a, "socket=", 7) == 0 && a[7] == '/')
                        o->socket = a + 7;
                else if (strncmp(a, "secure_path=", 12) == 0)
                        o->secure_path = a + 12;
                else if (strncmp(a, "ttl=", 4) == 0)
                        r = parse_secs(a + 4, false, &o->ttl);
                else if (strncmp(a, "wait=", 5) == 0)
                        r = parse_secs(a + 5, true, &o->wait_s);
                else if (strncmp(a, "batch_wait=", 11) == 0)
                        r = parse_secs(a + 11, true, &o->batch_wait_s);
                else if (strncmp(a, "timeout=", 8) == 0)
                        r = parse_secs(a + 8, false, &o->timeout_s);
                else if (strncmp(a, "progress=", 9) == 0)
                        r = parse_secs(a + 9, true, &o->progress_s);
                else if (strcmp(a, "quiet") == 0)
                        o->quiet = true;
                else if (strcmp(a, "debug") == 0)
                        o->debug = true;
                else
                        r = -EINVAL;
                if (r < 0) {
                        pam_syslog(pamh, LOG_ERR, "bad option \"%s\": denying", a);
                        return -EINVAL;
                }
        }
        if (o->wait_s > 86400 || o->batch_wait_s > 86400 || o->timeout_s > 3600 || o->progress_s > MAX_PROGRESS_S) {
                pam_syslog(pamh, LOG_ERR, "wait=/batch_wait= above 1d or timeout=/progress= above 1h: denying");
                return -EINVAL;
        }
        if (need_role && (!o->role || !*o->role)) {
                pam_syslog(pamh, LOG_ERR, "missing role= option: denying");
                return -EINVAL;
        }
        return 0;
}

static void say(pam_handle_t *pamh, const struct opts *o, bool error, const char *text)
{
        char buf[SAY_MAX];

        if (!text || o->silent || (!error && o->quiet))
                return;
        /* The service quotes users' words (reasons, comments): an escape
         * sequence or a BiDi override in them is shown, never obeyed. */
        (void)jit_escape_text(buf, sizeof(buf), text);
        if (error)
                (void)pam_error(pamh, "%s", buf);
        else
                (void)pam_info(pamh, "%s", buf);
}

static const char *item(pam_handle_t *pamh, int type)
{
        const void *v = NULL;

        if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || !v)
                return NULL;
        return v;
}

/* Strings the service gets must be strict UTF-8: anything else (a host
 * name or tty from PAM items, say) goes escaped. */
static int add_str(cJSON *o, const char *k, const char *v)
{
        _cleanup_free_ char *t = NULL;

        if (!v)
                return 0;
        if (!jit_utf8_is_valid(v) && !(t = jit_escape_dup(v, 4096)))
                return -ENOMEM;
        return cJSON_AddStringToObject(o, k, t ? t : v) ? 0 : -ENOMEM;
}

static cJSON *build_access(pam_handle_t *pamh, const struct opts *o, const char *user,
                           const struct jit_cmdline *cl, uint64_t wait_s)
{
        cJSON *m = cJSON_CreateObject();
        int e = 0;

        if (!m)
                return NULL;
        e |= add_str(m, "op", JIT_OP_ACCESS);
        e |= add_str(m, "user", user);
        e |= add_str(m, "role", o->role);
        e |= add_str(m, "service", item(pamh, PAM_SERVICE));
        e |= add_str(m, "rhost", item(pamh, PAM_RHOST));
        e |= add_str(m, "ruser", item(pamh, PAM_RUSER));
        e |= add_str(m, "tty", item(pamh, PAM_TTY));
        e |= add_str(m, "target_user", cl->target_user);
        if (!cJSON_AddNumberToObject(m, "wait_s", (double)wait_s))
                e = -ENOMEM;
        if (o->ttl && !cJSON_AddNumberToObject(m, "ttl", (double)o->ttl))
                e = -ENOMEM;
        /* The service takes strict UTF-8 only: an argument that is not is
         * sent escaped, and the command cannot be judged exactly. */
        bool plain = true;

        for (size_t i = 0; cl->argv && cl->argv[i]; i++)
                plain &= jit_utf8_is_valid(cl->argv[i]);
        e |= add_str(m, "command_mode", jit_command_mode_to_string(plain ? cl->mode : JIT_COMMAND_OPAQUE));
        if (cl->argv) {
                cJSON *a = cJSON_AddArrayToObject(m, "command");

                for (size_t i = 0; a && cl->argv[i]; i++) {
                        _cleanup_free_ char *t = plain ? NULL : jit_escape_dup(cl->argv[i], 4096);

                        if (!plain && !t)
                                e = -ENOMEM;
                        else if (!cJSON_AddItemToArray(a, cJSON_CreateString(plain ? cl->argv[i] : t)))
                                e = -ENOMEM;
                }
                if (!a)
                        e = -ENOMEM;
        }
        if (e) {
                cJSON_Delete(m);
                return NULL;
        }
        return m;
}

static const char *str_of(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Read the service's verdict from an answer. Anything unexpected is an error. */
static enum outcome verdict(const cJSON *ans)
{
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(ans, "ok");
        const char *d = str_of(ans, "decision");

        if (!cJSON_IsTrue(ok) || !d)
                return OUT_ERROR;
        if (strcmp(d, "allow") == 0)
                return OUT_ALLOWED;
        if (strcmp(d, "deny") == 0)
                return OUT_DENIED;
        return OUT_ERROR;      /* "pending" is handled by the caller */
}

static bool is_pending(const cJSON *ans)
{
        const char *d = str_of(ans, "decision");

        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok")) && d &&
               strcmp(d, "pending") == 0 && str_of(ans, "request_id");
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One wait for an approver, as the requester sees it. */
struct waiting {
        const char *id, *role;
        int64_t ends_ms;        /* CLOCK_MONOTONIC: wait= or the request's lapse, the sooner */
        bool progress;          /* a line every progress= */
};

static void waiting_init(struct waiting *w, const struct opts *o, const cJSON *pending, uint64_t wait_s, bool batch)
{
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(pending, "request");
        const cJSON *deadline = cJSON_GetObjectItemCaseSensitive(req, "deadline_us");
        int64_t ends = (int64_t)wait_s * 1000;
        struct timespec rt;

        if (cJSON_IsNumber(deadline) && clock_gettime(CLOCK_REALTIME, &rt) == 0) {
                double lapse = deadline->valuedouble / 1000 - ((double)rt.tv_sec * 1000 + rt.tv_nsec / 1e6);

                if (lapse < (double)ends)
                        ends = lapse > 0 ? (int64_t)lapse : 0;
        }
        *w = (struct waiting) {
                .id = str_of(pending, "request_id"), .role = o->role,
                .ends_ms = mono_ms() + ends, .progress = !batch && o->progress_s > 0,
        };
}

static void say_progress(pam_handle_t *pamh, const struct opts *o, const struct waiting *w, int64_t now)
{
        char left[32] = "?", line[256];

        if (now >= w->ends_ms)
                return;
        (void)jit_duration_format(left, sizeof(left), (uint64_t)(w->ends_ms - now + 999) / 1000);
        snprintf(line, sizeof(line), "jit: still waiting for an approver of %s (%s): %s left", w->role, w->id, left);
        say(pamh, o, false, line);
}

/* Read the decision within limit_ms, saying how long is left every
 * progress= meanwhile. The reader keeps a frame that arrives across a
 * progress line. Returns 0, -EINTR when a signal arrived (sudo catches
 * Ctrl-C and defers it: the wait must end then), or as jit_proto_recv. */
static int recv_decision(pam_handle_t *pamh, const struct opts *o, int fd, const struct waiting *w,
                         int64_t limit_ms, cJSON **ret)
{
        struct jit_proto_reader rd = { 0 };
        int64_t step = w->progress ? (int64_t)o->progress_s * 1000 : 0;
        int64_t start = mono_ms(), next = start + step, end = start + limit_ms;
        int r;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t now, until;

                r = jit_proto_reader_feed(&rd, fd, JIT_PROTO_MAX_REQUEST, ret);
                if (r != 0)
                        break;
                now = mono_ms();
                if (step && now >= next) {
                        say_progress(pamh, o, w, now);
                        while (next <= now)
                                next += step;
                }
                if (now >= end) {
                        r = -ETIMEDOUT;
                        break;
                }
                until = step && next < end ? next : end;
                if (poll(&p, 1, (int)(until - now)) < 0) {
                        r = -errno;
                        break;
                }
        }
        jit_proto_reader_reset(&rd);
        return r < 0 ? r : 0;
}

static enum outcome wait_for_decision(pam_handle_t *pamh, const struct opts *o, int fd,
                                      const struct waiting *w, uint64_t wait_s)
{
        cJSON *req = cJSON_CreateObject(), *ans = NULL;
        enum outcome out = OUT_ERROR;
        int r;

        if (!req || !cJSON_AddStringToObject(req, "op", JIT_OP_WAIT) ||
            !cJSON_AddStringToObject(req, "id", w->id) ||
            !cJSON_AddNumberToObject(req, "timeout_ms", (double)(wait_s * 1000))) {
                cJSON_Delete(req);
                return OUT_ERROR;
        }
        r = jit_proto_send(fd, req, (int)(o->timeout_s * 1000));
        cJSON_Delete(req);
        if (r == 0)
                r = recv_decision(pamh, o, fd, w, (int64_t)(wait_s + o->timeout_s) * 1000, &ans);
        if (r == -EINTR) {
                char line[160];

                /* Hanging up now tells the service the request is withdrawn. */
                snprintf(line, sizeof(line), "jit: interrupted: request %s withdrawn", w->id);
                say(pamh, o, true, line);
                return OUT_DENIED;
        }
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "waiting for %s: %s", w->id, strerror(-r));
                say(pamh, o, true, "jit: lost contact with the jit service while waiting: denied");
                return OUT_ERROR;
        }
        if (is_pending(ans)) {
                char line[256];

                snprintf(line, sizeof(line),
                         "jit: no decision on request %s in time: denied for now. "
                         "After approval, retry (or run: jitctl wait %s).", w->id, w->id);
                say(pamh, o, true, line);
                out = OUT_DENIED;
        } else {
                /* at once, with who decided and their comment */
                out = verdict(ans);
                say(pamh, o, out != OUT_ALLOWED, str_of(ans, "message"));
        }
        cJSON_Delete(ans);
        return out;
}

/* A connection to the service, which must be served by root. */
static int connect_to_service(pam_handle_t *pamh, const struct opts *o)
{
        uid_t peer = (uid_t)-1;
        int fd = jit_proto_connect(o->socket);

        if (fd < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot reach the jit service at %s: %s", o->socket, strerror(-fd));
                say(pamh, o, true, "jit: the jit service is not running: access denied");
                return -1;
        }
        if (jit_proto_peer(fd, NULL, &peer, NULL) < 0 || peer != 0) {
                pam_syslog(pamh, LOG_ERR, "the socket %s is not served by root: denying", o->socket);
                say(pamh, o, true, "jit: the jit service is not trustworthy: access denied");
                close(fd);
                return -1;
        }
        return fd;
}

static enum outcome ask(pam_handle_t *pamh, const struct opts *o, const char *user,
                        const struct jit_cmdline *cl, bool batch)
{
        _cleanup_close_ int fd = -1;
        cJSON *req, *ans = NULL;
        enum outcome out;
        struct waiting w;
        uint64_t wait_s = batch ? o->batch_wait_s : o->wait_s;
        int r;

        fd = connect_to_service(pamh, o);
        if (fd < 0)
                return OUT_ERROR;
        req = build_access(pamh, o, user, cl, wait_s);
        if (!req)
                return OUT_ERROR;
        r = jit_proto_send(fd, req, (int)(o->timeout_s * 1000));
        cJSON_Delete(req);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_REQUEST, (int)(o->timeout_s * 1000), &ans);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "no answer from the jit service: %s", strerror(-r));
                say(pamh, o, true, "jit: no answer from the jit service: access denied");
                return OUT_ERROR;
        }
        if (!is_pending(ans)) {
                out = verdict(ans);
                if (out == OUT_ERROR && !str_of(ans, "error"))
                        pam_syslog(pamh, LOG_ERR, "malformed answer from the jit service: denying");
                if (out == OUT_ALLOWED)
                        say(pamh, o, false, str_of(ans, "message"));  /* none on the fast path */
                else
                        say(pamh, o, true, str_of(ans, "message") ? str_of(ans, "message") :
                            str_of(ans, "error") ? str_of(ans, "error") :
                            "jit: malformed answer from the jit service: access denied");
                cJSON_Delete(ans);
                return out;
        }
        say(pamh, o, wait_s == 0, str_of(ans, "message"));
        waiting_init(&w, o, ans, wait_s, batch);
        if (wait_s && !batch) {
                char line[160];

                snprintf(line, sizeof(line), "jit: Ctrl-C stops waiting and withdraws request %s.", w.id);
                say(pamh, o, false, line);
        }
        if (wait_s == 0) {
                char line[256];

                snprintf(line, sizeof(line), "jit: not waiting (non-interactive): denied for now. "
                         "Run: jitctl wait %s, then retry.", str_of(ans, "request_id"));
                say(pamh, o, true, line);
                cJSON_Delete(ans);
                return OUT_DENIED;
        }
        out = wait_for_decision(pamh, o, fd, &w, wait_s);
        cJSON_Delete(ans);
        return out;
}

/* The one place that maps results to PAM codes. */
static int decide(enum outcome out)
{
        switch (out) {
        case OUT_ALLOWED:
                return PAM_SUCCESS;
        case OUT_DENIED:
                return PAM_PERM_DENIED;
        default:
                return PAM_PERM_DENIED;
        }
}

static bool is_batch(pam_handle_t *pamh, const struct jit_cmdline *cl)
{
        const char *tty = item(pamh, PAM_TTY);
        const char *service = item(pamh, PAM_SERVICE);

        if (cl->non_interactive)
                return true;
        if (service && strcmp(service, "sshd") == 0)
                return true;    /* sshd's account conversation cannot show a live wait */
        return !tty || strncmp(tty, "/dev/", 5) != 0;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        struct jit_cmdline cl = { 0 };
        const char *user = NULL, *service;
        struct opts o;
        enum outcome out = OUT_ERROR;

        (void)flags;   /* sudo always passes PAM_SILENT here; see pam_jit(8) */
        if (parse_opts(pamh, argc, argv, &o) < 0) {
                say(pamh, &(struct opts){ 0 }, true, "jit: pam_jit is misconfigured: access denied");
                return decide(OUT_ERROR);
        }
        if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !*user)
                return decide(OUT_ERROR);
        service = item(pamh, PAM_SERVICE);
        cl.mode = JIT_COMMAND_OPAQUE;   /* sshd, login, su: a session we cannot judge */
        if (service && (strcmp(service, "sudo") == 0 || strcmp(service, "sudo-i") == 0)) {
                if (jit_cmdline_read_sudo(&cl, o.secure_path) < 0) {
                        pam_syslog(pamh, LOG_ERR, "cannot read the sudo command line: denying");
                        say(pamh, &o, true, "jit: cannot read the sudo command line: access denied");
                        return decide(OUT_ERROR);
                }
        }
        out = ask(pamh, &o, user, &cl, is_batch(pamh, &cl));
        if (o.debug)
                pam_syslog(pamh, LOG_DEBUG, "user %s role %s: outcome %d", user, o.role, (int)out);
        jit_cmdline_done(&cl);
        return decide(out);
}

static int only_account(pam_handle_t *pamh)
{
        pam_syslog(pamh, LOG_ERR, "pam_jit decides in the account phase (and names sessions in the session phase) only: denying");
        return PAM_SERVICE_ERR;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void)flags; (void)argc; (void)argv;
        return only_account(pamh);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void)flags; (void)argc; (void)argv;
        return only_account(pamh);
}

/* Session phase (optional): tell the service which logind session a
 * login opened or closed, so grants bound to the session start and end
 * with it. sshd runs close in another process than account and open: the
 * session id (XDG_SESSION_ID, set by pam_systemd, which must come first)
 * is what ties them together. */
static int session_event(pam_handle_t *pamh, int argc, const char **argv, const char *event)
{
        _cleanup_close_ int fd = -1;
        const char *user = NULL, *session, *service;
        cJSON *req, *ans = NULL;
        struct opts o;
        int r;

        if (parse_opts_for(pamh, argc, argv, &o, false) < 0 || pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !*user)
                return PAM_SESSION_ERR;
        service = item(pamh, PAM_SERVICE);
        if (service && (strcmp(service, "sudo") == 0 || strcmp(service, "sudo-i") == 0))
                return PAM_IGNORE;      /* sudo's session is the command's, not the login's */
        session = pam_getenv(pamh, "XDG_SESSION_ID");
        if (session && strlen(session) > 64) {
                /* not logind's: something set it; never pass over it quietly */
                pam_syslog(pamh, LOG_ERR, "XDG_SESSION_ID longer than 64 characters: refused");
                return PAM_SESSION_ERR;
        }
        if (!session || !*session) {
                /* no logind session, so nothing to bind to: not an error (a grant
                 * waiting for a session name ends on its own after two minutes) */
                if (o.debug)
                        pam_syslog(pamh, LOG_DEBUG, "no logind session (is pam_systemd before pam_jit?)");
                return PAM_IGNORE;
        }
        o.silent = true;
        fd = connect_to_service(pamh, &o);
        if (fd < 0)
                return PAM_SESSION_ERR;
        req = cJSON_CreateObject();
        if (!req || add_str(req, "op", JIT_OP_SESSION) || add_str(req, "event", event) ||
            add_str(req, "user", user) || add_str(req, "session", session)) {
                cJSON_Delete(req);
                return PAM_SESSION_ERR;
        }
        r = jit_proto_send(fd, req, (int)(o.timeout_s * 1000));
        cJSON_Delete(req);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_REQUEST, (int)(o.timeout_s * 1000), &ans);
        r = r == 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok")) ? PAM_SUCCESS : PAM_SESSION_ERR;
        if (r != PAM_SUCCESS)
                pam_syslog(pamh, LOG_ERR, "the jit service did not take the session %s of %s", event, user);
        cJSON_Delete(ans);
        return r;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void)flags;
        return session_event(pamh, argc, argv, "open");
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void)flags;
        return session_event(pamh, argc, argv, "close");
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void)flags; (void)argc; (void)argv;
        return only_account(pamh);
}
