/* The service's state: policy reloads, the record lists, grants applied
 * and ended, and the reconcile pass that makes the world match them. */
#include "service.h"
#include "cleanup.h"
#include "journal.h"
#include "membership.h"
#include "safeio.h"
#include "strv.h"
#include "timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <pwd.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-login.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* A grant whose end failed is tried again after 1 s, then 2, 4, ... 32 s:
 * soon, but never in a busy loop (gpasswd and an error line each time). */
#define END_RETRY_US 1000000ULL
#define END_RETRY_MAX_SHIFT 5

uint64_t svc_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

void svc_format_until(char *buf, size_t size, uint64_t when_us, uint64_t now_us)
{
        time_t t = (time_t)(when_us / 1000000);
        uint64_t left = when_us > now_us ? (when_us - now_us) / 1000000 : 0;
        char hm[32] = "?", rel[32];
        struct tm tm;

        if (localtime_r(&t, &tm))
                strftime(hm, sizeof(hm), "%H:%M:%S %Z", &tm);
        if (left >= 3600)
                snprintf(rel, sizeof(rel), "%lluh%02llum", (unsigned long long)(left / 3600),
                         (unsigned long long)(left % 3600 / 60));
        else if (left >= 60)
                snprintf(rel, sizeof(rel), "%llum%02llus", (unsigned long long)(left / 60),
                         (unsigned long long)(left % 60));
        else
                snprintf(rel, sizeof(rel), "%llus", (unsigned long long)left);
        snprintf(buf, size, "%s (in %s)", hm, rel);
}

static bool stamp_equal(const struct stat *a, const struct stat *b)
{
        return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reload the policy when the file changed. A policy that does not load
 * leaves s->config NULL: everything is denied until it is fixed. The stat
 * here only notices changes; the load itself opens and checks the fd. */
void svc_config_refresh(struct svc *s, bool force)
{
        struct stat st = { 0 };
        struct jit_config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        struct stat td = { 0 };
        char tdir[PATH_MAX];

        if (stat(s->config_path, &st) < 0)
                memset(&st, 0, sizeof(st));
        /* templates.d beside it: adding or removing a file changes its mtime */
        snprintf(tdir, sizeof(tdir), "%.*s/" JIT_TEMPLATES_DIR,
                 (int)(strrchr(s->config_path, '/') ? strrchr(s->config_path, '/') - s->config_path : 0),
                 s->config_path);
        if (stat(tdir, &td) < 0)
                memset(&td, 0, sizeof(td));
        if (!force && s->config_seen && stamp_equal(&st, &s->config_stamp) && stamp_equal(&td, &s->templates_stamp))
                return;
        s->config_stamp = st;
        s->templates_stamp = td;
        s->config_seen = true;
        r = jit_config_load(s->config_path, &c, &errors);
        jit_config_free(s->config);
        s->config = NULL;
        if (r < 0) {
                jit_journal_event(JIT_EV_SERVICE, LOG_ERR, NULL,
                                  "policy %s refused (%s): denying every request until it is fixed",
                                  s->config_path, r == -EPERM ? "must be owned by root and not writable by others" :
                                  r == -EINVAL ? "invalid" : jit_safeio_strerror(r));
                for (size_t i = 0; errors && errors[i]; i++)
                        jit_journal_event(JIT_EV_SERVICE, LOG_ERR, NULL, "%s: %s", s->config_path, errors[i]);
                return;
        }
        s->config = c;
        jit_journal_event(JIT_EV_SERVICE, LOG_INFO, NULL, "policy %s loaded: %zu roles, %zu templates",
                          s->config_path, c->n_roles, c->n_templates);
        for (size_t i = 0; c->warnings && c->warnings[i]; i++)
                jit_journal_event(JIT_EV_SERVICE, LOG_WARNING, NULL, "%s: %s (deny wins; see jitctl policy check)",
                                  s->config_path, c->warnings[i]);
}

struct jit_grant *svc_active_grant(struct svc *s, const char *user, const char *role, uint64_t now)
{
        struct jit_grant *g;

        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                if (jit_grant_is_active(g, now) && strcmp(g->user, user) == 0 && strcmp(g->role, role) == 0)
                        return g;
        }
        return NULL;
}

