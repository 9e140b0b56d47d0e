/* test_audit.c — the hash-chained audit log (audit.h): a known-answer
 * vector, tampering, reopening, what a caller can and cannot put in a line,
 * automatic checkpoints and the line splitter.
 *
 * The known answer is tests/data/audit/golden.log: the exact bytes that
 * golden_script() writes with the key derived from GOLDEN_SEED (its public
 * half is golden.pub). The hash and signature checks below recompute them
 * with libsodium directly, never through audit.c. After a deliberate
 * format change, write the new bytes with
 *   JIT_AUDIT_GOLDEN_OUT=/abs/path/golden.log ctest -R unit/audit
 * (the test still compares against the committed file) and read the diff
 * by hand before committing it.
 *
 * audit.c comes from a static library, so write() and fdatasync() defined
 * here stand in for libc's: they record the order of calls (the header's
 * "one write(), then fdatasync" MUST) and can make the sync fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "audit.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GOLDEN_SEED "jit-audit-golden-vector-seed-v1!"  /* 32 bytes */
#define OTHER_SEED  "someone-else's-key-not-the-host!"  /* 32 bytes */
#define TEST_SEED   "jit-audit-unit-test-seed-000001!"  /* 32 bytes */
#define ZEROS64 "0000000000000000000000000000000000000000000000000000000000000000"
#define HASH_KEY ",\"hash\":\""
#define T0 UINT64_C(1718000000000001)   /* a time_us with all 16 digits significant */

/* ---- write()/fdatasync() stand-ins ------------------------------------ */

static struct {
        bool tracing;
        char ops[1024];         /* 'w' per write, 's' per fdatasync */
        size_t n;
        int sync_errno;         /* fail fdatasync with this when non-zero */
        size_t room;            /* when non-zero: write at most this much (a full disk) */
} io;

static void io_note(char op)
{
        if (io.tracing && io.n + 1 < sizeof(io.ops)) {
                io.ops[io.n++] = op;
                io.ops[io.n] = '\0';
        }
}

static void io_trace(bool on)
{
        io.tracing = on;
        io.n = 0;
        io.ops[0] = '\0';
}

ssize_t write(int fd, const void *buf, size_t count)
{
        io_note('w');
        if (io.room && count > io.room)
                count = io.room;
        return syscall(SYS_write, fd, buf, count);
}

int fdatasync(int fd)
{
        io_note('s');
        if (io.sync_errno) {
                errno = io.sync_errno;
                return -1;
        }
        return (int)syscall(SYS_fdatasync, fd);
}

/* ---- fixture: a private 0700 directory and two keys --------------------- */

struct env {
        char dir[64];
        int dfd;
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        unsigned char other_pk[crypto_sign_PUBLICKEYBYTES], other_sk[crypto_sign_SECRETKEYBYTES];
        char *log;              /* the base log of the tamper tests */
        size_t len;
};

static void keypair(const char *seed, unsigned char pk[32], unsigned char sk[64])
{
        assert_int_equal(strlen(seed), crypto_sign_SEEDBYTES);
        assert_int_equal(crypto_sign_seed_keypair(pk, sk, (const unsigned char *)seed), 0);
}

static int env_setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));

        if (!e)
                return -1;
        snprintf(e->dir, sizeof(e->dir), "/tmp/jit-test-audit-XXXXXX");
        if (!mkdtemp(e->dir) || chmod(e->dir, 0700) < 0) {
                free(e);
                return -1;
        }
        e->dfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (e->dfd < 0 || crypto_sign_seed_keypair(e->pk, e->sk, (const unsigned char *)TEST_SEED) < 0 ||
            crypto_sign_seed_keypair(e->other_pk, e->other_sk, (const unsigned char *)OTHER_SEED) < 0) {
                free(e);
                return -1;
        }
        io_trace(false);
        io.sync_errno = 0;
        *state = e;
        return 0;
}

static int env_teardown(void **state)
{
        struct env *e = *state;
        DIR *d = fdopendir(e->dfd);     /* takes e->dfd */
        struct dirent *de;

        io_trace(false);
        io.sync_errno = 0;
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        if (d)
                closedir(d);
        (void)rmdir(e->dir);
        free(e->log);
        free(e);
        return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static char *read_at(int dfd, const char *name, size_t *ret_len)
{
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t)st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
        buf[st.st_size] = '\0';
        close(fd);
        *ret_len = (size_t)st.st_size;
        return buf;
}

static char *read_log(const struct env *e, size_t *ret_len)
{
        return read_at(e->dfd, JIT_AUDIT_FILE, ret_len);
}

