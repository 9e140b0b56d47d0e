/* Ending what a grant leaves behind. Taking a user out of a group does
 * not take the group from processes that already hold it (a shell opened
 * during the grant keeps it until it exits). At a grant's end the service
 * finds the grant user's processes that still hold the group — in their
 * supplementary groups or as real/effective/saved gid — warns their
 * terminals, waits the role's grace, then ends them as the role says:
 * kills the processes, terminates the logind sessions they run in, or
 * (end: none) leaves them and reports them. Each step is logged.
 *
 * MUSTs: a process is signalled through a pidfd opened before its status
 * is read again, so a pid reused in between is never hit; only processes
 * whose real, effective, saved or filesystem uid is the grant's user are
 * touched; a user who still holds the group through another active grant
 * is left alone.
 */
#include "service.h"
#include "cleanup.h"
#include "journal.h"
#include "strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>
#include <systemd/sd-login.h>

#define MAX_HOLDERS 4096

static void closedirp(DIR **d)
{
        if (*d)
                (void)closedir(*d);
}

struct holder {
        pid_t pid;
        char name[17];
};

static bool id_listed(const char *line, unsigned long id)
{
        char *end;

        for (const char *p = line; *p;) {
                unsigned long v;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p || *p == '\n')
                        break;
                errno = 0;
                v = strtoul(p, &end, 10);
                if (end == p || errno)
                        return false;
                if (v == id)
                        return true;
                p = end;
        }
        return false;
}

/* Does /proc/PID/status (read through dirfd pfd) say uid holds gid? */
static bool status_holds(int pfd, uid_t uid, gid_t gid, char name[17])
{
        _cleanup_close_ int fd = openat(pfd, "status", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        char buf[8192], *line, *save = NULL;
        bool is_user = false, has_group = false;
        ssize_t n;

        if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return false;
        buf[n] = '\0';
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "Name:", 5) == 0)
                        snprintf(name, 17, "%s", line + 5 + strspn(line + 5, " \t"));
                else if (strncmp(line, "Uid:", 4) == 0)
                        is_user = id_listed(line + 4, uid);
                else if (strncmp(line, "Gid:", 4) == 0 || strncmp(line, "Groups:", 7) == 0)
                        has_group |= id_listed(line + (line[0] == 'G' && line[1] == 'r' ? 7 : 4), gid);
        }
        return is_user && has_group;
}

/* Every process of uid that holds gid. */
static int find_holders(uid_t uid, gid_t gid, struct holder **ret, size_t *ret_n)
{
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        struct holder *v = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_close_ int pfd = -1;
                char name[17] = "?";
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                if (*end || pid <= 1 || pid == getpid())
                        continue;
                pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0 || !status_holds(pfd, uid, gid, name))
                        continue;
                if (n >= MAX_HOLDERS)
                        break;
                if (n % 64 == 0) {
                        struct holder *nv = realloc(v, (n + 64) * sizeof(*nv));

                        if (!nv) {
                                free(v);
                                return -ENOMEM;
                        }
                        v = nv;
                }
                v[n].pid = (pid_t)pid;
                memcpy(v[n].name, name, sizeof(name));
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Kill one process, sure it is still the one that held the group. */
static int kill_holder(pid_t pid, uid_t uid, gid_t gid)
{
        char path[32], name[17];
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        _cleanup_close_ int pfd = -1;

        if (pidfd < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || !status_holds(pfd, uid, gid, name))
                return -ESRCH;  /* gone or changed: not ours to kill */
        return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 ? -errno : 0;
}

static int terminate_session(struct svc *s, const char *session)
{
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;

        if (!s->bus)
                return -ENOTCONN;
        return sd_bus_call_method(s->bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                                  "org.freedesktop.login1.Manager", "TerminateSession", &err, NULL, "s", session);
}

/* A terminal name is "pts/N" or "ttyN" (never a path elsewhere). */
bool svc_is_terminal_name(const char *t)
{
        const char *d = strncmp(t, "pts/", 4) == 0 ? t + 4 : strncmp(t, "tty", 3) == 0 ? t + 3 : NULL;

        if (!d || !*d || strlen(d) > 8)
                return false;
        for (; *d; d++)
                if (*d < '0' || *d > '9')
                        return false;
        return true;
}

