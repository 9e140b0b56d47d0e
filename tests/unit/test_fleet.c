/* test_fleet.c — jit-fleet's parsers (fleet/msg.c, fleet/etcd.c): its
 * configuration (its labels too), signed decisions, requests for several
 * hosts and keys read from the store, and the watch stream, fed as curl
 * would feed it (etcd_watch_feed).
 *
 * JSON is written inline with single quotes, which sq() turns into double
 * quotes; a refused config must say where ("$.key: why").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "jit-fleet.h"
#include "proto.h"
#include "strv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static char *sq(const char *s)
{
        char *d = strdup(s);

        assert_non_null(d);
        for (char *p = d; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return d;
}

static struct fleet_config *config_ok(const char *json_sq)
{
        char *text = sq(json_sq), err[256] = "";
        struct fleet_config *c = NULL;
        int r = fleet_config_parse(text, strlen(text), &c, err, sizeof(err));

        if (r != 0)
                fail_msg("config should be valid, got %d: %s\n  %s", r, err, text);
        assert_non_null(c);
        free(text);
        return c;
}

/* Refused with -EINVAL, ret untouched, the error at path mentioning word. */
static void expect_config_error_len(const char *text, size_t len, const char *path, const char *word)
{
        struct fleet_config *c = (struct fleet_config *)(uintptr_t)1;
        char err[256] = "";
        size_t pl = strlen(path);
        int r = fleet_config_parse(text, len, &c, err, sizeof(err));

        if (r != -EINVAL)
                fail_msg("config should be refused with -EINVAL, got %d:\n  %.*s", r, (int)len, text);
        assert_ptr_equal(c, (struct fleet_config *)(uintptr_t)1);
        if (strncmp(err, path, pl) != 0 || err[pl] != ':' || (word && !strstr(err + pl, word)))
                fail_msg("want an error at \"%s\" mentioning \"%s\", got \"%s\"", path, word ? word : "", err);
}

static void expect_config_error(const char *json_sq, const char *path, const char *word)
{
        char *text = sq(json_sq);

        expect_config_error_len(text, strlen(text), path, word);
        free(text);
}

#define FILES "'ca_file':'/etc/jit/fleet/ca.pem','cert_file':'/etc/jit/fleet/host.pem'," \
              "'key_file':'/etc/jit/fleet/host.key'"
#define EP "'endpoints':['https://etcd1.example.net:2379']"
#define MINIMAL "{'version':1," EP "," FILES "}"
#define WITH(extra) "{'version':1," EP "," FILES "," extra "}"
#define WITH_EP(ep) "{'version':1,'endpoints':[" ep "]," FILES "}"

/* ---- fleet.conf: valid -------------------------------------------------- */

static void t_minimal_config_parses_with_the_defaults(void **state)
{
        struct fleet_config *c = config_ok(MINIMAL);

        assert_int_equal(c->n_endpoints, 1);
        assert_string_equal(c->endpoints[0], "https://etcd1.example.net:2379");
        assert_null(c->endpoints[1]);
        assert_string_equal(c->ca_file, "/etc/jit/fleet/ca.pem");
        assert_string_equal(c->cert_file, "/etc/jit/fleet/host.pem");
        assert_string_equal(c->key_file, "/etc/jit/fleet/host.key");
        assert_null(c->user);
        assert_null(c->password_file);
        assert_string_equal(c->prefix, "/jit/v1");
        assert_int_equal(c->timeout_ms, 3000);
        assert_int_equal(c->audit_interval, 60);
        assert_int_equal(c->decision_ttl, 3600);
        fleet_config_free(c);
}

static void t_complete_config_parses_with_its_values(void **state)
{
        struct fleet_config *c = config_ok(
                "{'version':1,'endpoints':['https://10.0.0.1:2379','https://[fd00::2]:2380','https://etcd3:443'],"
                FILES ",'user':'hA','password_file':'/etc/jit/fleet/password','prefix':'/corp/jit-v1',"
                "'timeout':'10s','audit_interval':'5m','decision_ttl':'2h'}\n");

        assert_int_equal(c->n_endpoints, 3);
        assert_string_equal(c->endpoints[1], "https://[fd00::2]:2380");
        assert_string_equal(c->endpoints[2], "https://etcd3:443");
        assert_string_equal(c->user, "hA");
        assert_string_equal(c->password_file, "/etc/jit/fleet/password");
        assert_string_equal(c->prefix, "/corp/jit-v1");
        assert_int_equal(c->timeout_ms, 10000);
        assert_int_equal(c->audit_interval, 300);
        assert_int_equal(c->decision_ttl, 7200);
        fleet_config_free(c);
}

static void t_config_durations_take_their_bounds(void **state)
{
        struct fleet_config *c = config_ok(WITH("'timeout':'1s','audit_interval':'1s','decision_ttl':'1m'"));

        assert_int_equal(c->timeout_ms, 1000);
        assert_int_equal(c->audit_interval, 1);
        assert_int_equal(c->decision_ttl, 60);
        fleet_config_free(c);
        c = config_ok(WITH("'timeout':'1m','audit_interval':'1d','decision_ttl':'7d'"));
        assert_int_equal(c->timeout_ms, 60000);
        assert_int_equal(c->audit_interval, 86400);
        assert_int_equal(c->decision_ttl, 7 * 86400);
        fleet_config_free(c);
}

static void t_config_free_accepts_null(void **state)
{
        fleet_config_free(NULL);
}

/* ---- fleet.conf: refused ------------------------------------------------ */

static void t_unknown_config_key_is_refused(void **state)
{
        expect_config_error(WITH("'endpoint':'https://etcd1:2379'"), "$", "unknown key \"endpoint\"");
}

static void t_config_without_a_file_is_refused(void **state)
{
        expect_config_error("{'version':1," EP ",'cert_file':'/etc/c.pem','key_file':'/etc/k.pem'}",
                            "$.ca_file", "missing");
        expect_config_error("{'version':1," EP ",'ca_file':'/etc/a.pem','key_file':'/etc/k.pem'}",
                            "$.cert_file", "missing");
        expect_config_error("{'version':1," EP ",'ca_file':'/etc/a.pem','cert_file':'/etc/c.pem'}",
                            "$.key_file", "missing");
}

static void t_config_version_must_be_1(void **state)
{
        expect_config_error("{" EP "," FILES "}", "$.version", NULL);
        expect_config_error("{'version':2," EP "," FILES "}", "$.version", NULL);
        expect_config_error("{'version':'1'," EP "," FILES "}", "$.version", NULL);
}

static void t_http_endpoint_is_refused(void **state)
{
        expect_config_error(WITH_EP("'http://etcd1:2379'"), "$.endpoints[0]", "https://");
        expect_config_error(WITH_EP("'https://etcd1:2379','HTTPS://etcd2:2379'"), "$.endpoints[1]", NULL);
        expect_config_error(WITH_EP("'etcd1:2379'"), "$.endpoints[0]", NULL);
}

static void t_endpoint_with_a_path_is_refused(void **state)
{
        expect_config_error(WITH_EP("'https://etcd1:2379/'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://etcd1:2379/v3'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://etcd1/v3:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://user@etcd1:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://etcd1:2379?x=1'"), "$.endpoints[0]", NULL);
}

static void t_endpoint_with_a_bad_port_is_refused(void **state)
{
        static const char *const bad[] = {
                "'https://etcd1'", "'https://etcd1:'", "'https://etcd1:0'", "'https://etcd1:65536'",
                "'https://etcd1:02379'", "'https://etcd1:+2379'", "'https://etcd1:-1'", "'https://etcd1:2379 '",
                "'https://etcd1:port'", "'https://etcd1:99999999999999999999'", "'https://:2379'",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char buf[256];

                snprintf(buf, sizeof(buf), WITH_EP("%s"), bad[i]);
                expect_config_error(buf, "$.endpoints[0]", NULL);
        }
        fleet_config_free(config_ok(WITH_EP("'https://etcd1:1','https://etcd2:65535'")));
}

/* Regression (fuzz_fleet): "https://a:b:2379" passed as HOST:PORT. */
static void t_endpoint_host_holds_a_colon_only_inside_brackets(void **state)
{
        struct fleet_config *c;

        expect_config_error(WITH_EP("'https://etcd3.examp:le.net:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://::1:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://[::1:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://::1]:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://[]:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://[fd00::x]:2379'"), "$.endpoints[0]", NULL);
        expect_config_error(WITH_EP("'https://a]b[:2379'"), "$.endpoints[0]", NULL);
        c = config_ok(WITH_EP("'https://[::1]:2379','https://[::ffff:10.0.0.1]:2379','https://10.0.0.1:2379'"));
        assert_int_equal(c->n_endpoints, 3);
        fleet_config_free(c);
}