static off_t log_size(const struct env *e)
{
        struct stat st;

        assert_int_equal(fstatat(e->dfd, JIT_AUDIT_FILE, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st.st_size;
}

static void write_at(int dfd, const char *name, const char *data, size_t len, mode_t mode)
{
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static char *read_fixture(const char *name, size_t *ret_len)
{
        const char *dir = getenv("JIT_TEST_DATA");
        char path[4096];
        int dfd;
        char *buf;

        if (!dir)
                fail_msg("JIT_TEST_DATA is not set (run through ctest)");
        snprintf(path, sizeof(path), "%s/audit", dir);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                fail_msg("cannot open %s", path);
        buf = read_at(dfd, name, ret_len);
        close(dfd);
        return buf;
}

/* Append event with fields given as JSON text (or NULL). */
static int append_json(struct jit_audit *a, const char *event, uint64_t time_us, const char *json, bool durable)
{
        cJSON *fields = NULL;
        int r;

        if (json) {
                fields = cJSON_Parse(json);
                assert_non_null(fields);
        }
        r = jit_audit_append(a, event, time_us, fields, durable);
        cJSON_Delete(fields);
        return r;
}

static void assert_verifies(const char *data, size_t len, const unsigned char *pk, uint64_t lines)
{
        struct jit_audit_report rep;
        int r = jit_audit_verify(data, len, pk, &rep);

        if (r != 0)
                fail_msg("verify: %d at line %" PRIu64 ": %s", r, rep.bad_line, rep.why);
        assert_int_equal(rep.lines, lines);
        assert_int_equal(rep.bad_line, 0);
}

/* Verification must fail at line `line` for a reason mentioning `why`. */
static void assert_bad_at(const char *data, size_t len, const unsigned char *pk, uint64_t line, const char *why)
{
        struct jit_audit_report rep;
        int r = jit_audit_verify(data, len, pk, &rep);

        if (r != -EBADMSG || rep.bad_line != line || !strstr(rep.why, why))
                fail_msg("want -EBADMSG at line %" PRIu64 " (\"%s\"), got %d at line %" PRIu64 ": %s",
                         line, why, r, rep.bad_line, rep.why);
}

static void hex_hash(const char *body, size_t len, char out[JIT_AUDIT_HASH_HEX + 1])
{
        unsigned char h[32];

        assert_int_equal(crypto_generichash(h, sizeof(h), (const unsigned char *)body, len, NULL, 0), 0);
        sodium_bin2hex(out, JIT_AUDIT_HASH_HEX + 1, h, sizeof(h));
}

static size_t count_of(const char *s, const char *needle)
{
        size_t n = 0;

        for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

/* ---- lines of a log, and forging them (independently of audit.c) ------- */

struct lines {
        char **v;               /* without '\n'; line k is v[k - 1] */
        size_t n;
};

static void lines_split(struct lines *l, const char *data, size_t len)
{
        const char *p = data, *end = data + len;

        memset(l, 0, sizeof(*l));
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);

                l->v = realloc(l->v, (l->n + 1) * sizeof(char *));
                assert_non_null(l->v);
                l->v[l->n] = strndup(p, ll);
                assert_non_null(l->v[l->n]);
                l->n++;
                p += ll + 1;
        }
}

static char *lines_join(const struct lines *l, size_t *ret_len)
{
        size_t len = 0, off = 0;
        char *s;

        for (size_t i = 0; i < l->n; i++)
                len += strlen(l->v[i]) + 1;
        s = malloc(len + 1);
        assert_non_null(s);
        for (size_t i = 0; i < l->n; i++) {
                size_t ll = strlen(l->v[i]);

                memcpy(s + off, l->v[i], ll);
                s[off + ll] = '\n';
                off += ll + 1;
        }
        s[off] = '\0';
        *ret_len = len;
        return s;
}

static void lines_free(struct lines *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        memset(l, 0, sizeof(*l));
}

/* Put s (taken) in as line k, moving the lines from k on down by one. */
static void lines_insert(struct lines *l, size_t k, char *s)
{
        l->v = realloc(l->v, (l->n + 1) * sizeof(char *));
        assert_non_null(l->v);
        memmove(&l->v[k], &l->v[k - 1], (l->n - (k - 1)) * sizeof(char *));
        l->v[k - 1] = s;
        l->n++;
}

/* A line's body length: everything before its last ,"hash":" */
static size_t body_len_of(const char *line)
{
        const char *h = NULL;

        for (const char *p = strstr(line, HASH_KEY); p; p = strstr(p + 1, HASH_KEY))
                h = p;
        assert_non_null(h);
        return (size_t)(h - line);
}

static const char *hash_of(const char *line)
{
        return line + body_len_of(line) + strlen(HASH_KEY);
}

/* A complete line for body: body + ,"hash":"<BLAKE2b-256(body)>"} */
static char *seal(const char *body, size_t len)
{
        char hex[JIT_AUDIT_HASH_HEX + 1];
        char *line = malloc(len + strlen(HASH_KEY) + JIT_AUDIT_HASH_HEX + 3);

        assert_non_null(line);
        hex_hash(body, len, hex);
        memcpy(line, body, len);
        sprintf(line + len, "%s%s\"}", HASH_KEY, hex);
        return line;
}

/* Redo prev and hash of lines first..n, as a forger with write access
 * to the file could: only a checkpoint signature can tell. */
static void reseal_from(struct lines *l, size_t first)
{
        for (size_t k = first; k <= l->n; k++) {
                char *line = l->v[k - 1];
                size_t bl = body_len_of(line);
                const char *prev = k == 1 ? ZEROS64 : hash_of(l->v[k - 2]);

                assert_true(bl > 73);
                assert_memory_equal(line + bl - 73, "\"prev\":\"", 8);
                memcpy(line + bl - 65, prev, JIT_AUDIT_HASH_HEX);
                l->v[k - 1] = seal(line, bl);
                free(line);
        }
}

/* ---- the known-answer vector ------------------------------------------ */

static void golden_script(int dfd, const unsigned char sk[64])
{
        struct jit_audit *a = NULL;

        assert_int_equal(jit_audit_open(dfd, sk, &a), 0);
        assert_int_equal(append_json(a, "service", T0, NULL, true), 0);
        assert_int_equal(append_json(a, "request", T0 + 250001,
                                     "{\"request_id\":\"r-0001\",\"user\":\"alice\",\"role\":\"db-admin\","
                                     "\"message\":\"needs \\\"prod\\\" \\\\ access\\n\\t\\u0001 caf\\u00e9\"}",
                                     true), 0);
        assert_int_equal(append_json(a, "approve", T0 + 61000002,
                                     "{\"request_id\":\"r-0001\",\"approver\":\"bob\",\"decision\":\"approve\","
                                     "\"rule\":\"two-person\"}", true), 0);
        assert_int_equal(append_json(a, "grant", T0 + 61000503,
                                     "{\"grant_id\":\"g-0001\",\"user\":\"alice\",\"group\":\"db-admin\",\"ttl_s\":900,"
                                     "\"detail\":{\"hosts\":[\"db1\",\"db2\"],\"mfa\":true,\"ticket\":null}}",
                                     true), 0);
        assert_int_equal(append_json(a, "use", T0 + 75123456,
                                     "{\"grant_id\":\"g-0001\",\"command\":\"/usr/bin/psql -h db1\"}", false), 0);
        assert_int_equal(jit_audit_checkpoint(a, T0 + 75123457), 0);
        assert_int_equal(append_json(a, "revoke", T0 + 961000503,
                                     "{\"grant_id\":\"g-0001\",\"by\":\"expiry\"}", true), 0);
        assert_int_equal(jit_audit_seq(a), 7);
        jit_audit_free(a);
}

#define GOLDEN_LINES 7
#define GOLDEN_CHECKPOINT 6

static void golden_log_bytes_equal_the_committed_vector(void **state)
{
        struct env *e = *state;
        unsigned char pk[32], sk[64];
        const char *out = getenv("JIT_AUDIT_GOLDEN_OUT");
        char *got, *want;
        size_t got_len, want_len, i;

        keypair(GOLDEN_SEED, pk, sk);
        golden_script(e->dfd, sk);
        got = read_log(e, &got_len);
        if (out) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                assert_true(fd >= 0);
                assert_int_equal(write(fd, got, got_len), (ssize_t)got_len);
                close(fd);
        }
        want = read_fixture("golden.log", &want_len);
        for (i = 0; i < got_len && i < want_len && got[i] == want[i]; i++)
                ;
        if (i != got_len || i != want_len) {
                size_t line = 1;

                for (size_t j = 0; j < i; j++)
                        line += got[j] == '\n';
                fail_msg("the log differs from golden.log at byte %zu (line %zu); lengths %zu and %zu",
                         i, line, got_len, want_len);
        }
        free(got);
        free(want);
}

static void golden_public_key_is_derived_from_the_seed(void **state)
{
        unsigned char pk[32], sk[64];
        char hex[65];
        char *pub;
        size_t len;

        (void)state;
        keypair(GOLDEN_SEED, pk, sk);
        sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
        pub = read_fixture("golden.pub", &len);
        assert_int_equal(len, 65);
        assert_memory_equal(pub, hex, 64);
        assert_int_equal(pub[64], '\n');
        free(pub);
}

/* Every line is one JSON object with seq 1..n, time_us, event, and prev
 * equal to the hash stated by the line before (64 zeros first). */
static void golden_lines_are_json_objects_chained_by_seq_and_prev(void **state)
{
        struct lines l;
        char *data;
        size_t len;

        (void)state;
        data = read_fixture("golden.log", &len);
        assert_true(len > 0 && data[len - 1] == '\n');
        lines_split(&l, data, len);
        assert_int_equal(l.n, GOLDEN_LINES);
        for (size_t k = 1; k <= l.n; k++) {
                cJSON *j = cJSON_Parse(l.v[k - 1]);
                const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
                const cJSON *prev = cJSON_GetObjectItemCaseSensitive(j, "prev");
                const cJSON *hash = cJSON_GetObjectItemCaseSensitive(j, "hash");

                assert_non_null(j);
                assert_memory_equal(l.v[k - 1], "{\"seq\":", 7);
                assert_true(cJSON_IsNumber(seq) && seq->valuedouble == (double)k);
                assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "time_us")));
                assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "event")));
                assert_true(cJSON_IsString(prev) && cJSON_IsString(hash));
                assert_int_equal(strlen(prev->valuestring), JIT_AUDIT_HASH_HEX);
                assert_memory_equal(prev->valuestring, k == 1 ? ZEROS64 : hash_of(l.v[k - 2]), JIT_AUDIT_HASH_HEX);
                assert_int_equal(strlen(hash->valuestring), JIT_AUDIT_HASH_HEX);
                cJSON_Delete(j);
        }
        lines_free(&l);
        free(data);
}

