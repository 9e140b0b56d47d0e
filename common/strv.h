/* strv.h — NULL-terminated string vectors (char **).
 *
 * Owns: every string in the vector and the vector itself.
 * Invariant: a strv is either NULL (empty) or NULL-terminated.
 */
#ifndef JIT_STRV_H
#define JIT_STRV_H

#include <stdbool.h>
#include <stddef.h>

void jit_strv_free(char **v);
size_t jit_strv_length(char *const *v);
bool jit_strv_contains(char *const *v, const char *s);
/* Is every string of a (NULL: none) also in b? */
bool jit_strv_is_subset(char *const *a, char *const *b);
/* Append a copy of s. Returns 0 or -ENOMEM (v unchanged on failure). */
int jit_strv_push(char ***v, const char *s);
/* A host name as the fleet uses it (in store keys, in signed host lists):
 * 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool jit_host_name_ok(const char *s);
/* Join with sep into a new string; NULL on -ENOMEM. "" for an empty vector. */
char *jit_strv_join(char *const *v, const char *sep);

static inline void jit_strv_freep(char ***v) { jit_strv_free(*v); }
#define _cleanup_strv_free_ __attribute__((cleanup(jit_strv_freep)))

#endif
