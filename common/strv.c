#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void jit_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t jit_strv_length(char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

bool jit_strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

int jit_strv_push(char ***v, const char *s)
{
        size_t n = jit_strv_length(*v);
        char *copy = strdup(s);
        char **nv;

        if (!copy)
                return -ENOMEM;
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[n] = copy;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

char *jit_strv_join(char *const *v, const char *sep)
{
        size_t len = 1, seplen = strlen(sep), off = 0;
        char *out;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + (i ? seplen : 0);
        out = malloc(len);
        if (!out)
                return NULL;
        for (size_t i = 0; v && v[i]; i++) {
                size_t l = strlen(v[i]);

                if (i) {
                        memcpy(out + off, sep, seplen);
                        off += seplen;
                }
                memcpy(out + off, v[i], l);
                off += l;
        }
        out[off] = '\0';
        return out;
}

bool jit_strv_is_subset(char *const *a, char *const *b)
{
        for (size_t i = 0; a && a[i]; i++)
                if (!jit_strv_contains(b, a[i]))
                        return false;
        return true;
}

bool jit_host_name_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n < 1 || n > 64 || s[0] == '.' || s[0] == '-')
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}
