/* jitctl wait REQUEST — block until a request is decided. On a terminal
 * (stderr), one progress line rewritten in place says how long is left;
 * it is wiped before the outcome is printed, and on Ctrl-C. */
#include "jitctl.h"
#include "duration.h"
#include "escape.h"
#include "proto.h"
#include "record.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct progress {
        char id[32], role[256];         /* role escaped */
        int64_t ends_ms;                /* CLOCK_MONOTONIC: --timeout or the lapse, the sooner */
        bool on;
};

static volatile sig_atomic_t shown;     /* width of the line on the terminal */

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Blank the progress line: spaces, not an erase sequence, so that even a
 * dumb terminal is left clean. Async-signal-safe. */
static void wipe(void)
{
        static const char blanks[64] = "                                                               ";

        (void)!write(STDERR_FILENO, "\r", 1);
        for (int n = shown; n > 0; n -= (int)sizeof(blanks))
                (void)!write(STDERR_FILENO, blanks, n < (int)sizeof(blanks) ? (size_t)n : sizeof(blanks));
        (void)!write(STDERR_FILENO, "\r", 1);
        shown = 0;
}

static void on_signal(int sig)
{
        wipe();
        signal(sig, SIG_DFL);
        raise(sig);
}

/* jit_call without its messages: the wait that follows reports. */
static int call_quietly(cJSON *req, cJSON **ret)
{
        int fd = jit_proto_connect(jit_g.socket), r;

        if (fd < 0) {
                cJSON_Delete(req);
                return fd;
        }
        r = jit_proto_send(fd, req, 10000);
        cJSON_Delete(req);
        if (r == 0)
                r = jit_proto_recv(fd, JIT_PROTO_MAX_ANSWER, 10000, ret);
        close(fd);
        return r;
}

/* The role and lapse of the request, for the line; none if it cannot be
 * seen (the wait itself then says why) or is decided already. */
static void progress_init(struct progress *p, const char *id, uint64_t timeout_s)
{
        cJSON *req, *ans = NULL;
        const cJSON *r;
        uint64_t deadline, now;
        int64_t ends = (int64_t)timeout_s * 1000;

        *p = (struct progress){ .ends_ms = mono_ms() + ends };
        snprintf(p->id, sizeof(p->id), "%s", id);
        if (!isatty(STDERR_FILENO))
                return;
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "op", JIT_OP_SHOW);
        cJSON_AddStringToObject(req, "id", id);
        if (call_quietly(req, &ans) < 0)
                return;
        r = cJSON_GetObjectItemCaseSensitive(ans, "request");
        if (jit_exit_for(ans) == JIT_EXIT_OK && jit_json_str(r, "state") &&
            strcmp(jit_json_str(r, "state"), "pending") == 0) {
                (void)jit_escape_text(p->role, sizeof(p->role), jit_json_str(r, "role"));
                deadline = jit_json_u64(r, "deadline_us");
                now = jit_json_u64(ans, "now_us");
                if (deadline && now && (deadline - now) / 1000 < (uint64_t)ends)
                        p->ends_ms = mono_ms() + (deadline > now ? (int64_t)((deadline - now) / 1000) : 0);
                p->on = true;
        }
        cJSON_Delete(ans);
}

static void progress_show(const struct progress *p)
{
        char left[32] = "0s";
        int64_t ms = p->ends_ms - mono_ms();
        int n;

        if (ms > 0)
                (void)jit_duration_format(left, sizeof(left), (uint64_t)(ms + 999) / 1000);
        n = fprintf(stderr, "\rwaiting for an approver of %s (%s): %s left", p->role, p->id, left) - 1;
        if (n < shown)  /* over the end of a longer line before ("1m0s" after "59m59s") */
                fprintf(stderr, "%*s", (int)shown - n, "");
        fflush(stderr);
        shown = n > shown ? n : shown;
}

/* The wait call on fd, read here rather than in jit_call so that the
 * line can move every second. Returns 0 or as jit_proto_recv. */
static int wait_call(int fd, const struct progress *p, uint64_t timeout_s, cJSON **ret)
{
        struct jit_proto_reader rd = { 0 };
        int64_t end = mono_ms() + (int64_t)timeout_s * 1000 + 10000;
        cJSON *req = cJSON_CreateObject();
        int r;

        cJSON_AddStringToObject(req, "op", JIT_OP_WAIT);
        cJSON_AddStringToObject(req, "id", p->id);
        cJSON_AddNumberToObject(req, "timeout_ms", (double)timeout_s * 1000);
        r = jit_proto_send(fd, req, 10000);
        cJSON_Delete(req);
        while (r == 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int64_t now, tick;

                r = jit_proto_reader_feed(&rd, fd, JIT_PROTO_MAX_ANSWER, ret);
                if (r != 0)
                        break;
                if (p->on)
                        progress_show(p);
                now = mono_ms();
                if (now >= end) {
                        r = -ETIMEDOUT;
                        break;
                }
                /* ticks on whole seconds left, so that each shows one less */
                tick = p->on && p->ends_ms > now ? (p->ends_ms - now) % 1000 : 1000;
                tick = tick ? tick : 1000;
                if (poll(&pfd, 1, (int)(end - now < tick ? end - now : tick)) < 0 && errno != EINTR)
                        r = -errno;
        }
        jit_proto_reader_reset(&rd);
        return r < 0 ? r : 0;
}

int jit_wait_shown(const char *id, uint64_t timeout_s, cJSON **ret)
{
        struct progress p;
        int fd, r;

        fd = jit_proto_connect(jit_g.socket);
        if (fd < 0)
                return jit_fail(JIT_EXIT_UNAVAILABLE, "cannot reach the jit service at %s: %s", jit_g.socket, strerror(-fd));
        progress_init(&p, id, timeout_s);
        if (p.on) {
                signal(SIGINT, on_signal);
                signal(SIGTERM, on_signal);
        }
        r = wait_call(fd, &p, timeout_s, ret);
        close(fd);
        if (p.on) {
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                wipe();
        }
        if (r < 0)
                return jit_fail(JIT_EXIT_UNAVAILABLE, "no answer from the jit service: %s", strerror(-r));
        return 0;
}

int verb_wait(int argc, char **argv)
{
        static const struct option lo[] = {
                { "timeout", required_argument, NULL, 't' },
                {}
        };
        uint64_t timeout = 900;
        cJSON *ans = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                if (c != 't' || jit_parse_duration_arg(optarg, &timeout))
                        return JIT_EXIT_USAGE;
        }
        if (optind + 1 != argc || !jit_id_is_valid(argv[optind], 'r'))
                return jit_usage_error("usage: jitctl wait REQUEST [--timeout DURATION] (a request id looks like r-xxxxxxxxxx)");
        r = jit_wait_shown(argv[optind], timeout, &ans);
        if (r)
                return r;
        r = jit_print_outcome(ans);
        cJSON_Delete(ans);
        return r;
}
