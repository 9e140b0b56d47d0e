/* Lookups that stay fast with a long history. The service keeps every
 * request and grant it ever made in s->reqs and s->grants (oldest first,
 * as the spool loads them, then as they are made): with 100,000 of them, a
 * scan per decision, per lookup and per loop turn cost milliseconds. Beside
 * them this index holds
 *   - requests and grants by id (the first of an id wins, as it did for
 *     the scans it replaces),
 *   - the open requests: pending, or a break-glass whose review is open,
 *   - the live grants: active, or ended and not swept yet,
 *   - each uid's requests, by created_us, for the history a decision counts.
 * Open and live keep the arrays' order, so whoever walks them meets
 * records in the order a walk over the arrays would.
 *
 * It follows the arrays by itself: they only grow, and what was appended
 * since the last look is indexed at the next. A record leaves open or live
 * only in svc_index_prune, which the reconcile pass calls outside every
 * walk over them; a request never becomes open again, nor a grant live.
 * Whoever replaces the arrays wholesale calls svc_index_reset. Out of
 * memory, the index gives up and from then on every walk and lookup goes
 * over the whole arrays, as before: slower, not different (but for a walk
 * that was under way as it gave up).
 */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool request_is_open(const struct jit_request *r)
{
        return r->state == JIT_REQ_PENDING || (r->review_state && strcmp(r->review_state, "open") == 0);
}

/* What svc_end_sweep and the expiry and binding checks may still act on. */
static bool grant_is_live(const struct jit_grant *g)
{
        return g->state == JIT_GRANT_ACTIVE || (!g->swept_us && g->end && g->ended_us);
}

static size_t id_hash(const char *id)
{
        size_t h = 14695981039346656037ULL;

        for (; *id; id++)
                h = (h ^ (unsigned char)*id) * 1099511628211ULL;
        return h;
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
        size_t c = *cap ? *cap : 16;
        void *n;

        if (need <= *cap)
                return 0;
        while (c < need)
                c *= 2;
        n = realloc(*v, c * size);
        if (!n)
                return -ENOMEM;
        *v = n;
        *cap = c;
        return 0;
}

/* Open addressing over records whose id is the first member of their
 * struct; cap is a power of two, kept at most half full. */
static void **id_slot(void **slots, size_t cap, const char *id)
{
        size_t k = id_hash(id) & (cap - 1);

        while (slots[k] && strcmp(slots[k], id) != 0)
                k = (k + 1) & (cap - 1);
        return &slots[k];
}

static int map_put(void ***slots, size_t *cap, size_t n, void *rec)
{
        void **at;

        if ((n + 1) * 2 > *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                void **t = calloc(c, sizeof(*t));

                if (!t)
                        return -ENOMEM;
                for (size_t i = 0; i < *cap; i++)
                        if ((*slots)[i])
                                *id_slot(t, c, (*slots)[i]) = (*slots)[i];
                free(*slots);
                *slots = t;
                *cap = c;
        }
        at = id_slot(*slots, *cap, rec);
        if (!*at)
                *at = rec;      /* else the first of an id stays */
        return 0;
}

static void *map_get(void **slots, size_t cap, const char *id)
{
        return cap ? *id_slot(slots, cap, id) : NULL;
}

/* uid -> its requests: open addressing too, a slot free while !used. */
static struct svc_uid_requests *uid_slot(struct svc_uid_requests *slots, size_t cap, uid_t uid)
{
        size_t k = ((size_t)uid * 2654435761U) & (cap - 1);

        while (slots[k].used && slots[k].uid != uid)
                k = (k + 1) & (cap - 1);
        return &slots[k];
}

static struct svc_uid_requests *uid_get(struct svc_index *x, uid_t uid)
{
        struct svc_uid_requests *u;

        if ((x->n_uids + 1) * 2 > x->cap_uids) {
                size_t c = x->cap_uids ? x->cap_uids * 2 : 64;
                struct svc_uid_requests *t = calloc(c, sizeof(*t));

                if (!t)
                        return NULL;
                for (size_t i = 0; i < x->cap_uids; i++)
                        if (x->by_uid[i].used)
                                *uid_slot(t, c, x->by_uid[i].uid) = x->by_uid[i];
                free(x->by_uid);
                x->by_uid = t;
                x->cap_uids = c;
        }
        u = uid_slot(x->by_uid, x->cap_uids, uid);
        if (!u->used) {
                *u = (struct svc_uid_requests){ .uid = uid, .used = true };
                x->n_uids++;
        }
        return u;
}

