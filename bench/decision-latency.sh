#!/bin/bash
# How much does pam_jit add to sudo, and how soon does an approval land?
# Real sudo, real service, real gpasswd.
#
#   bench/decision-latency.sh BUILD_DIR [N]
#
# Runs in the same throwaway sandbox as tests/e2e/sudo.sh (root; a private
# mount + PID namespace, an overlay over /etc, a tmpfs over /run; see
# tests/e2e/lib.sh), with the service (jitctl serve) in the foreground.
# N iterations (default 50) of each of:
#
#  1. the fast path: `runuser -u alice -- sudo -n /usr/bin/true` while alice
#     holds an active grant for role ops, against the same sudo with the
#     pam_jit line taken out of /etc/pam.d/sudo (baseline). The two are
#     interleaved, swapping the PAM file between runs (outside the timing).
#  2. the service alone on the fast path: an "access" request as root over
#     /run/jit/jit.sock, one connection per request, timed from connect to
#     the whole answer (python3 speaking the wire format).
#  3. an approval: alice asks (`jitctl request ops`, which escalates: the
#     previous grant is revoked first, so no active grant answers it and no
#     pending request is reused), `jitctl wait ID` runs in the background as
#     alice, and once it has been waiting for a moment bob runs
#     `jitctl approve ID`. Reports
#       (a) start of bob's approve command -> exit of alice's waiter,
#       (b) the service's own decision -> grant applied (gpasswd done), from
#           its log lines "HH:MM:SS.mmm jitd[decision|grant] ..." (1 ms
#           resolution, so +-1 ms),
#       (c) bob's approve command returned -> exit of alice's waiter (issue
#           8's definition; bench/approval-latency.sh measures it with a
#           real waiting sudo, 200 runs, with p99).
#  4. a template grant at the moment of use: carol's
#     `sudo -n /usr/bin/journalctl --version`, pre-approved by the read-logs
#     template, with no active grant (root revokes it between runs): the
#     whole sudo, decision + durable record + audit line + gpasswd + timer
#     (none here) included.
#
# Prints min/median/p90/max in ms. It measures; it asserts no timings (it
# exits non-zero only if the flow itself breaks). Wall-clock stamps come
# from bash's $EPOCHREALTIME (microseconds, no fork); runuser's own PAM
# session set-up is part of every command timed through it. Without
# journald in the sandbox the service's journal writes fail fast, so a real
# host pays a little more per logged event.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [N]" >&2; exit 2; }
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "no directory $1" >&2; exit 2; }
COUNT=${2:-50}
case $COUNT in ''|*[!0-9]*) echo "N must be a number" >&2; exit 2 ;; esac
if [ "$COUNT" -lt 1 ] || [ "$COUNT" -gt 1000 ]; then echo "N must be 1..1000" >&2; exit 2; fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
WARMUP=3
SETTLE=0.25     # s the waiter is given to be parked in the service before bob approves

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "needs root (namespaces, overlay mounts)" >&2; exit 1; fi
        for p in sudo unshare runuser gpasswd python3; do
                command -v "$p" >/dev/null || { echo "$p is not installed" >&2; exit 1; }
        done
        for f in jitctl pam_jit.so; do
                [ -e "$BUILD/$f" ] || { echo "no $BUILD/$f: build the project first" >&2; exit 1; }
        done
        W=$(mktemp -d /tmp/jit-bench-latency.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        trap 'exit 130' INT TERM
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD" "$COUNT"
        exit $?
fi

# --- inside the sandbox -----------------------------------------------------------
. "$SRC/tests/e2e/lib.sh"
JITCTL=$BUILD/jitctl
# The interpreter itself, not a version-manager shim, so helpers start fast.
PY=$(python3 -c 'import sys; print(sys.executable)')
WAITER=
cleanup() {
        [ -n "$WAITER" ] && kill "$WAITER" 2>/dev/null && wait "$WAITER" 2>/dev/null
        sandbox_stop_service
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
        echo "bench: $*" >&2
        echo "# service log (last 20 lines):" >&2
        tail -n 20 "$W/service.log" 2>/dev/null | sed 's/^/#   /' >&2
        exit 1
}
field() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

sandbox_setup
sandbox_pam
sandbox_start_service || exit 1
cp /etc/pam.d/sudo "$W/pam-jit"
grep -v 'pam_jit\.so' "$W/pam-jit" >"$W/pam-base"
grep -q 'pam_jit\.so' "$W/pam-jit" || die "the pam_jit line is not in /etc/pam.d/sudo"
use_pam() { cat "$W/pam-$1" >/etc/pam.d/sudo; }

echo "# decision latency: N=$COUNT (after $WARMUP warm-up runs), build $BUILD"
echo "# kernel $(uname -r), $(nproc) CPU(s), $(sudo -V | head -n1)"

# --- 1. the fast path through sudo ------------------------------------------------
out=$(runuser -u alice -- "$JITCTL" --json request ops --for 30m); rc=$?
req=$(field 'd["request_id"]' <<<"$out")
[ "$rc" = 4 ] && [ -n "$req" ] || die "alice's request did not escalate (exit $rc): $out"
out=$(runuser -u bob -- "$JITCTL" --json approve --passphrase-file "$BOBPASS" "$req"); rc=$?
grant=$(field 'd["grant"]["id"]' <<<"$out")
[ "$rc" = 0 ] && [ -n "$grant" ] && is_member alice jit-ops || die "bob's approval failed (exit $rc): $out"

sudo_once() {   # KIND: time one sudo, append "KIND us" to fast.txt
        local t0 t1 o rc
        use_pam "$1"
        t0=$(now_us)
        o=$(runuser -u alice -- sudo -n /usr/bin/true 2>&1); rc=$?
        t1=$(now_us)
        [ "$rc" = 0 ] && [ -z "$o" ] || die "sudo ($1) failed (exit $rc): $o"
        [ "${2:-}" = warm ] || echo "$1 $((t1 - t0))" >>"$W/fast.txt"
}
: >"$W/fast.txt"
for _ in $(seq 1 "$WARMUP"); do sudo_once base warm; sudo_once jit warm; done
for i in $(seq 1 "$COUNT"); do
        # Alternate the order so neither kind always runs second.
        if [ $((i % 2)) = 1 ]; then sudo_once base; sudo_once jit
        else sudo_once jit; sudo_once base; fi
done
use_pam jit

# --- 2. the service alone: access over the socket ---------------------------------
"$PY" - "$COUNT" "$WARMUP" "$W/access.txt" <<'PY' || die "direct access requests failed"
import json, socket, struct, sys, time
n, warm, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = json.dumps({"op": "access", "user": "alice", "role": "ops", "service": "sudo",
                   "command_mode": "none", "wait_s": 0}).encode()
msg = struct.pack(">I", len(body)) + body

def recv_exact(s, k):
    buf = b""
    while len(buf) < k:
        chunk = s.recv(k - len(buf))
        if not chunk:
            raise EOFError("the service closed the connection")
        buf += chunk
    return buf

def once():
    t0 = time.perf_counter_ns()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/run/jit/jit.sock")
    s.sendall(msg)
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    answer = recv_exact(s, length)
    t1 = time.perf_counter_ns()
    s.close()
    a = json.loads(answer)
    if a.get("ok") is not True or a.get("decision") != "allow":
        sys.exit("unexpected answer: %s" % answer.decode(errors="replace"))
    return (t1 - t0) // 1000

for _ in range(warm):
    once()
with open(out, "w") as f:
    for _ in range(n):
        f.write("%d\n" % once())
PY

# --- 3. approval: approve -> waiter returns, decision -> grant in the log ---------
runuser -u bob -- "$JITCTL" revoke "$grant" >/dev/null || die "cannot revoke $grant"
is_member alice jit-ops && die "alice is still in jit-ops after the revoke"
: >"$W/approve.txt"
declare -A seen
for i in $(seq 1 $((WARMUP + COUNT))); do
        out=$(runuser -u alice -- "$JITCTL" --json request ops --for 1m); rc=$?
        req=$(field 'd["request_id"]' <<<"$out")
        [ "$rc" = 4 ] && [ -n "$req" ] || die "iteration $i: the request did not escalate (exit $rc): $out"
        # A reused pending request would be waited on twice; every id must be new.
        [ -z "${seen[$req]:-}" ] && ! grep -q 'already pending' <<<"$out" || die "iteration $i: pending request $req was reused"
        seen[$req]=1
        rm -f "$W/wait.t" "$W/wait.out"
        ( runuser -u alice -- "$JITCTL" --json wait "$req" --timeout 60s >"$W/wait.out" 2>&1
          echo "$? $(now_us)" >"$W/wait.t" ) &
        WAITER=$!
        sleep "$SETTLE"
        [ -e "$W/wait.t" ] && die "iteration $i: the waiter returned before the approval: $(cat "$W/wait.out")"
        t0=$(now_us)
        out=$(runuser -u bob -- "$JITCTL" --json approve --passphrase-file "$BOBPASS" "$req"); rc=$?
        t_ap=$(now_us)
        wait "$WAITER"; WAITER=
        [ "$rc" = 0 ] || die "iteration $i: bob's approve failed (exit $rc): $out"
        read -r wrc t1 <"$W/wait.t" || die "iteration $i: no waiter exit stamp"
        [ "$wrc" = 0 ] || die "iteration $i: the waiter exited $wrc: $(cat "$W/wait.out")"
        g=$(field 'd["grant"]["id"]' <<<"$out")
        [ -n "$g" ] || die "iteration $i: no grant in the approval: $out"
        [ "$i" -gt "$WARMUP" ] && echo "$req $g $((t1 - t0)) $((t_ap - t0))" >>"$W/approve.txt"
        runuser -u bob -- "$JITCTL" revoke "$g" >/dev/null || die "iteration $i: cannot revoke $g"
done

# --- 4. a template grant at the moment of use ------------------------------------
: >"$W/template.txt"
for i in $(seq 1 $((WARMUP + COUNT))); do
        t0=$(now_us)
        runuser -u carol -- sudo -n /usr/bin/journalctl --version >/dev/null 2>&1; rc=$?
        t1=$(now_us)
        [ "$rc" = 0 ] || die "iteration $i: carol's templated sudo failed (exit $rc)"
        [ "$i" -gt "$WARMUP" ] && echo "$((t1 - t0))" >>"$W/template.txt"
        g=$("$JITCTL" --json list --active | field '[x["id"] for x in d["grants"] if x["user"] == "carol"][0]')
        [ -n "$g" ] || die "iteration $i: no active grant for carol"
        "$JITCTL" revoke "$g" >/dev/null || die "iteration $i: cannot revoke $g"
done

sandbox_stop_service

# --- figures ----------------------------------------------------------------------------
"$PY" - "$W/fast.txt" "$W/access.txt" "$W/approve.txt" "$W/service.log" "$W/template.txt" <<'PY'
import re, statistics, sys
fast_f, access_f, approve_f, log_f, template_f = sys.argv[1:6]

def pct(v, p):
    s = sorted(v)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)