int svc_save_request(struct svc *s, struct jit_request *r)
{
        int e = jit_spool_put_request(s->spool, r);

        s->fleet_gen++;         /* jit-fleet republishes what is pending */
        if (e < 0)
                jit_journal_event(JIT_EV_ERROR, LOG_ERR, &(struct jit_journal_fields){ .request_id = r->id },
                                  "cannot write request %s to the spool: %s", r->id, strerror(-e));
        return e;
}

int svc_add_request(struct svc *s, struct jit_request *r)
{
        struct jit_request **n;
        int e;

        e = svc_save_request(s, r);
        if (e < 0) {
                /* It may be in place but not durable: never leave it behind. */
                (void)jit_spool_drop(s->spool, r->id);
                jit_request_free(r);
                return e;
        }
        n = realloc(s->reqs, (s->n_reqs + 1) * sizeof(*n));
        if (!n) {
                jit_request_free(r);
                return -ENOMEM;
        }
        s->reqs = n;
        s->reqs[s->n_reqs++] = r;
        return 0;
}

int svc_save_grant(struct svc *s, struct jit_grant *g)
{
        int e = jit_spool_put_grant(s->spool, g);

        if (e < 0)
                jit_journal_event(JIT_EV_ERROR, LOG_ERR, &(struct jit_journal_fields){ .grant_id = g->id },
                                  "cannot write grant %s to the spool: %s", g->id, strerror(-e));
        return e;
}

static struct jit_grant *grant_new(const struct jit_request *r, const char *approved_by, uint64_t ttl)
{
        struct jit_grant *g = calloc(1, sizeof(*g));
        uint64_t now = svc_now_us();

        if (!g)
                return NULL;
        if (jit_id_new('g', g->id) < 0)
                goto fail;
        memcpy(g->request_id, r->id, sizeof(g->request_id));
        memcpy(g->fleet_id, r->fleet_id, sizeof(g->fleet_id));
        g->state = JIT_GRANT_ACTIVE;
        g->user = strdup(r->user);
        g->uid = r->uid;
        g->role = strdup(r->role);
        g->group = r->group ? strdup(r->group) : NULL;
        g->approved_by = strdup(approved_by);
        g->tier = r->tier ? strdup(r->tier) : NULL;
        g->created_us = now;
        /* Whole seconds, so the OnCalendar= timer can say exactly when. */
        g->expires_us = (now + ttl * 1000000ULL + 999999) / 1000000 * 1000000;
        if (!g->user || !g->role || !g->group || !g->approved_by ||
            jit_signed_copy(&g->signed_decision, &r->signed_decision) < 0)
                goto fail;
        return g;
fail:
        jit_grant_free(g);
        return NULL;
}

/* How the grant ends and what it is tied to: the role's end mode and
 * grace, single use and binding (the role's, or the requester's own
 * narrowing of it), the task it is for. */
static int grant_scope(struct svc *s, const struct jit_request *r, struct jit_grant *g, char **ret_err)
{
        const struct jit_role *role = s->config ? jit_config_find_role(s->config, r->role) : NULL;
        bool bind_unit = (r->bind && strcmp(r->bind, "unit") == 0) || (role && role->bind_unit);
        bool bind_session = (r->bind && strcmp(r->bind, "session") == 0) || (role && role->bind_session);
        char boot[SD_ID128_STRING_MAX];

        g->end = strdup(jit_end_mode_to_string(role ? role->end : JIT_END_PROCESSES));
        g->end_grace_s = role ? role->end_grace : 10;
        g->single_use = r->single_use || (role && role->single_use);
        g->task = r->task ? strdup(r->task) : NULL;
        if (bind_unit && !r->unit) {
                if (ret_err)
                        *ret_err = strdup("the grant must end with the asking unit, but the request came from no unit");
                return -EINVAL;
        }
        /* A login (sshd's account phase) has no session yet: the grant
         * waits for pam_jit's session open to name it (JIT_SESSION_PENDING). */
        if (bind_session && !r->session && !(r->service && strcmp(r->service, "jitctl") != 0)) {
                if (ret_err)
                        *ret_err = strdup("the grant must end with the login session, but the request came from none");
                return -EINVAL;
        }
        g->bound_unit = bind_unit ? strdup(r->unit) : NULL;
        g->bound_session = bind_session ? strdup(r->session ? r->session : JIT_SESSION_PENDING) : NULL;
        if (bind_session && svc_boot_id(boot) == 0)
                g->bound_boot = strdup(boot);
        if (!g->end || (r->task && !g->task) || (bind_unit && !g->bound_unit) || (bind_session && !g->bound_session))
                return -ENOMEM;
        return 0;
}

