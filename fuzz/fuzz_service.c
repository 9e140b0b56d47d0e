/* fuzz_service — the service's request handling: svc_handle() and all it
 * reaches in jitctl/service_ops.c, service_state.c and service_who.c, with
 * the real files spool (in a scratch directory), a fixed policy and a fixed
 * set of records.
 *
 * SAFETY. This runs as root on a developer machine, so nothing it does may
 * leave the process or the scratch directory:
 *  - no grant can be created or ended. The policy has no templates and no
 *    break-glass, and its approvers ("no-such-approver", group
 *    "no-such-approvers") and security approvers ("no-such-security",
 *    group "no-such-security-team") are neither root nor nobody, the only
 *    two callers; so access/request can only escalate (to the owner or the
 *    security tier) or deny, break-glass is refused, approve/deny are
 *    always refused, and the only grants are the fixtures below, all of
 *    them already ended (svc_grant_end does nothing for those). The policy
 *    is checked against this machine's users and groups at start-up;
 *  - common/membership.c (gpasswd) is NOT linked into this target: its two
 *    entry points are defined here and abort. jitctl/serve.c is not linked
 *    either: svc_client_answer is defined here. s->bus stays NULL, so no
 *    systemd timer is ever touched;
 *  - sd_journal_sendv is defined here too, so the service's events (fake
 *    "request", "decision" audit records, thousands a second) never reach
 *    the host's journal. common/journal.c itself is linked and fuzzed: the
 *    stub checks what it builds;
 *  - the spool is a fresh mkdtemp directory under /tmp (mode 0700), emptied
 *    before every input and removed at exit (and before a CHECK aborts; a
 *    sanitizer crash leaves it behind: /tmp/jit-fuzz-service.*). fsync is
 *    defined here as a no-op: scratch records need no durability, and two
 *    fsyncs per record made this target disk-bound;
 *  - the policy is parsed from a string and set as s->config. Its
 *    config_path is a file that does not exist in the scratch directory,
 *    and config_seen/config_stamp say "already looked, nothing there", so
 *    svc_config_refresh() (run by every svc_handle) never reloads; the
 *    harness checks that the policy is still in place after every request.
 *    The ops that read the policy from disk on purpose (reload,
 *    template-add, template-remove: root only) are dropped like a line the
 *    frame reader refuses: they would replace the harness's policy with
 *    none (template-remove also creates templates.d in the scratch
 *    directory, which makes the next request reload);
 *  - every client's peer pid is 0, so the context snapshot asks sd-login
 *    nothing about whichever host process has that pid: decisions depend
 *    on the input alone.
 *
 * Input: byte 0 picks the caller of each request: bit i set = request i
 * comes from uid 65534 (nobody), clear = from root (uid 0; root is what
 * pam_jit and the expiry timers connect as). The rest is split on '\n' into
 * at most MAX_REQS requests, each one JSON object as a client would frame
 * it; a line the service's frame reader would refuse (not JSON, not an
 * object, trailing bytes) is skipped, as the service drops such a client.
 * Each request is a new connection (struct client, fd -1, on s->clients).
 * An "id" or "extends" of the form "r:N" / "g:N" is replaced by the id of
 * s->reqs[N] / s->grants[N] (N taken modulo the count; negative counts from
 * the end, so "r:-1" is the request made last), since the ids the service
 * makes are random. After the requests the harness runs what the event
 * loop runs between them: svc_reconcile (one fixture request lapses) and
 * svc_expire_waiters, so every waiting client gets its answer.
 * Every input starts from the same state: the fixtures below, an empty
 * spool, no clients.
 *
 * Fixtures: s->reqs = r:0 pending (nobody, ops, a command), r:1 pending
 * (alice, uid 4242, not a real user; past its deadline), r:2 approved
 * (nobody, grant g:0 expired), r:3 denied by policy (root, dba), r:4
 * cancelled, r:5 lapsed, r:6 approved by a template (root, grant g:1
 * revoked), r:7..r:20 pending (nobody, ops, one command each): nobody has
 * 15 requests waiting, one short of JIT_MAX_PENDING_PER_USER.
 * s->grants = g:0 expired (nobody), g:1 revoked (root), g:2 expired (alice).
 *
 * Invariants checked (abort on violation). Always on, they guard the host:
 *  - jit_membership_add/remove are never called; no grant is ever active
 *    and the number of grants never changes; no answer says "allow";
 *  - approve and deny never succeed, for any caller; a caller other than
 *    root never gets "ok":true for access or expire;
 *  - the policy is still loaded after every request.
 * Semantic (JIT_FUZZ_NO_ORACLES=1 turns these off):
 *  - every answer is a JSON object with a boolean "ok"; "ok":false comes
 *    with a known string "code" and a non-empty string "error"; a
 *    "decision" is "allow", "deny" or "pending";
 *  - svc_handle returns NULL only for "wait", with the client now waiting;
 *    each waiting client gets exactly one answer later (svc_client_answer);
 *  - nobody is an approver of nothing, so every request or grant shown to
 *    nobody (list, show, wait, request, cancel...) is nobody's own;
 *  - no user has more than JIT_MAX_PENDING_PER_USER pending requests;
 *  - the spool is the durable truth: every record in it loads back (none is
 *    refused by jit_spool_load), and equals the in-memory one; every new
 *    request is in it; no grant is ever written;
 *  - what reaches the journal is well formed (KEY=value with names journald
 *    accepts, a MESSAGE, at most 20 fields) and has no control characters (journal.h: text from a
 *    user reaches it only after the service replaced those).
 * Open finding: op_access keeps "service" as sent (no length cap, control
 * characters kept), which trips the last two checks at once; with
 * JIT_FUZZ_KNOWN_ACCESS_SERVICE=1 the harness makes that field look like a
 * PAM service name first, so the rest can be fuzzed until it is fixed.
 * JIT_FUZZ_VERBOSE=1 prints every request and answer.
 */
