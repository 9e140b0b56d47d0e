#!/bin/bash
# How soon does an approver's webhook hear of a pending request?
#
#   bench/notify-latency.sh BUILD_DIR [N]
#
# In the same throwaway sandbox as tests/e2e/notify.sh (root; private
# mount, PID and network namespaces, an overlay over /etc, a tmpfs over
# /run): the service (jitctl serve) and jit-notify in the foreground, an
# HTTPS receiver (Python, a test CA made by openssl) behind one "json"
# target with its HMAC key. N times (default 30): alice runs
# `jitctl request ops` (it escalates: pending), and the time from just
# before that command starts to the receiver having read the whole POST
# (its clock, the same host) is taken; the request is cancelled between
# runs, outside the timing. Every delivery must be the first attempt.
#
# Prints min/median/p90/max in ms. It measures; it asserts no timings (it
# exits non-zero only if the flow itself breaks). The goal is <= 1 s.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [N]" >&2; exit 2; }
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "no directory $1" >&2; exit 2; }
COUNT=${2:-30}
case $COUNT in ''|*[!0-9]*) echo "N must be a number" >&2; exit 2 ;; esac
if [ "$COUNT" -lt 1 ] || [ "$COUNT" -gt 1000 ]; then echo "N must be 1..1000" >&2; exit 2; fi
SRC=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "needs root (namespaces, overlay mounts)" >&2; exit 1; fi
        for p in sudo unshare runuser gpasswd python3 openssl ip; do
                command -v "$p" >/dev/null || { echo "$p is not installed" >&2; exit 1; }
        done
        for f in jitctl jit-notify; do
                [ -e "$BUILD/$f" ] || { echo "no $BUILD/$f: build the project first" >&2; exit 1; }
        done
        W=$(mktemp -d /tmp/jit-bench-notify.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        trap 'exit 130' INT TERM
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -n -f --mount-proc --propagation private "$0" "$BUILD" "$COUNT"
        exit $?
fi

# --- inside the sandbox -----------------------------------------------------------
. "$SRC/tests/e2e/lib.sh"
. "$SRC/tests/e2e/notify_lib.sh"
JITCTL=$BUILD/jitctl
PY=$(python3 -c 'import sys; print(sys.executable)')
export PY W
cleanup() { notify_stop; sandbox_stop_service; notify_stop_receivers; }
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench: $*" >&2; exit 1; }

sandbox_setup >/dev/null
notify_pki || die "no certificates"
notify_key good
notify_receiver good 18443 ok ca || die "the receiver did not start"
notify_policy '
d["notify"] = {"targets": {"good": {"type": "json", "url": "https://127.0.0.1:18443/hook",
  "key_file": "/etc/jit/notify/good.key", "ca_file": "/etc/jit/notify/ca.pem"}}}
d["roles"]["ops"]["notify"] = {"targets": ["good"], "events": ["pending"]}
' || die "policy"
sandbox_start_service >/dev/null || die "the service did not start"
notify_start || die "jit-notify did not start"

# arrival time (s, the receiver's clock) and attempt check of request $1
arrival() {
        "$PY" - "$W/recv-good.log" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("event") == "pending" and sys.argv[2] in d.get("body", ""):
        assert d["sig_ok"], "bad signature"
        print(d["t"])
        break
PY
}

: > "$W/lat.txt"
for i in $(seq 1 "$COUNT"); do
        t0=$EPOCHREALTIME
        out=$(runuser -u alice -- "$JITCTL" --json request ops --for 5m --reason "bench $i") 
        req=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["request_id"])' <<<"$out") || die "no request id: $out"
        t=
        for _ in $(seq 1 300); do
                t=$(arrival "$req") && [ -n "$t" ] && break
                sleep 0.01
        done
        [ -n "$t" ] || die "run $i: request $req never reached the receiver"
        "$PY" -c "print(($t - $t0) * 1000)" >> "$W/lat.txt"
        runuser -u alice -- "$JITCTL" cancel "$req" >/dev/null || die "cancel $req"
done
sleep 1
retries=$(grep -c 'failed' "$W/notify.log")
"$PY" - "$W/lat.txt" "$COUNT" "$retries" <<'PY'
import statistics, sys
v = sorted(float(x) for x in open(sys.argv[1]))
p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
print("pending notification, jitctl request -> HTTPS receiver has the signed body (%s runs, %s failed attempts):" % (sys.argv[2], sys.argv[3]))
print("  min %.1f ms  median %.1f ms  p90 %.1f ms  max %.1f ms   (goal <= 1000 ms)" % (v[0], statistics.median(v), p90, v[-1]))
PY
