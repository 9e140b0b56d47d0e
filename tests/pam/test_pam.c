/* pam_jit through the real libpam: pam_start_confdir() loads the built
 * module from a service file in a temporary directory. A scripted fake
 * service on a Unix socket plays each answer the module must handle; the
 * real service (jitctl serve) answers the policy cases. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "proto.h"

static char dir[64];
static char sock[128];
static char said[8192];        /* everything the module told the user */

/* ---- the conversation: record what the user would see ---------------- */

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
        (void)data;
        for (int i = 0; i < n; i++) {
                size_t l = strlen(said);

                snprintf(said + l, sizeof(said) - l, "%s%s\n",
                         msg[i]->msg_style == PAM_ERROR_MSG ? "E: " : "I: ", msg[i]->msg);
        }
        *resp = calloc((size_t)n, sizeof(**resp));
        return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static void write_service(const char *name, const char *args)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "account required %s %s\n", PAM_JIT_SO, args);
        fclose(f);
}

static int run_account(const char *service, const char *user, const char *tty)
{
        struct pam_conv c = { conv, NULL };
        pam_handle_t *pamh = NULL;
        int r;

        said[0] = '\0';
        assert_int_equal(pam_start_confdir(service, user, &c, dir, &pamh), PAM_SUCCESS);
        if (tty)
                assert_int_equal(pam_set_item(pamh, PAM_TTY, tty), PAM_SUCCESS);
        r = pam_acct_mgmt(pamh, 0);
        pam_end(pamh, r);
        return r;
}

/* ---- the fake service ------------------------------------------------ */

struct script {
        const char *first;              /* JSON answer to the access request */
        const char *raw_first;          /* or raw bytes instead */
        size_t raw_len;
        const char *second;             /* JSON answer to the wait request, or NULL */
        int second_delay_ms;
        bool silent;                    /* never answer at all */
        bool hold_second;               /* take the wait request, never answer */
        cJSON *got_first, *got_second;  /* what the module sent */
        int lfd;
};

static void send_text(int fd, const char *json)
{
        cJSON *j = cJSON_Parse(json);

        assert_non_null(j);
        (void)jit_proto_send(fd, j, 1000);
        cJSON_Delete(j);
}

static void *serve_script(void *arg)
{
        struct script *s = arg;
        int fd = accept(s->lfd, NULL, NULL);

        if (fd < 0)
                return NULL;
        if (jit_proto_recv(fd, JIT_PROTO_MAX_REQUEST, 5000, &s->got_first) < 0)
                goto out;
        if (s->silent) {
                char b;

                (void)!read(fd, &b, 1);        /* until the module gives up */
                goto out;
        }
        if (s->raw_first)
                (void)!write(fd, s->raw_first, s->raw_len);
        else
                send_text(fd, s->first);
        if (!s->second && !s->hold_second)
                goto out;
        if (jit_proto_recv(fd, JIT_PROTO_MAX_REQUEST, 5000, &s->got_second) < 0)
                goto out;
        if (s->hold_second) {
                char b;

                (void)!read(fd, &b, 1);
                goto out;
        }
        if (s->second_delay_ms)
                nanosleep(&(struct timespec){ .tv_sec = s->second_delay_ms / 1000,
                                              .tv_nsec = s->second_delay_ms % 1000 * 1000000L }, NULL);
        send_text(fd, s->second);
out:
        close(fd);
        return NULL;
}

static pthread_t fake_start(struct script *s)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        pthread_t t;

        unlink(sock);
        s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s->lfd >= 0);
        strcpy(sa.sun_path, sock);
        assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(s->lfd, 4), 0);
        assert_int_equal(pthread_create(&t, NULL, serve_script, s), 0);
        return t;
}

/* Queue a connection that says nothing, then join: if the module never
 * connected, the fake takes this one, reads nothing and got_first stays
 * NULL; if it did, its connection was first in the queue and was served. */
static void fake_stop(struct script *s, pthread_t t)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        strcpy(sa.sun_path, sock);
        (void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        pthread_join(t, NULL);
        close(s->lfd);
}

static int run_with(struct script *s, const char *tty)
{
        pthread_t t = fake_start(s);
        int r = run_account("jit-test", "alice", tty);

        fake_stop(s, t);
        return r;
}

static void script_done(struct script *s)
{
        cJSON_Delete(s->got_first);
        cJSON_Delete(s->got_second);
}