static void schedule_timer(struct svc *s, struct jit_grant *g)
{
        _cleanup_free_ char *err = NULL;
        char unit[96];
        int r;

        if (!s->bus)
                return;
        r = jit_timer_schedule(s->bus, g->id, g->expires_us,
                               s->config ? s->config->settings.timer_accuracy_ms * 1000 : 100000,
                               s->self_path, s->socket_path, &err);
        if (r < 0) {
                jit_journal_event(JIT_EV_ERROR, LOG_WARNING, &(struct jit_journal_fields){ .grant_id = g->id },
                                  "cannot create the expiry timer for %s (%s): the service's own loop will end it",
                                  g->id, err ? err : strerror(-r));
                if (g->timer) {
                        free(g->timer);
                        g->timer = NULL;
                        (void)svc_save_grant(s, g);
                }
                return;
        }
        jit_timer_unit_name(unit, sizeof(unit), g->id);
        if (!g->timer || strcmp(g->timer, unit) != 0) {
                free(g->timer);
                g->timer = strdup(unit);
                (void)svc_save_grant(s, g);
        }
}

/* An ended grant whose end cannot be written (a full spool) must not stay
 * active on disk: the next start would give its membership back. Its
 * record goes; the audit log keeps its history. */
static int save_ended(struct svc *s, struct jit_grant *g)
{
        int e = svc_save_grant(s, g);

        if (e < 0 && jit_spool_drop(s->spool, g->id) == 0) {
                jit_journal_event(JIT_EV_ERROR, LOG_ERR, &(struct jit_journal_fields){ .grant_id = g->id },
                                  "grant %s ended but its end cannot be recorded: its record is removed from "
                                  "the spool, so that it cannot come back at the next start", g->id);
                return 0;
        }
        return e;
}

/* Another active grant keeps the same membership alive. */
bool svc_membership_needed(struct svc *s, const struct jit_grant *g, uint64_t now)
{
        const struct jit_grant *o;

        for (size_t i = 0; (o = svc_live_grant(s, i)); i++) {
                if (o != g && jit_grant_is_active(o, now) && strcmp(o->user, g->user) == 0 &&
                    strcmp(o->group, g->group) == 0)
                        return true;
        }
        return false;
}