#include "service.h"
#include "cleanup.h"
#include "config.h"
#include "membership.h"
#include "policy.h"
#include "record.h"
#include "spool.h"
#include "strv.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* As in common/journal.c: the plain sd_journal_sendv, not the macro that
 * adds the caller's location. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQS 8
#define NOBODY 65534u

static char tmpdir[64];

static void remove_tmpdir(void);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #x); \
                                  remove_tmpdir(); abort(); } } while (0)
#define FAIL(...) do { fprintf(stderr, "fuzz_service: " __VA_ARGS__); fputc('\n', stderr); \
                       remove_tmpdir(); abort(); } while (0)

static bool oracle_enabled(void)
{
        static int on = -1;

        if (on < 0) {
                const char *e = getenv("JIT_FUZZ_NO_ORACLES");

                on = !(e && *e && strcmp(e, "0") != 0);
        }
        return on;
}

/* JIT_FUZZ_KNOWN_ACCESS_SERVICE=1: the open finding about access's
 * "service" (stored and logged as sent: control characters reach the
 * journal, more than 64 bytes make a record jit_spool_load refuses) is
 * known; make it look like a PAM service name (at most 64 bytes, control
 * characters replaced) so the other checks keep working meanwhile. */
static bool known_access_service(void)
{
        static int on = -1;

        if (on < 0) {
                const char *e = getenv("JIT_FUZZ_KNOWN_ACCESS_SERVICE");

                on = e && *e && strcmp(e, "0") != 0;
        }
        return on;
}

/* JIT_FUZZ_VERBOSE=1: print every request and answer (to replay a find). */
static bool verbose(void)
{
        static int on = -1;

        if (on < 0) {
                const char *e = getenv("JIT_FUZZ_VERBOSE");

                on = e && *e && strcmp(e, "0") != 0;
        }
        return on;
}

static void trace(const char *what, unsigned uid, const cJSON *j)
{
        char *p;

        if (!verbose())
                return;
        p = j ? cJSON_PrintUnformatted(j) : NULL;
        fprintf(stderr, "[uid %u] %s %s\n", uid, what, p ? p : "(none)");
        free(p);
}

/* ---- stubs for what must never run here -------------------------------- */

int jit_membership_add(const char *user, const char *group, char **ret_err)
{
        FAIL("jit_membership_add(%s, %s) called: a grant was created (the service would run gpasswd)",
             user ? user : "(null)", group ? group : "(null)");
}

int jit_membership_remove(const char *user, const char *group, char **ret_err)
{
        FAIL("jit_membership_remove(%s, %s) called: a grant was ended (the service would run gpasswd)",
             user ? user : "(null)", group ? group : "(null)");
}

int jit_membership_check(const char *group_file, const char *user, const char *group, bool *ret)
{
        FAIL("jit_membership_check(%s, %s) called: a grant is active", user ? user : "(null)",
             group ? group : "(null)");
}

/* The reconcile pass between requests looks for hand-made members of the
 * managed groups: here no such group exists on the host (were one found,
 * removing its members would call jit_membership_remove, which fails). */
int jit_membership_list(const char *group, char ***ret)
{
        (void)group;
        *ret = NULL;
        return -ENOENT;
}

static bool is_control(unsigned char ch)
{
        return ch < 0x20 || ch == 0x7f;
}

/* journal.c's events stop here; the fields it built are checked: at most
 * MAX_FIELDS (20), each KEY=value with a key journald accepts, and a
 * MESSAGE among them. */
