/* The files backend of spool.h. */
#include "spool.h"
#include "cleanup.h"
#include "safeio.h"
#include "strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct files_spool {
        struct jit_spool base;
        int req_fd;
        int grant_fd;
};

static int put_json(int dfd, const char *id, cJSON *j)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r;

        if (!j)
                return -ENOMEM;
        r = jit_record_seal(j, &data, &len);
        cJSON_Delete(j);
        if (r < 0)
                return r;
        return jit_safeio_write_at(dfd, id, data, len, 0600);
}

static int files_put_request(struct jit_spool *s, const struct jit_request *r)
{
        struct files_spool *f = (struct files_spool *)s;

        if (!jit_id_is_valid(r->id, 'r'))
                return -EINVAL;
        return put_json(f->req_fd, r->id, jit_request_to_json(r));
}

static int files_put_grant(struct jit_spool *s, const struct jit_grant *g)
{
        struct files_spool *f = (struct files_spool *)s;

        if (!jit_id_is_valid(g->id, 'g'))
                return -EINVAL;
        return put_json(f->grant_fd, g->id, jit_grant_to_json(g));
}

static int files_drop(struct jit_spool *s, const char *id)
{
        struct files_spool *f = (struct files_spool *)s;
        int dfd = jit_id_is_valid(id, 'r') ? f->req_fd : jit_id_is_valid(id, 'g') ? f->grant_fd : -1;

        if (dfd < 0)
                return -EINVAL;
        if (unlinkat(dfd, id, 0) < 0 && errno != ENOENT)
                return -errno;
        return fsync(dfd) < 0 ? -errno : 0;
}

static void note_bad(char ***bad, const char *kind, const char *name, const char *why)
{
        char line[256];

        snprintf(line, sizeof(line), "%s/%s: %s", kind, name, why);
        (void)jit_strv_push(bad, line);
}

/* Read every record file in dfd; call add() for each that opens. */
static int load_dir(int dfd, const char *kind, char prefix, char ***bad,
                    int (*add)(const cJSON *j, void *ud), void *ud)
{
        DIR *d;
        struct dirent *de;
        int nfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (nfd < 0)
                return -errno;
        d = fdopendir(nfd);
        if (!d) {
                close(nfd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *data = NULL;
                cJSON *j = NULL;
                size_t len;
                int r;

                if (de->d_name[0] == '.')
                        continue;       /* ".", "..", and temp files */
                if (!jit_id_is_valid(de->d_name, prefix)) {
                        note_bad(bad, kind, de->d_name, "unexpected file name");
                        continue;
                }
                /* the service's own: a file of another owner (or a link
                 * to one) is not a record it wrote */
                r = jit_safeio_read_at(dfd, de->d_name, JIT_RECORD_MAX_SIZE, JIT_SAFEIO_OWN, &data, &len);
                if (r == 0)
                        r = jit_record_open(data, len, &j);
                if (r == 0) {
                        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");

                        if (!cJSON_IsString(id) || strcmp(id->valuestring, de->d_name) != 0)
                                r = -EBADMSG;
                }
                if (r == 0)
                        r = add(j, ud);
                cJSON_Delete(j);
                if (r == -ENOMEM) {
                        closedir(d);
                        return r;
                }
                if (r < 0)
                        note_bad(bad, kind, de->d_name,
                                 r == -EBADMSG ? "corrupt (integrity check failed)" : jit_safeio_strerror(r));
        }
        closedir(d);
        return 0;
}

struct vec { void **items; size_t n; };

static int vec_push(struct vec *v, void *p)
{
        void **n = realloc(v->items, (v->n + 1) * sizeof(void *));

        if (!n)
                return -ENOMEM;
        v->items = n;
        v->items[v->n++] = p;
        return 0;
}

static int add_request(const cJSON *j, void *ud)
{
        struct jit_request *r;
        int e = jit_request_from_json(j, &r);

        if (e < 0)
                return e;
        e = vec_push(ud, r);
        if (e < 0)
                jit_request_free(r);
        return e;
}

static int add_grant(const cJSON *j, void *ud)
{
        struct jit_grant *g;
        int e = jit_grant_from_json(j, &g);

        if (e < 0)
                return e;
        e = vec_push(ud, g);
        if (e < 0)
                jit_grant_free(g);
        return e;
}

/* Oldest first, as the service made them (a directory lists in hash
 * order); the id breaks a tie, so every load gives the same order. */
static int by_age(uint64_t a, uint64_t b, const char *ia, const char *ib)
{
        return a < b ? -1 : a > b ? 1 : strcmp(ia, ib);
}

static int request_by_age(const void *a, const void *b)
{
        const struct jit_request *x = *(struct jit_request *const *)a, *y = *(struct jit_request *const *)b;

        return by_age(x->created_us, y->created_us, x->id, y->id);
}

static int grant_by_age(const void *a, const void *b)
{
        const struct jit_grant *x = *(struct jit_grant *const *)a, *y = *(struct jit_grant *const *)b;

        return by_age(x->created_us, y->created_us, x->id, y->id);
}

static int files_load(struct jit_spool *s, struct jit_request ***ret_reqs, size_t *ret_nreqs,
                      struct jit_grant ***ret_grants, size_t *ret_ngrants, char ***ret_bad)
{
        struct files_spool *f = (struct files_spool *)s;
        struct vec reqs = { 0 }, grants = { 0 };
        char **bad = NULL;
        int r;

        r = load_dir(f->req_fd, "requests", 'r', &bad, add_request, &reqs);
        if (r == 0)
                r = load_dir(f->grant_fd, "grants", 'g', &bad, add_grant, &grants);
        if (r < 0) {
                for (size_t i = 0; i < reqs.n; i++)
                        jit_request_free(reqs.items[i]);
                for (size_t i = 0; i < grants.n; i++)
                        jit_grant_free(grants.items[i]);
                free(reqs.items);
                free(grants.items);
                jit_strv_free(bad);
                return r;
        }
        if (reqs.n)
                qsort(reqs.items, reqs.n, sizeof(void *), request_by_age);
        if (grants.n)
                qsort(grants.items, grants.n, sizeof(void *), grant_by_age);
        *ret_reqs = (struct jit_request **)reqs.items;
        *ret_nreqs = reqs.n;
        *ret_grants = (struct jit_grant **)grants.items;
        *ret_ngrants = grants.n;
        *ret_bad = bad;
        return 0;
}

static void files_free(struct jit_spool *s)
{
        struct files_spool *f = (struct files_spool *)s;

        if (f->req_fd >= 0)
                close(f->req_fd);
        if (f->grant_fd >= 0)
                close(f->grant_fd);
        free(f);
}

static const struct jit_spool_ops files_ops = {
        .name = "files",
        .put_request = files_put_request,
        .put_grant = files_put_grant,
        .load = files_load,
        .drop = files_drop,
        .free = files_free,
};

int jit_spool_open_files(const char *dir, struct jit_spool **ret)
{
        _cleanup_close_ int dfd = -1;
        struct files_spool *f;

        dfd = jit_safeio_open_dir(dir, 0);
        if (dfd < 0)
                return dfd;
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->base.ops = &files_ops;
        f->req_fd = jit_safeio_ensure_dir_at(dfd, "requests", 0700);
        f->grant_fd = jit_safeio_ensure_dir_at(dfd, "grants", 0700);
        if (f->req_fd < 0 || f->grant_fd < 0) {
                int r = f->req_fd < 0 ? f->req_fd : f->grant_fd;

                files_free(&f->base);
                return r;
        }
        *ret = &f->base;
        return 0;
}
