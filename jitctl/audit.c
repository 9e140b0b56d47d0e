/* jitctl audit verify|show|export — read the hash-chained audit log. */
#include "jitctl.h"
#include "audit.h"
#include "cleanup.h"
#include "duration.h"
#include "safeio.h"
#include "spool.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_MAX_SIZE (1024LL * 1024 * 1024)

struct audit_opts {
        const char *file, *key, *user, *grant;
        uint64_t since_s;
};

/* Read a file whole through a no-link open of its directory. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dfd = -1;
        char *slash;

        if (!dir || path[0] != '/')
                return -EINVAL;
        slash = strrchr(dir, '/');
        *slash = '\0';
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", 0);
        if (dfd < 0)
                return dfd;
        return jit_safeio_read_at(dfd, slash + 1, max, 0, ret, ret_len);
}

static int verify(const struct audit_opts *o)
{
        _cleanup_free_ char *log = NULL, *pubhex = NULL;
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        struct jit_audit_report rep;
        size_t len = 0, plen = 0, got = 0;
        bool have_pk;
        int r;

        r = read_file(o->file, AUDIT_MAX_SIZE, &log, &len);
        if (r < 0)
                return jit_fail(r == -EACCES ? JIT_EXIT_FORBIDDEN : JIT_EXIT_ERROR, "cannot read %s: %s", o->file, strerror(-r));
        have_pk = read_file(o->key, 1024, &pubhex, &plen) == 0 &&
                  sodium_hex2bin(pk, sizeof(pk), pubhex, plen, "\n", &got, NULL) == 0 && got == sizeof(pk);
        if (!have_pk)
                fprintf(stderr, "jitctl: no usable host public key at %s: checkpoints cannot be checked\n", o->key);
        r = jit_audit_verify(log, len, have_pk ? pk : NULL, &rep);
        if (r == 0) {
                /* Lines cut off the end: audit.head next to the log says
                 * how far the log reached. */
                _cleanup_free_ char *headpath = NULL, *head = NULL;
                const char *slash = strrchr(o->file, '/');
                struct jit_audit_report ok = rep;
                size_t hlen = 0;

                if (asprintf(&headpath, "%.*s/%s", (int)(slash - o->file), o->file, JIT_AUDIT_HEAD_FILE) > 0 &&
                    read_file(headpath, 256, &head, &hlen) == 0)
                        r = jit_audit_check_head(head, hlen, &ok, ok.last_hash, &rep);
                else if (!jit_g.json)
                        fprintf(stderr, "jitctl: no %s next to the log: lines cut off its end cannot be noticed\n",
                                JIT_AUDIT_HEAD_FILE);
        }
        if (r < 0) {
                if (jit_g.json)
                        printf("{\"ok\":false,\"bad_line\":%llu,\"why\":\"%s\"}\n", (unsigned long long)rep.bad_line, rep.why);
                else
                        fprintf(stderr, "%s: line %llu: %s\n", o->file, (unsigned long long)rep.bad_line, rep.why);
                return JIT_EXIT_TAMPERED;
        }
        if (jit_g.json)
                printf("{\"ok\":true,\"lines\":%llu,\"checkpoints\":%llu,\"last_checkpoint_line\":%llu}\n",
                       (unsigned long long)rep.lines, (unsigned long long)rep.checkpoints,
                       (unsigned long long)rep.last_checkpoint_line);
        else if (rep.checkpoints)
                printf("%s: OK: %llu lines, %llu signed checkpoint%s (the last at line %llu)\n", o->file,
                       (unsigned long long)rep.lines, (unsigned long long)rep.checkpoints,
                       rep.checkpoints == 1 ? "" : "s", (unsigned long long)rep.last_checkpoint_line);
        else
                printf("%s: OK: %llu lines, no signed checkpoint yet\n", o->file, (unsigned long long)rep.lines);
        return JIT_EXIT_OK;
}

