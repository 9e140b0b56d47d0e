#include "audit.h"
#include "cleanup.h"
#include "safeio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_SUFFIX_LEN (9 + JIT_AUDIT_HASH_HEX + 2) /* ,"hash":" + hex + "} */
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

struct jit_audit {
        int fd;
        int dirfd;                              /* for audit.head */
        uint64_t seq;
        char head[JIT_AUDIT_HASH_HEX + 1];      /* hash of the last line */
        unsigned char sk[crypto_sign_SECRETKEYBYTES];
        unsigned since_checkpoint;
};

static void hash_hex(const char *body, size_t len, char out[JIT_AUDIT_HASH_HEX + 1])
{
        unsigned char h[32];

        crypto_generichash(h, sizeof(h), (const unsigned char *)body, len, NULL, 0);
        sodium_bin2hex(out, JIT_AUDIT_HASH_HEX + 1, h, sizeof(h));
}

int jit_audit_split_line(const char *line, size_t len, size_t *ret_body_len, char ret_hash[JIT_AUDIT_HASH_HEX + 1])
{
        const char *suffix;

        if (len < HASH_SUFFIX_LEN + 2 || line[0] != '{')
                return -EBADMSG;
        suffix = line + len - HASH_SUFFIX_LEN;
        if (memcmp(suffix, ",\"hash\":\"", 9) != 0 || memcmp(line + len - 2, "\"}", 2) != 0)
                return -EBADMSG;
        for (size_t i = 0; i < JIT_AUDIT_HASH_HEX; i++) {
                char c = suffix[9 + i];

                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return -EBADMSG;
        }
        memcpy(ret_hash, suffix + 9, JIT_AUDIT_HASH_HEX);
        ret_hash[JIT_AUDIT_HASH_HEX] = '\0';
        *ret_body_len = len - HASH_SUFFIX_LEN;
        return 0;
}

static void checkpoint_message(char *buf, size_t size, uint64_t seq, const char *prev)
{
        snprintf(buf, size, "jit-audit-checkpoint 1 %" PRIu64 " %s", seq, prev);
}

/* audit.head: where the log ends ("seq hash"), replaced atomically after
 * every durable line, so that lines cut off the end are noticed. */
static int write_head(struct jit_audit *a)
{
        char buf[32 + JIT_AUDIT_HASH_HEX];
        int n = snprintf(buf, sizeof(buf), "%" PRIu64 " %s\n", a->seq, a->head);

        return jit_safeio_write_at(a->dirfd, JIT_AUDIT_HEAD_FILE, buf, (size_t)n, 0600);
}

/* Build the line for (seq, prev) and write it with one write(). */
static int write_line(struct jit_audit *a, cJSON *o, bool sync)
{
        _cleanup_free_ char *body = NULL, *line = NULL;
        char hash[JIT_AUDIT_HASH_HEX + 1];
        struct stat st;
        size_t bl, ll;
        ssize_t n;

        if (!cJSON_AddStringToObject(o, "prev", a->head))
                return -ENOMEM;
        body = cJSON_PrintUnformatted(o);
        if (!body)
                return -ENOMEM;
        bl = strlen(body);
        if (bl < 2 || body[bl - 1] != '}' || bl + HASH_SUFFIX_LEN + 1 > JIT_AUDIT_LINE_MAX)
                return -EMSGSIZE;
        bl--;                                   /* the body stops before the final '}' */
        hash_hex(body, bl, hash);
        ll = bl + HASH_SUFFIX_LEN + 1;
        line = malloc(ll + 1);
        if (!line)
                return -ENOMEM;
        memcpy(line, body, bl);
        snprintf(line + bl, ll + 1 - bl, ",\"hash\":\"%s\"}\n", hash);
        if (fstat(a->fd, &st) < 0)
                return -errno;
        n = write(a->fd, line, ll);
        if (n < 0)
                return -errno;
        if ((size_t)n != ll) {
                /* Out of room mid-line: take the piece back, or the next
                 * line would be glued to it and the chain broken for good.
                 * Should that fail too, verify names the torn line. */
                (void)!ftruncate(a->fd, st.st_size);
                return -EIO;
        }
        /* The line is in the file: the chain moves on even if the sync
         * below fails, or the next line would fork it. */
        memcpy(a->head, hash, sizeof(a->head));
        a->seq++;
        if (sync && fdatasync(a->fd) < 0)
                return -errno;
        if (sync)
                return write_head(a);
        return 0;
}

