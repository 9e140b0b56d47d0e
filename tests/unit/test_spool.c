/* test_spool.c — the files backend of spool.h, in a private temp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "record.h"
#include "spool.h"
#include "strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct env {
        char dir[64];
        struct jit_spool *spool;
};

/* What one load returned. */
struct loaded {
        struct jit_request **reqs;
        size_t nreqs;
        struct jit_grant **grants;
        size_t ngrants;
        char **bad;
};

static void rm_tree(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;

        if (d) {
                while ((de = readdir(d))) {
                        char sub[512];

                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
                        if (de->d_type == DT_DIR)
                                rm_tree(sub);
                        else
                                (void)unlink(sub);
                }
                closedir(d);
        }
        (void)rmdir(path);
}

static int spool_setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));

        if (!e)
                return -1;
        snprintf(e->dir, sizeof(e->dir), "/tmp/jit-test-spool-XXXXXX");
        if (!mkdtemp(e->dir) || chmod(e->dir, 0700) < 0 || jit_spool_open_files(e->dir, &e->spool) < 0) {
                free(e);
                return -1;
        }
        *state = e;
        return 0;
}

static int spool_teardown(void **state)
{
        struct env *e = *state;

        jit_spool_free(e->spool);
        rm_tree(e->dir);
        free(e);
        return 0;
}

static void load(struct env *e, struct loaded *l)
{
        memset(l, 0, sizeof(*l));
        assert_int_equal(jit_spool_load(e->spool, &l->reqs, &l->nreqs, &l->grants, &l->ngrants, &l->bad), 0);
}

static void loaded_free(struct loaded *l)
{
        for (size_t i = 0; i < l->nreqs; i++)
                jit_request_free(l->reqs[i]);
        for (size_t i = 0; i < l->ngrants; i++)
                jit_grant_free(l->grants[i]);
        free(l->reqs);
        free(l->grants);
        jit_strv_free(l->bad);
}

static void path_in(char *buf, size_t size, const struct env *e, const char *sub, const char *name)
{
        snprintf(buf, size, "%s/%s/%s", e->dir, sub, name);
}