int sd_journal_sendv(const struct iovec *iov, int n)
{
        bool message = false;

        CHECK(iov && n >= 1 && n <= 20);
        for (int i = 0; i < n; i++) {
                const char *p = iov[i].iov_base;
                size_t l = iov[i].iov_len;
                const char *eq = p ? memchr(p, '=', l) : NULL;

                if (!eq || eq == p || p[0] == '_' || eq - p > 64)
                        FAIL("journal field %d is not KEY=value: \"%.*s\"", i, (int)l, p ? p : "");
                for (const char *k = p; k < eq; k++)
                        if (!((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
                                FAIL("journal field name \"%.*s\" is not one journald accepts", (int)(eq - p), p);
                message |= eq - p == 7 && memcmp(p, "MESSAGE", 7) == 0;
                if (!oracle_enabled())
                        continue;
                for (const char *q = eq + 1; q < p + l; q++)
                        if (is_control((unsigned char)*q))
                                FAIL("journal field %.*s has control character 0x%02x: \"%.*s\"",
                                     (int)(eq - p), p, (unsigned char)*q, (int)l, p);
        }
        CHECK(message);
        return 0;
}

/* The spool is scratch: what it writes need not survive a power cut, and
 * two fsyncs per record would make this target disk-bound (and wear the
 * developer's disk). Still refuses a bad fd, as fsync does. */
int fsync(int fd)
{
        return fcntl(fd, F_GETFD) < 0 ? -1 : 0;
}

/* ---- state -------------------------------------------------------------- */

struct hclient {
        struct client c;        /* first: svc_client_answer gets &h->c */
        bool waited;            /* svc_handle returned NULL: an answer is owed */
        int answers;            /* answers given through svc_client_answer */
};

static struct svc s;
static struct jit_config *policy;
static int req_dfd = -1, grant_dfd = -1;
static cJSON *fixture_reqs, *fixture_grants;
static size_t n_fixture_reqs, n_fixture_grants;

/* Root and nobody may request ops (tier owner; the security tier once the
 * risk reaches 50); dba is requested by group nogroup and is granted by
 * templates only (tier auto; there are none); nobody may request closed.
 * Nobody here can approve anything, at any tier. */
static const char policy_text[] =
        "{\n"
        "  \"version\": 1,\n"
        "  \"settings\": { \"expiry\": \"loop\", \"request_ttl\": \"1h\", \"reconcile_interval\": \"1m\" },\n"
        "  \"security\": { \"users\": [\"no-such-security\"], \"groups\": [\"no-such-security-team\"], \"approvals\": 2 },\n"
        "  \"roles\": {\n"
        "    \"ops\": {\n"
        "      \"description\": \"Root through sudo on this host\",\n"
        "      \"group\": \"jit-fuzz-ops\",\n"
        "      \"default_ttl\": \"15m\",\n"
        "      \"max_ttl\": \"2h\",\n"
        "      \"requesters\": { \"users\": [\"root\", \"nobody\"] },\n"
        "      \"approvers\": { \"users\": [\"no-such-approver\"], \"groups\": [\"no-such-approvers\"] },\n"
        "      \"tier\": \"owner\",\n"
        "      \"deny\": [\n"
        "        { \"id\": \"no-shells\", \"reason\": \"interactive shells are never granted through jit\",\n"
        "          \"commands\": [\"/usr/bin/bash*\", \"/bin/bash*\", \"/bin/sh*\"] },\n"
        "        { \"id\": \"no-ssh\", \"services\": [\"sshd\"] }\n"
        "      ]\n"
        "    },\n"
        "    \"dba\": {\n"
        "      \"group\": \"jit-fuzz-dba\",\n"
        "      \"max_ttl\": \"8h\",\n"
        "      \"requesters\": { \"groups\": [\"nogroup\"], \"users\": [\"root\"] },\n"
        "      \"approvers\": { \"users\": [\"no-such-approver\"] },\n"
        "      \"tier\": \"auto\"\n"
        "    },\n"
        "    \"closed\": {\n"
        "      \"group\": \"jit-fuzz-closed\",\n"
        "      \"max_ttl\": \"1h\",\n"
        "      \"requesters\": { \"users\": [\"no-such-requester\"] },\n"
        "      \"approvers\": { \"groups\": [\"no-such-approvers\"] }\n"
        "    }\n"
        "  }\n"
        "}\n";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st; (void)flag; (void)ftw;
        (void)remove(path);
        return 0;
}

static void remove_tmpdir(void)
{
        if (!tmpdir[0])
                return;
        (void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir[0] = '\0';
}

static void add_fixture(cJSON *arr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_fixture(cJSON *arr, const char *fmt, ...)
{
        char buf[2048];
        va_list ap;
        cJSON *j;

        va_start(ap, fmt);
        CHECK(vsnprintf(buf, sizeof(buf), fmt, ap) < (int)sizeof(buf));
        va_end(ap);
        j = cJSON_Parse(buf);
        if (!j)
                FAIL("fixture is not JSON: %s", buf);
        cJSON_AddItemToArray(arr, j);
}

static void make_fixtures(void)
{
        unsigned long long now = svc_now_us(), min = 60000000ULL, hour = 60 * min, day = 24 * hour;

        fixture_reqs = cJSON_CreateArray();
        fixture_grants = cJSON_CreateArray();
        CHECK(fixture_reqs && fixture_grants);
        /* r:0 */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000000\",\"state\":\"pending\",\"user\":\"nobody\",\"uid\":65534,"
                    "\"role\":\"ops\",\"group\":\"jit-fuzz-ops\",\"ttl\":900,\"reason\":\"nginx is down\","
                    "\"service\":\"sudo\",\"tty\":\"/dev/pts/1\",\"target_user\":\"root\","
                    "\"command\":[\"/usr/bin/systemctl\",\"restart\",\"nginx.service\"],\"command_mode\":\"exact\","
                    "\"created_us\":%llu,\"deadline_us\":%llu,\"policy_rule\":null,"
                    "\"policy_reasons\":[\"no template matches: an approver for ops must decide\"]}",
                    now - min, now + 30 * day);
        /* r:1: lapses at the first reconcile */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000001\",\"state\":\"pending\",\"user\":\"alice\",\"uid\":4242,"
                    "\"role\":\"ops\",\"group\":\"jit-fuzz-ops\",\"ttl\":3600,\"service\":\"jitctl\","
                    "\"created_us\":%llu,\"deadline_us\":%llu}",
                    now - 2 * hour, now - hour);
        /* r:2 */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000002\",\"state\":\"approved\",\"user\":\"nobody\",\"uid\":65534,"
                    "\"role\":\"ops\",\"group\":\"jit-fuzz-ops\",\"ttl\":900,\"service\":\"sshd\","
                    "\"rhost\":\"192.0.2.7\",\"created_us\":%llu,\"deadline_us\":%llu,"
                    "\"decided_by\":\"no-such-approver\",\"decided_at_us\":%llu,\"comment\":\"go ahead\","
                    "\"grant_id\":\"g-0000000000\"}",
                    now - 2 * day, now - day, now - 2 * day + min);
        /* r:3 */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000003\",\"state\":\"denied\",\"user\":\"root\",\"uid\":0,"
                    "\"role\":\"dba\",\"group\":\"jit-fuzz-dba\",\"ttl\":900,\"service\":\"jitctl\","
                    "\"created_us\":%llu,\"deadline_us\":%llu,\"decided_by\":\"policy\",\"decided_at_us\":%llu,"
                    "\"policy_reasons\":[\"no template matches and role dba allows nothing else\"]}",
                    now - hour, now, now - hour);
        /* r:4 */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000004\",\"state\":\"cancelled\",\"user\":\"nobody\",\"uid\":65534,"
                    "\"role\":\"ops\",\"group\":\"jit-fuzz-ops\",\"ttl\":600,\"service\":\"jitctl\","
                    "\"reason\":\"never mind\",\"created_us\":%llu,\"deadline_us\":%llu,\"decided_at_us\":%llu}",
                    now - hour, now, now - hour + min);
        /* r:5 */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000005\",\"state\":\"lapsed\",\"user\":\"alice\",\"uid\":4242,"
                    "\"role\":\"closed\",\"group\":\"jit-fuzz-closed\",\"ttl\":600,\"service\":\"jitctl\","
                    "\"created_us\":%llu,\"deadline_us\":%llu,\"decided_at_us\":%llu}",
                    now - 3 * hour, now - 2 * hour, now - 2 * hour);
        /* r:6 */
        add_fixture(fixture_reqs,
                    "{\"id\":\"r-0000000006\",\"state\":\"approved\",\"user\":\"root\",\"uid\":0,"
                    "\"role\":\"ops\",\"group\":\"jit-fuzz-ops\",\"ttl\":300,\"service\":\"sudo\","
                    "\"command\":[\"/usr/bin/journalctl\",\"-u\",\"nginx\"],\"command_mode\":\"exact\","
                    "\"created_us\":%llu,\"deadline_us\":%llu,\"policy_rule\":\"read-logs\","
                    "\"decided_by\":\"template:read-logs\",\"decided_at_us\":%llu,\"grant_id\":\"g-0000000001\"}",
                    now - day, now - day + hour, now - day);
        /* r:7 .. r:20 */
        for (int i = 0; i < 14; i++)
                add_fixture(fixture_reqs,
                            "{\"id\":\"r-00000001%02d\",\"state\":\"pending\",\"user\":\"nobody\",\"uid\":65534,"
                            "\"role\":\"ops\",\"group\":\"jit-fuzz-ops\",\"ttl\":900,\"service\":\"sudo\","
                            "\"command\":[\"/usr/bin/true\",\"%d\"],\"command_mode\":\"exact\","
                            "\"created_us\":%llu,\"deadline_us\":%llu}",
                            i, i, now - min, now + 30 * day);
        /* g:0 */
        add_fixture(fixture_grants,
                    "{\"id\":\"g-0000000000\",\"request_id\":\"r-0000000002\",\"state\":\"expired\","
                    "\"user\":\"nobody\",\"uid\":65534,\"role\":\"ops\",\"group\":\"jit-fuzz-ops\","
                    "\"approved_by\":\"no-such-approver\",\"created_us\":%llu,\"expires_us\":%llu,"
                    "\"ended_us\":%llu,\"ended_by\":\"timer\",\"timer\":\"jit-expire-g-0000000000.timer\"}",
                    now - 2 * day, now - 2 * day + 15 * min, now - 2 * day + 15 * min);
        /* g:1 */
        add_fixture(fixture_grants,
                    "{\"id\":\"g-0000000001\",\"request_id\":\"r-0000000006\",\"state\":\"revoked\","
                    "\"user\":\"root\",\"uid\":0,\"role\":\"ops\",\"group\":\"jit-fuzz-ops\","
                    "\"approved_by\":\"template:read-logs\",\"created_us\":%llu,\"expires_us\":%llu,"
                    "\"ended_us\":%llu,\"ended_by\":\"root\"}",
                    now - day, now + day, now - day + min);
        /* g:2: expired on paper, expiry still in the future */
        add_fixture(fixture_grants,
                    "{\"id\":\"g-0000000002\",\"request_id\":\"r-0000000005\",\"state\":\"expired\","
                    "\"user\":\"alice\",\"uid\":4242,\"role\":\"dba\",\"group\":\"jit-fuzz-dba\","
                    "\"created_us\":%llu,\"expires_us\":%llu,\"ended_us\":%llu,\"ended_by\":\"reconcile\"}",
                    now - hour, now + 30 * day, now - min);
        n_fixture_reqs = (size_t)cJSON_GetArraySize(fixture_reqs);
        n_fixture_grants = (size_t)cJSON_GetArraySize(fixture_grants);
}