int svc_grant_create(struct svc *s, struct jit_request *r, const char *approved_by,
                     uint64_t ttl, struct jit_grant **ret, char **ret_err)
{
        struct jit_grant *g, **n;
        _cleanup_free_ char *err = NULL;
        char until[64];
        int e;

        g = grant_new(r, approved_by, ttl);
        if (!g)
                return -ENOMEM;
        e = grant_scope(s, r, g, ret_err);
        if (e < 0) {
                jit_grant_free(g);
                return e;
        }
        n = realloc(s->grants, (s->n_grants + 1) * sizeof(*n));
        if (!n) {
                jit_grant_free(g);
                return -ENOMEM;
        }
        s->grants = n;
        /* 1. the durable record */
        e = svc_save_grant(s, g);
        if (e < 0) {
                /* A failed fsync may come after the rename: the record could be
                 * on disk, active, and would come back at the next start. */
                (void)jit_spool_drop(s->spool, g->id);
                jit_grant_free(g);
                if (ret_err && asprintf(ret_err, "the grant cannot be recorded: %s", strerror(-e)) < 0)
                        *ret_err = NULL;
                return e;
        }
        s->grants[s->n_grants++] = g;
        memcpy(r->grant_id, g->id, sizeof(r->grant_id));
        (void)svc_save_request(s, r);
        /* 2. on record in the audit log (and journald) before it takes effect */
        svc_format_until(until, sizeof(until), g->expires_us, svc_now_us());
        e = jit_journal_event(JIT_EV_GRANT, LOG_NOTICE,
                              &(struct jit_journal_fields){ .grant_id = g->id, .request_id = r->id, .role = g->role,
                                                            .user = g->user, .group = g->group,
                                                            .approver = approved_by, .decision = "allow" },
                              "grant %s: %s is in group %s (role %s) until %s, approved by %s",
                              g->id, g->user, g->group, g->role, until, approved_by);
        if (e < 0) {
                err = strdup("the audit log cannot be written");
                goto undo;
        }
        /* 3. the membership */
        e = jit_membership_add(g->user, g->group, &err);
        if (e < 0) {
                jit_journal_event(JIT_EV_ERROR, LOG_ERR,
                                  &(struct jit_journal_fields){ .grant_id = g->id, .request_id = r->id,
                                                                .user = g->user, .group = g->group },
                                  "cannot add %s to group %s: %s", g->user, g->group, err ? err : strerror(-e));
                /* gpasswd may have got half way: take it back. */
                if (!svc_membership_needed(s, g, svc_now_us()))
                        (void)jit_membership_remove(g->user, g->group, NULL);
                goto undo;
        }
        /* 4. the timer */
        schedule_timer(s, g);
        svc_notify(s, JIT_NOTIFY_GRANTED, r, g);
        /* An extension replaces the grant it follows; the membership stays
         * (the new grant needs it). */
        if (r->extends[0]) {
                struct jit_grant *old = svc_find_grant(s, r->extends);
                char by[48];

                snprintf(by, sizeof(by), "extended:%s", g->id);
                if (old && old->uid == g->uid)
                        (void)svc_grant_end(s, old, JIT_GRANT_EXPIRED, by);
        }
        *ret = g;
        return 0;
undo:
        (void)jit_grant_transition(g, JIT_GRANT_REVOKED);
        g->ended_us = svc_now_us();
        g->ended_by = strdup("error");
        (void)save_ended(s, g);
        if (ret_err)
                *ret_err = TAKE_PTR(err);
        return e;
}

int svc_grant_end(struct svc *s, struct jit_grant *g, enum jit_grant_state how, const char *by)
{
        _cleanup_free_ char *err = NULL;
        uint64_t now = svc_now_us();
        bool needed;
        char late[64] = "";
        int e;

        if (g->state != JIT_GRANT_ACTIVE)
                return 0;       /* already ended: idempotent */
        needed = svc_membership_needed(s, g, now);
        if (!needed) {
                e = jit_membership_remove(g->user, g->group, &err);
                if (e < 0) {
                        jit_journal_event(JIT_EV_ERROR, LOG_ERR,
                                          &(struct jit_journal_fields){ .grant_id = g->id, .user = g->user,
                                                                        .group = g->group },
                                          "cannot remove %s from group %s: %s (will retry)",
                                          g->user, g->group, err ? err : strerror(-e));
                        g->end_retry_us = now + (END_RETRY_US << g->end_failures);
                        if (g->end_failures < END_RETRY_MAX_SHIFT)
                                g->end_failures++;
                        return e;
                }
        }
        (void)jit_grant_transition(g, how);
        g->ended_us = now;
        free(g->ended_by);
        g->ended_by = strdup(by);
        if (needed)
                g->swept_us = now;      /* another grant gives the group: nothing to end */
        e = save_ended(s, g);
        if (s->bus)
                (void)jit_timer_cancel(s->bus, g->id);
        if (how == JIT_GRANT_EXPIRED)
                snprintf(late, sizeof(late), " (%.3f s after its expiry time)",
                         now >= g->expires_us ? (double)(now - g->expires_us) / 1e6
                                              : -(double)(g->expires_us - now) / 1e6);
        jit_journal_event(how == JIT_GRANT_EXPIRED ? JIT_EV_EXPIRE : JIT_EV_REVOKE, LOG_NOTICE,
                          &(struct jit_journal_fields){ .grant_id = g->id, .request_id = g->request_id,
                                                        .role = g->role, .user = g->user, .group = g->group,
                                                        .by = by },
                          needed ? "grant %s %s by %s: %s kept in group %s (another active grant gives it)%s"
                                 : "grant %s %s by %s: %s removed from group %s%s",
                          g->id, how == JIT_GRANT_EXPIRED ? "expired" : "revoked", by, g->user, g->group, late);
        svc_notify_grant_ended(s, g, how, by);
        /* What still holds the group: warned now, ended after the grace. */
        if (!needed && g->end_grace_s)
                svc_end_warn(s, g);
        else if (!needed)
                svc_end_sweep(s, now);
        return e;
}

