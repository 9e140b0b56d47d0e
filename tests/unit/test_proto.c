/* test_proto.c — framing on the service socket (proto.h), over socketpairs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* sv[0]: the client end, sv[1]: the service end. */
static int pair_setup(void **state)
{
        int *sv = malloc(2 * sizeof(int));

        if (!sv || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -1;
        *state = sv;
        return 0;
}

static int pair_teardown(void **state)
{
        int *sv = *state;

        if (sv[0] >= 0)
                close(sv[0]);
        if (sv[1] >= 0)
                close(sv[1]);
        free(sv);
        return 0;
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write a raw frame: 4-byte big-endian length (may lie), then body. */
static void write_frame(int fd, uint32_t len, const char *body, size_t body_len)
{
        unsigned char hdr[4] = { len >> 24, len >> 16, len >> 8, len };

        assert_int_equal(write(fd, hdr, 4), 4);
        if (body_len)
                assert_int_equal(write(fd, body, body_len), (ssize_t)body_len);
}

static void write_json_frame(int fd, const char *body)
{
        write_frame(fd, (uint32_t)strlen(body), body, strlen(body));
}

static void expect_recv_error(int fd, size_t max, int want)
{
        cJSON *j = (cJSON *)(uintptr_t)1;
        int r = jit_proto_recv(fd, max, 1000, &j);

        if (r != want)
                fail_msg("recv: want %d (%s), got %d", want, strerror(-want), r);
        assert_ptr_equal(j, (cJSON *)(uintptr_t)1);     /* ret untouched */
}

/* ---- send / recv ------------------------------------------------------- */

static void t_send_then_recv_round_trips(void **state)
{
        int *sv = *state;
        cJSON *msg = cJSON_Parse("{\"op\":\"request\",\"role\":\"ops\",\"ttl\":900,"
                                 "\"reason\":\"caf\\u00e9 \\\"now\\\"\",\"command\":[\"/bin/id\",\"-u\"]}");
        cJSON *got = NULL;

        assert_non_null(msg);
        assert_int_equal(jit_proto_send(sv[0], msg, 1000), 0);
        assert_int_equal(jit_proto_recv(sv[1], JIT_PROTO_MAX_REQUEST, 1000, &got), 0);
        assert_non_null(got);
        assert_true(cJSON_Compare(msg, got, true));
        cJSON_Delete(msg);
        cJSON_Delete(got);
}

static void t_frame_is_a_big_endian_length_and_the_json(void **state)
{
        int *sv = *state;
        cJSON *msg = cJSON_Parse("{\"ok\":true}");
        unsigned char buf[64];

        assert_int_equal(jit_proto_send(sv[0], msg, 1000), 0);
        assert_int_equal(read(sv[1], buf, sizeof(buf)), 4 + 11);
        assert_memory_equal(buf, "\0\0\0\x0b{\"ok\":true}", 15);
        cJSON_Delete(msg);
}

static void t_length_uses_all_four_header_bytes(void **state)
{
        /* {"b":"aaa..."} of 0x012345 bytes: the header reads 00 01 23 45 */
        int *sv = *state;
        size_t n = 0x012345 - 8;
        char *s = malloc(n + 1);
        cJSON *msg = cJSON_CreateObject(), *got = NULL;
        unsigned char hdr[4];

        assert_non_null(s);
        memset(s, 'a', n);
        s[n] = '\0';
        assert_non_null(cJSON_AddStringToObject(msg, "b", s));
        assert_int_equal(jit_proto_send(sv[0], msg, 1000), 0);      /* fits the socket buffer */
        assert_int_equal(recv(sv[1], hdr, 4, MSG_PEEK | MSG_WAITALL), 4);
        assert_memory_equal(hdr, "\x00\x01\x23\x45", 4);
        assert_int_equal(jit_proto_recv(sv[1], JIT_PROTO_MAX_ANSWER, 1000, &got), 0);
        assert_true(cJSON_Compare(msg, got, true));
        cJSON_Delete(got);
        cJSON_Delete(msg);
        free(s);
}

static void t_messages_in_a_row_are_kept_apart(void **state)
{
        int *sv = *state;
        cJSON *a = cJSON_Parse("{\"n\":1}"), *b = cJSON_Parse("{\"n\":2}"), *got = NULL;

        assert_int_equal(jit_proto_send(sv[0], a, 1000), 0);
        assert_int_equal(jit_proto_send(sv[0], b, 1000), 0);
        assert_int_equal(jit_proto_recv(sv[1], 1024, 1000, &got), 0);
        assert_true(cJSON_Compare(a, got, true));
        cJSON_Delete(got);
        assert_int_equal(jit_proto_recv(sv[1], 1024, 1000, &got), 0);
        assert_true(cJSON_Compare(b, got, true));
        cJSON_Delete(got);
        cJSON_Delete(a);
        cJSON_Delete(b);
}

static void t_recv_times_out_when_nothing_is_sent(void **state)
{
        int *sv = *state;
        cJSON *j = NULL;
        int64_t t0 = mono_ms(), dt;

        assert_int_equal(jit_proto_recv(sv[1], 1024, 50, &j), -ETIMEDOUT);
        dt = mono_ms() - t0;
        assert_null(j);
        assert_in_range(dt, 45, 1000);
}

static void t_recv_times_out_on_a_partial_message(void **state)
{
        int *sv = *state;
        cJSON *j = NULL;

        write_frame(sv[0], 100, "{\"op\":", 6);
        assert_int_equal(jit_proto_recv(sv[1], 1024, 50, &j), -ETIMEDOUT);
        assert_null(j);
}

static void t_frame_larger_than_max_is_refused(void **state)
{
        int *sv = *state;
        cJSON *msg = cJSON_Parse("{\"reason\":\"0123456789012345678901234567890123456789\"}");

        assert_int_equal(jit_proto_send(sv[0], msg, 1000), 0);
        expect_recv_error(sv[1], 32, -EMSGSIZE);
        cJSON_Delete(msg);
}

static void t_huge_length_is_refused_before_the_body_arrives(void **state)
{
        /* The header alone decides: no 4 GiB allocation, no waiting for it. */
        int *sv = *state;
        int64_t t0 = mono_ms();

        write_frame(sv[0], 0xffffffffu, NULL, 0);
        expect_recv_error(sv[1], JIT_PROTO_MAX_REQUEST, -EMSGSIZE);
        assert_true(mono_ms() - t0 < 500);
}

static void t_frame_of_exactly_max_is_accepted(void **state)
{
        int *sv = *state;
        static const char body[] = "{\"op\":\"list\"}";
        cJSON *j = NULL;

        write_json_frame(sv[0], body);
        assert_int_equal(jit_proto_recv(sv[1], strlen(body), 1000, &j), 0);
        assert_non_null(j);
        cJSON_Delete(j);
}

static void t_zero_length_frame_is_refused(void **state)
{
        int *sv = *state;
        cJSON *j = (cJSON *)(uintptr_t)1;
        int r;

        write_frame(sv[0], 0, NULL, 0);
        r = jit_proto_recv(sv[1], 1024, 1000, &j);
        if (r != -EMSGSIZE && r != -EBADMSG)
                fail_msg("zero-length frame: want -EMSGSIZE or -EBADMSG, got %d", r);
        assert_ptr_equal(j, (cJSON *)(uintptr_t)1);
}

static void t_invalid_json_body_is_refused(void **state)
{
        int *sv = *state;

        write_json_frame(sv[0], "{\"op\":");
        expect_recv_error(sv[1], 1024, -EBADMSG);
        write_json_frame(sv[0], "not json");
        expect_recv_error(sv[1], 1024, -EBADMSG);
}

static void t_body_that_is_not_an_object_is_refused(void **state)
{
        int *sv = *state;

        write_json_frame(sv[0], "[\"op\",\"list\"]");
        expect_recv_error(sv[1], 1024, -EBADMSG);
        write_json_frame(sv[0], "\"list\"");
        expect_recv_error(sv[1], 1024, -EBADMSG);
}

static void t_body_with_bytes_after_the_object_is_refused(void **state)
{
        /* One frame carries one object: anything after it is not JSON. */
        int *sv = *state;

        write_json_frame(sv[0], "{\"op\":\"list\"}{\"op\":\"approve\"}");
        expect_recv_error(sv[1], 1024, -EBADMSG);
        write_json_frame(sv[0], "{\"op\":\"list\"} x");
        expect_recv_error(sv[1], 1024, -EBADMSG);
}

static void t_peer_closing_is_a_reset(void **state)
{
        int *sv = *state;

        close(sv[0]);
        sv[0] = -1;
        expect_recv_error(sv[1], 1024, -ECONNRESET);
}

static void t_peer_closing_mid_message_is_a_reset(void **state)
{
        int *sv = *state;

        write_frame(sv[0], 40, "{\"op\":\"li", 9);
        close(sv[0]);
        sv[0] = -1;
        expect_recv_error(sv[1], 1024, -ECONNRESET);
}

static void t_peer_closing_mid_header_is_a_reset(void **state)
{
        int *sv = *state;

        assert_int_equal(write(sv[0], "\0\0", 2), 2);
        close(sv[0]);
        sv[0] = -1;
        expect_recv_error(sv[1], 1024, -ECONNRESET);
}

static volatile sig_atomic_t sigpipes;

static void count_sigpipe(int sig)
{
        sigpipes++;
}

static void t_send_to_a_closed_peer_fails_without_sigpipe(void **state)
{
        int *sv = *state;
        cJSON *msg = cJSON_Parse("{\"ok\":true}");
        struct sigaction count = { .sa_handler = count_sigpipe }, old_action;
        sigset_t pipe_only, old_mask;

        /* Deliver SIGPIPE at once, whatever the runner's mask, and count it. */
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        assert_int_equal(sigaction(SIGPIPE, &count, &old_action), 0);
        assert_int_equal(sigprocmask(SIG_UNBLOCK, &pipe_only, &old_mask), 0);
        sigpipes = 0;
        close(sv[1]);
        sv[1] = -1;
        assert_int_equal(jit_proto_send(sv[0], msg, 1000), -EPIPE);
        assert_int_equal(sigpipes, 0);
        assert_int_equal(sigprocmask(SIG_SETMASK, &old_mask, NULL), 0);
        assert_int_equal(sigaction(SIGPIPE, &old_action, NULL), 0);
        cJSON_Delete(msg);
}

static void t_send_times_out_when_the_peer_does_not_read(void **state)
{
        int *sv = *state;
        size_t n = 2 * 1024 * 1024;     /* well over a socket buffer */
        char *big = malloc(n + 1);
        cJSON *msg = cJSON_CreateObject();
        int64_t t0;

        assert_non_null(big);
        memset(big, 'a', n);
        big[n] = '\0';
        assert_non_null(cJSON_AddStringToObject(msg, "blob", big));
        t0 = mono_ms();
        assert_int_equal(jit_proto_send(sv[0], msg, 50), -ETIMEDOUT);
        assert_in_range(mono_ms() - t0, 45, 1000);
        cJSON_Delete(msg);
        free(big);
}

static void t_send_refuses_a_message_over_the_answer_limit(void **state)
{
        int *sv = *state;
        char *big = malloc(JIT_PROTO_MAX_ANSWER + 1);
        cJSON *msg = cJSON_CreateObject();
        char c;

        assert_non_null(big);
        memset(big, 'a', JIT_PROTO_MAX_ANSWER);
        big[JIT_PROTO_MAX_ANSWER] = '\0';
        assert_non_null(cJSON_AddStringToObject(msg, "blob", big));
        assert_int_equal(jit_proto_send(sv[0], msg, 1000), -EMSGSIZE);
        assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), -1);     /* nothing was written */
        assert_int_equal(errno, EAGAIN);
        cJSON_Delete(msg);
        free(big);
}