static void t_endpoint_list_holds_1_to_16(void **state)
{
        char buf[2048] = "{'version':1,'endpoints':[";

        expect_config_error(WITH_EP(""), "$.endpoints", "1 to 16");
        expect_config_error("{'version':1,'endpoints':'https://etcd1:2379'," FILES "}", "$.endpoints", NULL);
        expect_config_error(WITH_EP("2379"), "$.endpoints[0]", NULL);
        for (int i = 0; i < 17; i++)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s'https://e%d:2379'", i ? "," : "", i);
        strcat(buf, "]," FILES "}");
        expect_config_error(buf, "$.endpoints", "1 to 16");
}

static void t_user_without_password_file_is_refused(void **state)
{
        expect_config_error(WITH("'user':'hA'"), "$", "password_file");
        expect_config_error(WITH("'password_file':'/etc/jit/fleet/password'"), "$", "user");
        expect_config_error(WITH("'user':'h/A','password_file':'/etc/jit/fleet/password'"), "$.user", NULL);
        expect_config_error(WITH("'user':'','password_file':'/etc/jit/fleet/password'"), "$.user", NULL);
}

static void t_relative_or_dotted_path_is_refused(void **state)
{
        expect_config_error("{'version':1," EP ",'ca_file':'etc/ca.pem','cert_file':'/etc/c.pem',"
                            "'key_file':'/etc/k.pem'}", "$.ca_file", "absolute");
        expect_config_error("{'version':1," EP ",'ca_file':'/etc/ca.pem','cert_file':'/etc/../c.pem',"
                            "'key_file':'/etc/k.pem'}", "$.cert_file", "absolute");
        expect_config_error("{'version':1," EP ",'ca_file':'/etc/ca.pem','cert_file':'/etc/c.pem',"
                            "'key_file':'/etc/./k.pem'}", "$.key_file", NULL);
        expect_config_error("{'version':1," EP ",'ca_file':'/etc//ca.pem','cert_file':'/etc/c.pem',"
                            "'key_file':'/etc/k.pem'}", "$.ca_file", NULL);
        expect_config_error("{'version':1," EP ",'ca_file':'/etc/jit/','cert_file':'/etc/c.pem',"
                            "'key_file':'/etc/k.pem'}", "$.ca_file", NULL);
        expect_config_error("{'version':1," EP ",'ca_file':'/','cert_file':'/etc/c.pem',"
                            "'key_file':'/etc/k.pem'}", "$.ca_file", NULL);
        expect_config_error(WITH("'user':'hA','password_file':'/etc/jit/..'"), "$.password_file", NULL);
        expect_config_error(WITH("'user':'hA','password_file':'password'"), "$.password_file", NULL);
        expect_config_error("{'version':1," EP ",'ca_file':1,'cert_file':'/etc/c.pem','key_file':'/etc/k.pem'}",
                            "$.ca_file", "string");
}

static void t_bad_prefix_is_refused(void **state)
{
        static const char *const bad[] = {
                "'jit/v1'", "'/jit/v1/'", "'/'", "'/JIT/v1'", "'/jit v1'", "'/jit/v1\\n'", "''", "1",
                "'/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char buf[512];

                snprintf(buf, sizeof(buf), WITH("'prefix':%s"), bad[i]);
                expect_config_error(buf, "$.prefix", NULL);
        }
}

static void t_durations_out_of_range_are_refused(void **state)
{
        expect_config_error(WITH("'timeout':'0s'"), "$.timeout", "1s to 60s");
        expect_config_error(WITH("'timeout':'61s'"), "$.timeout", "1s to 60s");
        expect_config_error(WITH("'timeout':3"), "$.timeout", NULL);
        expect_config_error(WITH("'timeout':'3 s'"), "$.timeout", NULL);
        expect_config_error(WITH("'audit_interval':'1d1s'"), "$.audit_interval", "1s to 86400s");
        expect_config_error(WITH("'decision_ttl':'59s'"), "$.decision_ttl", "60s to 604800s");
        expect_config_error(WITH("'decision_ttl':'7d1s'"), "$.decision_ttl", NULL);
        expect_config_error(WITH("'decision_ttl':'-1h'"), "$.decision_ttl", NULL);
}

static void t_duplicate_config_key_is_refused(void **state)
{
        expect_config_error(WITH("'ca_file':'/etc/other.pem'"), "$", "no key twice");
}

static void t_config_with_trailing_garbage_is_refused(void **state)
{
        expect_config_error(MINIMAL "x", "$", NULL);
        expect_config_error(MINIMAL MINIMAL, "$", NULL);
        expect_config_error("[" MINIMAL "]", "$", NULL);
        expect_config_error("", "$", NULL);
}

static void t_config_that_is_not_utf8_is_refused(void **state)
{
        static const char *const bad[] = { "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82" };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char buf[512];

                snprintf(buf, sizeof(buf), "{\"version\":1,\"endpoints\":[\"https://e:1\"],"
                         "\"ca_file\":\"/etc/%s\",\"cert_file\":\"/c\",\"key_file\":\"/k\"}", bad[i]);
                expect_config_error_len(buf, strlen(buf), "$", "UTF-8");
        }
        /* a NUL byte inside the text is no JSON either */
        expect_config_error_len("{\"version\":1}\0{}", 16, "$", NULL);
}

/* ---- fleet.conf: labels -------------------------------------------------- */

static void t_config_without_labels_has_none(void **state)
{
        struct fleet_config *c = config_ok(MINIMAL);

        assert_null(c->labels);
        fleet_config_free(c);
        c = config_ok(WITH("'labels':[]"));
        assert_null(c->labels);
        fleet_config_free(c);
}

static void t_config_labels_are_read_in_order(void **state)
{
        char n64[65], buf[512];
        struct fleet_config *c = config_ok(WITH("'labels':['web','gpu','eu-west_1','db.primary']"));

        assert_non_null(c->labels);
        assert_string_equal(c->labels[0], "web");
        assert_string_equal(c->labels[1], "gpu");
        assert_string_equal(c->labels[2], "eu-west_1");
        assert_string_equal(c->labels[3], "db.primary");
        assert_null(c->labels[4]);
        fleet_config_free(c);
        memset(n64, 'l', 64);
        n64[64] = '\0';
        snprintf(buf, sizeof(buf), WITH("'labels':['%s']"), n64);
        c = config_ok(buf);
        assert_string_equal(c->labels[0], n64);
        assert_null(c->labels[1]);
        fleet_config_free(c);
}

/* 'labels':[n labels l0, l1, ...] */
static void labels_of(char *buf, size_t size, int n)
{
        size_t off = (size_t)snprintf(buf, size, "{'version':1," EP "," FILES ",'labels':[");

        for (int i = 0; i < n; i++)
                off += (size_t)snprintf(buf + off, size - off, "%s'l%d'", i ? "," : "", i);
        snprintf(buf + off, size - off, "]}");
}

static void t_config_labels_hold_at_most_32(void **state)
{
        char buf[2048];
        struct fleet_config *c;
        size_t n = 0;

        labels_of(buf, sizeof(buf), FLEET_LABELS_MAX);
        c = config_ok(buf);
        while (c->labels[n])
                n++;
        assert_int_equal(n, FLEET_LABELS_MAX);
        assert_int_equal(FLEET_LABELS_MAX, 32);
        assert_string_equal(c->labels[31], "l31");
        fleet_config_free(c);
        labels_of(buf, sizeof(buf), FLEET_LABELS_MAX + 1);
        expect_config_error(buf, "$.labels", "at most 32");
}

static void t_config_labels_must_be_an_array(void **state)
{
        expect_config_error(WITH("'labels':'web'"), "$.labels", "array");
        expect_config_error(WITH("'labels':{'web':true}"), "$.labels", "array");
        expect_config_error(WITH("'labels':null"), "$.labels", "array");
        expect_config_error(WITH("'labels':1"), "$.labels", "array");
}

static void t_config_label_must_be_a_name(void **state)
{
        static const char *const bad[] = {
                "'a/b'", "''", "'-web'", "'.web'", "'..'", "'web gpu'", "'caf\xc3\xa9'", "'a:b'",
                "'lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll'",  /* 65 */
                "1", "null", "true", "['web']", "{}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char buf[512];

                snprintf(buf, sizeof(buf), WITH("'labels':['web',%s]"), bad[i]);
                expect_config_error(buf, "$.labels", "name");
                snprintf(buf, sizeof(buf), WITH("'labels':[%s]"), bad[i]);
                expect_config_error(buf, "$.labels", NULL);
        }
}

/* ---- names --------------------------------------------------------------- */