/* Recomputed with crypto_generichash over the body as audit.h defines it,
 * on the line with escapes, control characters and UTF-8 in a field. */
static void golden_line_hash_is_blake2b_256_of_its_body(void **state)
{
        char hex[JIT_AUDIT_HASH_HEX + 1];
        const char *line, *suffix;
        struct lines l;
        char *data;
        size_t len, bl;

        (void)state;
        data = read_fixture("golden.log", &len);
        lines_split(&l, data, len);
        line = l.v[1];
        assert_non_null(strstr(line, "\\u0001"));
        bl = strlen(line) - (strlen(HASH_KEY) + JIT_AUDIT_HASH_HEX + 2);
        suffix = line + bl;
        assert_memory_equal(suffix, HASH_KEY, strlen(HASH_KEY));
        hex_hash(line, bl, hex);
        assert_memory_equal(suffix + strlen(HASH_KEY), hex, JIT_AUDIT_HASH_HEX);
        assert_string_equal(suffix + strlen(HASH_KEY) + JIT_AUDIT_HASH_HEX, "\"}");
        lines_free(&l);
        free(data);
}

static void golden_checkpoint_signature_verifies_with_libsodium(void **state)
{
        unsigned char pk[32], sk[64], sig[crypto_sign_BYTES];
        char msg[128];
        struct lines l;
        const cJSON *s, *p;
        cJSON *j;
        char *data;
        size_t len, got = 0;

        (void)state;
        keypair(GOLDEN_SEED, pk, sk);
        data = read_fixture("golden.log", &len);
        lines_split(&l, data, len);
        j = cJSON_Parse(l.v[GOLDEN_CHECKPOINT - 1]);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "event")->valuestring, "checkpoint");
        s = cJSON_GetObjectItemCaseSensitive(j, "sig");
        p = cJSON_GetObjectItemCaseSensitive(j, "prev");
        assert_true(cJSON_IsString(s) && cJSON_IsString(p));
        assert_int_equal(strlen(p->valuestring), JIT_AUDIT_HASH_HEX);
        assert_memory_equal(p->valuestring, hash_of(l.v[GOLDEN_CHECKPOINT - 2]), JIT_AUDIT_HASH_HEX);
        assert_int_equal(sodium_hex2bin(sig, sizeof(sig), s->valuestring, strlen(s->valuestring), NULL, &got, NULL), 0);
        assert_int_equal(got, sizeof(sig));
        snprintf(msg, sizeof(msg), "jit-audit-checkpoint 1 %d %s", GOLDEN_CHECKPOINT, p->valuestring);
        assert_int_equal(crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk), 0);
        msg[strlen("jit-audit-checkpoint 1 ")] = '7';      /* another seq: must not verify */
        assert_int_not_equal(crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk), 0);
        cJSON_Delete(j);
        lines_free(&l);
        free(data);
}

static void golden_log_verifies_with_its_public_key_only(void **state)
{
        struct jit_audit_report rep;
        unsigned char pk[32], sk[64], other_pk[32], other_sk[64];
        char *data;
        size_t len;

        (void)state;
        keypair(GOLDEN_SEED, pk, sk);
        keypair(OTHER_SEED, other_pk, other_sk);
        data = read_fixture("golden.log", &len);
        assert_int_equal(jit_audit_verify(data, len, pk, &rep), 0);
        assert_int_equal(rep.lines, GOLDEN_LINES);
        assert_int_equal(rep.checkpoints, 1);
        assert_int_equal(rep.last_checkpoint_line, GOLDEN_CHECKPOINT);
        assert_bad_at(data, len, other_pk, GOLDEN_CHECKPOINT, "checkpoint");
        free(data);
}