/* ---- the incremental reader --------------------------------------------------- */

static void t_reader_assembles_a_message_sent_one_byte_at_a_time(void **state)
{
        int *sv = *state;
        static const char body[] = "{\"op\":\"wait\",\"id\":\"r-0123456789\"}";
        unsigned char frame[4 + sizeof(body)];
        struct jit_proto_reader rd = { 0 };
        size_t len = sizeof(body) - 1;
        cJSON *got = NULL;

        frame[0] = 0;
        frame[1] = 0;
        frame[2] = (unsigned char)(len >> 8);
        frame[3] = (unsigned char)len;
        memcpy(frame + 4, body, len);
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);

        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 0);   /* nothing yet */
        for (size_t i = 0; i < 4 + len; i++) {
                int r;

                assert_int_equal(write(sv[0], frame + i, 1), 1);
                r = jit_proto_reader_feed(&rd, sv[1], 1024, &got);
                if (i + 1 < 4 + len) {
                        if (r != 0)
                                fail_msg("byte %zu: want 0 (more needed), got %d", i, r);
                        assert_null(got);
                } else {
                        assert_int_equal(r, 1);
                }
        }
        assert_non_null(got);
        assert_string_equal(cJSON_GetObjectItem(got, "id")->valuestring, "r-0123456789");
        cJSON_Delete(got);

        /* the reader is ready for the next message */
        got = NULL;
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 0);
        write_json_frame(sv[0], "{\"op\":\"list\"}");
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 1);
        assert_string_equal(cJSON_GetObjectItem(got, "op")->valuestring, "list");
        cJSON_Delete(got);
        jit_proto_reader_reset(&rd);
}

