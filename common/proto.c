#include "proto.h"
#include "cleanup.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int wait_fd_intr(int fd, short events, int64_t deadline, bool interruptible);

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
        return wait_fd_intr(fd, events, deadline, false);
}

int jit_proto_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int wait_fd_intr(int fd, short events, int64_t deadline, bool interruptible)
{
        struct pollfd p = { .fd = fd, .events = events };
        int r, t;

        for (;;) {
                if (deadline < 0) {
                        t = -1;
                } else {
                        int64_t left = deadline - now_ms();

                        if (left <= 0)
                                return -ETIMEDOUT;
                        t = left > INT32_MAX ? INT32_MAX : (int)left;
                }
                r = poll(&p, 1, t);
                if (r < 0 && errno == EINTR && !interruptible)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                return 0;
        }
}

void jit_proto_budget_add(struct jit_proto_budget *b, cJSON *arr, cJSON *item, bool first)
{
        _cleanup_free_ char *text = item && !jit_proto_budget_full(b) ? cJSON_PrintUnformatted(item) : NULL;
        size_t len = text ? strlen(text) + 1 : 0;

        if (!text || b->bytes + len > b->max_bytes ||
            !(first ? cJSON_InsertItemInArray(arr, 0, item) : cJSON_AddItemToArray(arr, item))) {
                b->bytes = b->max_bytes;        /* full: nothing after this one */
                cJSON_Delete(item);
                b->left_out++;
                return;
        }
        b->bytes += len;
        b->n++;
}

int jit_proto_frame(const cJSON *msg, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *body = cJSON_PrintUnformatted(msg);
        unsigned char *out;
        size_t len;

        if (!body)
                return -ENOMEM;
        len = strlen(body);
        if (len > JIT_PROTO_MAX_ANSWER)
                return -EMSGSIZE;
        out = malloc(len + 4);
        if (!out)
                return -ENOMEM;
        out[0] = (unsigned char)(len >> 24);
        out[1] = (unsigned char)(len >> 16);
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        memcpy(out + 4, body, len);
        *ret = (char *)out;
        *ret_len = len + 4;
        return 0;
}

int jit_proto_send(int fd, const cJSON *msg, int timeout_ms)
{
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        char *out = NULL;
        size_t len = 0, off = 0;
        int r;

        r = jit_proto_frame(msg, &out, &len);
        if (r < 0)
                return r;
        while (off < len) {
                ssize_t n = send(fd, out + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                break;
                        r = 0;
                        continue;
                }
                if (n < 0) {
                        r = -errno;
                        break;
                }
                off += (size_t)n;
        }
        free(out);
        return r;
}

void jit_proto_reader_reset(struct jit_proto_reader *rd)
{
        free(rd->buf);
        memset(rd, 0, sizeof(*rd));
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF) and no raw control byte inside a string: cJSON would take
 * all of these. */
static bool frame_is_clean(const unsigned char *p, size_t len)
{
        bool in_string = false, escaped = false;

        for (size_t i = 0; i < len;) {
                unsigned char c = p[i];
                size_t n;
                uint32_t cp;

                if (c < 0x80) {
                        if (c == 0 || (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r'))))
                                return false;
                        /* "\u0000" would end the string where cJSON stores it: a value or
                         * key seen shorter than it is sent */
                        if (in_string && escaped && c == 'u' && i + 4 < len && memcmp(p + i + 1, "0000", 4) == 0)
                                return false;
                        if (in_string && !escaped && c == '"')
                                in_string = false;
                        else if (!in_string && c == '"')
                                in_string = true;
                        escaped = in_string && !escaped && c == '\\';
                        i++;
                        continue;
                }
                escaped = false;
                if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; }
                else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; }
                else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; }
                else return false;
                if (i + n > len)
                        return false;
                for (size_t k = 1; k < n; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n;
        }
        return !in_string;
}

/* No object may hold a key twice: the second value could hide the first. */
static bool keys_are_unique(const cJSON *j)
{
        const cJSON *a, *b;

        cJSON_ArrayForEach(a, j) {
                if (cJSON_IsObject(j))
                        for (b = a->next; b; b = b->next)
                                if (a->string && b->string && strcmp(a->string, b->string) == 0)
                                        return false;
                if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && !keys_are_unique(a))
                        return false;
        }
        return true;
}

int jit_proto_parse_strict(const char *text, size_t len, cJSON **ret)
{
        const char *end = NULL;
        bool clean = len > 0 && frame_is_clean((const unsigned char *)text, len);
        cJSON *j = clean ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;

        while (j && end && end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
                end++;  /* a file's final newline */
        if (!j || !cJSON_IsObject(j) || end != text + len || !keys_are_unique(j)) {
                cJSON_Delete(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

int jit_proto_reader_feed(struct jit_proto_reader *rd, int fd, size_t max, cJSON **ret)
{
        for (;;) {
                ssize_t n;

                if (rd->hdr_got < 4) {
                        n = recv(fd, rd->hdr + rd->hdr_got, 4 - rd->hdr_got, MSG_DONTWAIT);
                } else {
                        if (!rd->buf) {
                                rd->len = (size_t)rd->hdr[0] << 24 | (size_t)rd->hdr[1] << 16 |
                                          (size_t)rd->hdr[2] << 8 | rd->hdr[3];
                                if (rd->len == 0 || rd->len > max)
                                        return -EMSGSIZE;
                                rd->buf = malloc(rd->len);
                                if (!rd->buf)
                                        return -ENOMEM;
                        }
                        if (rd->got == rd->len) {
                                int r = jit_proto_parse_strict(rd->buf, rd->len, ret);

                                jit_proto_reader_reset(rd);
                                return r < 0 ? r : 1;
                        }
                        n = recv(fd, rd->buf + rd->got, rd->len - rd->got, MSG_DONTWAIT);
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                if (rd->hdr_got < 4)
                        rd->hdr_got += (size_t)n;
                else
                        rd->got += (size_t)n;
        }
}

static int recv_msg(int fd, size_t max, int timeout_ms, bool interruptible, cJSON **ret)
{
        struct jit_proto_reader rd = { 0 };
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        int r;

        for (;;) {
                r = jit_proto_reader_feed(&rd, fd, max, ret);
                if (r != 0)
                        break;
                r = wait_fd_intr(fd, POLLIN, deadline, interruptible);
                if (r < 0)
                        break;
        }
        jit_proto_reader_reset(&rd);
        return r < 0 ? r : 0;
}

int jit_proto_recv(int fd, size_t max, int timeout_ms, cJSON **ret)
{
        return recv_msg(fd, max, timeout_ms, false, ret);
}

int jit_proto_recv_interruptible(int fd, size_t max, int timeout_ms, cJSON **ret)
{
        return recv_msg(fd, max, timeout_ms, true, ret);
}

int jit_proto_peer(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid)
{
        struct ucred uc;
        socklen_t l = sizeof(uc);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0)
                return -errno;
        if (l != sizeof(uc))
                return -EIO;
        if (ret_pid)
                *ret_pid = uc.pid;
        if (ret_uid)
                *ret_uid = uc.uid;
        if (ret_gid)
                *ret_gid = uc.gid;
        return 0;
}