/* Nobody who can call here may approve, and the policy grants nothing by
 * itself: checked against this machine's users and groups. */
static void check_policy_is_safe(void)
{
        static const uid_t callers[] = { 0, NOBODY };

        static const enum jit_tier tiers[] = { JIT_TIER_OWNER, JIT_TIER_SECURITY, JIT_TIER_AUTO, JIT_TIER_BREAK_GLASS };

        CHECK(policy->n_templates == 0);
        for (size_t r = 0; r < policy->n_roles; r++)
                CHECK(policy->roles[r].break_glass_ttl == 0 && !policy->roles[r].oncall_users &&
                      !policy->roles[r].oncall_groups);
        for (size_t i = 0; i < JIT_ELEMENTSOF(callers); i++) {
                struct who w = { 0 };

                if (who_from_uid(callers[i], &w) < 0)
                        FAIL("uid %u has no user name on this machine: the harness needs root and nobody",
                             (unsigned)callers[i]);
                if (jit_policy_is_security_approver(policy, w.name, w.groups))
                        FAIL("%s is a security approver here: a grant could be made; refusing to fuzz", w.name);
                for (size_t r = 0; r < policy->n_roles; r++)
                        for (size_t t = 0; t < JIT_ELEMENTSOF(tiers); t++)
                                if (jit_policy_may_approve(policy, &policy->roles[r], tiers[t], w.name, w.groups))
                                        FAIL("%s may approve role %s at tier %s here: a grant could be made; refusing to fuzz",
                                             w.name, policy->roles[r].name, jit_tier_to_string(tiers[t]));
                who_done(&w);
        }
}