/* Kept in created_us order: appended, unless the clock was set back. */
static int uid_add(struct svc_index *x, struct jit_request *r)
{
        struct svc_uid_requests *u = uid_get(x, r->uid);
        size_t at;

        if (!u || grow((void **)&u->v, &u->cap, u->n + 1, sizeof(*u->v)) < 0)
                return -ENOMEM;
        at = u->n;
        while (at > 0 && u->v[at - 1]->created_us > r->created_us)
                at--;
        memmove(&u->v[at + 1], &u->v[at], (u->n - at) * sizeof(*u->v));
        u->v[at] = r;
        u->n++;
        return 0;
}

static int add_request(struct svc_index *x, struct jit_request *r)
{
        if (map_put((void ***)&x->req_by_id, &x->cap_req_by_id, x->n_reqs, r) < 0 || uid_add(x, r) < 0)
                return -ENOMEM;
        if (!request_is_open(r))
                return 0;
        if (grow((void **)&x->open, &x->cap_open, x->n_open + 1, sizeof(*x->open)) < 0)
                return -ENOMEM;
        x->open[x->n_open++] = r;
        return 0;
}

static int add_grant(struct svc_index *x, struct jit_grant *g)
{
        if (map_put((void ***)&x->grant_by_id, &x->cap_grant_by_id, x->n_grants, g) < 0)
                return -ENOMEM;
        if (!grant_is_live(g))
                return 0;
        if (grow((void **)&x->live, &x->cap_live, x->n_live + 1, sizeof(*x->live)) < 0)
                return -ENOMEM;
        x->live[x->n_live++] = g;
        return 0;
}

static void index_free(struct svc_index *x)
{
        for (size_t i = 0; i < x->cap_uids; i++)
                free(x->by_uid[i].v);
        free(x->by_uid);
        free(x->req_by_id);
        free(x->grant_by_id);
        free(x->open);
        free(x->live);
        *x = (struct svc_index){ 0 };
}

void svc_index_reset(struct svc *s)
{
        index_free(&s->index);
}

/* Index what was appended since the last look. */
static bool index_sync(struct svc *s)
{
        struct svc_index *x = &s->index;

        if (x->failed)
                return false;
        if (x->n_reqs > s->n_reqs || x->n_grants > s->n_grants)
                index_free(x);          /* shrunk: replaced without a reset */
        for (; x->n_reqs < s->n_reqs; x->n_reqs++)
                if (add_request(x, s->reqs[x->n_reqs]) < 0)
                        goto fail;
        for (; x->n_grants < s->n_grants; x->n_grants++)
                if (add_grant(x, s->grants[x->n_grants]) < 0)
                        goto fail;
        return true;
fail:
        index_free(x);
        x->failed = true;
        return false;
}

void svc_index_prune(struct svc *s)
{
        struct svc_index *x = &s->index;
        size_t k = 0;

        if (!index_sync(s))
                return;
        for (size_t i = 0; i < x->n_open; i++)
                if (request_is_open(x->open[i]))
                        x->open[k++] = x->open[i];
        x->n_open = k;
        k = 0;
        for (size_t i = 0; i < x->n_live; i++)
                if (grant_is_live(x->live[i]))
                        x->live[k++] = x->live[i];
        x->n_live = k;
}

struct jit_request *svc_find_request(struct svc *s, const char *id)
{
        if (!id)
                return NULL;
        if (index_sync(s))
                return map_get((void **)s->index.req_by_id, s->index.cap_req_by_id, id);
        for (size_t i = 0; i < s->n_reqs; i++)
                if (strcmp(s->reqs[i]->id, id) == 0)
                        return s->reqs[i];
        return NULL;
}

struct jit_grant *svc_find_grant(struct svc *s, const char *id)
{
        if (!id)
                return NULL;
        if (index_sync(s))
                return map_get((void **)s->index.grant_by_id, s->index.cap_grant_by_id, id);
        for (size_t i = 0; i < s->n_grants; i++)
                if (strcmp(s->grants[i]->id, id) == 0)
                        return s->grants[i];
        return NULL;
}

struct jit_request *svc_open_request(struct svc *s, size_t i)
{
        if (index_sync(s))
                return i < s->index.n_open ? s->index.open[i] : NULL;
        return i < s->n_reqs ? s->reqs[i] : NULL;
}

struct jit_grant *svc_live_grant(struct svc *s, size_t i)
{
        if (index_sync(s))
                return i < s->index.n_live ? s->index.live[i] : NULL;
        return i < s->n_grants ? s->grants[i] : NULL;
}

bool svc_uid_requests(struct svc *s, uid_t uid, struct jit_request *const **ret, size_t *ret_n)
{
        struct svc_uid_requests *u;

        if (!index_sync(s)) {
                *ret = s->reqs;
                *ret_n = s->n_reqs;
                return false;
        }
        u = s->index.cap_uids ? uid_slot(s->index.by_uid, s->index.cap_uids, uid) : NULL;
        *ret = u && u->used ? u->v : NULL;
        *ret_n = u && u->used ? u->n : 0;
        return true;
}
