/* Notifications, the service's half: on an event, a body rendered for each
 * target the role names (notify.h), kept in memory until the loop has
 * answered the client, then written to <state>/outbox/<id> for jit-notify
 * to deliver; a line on the terminals of logged-in approvers; and the
 * outcomes jit-notify reports back (op notify-result), written to the
 * journal and the audit log here, their one writer.
 *
 * MUSTs: nothing here can change or delay a decision — svc_notify only
 * renders into memory, and svc_notify_flush runs after the answers are
 * out; a failure is logged, never returned into a decision path. The
 * service never opens a network connection. A terminal is written only if
 * it is a character device owned by the approver and open to messages.
 */
#include "service.h"
#include "cleanup.h"
#include "escape.h"
#include "journal.h"
#include "notify.h"
#include "safeio.h"
#include "strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-login.h>

#define QUEUE_MAX 1024                  /* records waiting for the loop to write */
#define TTY_LINE_MAX 400

struct tty_notice {
        char *role;
        char *tier;
        char *request_id;
        uid_t requester;
        char line[TTY_LINE_MAX];
};

struct svc_notify {
        int outbox_fd;
        struct jit_outbox_record **queue;
        size_t n_queue;
        struct tty_notice *ttys;
        size_t n_ttys;
};

int svc_notify_open(struct svc *s, const char *state_dir)
{
        _cleanup_close_ int dfd = jit_safeio_open_dir(state_dir, 0);
        struct svc_notify *n;
        int fd;

        if (dfd < 0)
                return dfd;
        fd = jit_safeio_ensure_dir_at(dfd, JIT_OUTBOX_DIR, 0700);
        if (fd < 0)
                return fd;
        n = calloc(1, sizeof(*n));
        if (!n) {
                close(fd);
                return -ENOMEM;
        }
        n->outbox_fd = fd;
        s->notify = n;
        return 0;
}

void svc_notify_close(struct svc *s)
{
        struct svc_notify *n = s->notify;

        if (!n)
                return;
        svc_notify_flush(s);
        for (size_t i = 0; i < n->n_queue; i++)
                jit_outbox_free(n->queue[i]);
        free(n->queue);
        free(n->ttys);
        close(n->outbox_fd);
        free(n);
        s->notify = NULL;
}

/* Role approvers, and for a security-tier request the security approvers. */
static char **approvers_of(struct svc *s, const struct jit_role *role, const struct jit_request *r)
{
        char **v = role_approvers(role);

        if (r && r->tier && strcmp(r->tier, "security") == 0) {
                for (size_t i = 0; s->config->security.users && s->config->security.users[i]; i++)
                        if (!jit_strv_contains(v, s->config->security.users[i]))
                                (void)jit_strv_push(&v, s->config->security.users[i]);
                for (size_t i = 0; s->config->security.groups && s->config->security.groups[i]; i++) {
                        char g[JIT_NAME_MAX + 2] = "%";

                        strncat(g, s->config->security.groups[i], JIT_NAME_MAX);
                        if (!jit_strv_contains(v, g))
                                (void)jit_strv_push(&v, g);
                }
        }
        return v;
}

static void message_fill(struct jit_notify_message *m, enum jit_notify_event ev, const struct jit_request *r,
                         const struct jit_grant *g, char **approvers)
{
        *m = (struct jit_notify_message){ .event = ev, .host = svc_hostname(), .time_us = svc_now_us(),
                                          .approvers = approvers };
        if (r) {
                m->request_id = r->id;
                m->kind = r->kind;
                m->user = r->user;
                m->role = r->role;
                m->group = r->group;
                m->ttl = r->ttl;
                m->reason = r->reason;
                m->task = r->task;
                m->command = r->command;
                m->service = r->service;
                m->rhost = r->rhost;
                m->tty = r->tty;
                m->unit = r->unit;
                m->risk = r->risk;
                m->tier = r->tier;
                m->reason_ids = r->policy_reason_ids;
                m->reasons = r->policy_reasons;
                m->decided_by = r->decided_by;
                m->comment = r->comment;
        }
        if (g) {
                m->grant_id = g->id;
                m->user = g->user;
                m->role = g->role;
                m->group = g->group;
                m->expires_us = g->expires_us;
                m->ended_by = g->ended_by;
                if (!r)
                        m->decided_by = g->approved_by;
        }
}