static const char *str_of(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsString(it) ? it->valuestring : NULL;
}

#define PENDING "{\"ok\":true,\"decision\":\"pending\",\"request_id\":\"r-0123456789\"," \
                "\"message\":\"jit: request r-0123456789 needs approval by: bob\"}"

/* ---- tests: the module against scripted answers ----------------------- */

static void t_active_grant_allows_silently(void **state)
{
        struct script s = { .first = "{\"ok\":true,\"decision\":\"allow\"}" };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_SUCCESS);
        assert_string_equal(str_of(s.got_first, "op"), "access");
        assert_string_equal(str_of(s.got_first, "user"), "alice");
        assert_string_equal(str_of(s.got_first, "role"), "ops");
        assert_string_equal(str_of(s.got_first, "service"), "jit-test");
        assert_string_equal(str_of(s.got_first, "tty"), "/dev/pts/7");
        assert_string_equal(said, "");
        script_done(&s);
}

static void t_escalate_then_approve_allows(void **state)
{
        struct script s = {
                .first = PENDING,
                .second = "{\"ok\":true,\"decision\":\"allow\",\"message\":\"jit: approved by bob\"}",
                .second_delay_ms = 100,
        };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_SUCCESS);
        assert_string_equal(str_of(s.got_second, "op"), "wait");
        assert_string_equal(str_of(s.got_second, "id"), "r-0123456789");
        assert_non_null(strstr(said, "I: jit: request r-0123456789 needs approval by: bob"));
        assert_non_null(strstr(said, "I: jit: approved by bob"));
        script_done(&s);
}

static void t_escalate_then_deny_denies_with_reason(void **state)
{
        struct script s = {
                .first = PENDING,
                .second = "{\"ok\":true,\"decision\":\"deny\",\"message\":\"jit: denied by bob: not now\"}",
        };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: denied by bob: not now"));
        script_done(&s);
}

static void t_wait_timeout_denies_with_request_id(void **state)
{
        struct script s = {
                .first = PENDING,
                .second = "{\"ok\":true,\"decision\":\"pending\",\"request_id\":\"r-0123456789\"}",
        };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: no decision on request r-0123456789 in time"));
        script_done(&s);
}

static void t_service_silent_during_wait_denies(void **state)
{
        /* The service takes the wait request and never answers: the
         * module's own bound (wait + timeout) ends it. */
        struct script s = { .first = PENDING, .hold_second = true };
        char args[256];

        (void)state;
        snprintf(args, sizeof(args), "role=ops socket=%s wait=1s timeout=1s", sock);
        write_service("jit-test", args);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_string_equal(str_of(s.got_second, "op"), "wait");
        assert_non_null(strstr(said, "E: jit: lost contact"));
        script_done(&s);
}

static void on_alarm(int sig)
{
        (void)sig;      /* like sudo: catch the signal, act on it later */
}

static void t_interrupt_during_wait_withdraws(void **state)
{
        struct script s = { .first = PENDING, .hold_second = true };
        struct sigaction sa = { .sa_handler = on_alarm };
        struct itimerval it = { .it_value = { .tv_usec = 300000 } };
        time_t t0 = time(NULL);

        (void)state;
        sigaction(SIGALRM, &sa, NULL);
        setitimer(ITIMER_REAL, &it, NULL);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: interrupted: request r-0123456789 withdrawn"));
        assert_true(time(NULL) - t0 < 4);       /* not the 5 s wait */
        signal(SIGALRM, SIG_DFL);
        script_done(&s);
}

static void t_service_dies_during_wait_denies(void **state)
{
        struct script s = { .first = PENDING };        /* hangs up after "pending" */

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: lost contact"));
        script_done(&s);
}

static void t_batch_does_not_wait(void **state)
{
        struct script s = { .first = PENDING, .second = "{\"ok\":true,\"decision\":\"allow\"}" };
        time_t t0 = time(NULL);

        (void)state;
        /* No tty: batch mode, batch_wait defaults to 0: denied at once. */
        assert_int_equal(run_with(&s, NULL), PAM_PERM_DENIED);
        assert_null(s.got_second);
        assert_non_null(strstr(said, "jitctl wait r-0123456789"));
        assert_true(time(NULL) - t0 < 5);
        script_done(&s);
}