/* ---- tampering with a 10-line log, checkpoint at line 6 ---------------- */

#define BASE_LINES 10
#define BASE_CHECKPOINT 6

static int tamper_setup(void **state)
{
        struct jit_audit *a = NULL;
        struct env *e;
        char fields[128];

        if (env_setup(state) < 0)
                return -1;
        e = *state;
        if (jit_audit_open(e->dfd, e->sk, &a) < 0) {
                env_teardown(state);
                return -1;
        }
        for (unsigned i = 1; i <= BASE_LINES; i++) {
                snprintf(fields, sizeof(fields), "{\"user\":\"user%u\",\"grant_id\":\"g-%04u\"}", i, i);
                if ((i == BASE_CHECKPOINT ? jit_audit_checkpoint(a, T0 + i * 1000003)
                                          : append_json(a, i % 2 ? "grant" : "use", T0 + i * 1000003, fields,
                                                        i % 2)) < 0) {
                        jit_audit_free(a);
                        env_teardown(state);
                        return -1;
                }
        }
        jit_audit_free(a);
        e->log = read_log(e, &e->len);
        return 0;
}

static void tamper_base_log_verifies(void **state)
{
        struct env *e = *state;
        struct jit_audit_report rep;

        assert_int_equal(jit_audit_verify(e->log, e->len, e->pk, &rep), 0);
        assert_int_equal(rep.lines, BASE_LINES);
        assert_int_equal(rep.checkpoints, 1);
        assert_int_equal(rep.last_checkpoint_line, BASE_CHECKPOINT);
        assert_non_null(strstr(e->log, "\"event\":\"checkpoint\""));
}

static void tamper_one_byte_in_a_body_is_found_at_that_line(void **state)
{
        struct env *e = *state;
        char *p = strstr(e->log, "\"user3\"");

        assert_non_null(p);
        p[5] = '9';                                     /* user3 -> user9 */
        assert_bad_at(e->log, e->len, e->pk, 3, "changed");
}

static void tamper_one_byte_in_a_hash_is_found_at_that_line(void **state)
{
        struct env *e = *state;
        struct lines l;
        char *s;
        size_t len;

        lines_split(&l, e->log, e->len);
        l.v[7][strlen(l.v[7]) - 3] ^= 0x01;             /* a hex digit of line 8's hash */
        s = lines_join(&l, &len);
        assert_bad_at(s, len, e->pk, 8, "changed");
        free(s);
        lines_free(&l);
}

static void tamper_deleted_line_is_found_at_the_line_now_in_its_place(void **state)
{
        struct env *e = *state;
        struct lines l;
        char *s;
        size_t len;

        lines_split(&l, e->log, e->len);
        free(l.v[3]);
        memmove(&l.v[3], &l.v[4], (l.n - 4) * sizeof(char *));
        l.n--;
        s = lines_join(&l, &len);
        assert_bad_at(s, len, e->pk, 4, "");
        free(s);
        lines_free(&l);
}

static void tamper_swapped_lines_are_found_at_the_first_of_them(void **state)
{
        struct env *e = *state;
        struct lines l;
        char *s, *t;
        size_t len;

        lines_split(&l, e->log, e->len);
        t = l.v[7];
        l.v[7] = l.v[8];
        l.v[8] = t;
        s = lines_join(&l, &len);
        assert_bad_at(s, len, e->pk, 8, "");
        free(s);
        lines_free(&l);
}

static void tamper_truncated_last_line_is_found_as_incomplete(void **state)
{
        struct env *e = *state;
        const char *last = e->log + e->len - 1;

        while (last[-1] != '\n')
                last--;
        assert_bad_at(e->log, (size_t)(last - e->log) + 40, e->pk, BASE_LINES, "incomplete");
        assert_bad_at(e->log, e->len - 1, e->pk, BASE_LINES, "incomplete");     /* only the '\n' gone */
        assert_verifies(e->log, (size_t)(last - e->log), e->pk, BASE_LINES - 1);
}

/* A forged line with a correct hash of its own is caught by its seq or
 * prev; one that fits both is caught by the line it displaced. */
static void tamper_inserted_forged_line_is_found_by_seq_or_prev(void **state)
{
        struct env *e = *state;
        const struct {
                unsigned seq;
                bool right_prev;
                uint64_t found_at;
        } forged[] = {
                { 99, true, 4 },        /* wrong seq */
                { 4, false, 4 },        /* wrong prev */
                { 4, true, 5 },         /* fits: the displaced line 4 is out of place */
        };

        for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
                struct lines l;
                char body[256], *s;
                size_t len;

                lines_split(&l, e->log, e->len);
                snprintf(body, sizeof(body),
                         "{\"seq\":%u,\"time_us\":1,\"event\":\"grant\",\"user\":\"mallory\",\"prev\":\"%.64s\"",
                         forged[i].seq, forged[i].right_prev ? hash_of(l.v[2]) : ZEROS64);
                lines_insert(&l, 4, seal(body, strlen(body)));
                s = lines_join(&l, &len);
                assert_bad_at(s, len, e->pk, forged[i].found_at, "");
                free(s);
                lines_free(&l);
        }
}

/* Control for the resealing tests below: resealing untouched lines gives
 * back the very same log, so what they find is the edit, not the helper. */
static void tamper_resealing_an_untouched_log_changes_nothing(void **state)
{
        struct env *e = *state;
        struct lines l;
        char *s;
        size_t len;

        lines_split(&l, e->log, e->len);
        reseal_from(&l, 1);
        s = lines_join(&l, &len);
        assert_int_equal(len, e->len);
        assert_memory_equal(s, e->log, len);
        free(s);
        lines_free(&l);
}