/* The controlling terminal of pid from /proc/PID/stat's tty_nr: the pts
 * devices (majors 136-143) and the virtual consoles (major 4, 1-63). */
int svc_controlling_tty(pid_t pid, char *buf, size_t size)
{
        char path[32], stat[1024], *p;
        unsigned long tty_nr;
        unsigned major, minor;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, stat, sizeof(stat) - 1);
        close(fd);
        if (n <= 0)
                return -EIO;
        stat[n] = '\0';
        p = strrchr(stat, ')');        /* the name may hold anything */
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %lu", &tty_nr) != 1 || !tty_nr)
                return -ENOTTY;
        major = (unsigned)((tty_nr >> 8) & 0xfff);
        minor = (unsigned)((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00));
        if (major >= 136 && major <= 143)
                snprintf(buf, size, "pts/%u", (major - 136) * 256 + minor);
        else if (major == 4 && minor >= 1 && minor < 64)
                snprintf(buf, size, "tty%u", minor);
        else
                return -ENOTTY;
        return 0;
}

/* Every terminal the holders can be reached on: their logind sessions'
 * terminals (sd-login has none for ssh logins on some systemd versions)
 * and their own controlling terminals. */
static void warn_terminals(const struct holder *h, size_t n, const char *msg)
{
        _cleanup_strv_free_ char **seen = NULL;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *session = NULL, *tty = NULL;
                char ctty[32], path[64];
                const char *names[2] = { NULL, NULL };

                if (sd_pid_get_session(h[i].pid, &session) >= 0 && sd_session_get_tty(session, &tty) >= 0 && tty)
                        names[0] = tty;
                if (svc_controlling_tty(h[i].pid, ctty, sizeof(ctty)) == 0)
                        names[1] = ctty;
                for (size_t k = 0; k < 2; k++) {
                        int fd;

                        if (!names[k] || !svc_is_terminal_name(names[k]) || jit_strv_contains(seen, names[k]))
                                continue;
                        (void)jit_strv_push(&seen, names[k]);
                        snprintf(path, sizeof(path), "/dev/%s", names[k]);
                        fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
                        if (fd < 0)
                                continue;
                        (void)!write(fd, msg, strlen(msg));
                        close(fd);
                }
        }
}

static int group_gid(const char *group, gid_t *ret)
{
        struct group *gr = getgrnam(group);

        if (!gr)
                return -ENOENT;
        *ret = gr->gr_gid;
        return 0;
}

void svc_end_warn(struct svc *s, const struct jit_grant *g)
{
        _cleanup_free_ struct holder *h = NULL;
        size_t n = 0;
        gid_t gid;
        char msg[256];

        if (!g->end || strcmp(g->end, "none") == 0 || !g->end_grace_s || group_gid(g->group, &gid) < 0 ||
            find_holders(g->uid, gid, &h, &n) < 0 || !n)
                return;
        snprintf(msg, sizeof(msg), "\r\njit: your grant %s (role %s) has ended: what still runs with group %s "
                 "will be %s in %llu s.\r\n", g->id, g->role, g->group,
                 strcmp(g->end, "sessions") == 0 ? "logged out" : "ended", (unsigned long long)g->end_grace_s);
        warn_terminals(h, n, msg);
        jit_journal_event(JIT_EV_REVOKE, LOG_NOTICE,
                          &(struct jit_journal_fields){ .grant_id = g->id, .user = g->user, .group = g->group },
                          "grant %s: %zu process%s of %s still hold group %s: warned, ending them in %llu s",
                          g->id, n, n == 1 ? "" : "es", g->user, g->group, (unsigned long long)g->end_grace_s);
}

/* End uid's processes that hold group, as mode says; log under label
 * (a grant id, or "reconcile"). */