static void queue_record(struct svc *s, const struct jit_notify_target *t, const struct jit_notify_message *m,
                         const struct jit_request *r, const struct jit_grant *g)
{
        struct svc_notify *n = s->notify;
        struct jit_outbox_record *rec, **q;
        int e = -ENOMEM;

        if (n->n_queue >= QUEUE_MAX) {
                e = -ENOBUFS;
                goto fail;
        }
        rec = calloc(1, sizeof(*rec));
        if (!rec)
                goto fail;
        if (jit_id_new('n', rec->id) < 0 || !(rec->target = strdup(t->name)) ||
            (e = jit_notify_render(t->type, m, &rec->body)) < 0 ||
            !(q = realloc(n->queue, (n->n_queue + 1) * sizeof(*q)))) {
                jit_outbox_free(rec);
                e = e < 0 ? e : -ENOMEM;
                goto fail;
        }
        rec->event = m->event;
        if (r)
                memcpy(rec->request_id, r->id, sizeof(rec->request_id));
        if (g)
                memcpy(rec->grant_id, g->id, sizeof(rec->grant_id));
        rec->created_us = rec->next_us = m->time_us;
        n->queue = q;
        n->queue[n->n_queue++] = rec;
        return;
fail:
        jit_journal_event(JIT_EV_NOTIFY, LOG_ERR,
                          &(struct jit_journal_fields){ .request_id = r ? r->id : NULL, .grant_id = g ? g->id : NULL,
                                                        .target = t->name, .decision = "dropped" },
                          "notification (%s) for target %s not queued: %s", jit_notify_event_to_string(m->event),
                          t->name, strerror(-e));
}

static void queue_terminals(struct svc *s, const struct jit_notify_message *m, const struct jit_request *r)
{
        struct svc_notify *n = s->notify;
        struct tty_notice *v, *t;

        if (!r || n->n_ttys >= QUEUE_MAX)
                return;
        v = realloc(n->ttys, (n->n_ttys + 1) * sizeof(*v));
        if (!v)
                return;
        n->ttys = v;
        t = &n->ttys[n->n_ttys];
        *t = (struct tty_notice){ .requester = (uid_t)r->uid };
        jit_notify_terminal_line(t->line, sizeof(t->line), m);
        t->role = strdup(r->role);
        t->tier = strdup(r->tier ? r->tier : "owner");
        t->request_id = strdup(r->id);
        if (t->role && t->tier && t->request_id)
                n->n_ttys++;
        else {
                free(t->role);
                free(t->tier);
                free(t->request_id);
        }
}

void svc_notify(struct svc *s, enum jit_notify_event ev, const struct jit_request *r, const struct jit_grant *g)
{
        const struct jit_role *role;
        _cleanup_strv_free_ char **appr = NULL;
        struct jit_notify_message m;
        bool targets, terminals;

        if (!s->notify || !s->config || (!r && !g))
                return;
        role = jit_config_find_role(s->config, r ? r->role : g->role);
        if (!role)
                return;
        targets = role->notify_targets && (role->notify_events & (1U << ev));
        terminals = ev == JIT_NOTIFY_PENDING && s->config->notify.terminals;
        if (!targets && !terminals)
                return;
        appr = approvers_of(s, role, r);
        message_fill(&m, ev, r, g, appr);
        for (size_t i = 0; targets && role->notify_targets[i]; i++) {
                const struct jit_notify_target *t = jit_config_find_target(s->config, role->notify_targets[i]);

                if (t)
                        queue_record(s, t, &m, r, g);
        }
        if (terminals)
                queue_terminals(s, &m, r);
}

/* A grant has ended: "expired" (not when an extension replaces it), and a
 * break-glass grant whose review is still open makes the review due. */
void svc_notify_grant_ended(struct svc *s, const struct jit_grant *g, enum jit_grant_state how, const char *by)
{
        const struct jit_request *r = svc_find_request(s, g->request_id);

        if (how == JIT_GRANT_EXPIRED && !(by && strncmp(by, "extended:", 9) == 0))
                svc_notify(s, JIT_NOTIFY_EXPIRED, r, g);
        if (r && r->kind && strcmp(r->kind, "break-glass") == 0 && r->review_state &&
            strcmp(r->review_state, "open") == 0)
                svc_notify(s, JIT_NOTIFY_REVIEW, r, g);
}

/* ---- writing the outbox ------------------------------------------------ */

static size_t outbox_count(int dfd)
{
        _cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        fd = -1;
        while ((de = readdir(d)) && n < JIT_OUTBOX_MAX)
                n += de->d_name[0] == 'n';
        closedir(d);
        return n;
}

