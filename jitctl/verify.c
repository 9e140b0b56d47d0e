/* jitctl verify GRANT|REQUEST — check the signed decision a grant (or a
 * decided request) rests on: the signature over the stored canonical text,
 * that the text names this very record, and that the key is the one the
 * registry holds for that approver (when the registry can be read). */
#include "jitctl.h"
#include "cleanup.h"
#include "decision.h"
#include "proto.h"
#include "record.h"
#include "safeio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of "key=" in the canonical text, into buf. */
static bool field(const char *canonical, const char *key, char *buf, size_t size)
{
        char pat[32];
        const char *p, *e;

        snprintf(pat, sizeof(pat), "\n%s=", key);
        p = strstr(canonical, pat);
        if (!p)
                return false;
        p += strlen(pat);
        e = strchr(p, '\n');
        if (!e || (size_t)(e - p) >= size)
                return false;
        snprintf(buf, size, "%.*s", (int)(e - p), p);
        return true;
}

/* host= (a comma-separated list for several hosts) names host; offline
 * (no host known) the list is taken as it is. */
static bool names_host(const char *canonical, const char *host)
{
        static char v[JIT_DECISION_HOST_MAX + 1];
        size_t hl = host ? strlen(host) : 0;

        if (!field(canonical, "host", v, sizeof(v)))
                return false;
        if (!host)
                return true;
        for (const char *p = v; *p;) {
                size_t n = strcspn(p, ",");

                if (n == hl && strncmp(p, host, n) == 0)
                        return true;
                p += n + (p[n] == ',');
        }
        return false;
}

static bool same(const char *canonical, const char *key, const char *want)
{
        char v[256];

        return want && field(canonical, key, v, sizeof(v)) && strcmp(v, want) == 0;
}

/* Offline: a record file as the service keeps it (jit-record envelope). */
static int load_record_file(const char *path, cJSON **ret_ans, bool *ret_grant)
{
        _cleanup_free_ char *dir = strdup(path), *data = NULL;
        _cleanup_close_ int dfd = -1;
        cJSON *body = NULL, *ans;
        size_t len = 0;
        char *slash;
        int r;

        if (!dir || path[0] != '/' || !(slash = strrchr(dir, '/')))
                return -EINVAL;
        *slash = '\0';
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", 0);
        if (dfd < 0)
                return dfd;
        r = jit_safeio_read_at(dfd, slash + 1, JIT_RECORD_MAX_SIZE, 0, &data, &len);
        if (r == 0)
                r = jit_record_open(data, len, &body);
        if (r < 0)
                return r;
        *ret_grant = jit_json_str(body, "request_id") != NULL;
        ans = cJSON_CreateObject();
        cJSON_AddTrueToObject(ans, "ok");
        cJSON_AddItemToObject(ans, *ret_grant ? "grant" : "request", body);
        *ret_ans = ans;
        return 0;
}

int verb_verify(int argc, char **argv)
{
        cJSON *req, *ans = NULL;
        const cJSON *rec, *sd;
        const char *canonical, *sig, *key, *requester_key;
        unsigned char pk[32];
        char approver[64], name[80];
        bool is_grant, fleet;
        int rc;

        if (argc != 2 || argv[1][0] == '-')
                return jit_usage_error("usage: jitctl verify GRANT|REQUEST|/path/to/record");
        if (argv[1][0] == '/') {
                /* Offline: no service needed, only the record. */
                rc = load_record_file(argv[1], &ans, &is_grant);
                if (rc < 0)
                        return jit_fail(rc == -EBADMSG ? JIT_EXIT_TAMPERED : JIT_EXIT_ERROR, "%s: %s", argv[1],
                                        rc == -EBADMSG ? "not an intact jit record" : strerror(-rc));
        } else {
                req = cJSON_CreateObject();
                cJSON_AddStringToObject(req, "op", JIT_OP_SHOW);
                cJSON_AddStringToObject(req, "id", argv[1]);
                rc = jit_call(req, 10000, &ans);
                if (rc)
                        return rc;
                if (jit_exit_for(ans) != JIT_EXIT_OK) {
                        rc = jit_print_outcome(ans);
                        cJSON_Delete(ans);
                        return rc;
                }
                is_grant = argv[1][0] == 'g';
        }
        rec = cJSON_GetObjectItemCaseSensitive(ans, is_grant ? "grant" : "request");
        sd = cJSON_GetObjectItemCaseSensitive(rec, "signed_decision");
        canonical = jit_json_str(sd, "canonical");
        sig = jit_json_str(sd, "signature");
        key = jit_json_str(sd, "key");
        if (!canonical || !sig || !key || jit_decision_parse_pub(key, strlen(key), pk) < 0) {
                const char *by = jit_json_str(rec, is_grant ? "approved_by" : "decided_by");

                printf("%s: no signed decision (decided by %s)\n", argv[1], by ? by : "nobody yet");
                cJSON_Delete(ans);
                return JIT_EXIT_NOTFOUND;
        }
        requester_key = is_grant ? jit_json_str(rec, "request_id") : jit_json_str(rec, "id");
        /* a request for several hosts: its fleet id, group "*", and a host
         * list naming the host the record is from */
        fleet = jit_json_str(rec, "fleet_id") != NULL;
        if (fleet)
                requester_key = jit_json_str(rec, "fleet_id");
        if (jit_decision_verify(sig, canonical, pk) < 0 || !same(canonical, "request", requester_key) ||
            !same(canonical, "requester", jit_json_str(rec, "user")) ||
            !same(canonical, "role", jit_json_str(rec, "role")) ||
            !same(canonical, "group", fleet ? "*" : jit_json_str(rec, "group")) ||
            (fleet && !names_host(canonical, jit_json_str(ans, "host"))) ||
            !field(canonical, "approver", approver, sizeof(approver))) {
                fprintf(stderr, "%s: the signed decision does NOT hold (bad signature, or it names another record)\n", argv[1]);
                cJSON_Delete(ans);
                return JIT_EXIT_TAMPERED;
        }
        printf("%s: signed decision holds: approver %s, key %.16s...\n", argv[1], approver, key);
        snprintf(name, sizeof(name), "%s.pub", approver);
        {
                _cleanup_close_ int etc = jit_safeio_open_dir("/etc/jit", JIT_SAFEIO_TRUSTED);
                _cleanup_close_ int reg = etc < 0 ? -1 : openat(etc, JIT_APPROVERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_free_ char *text = NULL;
                size_t len = 0;

                if (reg >= 0 && jit_safeio_read_at(reg, name, 128, JIT_SAFEIO_TRUSTED, &text, &len) == 0)
                        printf("%s: the key %s the one registered for %s now\n", argv[1],
                               len >= 64 && strncmp(text, key, 64) == 0 ? "is" : "is NOT", approver);
        }
        if (jit_g.json)
                printf("%s", canonical);
        cJSON_Delete(ans);
        return JIT_EXIT_OK;
}