static void t_fleet_names_are_1_to_64_safe_characters(void **state)
{
        char n64[66], n65[67];

        memset(n64, 'a', 64);
        n64[64] = '\0';
        memset(n65, 'a', 65);
        n65[65] = '\0';
        assert_true(fleet_name_ok("hA"));
        assert_true(fleet_name_ok("r-1700000000-0001"));
        assert_true(fleet_name_ok("web_01.example.net"));
        assert_true(fleet_name_ok("a..b"));
        assert_true(fleet_name_ok("a-"));
        assert_true(fleet_name_ok(n64));
        assert_false(fleet_name_ok(n65));
        assert_false(fleet_name_ok(NULL));
        assert_false(fleet_name_ok(""));
        assert_false(fleet_name_ok("."));
        assert_false(fleet_name_ok(".."));
        assert_false(fleet_name_ok(".hidden"));
        assert_false(fleet_name_ok("-rf"));
        assert_false(fleet_name_ok("a/b"));
        assert_false(fleet_name_ok("a b"));
        assert_false(fleet_name_ok("a\nb"));
        assert_false(fleet_name_ok("caf\xc3\xa9"));
        assert_false(fleet_name_ok("a:b"));
}

/* ---- signed decisions ---------------------------------------------------- */

#define NONCE "00112233445566778899aabbccddeeff"
#define SIG64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SIG SIG64 SIG64
#define D_HEAD "'v':1,'host':'hB','id':'r-1','approver':'carol','decision':'approve'"
#define D_TAIL "'ttl':3600,'time_us':1700000000123456,'nonce':'" NONCE "','signature':'" SIG "'"
#define DECISION "{" D_HEAD "," D_TAIL ",'comment':'INC-42'}"

static int parse_decision_sq(const char *json_sq, struct fleet_decision *d)
{
        char *text = sq(json_sq);
        int r = fleet_parse_decision(text, strlen(text), d);

        free(text);
        return r;
}

static void expect_decision_refused(const char *json_sq)
{
        struct fleet_decision d, sentinel;

        memset(&d, 0x5a, sizeof(d));
        memcpy(&sentinel, &d, sizeof(d));
        if (parse_decision_sq(json_sq, &d) != -EBADMSG)
                fail_msg("decision should be refused with -EBADMSG:\n  %s", json_sq);
        assert_memory_equal(&d, &sentinel, sizeof(d));          /* ret untouched */
}

/* The valid decision with the field key set to value (JSON, quoted with '). */
static void expect_field_refused(const char *key, const char *value)
{
        static const char *const fields[][2] = {
                { "host", "'hB'" }, { "id", "'r-1'" }, { "approver", "'carol'" }, { "decision", "'approve'" },
                { "ttl", "3600" }, { "time_us", "1700000000123456" }, { "nonce", "'" NONCE "'" },
                { "signature", "'" SIG "'" }, { "comment", "'INC-42'" },
        };
        char buf[8192];
        size_t n = (size_t)snprintf(buf, sizeof(buf), "{'v':1");

        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",'%s':%s", fields[i][0],
                                      strcmp(fields[i][0], key) == 0 ? value : fields[i][1]);
        snprintf(buf + n, sizeof(buf) - n, "}");
        expect_decision_refused(buf);
}

static void t_valid_decision_parses_with_its_fields(void **state)
{
        struct fleet_decision d;

        assert_int_equal(parse_decision_sq(DECISION, &d), 0);
        assert_string_equal(d.host, "hB");
        assert_string_equal(d.id, "r-1");
        assert_string_equal(d.approver, "carol");
        assert_string_equal(d.decision, "approve");
        assert_int_equal(d.ttl, 3600);
        assert_int_equal(d.time_us, 1700000000123456ULL);
        assert_string_equal(d.nonce, NONCE);
        assert_string_equal(d.signature, SIG);
        assert_string_equal(d.comment, "INC-42");
        fleet_decision_done(&d);
        assert_null(d.comment);
        fleet_decision_done(&d);                                /* twice is harmless */

        assert_int_equal(parse_decision_sq("{" D_HEAD "," D_TAIL "}", &d), 0);
        assert_null(d.comment);
        assert_int_equal(parse_decision_sq("{'v':1,'host':'hB','id':'r-1','approver':'carol','decision':'deny',"
                                           D_TAIL ",'comment':''}", &d), 0);
        assert_string_equal(d.decision, "deny");
        assert_string_equal(d.comment, "");
        fleet_decision_done(&d);
}

static void t_decision_bounds_are_accepted(void **state)
{
        char comment[1030], buf[4096];
        struct fleet_decision d;

        memset(comment, 'c', 1024);
        comment[1024] = '\0';
        snprintf(buf, sizeof(buf), "{" D_HEAD ",'ttl':31622400,'time_us':4503599627370496,'nonce':'" NONCE
                 "','signature':'" SIG "','comment':'%s'}", comment);
        assert_int_equal(parse_decision_sq(buf, &d), 0);
        assert_int_equal(d.ttl, 366ULL * 86400);
        assert_int_equal(d.time_us, 1ULL << 52);
        assert_int_equal(strlen(d.comment), 1024);
        fleet_decision_done(&d);
        assert_int_equal(parse_decision_sq("{" D_HEAD ",'ttl':0,'time_us':0,'nonce':'" NONCE "','signature':'" SIG
                                           "'}", &d), 0);
}

static void t_decision_names_must_be_fleet_names(void **state)
{
        static const char *const keys[] = { "host", "id", "approver" };
        char n65[70];

        n65[0] = '\'';
        memset(n65 + 1, 'n', 65);
        snprintf(n65 + 66, sizeof(n65) - 66, "'");
        for (size_t i = 0; i < 3; i++) {
                const char *k = keys[i];

                expect_field_refused(k, "'h/B'");
                expect_field_refused(k, "'..'");
                expect_field_refused(k, "'.h'");
                expect_field_refused(k, "'-rf'");
                expect_field_refused(k, "''");
                expect_field_refused(k, "'a b'");
                expect_field_refused(k, "1");
                expect_field_refused(k, "null");
                expect_field_refused(k, n65);                   /* 65 characters */
        }
}

static void t_decision_name_of_64_characters_is_accepted(void **state)
{
        char buf[4096], n64[65];
        struct fleet_decision d;

        memset(n64, 'n', 64);
        n64[64] = '\0';
        snprintf(buf, sizeof(buf), "{'v':1,'host':'%s','id':'%s','approver':'%s','decision':'deny'," D_TAIL "}",
                 n64, n64, n64);
        assert_int_equal(parse_decision_sq(buf, &d), 0);
        assert_string_equal(d.host, n64);
        assert_string_equal(d.id, n64);
        assert_string_equal(d.approver, n64);
        fleet_decision_done(&d);
}

static void t_decision_ttl_is_a_whole_number_up_to_366_days(void **state)
{
        expect_field_refused("ttl", "-1");
        expect_field_refused("ttl", "-0.5");
        expect_field_refused("ttl", "1.5");
        expect_field_refused("ttl", "31622401");
        expect_field_refused("ttl", "1e300");
        expect_field_refused("ttl", "'3600'");
        expect_field_refused("ttl", "true");
        expect_field_refused("time_us", "-1");
        expect_field_refused("time_us", "0.25");
        expect_field_refused("time_us", "4503599627370497");    /* over 2^52: see the round trip */
        expect_field_refused("time_us", "9007199254740992");
        expect_field_refused("time_us", "1e999");
}

static void t_decision_nonce_is_32_lowercase_hex_digits(void **state)
{
        expect_field_refused("nonce", "'00112233445566778899AABBCCDDEEFF'");
        expect_field_refused("nonce", "'00112233445566778899aabbccddeef'");
        expect_field_refused("nonce", "'00112233445566778899aabbccddeeff0'");
        expect_field_refused("nonce", "'00112233445566778899aabbccddeefg'");
        expect_field_refused("nonce", "'0011223344556677\\n8899aabbccddeef'");
        expect_field_refused("nonce", "''");
        expect_field_refused("nonce", "42");
}

static void t_decision_signature_is_128_lowercase_hex_digits(void **state)
{
        char sig127[140], sig129[140];

        snprintf(sig127, sizeof(sig127), "'%.127s'", SIG);
        snprintf(sig129, sizeof(sig129), "'%s0'", SIG);
        expect_field_refused("signature", sig127);
        expect_field_refused("signature", sig129);
        expect_field_refused("signature", "'" SIG64 "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef'");
        expect_field_refused("signature", "null");
}

static void t_decision_is_approve_or_deny(void **state)
{
        expect_field_refused("decision", "'maybe'");
        expect_field_refused("decision", "'Approve'");
        expect_field_refused("decision", "'approve '");
        expect_field_refused("decision", "'approved'");
        expect_field_refused("decision", "''");
        expect_field_refused("decision", "true");
}