static void init_once(void)
{
        static bool done;
        char path[128], **errors = NULL;

        if (done)
                return;
        done = true;
        CHECK(sodium_init() >= 0);
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/jit-fuzz-service.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                tmpdir[0] = '\0';
                FAIL("mkdtemp: %s", strerror(errno));
        }
        atexit(remove_tmpdir);
        CHECK(chmod(tmpdir, 0700) == 0);
        CHECK(jit_spool_open_files(tmpdir, &s.spool) == 0);
        snprintf(path, sizeof(path), "%s/requests", tmpdir);
        req_dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%s/grants", tmpdir);
        grant_dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(req_dfd >= 0 && grant_dfd >= 0);

        if (jit_config_parse(policy_text, strlen(policy_text), &policy, &errors) < 0)
                FAIL("the harness policy does not parse: %s", errors && errors[0] ? errors[0] : "?");
        check_policy_is_safe();
        s.config = policy;
        /* A path that is not there, already looked at: refresh keeps ours. */
        snprintf(path, sizeof(path), "%s/no-such-policy.conf", tmpdir);
        s.config_path = strdup(path);
        CHECK(s.config_path);
        memset(&s.config_stamp, 0, sizeof(s.config_stamp));
        s.config_seen = true;
        svc_config_refresh(&s, false);
        if (s.config != policy)
                FAIL("svc_config_refresh dropped the harness policy: the harness must be updated");
        s.bus = NULL;
        s.self_path = NULL;
        s.socket_path = "/nonexistent/jit-fuzz.sock";
        make_fixtures();
}