static void t_reader_returns_back_to_back_messages_one_by_one(void **state)
{
        int *sv = *state;
        struct jit_proto_reader rd = { 0 };
        cJSON *got = NULL;

        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        write_json_frame(sv[0], "{\"n\":1}");
        write_json_frame(sv[0], "{\"n\":2}");
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 1);
        assert_int_equal(cJSON_GetObjectItem(got, "n")->valueint, 1);
        cJSON_Delete(got);
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 1);
        assert_int_equal(cJSON_GetObjectItem(got, "n")->valueint, 2);
        cJSON_Delete(got);
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 0);
        jit_proto_reader_reset(&rd);
}

static void t_reader_refuses_an_oversized_header(void **state)
{
        int *sv = *state;
        struct jit_proto_reader rd = { 0 };
        cJSON *got = NULL;

        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        write_frame(sv[0], 1025, NULL, 0);
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), -EMSGSIZE);
        assert_null(got);
        assert_null(rd.buf);
        jit_proto_reader_reset(&rd);
}

static void t_reader_reports_eof_as_a_reset(void **state)
{
        int *sv = *state;
        struct jit_proto_reader rd = { 0 };
        cJSON *got = NULL;

        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        write_frame(sv[0], 20, "{\"a\":", 5);
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), 0);
        close(sv[0]);
        sv[0] = -1;
        assert_int_equal(jit_proto_reader_feed(&rd, sv[1], 1024, &got), -ECONNRESET);
        assert_null(got);
        jit_proto_reader_reset(&rd);
        assert_null(rd.buf);
        assert_int_equal(rd.hdr_got, 0);
}

