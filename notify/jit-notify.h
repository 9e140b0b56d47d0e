/* jit-notify.h — the notification deliverer (jit-notify), inside.
 *
 * Owns: delivering the records the service leaves in the outbox, one
 * attempt at a time per record, and telling the service how each went.
 * It is the only jit program that links libcurl; the service never opens
 * a network connection and pam_jit.so never loads libcurl.
 * MUSTs: the process environment is cleared before libcurl is initialised
 * (no proxy, CA bundle or TLS key log from the environment); every
 * transfer has a timeout, follows no redirect, speaks https only (http
 * only to loopback, when the target allows it), verifies the peer and its
 * name, takes its proxy from the policy alone or uses none; a command
 * target gets an empty environment, the body on stdin, and is killed at
 * its timeout; key and URL files are read through safeio, root's alone.
 */
#ifndef JIT_NOTIFY_DELIVER_H
#define JIT_NOTIFY_DELIVER_H

#include "config.h"
#include "notify.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JIT_NOTIFY_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define JIT_NOTIFY_RESPONSE_MAX (64 * 1024)

/* One attempt in flight. */
struct delivery {
        struct jit_outbox_record *rec;
        uint32_t max_attempts;
        /* http */
        CURL *easy;
        struct curl_slist *headers;
        char errbuf[CURL_ERROR_SIZE];
        size_t response_bytes;
        /* command */
        pid_t pid;
        int pidfd;
        uint64_t deadline_us;           /* CLOCK_MONOTONIC */
        struct delivery *next;
};

uint64_t now_realtime_us(void);
uint64_t now_monotonic_us(void);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a root-only file (key_file, url_file) through safeio: the file
 * 0600 root's, every directory above it root's and not writable by
 * others. One final newline is taken off. */
int read_secret_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* http.c: start the POST of d->rec->body to target t on multi. On
 * failure (no key, bad url_file, ...) fills res and returns < 0. */
int http_start(CURLM *multi, struct delivery *d, const struct jit_notify_target *t, struct jit_outbox_result *res);
/* The transfer ended with rc: fill res (ok only for a 2xx answer). */
void http_finish(CURLM *multi, struct delivery *d, CURLcode rc, struct jit_outbox_result *res);

/* command.c: spawn t's argv with the body on stdin; d->pidfd to poll. */
int command_start(struct delivery *d, const struct jit_notify_target *t, struct jit_outbox_result *res);
/* Returns 1 and fills res once the command has ended (or was killed at
 * its deadline), 0 while it runs. */
int command_poll(struct delivery *d, uint64_t now_mono, struct jit_outbox_result *res);
void command_abort(struct delivery *d);

#endif