static void lapse_requests(struct svc *s, uint64_t now)
{
        struct jit_request *r;

        for (size_t i = 0; (r = svc_open_request(s, i)); i++) {
                if (r->state != JIT_REQ_PENDING || !r->deadline_us || now < r->deadline_us)
                        continue;
                (void)jit_request_transition(r, JIT_REQ_LAPSED);
                r->decided_at_us = now;
                (void)svc_save_request(s, r);
                jit_journal_event(JIT_EV_DECISION, LOG_NOTICE,
                                  &(struct jit_journal_fields){ .request_id = r->id, .role = r->role,
                                                                .user = r->user, .decision = "lapsed" },
                                  "request %s lapsed: nobody decided in time", r->id);
                svc_notify_decided(s, r);
        }
}

/* Timers end grants when the policy asks for them ("timer") or systemd is
 * there ("auto"); the loop then only backs them up at reconcile passes.
 * Otherwise the loop ends every grant on time itself. */
bool svc_uses_timers(const struct svc *s)
{
        enum jit_expiry_mode m = s->config ? s->config->settings.expiry : JIT_EXPIRY_AUTO;

        return m == JIT_EXPIRY_TIMER || (m == JIT_EXPIRY_AUTO && s->bus);
}

/* The loop ends a grant at its expiry itself unless a systemd timer does:
 * when no timers are used, for a grant whose timer could not be made
 * although systemd was reached at start (D-Bus gone since), and for one
 * whose end failed once (the loop tries again, its timer has run). */
static bool loop_ends(const struct svc *s, const struct jit_grant *g)
{
        return !svc_uses_timers(s) || (s->bus && !g->timer) || g->end_failures;
}

/* Other grants the loop only backs up, at reconcile passes. */
static void expire_due(struct svc *s, uint64_t now, bool pass, bool at_start)
{
        struct jit_grant *g;

        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                bool loop = loop_ends(s, g);
                uint64_t slack = loop || at_start ? 0 : JIT_TIMER_BACKSTOP_US;

                if (g->state != JIT_GRANT_ACTIVE || (!loop && !pass) || now < g->expires_us + slack ||
                    now < g->end_retry_us)
                        continue;
                (void)svc_grant_end(s, g, JIT_GRANT_EXPIRED, loop && !at_start ? "loop" : "reconcile");
        }
}

/* An active grant whose membership is missing (a crash between the
 * record and gpasswd): reconcile finishes the job the record promises. */
