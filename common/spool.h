/* spool.h — where requests and grants are kept, behind one interface.
 *
 * Owns: durable storage of records. The service is the only writer.
 * Invariants: put_* returns only once the record is durable (for the files
 * backend: temp + fsync + rename + fsync of the directory); a record that
 * fails its integrity check on load is reported, never half-used; load
 * returns each kind oldest first (created_us, then id).
 * The interface is a vtable so that a second backend (etcd, for fleets)
 * can sit beside the files one without the service changing.
 */
#ifndef JIT_SPOOL_H
#define JIT_SPOOL_H

#include "record.h"

#include <errno.h>
#include <stddef.h>

#define JIT_SPOOL_DIR "/var/lib/jit"

struct jit_spool;

struct jit_spool_ops {
        const char *name;
        int (*put_request)(struct jit_spool *s, const struct jit_request *r);
        int (*put_grant)(struct jit_spool *s, const struct jit_grant *g);
        /* Load every record. Unreadable ones (a symbolic link, FIFO,
         * device or directory, a file with another link or owner, a
         * failed integrity check) are listed in *ret_bad as "name: why",
         * left where they are, and never followed or opened blocking. */
        int (*load)(struct jit_spool *s,
                    struct jit_request ***ret_reqs, size_t *ret_nreqs,
                    struct jit_grant ***ret_grants, size_t *ret_ngrants,
                    char ***ret_bad);
        /* Remove a record that was never acknowledged (its first write
         * failed, perhaps after it was renamed into place). */
        int (*drop)(struct jit_spool *s, const char *id);
        void (*free)(struct jit_spool *s);
};

struct jit_spool {
        const struct jit_spool_ops *ops;
};

/* The files backend: dir/requests/<id>, dir/grants/<id>, created 0700. */
int jit_spool_open_files(const char *dir, struct jit_spool **ret);

static inline int jit_spool_put_request(struct jit_spool *s, const struct jit_request *r)
{ return s->ops->put_request(s, r); }
static inline int jit_spool_put_grant(struct jit_spool *s, const struct jit_grant *g)
{ return s->ops->put_grant(s, g); }
static inline int jit_spool_load(struct jit_spool *s, struct jit_request ***r, size_t *nr,
                                 struct jit_grant ***g, size_t *ng, char ***bad)
{ return s->ops->load(s, r, nr, g, ng, bad); }
static inline int jit_spool_drop(struct jit_spool *s, const char *id)
{ return s->ops->drop ? s->ops->drop(s, id) : -EOPNOTSUPP; }
static inline void jit_spool_free(struct jit_spool *s) { if (s) s->ops->free(s); }

#endif