/* Empty one spool directory: every input starts from an empty spool. */
static void sweep(int dfd)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset, unlike dup */
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        CHECK(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        CHECK(unlinkat(dfd, de->d_name, 0) == 0);
        closedir(d);
}

static void reset_state(void)
{
        for (size_t i = 0; i < s.n_reqs; i++)
                jit_request_free(s.reqs[i]);
        for (size_t i = 0; i < s.n_grants; i++)
                jit_grant_free(s.grants[i]);
        sweep(req_dfd);
        sweep(grant_dfd);
        free(s.reqs);
        free(s.grants);
        s.reqs = NULL;
        s.grants = NULL;
        s.n_reqs = s.n_grants = 0;
        svc_index_reset(&s);
        s.next_reconcile_us = 0;

        s.reqs = calloc(n_fixture_reqs, sizeof(*s.reqs));
        s.grants = calloc(n_fixture_grants, sizeof(*s.grants));
        CHECK(s.reqs && s.grants);
        for (size_t i = 0; i < n_fixture_reqs; i++) {
                if (jit_request_from_json(cJSON_GetArrayItem(fixture_reqs, (int)i), &s.reqs[i]) < 0)
                        FAIL("request fixture %zu is refused by jit_request_from_json", i);
                s.n_reqs++;
        }
        for (size_t i = 0; i < n_fixture_grants; i++) {
                if (jit_grant_from_json(cJSON_GetArrayItem(fixture_grants, (int)i), &s.grants[i]) < 0)
                        FAIL("grant fixture %zu is refused by jit_grant_from_json", i);
                CHECK(s.grants[i]->state != JIT_GRANT_ACTIVE);
                s.n_grants++;
        }
}

/* ---- checks ------------------------------------------------------------- */

static const char *str_of(const cJSON *j, const char *k)
{
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);

        return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool streq(const char *a, const char *b)
{
        return a && b && strcmp(a, b) == 0;
}

static void dump(const char *what, const cJSON *j)
{
        char *p = cJSON_PrintUnformatted(j);

        fprintf(stderr, "%s: %s\n", what, p ? p : "(unprintable)");
        free(p);
}

/* A request or grant shown to nobody must be nobody's. */
static void check_record_visible(const cJSON *rec, uid_t uid, const cJSON *ans)
{
        const cJSON *ru = cJSON_GetObjectItemCaseSensitive(rec, "uid");

        if (uid == 0 || !cJSON_IsObject(rec))
                return;
        if (streq(str_of(rec, "user"), "nobody") || (cJSON_IsNumber(ru) && ru->valuedouble == (double)uid))
                return;
        dump("answer", ans);
        FAIL("uid %u was shown a record of user %s, which it may not see", (unsigned)uid,
             str_of(rec, "user") ? str_of(rec, "user") : "?");
}

static void check_answer(const cJSON *a, uid_t uid, const char *op)
{
        static const char *const codes[] = {
                JIT_CODE_DENIED, JIT_CODE_PENDING, JIT_CODE_FORBIDDEN, JIT_CODE_NOTFOUND,
                JIT_CODE_INVALID, JIT_CODE_CONFLICT, JIT_CODE_NOTDUE, JIT_CODE_INTERNAL, NULL,
        };
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(a, "ok");
        const char *decision = str_of(a, "decision");
        bool is_ok = cJSON_IsTrue(ok);

        /* Always on: these keep the host safe. */
        if (streq(decision, "allow")) {
                dump("answer", a);
                FAIL("op %s from uid %u was allowed: nothing in this policy can allow", op ? op : "?",
                     (unsigned)uid);
        }
        if (is_ok && (streq(op, JIT_OP_APPROVE) || streq(op, JIT_OP_DENY))) {
                dump("answer", a);
                FAIL("op %s from uid %u succeeded: nobody is an approver in this policy", op, (unsigned)uid);
        }
        if (is_ok && uid != 0 && (streq(op, JIT_OP_ACCESS) || streq(op, JIT_OP_EXPIRE))) {
                dump("answer", a);
                FAIL("root-only op %s succeeded for uid %u", op, (unsigned)uid);
        }

        if (!oracle_enabled())
                return;
        if (!cJSON_IsObject(a) || !cJSON_IsBool(ok)) {
                dump("answer", a);
                FAIL("answer to %s is not an object with a boolean \"ok\"", op ? op : "?");
        }
        if (!is_ok) {
                const char *code = str_of(a, "code"), *err = str_of(a, "error");
                bool known = false;

                for (size_t i = 0; code && codes[i]; i++)
                        known |= strcmp(code, codes[i]) == 0;
                if (!known || !err || !err[0]) {
                        dump("answer", a);
                        FAIL("a refusal of %s without a known \"code\" and an \"error\"", op ? op : "?");
                }
        } else if (decision && !streq(decision, "deny") && !streq(decision, "pending")) {
                dump("answer", a);
                FAIL("answer to %s has decision \"%s\"", op ? op : "?", decision);
        }
        if (uid != 0) {
                const cJSON *e;

                check_record_visible(cJSON_GetObjectItemCaseSensitive(a, "request"), uid, a);
                check_record_visible(cJSON_GetObjectItemCaseSensitive(a, "grant"), uid, a);
                cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(a, "requests"))
                        check_record_visible(e, uid, a);
                cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(a, "grants"))
                        check_record_visible(e, uid, a);
        }
}