static void t_decision_comment_is_at_most_1024_bytes(void **state)
{
        char value[1030];

        value[0] = '\'';
        memset(value + 1, 'c', 1025);
        value[1026] = '\'';
        value[1027] = '\0';
        expect_field_refused("comment", value);
        expect_field_refused("comment", "42");
        expect_field_refused("comment", "null");
}

static void t_decision_with_an_unknown_key_or_version_is_refused(void **state)
{
        expect_decision_refused("{" D_HEAD "," D_TAIL ",'extra':1}");
        expect_decision_refused("{" D_HEAD "," D_TAIL ",'reason':'x'}");     /* stored as "comment" */
        expect_decision_refused("{'v':2,'host':'hB','id':'r-1','approver':'carol','decision':'approve'," D_TAIL "}");
        expect_decision_refused("{'host':'hB','id':'r-1','approver':'carol','decision':'approve'," D_TAIL "}");
        expect_decision_refused("{'v':'1','host':'hB','id':'r-1','approver':'carol','decision':'approve'," D_TAIL
                                "}");
}

static void t_decision_missing_a_field_is_refused(void **state)
{
        expect_decision_refused("{'v':1,'id':'r-1','approver':'carol','decision':'approve'," D_TAIL "}");
        expect_decision_refused("{" D_HEAD ",'ttl':3600,'nonce':'" NONCE "','signature':'" SIG "'}");
        expect_decision_refused("{" D_HEAD ",'ttl':3600,'time_us':1,'signature':'" SIG "'}");
}

static void t_decision_that_is_not_strict_json_is_refused(void **state)
{
        expect_decision_refused("{" D_HEAD "," D_TAIL ",'host':'hC'}");       /* a key twice */
        expect_decision_refused(DECISION "x");
        expect_decision_refused("[" DECISION "]");
        expect_decision_refused("");
}

static void t_decision_over_64_kib_is_refused(void **state)
{
        size_t n = FLEET_VALUE_MAX + 1;
        char *big = malloc(n), *text = sq(DECISION);
        struct fleet_decision d;

        assert_non_null(big);
        memset(big, ' ', n);
        memcpy(big, text, strlen(text));                        /* valid JSON, then spaces */
        assert_int_equal(fleet_parse_decision(big, n, &d), -EBADMSG);
        assert_int_equal(fleet_parse_decision(big, FLEET_VALUE_MAX, &d), 0);
        fleet_decision_done(&d);
        free(big);
        free(text);
}

static void assert_same_decision(const struct fleet_decision *a, const struct fleet_decision *b)
{
        assert_string_equal(a->host, b->host);
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->approver, b->approver);
        assert_string_equal(a->decision, b->decision);
        assert_int_equal(a->ttl, b->ttl);
        assert_int_equal(a->time_us, b->time_us);
        assert_string_equal(a->nonce, b->nonce);
        assert_string_equal(a->signature, b->signature);
        if (a->comment || b->comment) {
                assert_non_null(a->comment);
                assert_non_null(b->comment);
                assert_string_equal(a->comment, b->comment);
        }
}

static void round_trip(const char *json_sq)
{
        struct fleet_decision d, back;
        char *text;
        cJSON *j;

        assert_int_equal(parse_decision_sq(json_sq, &d), 0);
        text = fleet_decision_to_text(&d);
        assert_non_null(text);
        assert_int_equal(fleet_parse_decision(text, strlen(text), &back), 0);
        assert_same_decision(&d, &back);
        /* stored as "comment", whatever the decision */
        assert_int_equal(jit_proto_parse_strict(text, strlen(text), &j), 0);
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "reason"));
        assert_int_equal(cJSON_GetArraySize(j), 9 + (d.comment ? 1 : 0));
        cJSON_Delete(j);
        free(text);
        fleet_decision_done(&d);
        fleet_decision_done(&back);
}

static void t_decision_text_parses_back_to_the_same_fields(void **state)
{
        round_trip(DECISION);
        round_trip("{" D_HEAD "," D_TAIL "}");
        round_trip("{'v':1,'host':'hB','id':'r-1','approver':'carol','decision':'deny'," D_TAIL
                   ",'comment':'not in the freeze'}");
        round_trip("{" D_HEAD ",'ttl':31622400,'time_us':4503599627370496,'nonce':'" NONCE "','signature':'" SIG
                   "','comment':'quote \\\" backslash \\\\ tab \\t caf\xc3\xa9 \\u2028'}");
        /* Regression: 9007199254740992 came back as 9007199254740990 (cJSON's
         * 15 digits); every time_us accepted must come back as itself. */
        round_trip("{" D_HEAD ",'ttl':1,'time_us':4503599627370495,'nonce':'" NONCE "','signature':'" SIG "'}");
        round_trip("{" D_HEAD ",'ttl':1,'time_us':4503599627370491,'nonce':'" NONCE "','signature':'" SIG "'}");
        round_trip("{" D_HEAD ",'ttl':1,'time_us':1700000000123456,'nonce':'" NONCE "','signature':'" SIG "'}");
}

static const char *op_string(const cJSON *o, const char *key)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        assert_true(cJSON_IsString(it));
        return it->valuestring;
}

static double op_number(const cJSON *o, const char *key)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

        assert_true(cJSON_IsNumber(it));
        return it->valuedouble;
}

static void t_decision_op_is_what_the_service_takes(void **state)
{
        struct fleet_decision d;
        cJSON *o;

        assert_int_equal(parse_decision_sq(DECISION, &d), 0);
        o = fleet_decision_to_op(&d, "hA");
        assert_non_null(o);
        assert_string_equal(op_string(o, "op"), "fleet-decide");
        assert_string_equal(op_string(o, "op"), JIT_OP_FLEET_DECIDE);
        assert_string_equal(op_string(o, "origin"), "hA");
        assert_string_equal(op_string(o, "id"), "r-1");
        assert_string_equal(op_string(o, "approver"), "carol");
        assert_string_equal(op_string(o, "decision"), "approve");
        assert_string_equal(op_string(o, "nonce"), NONCE);
        assert_string_equal(op_string(o, "signature"), SIG);
        assert_string_equal(op_string(o, "comment"), "INC-42");
        assert_true(op_number(o, "ttl") == 3600);
        assert_true(op_number(o, "time_us") == 1700000000123456.0);
        /* the host it is for is the service's own: not in the message */
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "host"));
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "v"));
        assert_int_equal(cJSON_GetArraySize(o), 10);
        cJSON_Delete(o);
        fleet_decision_done(&d);

        /* a denial's comment is its reason */
        assert_int_equal(parse_decision_sq("{'v':1,'host':'hB','id':'r-1','approver':'carol','decision':'deny',"
                                           D_TAIL ",'comment':'freeze'}", &d), 0);
        o = fleet_decision_to_op(&d, "hC");
        assert_non_null(o);
        assert_string_equal(op_string(o, "origin"), "hC");
        assert_string_equal(op_string(o, "reason"), "freeze");
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "comment"));
        cJSON_Delete(o);
        fleet_decision_done(&d);

        assert_int_equal(parse_decision_sq("{" D_HEAD "," D_TAIL "}", &d), 0);
        o = fleet_decision_to_op(&d, "hA");
        assert_non_null(o);
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "comment"));
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "reason"));
        assert_int_equal(cJSON_GetArraySize(o), 9);
        cJSON_Delete(o);
}

/* ---- requests for several hosts ------------------------------------------- */

#define MULTI_FIELDS "'v':1,'id':'m-0123456789','origin':'hA','user':'alice','role':'ops','ttl':3600," \
                     "'asked_us':1700000000123456,'reason':'INC-42','hosts':['hB','hC']"
#define MULTI "{" MULTI_FIELDS "}"

static int parse_multi_sq(const char *json_sq, struct fleet_multi *m)
{
        char *text = sq(json_sq);
        int r = fleet_parse_multi(text, strlen(text), m);

        free(text);
        return r;
}

/* Refused with -EBADMSG, ret untouched. */
static void expect_multi_refused_len(const char *text, size_t len)
{
        struct fleet_multi m, sentinel;
        int r;

        memset(&m, 0x5a, sizeof(m));
        memcpy(&sentinel, &m, sizeof(m));
        r = fleet_parse_multi(text, len, &m);
        if (r != -EBADMSG)
                fail_msg("request for several hosts should be refused with -EBADMSG, got %d:\n  %.*s", r,
                         len > 300 ? 300 : (int)len, text);
        assert_memory_equal(&m, &sentinel, sizeof(m));
}

static void expect_multi_refused(const char *json_sq)
{
        char *text = sq(json_sq);

        expect_multi_refused_len(text, strlen(text));
        free(text);
}

/* MULTI with key set to value (JSON, quoted with '), or without key if
 * value is NULL. */