static void tamper_checkpoint_signed_by_another_key_is_a_bad_checkpoint(void **state)
{
        struct env *e = *state;
        unsigned char sig[crypto_sign_BYTES];
        char msg[128], sighex[2 * crypto_sign_BYTES + 1], *p, *s;
        struct lines l;
        size_t len;

        lines_split(&l, e->log, e->len);
        snprintf(msg, sizeof(msg), "jit-audit-checkpoint 1 %d %.64s", BASE_CHECKPOINT, hash_of(l.v[BASE_CHECKPOINT - 2]));
        crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), e->other_sk);
        sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
        p = strstr(l.v[BASE_CHECKPOINT - 1], "\"sig\":\"");
        assert_non_null(p);
        memcpy(p + 7, sighex, 2 * crypto_sign_BYTES);
        reseal_from(&l, BASE_CHECKPOINT);
        s = lines_join(&l, &len);
        assert_bad_at(s, len, e->pk, BASE_CHECKPOINT, "checkpoint");
        assert_verifies(s, len, e->other_pk, BASE_LINES);       /* the forger's key would accept it */
        free(s);
        lines_free(&l);
}

/* Rewriting history before a checkpoint and redoing every hash after it
 * is caught by the checkpoint: it signs the hash of the line before it. */
static void tamper_rechained_edit_before_a_checkpoint_breaks_it(void **state)
{
        struct env *e = *state;
        struct lines l;
        char *p, *s;
        size_t len;

        lines_split(&l, e->log, e->len);
        p = strstr(l.v[2], "\"user3\"");
        assert_non_null(p);
        p[5] = '9';
        reseal_from(&l, 3);
        s = lines_join(&l, &len);
        assert_bad_at(s, len, e->pk, BASE_CHECKPOINT, "checkpoint");
        free(s);
        lines_free(&l);
}

static void tamper_without_a_key_checkpoints_count_as_bad(void **state)
{
        struct env *e = *state;

        assert_bad_at(e->log, e->len, NULL, BASE_CHECKPOINT, "checkpoint");
}

static void verify_accepts_an_empty_log(void **state)
{
        struct jit_audit_report rep;

        (void)state;
        assert_int_equal(jit_audit_verify("", 0, NULL, &rep), 0);
        assert_int_equal(rep.lines, 0);
}

/* ---- opening an existing log ------------------------------------------ */

static void open_creates_the_log_with_mode_0600(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct stat st;
        mode_t old = umask(0);

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        umask(old);
        assert_int_equal(fstatat(e->dfd, JIT_AUDIT_FILE, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(jit_audit_seq(a), 0);
        jit_audit_free(a);
}

static void open_continues_the_chain_of_an_existing_log(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct lines l;
        char *s;
        size_t len;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        for (unsigned i = 0; i < 3; i++)
                assert_int_equal(append_json(a, "grant", T0 + i, "{\"user\":\"alice\"}", true), 0);
        jit_audit_free(a);
        a = NULL;
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(jit_audit_seq(a), 3);
        assert_int_equal(append_json(a, "revoke", T0 + 10, NULL, true), 0);
        assert_int_equal(jit_audit_checkpoint(a, T0 + 11), 0);
        assert_int_equal(jit_audit_seq(a), 5);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_verifies(s, len, e->pk, 5);
        lines_split(&l, s, len);
        assert_memory_equal(l.v[3], "{\"seq\":4,", 9);
        assert_memory_equal(strstr(l.v[3], "\"prev\":\"") + 8, hash_of(l.v[2]), JIT_AUDIT_HASH_HEX);
        lines_free(&l);
        free(s);
}

/* Write n lines, then the first `keep` bytes of one more line (torn). */
static void write_torn_log(struct env *e, unsigned n, size_t keep)
{
        struct jit_audit *a = NULL;
        char *s;
        size_t len;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        for (unsigned i = 0; i <= n; i++)
                assert_int_equal(append_json(a, "grant", T0 + i, "{\"user\":\"alice\"}", true), 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        write_at(e->dfd, JIT_AUDIT_FILE, s, len - (strlen(strrchr(s, '{')) - keep), 0600);
        free(s);
}

static void open_after_a_torn_line_appends_and_verify_names_it(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct lines l;
        char *s;
        size_t len;

        write_torn_log(e, 4, 40);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(jit_audit_seq(a), 4);
        assert_int_equal(append_json(a, "revoke", T0 + 10, NULL, true), 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_bad_at(s, len, e->pk, 5, "");
        lines_split(&l, s, len);
        assert_int_equal(l.n, 6);
        assert_int_equal(strlen(l.v[4]), 40);                   /* the torn line, on a line of its own */
        assert_memory_equal(l.v[5], "{\"seq\":5,", 9);          /* the chain goes on from line 4 */
        assert_memory_equal(strstr(l.v[5], "\"prev\":\"") + 8, hash_of(l.v[3]), JIT_AUDIT_HASH_HEX);
        lines_free(&l);
        free(s);
}

/* A crash can tear a line just before its '\n'. That line is then whole:
 * the log must either carry on from it (and verify), or verify must name
 * it — not fork the chain and blame the next, honest line. */
static void open_after_a_line_torn_before_its_newline_keeps_one_chain(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct jit_audit_report rep;
        char *s;
        size_t len, whole;
        int r;

        write_torn_log(e, 4, 0);
        s = read_log(e, &len);                  /* 4 lines: make the last lose its '\n' */
        write_at(e->dfd, JIT_AUDIT_FILE, s, len - 1, 0600);
        free(s);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(append_json(a, "revoke", T0 + 10, NULL, true), 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        whole = count_of(s, "\"seq\":4,");
        r = jit_audit_verify(s, len, e->pk, &rep);
        free(s);
        if (r != 0 && rep.bad_line != 4)
                fail_msg("a line torn before its newline: verify fails at line %" PRIu64 " (%s), not at the torn "
                         "line 4; the log holds %zu lines with seq 4",
                         rep.bad_line, rep.why, whole);
}

static void open_refuses_a_log_others_can_read(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        write_at(e->dfd, JIT_AUDIT_FILE, "", 0, 0644);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -EPERM);
        assert_null(a);
        assert_int_equal(log_size(e), 0);
}

static void open_refuses_a_log_with_a_second_hard_link(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        write_at(e->dfd, JIT_AUDIT_FILE, "", 0, 0600);
        assert_int_equal(linkat(e->dfd, JIT_AUDIT_FILE, e->dfd, "elsewhere", 0), 0);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -EMLINK);
        assert_null(a);
}

/* A FIFO in the log's place: refused at once, not waited on for a reader
 * (the service would hang at start, deaf even to SIGTERM). */
static void open_refuses_a_fifo_without_blocking(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        assert_int_equal(mkfifoat(e->dfd, JIT_AUDIT_FILE, 0600), 0);
        alarm(10);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -ENXIO);
        alarm(0);
        assert_null(a);
}

static void open_refuses_a_directory(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        assert_int_equal(mkdirat(e->dfd, JIT_AUDIT_FILE, 0700), 0);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -EISDIR);
        assert_null(a);
        assert_int_equal(unlinkat(e->dfd, JIT_AUDIT_FILE, AT_REMOVEDIR), 0);
}

static void open_refuses_a_log_owned_by_someone_else(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        if (geteuid() != 0)
                skip();
        write_at(e->dfd, JIT_AUDIT_FILE, "", 0, 0600);
        assert_int_equal(fchownat(e->dfd, JIT_AUDIT_FILE, 65534, 65534, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -EPERM);
        assert_null(a);
}

static void open_refuses_a_symlink(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct stat st;

        write_at(e->dfd, "target", "", 0, 0600);
        assert_int_equal(symlinkat("target", e->dfd, JIT_AUDIT_FILE), 0);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -ELOOP);
        assert_null(a);
        assert_int_equal(fstatat(e->dfd, "target", &st, 0), 0);
        assert_int_equal(st.st_size, 0);
        assert_int_equal(unlinkat(e->dfd, JIT_AUDIT_FILE, 0), 0);
        assert_int_equal(symlinkat("absent", e->dfd, JIT_AUDIT_FILE), 0);       /* dangling: not created */
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -ELOOP);
        assert_int_equal(fstatat(e->dfd, "absent", &st, 0), -1);
}