def row(name, v):
    if not v:
        print("%-48s no data" % name)
        return
    print("%-48s %5d %9.3f %9.3f %9.3f %9.3f" % (name, len(v), min(v), statistics.median(v), pct(v, 90), max(v)))

base, jit = [], []
for line in open(fast_f):
    kind, us = line.split()
    (base if kind == "base" else jit).append(int(us) / 1000)
access = [int(l) / 1000 for l in open(access_f) if l.strip()]
rows = [l.split() for l in open(approve_f) if l.strip()]
to_waiter = [int(r[2]) / 1000 for r in rows]
approve_cmd = [int(r[3]) / 1000 for r in rows]

# The service log: the decision names the request, the grant line names the grant.
stamp = r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) jitd\[(decision|grant)\] "
decided, granted = {}, {}
for line in open(log_f, errors="replace"):
    m = re.match(stamp + r"(?:request (r-\S+) by \S+ for role \S+: allow by |grant (g-\S+): )", line)
    if not m:
        continue
    ms = ((int(m[1]) * 60 + int(m[2])) * 60 + int(m[3])) * 1000 + int(m[4])
    if m[5] == "decision" and m[6]:
        decided[m[6]] = ms
    elif m[5] == "grant" and m[7]:
        granted[m[7]] = ms
to_grant = []
for req, g, *_ in rows:
    if req in decided and g in granted:
        to_grant.append(float((granted[g] - decided[req]) % 86400000))