/* The waiting client's answer: from svc_notify_decided or
 * svc_expire_waiters. jitctl/serve.c would frame and send it. */
void svc_client_answer(struct svc *sv, struct client *c, cJSON *ans)
{
        struct hclient *h = (struct hclient *)c;

        CHECK(sv == &s);
        if (oracle_enabled()) {
                if (!h->waited || c->waiting || h->answers != 0)
                        FAIL("svc_client_answer for a client that was not waiting (waited %d, waiting %d, answers %d)",
                             h->waited, c->waiting, h->answers);
                CHECK(ans);
        }
        h->answers++;
        trace("<- (waited)", c->uid, ans);
        if (ans)
                check_answer(ans, c->uid, JIT_OP_WAIT);
        cJSON_Delete(ans);
}

static void check_state(void)
{
        uint64_t now = svc_now_us();

        if (s.config != policy)
                FAIL("the policy was dropped (svc_config_refresh): everything would be denied from here");
        if (s.n_grants != n_fixture_grants)
                FAIL("the number of grants changed: %zu, was %zu", s.n_grants, n_fixture_grants);
        for (size_t i = 0; i < s.n_grants; i++)
                if (s.grants[i]->state == JIT_GRANT_ACTIVE || jit_grant_is_active(s.grants[i], now))
                        FAIL("grant %s is active", s.grants[i]->id);
        if (!oracle_enabled())
                return;
        for (size_t i = 0; i < s.n_reqs; i++) {
                size_t n = 0;

                if (s.reqs[i]->state != JIT_REQ_PENDING)
                        continue;
                for (size_t j = 0; j < s.n_reqs; j++)
                        n += s.reqs[j]->state == JIT_REQ_PENDING && s.reqs[j]->uid == s.reqs[i]->uid;
                if (n > JIT_MAX_PENDING_PER_USER)
                        FAIL("uid %u has %zu pending requests (at most %d)", (unsigned)s.reqs[i]->uid, n,
                             JIT_MAX_PENDING_PER_USER);
        }
}

static bool same_json(const cJSON *a, const cJSON *b)
{
        char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
        bool same;

        CHECK(pa && pb);
        same = strcmp(pa, pb) == 0;
        if (!same)
                fprintf(stderr, "memory: %s\nspool:  %s\n", pa, pb);
        free(pa);
        free(pb);
        return same;
}

/* The spool must hold exactly what the service would load back. */
static void check_spool(void)
{
        struct jit_request **reqs = NULL;
        struct jit_grant **grants = NULL;
        size_t nr = 0, ng = 0;
        char **bad = NULL;

        CHECK(jit_spool_load(s.spool, &reqs, &nr, &grants, &ng, &bad) == 0);
        if (bad && bad[0]) {
                for (size_t i = 0; bad[i]; i++)
                        fprintf(stderr, "spool: %s\n", bad[i]);
                FAIL("the service wrote a record it refuses to load back");
        }
        if (ng != 0)
                FAIL("a grant was written to the spool");
        for (size_t i = 0; i < nr; i++) {
                const struct jit_request *m = svc_find_request(&s, reqs[i]->id);
                cJSON *a, *b;

                if (!m)
                        FAIL("spool has request %s, memory does not", reqs[i]->id);
                a = jit_request_to_json(m);
                b = jit_request_to_json(reqs[i]);
                CHECK(a && b);
                if (!same_json(a, b))
                        FAIL("request %s in memory differs from the spool", m->id);
                cJSON_Delete(a);
                cJSON_Delete(b);
        }
        for (size_t i = n_fixture_reqs; i < s.n_reqs; i++) {
                bool found = false;

                for (size_t j = 0; j < nr && !found; j++)
                        found = strcmp(reqs[j]->id, s.reqs[i]->id) == 0;
                if (!found)
                        FAIL("new request %s is not in the spool", s.reqs[i]->id);
        }
        for (size_t i = 0; i < nr; i++)
                jit_request_free(reqs[i]);
        for (size_t i = 0; i < ng; i++)
                jit_grant_free(grants[i]);
        free(reqs);
        free(grants);
        jit_strv_free(bad);
}

/* ---- input -------------------------------------------------------------- */