static void open_refuses_a_log_whose_last_line_is_not_a_link(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        const char *text = "{\"seq\":1,\"event\":\"grant\"}\n";

        write_at(e->dfd, JIT_AUDIT_FILE, text, strlen(text), 0600);
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), -EBADMSG);
        assert_null(a);
}

/* ---- appending -------------------------------------------------------- */

static void append_ignores_caller_fields_that_would_forge_the_chain(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        const char *forged = "{\"seq\":99,\"time_us\":1,\"event\":\"checkpoint\",\"user\":\"mallory\","
                             "\"prev\":\"" "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "\","
                             "\"hash\":\"" ZEROS64 "\",\"sig\":\"abcd\"}";
        const cJSON *v;
        struct lines l;
        cJSON *j;
        char *s;
        size_t len;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(append_json(a, "grant", 42, forged, true), 0);
        assert_int_equal(append_json(a, "use", 43, forged, false), 0);
        assert_int_equal(jit_audit_seq(a), 2);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_verifies(s, len, NULL, 2);
        lines_split(&l, s, len);
        for (size_t k = 1; k <= 2; k++) {
                const char *line = l.v[k - 1];

                j = cJSON_Parse(line);
                assert_non_null(j);
                assert_true(cJSON_GetObjectItemCaseSensitive(j, "seq")->valuedouble == (double)k);
                assert_true(cJSON_GetObjectItemCaseSensitive(j, "time_us")->valuedouble == (double)(41 + k));
                assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "event")->valuestring, k == 1 ? "grant" : "use");
                v = cJSON_GetObjectItemCaseSensitive(j, "user");
                assert_true(cJSON_IsString(v) && strcmp(v->valuestring, "mallory") == 0);
                assert_null(cJSON_GetObjectItemCaseSensitive(j, "sig"));
                assert_int_equal(count_of(line, "\"seq\":"), 1);
                assert_int_equal(count_of(line, "\"time_us\":"), 1);
                assert_int_equal(count_of(line, "\"event\":"), 1);
                assert_int_equal(count_of(line, "\"prev\":"), 1);
                assert_int_equal(count_of(line, "\"hash\":"), 1);
                assert_memory_equal(strstr(line, "\"prev\":\"") + 8, k == 1 ? ZEROS64 : hash_of(l.v[0]), 64);
                cJSON_Delete(j);
        }
        lines_free(&l);
        free(s);
}