static void t_service_not_running_denies(void **state)
{
        (void)state;
        unlink(sock);
        assert_int_equal(run_account("jit-test", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: the jit service is not running"));
}

static void t_service_not_run_by_root_denies(void **state)
{
        /* Someone else's process on the socket path: the module must not
         * even send it the request. */
        char sub[160], path[200], args[256], b;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int ready[2];
        pid_t pid;

        (void)state;
        if (geteuid() != 0)
                skip();
        snprintf(sub, sizeof(sub), "%s/other", dir);
        mkdir(sub, 0777);
        chmod(sub, 0777);
        snprintf(path, sizeof(path), "%s/jit.sock", sub);
        assert_int_equal(pipe(ready), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int l;

                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(1);
                l = socket(AF_UNIX, SOCK_STREAM, 0);
                strcpy(sa.sun_path, path);
                if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0)
                        _exit(1);
                (void)!write(ready[1], "x", 1);
                for (;;) {
                        int c = accept(l, NULL, NULL);
                        char buf[64];

                        if (c < 0)
                                _exit(0);
                        if (read(c, buf, sizeof(buf)) > 0)
                                _exit(3);       /* the module spoke to us */
                        close(c);
                }
        }
        close(ready[1]);
        assert_int_equal(read(ready[0], &b, 1), 1);
        close(ready[0]);
        snprintf(args, sizeof(args), "role=ops socket=%s wait=5s timeout=1s", path);
        write_service("jit-test", args);
        assert_int_equal(run_account("jit-test", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: the jit service is not trustworthy"));
        kill(pid, SIGKILL);
        {
                int st = 0;

                waitpid(pid, &st, 0);
                assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 3);
        }
}

static void t_service_never_answers_denies(void **state)
{
        struct script s = { .silent = true };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: no answer from the jit service"));
        script_done(&s);
}

static void t_malformed_answers_deny(void **state)
{
        static const char *const answers[] = {
                "{\"decision\":\"allow\"}",                     /* no ok */
                "{\"ok\":\"true\",\"decision\":\"allow\"}",     /* ok not a boolean */
                "{\"ok\":true,\"decision\":\"maybe\"}",
                "{\"ok\":true,\"decision\":7}",
                "{\"ok\":true}",
                "{\"ok\":false,\"decision\":\"allow\"}",
                "{\"ok\":true,\"decision\":\"pending\"}",       /* pending without an id */
                "[\"allow\"]",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
                struct script s = { .first = answers[i] };

                assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
                script_done(&s);
        }
}

static void t_broken_frames_deny(void **state)
{
        static const char huge[] = { 0x7f, 0x00, 0x00, 0x00, '{' };
        static const char notjson[] = { 0x00, 0x00, 0x00, 0x05, 'a', 'l', 'l', 'o', 'w' };
        static const char shortframe[] = { 0x00, 0x00, 0x00, 0x40, '{', '"' };
        struct { const char *b; size_t n; } frames[] = {
                { huge, sizeof(huge) }, { notjson, sizeof(notjson) }, { shortframe, sizeof(shortframe) },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
                struct script s = { .raw_first = frames[i].b, .raw_len = frames[i].n };

                assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
                script_done(&s);
        }
}

static void t_control_characters_are_shown_as_escapes(void **state)
{
        struct script s = { .first = "{\"ok\":true,\"decision\":\"deny\",\"message\":\"jit: no\\u001b[2J\\u0007 way\"}" };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        assert_null(strchr(said, 0x1b));
        assert_null(strchr(said, 0x07));
        assert_non_null(strstr(said, "E: jit: no\\x1b[2J\\x07 way\n"));
        script_done(&s);
}

/* A frame that is not strict JSON (here: raw bytes that are not UTF-8, a
 * key twice) is refused as malformed: the module denies. (The fake
 * service reprints its script with cJSON, which escapes raw control
 * bytes; tests/e2e/hostile.sh sends those over a raw socket.) */
static void t_answer_not_strict_utf8_json_denies(void **state)
{
        struct script bad_utf8 = { .first = "{\"ok\":true,\"decision\":\"allow\",\"message\":\"ok \xff\xfe\"}" };
        struct script dup_key = { .first = "{\"ok\":true,\"decision\":\"deny\",\"decision\":\"allow\"}" };

        (void)state;
        assert_int_equal(run_with(&bad_utf8, "/dev/pts/7"), PAM_PERM_DENIED);
        script_done(&bad_utf8);
        assert_int_equal(run_with(&dup_key, "/dev/pts/7"), PAM_PERM_DENIED);
        script_done(&dup_key);
}

/* Everything a terminal could act on, in the pending message and in the
 * approval (which quote a requester's reason and an approver's comment):
 * ESC, a C1 CSI, DEL, newline, BiDi overrides and isolates, bytes that are
 * not UTF-8. Each is shown as a visible escape; ordinary UTF-8 is kept. */
static void t_esc_and_bidi_from_the_service_are_escaped(void **state)
{
        struct script s = {
                .first = "{\"ok\":true,\"decision\":\"pending\",\"request_id\":\"r-0123456789\","
                         "\"message\":\"jit: request r-0123456789 (\\u001b]0;pwned\\u0007\\u009b31m) "
                         "needs approval by: b\\u202eob\\u202c, \\u2067x\\u2069\\nfake\\r\\u007f\"}",
                .second = "{\"ok\":true,\"decision\":\"allow\",\"message\":"
                          "\"jit: approved by Jos\\u00e9: \\\"ok\\u202egnp.exe\\\"\"}",
        };

        (void)state;
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_SUCCESS);
        assert_non_null(strstr(said, "I: jit: request r-0123456789 (\\x1b]0;pwned\\x07\\u{009B}31m) "
                                     "needs approval by: b\\u{202E}ob\\u{202C}, \\u{2067}x\\u{2069}\\x0afake\\x0d\\x7f\n"));
        assert_non_null(strstr(said, "I: jit: approved by Jos\xc3\xa9: \"ok\\u{202E}gnp.exe\"\n"));
        assert_null(strchr(said, 0x1b));
        assert_null(strstr(said, "\xe2\x80\xae"));      /* U+202E */
        assert_null(strstr(said, "\xc2\x9b"));          /* U+009B */
        script_done(&s);
}

/* A message of any length is cut, at a character boundary, with "...". */
static void t_long_messages_are_capped(void **state)
{
        char msg[6000], json[6100];
        struct script s = { .first = json };
        size_t l;

        (void)state;
        memset(msg, 0, sizeof(msg));
        for (size_t i = 0; i < 700 * 6; i += 6)
                memcpy(msg + i, "\\u001b", 6);          /* 700 ESC: 2800 bytes shown */
        strcat(msg, "tail");
        snprintf(json, sizeof(json), "{\"ok\":true,\"decision\":\"deny\",\"message\":\"%s\"}", msg);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        l = strlen(said);
        assert_true(l <= 3 + 1023 + 1);
        assert_null(strstr(said, "tail"));
        assert_memory_equal(said + l - 8, "\\x1b...\n", 8);
        script_done(&s);
}

#define APPROVED "{\"ok\":true,\"decision\":\"allow\",\"message\":" \
        "\"jit: approved by bob: role ops (group jit-ops) until 12:00:00 (in 15m): \\\"ticket 42\\\"\"}"
#define PROGRESS "I: jit: still waiting for an approver of ops (r-0123456789): "

static size_t count_of(const char *hay, const char *needle)
{
        size_t n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* While alice waits she is told, every progress=, how long is left; the
 * approval then comes at once with the approver's name and comment. */
static void t_progress_lines_while_waiting_then_approval(void **state)
{
        struct script s = { .first = PENDING, .second = APPROVED, .second_delay_ms = 2500 };
        char args[256];
        const char *approved;

        (void)state;
        snprintf(args, sizeof(args), "role=ops socket=%s wait=5s timeout=1s progress=1s", sock);
        write_service("jit-test", args);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_SUCCESS);
        assert_non_null(strstr(said, "I: jit: request r-0123456789 needs approval by: bob\n"));
        assert_non_null(strstr(said, "I: jit: Ctrl-C stops waiting and withdraws request r-0123456789.\n"));
        assert_true(count_of(said, PROGRESS) >= 2);
        assert_non_null(strstr(said, PROGRESS "4s left\n"));
        assert_non_null(strstr(said, PROGRESS "3s left\n"));
        approved = strstr(said, "I: jit: approved by bob: role ops (group jit-ops) until 12:00:00 (in 15m): \"ticket 42\"\n");
        assert_non_null(approved);
        assert_null(strstr(approved, PROGRESS));        /* nothing after the decision */
        assert_true(strstr(said, PROGRESS) > strstr(said, "needs approval"));
        script_done(&s);
}

/* The time left counts down to the request's own lapse when that is
 * sooner than wait=. */
static void t_progress_counts_down_to_the_lapse(void **state)
{
        char first[512];
        struct timeval tv;
        struct script s = { .first = first, .second = APPROVED, .second_delay_ms = 1500 };
        char args[256];

        (void)state;
        gettimeofday(&tv, NULL);
        snprintf(first, sizeof(first), "{\"ok\":true,\"decision\":\"pending\",\"request_id\":\"r-0123456789\","
                 "\"message\":\"jit: pending\",\"request\":{\"deadline_us\":%.0f}}",
                 ((double)tv.tv_sec + 3) * 1e6 + tv.tv_usec);
        snprintf(args, sizeof(args), "role=ops socket=%s wait=1h timeout=1s progress=1s", sock);
        write_service("jit-test", args);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_SUCCESS);
        assert_non_null(strstr(said, PROGRESS "2s left\n"));
        assert_null(strstr(said, "59m"));
        script_done(&s);
}