static int write_record(int dfd, const struct jit_outbox_record *rec)
{
        _cleanup_free_ char *data = NULL;
        cJSON *j = jit_outbox_to_json(rec);
        size_t len;
        int e;

        if (!j)
                return -ENOMEM;
        e = jit_record_seal(j, &data, &len);
        cJSON_Delete(j);
        if (e < 0)
                return e;
        return jit_safeio_write_at(dfd, rec->id, data, len, 0600);
}

static void flush_records(struct svc *s)
{
        struct svc_notify *n = s->notify;
        size_t have = n->n_queue ? outbox_count(n->outbox_fd) : 0;

        for (size_t i = 0; i < n->n_queue; i++) {
                struct jit_outbox_record *rec = n->queue[i];
                const char *ev = jit_notify_event_to_string(rec->event);
                int e = have >= JIT_OUTBOX_MAX ? -ENOSPC : write_record(n->outbox_fd, rec);
                struct jit_journal_fields f = {
                        .request_id = rec->request_id[0] ? rec->request_id : NULL,
                        .grant_id = rec->grant_id[0] ? rec->grant_id : NULL, .target = rec->target,
                        .decision = e < 0 ? "dropped" : "queued",
                };

                if (e < 0)
                        jit_journal_event(JIT_EV_NOTIFY, LOG_ERR, &f, "notification %s (%s) for target %s dropped: %s",
                                          rec->id, ev, rec->target,
                                          e == -ENOSPC ? "the outbox is full (is jit-notify running?)" : strerror(-e));
                else
                        jit_journal_event(JIT_EV_NOTIFY, LOG_INFO, &f, "notification %s (%s) queued for target %s",
                                          rec->id, ev, rec->target);
                have += e == 0;
                jit_outbox_free(rec);
        }
        n->n_queue = 0;
}

/* ---- approvers' terminals ---------------------------------------------- */

struct seat {
        uid_t uid;
        char tty[32];
};

static void seat_add(struct seat **v, size_t *n, uid_t uid, const char *tty)
{
        struct seat *nv;

        if (!svc_is_terminal_name(tty) || *n >= 4096)
                return;
        for (size_t i = 0; i < *n; i++)
                if ((*v)[i].uid == uid && strcmp((*v)[i].tty, tty) == 0)
                        return;
        nv = realloc(*v, (*n + 1) * sizeof(*nv));
        if (!nv)
                return;
        *v = nv;
        nv[*n].uid = uid;
        snprintf(nv[*n].tty, sizeof(nv[*n].tty), "%s", tty);
        (*n)++;
}

/* Where people are logged in: logind's sessions and their terminals, and
 * every process's controlling terminal (logins logind does not know). */
static void find_seats(struct seat **v, size_t *n)
{
        _cleanup_free_ uid_t *uids = NULL;
        DIR *d;
        struct dirent *de;
        int nu = sd_get_uids(&uids);

        for (int i = 0; i < nu; i++) {
                _cleanup_strv_free_ char **sessions = NULL;

                if (sd_uid_get_sessions(uids[i], 0, &sessions) < 0)
                        continue;
                for (size_t k = 0; sessions && sessions[k]; k++) {
                        _cleanup_free_ char *tty = NULL;

                        if (sd_session_get_tty(sessions[k], &tty) >= 0 && tty)
                                seat_add(v, n, uids[i], tty);
                }
        }
        d = opendir("/proc");
        while (d && (de = readdir(d))) {
                char tty[32], *end;
                long pid = strtol(de->d_name, &end, 10);
                struct stat st;

                if (*end || pid <= 1 || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
                        continue;
                if (svc_controlling_tty((pid_t)pid, tty, sizeof(tty)) == 0)
                        seat_add(v, n, st.st_uid, tty);
        }
        if (d)
                closedir(d);
}

static bool is_approver(struct svc *s, uid_t uid, const struct tty_notice *t)
{
        const struct jit_role *role = jit_config_find_role(s->config, t->role);
        struct who w = { 0 };
        bool ok;

        if (uid == t->requester || !role || who_from_uid(uid, &w) < 0)
                return false;
        ok = jit_policy_may_approve(s->config, role, strcmp(t->tier, "security") == 0 ? JIT_TIER_SECURITY : JIT_TIER_OWNER,
                                    w.name, w.groups);
        who_done(&w);
        return ok;
}

/* Only a terminal device that is the approver's own and open to messages. */
static bool write_terminal(uid_t uid, const char *tty, const char *line)
{
        char path[64];
        struct stat st;
        int fd;
        bool ok;

        snprintf(path, sizeof(path), "/dev/%s", tty);
        fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        ok = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_uid == uid && (st.st_mode & S_IWGRP) &&
             write(fd, line, strlen(line)) > 0;
        close(fd);
        return ok;
}

static void flush_terminals(struct svc *s)
{
        struct svc_notify *n = s->notify;
        _cleanup_free_ struct seat *seats = NULL;
        size_t n_seats = 0;

        if (n->n_ttys && s->config)
                find_seats(&seats, &n_seats);
        for (size_t i = 0; i < n->n_ttys; i++) {
                struct tty_notice *t = &n->ttys[i];
                size_t shown = 0;

                for (size_t k = 0; s->config && k < n_seats; k++)
                        if (is_approver(s, seats[k].uid, t) && write_terminal(seats[k].uid, seats[k].tty, t->line))
                                shown++;
                if (shown)
                        jit_journal_event(JIT_EV_NOTIFY, LOG_INFO,
                                          &(struct jit_journal_fields){ .request_id = t->request_id,
                                                                        .target = "terminals", .decision = "delivered" },
                                          "request %s shown on %zu terminal%s of its approvers", t->request_id,
                                          shown, shown == 1 ? "" : "s");
                free(t->role);
                free(t->tier);
                free(t->request_id);
        }
        n->n_ttys = 0;
}

void svc_notify_flush(struct svc *s)
{
        if (!s->notify || (!s->notify->n_queue && !s->notify->n_ttys))
                return;
        flush_records(s);
        flush_terminals(s);
}

/* ---- what jit-notify reports ------------------------------------------- */

static const char *str_of(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool uint_of(const cJSON *j, const char *k, uint32_t max, uint32_t *ret)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        if (!it) {
                *ret = 0;
                return true;
        }
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > max ||
            it->valuedouble != (double)(uint32_t)it->valuedouble)
                return false;
        *ret = (uint32_t)it->valuedouble;
        return true;
}