static cJSON *line_object(const struct jit_audit *a, const char *event, uint64_t time_us)
{
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddNumberToObject(o, "seq", (double)(a->seq + 1)) ||
            !cJSON_AddNumberToObject(o, "time_us", (double)time_us) ||
            !cJSON_AddStringToObject(o, "event", event)) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

int jit_audit_checkpoint(struct jit_audit *a, uint64_t time_us)
{
        unsigned char sig[crypto_sign_BYTES];
        char msg[128], sighex[crypto_sign_BYTES * 2 + 1];
        cJSON *o = line_object(a, "checkpoint", time_us);
        int r;

        if (!o)
                return -ENOMEM;
        checkpoint_message(msg, sizeof(msg), a->seq + 1, a->head);
        crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), a->sk);
        sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
        if (!cJSON_AddStringToObject(o, "sig", sighex)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        r = write_line(a, o, true);
        cJSON_Delete(o);
        if (r == 0)
                a->since_checkpoint = 0;
        return r;
}

int jit_audit_append(struct jit_audit *a, const char *event, uint64_t time_us, const cJSON *fields,
                     bool durable)
{
        cJSON *o = line_object(a, event, time_us);
        const cJSON *it;
        int r;

        if (!o)
                return -ENOMEM;
        cJSON_ArrayForEach(it, fields) {
                cJSON *copy;

                if (!it->string || strcmp(it->string, "seq") == 0 || strcmp(it->string, "time_us") == 0 ||
                    strcmp(it->string, "event") == 0 || strcmp(it->string, "prev") == 0 ||
                    strcmp(it->string, "hash") == 0 || strcmp(it->string, "sig") == 0)
                        continue;
                copy = cJSON_Duplicate(it, true);
                if (!copy || !cJSON_AddItemToObject(o, it->string, copy)) {
                        cJSON_Delete(copy);
                        cJSON_Delete(o);
                        return -ENOMEM;
                }
        }
        r = write_line(a, o, durable);
        cJSON_Delete(o);
        if (r < 0)
                return r;
        if (++a->since_checkpoint >= JIT_AUDIT_CHECKPOINT_EVERY)
                (void)jit_audit_checkpoint(a, time_us);
        return 0;
}

/* The seq and hash of the last complete line of an existing log. */
static int find_tail(int fd, uint64_t *ret_seq, char ret_head[JIT_AUDIT_HASH_HEX + 1], bool *ret_torn)
{
        struct stat st;
        off_t size, start;
        _cleanup_free_ char *buf = NULL;
        size_t len, body_len, end, begin;
        cJSON *j;
        const cJSON *seq;

        if (fstat(fd, &st) < 0)
                return -errno;
        size = st.st_size;
        *ret_torn = false;
        if (size == 0) {
                *ret_seq = 0;
                memcpy(ret_head, ZERO_HASH, JIT_AUDIT_HASH_HEX + 1);
                return 0;
        }
        start = size > 2 * JIT_AUDIT_LINE_MAX ? size - 2 * JIT_AUDIT_LINE_MAX : 0;
        len = (size_t)(size - start);
        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        if (pread(fd, buf, len, start) != (ssize_t)len)
                return -EIO;
        buf[len] = '\0';
        end = len;
        if (buf[end - 1] != '\n') {
                size_t b = end, bl2;
                char h[JIT_AUDIT_HASH_HEX + 1], want[JIT_AUDIT_HASH_HEX + 1];

                *ret_torn = true;               /* a crash mid-write */
                while (b > 0 && buf[b - 1] != '\n')
                        b--;
                /* Only the newline lost: the line itself is whole and is
                 * the tail; else the chain goes on from the line before. */
                if (jit_audit_split_line(buf + b, end - b, &bl2, want) == 0) {
                        hash_hex(buf + b, bl2, h);
                        if (sodium_memcmp(h, want, JIT_AUDIT_HASH_HEX) == 0) {
                                buf[end] = '\n';
                                end++;
                        }
                }
                if (buf[end - 1] != '\n')
                        end = b;
        }
        if (end == 0)
                return -EBADMSG;
        end--;                                  /* drop the '\n' */
        begin = end;
        while (begin > 0 && buf[begin - 1] != '\n')
                begin--;
        if (jit_audit_split_line(buf + begin, end - begin, &body_len, ret_head) < 0)
                return -EBADMSG;
        j = cJSON_ParseWithLength(buf + begin, end - begin);
        seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
        if (!cJSON_IsNumber(seq) || seq->valuedouble < 1) {
                cJSON_Delete(j);
                return -EBADMSG;
        }
        *ret_seq = (uint64_t)seq->valuedouble;
        cJSON_Delete(j);
        return 0;
}

