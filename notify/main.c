/* jit-notify — delivers the notifications the jit service leaves in
 * /var/lib/jit/outbox, retries them with backoff, and reports every
 * outcome to the service (op notify-result), which logs it.
 *
 *   jit-notify [--config FILE] [--outbox DIR] [--socket PATH]
 *
 * The loop: inotify on the outbox wakes it when the service writes a
 * record; each due record gets one attempt (HTTP through one libcurl
 * multi handle, commands as children watched through pidfds), at most
 * MAX_INFLIGHT at once; an attempt that fails is rescheduled in the record
 * (notify.retry of the policy), one that succeeds or is the last allowed
 * ends it; the record is removed once the service has heard of every
 * outcome. A crash repeats at most the attempt in flight (a receiver sees
 * the same X-Jit-Delivery twice).
 */
#include "jit-notify.h"
#include "cleanup.h"
#include "proto.h"
#include "safeio.h"
#include "spool.h"
#include "strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 32
#define IDLE_MS 10000                   /* look again at least this often */
#define REPORT_TIMEOUT_MS 2000
#define REPORT_RETRY_US (5ULL * 1000000) /* after the service did not answer */

struct notifier {
        const char *config_path, *outbox_path, *socket_path;
        struct jit_config *config;      /* NULL: the policy does not load: hold everything */
        struct stat config_stamp;
        bool config_seen;
        int outbox_fd, inotify_fd, signal_fd;
        CURLM *multi;
        struct delivery *inflight;
        size_t n_inflight;
        bool rescan;
        uint64_t next_due_us;           /* realtime: the earliest record waiting */
        uint64_t report_retry_us;       /* realtime: no report is tried before (service down) */
};

uint64_t now_realtime_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t now_monotonic_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