/* ---- peer credentials ---------------------------------------------------------- */

static void t_peer_is_ourselves_on_a_socketpair(void **state)
{
        int *sv = *state;
        pid_t pid = 0;
        uid_t uid = (uid_t)-1;
        gid_t gid = (gid_t)-1;

        assert_int_equal(jit_proto_peer(sv[1], &pid, &uid, &gid), 0);
        assert_int_equal(pid, getpid());
        assert_int_equal(uid, getuid());
        assert_int_equal(gid, getgid());
        assert_int_equal(jit_proto_peer(sv[0], NULL, &uid, NULL), 0);
        assert_int_equal(uid, getuid());
}

/* A listening socket in a private directory, for tests that need connect(). */
struct listener {
        char dir[32];
        char path[64];
        int fd;
};

static int listener_setup(void **state)
{
        struct listener *l = calloc(1, sizeof(*l));
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (!l)
                return -1;
        strcpy(l->dir, "/tmp/jit-test-proto-XXXXXX");
        if (!mkdtemp(l->dir) || chmod(l->dir, 0755) < 0)
                return -1;
        snprintf(l->path, sizeof(l->path), "%s/jit.sock", l->dir);
        strcpy(sa.sun_path, l->path);
        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            chmod(l->path, 0666) < 0 || listen(l->fd, 1) < 0)
                return -1;
        *state = l;
        return 0;
}