void svc_end_holders(struct svc *s, uid_t uid, const char *user, const char *group, const char *mode,
                     const char *label, const char *grant_id)
{
        _cleanup_free_ struct holder *h = NULL;
        _cleanup_strv_free_ char **sessions = NULL;
        char pids[512] = "";
        size_t n = 0, off = 0, killed = 0, in_sessions = 0;
        gid_t gid;
        bool none = strcmp(mode, "none") == 0, by_session = strcmp(mode, "sessions") == 0;

        if (group_gid(group, &gid) < 0 || find_holders(uid, gid, &h, &n) < 0 || !n)
                return;
        /* Each holder's session first: terminating one session ends its
         * other holders too, and they could no longer be looked up. */
        char **hs = calloc(n, sizeof(char *));

        for (size_t i = 0; hs && by_session && i < n; i++)
                if (sd_pid_get_session(h[i].pid, &hs[i]) < 0)
                        hs[i] = NULL;
        for (size_t i = 0; i < n; i++) {
                if (off < sizeof(pids))
                        off += (size_t)snprintf(pids + off, sizeof(pids) - off, "%s%d(%s)", i ? " " : "",
                                                (int)h[i].pid, h[i].name);
                if (none || h[i].pid == s->sweep_exempt_pid)
                        continue;
                if (hs && hs[i]) {
                        if (!jit_strv_contains(sessions, hs[i]) && terminate_session(s, hs[i]) >= 0)
                                (void)jit_strv_push(&sessions, hs[i]);
                        if (jit_strv_contains(sessions, hs[i])) {
                                in_sessions++;
                                continue;
                        }
                }
                killed += kill_holder(h[i].pid, uid, gid) == 0;
        }
        for (size_t i = 0; hs && i < n; i++)
                free(hs[i]);
        free(hs);
        jit_journal_event(none ? JIT_EV_RECONCILE : JIT_EV_REVOKE, none ? LOG_WARNING : LOG_NOTICE,
                          &(struct jit_journal_fields){ .grant_id = grant_id, .user = user, .group = group },
                          none ? "%s ended, but %zu process%s of %s still hold group %s (end: none): %s"
                               : "%s ended: %zu process%s of %s held group %s: %s",
                          label, n, n == 1 ? "" : "es", user, group, pids);
        if (!none)
                jit_journal_event(JIT_EV_REVOKE, LOG_NOTICE,
                                  &(struct jit_journal_fields){ .grant_id = grant_id, .user = user, .group = group },
                                  "%s: ended %zu of them (%zu killed; %zu in %zu session%s terminated)", label,
                                  killed + in_sessions, killed, in_sessions, jit_strv_length(sessions),
                                  jit_strv_length(sessions) == 1 ? "" : "s");
}

static void sweep_one(struct svc *s, struct jit_grant *g, uint64_t now)
{
        char label[32];

        g->swept_us = now;
        (void)svc_save_grant(s, g);
        snprintf(label, sizeof(label), "grant %s", g->id);
        svc_end_holders(s, g->uid, g->user, g->group, g->end, label, g->id);
}

/* Ended grants whose grace is over and that were not swept yet. Grants
 * ended more than a day ago (records from before this existed) are
 * left alone. */
void svc_end_sweep(struct svc *s, uint64_t now)
{
        struct jit_grant *g;

        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                if (g->state == JIT_GRANT_ACTIVE || g->swept_us || !g->end || !g->ended_us ||
                    now < g->ended_us + g->end_grace_s * 1000000)
                        continue;
                if (now > g->ended_us + 24ULL * 3600 * 1000000) {
                        g->swept_us = now;      /* too old to tell what its processes were */
                        (void)svc_save_grant(s, g);
                        continue;
                }
                if (svc_membership_needed(s, g, now)) {
                        g->swept_us = now;      /* another grant still gives the group */
                        (void)svc_save_grant(s, g);
                        continue;
                }
                sweep_one(s, g, now);
        }
}

uint64_t svc_end_next_us(struct svc *s, uint64_t next)
{
        const struct jit_grant *g;

        for (size_t i = 0; (g = svc_live_grant(s, i)); i++) {
                uint64_t due = g->ended_us + g->end_grace_s * 1000000;

                if (g->state != JIT_GRANT_ACTIVE && !g->swept_us && g->end && g->ended_us && due < next)
                        next = due;
        }
        return next;
}

bool svc_unit_is_running(struct svc *s, const char *unit)
{
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL;
        const char *path;

        if (!s->bus)
                return true;    /* no systemd to ask: the grant's TTL still ends it */
        if (sd_bus_call_method(s->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &err, &reply, "s", unit) < 0)
                return !sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit");
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return true;
        if (sd_bus_get_property_string(s->bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", &err, &state) < 0)
                return true;
        return strcmp(state, "active") == 0 || strcmp(state, "activating") == 0 || strcmp(state, "reloading") == 0;
}