/* "r:N" / "g:N" in key → the id of s->reqs[N] / s->grants[N]. */
static void resolve_id(cJSON *req, const char *key)
{
        const char *id = str_of(req, key);
        long n, count;
        char *end;
        const char *real;

        if (!id || (id[0] != 'r' && id[0] != 'g') || id[1] != ':')
                return;
        count = id[0] == 'r' ? (long)s.n_reqs : (long)s.n_grants;
        errno = 0;
        n = strtol(id + 2, &end, 10);
        if (count == 0 || errno || end == id + 2 || *end)
                return;
        n %= count;
        if (n < 0)
                n += count;
        real = id[0] == 'r' ? s.reqs[n]->id : s.grants[n]->id;
        cJSON_ReplaceItemInObjectCaseSensitive(req, key, cJSON_CreateString(real));
}

static void tame_access_service(cJSON *req)
{
        const char *op = str_of(req, "op"), *svc = str_of(req, "service");
        char buf[65];

        if (!known_access_service() || !streq(op, JIT_OP_ACCESS) || !svc)
                return;
        snprintf(buf, sizeof(buf), "%s", svc);
        for (char *p = buf; *p; p++)
                if (is_control((unsigned char)*p))
                        *p = ' ';
        cJSON_ReplaceItemInObjectCaseSensitive(req, "service", cJSON_CreateString(buf));
}

/* reload, template-add, template-remove: see SAFETY at the top. reconcile
 * too: it reads the host's /etc/group and /proc for the managed groups,
 * which a fuzz run must not act on. */
static bool reads_the_policy_from_disk(const cJSON *req)
{
        const char *op = str_of(req, "op");

        return streq(op, JIT_OP_RELOAD) || streq(op, JIT_OP_TEMPLATE_ADD) || streq(op, JIT_OP_TEMPLATE_REMOVE) ||
               streq(op, JIT_OP_RECONCILE);
}

/* As the service's frame reader: one JSON object, nothing after it. */
static cJSON *parse_request(const char *p, size_t len)
{
        const char *end = NULL;
        cJSON *j;

        if (len == 0)
                return NULL;
        j = cJSON_ParseWithLengthOpts(p, len, &end, false);
        if (!j || !cJSON_IsObject(j) || end != p + len) {
                cJSON_Delete(j);
                return NULL;
        }
        return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hclient *clients[MAX_REQS] = { 0 };
        size_t n_clients = 0, pos = 1;
        uint8_t who;

        init_once();
        if (size < 1)
                return 0;
        who = data[0];
        reset_state();

        for (size_t i = 0; i < MAX_REQS && pos <= size; i++) {
                const uint8_t *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
                cJSON *req = parse_request((const char *)data + pos, len);
                struct hclient *h;
                const char *op;
                char opbuf[16] = "";
                cJSON *ans;

                pos += len + 1;
                if (req && reads_the_policy_from_disk(req)) {
                        cJSON_Delete(req);
                        req = NULL;
                }
                if (!req)
                        continue;
                resolve_id(req, "id");
                resolve_id(req, "extends");
                tame_access_service(req);
                op = str_of(req, "op");
                if (op)
                        snprintf(opbuf, sizeof(opbuf), "%s", op);
                h = calloc(1, sizeof(*h));
                CHECK(h);
                h->c.fd = -1;
                h->c.pid = 0;           /* no peer: sd-login is not asked (see the top) */
                h->c.uid = h->c.gid = (who >> i) & 1 ? NOBODY : 0;
                h->c.idle_deadline_us = svc_now_us() + JIT_CLIENT_IDLE_US;
                h->c.next = s.clients;
                s.clients = &h->c;
                s.n_clients++;
                clients[n_clients++] = h;

                trace("->", h->c.uid, req);
                ans = svc_handle(&s, &h->c, req);
                trace("<-", h->c.uid, ans);
                cJSON_Delete(req);
                if (!ans) {
                        if (oracle_enabled() && (!h->c.waiting || strcmp(opbuf, JIT_OP_WAIT) != 0))
                                FAIL("no answer to op \"%s\" and the client is not waiting", opbuf);
                        h->waited = true;
                } else {
                        if (oracle_enabled() && h->c.waiting)
                                FAIL("an answer to op \"%s\" and the client waits as well", opbuf);
                        check_answer(ans, h->c.uid, op ? opbuf : NULL);
                        cJSON_Delete(ans);
                }
                check_state();
        }

        /* What the event loop does between requests. */
        svc_reconcile(&s, false);
        check_state();
        (void)svc_next_wakeup_us(&s);
        svc_expire_waiters(&s, UINT64_MAX);
        for (size_t i = 0; i < n_clients; i++) {
                struct hclient *h = clients[i];

                if (oracle_enabled() && (h->c.waiting || h->answers != (h->waited ? 1 : 0)))
                        FAIL("client %zu: waiting %d after expiry, %d answers (waited: %d)",
                             i, h->c.waiting, h->answers, h->waited);
        }
        if (oracle_enabled())
                check_spool();

        for (size_t i = 0; i < n_clients; i++)
                free(clients[i]);
        s.clients = NULL;
        s.n_clients = 0;
        return 0;
}
