/* jitctl serve — run the jit service: socket, event loop, signals. */
#include "jitctl.h"
#include "service.h"
#include "cleanup.h"
#include "journal.h"
#include "notify.h"
#include "safeio.h"
#include "strv.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

struct serve_opts {
        const char *config, *state_dir, *socket;
        bool foreground;
};

static bool socket_activated;

static int listen_socket(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        char *slash;

        if (sd_listen_fds(1) == 1) {
                /* Socket activation. systemd hands the socket over
                 * blocking; the loop accepts until EAGAIN. */
                int fl = fcntl(SD_LISTEN_FDS_START, F_GETFL);

                if (fl < 0 || fcntl(SD_LISTEN_FDS_START, F_SETFL, fl | O_NONBLOCK) < 0)
                        return -errno;
                socket_activated = true;
                return SD_LISTEN_FDS_START;
        }
        if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/')
                return -EINVAL;
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        *slash = '\0';
        if (dir[0] && mkdir(dir, 0755) == 0) {
                if (chmod(dir, 0755) < 0)       /* umask is 077 here */
                        return -errno;
        } else if (dir[0] && errno != EEXIST) {
                return -errno;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Replace a socket left by an earlier run, never anything else. */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                (void)unlink(path);
        }
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        /* Anyone may connect; every operation checks who is asking. */
        if (chmod(path, 0666) < 0)
                return -errno;
        if (listen(fd, 64) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int open_spool(struct svc *s, const char *dir)
{
        struct jit_request **reqs = NULL;
        struct jit_grant **grants = NULL;
        size_t nr = 0, ng = 0;
        _cleanup_strv_free_ char **bad = NULL;
        struct stat st;
        int r;

        _cleanup_close_ int dfd = -1;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        /* checked on the fd we opened, not on the path */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 || fstat(dfd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
                jit_journal_event(JIT_EV_ERROR, LOG_ERR, NULL,
                                  "spool %s must be a directory owned by root with mode 0700", dir);
                return -EPERM;
        }
        r = jit_spool_open_files(dir, &s->spool);
        if (r < 0)
                return r;
        r = jit_spool_load(s->spool, &reqs, &nr, &grants, &ng, &bad);
        if (r < 0)
                return r;
        for (size_t i = 0; bad && bad[i]; i++)
                jit_journal_event(JIT_EV_ERROR, LOG_ERR, NULL, "spool record %s: left in place, not used", bad[i]);
        s->reqs = reqs;
        s->n_reqs = nr;
        s->grants = grants;
        s->n_grants = ng;
        return 0;
}

static void open_bus(struct svc *s)
{
        enum jit_expiry_mode m = s->config ? s->config->settings.expiry : JIT_EXPIRY_AUTO;
        int r;

        if (m == JIT_EXPIRY_LOOP)
                return;
        if (sd_booted() <= 0) {
                jit_journal_event(JIT_EV_SERVICE, LOG_NOTICE, NULL,
                                  "systemd is not running here: the service's own loop expires grants");
                return;
        }
        r = sd_bus_open_system(&s->bus);
        if (r < 0) {
                s->bus = NULL;
                jit_journal_event(JIT_EV_SERVICE, LOG_WARNING, NULL,
                                  "cannot reach systemd over D-Bus (%s): the service's own loop expires grants",
                                  strerror(-r));
        }
}

static void flush_client(struct client *c)
{
        while (c->out && c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;         /* the loop waits for POLLOUT */
                if (n < 0) {
                        c->dead = true;
                        return;
                }
                c->out_off += (size_t)n;
        }
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = 0;
        c->idle_deadline_us = svc_now_us() + JIT_CLIENT_IDLE_US;
}

/* Queue the answer and write what the socket takes now; the rest goes out
 * when the client reads. The loop never blocks on a client. */
void svc_client_answer(struct svc *s, struct client *c, cJSON *ans)
{
        int r;

        (void)s;
        if (!ans || c->out) {
                cJSON_Delete(ans);
                c->dead = true;
                return;
        }
        r = jit_proto_frame(ans, &c->out, &c->out_len);
        cJSON_Delete(ans);
        if (r == -EMSGSIZE) {
                /* every answer is bounded below this; said, not dropped */
                ans = svc_error(JIT_CODE_INTERNAL, "the answer would be larger than one message may be (4 MiB)");
                r = ans ? jit_proto_frame(ans, &c->out, &c->out_len) : -ENOMEM;
                cJSON_Delete(ans);
        }
        if (r < 0) {
                c->dead = true;
                return;
        }
        c->out_off = 0;
        flush_client(c);
}

static bool may_connect(struct svc *s, uid_t uid)
{
        size_t mine = 0, others = 0;

        for (struct client *c = s->clients; c; c = c->next) {
                if (c->uid == 0)
                        continue;
                others++;
                if (c->uid == uid)
                        mine++;
        }
        if (uid == 0)
                return s->n_clients < JIT_MAX_CLIENTS;
        return mine < JIT_MAX_CLIENTS_PER_UID && others < JIT_MAX_CLIENTS - JIT_ROOT_RESERVED;
}

static void accept_clients(struct svc *s, int lfd)
{
        for (;;) {
                struct client *c;
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (fd < 0)
                        return;         /* EAGAIN: all taken */
                c = calloc(1, sizeof(*c));
                if (!c || jit_proto_peer(fd, &c->pid, &c->uid, &c->gid) < 0 || !may_connect(s, c->uid)) {
                        free(c);
                        close(fd);
                        continue;
                }
                c->fd = fd;
                c->idle_deadline_us = svc_now_us() + JIT_CLIENT_IDLE_US;
                c->next = s->clients;
                s->clients = c;
                s->n_clients++;
        }
}

static void serve_client(struct svc *s, struct client *c, short revents)
{
        cJSON *req = NULL, *ans;
        int r;

        if (c->out) {
                if (revents & (POLLERR | POLLHUP))
                        c->dead = true;
                else if (revents & POLLOUT)
                        flush_client(c);
                return;
        }
        r = jit_proto_reader_feed(&c->rd, c->fd, JIT_PROTO_MAX_REQUEST, &req);
        if (r == 0)
                return;
        if (r < 0 || c->waiting) {
                /* Hung up, broke the framing, or spoke while waiting. */
                cJSON_Delete(req);
                c->dead = true;
                if (c->waiting && c->cancel_on_hangup) {
                        c->waiting = false;
                        svc_cancel_interrupted(s, c->wait_id);
                }
                return;
        }
        ans = svc_handle(s, c, req);
        cJSON_Delete(req);
        if (ans)
                svc_client_answer(s, c, ans);
        else if (!c->waiting)
                c->dead = true;
}

/* A connection that neither waits nor sends a whole request in time goes. */
static void drop_idle_clients(struct svc *s, uint64_t now)
{
        for (struct client *c = s->clients; c; c = c->next)
                if (!c->waiting && !c->out && now >= c->idle_deadline_us)
                        c->dead = true;
}

static void sweep_clients(struct svc *s)
{
        struct client **pp = &s->clients;

        while (*pp) {
                struct client *c = *pp;

                if (!c->dead) {
                        pp = &c->next;
                        continue;
                }
                *pp = c->next;
                jit_proto_reader_reset(&c->rd);
                free(c->out);
                close(c->fd);
                free(c);
                s->n_clients--;
        }
}

/* Arm tfd for the next wake-up in realtime: expiry is wall-clock time,
 * and a clock that is set (forward past an expiry, or back) wakes us at
 * once (TFD_TIMER_CANCEL_ON_SET) so the loop judges again with the new
 * time. An expired grant's record is final: going back revives nothing. */
static void arm_realtime(int tfd, uint64_t next_us)
{
        struct itimerspec its = {
                .it_value = { .tv_sec = (time_t)(next_us / 1000000), .tv_nsec = (long)(next_us % 1000000) * 1000 },
        };

        if (tfd >= 0)
                (void)timerfd_settime(tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static int loop(struct svc *s, int lfd, int sfd)
{
        _cleanup_close_ int tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);

        for (;;) {
                struct pollfd pfd[3 + JIT_MAX_CLIENTS];
                struct client *map[3 + JIT_MAX_CLIENTS];
                uint64_t now = svc_now_us(), next = svc_next_wakeup_us(s);
                int timeout = next <= now ? 0 : (next - now) / 1000 + 1 > 60000 ? 60000 : (int)((next - now) / 1000 + 1);
                nfds_t n = 3;

                arm_realtime(tfd, next > now ? next : now + 1);
                pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
                pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                pfd[2] = (struct pollfd){ .fd = tfd, .events = POLLIN };
                for (struct client *c = s->clients; c; c = c->next) {
                        map[n] = c;
                        pfd[n++] = (struct pollfd){ .fd = c->fd, .events = c->out ? POLLOUT : POLLIN };
                }
                if (poll(pfd, n, timeout) < 0 && errno != EINTR)
                        return -errno;
                if (pfd[1].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGHUP)
                                        svc_config_refresh(s, true);
                                else
                                        return 0;
                        }
                }
                if (pfd[2].revents & POLLIN) {
                        uint64_t ticks;

                        (void)!read(tfd, &ticks, sizeof(ticks)); /* ECANCELED: the clock was set */
                }
                for (nfds_t i = 3; i < n; i++)
                        if (pfd[i].revents)
                                serve_client(s, map[i], pfd[i].revents);
                if (pfd[0].revents & POLLIN)
                        accept_clients(s, lfd);
                now = svc_now_us();
                svc_expire_waiters(s, now);
                drop_idle_clients(s, now);
                svc_reconcile(s, false);
                svc_notify_flush(s);    /* after the answers: never delays one */
                sweep_clients(s);
        }
}

/* Everything the service holds, released on the way out (so that leak
 * checkers see only real leaks). */
static void svc_done(struct svc *s)
{
        for (size_t i = 0; i < s->n_reqs; i++)
                jit_request_free(s->reqs[i]);
        for (size_t i = 0; i < s->n_grants; i++)
                jit_grant_free(s->grants[i]);
        free(s->reqs);
        free(s->grants);
        svc_index_reset(s);
        for (struct client *c = s->clients; c; c = c->next)
                c->dead = true;
        sweep_clients(s);
        jit_spool_free(s->spool);
        jit_config_free(s->config);
        sd_bus_flush_close_unref(s->bus);
        free(s->self_path);
        *s = (struct svc){ 0 };
}

static int parse_serve(int argc, char **argv, struct serve_opts *o)
{
        static const struct option lo[] = {
                { "config", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, 'd' },
                { "socket", required_argument, NULL, 's' },
                { "foreground", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *o = (struct serve_opts){ .config = JIT_CONFIG_PATH, .state_dir = JIT_SPOOL_DIR, .socket = jit_g.socket };
        optind = 1;
        while ((c = getopt_long(argc, argv, "c:d:s:fh", lo, NULL)) >= 0) {
                switch (c) {
                case 'c': o->config = optarg; break;
                case 'd': o->state_dir = optarg; break;
                case 's': o->socket = optarg; break;
                case 'f': o->foreground = true; break;
                case 'h':
                        printf("Usage: jitctl serve [--config FILE] [--state-dir DIR] [--socket PATH] [--foreground]\n");
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (optind != argc || o->config[0] != '/' || o->state_dir[0] != '/')
                return -EINVAL;
        return 0;
}

int verb_serve(int argc, char **argv)
{
        struct svc s = { 0 };
        struct serve_opts o;
        sigset_t mask;
        int lfd, sfd, r;

        r = parse_serve(argc, argv, &o);
        if (r != 0)
                return r > 0 ? JIT_EXIT_OK : jit_usage_error("serve: bad arguments (see jitctl serve --help)");
        if (geteuid() != 0)
                return jit_fail(JIT_EXIT_FORBIDDEN, "serve: the jit service must run as root");
        umask(077);
        if (sodium_init() < 0)
                return jit_fail(JIT_EXIT_ERROR, "serve: libsodium failed to initialise");
        jit_journal_set_stderr(o.foreground);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        s.config_path = o.config;
        s.socket_path = o.socket;
        s.self_path = realpath("/proc/self/exe", NULL);
        r = open_spool(&s, o.state_dir);
        if (r < 0)
                return jit_fail(JIT_EXIT_ERROR, "serve: cannot open the spool %s (or its requests/ or grants/): %s",
                                o.state_dir, jit_safeio_strerror(r));
        /* Nothing is granted unless it can be put on record first. */
        r = svc_audit_open(&s, o.state_dir);
        if (r < 0)
                return jit_fail(JIT_EXIT_ERROR, "serve: cannot open the audit log in %s or the host key next to %s: %s",
                                o.state_dir, o.config, r == -EBADMSG ? "its last line is damaged (jitctl audit verify)" :
                                r == -EKEYREJECTED ? "host.key is not a hex Ed25519 secret key" :
                                jit_safeio_strerror(r));
        svc_config_refresh(&s, true);
        r = svc_notify_open(&s, o.state_dir);
        if (r < 0)
                jit_journal_event(JIT_EV_ERROR, LOG_ERR, NULL, "cannot open the notification outbox %s/%s: %s; "
                                  "no notifications will be sent", o.state_dir, JIT_OUTBOX_DIR, jit_safeio_strerror(r));
        open_bus(&s);
        lfd = listen_socket(o.socket);
        if (lfd < 0 || sfd < 0 || !s.self_path)
                return jit_fail(JIT_EXIT_ERROR, "serve: cannot listen on %s: %s", o.socket, strerror(lfd < 0 ? -lfd : errno));
        svc_reconcile(&s, true);
        jit_journal_event(JIT_EV_SERVICE, LOG_INFO, NULL, "jit service ready on %s (%zu requests, %zu grants on record; expiry by %s)",
                          o.socket, s.n_reqs, s.n_grants, svc_uses_timers(&s) ? "systemd timers" : "the service's own loop");
        (void)sd_notify(0, "READY=1");
        r = loop(&s, lfd, sfd);
        jit_journal_event(JIT_EV_SERVICE, LOG_INFO, NULL, "jit service stopping");
        svc_notify_close(&s);
        svc_audit_close(&s);
        if (!socket_activated)
                (void)unlink(o.socket);        /* ours, not systemd's */
        close(lfd);
        close(sfd);
        svc_done(&s);
        (void)sd_notify(0, "STOPPING=1");
        return r < 0 ? JIT_EXIT_ERROR : JIT_EXIT_OK;
}