static char *multi_with(const char *key, const char *value)
{
        static const char *const fields[][2] = {
                { "v", "1" }, { "id", "'m-0123456789'" }, { "origin", "'hA'" }, { "user", "'alice'" },
                { "role", "'ops'" }, { "ttl", "3600" }, { "asked_us", "1700000000123456" },
                { "reason", "'INC-42'" }, { "hosts", "['hB','hC']" },
        };
        size_t size = 16384, n = 0;
        char *buf = malloc(size);

        assert_non_null(buf);
        buf[n++] = '{';
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                bool hit = strcmp(fields[i][0], key) == 0;

                if (hit && !value)
                        continue;
                n += (size_t)snprintf(buf + n, size - n, "%s'%s':%s", n > 1 ? "," : "", fields[i][0],
                                      hit ? value : fields[i][1]);
                assert_true(n < size);
        }
        snprintf(buf + n, size - n, "}");
        return buf;
}

static void expect_multi_field_refused(const char *key, const char *value)
{
        char *json = multi_with(key, value);

        expect_multi_refused(json);
        free(json);
}

static void multi_field_ok(const char *key, const char *value, struct fleet_multi *m)
{
        char *json = multi_with(key, value);

        if (parse_multi_sq(json, m) != 0)
                fail_msg("request for several hosts should be valid:\n  %.300s", json);
        free(json);
}

/* "['h000','h001',...]": n names, sorted. */
static char *hosts_of(int n)
{
        size_t size = (size_t)n * 8 + 4, off = 0;
        char *s = malloc(size);

        assert_non_null(s);
        s[off++] = '[';
        for (int i = 0; i < n; i++)
                off += (size_t)snprintf(s + off, size - off, "%s'h%03d'", i ? "," : "", i);
        snprintf(s + off, size - off, "]");
        return s;
}

static void assert_same_multi(const struct fleet_multi *a, const struct fleet_multi *b)
{
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->origin, b->origin);
        assert_string_equal(a->user, b->user);
        assert_string_equal(a->role, b->role);
        assert_int_equal(a->ttl, b->ttl);
        assert_int_equal(a->asked_us, b->asked_us);
        if (a->reason || b->reason) {
                assert_non_null(a->reason);
                assert_non_null(b->reason);
                assert_string_equal(a->reason, b->reason);
        }
        assert_int_equal(a->n_hosts, b->n_hosts);
        for (size_t i = 0; i < a->n_hosts; i++)
                assert_string_equal(a->hosts[i], b->hosts[i]);
        assert_null(a->hosts[a->n_hosts]);
        assert_null(b->hosts[b->n_hosts]);
}

/* to_json, printed as jit-fleet stores it, parsed again: the same fields,
 * and in the JSON exactly the stored keys. */
static void assert_multi_round_trips(const struct fleet_multi *m)
{
        cJSON *o = fleet_multi_to_json(m);
        const cJSON *h;
        struct fleet_multi back;
        char *text;
        size_t i = 0;

        assert_non_null(o);
        assert_true(op_number(o, "v") == 1);
        assert_int_equal(cJSON_GetArraySize(o), 8 + (m->reason ? 1 : 0));
        h = cJSON_GetObjectItemCaseSensitive(o, "hosts");
        assert_true(cJSON_IsArray(h));
        cJSON_ArrayForEach(h, h) {
                assert_true(i < m->n_hosts);
                assert_string_equal(h->valuestring, m->hosts[i++]);
        }
        assert_int_equal(i, m->n_hosts);
        text = cJSON_PrintUnformatted(o);
        assert_non_null(text);
        if (fleet_parse_multi(text, strlen(text), &back) != 0)
                fail_msg("to_json's text does not parse back:\n  %.300s", text);
        assert_same_multi(m, &back);
        fleet_multi_done(&back);
        free(text);
        cJSON_Delete(o);
}

static void t_valid_multi_parses_with_its_fields(void **state)
{
        struct fleet_multi m;

        assert_int_equal(parse_multi_sq(MULTI, &m), 0);
        assert_string_equal(m.id, "m-0123456789");
        assert_string_equal(m.origin, "hA");
        assert_string_equal(m.user, "alice");
        assert_string_equal(m.role, "ops");
        assert_int_equal(m.ttl, 3600);
        assert_int_equal(m.asked_us, 1700000000123456ULL);
        assert_string_equal(m.reason, "INC-42");
        assert_int_equal(m.n_hosts, 2);
        assert_string_equal(m.hosts[0], "hB");
        assert_string_equal(m.hosts[1], "hC");
        assert_null(m.hosts[2]);
        fleet_multi_done(&m);
        assert_null(m.hosts);
        assert_null(m.reason);
        assert_int_equal(m.n_hosts, 0);
        fleet_multi_done(&m);                                   /* twice is harmless */

        multi_field_ok("reason", NULL, &m);                     /* the reason may be left out */
        assert_null(m.reason);
        fleet_multi_done(&m);
        multi_field_ok("reason", "''", &m);
        assert_string_equal(m.reason, "");
        fleet_multi_done(&m);
        multi_field_ok("hosts", "['hB']", &m);
        assert_int_equal(m.n_hosts, 1);
        assert_null(m.hosts[1]);
        fleet_multi_done(&m);
}

static void t_multi_text_parses_back_to_the_same_fields(void **state)
{
        static const char *const cases[][2] = {
                { "reason", NULL },
                { "reason", "'quote \\\" backslash \\\\ tab \\t newline \\n caf\xc3\xa9 \\u2028'" },
                { "ttl", "31622400" },
                { "ttl", "1" },
                { "asked_us", "4503599627370496" },
                { "asked_us", "4503599627370495" },
                { "asked_us", "0" },
                { "hosts", "['hC','hb']" },
        };
        struct fleet_multi m;

        assert_int_equal(parse_multi_sq(MULTI, &m), 0);
        assert_multi_round_trips(&m);
        fleet_multi_done(&m);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                multi_field_ok(cases[i][0], cases[i][1], &m);
                assert_multi_round_trips(&m);
                fleet_multi_done(&m);
        }
}

/* As jit-fleet makes one (jitctl request --hosts): not parsed first. */
static void t_multi_made_in_code_round_trips(void **state)
{
        struct fleet_multi m = {
                .id = "m-abcdefghjk", .origin = "web-01.example.net", .user = "alice", .role = "db_admin",
                .ttl = 5400, .asked_us = 1700000000000001ULL,
        };
        char name[16];

        for (int i = 0; i < FLEET_MULTI_HOSTS_MAX; i++) {
                snprintf(name, sizeof(name), "db%03d", i);
                assert_int_equal(jit_strv_push(&m.hosts, name), 0);
                m.n_hosts++;
        }
        assert_multi_round_trips(&m);
        m.reason = strdup("rotate keys, ticket 7");
        assert_non_null(m.reason);
        assert_multi_round_trips(&m);
        fleet_multi_done(&m);
        assert_null(m.hosts);
        assert_null(m.reason);
}

static void t_multi_with_an_unknown_key_or_version_is_refused(void **state)
{
        expect_multi_refused("{'extra':1," MULTI_FIELDS "}");
        expect_multi_refused("{'comment':'x'," MULTI_FIELDS "}");
        expect_multi_refused("{'host':'hB'," MULTI_FIELDS "}");
        expect_multi_refused("{'op':'fleet-open'," MULTI_FIELDS "}");     /* the service's message is not stored */
        expect_multi_refused("{'V':1," MULTI_FIELDS "}");
        expect_multi_field_refused("v", NULL);
        expect_multi_field_refused("v", "2");
        expect_multi_field_refused("v", "0");
        expect_multi_field_refused("v", "1.5");
        expect_multi_field_refused("v", "'1'");
        expect_multi_field_refused("v", "true");
        expect_multi_field_refused("v", "null");
}

static void t_multi_id_is_m_dash_and_10_more(void **state)
{
        static const char *const bad[] = {
                "'r-0123456789'", "'g-0123456789'", "'M-0123456789'", "'m_0123456789'", "'mm0123456789'",
                "'m-012345678'", "'m-01234567890'", "'m-'", "'m'", "''", "'m-01234/6789'", "'m-01234 6789'",
                "'-m-123456789'", "1", "null", "['m-0123456789']",
        };
        struct fleet_multi m;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_multi_field_refused("id", bad[i]);
        expect_multi_field_refused("id", NULL);
        multi_field_ok("id", "'m-zzzzzzzzzz'", &m);
        assert_string_equal(m.id, "m-zzzzzzzzzz");
        fleet_multi_done(&m);
}