int jit_audit_open(int dirfd, const unsigned char sk[64], struct jit_audit **ret)
{
        struct jit_audit *a;
        struct stat st;
        bool torn = false;
        int r;

        if (sodium_init() < 0)
                return -EIO;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        /* O_NONBLOCK: a FIFO put in its place must not hang the service
         * (ENXIO with no reader); cleared once it is known to be a file. */
        a->fd = openat(dirfd, JIT_AUDIT_FILE,
                       O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
        if (a->fd < 0) {
                r = -errno;
                free(a);
                return r;
        }
        r = fstat(a->fd, &st) < 0 ? -errno : 0;
        if (r == 0 && !S_ISREG(st.st_mode))
                r = S_ISDIR(st.st_mode) ? -EISDIR : -ENXIO;
        else if (r == 0 && st.st_nlink != 1)
                r = -EMLINK;
        else if (r == 0 && (st.st_uid != geteuid() || (st.st_mode & 077)))
                r = -EPERM;
        if (r == 0 && fcntl(a->fd, F_SETFL, O_APPEND) < 0)
                r = -errno;
        if (r == 0) {
                int rfd = openat(dirfd, JIT_AUDIT_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                struct stat rst;

                r = rfd < 0 ? -errno : fstat(rfd, &rst) < 0 ? -errno :
                    (rst.st_dev != st.st_dev || rst.st_ino != st.st_ino) ? -EPERM :
                    find_tail(rfd, &a->seq, a->head, &torn);
                if (rfd >= 0)
                        close(rfd);
        }
        if (r == 0 && torn && write(a->fd, "\n", 1) != 1)     /* end the torn line; verify names it */
                r = -EIO;
        if (r < 0) {
                close(a->fd);
                free(a);
                return r;
        }
        memcpy(a->sk, sk, sizeof(a->sk));
        a->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (a->dirfd < 0) {
                r = -errno;
                close(a->fd);
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

uint64_t jit_audit_seq(const struct jit_audit *a)
{
        return a ? a->seq : 0;
}

const char *jit_audit_head(const struct jit_audit *a)
{
        return a ? a->head : "";
}

void jit_audit_free(struct jit_audit *a)
{
        if (!a)
                return;
        close(a->fd);
        if (a->dirfd >= 0)
                close(a->dirfd);
        sodium_memzero(a->sk, sizeof(a->sk));
        free(a);
}

static int bad(struct jit_audit_report *rep, uint64_t line, const char *why)
{
        rep->bad_line = line;
        snprintf(rep->why, sizeof(rep->why), "%s", why);
        return -EBADMSG;
}

static int verify_checkpoint(const cJSON *j, uint64_t seq, const char *prev, const unsigned char pk[32])
{
        const cJSON *sig = cJSON_GetObjectItemCaseSensitive(j, "sig");
        unsigned char bin[crypto_sign_BYTES];
        char msg[128];
        size_t got = 0;

        if (!pk || !cJSON_IsString(sig) ||
            sodium_hex2bin(bin, sizeof(bin), sig->valuestring, strlen(sig->valuestring), NULL, &got, NULL) < 0 ||
            got != sizeof(bin))
                return -EBADMSG;
        checkpoint_message(msg, sizeof(msg), seq, prev);
        return crypto_sign_verify_detached(bin, (const unsigned char *)msg, strlen(msg), pk) == 0 ? 0 : -EBADMSG;
}

int jit_audit_check_head(const char *head, size_t head_len, const struct jit_audit_report *rep_ok,
                         const char *last_hash, struct jit_audit_report *rep)
{
        char hash[JIT_AUDIT_HASH_HEX + 1];
        unsigned long long seq;
        char tail;

        *rep = *rep_ok;
        if (head_len > 200 || sscanf(head, "%llu %64s%c", &seq, hash, &tail) != 3 || tail != '\n')
                return bad(rep, rep_ok->lines, "audit.head is not readable");
        if (seq > rep_ok->lines)
                return bad(rep, rep_ok->lines + 1, "missing: the log was cut short (audit.head says it has more lines)");
        if (seq == rep_ok->lines && (!last_hash || strcmp(hash, last_hash) != 0))
                return bad(rep, rep_ok->lines, "the last line is not the one audit.head names");
        return 0;
}

int jit_audit_verify(const char *data, size_t len, const unsigned char pk[32], struct jit_audit_report *rep)
{
        char prev[JIT_AUDIT_HASH_HEX + 1] = ZERO_HASH;
        size_t off = 0;

        memset(rep, 0, sizeof(*rep));
        if (sodium_init() < 0)
                return -EIO;
        while (off < len) {
                const char *nl = memchr(data + off, '\n', len - off);
                size_t ll = nl ? (size_t)(nl - (data + off)) : len - off, body_len;
                char want[JIT_AUDIT_HASH_HEX + 1], got[JIT_AUDIT_HASH_HEX + 1];
                const cJSON *seq, *p, *ev;
                uint64_t n = ++rep->lines;
                cJSON *j;

                if (!nl)
                        return bad(rep, n, "the last line is incomplete (truncated)");
                if (ll > JIT_AUDIT_LINE_MAX || jit_audit_split_line(data + off, ll, &body_len, want) < 0)
                        return bad(rep, n, "not an audit line");
                hash_hex(data + off, body_len, got);
                if (sodium_memcmp(want, got, JIT_AUDIT_HASH_HEX) != 0)
                        return bad(rep, n, "the line was changed (its hash does not match)");
                j = cJSON_ParseWithLength(data + off, ll);
                seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
                p = cJSON_GetObjectItemCaseSensitive(j, "prev");
                ev = cJSON_GetObjectItemCaseSensitive(j, "event");
                if (!cJSON_IsNumber(seq) || seq->valuedouble != (double)n || !cJSON_IsString(ev)) {
                        cJSON_Delete(j);
                        return bad(rep, n, "out of sequence (a line was removed, inserted or moved)");
                }
                if (!cJSON_IsString(p) || strcmp(p->valuestring, prev) != 0) {
                        cJSON_Delete(j);
                        return bad(rep, n, "does not follow the line before it (removed, inserted or moved)");
                }
                if (strcmp(ev->valuestring, "checkpoint") == 0) {
                        if (verify_checkpoint(j, n, prev, pk) < 0) {
                                cJSON_Delete(j);
                                return bad(rep, n, "checkpoint signature does not verify with the host key");
                        }
                        rep->checkpoints++;
                        rep->last_checkpoint_line = n;
                }
                cJSON_Delete(j);
                memcpy(prev, want, sizeof(prev));
                off += ll + 1;
        }
        memcpy(rep->last_hash, prev, sizeof(rep->last_hash));
        return 0;
}