static void append_keeps_a_newline_in_a_field_on_one_line(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        char *s;
        size_t len;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(append_json(a, "use", T0, "{\"command\":\"a\\nb\\r\\n{\\\"seq\\\":2}\\n\"}", false), 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_int_equal(count_of(s, "\n"), 1);
        assert_verifies(s, len, e->pk, 1);
        free(s);
}

static void append_refuses_a_line_over_the_maximum_and_writes_nothing(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        cJSON *fields = cJSON_CreateObject();
        char *big = malloc(JIT_AUDIT_LINE_MAX + 1), *s;
        off_t before;
        size_t len;

        assert_non_null(fields);
        assert_non_null(big);
        memset(big, 'x', JIT_AUDIT_LINE_MAX);
        big[JIT_AUDIT_LINE_MAX] = '\0';
        assert_non_null(cJSON_AddStringToObject(fields, "command", big));
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(append_json(a, "grant", T0, "{\"user\":\"alice\"}", true), 0);
        before = log_size(e);
        io_trace(true);
        assert_int_equal(jit_audit_append(a, "use", T0 + 1, fields, true), -EMSGSIZE);
        assert_string_equal(io.ops, "");
        io_trace(false);
        assert_int_equal(log_size(e), before);
        assert_int_equal(jit_audit_seq(a), 1);
        assert_int_equal(append_json(a, "revoke", T0 + 2, NULL, true), 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_verifies(s, len, e->pk, 2);
        free(s);
        free(big);
        cJSON_Delete(fields);
}

/* Around the limit, whatever append accepts, verify accepts too, and a
 * line over JIT_AUDIT_LINE_MAX bytes (without its '\n') is refused. */
static void append_never_writes_a_line_verify_would_refuse(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        cJSON *fields = cJSON_CreateObject();
        char *pad = calloc(1, JIT_AUDIT_LINE_MAX + 1), *s;
        size_t empty_len, len, accepted = 0;

        assert_non_null(fields);
        assert_non_null(pad);
        assert_non_null(cJSON_AddStringToObject(fields, "pad", ""));
        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(jit_audit_append(a, "use", T0, fields, false), 0);
        empty_len = (size_t)log_size(e) - 1;            /* the line with an empty pad */
        for (size_t want = JIT_AUDIT_LINE_MAX - 3; want <= JIT_AUDIT_LINE_MAX + 2; want++) {
                off_t before = log_size(e);
                int r;

                memset(pad, 'p', want - empty_len);
                pad[want - empty_len] = '\0';
                cJSON_DeleteItemFromObject(fields, "pad");
                assert_non_null(cJSON_AddStringToObject(fields, "pad", pad));
                r = jit_audit_append(a, "use", T0, fields, false);
                if (r == 0) {
                        assert_int_equal((size_t)(log_size(e) - before), want + 1);
                        assert_true(want <= JIT_AUDIT_LINE_MAX);
                        accepted++;
                } else {
                        assert_int_equal(r, -EMSGSIZE);
                        assert_int_equal(log_size(e), before);
                }
        }
        assert_true(accepted > 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_verifies(s, len, e->pk, 1 + accepted);
        free(s);
        free(pad);
        cJSON_Delete(fields);
}

/* audit.h: one write() per line, and fdatasync before a durable append
 * or a checkpoint returns; the fast path does not sync. After a durable
 * line, audit.head is replaced (one more write(), to its temp file). */
static void append_writes_once_and_syncs_only_when_durable(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        io_trace(true);
        assert_int_equal(append_json(a, "grant", T0, "{\"user\":\"alice\"}", true), 0);
        assert_string_equal(io.ops, "wsw");
        io_trace(true);
        assert_int_equal(append_json(a, "use", T0 + 1, "{\"user\":\"alice\"}", false), 0);
        assert_string_equal(io.ops, "w");
        io_trace(true);
        assert_int_equal(jit_audit_checkpoint(a, T0 + 2), 0);
        assert_string_equal(io.ops, "wsw");
        io_trace(false);
        jit_audit_free(a);
}

static void append_whose_sync_fails_reports_it(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        io.sync_errno = EIO;
        assert_int_equal(append_json(a, "grant", T0, "{\"user\":\"alice\"}", true), -EIO);
        assert_int_equal(jit_audit_checkpoint(a, T0 + 1), -EIO);
        io.sync_errno = 0;
        jit_audit_free(a);
}

/* A sync that fails after the line was written leaves that line in the
 * file. Whatever the log does next, it must not write a second line with
 * the same seq and prev (a fork that verify then blames on the next line). */
static void append_after_a_failed_sync_does_not_fork_the_chain(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct jit_audit_report rep;
        char *s;
        size_t len, twice;
        int r;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(append_json(a, "request", T0, "{\"user\":\"alice\"}", true), 0);
        io.sync_errno = EIO;
        assert_true(append_json(a, "grant", T0 + 1, "{\"user\":\"alice\"}", true) < 0);
        io.sync_errno = 0;
        (void)append_json(a, "service", T0 + 2, "{\"message\":\"next event\"}", true);
        jit_audit_free(a);
        s = read_log(e, &len);
        r = jit_audit_verify(s, len, e->pk, &rep);
        twice = count_of(s, "{\"seq\":2,");
        free(s);
        if (r != 0)
                fail_msg("after a failed fdatasync: verify fails at line %" PRIu64 " (%s); the log holds %zu "
                         "lines with seq 2", rep.bad_line, rep.why, twice);
}

/* A disk that fills mid-line takes only part of it: the piece must not
 * stay, or the next line is glued to it and the chain is broken for good. */
static void append_cut_short_by_a_full_disk_leaves_no_torn_line(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct jit_audit_report rep;
        off_t before;
        char *s;
        size_t len;
        int r;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        assert_int_equal(append_json(a, "request", T0, "{\"user\":\"alice\"}", true), 0);
        before = log_size(e);
        io.room = 40;
        assert_int_equal(append_json(a, "grant", T0 + 1, "{\"user\":\"alice\"}", true), -EIO);
        io.room = 0;
        assert_int_equal(log_size(e), before);
        assert_int_equal(append_json(a, "error", T0 + 2, "{\"message\":\"next event\"}", true), 0);
        jit_audit_free(a);
        s = read_log(e, &len);
        r = jit_audit_verify(s, len, e->pk, &rep);
        free(s);
        if (r != 0)
                fail_msg("after a write cut short: verify fails at line %" PRIu64 " (%s)", rep.bad_line, rep.why);
        assert_int_equal(rep.lines, 2);
}

/* ---- checkpoints ------------------------------------------------------ */

/* audit.head: whole lines cut off the end of the log are noticed; a head
 * behind the log (unsynced uses after it) is fine; a bad head is bad. */
static void head_notices_lines_cut_off_the_end(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct jit_audit_report rep, ok;
        char *s, *head;
        size_t len, hlen, cut;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        for (unsigned i = 1; i <= 5; i++)
                assert_int_equal(append_json(a, "grant", T0 + i, "{\"user\":\"alice\"}", true), 0);
        assert_int_equal(append_json(a, "use", T0 + 6, NULL, false), 0);       /* not in the head */
        jit_audit_free(a);
        s = read_log(e, &len);
        head = read_at(e->dfd, JIT_AUDIT_HEAD_FILE, &hlen);
        assert_int_equal(jit_audit_verify(s, len, e->pk, &ok), 0);
        assert_int_equal(ok.lines, 6);
        assert_int_equal(jit_audit_check_head(head, hlen, &ok, ok.last_hash, &rep), 0);
        /* Cut the last two lines: the log still verifies on its own ... */
        cut = len;
        for (int n = 0; n < 2; n++)
                for (cut--; cut > 0 && s[cut - 1] != '\n'; cut--)
                        ;
        assert_int_equal(jit_audit_verify(s, cut, e->pk, &ok), 0);
        assert_int_equal(ok.lines, 4);
        /* ... but not against the head, which names line 5. */
        assert_int_equal(jit_audit_check_head(head, hlen, &ok, ok.last_hash, &rep), -EBADMSG);
        assert_int_equal(rep.bad_line, 5);
        assert_non_null(strstr(rep.why, "cut short"));
        assert_int_equal(jit_audit_check_head("garbage", 7, &ok, ok.last_hash, &rep), -EBADMSG);
        free(head);
        free(s);
}

static void checkpoint_is_written_every_so_many_appends(void **state)
{
        struct env *e = *state;
        struct jit_audit *a = NULL;
        struct jit_audit_report rep;
        const unsigned every = JIT_AUDIT_CHECKPOINT_EVERY;
        char *s;
        size_t len;

        assert_int_equal(jit_audit_open(e->dfd, e->sk, &a), 0);
        for (unsigned i = 1; i < every; i++)
                assert_int_equal(append_json(a, "use", T0 + i, NULL, false), 0);
        assert_int_equal(jit_audit_seq(a), every - 1);
        io_trace(true);
        assert_int_equal(append_json(a, "use", T0 + every, NULL, false), 0);
        assert_string_equal(io.ops, "wwsw");                    /* the line, then a synced checkpoint and its head */
        io_trace(false);
        assert_int_equal(jit_audit_seq(a), every + 1);
        assert_int_equal(jit_audit_checkpoint(a, T0 + every + 1), 0);   /* by hand: starts the count again */
        for (unsigned i = 1; i <= every; i++)
                assert_int_equal(append_json(a, "use", T0 + every + 1 + i, NULL, false), 0);
        assert_int_equal(jit_audit_seq(a), 2 * every + 3);
        jit_audit_free(a);
        s = read_log(e, &len);
        assert_int_equal(jit_audit_verify(s, len, e->pk, &rep), 0);
        assert_int_equal(rep.lines, 2 * every + 3);
        assert_int_equal(rep.checkpoints, 3);
        assert_int_equal(rep.last_checkpoint_line, 2 * every + 3);
        assert_int_equal(count_of(s, "\"event\":\"checkpoint\""), 3);
        free(s);
}

/* ---- the line splitter ------------------------------------------------ */

#define GOOD_HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define GOOD_BODY "{\"seq\":1,\"time_us\":5,\"event\":\"grant\",\"prev\":\"" ZEROS64 "\""

static void split_line_accepts_the_documented_suffix(void **state)
{
        const char *line = GOOD_BODY ",\"hash\":\"" GOOD_HASH "\"}";
        char hash[JIT_AUDIT_HASH_HEX + 1];
        size_t body_len = 0;

        (void)state;
        assert_int_equal(jit_audit_split_line(line, strlen(line), &body_len, hash), 0);
        assert_int_equal(body_len, strlen(GOOD_BODY));
        assert_string_equal(hash, GOOD_HASH);
}

static void split_line_rejects_every_variant_and_leaves_outputs_alone(void **state)
{
        const char *bad[] = {
                GOOD_BODY ",\"hash\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}",
                GOOD_BODY ",\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\"}",
                GOOD_BODY ",\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\"}",
                GOOD_BODY ",\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"}",
                GOOD_BODY ",\"hash\":\"" GOOD_HASH "\"",
                GOOD_BODY ",\"hash\":\"" GOOD_HASH "\"}\n",
                GOOD_BODY ",\"hash\":\"" GOOD_HASH "\"} ",
                GOOD_BODY ",\"Hash\":\"" GOOD_HASH "\"}",
                GOOD_BODY ", \"hash\":\"" GOOD_HASH "\"}",
                GOOD_BODY ",\"hash\": \"" GOOD_HASH "\"}",
                "\"seq\":1,\"prev\":\"" ZEROS64 "\",\"hash\":\"" GOOD_HASH "\"}",
                "{,\"hash\":\"" GOOD_HASH "\"}",
                "",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char hash[JIT_AUDIT_HASH_HEX + 1] = "untouched";
                size_t body_len = 12345;

                if (jit_audit_split_line(bad[i], strlen(bad[i]), &body_len, hash) != -EBADMSG)
                        fail_msg("accepted variant %zu: %s", i, bad[i]);
                assert_int_equal(body_len, 12345);
                assert_string_equal(hash, "untouched");
        }
}

#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
#define TAMPER(f) cmocka_unit_test_setup_teardown(f, tamper_setup, env_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(golden_log_bytes_equal_the_committed_vector),
                T(golden_public_key_is_derived_from_the_seed),
                T(golden_lines_are_json_objects_chained_by_seq_and_prev),
                T(golden_line_hash_is_blake2b_256_of_its_body),
                T(golden_checkpoint_signature_verifies_with_libsodium),
                T(golden_log_verifies_with_its_public_key_only),
                TAMPER(tamper_base_log_verifies),
                TAMPER(tamper_one_byte_in_a_body_is_found_at_that_line),
                TAMPER(tamper_one_byte_in_a_hash_is_found_at_that_line),
                TAMPER(tamper_deleted_line_is_found_at_the_line_now_in_its_place),
                TAMPER(tamper_swapped_lines_are_found_at_the_first_of_them),
                TAMPER(tamper_truncated_last_line_is_found_as_incomplete),
                TAMPER(tamper_inserted_forged_line_is_found_by_seq_or_prev),
                TAMPER(tamper_resealing_an_untouched_log_changes_nothing),
                TAMPER(tamper_checkpoint_signed_by_another_key_is_a_bad_checkpoint),
                TAMPER(tamper_rechained_edit_before_a_checkpoint_breaks_it),
                TAMPER(tamper_without_a_key_checkpoints_count_as_bad),
                T(verify_accepts_an_empty_log),
                T(open_creates_the_log_with_mode_0600),
                T(open_continues_the_chain_of_an_existing_log),
                T(open_after_a_torn_line_appends_and_verify_names_it),
                T(open_after_a_line_torn_before_its_newline_keeps_one_chain),
                T(open_refuses_a_log_others_can_read),
                T(open_refuses_a_log_with_a_second_hard_link),
                T(open_refuses_a_fifo_without_blocking),
                T(open_refuses_a_directory),
                T(open_refuses_a_log_owned_by_someone_else),
                T(open_refuses_a_symlink),
                T(open_refuses_a_log_whose_last_line_is_not_a_link),
                T(append_ignores_caller_fields_that_would_forge_the_chain),
                T(append_keeps_a_newline_in_a_field_on_one_line),
                T(append_refuses_a_line_over_the_maximum_and_writes_nothing),
                T(append_never_writes_a_line_verify_would_refuse),
                T(append_writes_once_and_syncs_only_when_durable),
                T(append_whose_sync_fails_reports_it),
                T(append_after_a_failed_sync_does_not_fork_the_chain),
                T(append_cut_short_by_a_full_disk_leaves_no_torn_line),
                T(checkpoint_is_written_every_so_many_appends),
                T(head_notices_lines_cut_off_the_end),
                T(split_line_accepts_the_documented_suffix),
                T(split_line_rejects_every_variant_and_leaves_outputs_alone),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
