/* fuzz_proto — the service's incremental frame reader, jit_proto_reader_feed.
 *
 * Input: byte 0 picks how the stream is cut into writes (see chunk_size);
 * the rest is the byte stream a client sends: frames of a 4-byte
 * big-endian length and that many bytes of JSON.
 * The stream goes through a real AF_UNIX socketpair, as in the service: we
 * write one chunk, then feed the reader on the non-blocking other end until
 * it wants more (0), and so on; at the end we shut the writing side down so
 * the reader sees EOF. A reader error ends the connection, as it does in
 * the service. Everything is single-threaded and each write fits the socket
 * buffer (the reader drains it between writes), so runs are deterministic.
 * Invariants checked (abort on violation):
 *  - feed returns 1 only with a JSON object in *ret, of at most max bytes
 *    on the wire, and leaves *ret alone otherwise;
 *  - every error is one of the documented ones;
 *  - a whole message is re-sent with jit_proto_send and read back with
 *    jit_proto_recv, and comes back equal (the framing round-trips);
 *  - nothing leaks after jit_proto_reader_reset (LeakSanitizer).
 */
#include "proto.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

#define MAX_MSG JIT_PROTO_MAX_REQUEST   /* what the service passes */
#define MAX_CHUNK 4096                  /* well inside any socket buffer */

/* knob 0: everything at once (in MAX_CHUNK pieces); 1: byte by byte;
 * otherwise a deterministic mix of small sizes that splits headers. */
static size_t chunk_size(uint8_t knob, size_t i)
{
        if (knob == 0)
                return MAX_CHUNK;
        if (knob == 1)
                return 1;
        return 1 + (size_t)((knob * 31u + i * 7u) % (knob % 13u + 3u));
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);

                CHECK(w > 0);
                p += w;
                n -= (size_t)w;
        }
}

/* The message must survive jit_proto_send → jit_proto_recv unchanged. */
static void check_echo(const cJSON *msg)
{
        char *want = cJSON_PrintUnformatted(msg), *got = NULL;
        cJSON *back = NULL;
        int sv[2], r;

        CHECK(want);
        if (strlen(want) > MAX_CHUNK * 8) {     /* keep sends inside the buffer */
                free(want);
                return;
        }
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        r = jit_proto_send(sv[0], msg, 1000);
        CHECK(r == 0);
        r = jit_proto_recv(sv[1], JIT_PROTO_MAX_ANSWER, 1000, &back);
        CHECK(r == 0 && back);
        got = cJSON_PrintUnformatted(back);
        CHECK(got && strcmp(want, got) == 0);
        free(got);
        free(want);
        cJSON_Delete(back);
        close(sv[0]);
        close(sv[1]);
}

/* Feed until the reader wants more (0) or fails (< 0). */
static int drain(struct jit_proto_reader *rd, int fd, size_t *n_msgs)
{
        for (;;) {
                cJSON *msg = (cJSON *)1;
                int r = jit_proto_reader_feed(rd, fd, MAX_MSG, &msg);

                if (r == 1) {
                        CHECK(msg && msg != (cJSON *)1 && cJSON_IsObject(msg));
                        CHECK(rd->buf == NULL && rd->hdr_got == 0);
                        check_echo(msg);
                        cJSON_Delete(msg);
                        (*n_msgs)++;
                        continue;
                }
                CHECK(msg == (cJSON *)1);
                CHECK(r == 0 || r == -EMSGSIZE || r == -EBADMSG || r == -ECONNRESET || r == -ENOMEM);
                return r;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct jit_proto_reader rd = { 0 };
        size_t off = 1, n_msgs = 0;
        uint8_t knob;
        int sv[2], r = 0;

        if (size < 1)
                return 0;
        knob = data[0];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);

        for (size_t i = 0; off < size && r == 0; i++) {
                size_t n = chunk_size(knob, i);

                if (n > size - off)
                        n = size - off;
                write_all(sv[0], data + off, n);
                off += n;
                r = drain(&rd, sv[1], &n_msgs);
        }
        if (r == 0) {
                CHECK(shutdown(sv[0], SHUT_WR) == 0);
                r = drain(&rd, sv[1], &n_msgs);
                CHECK(r < 0);                   /* EOF is never "need more" */
        }
        /* Every byte of an accepted message came from the input. */
        CHECK(n_msgs * 6 <= size);              /* 4-byte header + "{}" each */
        jit_proto_reader_reset(&rd);
        CHECK(rd.buf == NULL && rd.hdr_got == 0 && rd.len == 0 && rd.got == 0);
        close(sv[0]);
        close(sv[1]);
        return 0;
}
