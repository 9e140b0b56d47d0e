#!/bin/bash
# End-to-end notifications: the real service (jitctl serve) and the real
# jit-notify in the foreground, real sudo, HTTPS receivers with a test CA
# made by openssl here, inside a private mount + PID + network namespace.
#
#   tests/e2e/notify.sh BUILD_DIR
#
# Proves: the pending notification reaches an HTTPS receiver on the first
# attempt, at once, signed (X-Jit-Signature verifies with the target's
# key), with what an approver needs and the exact `jitctl approve ID`;
# Slack-compatible, command (with an empty environment) and loopback-http
# (its URL in a root-only url_file) targets get theirs; approvers'
# terminals get a line, nobody else's; granted, denied and expired events
# are sent; a receiver that is
# down, slow (10 s), redirects, or presents a certificate of another CA —
# and a target that relies on the system CAs while CURL_CA_BUNDLE and
# SSL_CERT_FILE point at the test CA — changes no decision and leaves
# exactly max_attempts attempts in the audit log, the last one "dropped";
# https_proxy/ALL_PROXY/SSLKEYLOGFILE/CURL_CA_BUNDLE set for the service
# and jit-notify change nothing (no proxy connection, no key log); a
# reason with ESC and U+202E arrives escaped; records survive jit-notify
# and the service being stopped; jitctl and pam_jit.so link no libcurl.
set -u
BUILD=$(cd "${1:?usage: notify.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare script gpasswd openssl ip python3; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        [ -x "$BUILD/jit-notify" ] || { echo "no $BUILD/jit-notify: build first" >&2; exit 1; }
        W=$(mktemp -d /tmp/jit-e2e-notify.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -n -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
. "$HERE/notify_lib.sh"
JITCTL=$BUILD/jitctl
PY=$(python3 -c 'import sys; print(sys.executable)')
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
field() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
now() { date +%s.%N; }

cleanup() { notify_stop; sandbox_stop_service; notify_stop_receivers; [ -n "${BOBTTY:-}" ] && kill $BOBTTY 2>/dev/null; }
trap cleanup EXIT

# Every notify line of the audit log for target $1, request $2, event $3:
# their decisions, in order ("queued retry retry dropped").
trail() {
        "$PY" - "$W/state/audit.log" "$1" "$2" "$3" <<'PY'
import json, sys
log, target, req, ev = sys.argv[1:5]
out = []
for line in open(log):
    d = json.loads(line)
    if d.get("event") == "notify" and d.get("target") == target and d.get("request_id") == req \
            and "(%s)" % ev in d.get("message", ""):
        out.append(d.get("decision", "?"))
print(" ".join(out))
PY
}

# The receiver's entries for request $2 and event $3, as JSON lines.
received() {
        "$PY" - "$W/recv-$1.log" "$2" "$3" <<'PY'
import json, sys
log, req, ev = sys.argv[1:4]
for line in open(log):
    d = json.loads(line)
    if d.get("event") == ev and req in d.get("body", ""):
        print(json.dumps(d))
PY
}

export -f field trail received
export PY W

wait_for() {    # wait_for SECONDS COMMAND...: until it succeeds
        local secs=$1; shift
        for _ in $(seq 1 $((secs * 10))); do "$@" && return 0; sleep 0.1; done
        return 1
}

# --- set-up: users, policy, PKI, keys, receivers, hostile environment -----------
sandbox_setup
sandbox_pam wait=60s
notify_pki || exit 1
for t in good slack cmd down slow redirect wrongcert systemca local; do notify_key "$t"; done
(umask 077; echo "http://127.0.0.1:18450/local" > /etc/jit/notify/local.url)
notify_receiver good 18443 ok ca || exit 1
notify_receiver slack 18444 ok ca || exit 1
notify_receiver slow 18445 slow ca --delay 10 || exit 1
notify_receiver redirect 18446 redirect ca || exit 1
notify_receiver wrongcert 18447 ok other || exit 1
notify_receiver proxy 18449 tcp || exit 1
notify_receiver local 18450 ok ca --plain || exit 1
# 18448: nobody listens (the receiver that is down)
notify_policy '
K = lambda n: "/etc/jit/notify/%s.key" % n
CA = "/etc/jit/notify/ca.pem"
def https(n, port, path="/hook", ca=True):
    t = {"type": "json", "url": "https://127.0.0.1:%d%s" % (port, path), "key_file": K(n), "timeout": "2s"}
    if ca: t["ca_file"] = CA
    return t
d["notify"] = {
  "terminals": True,
  "retry": {"base": "1s", "max_delay": "2s", "max_attempts": 3, "max_age": "1h"},
  "targets": {
    "good": https("good", 18443),
    "slack": dict(https("slack", 18444, "/slack"), type="slack"),
    "cmd": {"type": "command", "argv": ["/bin/sh", "-c", "cat /proc/$$/environ > %s/cmd-env; cat > %s/cmd-body.$$" % (W, W)], "timeout": "5s"},
    "down": https("down", 18448),
    "slow": https("slow", 18445),
    "redirect": https("redirect", 18446),
    "wrongcert": https("wrongcert", 18447),
    "systemca": https("systemca", 18443, "/systemca", ca=False),
    "local": {"type": "json", "url_file": "/etc/jit/notify/local.url", "allow_http_loopback": True,
              "key_file": K("local")},
  }}
d["roles"]["ops"]["notify"] = {"targets": list(d["notify"]["targets"]),
  "events": ["pending", "granted", "denied", "break-glass", "expired", "review"]}
' || exit 1
# What a careless environment would hand to libcurl and OpenSSL.
export https_proxy=http://127.0.0.1:18449 HTTPS_PROXY=http://127.0.0.1:18449 http_proxy=http://127.0.0.1:18449
export ALL_PROXY=http://127.0.0.1:18449 all_proxy=http://127.0.0.1:18449
export SSLKEYLOGFILE=$W/keylog CURL_CA_BUNDLE=$W/pki/ca-ca.pem SSL_CERT_FILE=$W/pki/ca-ca.pem
sandbox_start_service || exit 1
notify_start || exit 1

# --- 1. what links libcurl ----------------------------------------------------------
check "jit-notify links libcurl" bash -c 'ldd "$1" | grep -q libcurl' _ "$BUILD/jit-notify"
check "jitctl (the service) does not link libcurl" bash -c '! ldd "$1" | grep -q libcurl' _ "$JITCTL"
check "pam_jit.so does not link libcurl" bash -c '! ldd "$1" | grep -q libcurl' _ "$BUILD/pam_jit.so"

# --- 2. the pending notification, at once, signed, escaped --------------------------
# bob (an approver) and carol (not one) are logged in on terminals open to
# messages (mesg y).
install -d -m 1777 "$W/ttys"
runuser -u bob -- script -qfc "mesg y; sleep 60" "$W/ttys/bob.tty" </dev/null >/dev/null 2>&1 &
BOBTTY=$!
runuser -u carol -- script -qfc "mesg y; sleep 60" "$W/ttys/carol.tty" </dev/null >/dev/null 2>&1 &
BOBTTY="$BOBTTY $!"
sleep 0.5
REASON=$(printf 'deploy \033[31mred\033[0m \xe2\x80\xae''evil')
t0=$(now)
out=$(as alice "$JITCTL" --json request ops --for 10m --reason "$REASON"); rc=$?
t1=$(now)
req=$(field 'd["request_id"]' <<<"$out")
check "alice's request is pending (exit $rc = 4), answered in $("$PY" -c "print(round(($t1-$t0)*1000))") ms" \
        bash -c '[ "$1" = 4 ] && [ -n "$2" ]' _ $rc "$req"
wait_for 5 bash -c '[ -n "$(received good "$1" pending)" ]' _ "$req"
got=$(received good "$req" pending)
check "the HTTPS receiver got the pending notification" [ -n "$got" ]
lat=$("$PY" -c 'import json,sys; print(round((json.loads(sys.argv[1].splitlines()[0])["t"] - float(sys.argv[2])) * 1000))' "$got" "$t0" 2>/dev/null)
check "... ${lat:-?} ms after jitctl request started (first attempt, no retry: under 1500 ms)" \
        bash -c '[ -n "$1" ] && [ "$1" -lt 1500 ] && [ "$(wc -l <<<"$2")" = 1 ]' _ "$lat" "$got"
check "... its X-Jit-Signature verifies with the target's key" \
        bash -c '[ "$(field "d[\"sig_ok\"]" <<<"$1")" = True ]' _ "$got"
body=$(field 'd["body"]' <<<"$got")
check "... it names requester, role, TTL, source, risk, approvers and the exact approve line" "$PY" -c '
import json, sys
b = json.loads(sys.argv[1]); r = b["request"]
assert b["event"] == "pending" and b["approve"] == "jitctl approve " + sys.argv[2], b
assert r["user"] == "alice" and r["role"] == "ops" and r["ttl"] == 600 and r["ttl_text"] == "10m", r
assert r["service"] == "jitctl" and isinstance(r["risk"], int) and r["reasons"], r
assert "members of sre" in r["approvers"], r
' "$body" "$req"
check "... the reason arrives escaped: \\x1b[31m and \\u{202E}, no raw ESC or U+202E in the bytes" "$PY" -c '
import json, sys
g = json.loads(sys.argv[1]); r = json.loads(g["body"])["request"]["reason"]
assert not g["raw_has_esc"] and not g["raw_has_rlo"], g
assert r == "deploy \\x1b[31mred\\x1b[0m \\u{202E}evil", r
' "$got"
check "the service has it on record: delivered to good on attempt 1" \
        bash -c '[ "$(trail good "$1" pending)" = "queued delivered" ]' _ "$req"
wait_for 5 bash -c '[ -n "$(received slack "$1" pending)" ]' _ "$req"
sl=$(received slack "$req" pending)
check "the Slack-compatible target got {\"text\"} with the approve line, signed with its own key" "$PY" -c '
import json, sys
g = json.loads(sys.argv[1]); b = json.loads(g["body"])
assert g["sig_ok"] is True and list(b) == ["text"], g
assert "`jitctl approve %s`" % sys.argv[2] in b["text"] and "\\u{202E}evil" in b["text"], b
' "$sl" "$req"
wait_for 5 bash -c '[ -n "$(received local "$1" pending)" ]' _ "$req"
check "the loopback http target, its URL in a root-only url_file, got it signed" \
        bash -c '[ "$(field "d[\"sig_ok\"]" <<<"$(received local "$1" pending)")" = True ]' _ "$req"
wait_for 5 bash -c 'grep -qs "\"id\":\"$1\"" "$2"/cmd-body.*' _ "$req" "$W"
check "the command target got the JSON on stdin" bash -c 'grep -qs "\"event\":\"pending\"" "$1"/cmd-body.*' _ "$W"
check "... with an empty environment" bash -c '[ -e "$1/cmd-env" ] && [ ! -s "$1/cmd-env" ]' _ "$W"
wait_for 3 grep -q "jitctl approve $req" "$W/ttys/bob.tty"
check "bob's terminal shows the pending request and the approve line" grep -q "jit: alice asks for role ops (10m).*jitctl approve $req" "$W/ttys/bob.tty"
check "... escaped: no ESC byte reached it" bash -c '! grep -q "$(printf "\033")" "$1" && grep -qF "\\x1b[31m" "$1"' _ "$W/ttys/bob.tty"
check "carol, logged in but no approver, was told nothing" bash -c '! grep -q "jit:" "$1"' _ "$W/ttys/carol.tty"

# --- 3. failing receivers change no decision ----------------------------------------
t0=$(now)
out=$(as alice sudo -n /usr/bin/id -un 2>&1); rc=$?
t1=$(now)
req2=$(printf '%s\n' "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n1 | awk '{print $3}')
ms2=$("$PY" -c "print(round(($t1-$t0)*1000))")
check "sudo -n: denied with a pending request ($req2) as without notifications, in $ms2 ms (< 3000)" \
        bash -c '[ "$1" = 1 ] && [ -n "$2" ] && [ "$3" -lt 3000 ]' _ $rc "$req2" "$ms2"
t0=$(now)
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req2" >/dev/null; rc=$?
ms2=$("$PY" -c "print(round(($(now)-$t0)*1000))")
check "bob's approval is taken (exit $rc) in $ms2 ms, the slow receiver notwithstanding" \
        bash -c '[ "$1" = 0 ] && [ "$2" -lt 3000 ]' _ $rc "$ms2"
out=$(as alice sudo -n /usr/bin/id -un 2>&1); rc=$?
check "alice's sudo runs with the grant ($rc: $out)" [ "$rc/$out" = "0/root" ]
check "alice is in jit-ops" is_member alice jit-ops

# --- 4. bounded retry trails --------------------------------------------------------
for t in down slow redirect wrongcert systemca; do
        wait_for 40 bash -c '[[ "$(trail "$1" "$2" pending)" == *dropped ]]' _ "$t" "$req"
        tr=$(trail "$t" "$req" pending)
        check "$t: 3 attempts on record, the last dropped, nothing after ($tr)" [ "$tr" = "queued retry retry dropped" ]
done
check "down/slow/redirect/wrongcert changed no decision: $req is still pending, $req2 approved" \
        bash -c '[ "$("$1" --json show "$2" | field "d[\"request\"][\"state\"]")/$("$1" --json show "$3" | field "d[\"request\"][\"state\"]")" = pending/approved ]' \
        _ "$JITCTL" "$req" "$req2"
check "redirect: the 302 was not followed (no request to /elsewhere)" bash -c '! grep -q "\"path\": \"/elsewhere\"" "$1"' _ "$W/recv-redirect.log"
check "redirect: the failure names the redirect" grep -q 'to redirect failed.*HTTP 302 (a redirect: not followed)' "$W/state/audit.log"
check "wrongcert: the receiver with another CA's certificate got no request" bash -c '[ ! -s "$1" ]' _ "$W/recv-wrongcert.log"
check "wrongcert: the failure names the certificate" grep -q 'to wrongcert failed.*SSL' "$W/state/audit.log"
check "slow: each attempt timed out after the target's 2 s" grep -q 'to slow failed.*[Tt]imeout' "$W/state/audit.log"
check "down: the failure names the connection" grep -q 'to down failed.*[Cc]onnect' "$W/state/audit.log"

# --- 5. the environment changed nothing ---------------------------------------------
check "systemca: no ca_file, so the system CAs — not CURL_CA_BUNDLE or SSL_CERT_FILE (the test CA) — were used" \
        bash -c '! grep -q "\"path\": \"/systemca\"" "$1"' _ "$W/recv-good.log"
check "no connection reached the proxy in https_proxy/ALL_PROXY" bash -c '[ ! -s "$1" ]' _ "$W/recv-proxy.log"
check "no TLS key log was written (SSLKEYLOGFILE)" [ ! -e "$W/keylog" ]

# --- 6. granted and denied; a denial's words escaped --------------------------------
wait_for 5 bash -c '[ -n "$(received good "$1" granted)" ]' _ "$req2"
check "the grant of $req2 was notified (granted, with its grant id)" bash -c \
        '[ "$(field "json.loads(d[\"body\"])[\"grant\"][\"id\"][:2]" <<<"$(received good "$1" granted)")" = g- ]' _ "$req2"
out=$(as carol "$JITCTL" --json request ops --for 5m --reason "third"); req3=$(field 'd["request_id"]' <<<"$out")
as bob "$JITCTL" deny --passphrase-file "$BOBPASS" "$req3" --reason "$(printf 'no \033[2J\xe2\x81\xa6way')" >/dev/null; rc=$?
wait_for 5 bash -c '[ -n "$(received good "$1" denied)" ]' _ "$req3"
check "bob's denial (exit $rc) was notified with his words escaped" "$PY" -c '
import json, sys
g = json.loads(sys.argv[1]); b = json.loads(g["body"])
assert b["request"]["decided_by"] == "bob" and b["request"]["comment"] == "no \\x1b[2J\\u{2066}way", b
assert not g["raw_has_esc"], g
' "$(received good "$req3" denied)"

out=$(as carol "$JITCTL" --json request ops --for 5m --reason "short"); req5=$(field 'd["request_id"]' <<<"$out")
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req5" --for 2s >/dev/null; rc=$?
wait_for 10 bash -c '[ -n "$(received good "$1" expired)" ]' _ "$req5"
check "carol's 2 s grant (exit $rc) expired, and that was notified" bash -c '[ -n "$(received good "$1" expired)" ]' _ "$req5"

# --- 7. durable: records outlive jit-notify and the service -------------------------
notify_stop
out=$(as carol "$JITCTL" --json request ops --for 5m --task "durable"); req4=$(field 'd["request_id"]' <<<"$out")
sleep 0.3
check "with jit-notify stopped, the notifications of $req4 wait in the outbox" \
        bash -c 'grep -ls "$1" "$2"/state/outbox/n-* | grep -q .' _ "$req4" "$W"
sandbox_stop_service
notify_start || exit 1
wait_for 10 bash -c '[ -n "$(received good "$1" pending)" ]' _ "$req4"
check "jit-notify, started again, delivers them (the service being down)" bash -c '[ -n "$(received good "$1" pending)" ]' _ "$req4"
sleep 0.5
check "... and keeps the outcome while it cannot report it" \
        bash -c 'grep -ls "$1" "$2"/state/outbox/n-* | xargs grep -l "\"results\":\[{" | grep -q .' _ "$req4" "$W"
sandbox_start_service || exit 1
wait_for 20 bash -c '[[ "$(trail good "$1" pending)" == *delivered ]]' _ "$req4"
check "once the service is back, the delivery is on record ($(trail good "$req4" pending))" \
        bash -c '[[ "$(trail good "$1" pending)" == "queued delivered" ]]' _ "$req4"

# --- 8. everything settles, and the audit log holds ---------------------------------
wait_for 60 bash -c '! ls "$1"/state/outbox/ | grep -q "^n-"' _ "$W"
check "the outbox empties: every record delivered or dropped, and reported" bash -c '! ls "$1"/state/outbox/ | grep -q "^n-"' _ "$W"
check "no attempt beyond max_attempts for any notification" "$PY" -c '
import json, re, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    m = re.search(r"attempt (\d+) of (\d+)", d.get("message", "")) if d.get("event") == "notify" else None
    assert not m or int(m.group(1)) <= int(m.group(2)) == 3, d
' "$W/state/audit.log"
sandbox_stop_service
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "jitctl audit verify: the log with its notify events holds (exit $rc)" [ $rc = 0 ]

echo "1..$n"
[ "$fails" = 0 ] || { echo "# $fails failed; service log:"; tail -n 40 "$W/service.log"; echo "# jit-notify log:"; tail -n 40 "$W/notify.log"; }
[ "$fails" = 0 ]
