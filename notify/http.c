/* One HTTPS POST through libcurl, with every option that matters set
 * explicitly, so that nothing comes from libcurl's defaults for the
 * environment or from the environment itself. */
#include "jit-notify.h"
#include "cleanup.h"
#include "safeio.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct delivery *d = userdata;
        size_t n = size * nmemb;

        (void)ptr;
        d->response_bytes += n;
        return d->response_bytes > JIT_NOTIFY_RESPONSE_MAX ? 0 : n;    /* 0: abort */
}

static void fail(struct jit_outbox_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct jit_outbox_result *res, const char *fmt, ...)
{
        char msg[JIT_OUTBOX_ERROR_MAX + 1];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        free(res->error);
        res->error = strdup(msg);
}

/* The URL: the policy's, or the first line of its url_file, checked as the
 * policy's would be. */
static int target_url(const struct jit_notify_target *t, char **ret, struct jit_outbox_result *res)
{
        _cleanup_free_ char *text = NULL;
        const char *why = NULL;
        size_t len;
        int r;

        if (t->url) {
                *ret = strdup(t->url);
                return *ret ? 0 : -ENOMEM;
        }
        r = read_secret_file(t->url_file, JIT_NOTIFY_URL_MAX + 2, &text, &len);
        if (r < 0) {
                fail(res, "url_file: %s", r == -EPERM ? "must be root's, mode 0600, in directories only root can write"
                                                     : strerror(-r));
                return r;
        }
        if (jit_notify_url_check(text, t->allow_http_loopback, &why) < 0) {
                fail(res, "url_file: the URL %s", why);
                return -EINVAL;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

static int signature_header(const struct jit_notify_target *t, const char *body, char out[128],
                            struct jit_outbox_result *res)
{
        _cleanup_free_ char *key = NULL;
        char sig[JIT_NOTIFY_SIG_MAX];
        size_t len = 0;
        int r = read_secret_file(t->key_file, JIT_NOTIFY_KEY_MAX + 1, &key, &len);

        if (r < 0) {
                fail(res, "key_file: %s", r == -EPERM ? "must be root's, mode 0600, in directories only root can write"
                                                     : strerror(-r));
                return r;
        }
        r = jit_notify_sign(sig, (const unsigned char *)key, len, now_realtime_us() / 1000000, body, strlen(body));
        sodium_memzero(key, len);
        if (r < 0) {
                fail(res, "key_file: %s", "the key must be 32 to 1024 bytes");
                return r;
        }
        snprintf(out, 128, "X-Jit-Signature: %s", sig);
        return 0;
}

/* The transfer's options, all of them explicit. */
static int set_options(CURL *e, struct delivery *d, const struct jit_notify_target *t, const char *url,
                       const struct curl_blob *ca)
{
        long ms = (long)t->timeout * 1000;
        CURLcode rc = CURLE_OK;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
        SET(CURLOPT_URL, url);
        SET(CURLOPT_PROTOCOLS_STR, t->allow_http_loopback ? "http,https" : "https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        SET(CURLOPT_MAXREDIRS, 0L);
        /* The policy's proxy, or none: "" and "*" keep the environment's
         * (already cleared) proxy variables out, whatever happens. */
        SET(CURLOPT_PROXY, t->proxy ? t->proxy : "");
        SET(CURLOPT_NOPROXY, t->proxy ? "" : "*");
        SET(CURLOPT_TIMEOUT_MS, ms);
        SET(CURLOPT_CONNECTTIMEOUT_MS, ms);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        /* Trust exactly the target's CAs, or the system's bundle; never a
         * CA directory, never CURL_CA_BUNDLE or SSL_CERT_FILE. */
        SET(CURLOPT_CAPATH, NULL);
        if (ca) {
                SET(CURLOPT_CAINFO, NULL);
                SET(CURLOPT_CAINFO_BLOB, ca);
        } else
                SET(CURLOPT_CAINFO, JIT_NOTIFY_SYSTEM_CA);
        SET(CURLOPT_PROXY_CAPATH, NULL);
        SET(CURLOPT_PROXY_CAINFO, JIT_NOTIFY_SYSTEM_CA);
        SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
        SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
        SET(CURLOPT_USERAGENT, "jit-notify/" JIT_VERSION);
        SET(CURLOPT_HTTPHEADER, d->headers);
        SET(CURLOPT_POSTFIELDS, d->rec->body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->rec->body));
        SET(CURLOPT_WRITEFUNCTION, discard);
        SET(CURLOPT_WRITEDATA, d);
        SET(CURLOPT_ERRORBUFFER, d->errbuf);
        SET(CURLOPT_PRIVATE, d);
#undef SET
        return rc == CURLE_OK ? 0 : -EINVAL;
}

/* The CA certificates of the target, read through safeio (root's, not
 * writable by others) and handed to libcurl as bytes: no path race. */
static int read_ca(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dfd = -1;
        char *slash = dir ? strrchr(dir, '/') : NULL;

        if (!slash)
                return -ENOMEM;
        *slash = '\0';
        dfd = jit_safeio_open_dir(dir[0] ? dir : "/", JIT_SAFEIO_TRUSTED);
        if (dfd < 0)
                return dfd;
        return jit_safeio_read_at(dfd, slash + 1, 4 * 1024 * 1024, JIT_SAFEIO_TRUSTED, ret, ret_len);
}

int http_start(CURLM *multi, struct delivery *d, const struct jit_notify_target *t, struct jit_outbox_result *res)
{
        _cleanup_free_ char *url = NULL, *ca = NULL;
        char sig[128], hdr[64];
        struct curl_blob blob = { 0 };
        size_t ca_len = 0;
        int r;

        r = target_url(t, &url, res);
        if (r == 0)
                r = signature_header(t, d->rec->body, sig, res);
        if (r == 0 && t->ca_file && (r = read_ca(t->ca_file, &ca, &ca_len)) < 0)
                fail(res, "ca_file: %s", r == -EPERM ? "must be root's and not writable by others" : strerror(-r));
        if (r < 0)
                return r;
        blob = (struct curl_blob){ .data = ca, .len = ca_len, .flags = CURL_BLOB_COPY };
        d->headers = curl_slist_append(NULL, "Content-Type: application/json");
        snprintf(hdr, sizeof(hdr), "X-Jit-Event: %s", jit_notify_event_to_string(d->rec->event));
        d->headers = d->headers ? curl_slist_append(d->headers, hdr) : NULL;
        snprintf(hdr, sizeof(hdr), "X-Jit-Delivery: %s", d->rec->id);
        d->headers = d->headers ? curl_slist_append(d->headers, hdr) : NULL;
        d->headers = d->headers ? curl_slist_append(d->headers, sig) : NULL;
        d->headers = d->headers ? curl_slist_append(d->headers, "Expect:") : NULL;
        d->easy = d->headers ? curl_easy_init() : NULL;
        if (!d->easy || set_options(d->easy, d, t, url, ca ? &blob : NULL) < 0 ||
            curl_multi_add_handle(multi, d->easy) != CURLM_OK) {
                fail(res, "%s", "libcurl refused the transfer's options");
                return -EINVAL;
        }
        return 0;
}

void http_finish(CURLM *multi, struct delivery *d, CURLcode rc, struct jit_outbox_result *res)
{
        long status = 0;
        char msg[JIT_OUTBOX_ERROR_MAX + 1];

        (void)curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
        res->http_status = status > 0 && status < 1000 ? (uint32_t)status : 0;
        if (rc == CURLE_OK && status >= 200 && status < 300)
                res->ok = true;
        else if (rc == CURLE_OK)
                snprintf(msg, sizeof(msg), "HTTP %ld%s", status,
                         status >= 300 && status < 400 ? " (a redirect: not followed)" : "");
        else if (rc == CURLE_WRITE_ERROR && d->response_bytes > JIT_NOTIFY_RESPONSE_MAX)
                snprintf(msg, sizeof(msg), "the answer was longer than %d bytes", JIT_NOTIFY_RESPONSE_MAX);
        else
                snprintf(msg, sizeof(msg), "%s%s%s", curl_easy_strerror(rc), d->errbuf[0] ? ": " : "", d->errbuf);
        if (!res->ok)
                res->error = strdup(msg);
        curl_multi_remove_handle(multi, d->easy);
        curl_easy_cleanup(d->easy);
        curl_slist_free_all(d->headers);
        d->easy = NULL;
        d->headers = NULL;
}