/* Names in dir/sub, dot files included, "." and ".." not. */
static size_t count_entries(const struct env *e, const char *sub)
{
        char path[256];
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "%s/%s", e->dir, sub);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static void write_file(const char *path, const char *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static bool bad_mentions(char **bad, const char *what)
{
        for (size_t i = 0; bad && bad[i]; i++)
                if (strstr(bad[i], what))
                        return true;
        return false;
}

static void sample_request(struct jit_request *r, const char *id, enum jit_request_state st)
{
        static char *cmd[] = { "/usr/bin/systemctl", "restart", "nginx", NULL };
        static char *reasons[] = { "no template matches", NULL };

        *r = (struct jit_request){
                .state = st, .user = "alice", .uid = 1000, .role = "ops", .group = "jit-ops",
                .ttl = 900, .reason = "deploy", .service = "sudo", .tty = "/dev/pts/1",
                .command = cmd, .created_us = 1700000000000001ULL, .deadline_us = 1700003600000001ULL,
                .policy_reasons = reasons, .decided_by = "carol", .decided_at_us = 1700000060000001ULL,
        };
        strcpy(r->id, id);
        strcpy(r->grant_id, st == JIT_REQ_APPROVED ? "g-abcdefghjk" : "");
}

static void sample_grant(struct jit_grant *g, const char *id)
{
        *g = (struct jit_grant){
                .state = JIT_GRANT_ACTIVE, .user = "alice", .uid = 1000, .role = "ops",
                .group = "jit-ops", .approved_by = "carol", .created_us = 1700000060000001ULL,
                .expires_us = 1700000960000001ULL, .timer = "jit-expire-g-abcdefghjk.timer",
        };
        strcpy(g->id, id);
        strcpy(g->request_id, "r-0123456789");
}

/* Two records are equal when their JSON forms are. */
static void assert_request_equal(const struct jit_request *a, const struct jit_request *b)
{
        cJSON *ja = jit_request_to_json(a), *jb = jit_request_to_json(b);

        assert_non_null(ja);
        assert_non_null(jb);
        assert_true(cJSON_Compare(ja, jb, true));
        cJSON_Delete(ja);
        cJSON_Delete(jb);
}

static void assert_grant_equal(const struct jit_grant *a, const struct jit_grant *b)
{
        cJSON *ja = jit_grant_to_json(a), *jb = jit_grant_to_json(b);

        assert_non_null(ja);
        assert_non_null(jb);
        assert_true(cJSON_Compare(ja, jb, true));
        cJSON_Delete(ja);
        cJSON_Delete(jb);
}

/* ---- tests -------------------------------------------------------------- */

static void t_open_creates_private_subdirectories(void **state)
{
        struct env *e = *state;
        char path[256];
        struct stat st;

        snprintf(path, sizeof(path), "%s/requests", e->dir);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        snprintf(path, sizeof(path), "%s/grants", e->dir);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
}

static void t_empty_spool_loads_nothing(void **state)
{
        struct loaded l;

        load(*state, &l);
        assert_int_equal(l.nreqs, 0);
        assert_int_equal(l.ngrants, 0);
        assert_null(l.bad);
        loaded_free(&l);
}

static void t_put_records_load_back_equal(void **state)
{
        struct env *e = *state;
        struct jit_request r;
        struct jit_grant g;
        struct loaded l;

        sample_request(&r, "r-0123456789", JIT_REQ_APPROVED);
        sample_grant(&g, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);

        load(e, &l);
        assert_null(l.bad);
        assert_int_equal(l.nreqs, 1);
        assert_int_equal(l.ngrants, 1);
        assert_request_equal(&r, l.reqs[0]);
        assert_grant_equal(&g, l.grants[0]);
        assert_string_equal(l.reqs[0]->command[2], "nginx");
        assert_int_equal(l.grants[0]->expires_us, 1700000960000001ULL);
        loaded_free(&l);
}

static void t_record_files_are_private_and_named_by_id(void **state)
{
        struct env *e = *state;
        struct jit_grant g;
        char path[256];
        struct stat st;

        sample_grant(&g, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);
        path_in(path, sizeof(path), e, "grants", "g-abcdefghjk");
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(count_entries(e, "grants"), 1);
        assert_int_equal(count_entries(e, "requests"), 0);
}

static void t_many_records_load_back(void **state)
{
        struct env *e = *state;
        struct loaded l;
        bool seen[8] = { false };

        for (int i = 0; i < 8; i++) {
                struct jit_request r;
                char id[JIT_ID_LEN + 1];

                snprintf(id, sizeof(id), "r-000000000%d", i);
                sample_request(&r, id, JIT_REQ_PENDING);
                r.ttl = 60 * (uint64_t)(i + 1);
                assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        }
        load(e, &l);
        assert_null(l.bad);
        assert_int_equal(l.nreqs, 8);
        for (size_t i = 0; i < l.nreqs; i++) {
                int n = l.reqs[i]->id[JIT_ID_LEN - 1] - '0';

                assert_in_range(n, 0, 7);
                assert_false(seen[n]);
                seen[n] = true;
                assert_int_equal(l.reqs[i]->ttl, 60 * (uint64_t)(n + 1));
        }
        loaded_free(&l);
}

/* A directory lists in hash order; the service walks its records oldest
 * first (list --all answers the newest), so load sorts them: by
 * created_us, then by id. */
static void t_load_returns_each_kind_oldest_first(void **state)
{
        static const struct { const char *id; uint64_t at; } reqs[] = {
                { "r-000000000z", 30 }, { "r-0000000001", 50 }, { "r-000000000k", 10 },
                { "r-000000000b", 30 }, { "r-0000000000", 40 }, { "r-000000000y", 20 },
        };
        static const char *const want_reqs[] = { "r-000000000k", "r-000000000y", "r-000000000b",
                                                 "r-000000000z", "r-0000000000", "r-0000000001" };
        static const struct { const char *id; uint64_t at; } grants[] = {
                { "g-0000000003", 3 }, { "g-000000000x", 1 }, { "g-0000000002", 2 },
        };
        static const char *const want_grants[] = { "g-000000000x", "g-0000000002", "g-0000000003" };
        struct env *e = *state;
        struct loaded l;

        for (size_t i = 0; i < 6; i++) {
                struct jit_request r;

                sample_request(&r, reqs[i].id, JIT_REQ_DENIED);
                r.created_us = 1700000000000000ULL + reqs[i].at;
                assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        }
        for (size_t i = 0; i < 3; i++) {
                struct jit_grant g;

                sample_grant(&g, grants[i].id);
                g.created_us = 1700000000000000ULL + grants[i].at;
                assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);
        }
        load(e, &l);
        assert_null(l.bad);
        assert_int_equal(l.nreqs, 6);
        assert_int_equal(l.ngrants, 3);
        for (size_t i = 0; i < 6; i++)
                assert_string_equal(l.reqs[i]->id, want_reqs[i]);
        for (size_t i = 0; i < 3; i++)
                assert_string_equal(l.grants[i]->id, want_grants[i]);
        loaded_free(&l);
}