static void t_progress_0_and_batch_mode_say_nothing_while_waiting(void **state)
{
        struct script s = { .first = PENDING, .second = APPROVED, .second_delay_ms = 1500 };
        char args[256];

        (void)state;
        snprintf(args, sizeof(args), "role=ops socket=%s wait=5s timeout=1s progress=0", sock);
        write_service("jit-test", args);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_SUCCESS);
        assert_null(strstr(said, "still waiting"));
        assert_non_null(strstr(said, "approved by bob"));
        script_done(&s);
        /* batch mode (no tty) with a batch_wait: silent until the answer */
        s = (struct script){ .first = PENDING, .second = APPROVED, .second_delay_ms = 1500 };
        snprintf(args, sizeof(args), "role=ops socket=%s batch_wait=5s timeout=1s progress=1s", sock);
        write_service("jit-test", args);
        assert_int_equal(run_with(&s, NULL), PAM_SUCCESS);
        assert_null(strstr(said, "still waiting"));
        assert_null(strstr(said, "Ctrl-C"));
        assert_non_null(strstr(said, "approved by bob"));
        script_done(&s);
}

static void t_interrupt_during_progress_withdraws(void **state)
{
        struct script s = { .first = PENDING, .hold_second = true };
        struct sigaction sa = { .sa_handler = on_alarm };
        struct itimerval it = { .it_value = { .tv_sec = 1, .tv_usec = 500000 } };
        time_t t0 = time(NULL);
        char args[256];

        (void)state;
        snprintf(args, sizeof(args), "role=ops socket=%s wait=30s timeout=1s progress=1s", sock);
        write_service("jit-test", args);
        sigaction(SIGALRM, &sa, NULL);
        setitimer(ITIMER_REAL, &it, NULL);
        assert_int_equal(run_with(&s, "/dev/pts/7"), PAM_PERM_DENIED);
        signal(SIGALRM, SIG_DFL);
        assert_int_equal(count_of(said, PROGRESS), 1);
        assert_non_null(strstr(said, "E: jit: interrupted: request r-0123456789 withdrawn"));
        assert_true(time(NULL) - t0 < 5);
        script_done(&s);
}