print("%-48s %5s %9s %9s %9s %9s" % ("ms", "n", "min", "median", "p90", "max"))
print("1. sudo -n /usr/bin/true as alice (runuser)")
row("   baseline: no pam_jit in /etc/pam.d/sudo", base)
row("   pam_jit, active grant (fast path)", jit)
paired = [j - b for b, j in zip(base, jit)]
if base and jit:
    print("   added by pam_jit: %.3f ms (median jit - median baseline); "
          "median of paired differences %.3f ms" % (statistics.median(jit) - statistics.median(base),
                                                    statistics.median(paired)))
print("2. service alone: access over the socket (root)")
row("   connect -> whole answer, 1 conn/request", access)
print("3. approval (alice waits in jitctl wait, bob approves)")
row("   (a) approve starts -> waiter exits", to_waiter)
row("       bob's approve command, start -> exit", approve_cmd)
row("   (b) service log: decision -> grant applied", to_grant)
if len(to_grant) != len(rows):
    print("   (b) matched %d of %d approvals in the service log" % (len(to_grant), len(rows)))
row("   (c) approve returns -> waiter exits", [w - a for w, a in zip(to_waiter, approve_cmd)])
template = [int(l) / 1000 for l in open(template_f) if l.strip()]
print("4. template grant at the moment of use (carol, no active grant)")
row("   sudo -n journalctl --version, granted + run", template)
PY