static bool wanted(const cJSON *j, const struct audit_opts *o, uint64_t now_us)
{
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time_us");
        const char *u = jit_json_str(j, "user"), *g = jit_json_str(j, "grant_id");

        if (o->user && (!u || strcmp(u, o->user) != 0))
                return false;
        if (o->grant && (!g || strcmp(g, o->grant) != 0))
                return false;
        if (o->since_s && (!cJSON_IsNumber(t) || t->valuedouble + (double)o->since_s * 1e6 < (double)now_us))
                return false;
        return true;
}

static void put_safe(const char *s)
{
        for (; s && *s; s++)
                putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int show(const struct audit_opts *o, bool raw)
{
        _cleanup_free_ char *log = NULL;
        struct timespec ts;
        uint64_t now;
        size_t len = 0, off = 0;
        int r;

        r = read_file(o->file, AUDIT_MAX_SIZE, &log, &len);
        if (r < 0)
                return jit_fail(r == -EACCES ? JIT_EXIT_FORBIDDEN : JIT_EXIT_ERROR, "cannot read %s: %s", o->file, strerror(-r));
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        while (off < len) {
                const char *nl = memchr(log + off, '\n', len - off);
                size_t ll = nl ? (size_t)(nl - log - off) : len - off;
                cJSON *j = cJSON_ParseWithLength(log + off, ll);

                if (j && wanted(j, o, now)) {
                        if (raw) {
                                fwrite(log + off, 1, ll, stdout);
                                putchar('\n');
                        } else {
                                char when[32] = "?";
                                const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time_us");
                                time_t sec = cJSON_IsNumber(t) ? (time_t)(t->valuedouble / 1e6) : 0;
                                struct tm tm;

                                if (localtime_r(&sec, &tm))
                                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                                printf("%6llu %s %-10s ", (unsigned long long)jit_json_u64(j, "seq"), when,
                                       jit_json_str(j, "event") ? jit_json_str(j, "event") : "?");
                                put_safe(jit_json_str(j, "message") ? jit_json_str(j, "message") : "");
                                putchar('\n');
                        }
                }
                cJSON_Delete(j);
                off += ll + 1;
        }
        return JIT_EXIT_OK;
}

int verb_audit(int argc, char **argv)
{
        static const struct option lo[] = {
                { "file", required_argument, NULL, 'f' },
                { "key", required_argument, NULL, 'k' },
                { "user", required_argument, NULL, 'u' },
                { "grant", required_argument, NULL, 'g' },
                { "since", required_argument, NULL, 's' },
                {}
        };
        struct audit_opts o = { .file = JIT_SPOOL_DIR "/" JIT_AUDIT_FILE, .key = "/etc/jit/host.pub" };
        const char *what;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", lo, NULL)) >= 0) {
                switch (c) {
                case 'f': o.file = optarg; break;
                case 'k': o.key = optarg; break;
                case 'u': o.user = optarg; break;
                case 'g': o.grant = optarg; break;
                case 's': if (jit_parse_duration_arg(optarg, &o.since_s)) return JIT_EXIT_USAGE; break;
                default: return JIT_EXIT_USAGE;
                }
        }
        if (optind < argc && strcmp(argv[optind], "setgid") == 0) {
                char *root[] = { (char *)"/", NULL };

                if (!o.grant)
                        return jit_usage_error("usage: jitctl audit setgid --grant GRANT [PATH...]");
                return jit_audit_setgid(o.grant, optind + 1 < argc ? argv + optind + 1 : root);
        }
        if (optind + 1 != argc)
                return jit_usage_error("usage: jitctl audit verify|show|export [--file LOG] [--key PUB] [--user U] [--grant G] [--since DURATION]");
        what = argv[optind];
        if (o.file[0] != '/' || o.key[0] != '/')
                return jit_usage_error("--file and --key take absolute paths");
        if (strcmp(what, "verify") == 0)
                return verify(&o);
        if (strcmp(what, "show") == 0)
                return show(&o, jit_g.json);
        if (strcmp(what, "export") == 0)
                return show(&o, true);
        return jit_usage_error("usage: jitctl audit verify|show|export");
}