static void t_multi_names_must_be_fleet_names(void **state)
{
        static const char *const keys[] = { "origin", "user", "role" };
        char n65[70], n64[70];
        struct fleet_multi m;

        n65[0] = '\'';
        memset(n65 + 1, 'n', 65);
        snprintf(n65 + 66, sizeof(n65) - 66, "'");
        snprintf(n64, sizeof(n64), "'%.64s'", n65 + 1);
        for (size_t i = 0; i < 3; i++) {
                const char *k = keys[i];

                expect_multi_field_refused(k, "'h/A'");
                expect_multi_field_refused(k, "'/'");
                expect_multi_field_refused(k, "''");
                expect_multi_field_refused(k, "'-rf'");
                expect_multi_field_refused(k, "'.h'");
                expect_multi_field_refused(k, "'..'");
                expect_multi_field_refused(k, "'a b'");
                expect_multi_field_refused(k, "'a\\nb'");
                expect_multi_field_refused(k, "'caf\xc3\xa9'");
                expect_multi_field_refused(k, "1");
                expect_multi_field_refused(k, "null");
                expect_multi_field_refused(k, n65);             /* 65 characters */
                expect_multi_field_refused(k, NULL);
                multi_field_ok(k, n64, &m);                     /* 64: the most */
                fleet_multi_done(&m);
                multi_field_ok(k, "'a-'", &m);                  /* '-' and '.' only not first */
                fleet_multi_done(&m);
        }
}

static void t_multi_ttl_is_1_second_to_366_days(void **state)
{
        struct fleet_multi m;

        expect_multi_field_refused("ttl", "0");
        expect_multi_field_refused("ttl", "31622401");
        expect_multi_field_refused("ttl", "-1");
        expect_multi_field_refused("ttl", "1.5");
        expect_multi_field_refused("ttl", "1e300");
        expect_multi_field_refused("ttl", "'3600'");
        expect_multi_field_refused("ttl", "null");
        expect_multi_field_refused("ttl", NULL);
        multi_field_ok("ttl", "1", &m);
        assert_int_equal(m.ttl, 1);
        fleet_multi_done(&m);
        multi_field_ok("ttl", "31622400", &m);
        assert_int_equal(m.ttl, 366ULL * 86400);
        fleet_multi_done(&m);
}

static void t_multi_asked_us_is_a_whole_number_up_to_2p52(void **state)
{
        struct fleet_multi m;

        expect_multi_field_refused("asked_us", "-1");
        expect_multi_field_refused("asked_us", "-0.5");
        expect_multi_field_refused("asked_us", "0.5");
        expect_multi_field_refused("asked_us", "1700000000123456.5");
        expect_multi_field_refused("asked_us", "4503599627370497");     /* over 2^52: see the round trip */
        expect_multi_field_refused("asked_us", "1e300");
        expect_multi_field_refused("asked_us", "'1700000000123456'");
        expect_multi_field_refused("asked_us", "true");
        expect_multi_field_refused("asked_us", NULL);
        multi_field_ok("asked_us", "0", &m);
        assert_int_equal(m.asked_us, 0);
        fleet_multi_done(&m);
        multi_field_ok("asked_us", "4503599627370496", &m);
        assert_int_equal(m.asked_us, 1ULL << 52);
        fleet_multi_done(&m);
}

static void t_multi_reason_is_at_most_512_bytes(void **state)
{
        char value[600];
        struct fleet_multi m;

        value[0] = '\'';
        memset(value + 1, 'r', 513);
        snprintf(value + 514, sizeof(value) - 514, "'");
        expect_multi_field_refused("reason", value);            /* 513 */
        expect_multi_field_refused("reason", "42");
        expect_multi_field_refused("reason", "null");
        expect_multi_field_refused("reason", "['x']");
        snprintf(value + 513, sizeof(value) - 513, "'");
        multi_field_ok("reason", value, &m);                    /* 512 */
        assert_int_equal(strlen(m.reason), 512);
        fleet_multi_done(&m);
}

static void t_multi_hosts_are_1_to_100_names(void **state)
{
        static const char *const bad[] = {
                "[]", "'hB'", "{}", "{'hB':1}", "null", "true", "['hB',1]", "[1]", "['hB',null]", "[['hB']]",
                "['h/B']", "['']", "['-h']", "['.h']", "['hB','..']", "['hB','h C']", "['hB','h\\u00e9']",
                "['nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn']",  /* 65 */
        };
        char *many = hosts_of(FLEET_MULTI_HOSTS_MAX + 1);

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                expect_multi_field_refused("hosts", bad[i]);
        expect_multi_field_refused("hosts", NULL);
        expect_multi_field_refused("hosts", many);              /* 101 */
        free(many);
}

static void t_multi_of_exactly_100_hosts_is_accepted(void **state)
{
        char *hosts = hosts_of(FLEET_MULTI_HOSTS_MAX);
        struct fleet_multi m;

        assert_int_equal(FLEET_MULTI_HOSTS_MAX, 100);
        multi_field_ok("hosts", hosts, &m);
        assert_int_equal(m.n_hosts, 100);
        assert_string_equal(m.hosts[0], "h000");
        assert_string_equal(m.hosts[99], "h099");
        assert_null(m.hosts[100]);
        assert_multi_round_trips(&m);
        fleet_multi_done(&m);
        free(hosts);
}

/* As signed (host=H1,H2,...): in strcmp order, each once. */
static void t_multi_hosts_are_sorted_each_once(void **state)
{
        struct fleet_multi m;

        expect_multi_field_refused("hosts", "['hC','hB']");
        expect_multi_field_refused("hosts", "['hB','hB']");
        expect_multi_field_refused("hosts", "['hB','hC','hC']");
        expect_multi_field_refused("hosts", "['hA','hC','hB']");
        expect_multi_field_refused("hosts", "['hb','hC']");             /* byte order: 'C' < 'b' */
        expect_multi_field_refused("hosts", "['hB.x','hB']");           /* a prefix comes first */
        multi_field_ok("hosts", "['hB','hB.x','hC','hb']", &m);
        assert_int_equal(m.n_hosts, 4);
        fleet_multi_done(&m);
}

static void t_multi_that_is_not_strict_json_is_refused(void **state)
{
        char *text = sq(MULTI);
        size_t n = strlen(text);
        char *nul = malloc(n + 3);

        assert_non_null(nul);
        expect_multi_refused(MULTI "x");
        expect_multi_refused(MULTI MULTI);
        expect_multi_refused("[" MULTI "]");
        expect_multi_refused("");
        expect_multi_refused("{" "'id':'m-1111111111'," MULTI_FIELDS "}");   /* a key twice */
        expect_multi_refused(MULTI_FIELDS "}");
        /* NUL written as \u0000: cJSON would keep only what comes before it */
        expect_multi_field_refused("reason", "'INC\\u0000-42'");
        expect_multi_field_refused("user", "'alice\\u0000x'");
        expect_multi_field_refused("hosts", "['hB','hC\\u0000hA']");
        expect_multi_field_refused("id", "'m-01234\\u000056789'");
        /* a raw NUL byte, after the object or inside a string */
        memcpy(nul, text, n);
        nul[n] = '\0';
        nul[n + 1] = ' ';
        expect_multi_refused_len(nul, n + 1);
        expect_multi_refused_len(nul, n + 2);
        memcpy(nul, text, n);
        nul[strstr(text, "INC-42") - text + 3] = '\0';
        expect_multi_refused_len(nul, n);
        /* not UTF-8 */
        expect_multi_field_refused("reason", "'\xff'");
        expect_multi_field_refused("reason", "'\xc0\xaf'");
        free(nul);
        free(text);
}

static void t_multi_over_64_kib_is_refused(void **state)
{
        size_t n = FLEET_VALUE_MAX + 1;
        char *big = malloc(n), *text = sq(MULTI);
        struct fleet_multi m;

        assert_non_null(big);
        memset(big, ' ', n);
        memcpy(big, text, strlen(text));                        /* valid JSON, then spaces */
        expect_multi_refused_len(big, n);
        assert_int_equal(fleet_parse_multi(big, FLEET_VALUE_MAX, &m), 0);
        assert_int_equal(m.n_hosts, 2);
        fleet_multi_done(&m);
        free(big);
        free(text);
}

/* ---- keys ------------------------------------------------------------------ */

#define P "/jit/v1"

static void t_keys_split_into_their_names(void **state)
{
        char parts[5][FLEET_NAME_MAX + 1];

        assert_int_equal(fleet_split_key(P "/hosts/hA/requests/r-1", P, parts, 5), 3);
        assert_string_equal(parts[0], "hA");
        assert_string_equal(parts[1], "requests");
        assert_string_equal(parts[2], "r-1");
        assert_int_equal(fleet_split_key(P "/hosts/hB/decisions/hA/r-1/carol", P, parts, 5), 5);
        assert_string_equal(parts[0], "hB");
        assert_string_equal(parts[1], "decisions");
        assert_string_equal(parts[2], "hA");
        assert_string_equal(parts[3], "r-1");
        assert_string_equal(parts[4], "carol");
        assert_int_equal(fleet_split_key(P "/hosts/hA/audit/head", P, parts, 3), 3);
        assert_string_equal(parts[2], "head");
        assert_int_equal(fleet_split_key("/corp/hosts/hA", "/corp", parts, 5), 1);
        assert_string_equal(parts[0], "hA");
}