void say(const char *fmt, ...)
{
        va_list ap;

        fputs("jit-notify: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int read_secret_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *dir = strdup(path), *text = NULL;
        _cleanup_close_ int dfd = -1;
        char *slash = dir ? strrchr(dir, '/') : NULL;
        size_t len = 0;
        int r;

        if (!slash)
                return dir ? -EINVAL : -ENOMEM;
        *slash = '\0';
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", JIT_SAFEIO_TRUSTED);
        if (dfd < 0)
                return dfd;
        r = jit_safeio_read_at(dfd, slash + 1, max, JIT_SAFEIO_TRUSTED | JIT_SAFEIO_SECRET, &text, &len);
        if (r < 0)
                return r;
        if (len && text[len - 1] == '\n')
                text[--len] = '\0';
        if (strlen(text) != len) {
                sodium_memzero(text, len);
                return -EINVAL;         /* a NUL inside */
        }
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

/* ---- the policy -------------------------------------------------------- */

static void config_refresh(struct notifier *n)
{
        _cleanup_strv_free_ char **errors = NULL;
        struct jit_config *c = NULL;
        struct stat st = { 0 };
        int r;

        if (stat(n->config_path, &st) < 0)
                memset(&st, 0, sizeof(st));
        if (n->config_seen && st.st_ino == n->config_stamp.st_ino && st.st_size == n->config_stamp.st_size &&
            st.st_mtim.tv_sec == n->config_stamp.st_mtim.tv_sec && st.st_mtim.tv_nsec == n->config_stamp.st_mtim.tv_nsec)
                return;
        n->config_stamp = st;
        n->config_seen = true;
        r = jit_config_load(n->config_path, &c, &errors);
        jit_config_free(n->config);
        n->config = r == 0 ? c : NULL;
        if (r < 0)
                say("policy %s refused (%s%s%s): holding every notification until it loads", n->config_path,
                    strerror(-r), errors && errors[0] ? "; " : "", errors && errors[0] ? errors[0] : "");
        else
                say("policy %s loaded: %zu notification targets", n->config_path, c->notify.n_targets);
        n->rescan = true;
}

/* ---- records ----------------------------------------------------------- */

static int record_read(struct notifier *n, const char *name, struct jit_outbox_record **ret)
{
        _cleanup_free_ char *data = NULL;
        cJSON *j = NULL;
        size_t len;
        int r = jit_safeio_read_at(n->outbox_fd, name, JIT_RECORD_MAX_SIZE, JIT_SAFEIO_TRUSTED | JIT_SAFEIO_SECRET,
                                   &data, &len);

        if (r == 0)
                r = jit_record_open(data, len, &j);
        if (r == 0)
                r = jit_outbox_from_json(j, ret);
        cJSON_Delete(j);
        if (r == 0 && strcmp((*ret)->id, name) != 0) {
                jit_outbox_free(*ret);
                r = -EBADMSG;
        }
        return r;
}

static int record_write(struct notifier *n, const struct jit_outbox_record *rec)
{
        _cleanup_free_ char *data = NULL;
        cJSON *j = jit_outbox_to_json(rec);
        size_t len;
        int r;

        if (!j)
                return -ENOMEM;
        r = jit_record_seal(j, &data, &len);
        cJSON_Delete(j);
        return r < 0 ? r : jit_safeio_write_at(n->outbox_fd, rec->id, data, len, 0600);
}

/* Tell the service; it writes the journal and the audit log. */
static int report(struct notifier *n, const struct jit_outbox_record *rec, const struct jit_outbox_result *x,
                  uint32_t max_attempts)
{
        _cleanup_close_ int fd = jit_proto_connect(n->socket_path);
        cJSON *msg = cJSON_CreateObject(), *ans = NULL;
        int r;

        if (fd < 0 || !msg) {
                cJSON_Delete(msg);
                return fd < 0 ? fd : -ENOMEM;
        }
        cJSON_AddStringToObject(msg, "op", JIT_OP_NOTIFY_RESULT);
        cJSON_AddStringToObject(msg, "id", rec->id);
        cJSON_AddStringToObject(msg, "target", rec->target);
        cJSON_AddStringToObject(msg, "event", jit_notify_event_to_string(rec->event));
        if (rec->request_id[0])
                cJSON_AddStringToObject(msg, "request_id", rec->request_id);
        if (rec->grant_id[0])
                cJSON_AddStringToObject(msg, "grant_id", rec->grant_id);
        cJSON_AddBoolToObject(msg, "ok", x->ok);
        cJSON_AddBoolToObject(msg, "final", x->final);
        cJSON_AddNumberToObject(msg, "attempt", x->attempt);
        cJSON_AddNumberToObject(msg, "max_attempts", max_attempts);
        cJSON_AddNumberToObject(msg, "http_status", x->http_status);
        if (x->error)
                cJSON_AddStringToObject(msg, "error", x->error);
        r = jit_proto_send(fd, msg, REPORT_TIMEOUT_MS);
        cJSON_Delete(msg);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_ANSWER, REPORT_TIMEOUT_MS, &ans);
        if (r == 0 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok")))
                r = -EPROTO;
        cJSON_Delete(ans);
        return r;
}

static uint32_t max_attempts(const struct notifier *n)
{
        return n->config ? n->config->notify.retry_max_attempts : 8;
}

/* Report what the service has not heard yet, then keep or remove the
 * record. Unreported outcomes stay in it for a later pass; the file is
 * rewritten only when something changed (changed: a new outcome). */
static void settle(struct notifier *n, struct jit_outbox_record *rec, bool changed)
{
        size_t sent = 0;
        int r = 0;

        while (sent < rec->n_results && now_realtime_us() >= n->report_retry_us &&
               (r = report(n, rec, &rec->results[sent], max_attempts(n))) == 0)
                sent++;
        if (r < 0) {
                say("cannot report %s to the service (%s): will try again", rec->id, strerror(-r));
                n->report_retry_us = now_realtime_us() + REPORT_RETRY_US;
        }
        if (sent) {
                for (size_t i = 0; i < sent; i++)
                        free(rec->results[i].error);
                memmove(rec->results, rec->results + sent, (rec->n_results - sent) * sizeof(rec->results[0]));
                rec->n_results -= sent;
                memset(rec->results + rec->n_results, 0, sent * sizeof(rec->results[0]));
        }
        if (rec->done && rec->n_results == 0) {
                if (unlinkat(n->outbox_fd, rec->id, 0) < 0 && errno != ENOENT)
                        say("cannot remove %s: %s", rec->id, strerror(errno));
                else
                        (void)fsync(n->outbox_fd);
                return;
        }
        if (!changed && !sent)
                return;
        r = record_write(n, rec);
        if (r < 0)
                say("cannot rewrite %s: %s", rec->id, strerror(-r));
}

/* One attempt ended: count it, schedule the next or end the record. */
static void attempt_done(struct notifier *n, struct jit_outbox_record *rec, struct jit_outbox_result *res)
{
        const struct jit_notify_settings *ns = n->config ? &n->config->notify : NULL;
        uint64_t now = now_realtime_us(), wait;

        rec->attempts++;
        res->attempt = rec->attempts;
        res->at_us = now;
        wait = jit_notify_backoff_us(rec->attempts, ns ? ns->retry_base : 2, ns ? ns->retry_max_delay : 600,
                                     randombytes_random());
        if (res->ok || rec->attempts >= max_attempts(n) ||
            now + wait > rec->created_us + (ns ? ns->retry_max_age : 86400) * 1000000ULL) {
                rec->done = true;
                res->final = true;
        } else
                rec->next_us = now + wait;
        say("%s (%s) to %s: attempt %u %s%s%s", rec->id, jit_notify_event_to_string(rec->event), rec->target,
            rec->attempts, res->ok ? "delivered" : res->final ? "failed, dropped: " : "failed, will retry: ",
            res->error ? res->error : "", "");
        if (jit_outbox_add_result(rec, res) < 0)
                say("out of memory noting the outcome of %s", rec->id);
        free(res->error);
        res->error = NULL;
        settle(n, rec, true);
}

/* ---- deliveries -------------------------------------------------------- */

static bool in_flight(const struct notifier *n, const char *id)
{
        for (const struct delivery *d = n->inflight; d; d = d->next)
                if (strcmp(d->rec->id, id) == 0)
                        return true;
        return false;
}

static void delivery_free(struct notifier *n, struct delivery *d)
{
        struct delivery **pp = &n->inflight;

        while (*pp && *pp != d)
                pp = &(*pp)->next;
        if (*pp) {
                *pp = d->next;
                n->n_inflight--;
        }
        jit_outbox_free(d->rec);
        free(d);
}

static void start(struct notifier *n, struct jit_outbox_record *rec)
{
        const struct jit_notify_target *t = jit_config_find_target(n->config, rec->target);
        struct jit_outbox_result res = { 0 };
        struct delivery *d = calloc(1, sizeof(*d));
        int r;

        if (!d) {
                jit_outbox_free(rec);
                return;
        }
        d->rec = rec;
        d->pidfd = -1;
        d->next = n->inflight;
        n->inflight = d;
        n->n_inflight++;
        if (!t) {
                res.error = strdup("the target is no longer in the policy");
                rec->attempts = max_attempts(n) ? max_attempts(n) - 1 : 0;     /* this one is the last */
                r = -ENOENT;
        } else if (t->type == JIT_NOTIFY_COMMAND)
                r = command_start(d, t, &res);
        else
                r = http_start(n->multi, d, t, &res);
        if (r < 0) {
                if (d->easy) {
                        curl_multi_remove_handle(n->multi, d->easy);
                        curl_easy_cleanup(d->easy);
                }
                curl_slist_free_all(d->headers);
                d->easy = NULL;
                d->headers = NULL;
                d->rec = NULL;
                delivery_free(n, d);
                attempt_done(n, rec, &res);
                jit_outbox_free(rec);
        }
}

/* Every record: settle what is finished, start what is due. */
static void scan(struct notifier *n)
{
        _cleanup_close_ int fd = openat(n->outbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t now = now_realtime_us();
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        n->rescan = false;
        n->next_due_us = UINT64_MAX;
        if (!d)
                return;
        fd = -1;
        while ((de = readdir(d))) {
                struct jit_outbox_record *rec = NULL;
                int r;

                if (!jit_id_is_valid(de->d_name, 'n') || in_flight(n, de->d_name))
                        continue;
                r = record_read(n, de->d_name, &rec);
                if (r < 0) {
                        char aside[64];

                        snprintf(aside, sizeof(aside), ".bad.%s", de->d_name);
                        say("record %s cannot be read (%s): moved aside as %s", de->d_name, jit_safeio_strerror(r),
                            aside);
                        (void)renameat(n->outbox_fd, de->d_name, n->outbox_fd, aside);
                        continue;
                }
                if (rec->n_results || rec->done) {
                        settle(n, rec, false);
                        if (rec->n_results && n->report_retry_us < n->next_due_us)
                                n->next_due_us = n->report_retry_us;    /* look again then */
                        if (rec->done) {
                                jit_outbox_free(rec);
                                continue;
                        }
                }
                if (n->config && rec->next_us <= now && n->n_inflight < MAX_INFLIGHT) {
                        start(n, rec);
                        continue;
                }
                if (rec->next_us < n->next_due_us)
                        n->next_due_us = rec->next_us;
                jit_outbox_free(rec);
        }
        closedir(d);
}

static void finish_http(struct notifier *n)
{
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(n->multi, &left))) {
                struct delivery *d = NULL;
                struct jit_outbox_result res = { 0 };
                struct jit_outbox_record *rec;

                if (m->msg != CURLMSG_DONE)
                        continue;
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
                if (!d)
                        continue;
                http_finish(n->multi, d, m->data.result, &res);
                rec = TAKE_PTR(d->rec);
                delivery_free(n, d);
                attempt_done(n, rec, &res);
                jit_outbox_free(rec);
                n->rescan = true;
        }
}

static void finish_commands(struct notifier *n)
{
        uint64_t now = now_monotonic_us();

        for (struct delivery *d = n->inflight, *next; d; d = next) {
                struct jit_outbox_result res = { 0 };
                struct jit_outbox_record *rec;

                next = d->next;
                if (!d->pid || command_poll(d, now, &res) == 0)
                        continue;
                rec = TAKE_PTR(d->rec);
                delivery_free(n, d);
                attempt_done(n, rec, &res);
                jit_outbox_free(rec);
                n->rescan = true;
        }
}

/* ---- the loop ---------------------------------------------------------- */

static int wait_ms(const struct notifier *n)
{
        uint64_t now = now_realtime_us(), mono = now_monotonic_us(), ms = IDLE_MS;

        if (n->rescan)
                return 0;
        if (n->next_due_us != UINT64_MAX && n->n_inflight < MAX_INFLIGHT)
                ms = n->next_due_us <= now ? 0 : (n->next_due_us - now) / 1000 + 1;
        for (const struct delivery *d = n->inflight; d; d = d->next)
                if (d->pid && (d->deadline_us <= mono ? 0 : (d->deadline_us - mono) / 1000 + 1) < ms)
                        ms = d->deadline_us <= mono ? 0 : (d->deadline_us - mono) / 1000 + 1;
        return ms > IDLE_MS ? IDLE_MS : (int)ms;
}

static int loop(struct notifier *n)
{
        for (;;) {
                struct curl_waitfd extra[2 + MAX_INFLIGHT];
                unsigned nextra = 2;
                int running = 0, numfds = 0;

                config_refresh(n);
                if (n->rescan || (n->next_due_us != UINT64_MAX && n->next_due_us <= now_realtime_us()))
                        scan(n);
                extra[0] = (struct curl_waitfd){ .fd = n->inotify_fd, .events = CURL_WAIT_POLLIN };
                extra[1] = (struct curl_waitfd){ .fd = n->signal_fd, .events = CURL_WAIT_POLLIN };
                for (struct delivery *d = n->inflight; d && nextra < JIT_ELEMENTSOF(extra); d = d->next)
                        if (d->pid && d->pidfd >= 0)
                                extra[nextra++] = (struct curl_waitfd){ .fd = d->pidfd, .events = CURL_WAIT_POLLIN };
                if (curl_multi_poll(n->multi, extra, nextra, wait_ms(n), &numfds) != CURLM_OK)
                        return -EIO;
                if (extra[1].revents) {
                        struct signalfd_siginfo si;

                        if (read(n->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo != SIGHUP)
                                        return 0;
                                n->config_seen = false;         /* reload */
                        }
                }
                if (extra[0].revents) {
                        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

                        while (read(n->inotify_fd, buf, sizeof(buf)) > 0)
                                ;
                        n->rescan = true;
                }
                (void)curl_multi_perform(n->multi, &running);
                finish_http(n);
                finish_commands(n);
        }
}

/* ---- set-up ------------------------------------------------------------ */

static int open_outbox(struct notifier *n)
{
        char watch[64];
        struct stat st;

        n->outbox_fd = jit_safeio_open_dir(n->outbox_path, JIT_SAFEIO_TRUSTED);
        if (n->outbox_fd < 0)
                return n->outbox_fd;
        if (fstat(n->outbox_fd, &st) < 0)
                return -errno;
        if (st.st_uid != 0 || (st.st_mode & 077))
                return -EPERM;
        n->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (n->inotify_fd < 0)
                return -errno;
        snprintf(watch, sizeof(watch), "/proc/self/fd/%d", n->outbox_fd);
        if (inotify_add_watch(n->inotify_fd, watch, IN_MOVED_TO | IN_ONLYDIR) < 0)
                return -errno;
        return 0;
}

static void shutdown_all(struct notifier *n)
{
        /* What was in flight stays in its record as it was: attempted
         * again at the next start. */
        while (n->inflight) {
                struct delivery *d = n->inflight;

                if (d->easy) {
                        curl_multi_remove_handle(n->multi, d->easy);
                        curl_easy_cleanup(d->easy);
                }
                curl_slist_free_all(d->headers);
                command_abort(d);
                delivery_free(n, d);
        }
        curl_multi_cleanup(n->multi);
        jit_config_free(n->config);
}

static int parse_args(int argc, char **argv, struct notifier *n)
{
        static const struct option lo[] = {
                { "config", required_argument, NULL, 'c' },
                { "outbox", required_argument, NULL, 'o' },
                { "socket", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:o:s:hV", lo, NULL)) >= 0) {
                switch (c) {
                case 'c': n->config_path = optarg; break;
                case 'o': n->outbox_path = optarg; break;
                case 's': n->socket_path = optarg; break;
                case 'h':
                        printf("Usage: jit-notify [--config FILE] [--outbox DIR] [--socket PATH]\n"
                               "Delivers the jit service's notifications (see jit-notify(8)).\n");
                        return 1;
                case 'V':
                        printf("jit-notify %s\n", JIT_VERSION);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (optind != argc || n->config_path[0] != '/' || n->outbox_path[0] != '/' || n->socket_path[0] != '/')
                return -EINVAL;
        return 0;
}

int main(int argc, char **argv)
{
        struct notifier n = {
                .config_path = JIT_CONFIG_PATH, .outbox_path = JIT_SPOOL_DIR "/" JIT_OUTBOX_DIR,
                .socket_path = JIT_SOCKET_PATH, .outbox_fd = -1, .inotify_fd = -1, .signal_fd = -1,
                .next_due_us = UINT64_MAX, .rescan = true,
        };
        sigset_t mask;
        int r;

        /* Nothing from the environment reaches libcurl or OpenSSL: no
         * proxy, no CA bundle, no SSLKEYLOGFILE, no OPENSSL_CONF. */
        if (clearenv() != 0)
                return 1;
        r = parse_args(argc, argv, &n);
        if (r != 0) {
                if (r < 0)
                        fprintf(stderr, "jit-notify: bad arguments (see jit-notify --help)\n");
                return r > 0 ? 0 : 2;
        }
        if (geteuid() != 0) {
                say("must run as root: the targets' keys are root's alone");
                return 5;
        }
        umask(077);
        signal(SIGPIPE, SIG_IGN);
        if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(n.multi = curl_multi_init())) {
                say("cannot initialise libsodium or libcurl");
                return 1;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        n.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        r = n.signal_fd < 0 ? -errno : open_outbox(&n);
        if (r < 0) {
                say("cannot watch the outbox %s: %s", n.outbox_path,
                    r == -EPERM ? "it and the directories above it must be root's, the outbox mode 0700" : strerror(-r));
                return 1;
        }
        (void)curl_multi_setopt(n.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)MAX_INFLIGHT);
        say("watching %s, reporting to %s", n.outbox_path, n.socket_path);
        r = loop(&n);
        shutdown_all(&n);
        curl_global_cleanup();
        say("stopping");
        return r < 0 ? 1 : 0;
}