static void restore_memberships(struct svc *s, uint64_t now)
{
        struct jit_grant *g;

        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                _cleanup_free_ char *err = NULL;
                bool member = false;

                if (!jit_grant_is_active(g, now) || jit_membership_check(NULL, g->user, g->group, &member) < 0 || member)
                        continue;
                char until[64];

                jit_journal_event(JIT_EV_RECONCILE, LOG_WARNING,
                                  &(struct jit_journal_fields){ .grant_id = g->id, .user = g->user, .group = g->group },
                                  "grant %s is active but %s is not in group %s: adding", g->id, g->user, g->group);
                /* The grant line may never have been written (a crash right
                 * after the record): on record before it takes effect. */
                svc_format_until(until, sizeof(until), g->expires_us, now);
                if (jit_journal_event(JIT_EV_GRANT, LOG_NOTICE,
                                      &(struct jit_journal_fields){ .grant_id = g->id, .request_id = g->request_id,
                                                                    .role = g->role, .user = g->user, .group = g->group,
                                                                    .approver = g->approved_by, .decision = "allow" },
                                      "grant %s (restored by reconcile): %s is in group %s (role %s) until %s, approved by %s",
                                      g->id, g->user, g->group, g->role, until,
                                      g->approved_by ? g->approved_by : "?") < 0)
                        continue;       /* no audit line, no membership */
                (void)jit_membership_add(g->user, g->group, &err);
        }
}

static void restore_timers(struct svc *s, uint64_t now)
{
        struct jit_grant *g;

        for (size_t i = 0; s->bus && (g = svc_live_grant(s, i)); i++) {
                bool exists = false;

                if (!jit_grant_is_active(g, now))
                        continue;
                if (jit_timer_exists(s->bus, g->id, &exists) == 0 && !exists) {
                        jit_journal_event(JIT_EV_RECONCILE, LOG_WARNING,
                                          &(struct jit_journal_fields){ .grant_id = g->id },
                                          "expiry timer of grant %s was missing: recreating it", g->id);
                        schedule_timer(s, g);
                }
        }
}

/* A timer whose grant has ended (its StopUnit failed then) or that no
 * grant here names: stopped. Firing, it would only find nothing to end,
 * but it would stay in systemd's list as if a grant were running. */
static void stop_stray_timers(struct svc *s)
{
        _cleanup_strv_free_ char **ids = NULL;

        if (!s->bus || jit_timer_list(s->bus, &ids) < 0)
                return;
        for (size_t i = 0; ids && ids[i]; i++) {
                const struct jit_grant *g = svc_find_grant(s, ids[i]);
                int r;

                if (g && g->state == JIT_GRANT_ACTIVE)
                        continue;
                r = jit_timer_cancel(s->bus, ids[i]);
                jit_journal_event(JIT_EV_RECONCILE, r < 0 ? LOG_ERR : LOG_WARNING,
                                  &(struct jit_journal_fields){ .grant_id = ids[i] },
                                  "expiry timer jit-expire-%s.timer %s: %s", ids[i],
                                  g ? "outlived its grant" : "names no grant of this host",
                                  r < 0 ? strerror(-r) : "stopped");
        }
}

int svc_boot_id(char buf[SD_ID128_STRING_MAX])
{
        sd_id128_t id;
        int r = sd_id128_get_boot(&id);

        if (r < 0)
                return r;
        sd_id128_to_string(id, buf);
        return 0;
}

/* Session ids restart at each boot: an id from another boot names
 * another login, never the one the grant was bound to. */
static bool same_boot(const char *bound)
{
        char now[SD_ID128_STRING_MAX];

        return !bound || (svc_boot_id(now) == 0 && strcmp(now, bound) == 0);
}

/* Grants tied to a login session or a unit end when it goes. */
static void check_bindings(struct svc *s, uint64_t now)
{
        struct jit_grant *g;

        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                _cleanup_free_ char *state = NULL;
                const char *gone = NULL;

                if (!jit_grant_is_active(g, now) || now < g->end_retry_us)
                        continue;
                if (g->bound_session && strcmp(g->bound_session, JIT_SESSION_PENDING) == 0) {
                        if (now > g->created_us + JIT_SESSION_PENDING_US)
                                gone = "session-never-opened";
                } else if (g->bound_session && (sd_session_get_state(g->bound_session, &state) < 0 ||
                                                strcmp(state, "closing") == 0 || !same_boot(g->bound_boot)))
                        gone = "session-closed";
                else if (g->bound_unit && !svc_unit_is_running(s, g->bound_unit))
                        gone = "unit-stopped";
                if (gone)
                        (void)svc_grant_end(s, g, JIT_GRANT_REVOKED, gone);
        }
}

