#include "journal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

static bool to_stderr;
static jit_journal_hook hook;
static void *hook_data;

void jit_journal_set_hook(jit_journal_hook fn, void *userdata)
{
        hook = fn;
        hook_data = userdata;
}

static const struct {
        const char *name;
        const char *message_id;
} events[_JIT_EV_MAX] = {
        [JIT_EV_SERVICE]   = { "service",   "b8e20ea66d65482fa245439866919a27" },
        [JIT_EV_REQUEST]   = { "request",   "c8d3ed48ea094630ba212ab9eb703830" },
        [JIT_EV_DECISION]  = { "decision",  "06991377aa8c496fa7fb113e5e1e8b30" },
        [JIT_EV_GRANT]     = { "grant",     "10db7ee89d0f4b5a823c861200621d55" },
        [JIT_EV_USE]       = { "use",       "bfe9cd0bf4ee42a1be4199a3d20a6c8e" },
        [JIT_EV_EXPIRE]    = { "expire",    "2faf2ec3d74e4f8f9b528843cc1d499d" },
        [JIT_EV_REVOKE]    = { "revoke",    "536aa1d95da34aa1bd617354f96ddbe4" },
        [JIT_EV_RECONCILE] = { "reconcile", "7ced4302b63f42c5b9079e4f4c6c5b32" },
        [JIT_EV_ERROR]     = { "error",     "6dd09bd77a9441b485ed76eb0ac692eb" },
        [JIT_EV_BREAK_GLASS] = { "break-glass", "4abc9bf2ee524de79b9ed6c7cb76dc5e" },
        [JIT_EV_REVIEW]    = { "review",    "489722e993274eb893464e694b19b7d1" },
        [JIT_EV_POLICY]    = { "policy",    "c118a4eed6f349adb1b56045ee999236" },
        [JIT_EV_NOTIFY]    = { "notify",    "67f811fee0584e21a559e3989d7591ca" },
        [JIT_EV_FLEET]     = { "fleet",     "745e5c441a02422e8ae0a8f9105758aa" },
};

void jit_journal_set_stderr(bool on)
{
        to_stderr = on;
}

const char *jit_journal_event_name(enum jit_event ev)
{
        return (unsigned)ev < _JIT_EV_MAX ? events[ev].name : "unknown";
}

#define MAX_FIELDS 20

static void field(struct iovec *iov, char bufs[][600], size_t *n, const char *k, const char *v)
{
        int w;

        if (!v || *n >= MAX_FIELDS)
                return;
        w = snprintf(bufs[*n], sizeof(bufs[0]), "%s=%s", k, v);
        if (w < 0)
                return;
        iov[*n].iov_base = bufs[*n];
        iov[*n].iov_len = (size_t)w < sizeof(bufs[0]) ? (size_t)w : sizeof(bufs[0]) - 1;
        (*n)++;
}

int jit_journal_event(enum jit_event ev, int priority, const struct jit_journal_fields *f,
                      const char *fmt, ...)
{
        static const struct jit_journal_fields none;
        char msg[1024], prio[4];
        char bufs[MAX_FIELDS][600];
        struct iovec iov[MAX_FIELDS];
        size_t n = 0;
        va_list ap;
        int r = 0;

        if ((unsigned)ev >= _JIT_EV_MAX)
                ev = JIT_EV_ERROR;
        if (!f)
                f = &none;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(prio, sizeof(prio), "%d", priority & 7);
        field(iov, bufs, &n, "MESSAGE", msg);
        field(iov, bufs, &n, "PRIORITY", prio);
        field(iov, bufs, &n, "SYSLOG_IDENTIFIER", "jit");
        field(iov, bufs, &n, "MESSAGE_ID", events[ev].message_id);
        field(iov, bufs, &n, "JIT_EVENT", events[ev].name);
        field(iov, bufs, &n, "JIT_REQUEST_ID", f->request_id);
        field(iov, bufs, &n, "JIT_GRANT_ID", f->grant_id);
        field(iov, bufs, &n, "JIT_ROLE", f->role);
        field(iov, bufs, &n, "JIT_USER", f->user);
        field(iov, bufs, &n, "JIT_GROUP", f->group);
        field(iov, bufs, &n, "JIT_DECISION", f->decision);
        field(iov, bufs, &n, "JIT_APPROVER", f->approver);
        field(iov, bufs, &n, "JIT_RULE", f->rule);
        field(iov, bufs, &n, "JIT_SERVICE", f->service);
        field(iov, bufs, &n, "JIT_BY", f->by);
        field(iov, bufs, &n, "JIT_COMMAND", f->command);
        field(iov, bufs, &n, "JIT_TARGET", f->target);
        field(iov, bufs, &n, "JIT_HOST", f->host);
        if (hook)
                r = hook(hook_data, ev, f, msg);
        (void)sd_journal_sendv(iov, (int)n);
        if (to_stderr) {
                struct timespec ts;
                struct tm tm;
                char when[32] = "";

                clock_gettime(CLOCK_REALTIME, &ts);
                if (localtime_r(&ts.tv_sec, &tm))
                        strftime(when, sizeof(when), "%H:%M:%S", &tm);
                fprintf(stderr, "%s.%03ld jitd[%s] %s\n", when, ts.tv_nsec / 1000000,
                        events[ev].name, msg);
        }
        return r;
}