static bool is_name(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > JIT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* {op: notify-result, id, target, event, request_id?, grant_id?, ok,
 *  final, attempt, max_attempts, http_status?, error?} — root only. */
cJSON *svc_op_notify_result(struct svc *s, struct client *c, const cJSON *req)
{
        const char *id = str_of(req, "id"), *target = str_of(req, "target"), *event = str_of(req, "event");
        const char *rid = str_of(req, "request_id"), *gid = str_of(req, "grant_id");
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(req, "ok"), *fin = cJSON_GetObjectItemCaseSensitive(req, "final");
        uint32_t attempt, max, status;
        char err[JIT_OUTBOX_ERROR_MAX + 1];
        struct jit_journal_fields f;
        cJSON *a;

        (void)c;
        if (!jit_id_is_valid(id, 'n') || !is_name(target) || jit_notify_event_from_string(event) < 0 ||
            (rid && !jit_id_is_valid(rid, 'r')) || (gid && !jit_id_is_valid(gid, 'g')) || !cJSON_IsBool(ok) ||
            !cJSON_IsBool(fin) || !uint_of(req, "attempt", 1000, &attempt) || !uint_of(req, "max_attempts", 1000, &max) ||
            !uint_of(req, "http_status", 999, &status) || attempt == 0)
                return svc_error(JIT_CODE_INVALID, "malformed notify-result");
        (void)jit_escape_text(err, sizeof(err), str_of(req, "error") ? str_of(req, "error") : "?");
        f = (struct jit_journal_fields){ .request_id = rid, .grant_id = gid, .target = target,
                                         .decision = cJSON_IsTrue(ok) ? "delivered" : cJSON_IsTrue(fin) ? "dropped" : "retry" };
        if (cJSON_IsTrue(ok))
                jit_journal_event(JIT_EV_NOTIFY, LOG_INFO, &f, "notification %s (%s) delivered to %s on attempt %u (%s%u)",
                                  id, event, target, attempt, status ? "HTTP " : "exit ", status);
        else if (cJSON_IsTrue(fin))
                jit_journal_event(JIT_EV_NOTIFY, LOG_WARNING, &f,
                                  "notification %s (%s) to %s dropped after attempt %u of %u: %s", id, event, target,
                                  attempt, max, err);
        else
                jit_journal_event(JIT_EV_NOTIFY, LOG_NOTICE, &f,
                                  "notification %s (%s) to %s failed, attempt %u of %u: %s; will retry", id, event,
                                  target, attempt, max, err);
        a = cJSON_CreateObject();
        if (a)
                cJSON_AddTrueToObject(a, "ok");
        return a;
}