/* Members of a group jit manages that no active grant explains were put
 * there by hand (or left by a crash before the record said so): taken out
 * and reported. Only the local /etc/group is looked at. */
static void strip_strays(struct svc *s, uint64_t now)
{
        for (size_t i = 0; s->config && i < s->config->n_roles; i++) {
                const char *group = s->config->roles[i].group;
                _cleanup_strv_free_ char **members = NULL;

                if (jit_membership_list(group, &members) < 0)
                        continue;
                for (size_t k = 0; members && members[k]; k++) {
                        struct jit_grant probe = { .user = members[k], .group = (char *)group };
                        _cleanup_free_ char *err = NULL;
                        struct passwd *pw;

                        if (svc_membership_needed(s, &probe, now))
                                continue;
                        jit_journal_event(JIT_EV_RECONCILE, LOG_WARNING,
                                          &(struct jit_journal_fields){ .user = members[k], .group = group },
                                          "%s is in group %s, which jit manages, without an active grant "
                                          "(added by hand?): removing", members[k], group);
                        if (jit_membership_remove(members[k], group, &err) == 0 && (pw = getpwnam(members[k])))
                                svc_end_holders(s, pw->pw_uid, members[k], group,
                                                jit_end_mode_to_string(s->config->roles[i].end), "a hand-made membership",
                                                NULL);
                }
        }
}

/* A crash between a grant's record and its request's: the request is
 * approved but does not name the grant that names it. */
static void link_requests(struct svc *s)
{
        bool any = false;

        /* usually none: do not look each grant's request up for nothing */
        for (size_t i = 0; i < s->n_reqs && !any; i++)
                any = s->reqs[i]->state == JIT_REQ_APPROVED && !s->reqs[i]->grant_id[0];
        for (size_t i = 0; any && i < s->n_grants; i++) {
                struct jit_request *r = svc_find_request(s, s->grants[i]->request_id);

                if (r && !r->grant_id[0] && r->state == JIT_REQ_APPROVED) {
                        memcpy(r->grant_id, s->grants[i]->id, sizeof(r->grant_id));
                        (void)svc_save_request(s, r);
                }
        }
}

void svc_reconcile(struct svc *s, bool at_start)
{
        uint64_t now = svc_now_us();
        bool pass = at_start || now >= s->next_reconcile_us;

        svc_index_prune(s);     /* before the walks below, never during one */
        if (at_start)
                link_requests(s);

        check_bindings(s, now);
        lapse_requests(s, now);
        expire_due(s, now, pass, at_start);
        svc_end_sweep(s, now);
        if (pass) {
                strip_strays(s, now);
                restore_memberships(s, now);
                restore_timers(s, now);
                stop_stray_timers(s);
                s->next_reconcile_us = now + (s->config ? s->config->settings.reconcile_interval : 60) * 1000000ULL;
        }
}

uint64_t svc_next_wakeup_us(struct svc *s)
{
        uint64_t next = s->next_reconcile_us;
        struct jit_request *r;
        struct jit_grant *g;

        for (size_t i = 0; (r = svc_open_request(s, i)); i++)
                if (r->state == JIT_REQ_PENDING && r->deadline_us && r->deadline_us < next)
                        next = r->deadline_us;
        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                uint64_t due = g->end_retry_us > g->expires_us ? g->end_retry_us : g->expires_us;

                if (g->state == JIT_GRANT_ACTIVE && loop_ends(s, g) && due < next)
                        next = due;
        }
        next = svc_end_next_us(s, next);
        for (size_t i = 0; (g = svc_live_grant(s, i)); i++)
                if ((g->bound_session || g->bound_unit) &&
                    g->state == JIT_GRANT_ACTIVE && svc_now_us() + JIT_BIND_POLL_US < next)
                        next = svc_now_us() + JIT_BIND_POLL_US;
        for (struct client *c = s->clients; c; c = c->next) {
                if (c->waiting && c->wait_deadline_us < next)
                        next = c->wait_deadline_us;
                if (!c->waiting && !c->out && c->idle_deadline_us < next)
                        next = c->idle_deadline_us;
        }
        return next;
}