static int listener_teardown(void **state)
{
        struct listener *l = *state;

        close(l->fd);
        (void)unlink(l->path);
        (void)rmdir(l->dir);
        free(l);
        return 0;
}

static void t_peer_is_the_process_that_connected(void **state)
{
        /* A child with other ids connects; the kernel's word on who it is wins. */
        struct listener *l = *state;
        struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
        pid_t child, pid = 0;
        uid_t uid = 0;
        gid_t gid = 0;
        int cfd, status;

        if (geteuid() != 0)
                skip();
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                char c;
                int fd;

                if (setgroups(0, NULL) < 0 || setresgid(65533, 65533, 65533) < 0 ||
                    setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                fd = jit_proto_connect(l->path);
                if (fd < 0)
                        _exit(3);
                _exit(read(fd, &c, 1) == 0 ? 0 : 4);   /* EOF once the parent has looked */
        }
        assert_int_equal(poll(&pfd, 1, 5000), 1);
        cfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(cfd >= 0);
        assert_int_equal(jit_proto_peer(cfd, &pid, &uid, &gid), 0);
        close(cfd);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(pid, child);
        assert_int_equal(uid, 65534);
        assert_int_equal(gid, 65533);
}

static void t_connect_then_send_reaches_the_service(void **state)
{
        struct listener *l = *state;
        cJSON *msg = cJSON_Parse("{\"op\":\"list\"}"), *got = NULL;
        int cfd = jit_proto_connect(l->path), sfd;

        assert_true(cfd >= 0);
        assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
        sfd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(sfd >= 0);
        assert_int_equal(jit_proto_send(cfd, msg, 1000), 0);
        assert_int_equal(jit_proto_recv(sfd, JIT_PROTO_MAX_REQUEST, 1000, &got), 0);
        assert_true(cJSON_Compare(msg, got, true));
        cJSON_Delete(got);
        cJSON_Delete(msg);
        close(cfd);
        close(sfd);
}

static void t_peer_of_a_non_socket_is_an_error(void **state)
{
        int fds[2];
        uid_t uid = 12345;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        assert_true(jit_proto_peer(fds[0], NULL, &uid, NULL) < 0);
        assert_int_equal(uid, 12345);
        close(fds[0]);
        close(fds[1]);
}