static void t_bad_options_deny(void **state)
{
        (void)state;
        write_service("jit-bad1", "socket=/run/jit/jit.sock");          /* no role */
        assert_int_equal(run_account("jit-bad1", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
        write_service("jit-bad2", "role=ops wait=forever");
        assert_int_equal(run_account("jit-bad2", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
        write_service("jit-bad3", "role=ops frobnicate");
        assert_int_equal(run_account("jit-bad3", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
        write_service("jit-bad4", "role=ops progress=2h");
        assert_int_equal(run_account("jit-bad4", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
        write_service("jit-bad5", "role=ops progress=often");
        assert_int_equal(run_account("jit-bad5", "alice", "/dev/pts/7"), PAM_PERM_DENIED);
}

static void t_auth_and_password_phases_refuse_with_service_err(void **state)
{
        struct pam_conv c = { conv, NULL };
        pam_handle_t *pamh = NULL;
        char path[256];
        FILE *f;

        (void)state;
        snprintf(path, sizeof(path), "%s/jit-auth", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "auth required %s role=ops\npassword required %s role=ops\n", PAM_JIT_SO, PAM_JIT_SO);
        fclose(f);
        assert_int_equal(pam_start_confdir("jit-auth", "alice", &c, dir, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SERVICE_ERR);
        assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SERVICE_ERR);
        assert_int_equal(pam_chauthtok(pamh, 0), PAM_SERVICE_ERR);
        pam_end(pamh, PAM_SUCCESS);
}

/* ---- tests: the session phase ----------------------------------------- */

/* "[success=ok ignore=ok default=bad]" rather than the deployed "optional":
 * with it libpam hands back pam_jit's own code (a lone optional module turns
 * PAM_IGNORE and every failure alike into PAM_PERM_DENIED). */
static void write_session_service(const char *name, const char *extra)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "session [success=ok ignore=ok default=bad] %s socket=%s timeout=1s %s\n",
                PAM_JIT_SO, sock, extra);
        fclose(f);
}

/* One session call as a login would make it; env is put in the PAM
 * environment first, as pam_systemd would. */
static int run_session(const char *service, const char *env, bool close_it)
{
        struct pam_conv c = { conv, NULL };
        pam_handle_t *pamh = NULL;
        int r;

        said[0] = '\0';
        assert_int_equal(pam_start_confdir(service, "alice", &c, dir, &pamh), PAM_SUCCESS);
        if (env)
                assert_int_equal(pam_putenv(pamh, env), PAM_SUCCESS);
        r = close_it ? pam_close_session(pamh, 0) : pam_open_session(pamh, 0);
        pam_end(pamh, r);
        return r;
}

static int session_with(struct script *s, const char *service, const char *env, bool close_it)
{
        pthread_t t = fake_start(s);
        int r = run_session(service, env, close_it);

        fake_stop(s, t);
        return r;
}

/* The request is exactly these four members, nothing more. */
static void assert_session_request(const cJSON *j, const char *event, const char *session)
{
        assert_non_null(j);
        assert_true(cJSON_IsObject(j));
        assert_string_equal(str_of(j, "op"), "session");
        assert_string_equal(str_of(j, "event"), event);
        assert_string_equal(str_of(j, "user"), "alice");
        assert_string_equal(str_of(j, "session"), session);
        assert_int_equal(cJSON_GetArraySize(j), 4);
}

#define SESSION_OK "{\"ok\":true,\"message\":\"1 grant bound\"}"

static void t_session_open_sends_user_and_session_id(void **state)
{
        struct script s = { .first = SESSION_OK };

        (void)state;
        if (geteuid() != 0)
                skip();         /* the fake must pass the root-peer check */
        write_session_service("jit-login", "");
        assert_int_equal(session_with(&s, "jit-login", "XDG_SESSION_ID=7", false), PAM_SUCCESS);
        assert_session_request(s.got_first, "open", "7");
        assert_string_equal(said, "");
        script_done(&s);
}

static void t_session_close_sends_close_event(void **state)
{
        struct script s = { .first = "{\"ok\":true,\"message\":\"1 grant ended\"}" };

        (void)state;
        if (geteuid() != 0)
                skip();
        write_session_service("jit-login", "");
        assert_int_equal(session_with(&s, "jit-login", "XDG_SESSION_ID=c12", true), PAM_SUCCESS);
        assert_session_request(s.got_first, "close", "c12");
        script_done(&s);
}

static void t_session_without_logind_session_is_ignored_and_sends_nothing(void **state)
{
        static const char *const envs[] = { NULL, "XDG_SESSION_ID=", "XDG_SESSION_IDX=7" };

        (void)state;
        write_session_service("jit-login", "debug");
        for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
                struct script s = { .first = SESSION_OK };

                assert_int_equal(session_with(&s, "jit-login", envs[i], false), PAM_IGNORE);
                assert_null(s.got_first);
                script_done(&s);
                s = (struct script){ .first = SESSION_OK };
                assert_int_equal(session_with(&s, "jit-login", envs[i], true), PAM_IGNORE);
                assert_null(s.got_first);
                script_done(&s);
        }
}

static void t_session_under_sudo_is_ignored_and_sends_nothing(void **state)
{
        static const char *const services[] = { "sudo", "sudo-i" };

        (void)state;
        for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
                struct script s = { .first = SESSION_OK };

                write_session_service(services[i], "");
                assert_int_equal(session_with(&s, services[i], "XDG_SESSION_ID=7", false), PAM_IGNORE);
                assert_null(s.got_first);
                script_done(&s);
                s = (struct script){ .first = SESSION_OK };
                assert_int_equal(session_with(&s, services[i], "XDG_SESSION_ID=7", true), PAM_IGNORE);
                assert_null(s.got_first);
                script_done(&s);
        }
}

static void t_session_service_not_running_is_session_err(void **state)
{
        (void)state;
        unlink(sock);
        write_session_service("jit-login", "");
        assert_int_equal(run_session("jit-login", "XDG_SESSION_ID=7", false), PAM_SESSION_ERR);
        assert_int_equal(run_session("jit-login", "XDG_SESSION_ID=7", true), PAM_SESSION_ERR);
}

static void t_session_refused_by_service_is_session_err(void **state)
{
        struct script s = {
                .first = "{\"ok\":false,\"code\":\"invalid\",\"error\":\"malformed session event\"}",
        };

        (void)state;
        if (geteuid() != 0)
                skip();         /* else the peer check, not the answer, would fail it */
        write_session_service("jit-login", "");
        assert_int_equal(session_with(&s, "jit-login", "XDG_SESSION_ID=7", false), PAM_SESSION_ERR);
        assert_session_request(s.got_first, "open", "7");   /* it was asked, and said no */
        script_done(&s);
}

static void t_session_bad_option_is_session_err_and_sends_nothing(void **state)
{
        struct script s = { .first = SESSION_OK };

        (void)state;
        write_session_service("jit-login", "frobnicate");
        assert_int_equal(session_with(&s, "jit-login", "XDG_SESSION_ID=7", false), PAM_SESSION_ERR);
        assert_null(s.got_first);
        script_done(&s);
}

static void t_session_id_longer_than_64_is_an_error(void **state)
{
        char env[128];
        struct script s = { .first = SESSION_OK };

        (void)state;
        if (geteuid() != 0)
                skip();
        write_session_service("jit-login", "");
        /* 64 characters is the longest that is sent... */
        snprintf(env, sizeof(env), "XDG_SESSION_ID=%064d", 7);
        assert_int_equal(session_with(&s, "jit-login", env, false), PAM_SUCCESS);
        assert_session_request(s.got_first, "open", env + strlen("XDG_SESSION_ID="));
        script_done(&s);
        /* ...65 is not, and is an error (not logind's id), never ignored. */
        s = (struct script){ .first = SESSION_OK };
        snprintf(env, sizeof(env), "XDG_SESSION_ID=%065d", 7);
        assert_int_equal(session_with(&s, "jit-login", env, false), PAM_SESSION_ERR);
        assert_null(s.got_first);
        script_done(&s);
}

/* ---- tests: the real service decides ---------------------------------- */

static pid_t start_real_service(const char *policy)
{
        char cfg[256], state[256], sdir[256];
        FILE *f;
        pid_t pid;

        snprintf(sdir, sizeof(sdir), "%s/etc", dir);
        mkdir(sdir, 0755);
        snprintf(cfg, sizeof(cfg), "%s/etc/jit.conf", dir);
        snprintf(state, sizeof(state), "%s/state", dir);
        mkdir(state, 0700);
        f = fopen(cfg, "w");
        assert_non_null(f);
        fputs(policy, f);
        fclose(f);
        chmod(cfg, 0644);
        unlink(sock);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int devnull = open("/dev/null", O_WRONLY);

                dup2(devnull, 2);
                execl(JITCTL_BIN, "jitctl", "serve", "--config", cfg, "--state-dir", state,
                      "--socket", sock, (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                struct stat st;

                if (stat(sock, &st) == 0)
                        return pid;
                nanosleep(&(struct timespec){ .tv_nsec = 20000000L }, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the real service did not start");
        return -1;
}

static void stop_real_service(pid_t pid)
{
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}

static void t_real_user_outside_every_role_is_denied(void **state)
{
        pid_t pid;

        (void)state;
        if (geteuid() != 0)
                skip();
        pid = start_real_service(
                "{\"version\":1,\"roles\":{\"ops\":{\"group\":\"jit-ops\",\"max_ttl\":\"1h\","
                "\"requesters\":{\"users\":[\"someone-else\"]},\"approvers\":{\"users\":[\"root\"]}}}}");
        /* "nobody" exists on every Debian system and is in no role. */
        assert_int_equal(run_account("jit-test", "nobody", "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "E: jit: denied: nobody may not request role ops"));
        /* A user that does not exist at all is denied too. */
        assert_int_equal(run_account("jit-test", "no-such-user-xyz", "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "unknown user"));
        stop_real_service(pid);
}

static void t_real_broken_policy_denies_everything(void **state)
{
        pid_t pid;

        (void)state;
        if (geteuid() != 0)
                skip();
        pid = start_real_service("{\"version\":1,\"roles\":{\"ops\":{\"group\":\"jit-ops\",\"max_ttl\":\"1h\","
                                 "\"requesters\":{\"users\":[\"nobody\"]},\"surprise\":1}}}");
        assert_int_equal(run_account("jit-test", "nobody", "/dev/pts/7"), PAM_PERM_DENIED);
        assert_non_null(strstr(said, "policy is invalid"));
        stop_real_service(pid);
}

static int setup(void **state)
{
        char args[256];

        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/jit-pamtest.XXXXXX");
        assert_non_null(mkdtemp(dir));
        chmod(dir, 0755);
        snprintf(sock, sizeof(sock), "%s/jit.sock", dir);
        snprintf(args, sizeof(args), "role=ops socket=%s wait=5s timeout=1s", sock);
        write_service("jit-test", args);
        return 0;
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static int reset_service_file(void **state)
{
        char args[256];

        (void)state;
        snprintf(args, sizeof(args), "role=ops socket=%s wait=5s timeout=1s", sock);
        write_service("jit-test", args);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(t_active_grant_allows_silently, reset_service_file),
                cmocka_unit_test_setup(t_escalate_then_approve_allows, reset_service_file),
                cmocka_unit_test_setup(t_escalate_then_deny_denies_with_reason, reset_service_file),
                cmocka_unit_test_setup(t_wait_timeout_denies_with_request_id, reset_service_file),
                cmocka_unit_test_setup(t_service_silent_during_wait_denies, reset_service_file),
                cmocka_unit_test_setup(t_service_dies_during_wait_denies, reset_service_file),
                cmocka_unit_test_setup(t_interrupt_during_wait_withdraws, reset_service_file),
                cmocka_unit_test_setup(t_batch_does_not_wait, reset_service_file),
                cmocka_unit_test_setup(t_service_not_running_denies, reset_service_file),
                cmocka_unit_test_setup(t_service_never_answers_denies, reset_service_file),
                cmocka_unit_test_setup(t_service_not_run_by_root_denies, reset_service_file),
                cmocka_unit_test_setup(t_malformed_answers_deny, reset_service_file),
                cmocka_unit_test_setup(t_broken_frames_deny, reset_service_file),
                cmocka_unit_test_setup(t_control_characters_are_shown_as_escapes, reset_service_file),
                cmocka_unit_test_setup(t_esc_and_bidi_from_the_service_are_escaped, reset_service_file),
                cmocka_unit_test_setup(t_answer_not_strict_utf8_json_denies, reset_service_file),
                cmocka_unit_test_setup(t_long_messages_are_capped, reset_service_file),
                cmocka_unit_test_setup(t_progress_lines_while_waiting_then_approval, reset_service_file),
                cmocka_unit_test_setup(t_progress_counts_down_to_the_lapse, reset_service_file),
                cmocka_unit_test_setup(t_progress_0_and_batch_mode_say_nothing_while_waiting, reset_service_file),
                cmocka_unit_test_setup(t_interrupt_during_progress_withdraws, reset_service_file),
                cmocka_unit_test_setup(t_bad_options_deny, reset_service_file),
                cmocka_unit_test_setup(t_auth_and_password_phases_refuse_with_service_err, reset_service_file),
                cmocka_unit_test(t_session_open_sends_user_and_session_id),
                cmocka_unit_test(t_session_close_sends_close_event),
                cmocka_unit_test(t_session_without_logind_session_is_ignored_and_sends_nothing),
                cmocka_unit_test(t_session_under_sudo_is_ignored_and_sends_nothing),
                cmocka_unit_test(t_session_service_not_running_is_session_err),
                cmocka_unit_test(t_session_refused_by_service_is_session_err),
                cmocka_unit_test(t_session_bad_option_is_session_err_and_sends_nothing),
                cmocka_unit_test(t_session_id_longer_than_64_is_an_error),
                cmocka_unit_test_setup(t_real_user_outside_every_role_is_denied, reset_service_file),
                cmocka_unit_test_setup(t_real_broken_policy_denies_everything, reset_service_file),
        };

        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, setup, teardown);
}
