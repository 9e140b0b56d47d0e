/* cleanup.h — scope-bound cleanup for locals.
 *
 * Owns: nothing; macros only.
 * Invariant: a variable declared _cleanup_x_ is released when it leaves
 * scope; hand ownership on with TAKE_PTR / TAKE_FD, which leave NULL / -1.
 */
#ifndef JIT_CLEANUP_H
#define JIT_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void jit_freep(void *p) { free(*(void **)p); }
static inline void jit_closep(int *fd) { if (*fd >= 0) (void)close(*fd); }

#define _cleanup_free_ _cleanup_(jit_freep)
#define _cleanup_close_ _cleanup_(jit_closep)

#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -1; _tf; })

#define JIT_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#endif
