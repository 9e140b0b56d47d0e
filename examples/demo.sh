#!/bin/bash
# The jit flow, for real, in a throwaway sandbox — one command, as root on
# Debian 12:
#
#   examples/demo.sh
#
# It installs the build dependencies, builds jit, then inside a private
# mount + PID namespace (an overlay over /etc, a tmpfs over /run) it
# creates demo users, a policy and a PAM line for the real sudo, starts
# the jit service in the foreground, and walks: alice's sudo is held
# pending → bob approves with jitctl → her command runs → she is a member
# of jit-ops → the membership is stripped at expiry. Nothing outside the
# sandbox changes; the namespace and its mounts vanish when it ends.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${JIT_DEMO_INNER:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "run as root (the sandbox needs namespaces and mounts)" >&2; exit 1; }
        echo "== installing build dependencies (apt) and building jit"
        sh "$SRC/tests/deps.sh"
        cmake -S "$SRC" -B "$SRC/build" >/dev/null
        cmake --build "$SRC/build" -j"$(nproc)" >/dev/null
        W=$(mktemp -d /tmp/jit-demo.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_DEMO_INNER=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0"
        exit $?
fi

BUILD=$SRC/build
TTL=${JIT_DEMO_TTL:-15s}
. "$SRC/tests/e2e/lib.sh"
bold=$(tput bold 2>/dev/null || true) off=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
run_as() { u=$1; shift; printf '%s$ %s%s\n' "$bold" "$*" "$off" | sed "s/^/[$u] /"; runuser -u "$u" -- "$@" 2>&1 | sed "s/^/[$u] /"; }

step "sandbox: overlay on /etc, tmpfs on /run — users alice (requester), bob (approver)"
sandbox_setup
sandbox_pam wait=2m
echo "policy: /etc/jit/jit.conf — role ops grants group jit-ops; requesters: group eng; approvers: group sre"
echo "pam:    $(grep pam_jit /etc/pam.d/sudo)"
echo "sudoers: $(cat /etc/sudoers.d/jit)"
"$BUILD/jitctl" policy check /etc/jit/jit.conf

step "the jit service starts (its log lines are marked [jit])"
sandbox_start_service
tail -n +1 -f "$W/service.log" | sed -u 's/^/[jit] /' &
tailpid=$!
trap 'kill $tailpid 2>/dev/null; sandbox_stop_service' EXIT
sleep 0.3

step "alice runs: sudo /usr/bin/id -un   (held: no template pre-approves it)"
runuser -u alice -- script -qefc "sudo /usr/bin/id -un" /dev/null 2>&1 | sed -u 's/\r//g; s/\x0//g; s/^/[alice] /' &
alice=$!
for _ in $(seq 1 100); do
        req=$(runuser -u bob -- "$BUILD/jitctl" --json list 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r[0]["id"] if r else "")')
        [ -n "$req" ] && break
        sleep 0.1
done
sleep 0.5

step "bob, an approver, looks at the queue and the request"
run_as bob "$BUILD/jitctl" list
run_as bob "$BUILD/jitctl" show "$req"

step "alice may not approve her own request"
run_as alice "$BUILD/jitctl" approve "$req" || true

step "bob approves it for $TTL, signing with his own key (jitctl keygen; root registered it)"
run_as bob "$BUILD/jitctl" approve "$req" --for "$TTL" --comment "demo" --passphrase-file "$BOBPASS"
wait $alice || true

step "alice is now a member of jit-ops, until expiry"
echo "$ getent group jit-ops"; getent group jit-ops
run_as alice "$BUILD/jitctl" list --active
run_as alice sudo -n /usr/bin/id -un
echo "(the fast path: an active grant, no prompt)"

step "waiting for the expiry (no systemd in this sandbox: the service's own loop strips it)"
while is_member alice jit-ops; do sleep 0.2; done
sleep 0.2
echo "$ getent group jit-ops"; getent group jit-ops
run_as alice sudo -n /usr/bin/id -un || true

step "done — the sandbox and everything in it disappear now"