static void t_connect_to_a_missing_socket_fails(void **state)
{
        char path[200];

        assert_int_equal(jit_proto_connect(NULL), -EINVAL);
        memset(path, 'x', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        assert_int_equal(jit_proto_connect(path), -EINVAL);     /* longer than sun_path */
        assert_int_equal(jit_proto_connect("/nonexistent/jit.sock"), -ENOENT);
}

#define PAIR_TEST(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)
/* A budget keeps entries while they fit, none after the first that does
 * not (no gap), counts the rest, and puts the newest first when asked. */
static void t_budget_keeps_what_fits_without_a_gap(void **state)
{
        struct jit_proto_budget b = { .max_bytes = 30 };
        cJSON *arr = cJSON_CreateArray(), *newest_first = cJSON_CreateArray();
        const char *texts[] = { "aaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbb", "c", "d" };
        char *out;

        (void)state;
        for (size_t i = 0; i < 4; i++)          /* "aaaaaaaaaa" is 12 bytes of JSON and a comma */
                jit_proto_budget_add(&b, arr, cJSON_CreateString(texts[i]), false);
        out = cJSON_PrintUnformatted(arr);
        assert_string_equal(out, "[\"aaaaaaaaaa\"]");  /* "c" would fit, after a gap: left out */
        free(out);
        assert_int_equal(b.n, 1);
        assert_int_equal(b.left_out, 3);
        assert_true(jit_proto_budget_full(&b));

        b = (struct jit_proto_budget){ .max_bytes = 1000, .max_items = 2 };
        for (size_t i = 0; i < 4; i++)
                if (jit_proto_budget_full(&b))
                        b.left_out++;
                else
                        jit_proto_budget_add(&b, newest_first, cJSON_CreateString(texts[3 - i]), true);
        out = cJSON_PrintUnformatted(newest_first);
        assert_string_equal(out, "[\"c\",\"d\"]");    /* the two newest, oldest first */
        free(out);
        assert_int_equal(b.left_out, 2);
        jit_proto_budget_add(&b, newest_first, NULL, true);
        assert_int_equal(b.left_out, 3);
        cJSON_Delete(arr);
        cJSON_Delete(newest_first);
}

#define LISTENER_TEST(f) cmocka_unit_test_setup_teardown(f, listener_setup, listener_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                PAIR_TEST(t_send_then_recv_round_trips),
                PAIR_TEST(t_frame_is_a_big_endian_length_and_the_json),
                PAIR_TEST(t_length_uses_all_four_header_bytes),
                PAIR_TEST(t_messages_in_a_row_are_kept_apart),
                PAIR_TEST(t_recv_times_out_when_nothing_is_sent),
                PAIR_TEST(t_recv_times_out_on_a_partial_message),
                PAIR_TEST(t_frame_larger_than_max_is_refused),
                PAIR_TEST(t_huge_length_is_refused_before_the_body_arrives),
                PAIR_TEST(t_frame_of_exactly_max_is_accepted),
                PAIR_TEST(t_zero_length_frame_is_refused),
                PAIR_TEST(t_invalid_json_body_is_refused),
                PAIR_TEST(t_body_that_is_not_an_object_is_refused),
                PAIR_TEST(t_body_with_bytes_after_the_object_is_refused),
                PAIR_TEST(t_peer_closing_is_a_reset),
                PAIR_TEST(t_peer_closing_mid_message_is_a_reset),
                PAIR_TEST(t_peer_closing_mid_header_is_a_reset),
                PAIR_TEST(t_send_to_a_closed_peer_fails_without_sigpipe),
                PAIR_TEST(t_send_times_out_when_the_peer_does_not_read),
                PAIR_TEST(t_send_refuses_a_message_over_the_answer_limit),
                PAIR_TEST(t_reader_assembles_a_message_sent_one_byte_at_a_time),
                PAIR_TEST(t_reader_returns_back_to_back_messages_one_by_one),
                PAIR_TEST(t_reader_refuses_an_oversized_header),
                PAIR_TEST(t_reader_reports_eof_as_a_reset),
                PAIR_TEST(t_peer_is_ourselves_on_a_socketpair),
                LISTENER_TEST(t_peer_is_the_process_that_connected),
                LISTENER_TEST(t_connect_then_send_reaches_the_service),
                cmocka_unit_test(t_peer_of_a_non_socket_is_an_error),
                cmocka_unit_test(t_connect_to_a_missing_socket_fails),
                cmocka_unit_test(t_budget_keeps_what_fits_without_a_gap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
