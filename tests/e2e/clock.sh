#!/bin/bash
# End-to-end: expiry is wall-clock time. A clock set forward past a grant's
# expiry strips it at once; a clock set back does not revive it. The
# service runs with tests/preload/clockshift.so, which shifts the
# CLOCK_REALTIME it sees by the seconds in a file — a stand-in for setting
# the machine's clock, which a test must not do. Real sudo/gpasswd/service
# in a private namespace (see lib.sh).
#
#   tests/e2e/clock.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: clock.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        [ -e "$BUILD/tests/clockshift.so" ] || { echo "SKIP: $BUILD/tests/clockshift.so not built"; exit 77; }
        W=$(mktemp -d /tmp/jit-e2e-clock.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
not_member() { ! is_member "$@"; }
grant_state() { "$JITCTL" --json show "$1" | field 'd["grant"]["state"]+"/"+str(d["grant"].get("ended_by"))'; }
# Any call wakes the service's loop, which judges expiry with its clock.
poke() { "$JITCTL" list >/dev/null 2>&1; }
wait_not_member() { for _ in $(seq 1 50); do poke; not_member "$1" "$2" && return 0; sleep 0.1; done; return 1; }

trap 'sandbox_stop_service' EXIT
sandbox_setup
python3 - <<'PY'
import json
c = json.load(open("/etc/jit/jit.conf"))
c["templates"]["alice-ahead"] = {"role": "ops", "users": ["alice"], "services": ["jitctl"], "max_ttl": "10m"}
json.dump(c, open("/etc/jit/jit.conf", "w"), indent=1)
PY
echo 0 > "$W/shift"
export LD_PRELOAD=$BUILD/tests/clockshift.so CLOCKSHIFT_FILE=$W/shift
sandbox_start_service || exit 1
unset LD_PRELOAD

g=$(runuser -u alice -- "$JITCTL" --json request ops --for 10m | field 'd["grant"]["id"]')
check "alice holds a 10-minute grant ($g)" is_member alice jit-ops

# 1. The clock is set two hours forward: the grant is past its expiry.
echo 7200 > "$W/shift"
check "clock set forward past expiry: alice is stripped at the next wake-up" wait_not_member alice jit-ops
st=$(grant_state "$g")
check "the grant is expired by the loop ($st)" [ "$st" = "expired/loop" ]

# 2. The clock is set back to before the grant was made: nothing revives.
echo -600 > "$W/shift"
poke
st=$(grant_state "$g")
check "clock set back: the grant stays expired ($st)" [ "$st" = "expired/loop" ]
check "clock set back: alice is not put back in jit-ops" not_member alice jit-ops
act=$("$JITCTL" --json list --active | field 'len(d["grants"])')
check "clock set back: no grant is active again ($act active)" [ "$act" = 0 ]

# 3. A grant made while the clock is behind ends at its own wall-clock
# expiry: setting the clock forward by less than its TTL leaves it alone.
echo 0 > "$W/shift"
g2=$(runuser -u alice -- "$JITCTL" --json request ops --for 10m | field 'd["grant"]["id"]')
echo 300 > "$W/shift"; poke
check "clock forward by less than the TTL: alice keeps her grant ($g2)" is_member alice jit-ops
echo 601 > "$W/shift"
check "clock forward past this grant's expiry: stripped" wait_not_member alice jit-ops

check "grpck -r is clean" grpck -r
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