static void t_overwrite_keeps_one_file_with_the_latest_record(void **state)
{
        struct env *e = *state;
        struct jit_request r;
        struct loaded l;

        sample_request(&r, "r-0123456789", JIT_REQ_PENDING);
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        sample_request(&r, "r-0123456789", JIT_REQ_APPROVED);
        r.comment = "approved after review";
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);

        assert_int_equal(count_entries(e, "requests"), 1);     /* no temp file left behind */
        load(e, &l);
        assert_null(l.bad);
        assert_int_equal(l.nreqs, 1);
        assert_int_equal(l.reqs[0]->state, JIT_REQ_APPROVED);
        assert_string_equal(l.reqs[0]->comment, "approved after review");
        assert_request_equal(&r, l.reqs[0]);
        loaded_free(&l);
}

static void t_corrupted_file_is_reported_and_not_returned(void **state)
{
        struct env *e = *state;
        struct jit_request r;
        struct jit_grant g;
        struct loaded l;
        char path[256], *data;
        struct stat st;
        int fd;

        sample_request(&r, "r-0123456789", JIT_REQ_APPROVED);
        sample_grant(&g, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);

        /* flip one byte in the middle of the grant's body */
        path_in(path, sizeof(path), e, "grants", "g-abcdefghjk");
        fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        data = malloc((size_t)st.st_size);
        assert_non_null(data);
        assert_int_equal(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
        data[st.st_size / 2] ^= 0x01;
        assert_int_equal(pwrite(fd, data, (size_t)st.st_size, 0), st.st_size);
        close(fd);
        free(data);

        load(e, &l);
        assert_int_equal(l.ngrants, 0);
        assert_int_equal(l.nreqs, 1);                   /* the good record still loads */
        assert_string_equal(l.reqs[0]->id, "r-0123456789");
        assert_int_equal(jit_strv_length(l.bad), 1);
        assert_true(bad_mentions(l.bad, "g-abcdefghjk"));
        loaded_free(&l);

        assert_int_equal(lstat(path, &st), 0);          /* left where it is */
}

static void t_file_with_an_unexpected_name_is_reported(void **state)
{
        struct env *e = *state;
        struct jit_request r;
        struct loaded l;
        char path[256];

        sample_request(&r, "r-0123456789", JIT_REQ_PENDING);
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        path_in(path, sizeof(path), e, "requests", "notes.txt");
        write_file(path, "hello\n", 6);
        path_in(path, sizeof(path), e, "grants", "r-0123456789");      /* a request id among grants */
        write_file(path, "x\n", 2);

        load(e, &l);
        assert_int_equal(l.nreqs, 1);
        assert_int_equal(l.ngrants, 0);
        assert_int_equal(jit_strv_length(l.bad), 2);
        assert_true(bad_mentions(l.bad, "notes.txt"));
        assert_true(bad_mentions(l.bad, "grants/r-0123456789"));
        loaded_free(&l);
}

static void t_record_under_another_records_name_is_reported(void **state)
{
        /* A valid, intact record copied to another id's file name. */
        struct env *e = *state;
        struct jit_request r;
        struct loaded l;
        char from[256], to[256];

        sample_request(&r, "r-0123456789", JIT_REQ_PENDING);
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        path_in(from, sizeof(from), e, "requests", "r-0123456789");
        path_in(to, sizeof(to), e, "requests", "r-zzzzzzzzzz");
        assert_int_equal(link(from, to), 0);
        assert_int_equal(unlink(from), 0);

        load(e, &l);
        assert_int_equal(l.nreqs, 0);
        assert_true(bad_mentions(l.bad, "r-zzzzzzzzzz"));
        loaded_free(&l);
}

static void t_intact_record_with_invalid_content_is_reported(void **state)
{
        /* The envelope checks out, but the body is not a valid request. */
        struct env *e = *state;
        cJSON *body = cJSON_Parse("{\"id\":\"r-0123456789\",\"state\":\"bogus\",\"user\":\"alice\"}");
        struct loaded l;
        char path[256], *data = NULL;
        size_t len;

        assert_non_null(body);
        assert_int_equal(jit_record_seal(body, &data, &len), 0);
        path_in(path, sizeof(path), e, "requests", "r-0123456789");
        write_file(path, data, len);

        load(e, &l);
        assert_int_equal(l.nreqs, 0);
        assert_true(bad_mentions(l.bad, "r-0123456789"));
        loaded_free(&l);
        cJSON_Delete(body);
        free(data);
}

static void t_symlinked_record_is_reported_not_followed(void **state)
{
        struct env *e = *state;
        struct jit_request r;
        struct loaded l;
        char real[256], outside[256];

        sample_request(&r, "r-0123456789", JIT_REQ_PENDING);
        assert_int_equal(jit_spool_put_request(e->spool, &r), 0);
        path_in(real, sizeof(real), e, "requests", "r-0123456789");
        snprintf(outside, sizeof(outside), "%s/elsewhere", e->dir);
        assert_int_equal(rename(real, outside), 0);
        assert_int_equal(symlink(outside, real), 0);

        load(e, &l);
        assert_int_equal(l.nreqs, 0);
        assert_true(bad_mentions(l.bad, "r-0123456789: a symbolic link"));
        loaded_free(&l);
}

/* A record the service did not write: another user's file (intact, one
 * link) is not taken; a FIFO under a record's name is reported at once,
 * not waited on. */
static void t_record_owned_by_another_user_is_reported(void **state)
{
        struct env *e = *state;
        struct jit_grant g;
        struct loaded l;
        char path[256];

        if (geteuid() != 0)
                skip();
        sample_grant(&g, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);
        path_in(path, sizeof(path), e, "grants", "g-abcdefghjk");
        assert_int_equal(chown(path, 65534, 65534), 0);

        load(e, &l);
        assert_int_equal(l.ngrants, 0);
        assert_true(bad_mentions(l.bad, "g-abcdefghjk: wrong owner or mode"));
        loaded_free(&l);
}

static void t_fifo_record_is_reported_without_blocking(void **state)
{
        struct env *e = *state;
        struct loaded l;
        char path[256];

        path_in(path, sizeof(path), e, "requests", "r-0123456789");
        assert_int_equal(mkfifo(path, 0600), 0);
        alarm(10);
        load(e, &l);
        alarm(0);
        assert_int_equal(l.nreqs, 0);
        assert_true(bad_mentions(l.bad, "r-0123456789: not a regular file"));
        loaded_free(&l);
}

static void t_dot_files_are_ignored(void **state)
{
        struct env *e = *state;
        struct jit_grant g;
        struct loaded l;
        char path[256];

        sample_grant(&g, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);
        path_in(path, sizeof(path), e, "grants", ".g-abcdefghjk.0123456789ab.tmp");
        write_file(path, "half-written", 12);
        path_in(path, sizeof(path), e, "requests", ".r-0123456789.tmp");
        write_file(path, "", 0);

        load(e, &l);
        assert_null(l.bad);
        assert_int_equal(l.ngrants, 1);
        assert_int_equal(l.nreqs, 0);
        loaded_free(&l);
}

static void t_put_refuses_an_invalid_id(void **state)
{
        struct env *e = *state;
        struct jit_request r;
        struct jit_grant g;

        sample_request(&r, "r-0123456789", JIT_REQ_PENDING);
        strcpy(r.id, "../../x");
        assert_int_equal(jit_spool_put_request(e->spool, &r), -EINVAL);
        strcpy(r.id, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_request(e->spool, &r), -EINVAL);
        sample_grant(&g, "r-0123456789");
        assert_int_equal(jit_spool_put_grant(e->spool, &g), -EINVAL);
        assert_int_equal(count_entries(e, "requests"), 0);
        assert_int_equal(count_entries(e, "grants"), 0);
}

static void t_reopened_spool_sees_earlier_records(void **state)
{
        struct env *e = *state;
        struct jit_spool *again = NULL;
        struct jit_grant g;
        struct loaded l;

        sample_grant(&g, "g-abcdefghjk");
        assert_int_equal(jit_spool_put_grant(e->spool, &g), 0);
        assert_int_equal(jit_spool_open_files(e->dir, &again), 0);
        memset(&l, 0, sizeof(l));
        assert_int_equal(jit_spool_load(again, &l.reqs, &l.nreqs, &l.grants, &l.ngrants, &l.bad), 0);
        assert_int_equal(l.ngrants, 1);
        assert_grant_equal(&g, l.grants[0]);
        loaded_free(&l);
        jit_spool_free(again);
}

#define SPOOL_TEST(f) cmocka_unit_test_setup_teardown(f, spool_setup, spool_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                SPOOL_TEST(t_open_creates_private_subdirectories),
                SPOOL_TEST(t_empty_spool_loads_nothing),
                SPOOL_TEST(t_put_records_load_back_equal),
                SPOOL_TEST(t_record_files_are_private_and_named_by_id),
                SPOOL_TEST(t_many_records_load_back),
                SPOOL_TEST(t_load_returns_each_kind_oldest_first),
                SPOOL_TEST(t_overwrite_keeps_one_file_with_the_latest_record),
                SPOOL_TEST(t_corrupted_file_is_reported_and_not_returned),
                SPOOL_TEST(t_file_with_an_unexpected_name_is_reported),
                SPOOL_TEST(t_record_under_another_records_name_is_reported),
                SPOOL_TEST(t_intact_record_with_invalid_content_is_reported),
                SPOOL_TEST(t_symlinked_record_is_reported_not_followed),
                SPOOL_TEST(t_record_owned_by_another_user_is_reported),
                SPOOL_TEST(t_fifo_record_is_reported_without_blocking),
                SPOOL_TEST(t_dot_files_are_ignored),
                SPOOL_TEST(t_put_refuses_an_invalid_id),
                SPOOL_TEST(t_reopened_spool_sees_earlier_records),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