static void t_key_with_another_prefix_is_refused(void **state)
{
        char parts[5][FLEET_NAME_MAX + 1];

        assert_int_equal(fleet_split_key("/jit/v2/hosts/hA/requests/r-1", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key("/jit/v1x/hosts/hA/requests/r-1", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/host/hA/requests/r-1", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hostsX/hA", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key("/jit", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key("", P, parts, 5), -EINVAL);
}

/* Regression (fuzz_fleet): "HOST/requests/ID/" split as "HOST/requests/ID",
 * two keys of the store read as one. */
static void t_key_with_an_empty_component_is_refused(void **state)
{
        char parts[5][FLEET_NAME_MAX + 1];

        assert_int_equal(fleet_split_key(P "/hosts/hA//r-1", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts//requests/r-1", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/hA/requests/r-1/", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/hB/decisions/hA/r-1/carol/", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/", P, parts, 5), -EINVAL);
}

static void t_key_component_must_be_a_name(void **state)
{
        char parts[5][FLEET_NAME_MAX + 1], key[256];

        assert_int_equal(fleet_split_key(P "/hosts/../requests/r-1", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/hA/requests/..", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/hA/requests/.", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/hA/requests/-r", P, parts, 5), -EINVAL);
        assert_int_equal(fleet_split_key(P "/hosts/hA/requests/r 1", P, parts, 5), -EINVAL);
        snprintf(key, sizeof(key), P "/hosts/hA/requests/%065d", 1);   /* 65 characters */
        assert_int_equal(fleet_split_key(key, P, parts, 5), -EINVAL);
        snprintf(key, sizeof(key), P "/hosts/hA/requests/%064d", 1);
        assert_int_equal(fleet_split_key(key, P, parts, 5), 3);
        assert_int_equal(strlen(parts[2]), 64);
}

static void t_key_with_too_many_parts_is_e2big(void **state)
{
        char parts[5][FLEET_NAME_MAX + 1];

        assert_int_equal(fleet_split_key(P "/hosts/hB/decisions/hA/r-1/carol/x", P, parts, 5), -E2BIG);
        assert_int_equal(fleet_split_key(P "/hosts/hB/decisions/hA/r-1", P, parts, 3), -E2BIG);
        assert_int_equal(fleet_split_key(P "/hosts/hA/audit/heads/7", P, parts, 3), -E2BIG);
        assert_int_equal(fleet_split_key(P "/hosts/hA/audit/heads/7", P, parts, 4), 4);
}

/* ---- base64 of the gateway --------------------------------------------------- */

static void t_unb64_takes_canonical_base64_of_text(void **state)
{
        size_t n = 0;
        char *s = etcd_unb64("L2ppdC92MS9ob3N0cy9oQQ==", &n), *b;

        assert_non_null(s);
        assert_string_equal(s, "/jit/v1/hosts/hA");
        assert_int_equal(n, 16);
        b = etcd_b64(s, n);
        assert_string_equal(b, "L2ppdC92MS9ob3N0cy9oQQ==");
        free(b);
        free(s);
        s = etcd_unb64("", &n);
        assert_non_null(s);
        assert_int_equal(n, 0);
        free(s);
        assert_null(etcd_unb64("L2ppdC92MS9ob3N0cy9oQQ", NULL));        /* no padding */
        assert_null(etcd_unb64("L2ppdC92MS9ob3N0cy9oQR==", NULL));      /* bits beyond the end */
        assert_null(etcd_unb64("L2ppdC92MS9ob3N0cy9oQQ==x", NULL));
        assert_null(etcd_unb64("L2pp dC92", NULL));
        assert_null(etcd_unb64("L2pp_C92", NULL));                      /* the URL alphabet */
}

/* Regressions (fuzz_fleet): libsodium 1.0.18 read bytes >= 0x80 as '/', and
 * "k\0x" came back as "k". */
static void t_unb64_refuses_other_bytes_and_nul(void **state)
{
        size_t n = 77;

        assert_null(etcd_unb64("L2ppdC92MS\xc4ob3N0cy9oQQ==", &n));
        assert_null(etcd_unb64("\xff\xff\xff\xff", &n));
        assert_null(etcd_unb64("YQBi", &n));                            /* "a\0b" */
        assert_null(etcd_unb64("AA==", &n));                            /* "\0" */
        assert_int_equal(n, 77);
}

/* ---- the watch stream -------------------------------------------------------- */

struct seen {
        int n;
        char type[8][8];
        char key[8][128];
        char value[8][256];
        int64_t rev[8];
        int64_t version[8];
};

static void on_event(void *userdata, const char *type, const struct etcd_kv *kv)
{
        struct seen *s = userdata;

        assert_true(s->n < 8);
        snprintf(s->type[s->n], sizeof(s->type[0]), "%s", type);
        snprintf(s->key[s->n], sizeof(s->key[0]), "%s", kv->key);
        snprintf(s->value[s->n], sizeof(s->value[0]), "%s", kv->value);
        s->rev[s->n] = kv->mod_revision;
        s->version[s->n] = kv->version;
        s->n++;
}

static void watch_init(struct etcd_watch *w, struct seen *s)
{
        memset(s, 0, sizeof(*s));
        *w = (struct etcd_watch){ .on_event = on_event, .userdata = s };
}

/* "/jit/v1/hosts/hA/requests/r-1" and "{\"id\":\"r-1\"}" in base64 */
#define K_B64 "L2ppdC92MS9ob3N0cy9oQS9yZXF1ZXN0cy9yLTE="
#define V_B64 "eyJpZCI6InItMSJ9"
#define PUT_LINE "{\"result\":{\"header\":{\"revision\":\"3\"},\"events\":[{\"kv\":{\"key\":\"" K_B64 "\"," \
                 "\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\",\"value\":\"" V_B64 "\"}}]}}\n"
#define DEL_LINE "{\"result\":{\"header\":{\"revision\":\"4\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"" \
                 K_B64 "\",\"mod_revision\":\"4\"}}]}}\n"
#define CREATED_LINE "{\"result\":{\"header\":{\"revision\":\"2\"},\"created\":true}}\n"

static void t_watch_hands_over_a_put_and_a_delete(void **state)
{
        struct etcd_watch w;
        struct seen s;
        const char *stream = CREATED_LINE PUT_LINE DEL_LINE;

        watch_init(&w, &s);
        assert_int_equal(etcd_watch_feed(&w, stream, strlen(stream)), 0);
        assert_true(w.created);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.type[0], "PUT");
        assert_string_equal(s.key[0], "/jit/v1/hosts/hA/requests/r-1");
        assert_string_equal(s.value[0], "{\"id\":\"r-1\"}");
        assert_int_equal(s.rev[0], 3);
        assert_int_equal(s.version[0], 1);      /* written once: what audit verify asks of heads */
        assert_string_equal(s.type[1], "DELETE");
        assert_string_equal(s.key[1], "/jit/v1/hosts/hA/requests/r-1");
        assert_string_equal(s.value[1], "");
        assert_int_equal(s.rev[1], 4);
        assert_int_equal(w.last_rev, 4);
        assert_int_equal(w.len, 0);
        free(w.buf);
}

static void t_watch_lines_cut_anywhere_give_the_same_events(void **state)
{
        const char *stream = CREATED_LINE PUT_LINE DEL_LINE;
        size_t n = strlen(stream);

        for (size_t piece = 1; piece <= 64; piece++) {
                struct etcd_watch w;
                struct seen s;

                watch_init(&w, &s);
                for (size_t off = 0; off < n; off += piece)
                        assert_int_equal(etcd_watch_feed(&w, stream + off, off + piece > n ? n - off : piece), 0);
                assert_int_equal(s.n, 2);
                assert_string_equal(s.type[0], "PUT");
                assert_string_equal(s.type[1], "DELETE");
                assert_string_equal(s.value[0], "{\"id\":\"r-1\"}");
                assert_int_equal(w.last_rev, 4);
                assert_int_equal(w.len, 0);
                free(w.buf);
        }
}

static void t_watch_keeps_a_partial_line_for_the_next_piece(void **state)
{
        struct etcd_watch w;
        struct seen s;

        watch_init(&w, &s);
        assert_int_equal(etcd_watch_feed(&w, PUT_LINE, 40), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(w.len, 40);
        assert_int_equal(etcd_watch_feed(&w, PUT_LINE + 40, strlen(PUT_LINE) - 40), 0);
        assert_int_equal(s.n, 1);
        assert_int_equal(w.len, 0);
        free(w.buf);
}

static void t_watch_error_and_cancel_end_the_stream(void **state)
{
        const char *err = "{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"etcdserver: invalid auth token\"}}\n";
        const char *cancel = "{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,\"compact_revision\":\"5\"}}\n";
        struct etcd_watch w;
        struct seen s;

        watch_init(&w, &s);
        assert_int_equal(etcd_watch_feed(&w, CREATED_LINE, strlen(CREATED_LINE)), 0);
        assert_true(w.created);
        assert_int_equal(etcd_watch_feed(&w, err, strlen(err)), 0);
        assert_false(w.created);
        assert_string_equal(w.err, "watch: etcdserver: invalid auth token");
        assert_int_equal(etcd_watch_feed(&w, CREATED_LINE, strlen(CREATED_LINE)), 0);
        assert_int_equal(etcd_watch_feed(&w, cancel, strlen(cancel)), 0);
        assert_false(w.created);
        assert_non_null(strstr(w.err, "cancelled"));
        assert_int_equal(s.n, 0);
        free(w.buf);
}

static void t_watch_skips_what_is_not_an_event(void **state)
{
        const char *junk = "not json\n\n{\"result\":{\"events\":[{\"kv\":{\"key\":\"****\"}},{\"kv\":1},"
                           "{\"kv\":{\"key\":\"YQBi\"}},{\"kv\":{\"key\":\"" K_B64 "\",\"value\":\"YQBi\"}}]}}\n"
                           "[1,2]\n{\"result\":[]}\n";
        struct etcd_watch w;
        struct seen s;

        watch_init(&w, &s);
        assert_int_equal(etcd_watch_feed(&w, junk, strlen(junk)), 0);
        assert_int_equal(s.n, 0);
        assert_int_equal(w.last_rev, 0);
        free(w.buf);
}

/* Regression (fuzz_fleet, UBSan): a revision of 1e300 was cast to int64_t. */
static void t_watch_revision_out_of_range_is_defined(void **state)
{
        const char *line = "{\"result\":{\"header\":{\"revision\":1e300},\"events\":[{\"kv\":{\"key\":\"" K_B64
                           "\",\"mod_revision\":-1e300}}]}}\n"
                           "{\"result\":{\"header\":{\"revision\":\"99999999999999999999\"},\"events\":[{\"kv\":"
                           "{\"key\":\"" K_B64 "\",\"mod_revision\":\"5\"}}]}}\n";
        struct etcd_watch w;
        struct seen s;

        watch_init(&w, &s);
        w.last_rev = 2;
        assert_int_equal(etcd_watch_feed(&w, line, strlen(line)), 0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.rev[0], 0);
        assert_int_equal(w.last_rev, INT64_MAX);                /* saturated, never lower */
        free(w.buf);
}

static void t_watch_line_over_4_mib_ends_the_stream(void **state)
{
        size_t piece = 64 * 1024, fed = 0;
        char *junk = malloc(piece);
        struct etcd_watch w;
        struct seen s;
        int r = 0;

        assert_non_null(junk);
        memset(junk, ' ', piece);
        watch_init(&w, &s);
        while (r == 0 && fed <= 4 * 1024 * 1024) {
                r = etcd_watch_feed(&w, junk, piece);
                fed += piece;
        }
        assert_int_equal(r, -EMSGSIZE);
        assert_int_equal(fed, 4 * 1024 * 1024 + piece);
        assert_int_equal(w.len, 4 * 1024 * 1024);
        free(junk);
        free(w.buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_minimal_config_parses_with_the_defaults),
                cmocka_unit_test(t_complete_config_parses_with_its_values),
                cmocka_unit_test(t_config_durations_take_their_bounds),
                cmocka_unit_test(t_config_free_accepts_null),
                cmocka_unit_test(t_unknown_config_key_is_refused),
                cmocka_unit_test(t_config_without_a_file_is_refused),
                cmocka_unit_test(t_config_version_must_be_1),
                cmocka_unit_test(t_http_endpoint_is_refused),
                cmocka_unit_test(t_endpoint_with_a_path_is_refused),
                cmocka_unit_test(t_endpoint_with_a_bad_port_is_refused),
                cmocka_unit_test(t_endpoint_host_holds_a_colon_only_inside_brackets),
                cmocka_unit_test(t_endpoint_list_holds_1_to_16),
                cmocka_unit_test(t_user_without_password_file_is_refused),
                cmocka_unit_test(t_relative_or_dotted_path_is_refused),
                cmocka_unit_test(t_bad_prefix_is_refused),
                cmocka_unit_test(t_durations_out_of_range_are_refused),
                cmocka_unit_test(t_duplicate_config_key_is_refused),
                cmocka_unit_test(t_config_with_trailing_garbage_is_refused),
                cmocka_unit_test(t_config_that_is_not_utf8_is_refused),
                cmocka_unit_test(t_config_without_labels_has_none),
                cmocka_unit_test(t_config_labels_are_read_in_order),
                cmocka_unit_test(t_config_labels_hold_at_most_32),
                cmocka_unit_test(t_config_labels_must_be_an_array),
                cmocka_unit_test(t_config_label_must_be_a_name),
                cmocka_unit_test(t_fleet_names_are_1_to_64_safe_characters),
                cmocka_unit_test(t_valid_decision_parses_with_its_fields),
                cmocka_unit_test(t_decision_bounds_are_accepted),
                cmocka_unit_test(t_decision_names_must_be_fleet_names),
                cmocka_unit_test(t_decision_name_of_64_characters_is_accepted),
                cmocka_unit_test(t_decision_ttl_is_a_whole_number_up_to_366_days),
                cmocka_unit_test(t_decision_nonce_is_32_lowercase_hex_digits),
                cmocka_unit_test(t_decision_signature_is_128_lowercase_hex_digits),
                cmocka_unit_test(t_decision_is_approve_or_deny),
                cmocka_unit_test(t_decision_comment_is_at_most_1024_bytes),
                cmocka_unit_test(t_decision_with_an_unknown_key_or_version_is_refused),
                cmocka_unit_test(t_decision_missing_a_field_is_refused),
                cmocka_unit_test(t_decision_that_is_not_strict_json_is_refused),
                cmocka_unit_test(t_decision_over_64_kib_is_refused),
                cmocka_unit_test(t_decision_text_parses_back_to_the_same_fields),
                cmocka_unit_test(t_decision_op_is_what_the_service_takes),
                cmocka_unit_test(t_valid_multi_parses_with_its_fields),
                cmocka_unit_test(t_multi_text_parses_back_to_the_same_fields),
                cmocka_unit_test(t_multi_made_in_code_round_trips),
                cmocka_unit_test(t_multi_with_an_unknown_key_or_version_is_refused),
                cmocka_unit_test(t_multi_id_is_m_dash_and_10_more),
                cmocka_unit_test(t_multi_names_must_be_fleet_names),
                cmocka_unit_test(t_multi_ttl_is_1_second_to_366_days),
                cmocka_unit_test(t_multi_asked_us_is_a_whole_number_up_to_2p52),
                cmocka_unit_test(t_multi_reason_is_at_most_512_bytes),
                cmocka_unit_test(t_multi_hosts_are_1_to_100_names),
                cmocka_unit_test(t_multi_of_exactly_100_hosts_is_accepted),
                cmocka_unit_test(t_multi_hosts_are_sorted_each_once),
                cmocka_unit_test(t_multi_that_is_not_strict_json_is_refused),
                cmocka_unit_test(t_multi_over_64_kib_is_refused),
                cmocka_unit_test(t_keys_split_into_their_names),
                cmocka_unit_test(t_key_with_another_prefix_is_refused),
                cmocka_unit_test(t_key_with_an_empty_component_is_refused),
                cmocka_unit_test(t_key_component_must_be_a_name),
                cmocka_unit_test(t_key_with_too_many_parts_is_e2big),
                cmocka_unit_test(t_unb64_takes_canonical_base64_of_text),
                cmocka_unit_test(t_unb64_refuses_other_bytes_and_nul),
                cmocka_unit_test(t_watch_hands_over_a_put_and_a_delete),
                cmocka_unit_test(t_watch_lines_cut_anywhere_give_the_same_events),
                cmocka_unit_test(t_watch_keeps_a_partial_line_for_the_next_piece),
                cmocka_unit_test(t_watch_error_and_cancel_end_the_stream),
                cmocka_unit_test(t_watch_skips_what_is_not_an_event),
                cmocka_unit_test(t_watch_revision_out_of_range_is_defined),
                cmocka_unit_test(t_watch_line_over_4_mib_ends_the_stream),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
