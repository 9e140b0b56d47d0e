#!/bin/bash
# valgrind/flows: the service (jitctl serve, in the foreground) and every
# jitctl of the main flows under memcheck, in the sandbox of e2e/sudo
# (private mount + PID namespace, overlay over /etc, tmpfs over /run):
# keygen and approver add; request -> pending -> a signed approve -> grant;
# list/show/verify; revoke; a 5 s grant ended by the service's loop and
# jitctl expire; a signed denial reaching jitctl wait; cancel; a template
# grant and a deny rule through the real sudo (pam_jit itself is not under
# valgrind); reconcile, policy, template and audit verbs; a clean stop,
# then audit verify. Fails on any memcheck error or definite leak, in the
# service (checked at its clean stop) or in any jitctl.
#
#   tests/valgrind/run.sh BUILD_DIR      (root; exit 77 without valgrind)
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in valgrind sudo unshare gpasswd runuser; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-valgrind.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/../e2e/lib.sh"
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
not_member() { ! is_member "$@"; }

# jitctl under memcheck, as user $1 (root: -). Its exit code, or 99 when
# memcheck found an error or a definite leak; each of those is also noted
# in $VG/found with the command (command substitutions are subshells).
VG=$W/vg
mkdir -p "$VG" && chmod 1777 "$VG"
MEMCHECK="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
        --show-leak-kinds=definite --child-silent-after-fork=yes --num-callers=30 --log-file=$VG/%p.log"
vg() {
        u=$1; shift
        if [ "$u" = - ]; then
                $MEMCHECK "$BUILD/jitctl" "$@"
        else
                runuser -u "$u" -- $MEMCHECK "$BUILD/jitctl" "$@"
        fi
        rc=$?
        [ $rc = 99 ] && echo "$u: jitctl $*" >>"$VG/found"
        return $rc
}

vg_start_service() {
        $MEMCHECK "$BUILD/jitctl" serve --state-dir "$W/state" --foreground 2>>"$W/service.log" &
        SERVICE_PID=$!
        for _ in $(seq 1 300); do
                grep -q 'jit service ready' "$W/service.log" 2>/dev/null && return 0
                kill -0 "$SERVICE_PID" 2>/dev/null || break
                sleep 0.1
        done
        echo "the jit service did not start under valgrind:" >&2
        cat "$W/service.log" >&2
        return 1
}

trap 'sandbox_stop_service' EXIT
sandbox_setup
sandbox_pam timeout=60s
# e2e/sudo's policy, plus break-glass for carol and notifications of every
# event (the service renders them into its outbox; jit-notify is not run).
python3 - <<'PY'
import json
p = "/etc/jit/jit.conf"
c = json.load(open(p))
c["notify"] = {"targets": {"pager": {"type": "command", "argv": ["/bin/true"]}}}
ops = c["roles"]["ops"]
ops["break_glass"] = {"users": ["carol"], "max_ttl": "10m"}
ops["notify"] = {"targets": ["pager"],
                 "events": ["pending", "granted", "denied", "break-glass", "expired", "review"]}
json.dump(c, open(p, "w"), indent=2)
PY
CAROLPASS=$W/home/carol/.jit-passphrase
echo "carol's own passphrase" >"$CAROLPASS"
chown carol: "$CAROLPASS"; chmod 0600 "$CAROLPASS"
vg_start_service || exit 1

# Keys: bob's, sealed and registered (lib.sh made one without valgrind).
vg bob keygen --force --passphrase-file "$BOBPASS" >/dev/null; rc=$?
check "keygen (exit $rc)" [ $rc = 0 ]
vg - approver add bob "$W/home/bob/.config/jit/approver.pub" >/dev/null; rc=$?
check "approver add (exit $rc)" [ $rc = 0 ]
vg alice approver list >/dev/null; rc=$?
check "approver list (exit $rc)" [ $rc = 0 ]

# request -> pending -> signed approve -> grant.
out=$(vg alice --json request ops --for 10m --reason "deploy 42"); rc=$?
req=$(field 'd["request_id"]' <<<"$out" 2>/dev/null)
check "request: pending (exit $rc = 4), $req" bash -c '[ "$1" = 4 ] && [ -n "$2" ]' _ $rc "$req"
vg bob list >/dev/null; rc=$?
check "list as an approver (exit $rc)" [ $rc = 0 ]
out=$(vg bob show "$req"); rc=$?
check "show the pending request (exit $rc)" bash -c '[ "$1" = 0 ] && grep -q "deploy 42" <<<"$2"' _ $rc "$out"
out=$(vg bob --json approve --passphrase-file "$BOBPASS" "$req" --comment "ticket 42"); rc=$?
grant=$(field 'd["grant"]["id"]' <<<"$out" 2>/dev/null)
check "a signed approve grants (exit $rc), $grant" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$grant"
check "alice is in jit-ops" is_member alice jit-ops
out=$(runuser -u alice -- sudo -n /usr/bin/id -un 2>&1); rc=$?
check "with the grant, alice's sudo runs (exit $rc)" bash -c '[ "$1" = 0 ] && [ "$2" = root ]' _ $rc "$out"
vg alice list --active >/dev/null; rc=$?
check "list --active (exit $rc)" [ $rc = 0 ]
vg alice --json list --all >/dev/null; rc=$?
check "list --all --json (exit $rc)" [ $rc = 0 ]
vg alice show "$grant" >/dev/null; rc=$?
check "show the grant (exit $rc)" [ $rc = 0 ]
vg alice verify "$grant" >/dev/null; rc=$?
check "verify the grant's signed decision (exit $rc)" [ $rc = 0 ]
vg - --socket /nonexistent verify "$W/state/grants/$grant" >/dev/null; rc=$?
check "verify offline from the record file (exit $rc)" [ $rc = 0 ]
vg bob revoke "$grant" >/dev/null; rc=$?
check "revoke (exit $rc)" [ $rc = 0 ]
check "revoke: alice is gone from jit-ops" not_member alice jit-ops

# A 5 s grant: not due for jitctl expire, then ended by the service's loop.
out=$(vg alice --json request ops --for 5s --reason short); req2=$(field 'd["request_id"]' <<<"$out" 2>/dev/null)
out=$(vg bob --json approve --passphrase-file "$BOBPASS" "$req2"); rc=$?
g2=$(field 'd["grant"]["id"]' <<<"$out" 2>/dev/null)
check "a 5 s grant (exit $rc), $g2" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$g2"
vg - expire "$g2" >/dev/null 2>&1; rc=$?
check "expire before it is due is refused (exit $rc = 8)" [ $rc = 8 ]
for _ in $(seq 1 200); do not_member alice jit-ops && break; sleep 0.1; done
check "the service's loop ended the grant at expiry" not_member alice jit-ops
vg - expire "$g2" >/dev/null; rc=$?
check "expire after the end (exit $rc, idempotent)" [ $rc = 0 ]

# A signed denial reaches a waiting jitctl.
out=$(vg alice --json request ops --for 10m --reason "deny me"); req3=$(field 'd["request_id"]' <<<"$out" 2>/dev/null)
vg alice wait "$req3" --timeout 60s >"$W/wait.out" 2>&1 &
wpid=$!
sleep 1
vg bob deny --passphrase-file "$BOBPASS" "$req3" --reason "not during the freeze" >/dev/null; rc=$?
check "a signed deny (exit $rc)" [ $rc = 0 ]
wait $wpid; rc=$?
check "jitctl wait: denied (exit $rc = 3) with the reason" \
        bash -c '[ "$1" = 3 ] && grep -q "not during the freeze" "$2"' _ $rc "$W/wait.out"
out=$(vg alice --json request ops --for 10m --reason "cancel me"); req4=$(field 'd["request_id"]' <<<"$out" 2>/dev/null)
vg alice cancel "$req4" >/dev/null; rc=$?
check "cancel (exit $rc)" [ $rc = 0 ]

# Through the real sudo: a template grant at once; a deny rule; a role
# bob may not request.
runuser -u carol -- sudo -n /usr/bin/journalctl --version >/dev/null 2>&1; rc=$?
check "template: carol's sudo journalctl runs at once (exit $rc)" [ $rc = 0 ]
check "template: carol is in jit-ops" is_member carol jit-ops
out=$(vg carol --json list --active); rc=$?
g3=$(field '[g["id"] for g in d["grants"] if g["user"]=="carol"][0]' <<<"$out" 2>/dev/null)
check "carol lists her template grant (exit $rc), $g3" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$g3"
vg carol done "$g3" >/dev/null; rc=$?
check "done ends it (exit $rc)" bash -c '[ "$1" = 0 ] && ! getent group jit-ops | grep -q carol' _ $rc
runuser -u alice -- sudo -n /usr/bin/bash -c true >/dev/null 2>&1; rc=$?
check "deny rule: alice's sudo bash is refused (exit $rc = 1)" [ $rc = 1 ]
out=$(runuser -u alice -- sudo -n /usr/bin/id -un 2>&1); rc=$?
req8=$(printf '%s\n' "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n1 | awk '{print $3}')
check "sudo -n with no grant: denied at once with a pending request (exit $rc = 1), $req8" \
        bash -c '[ "$1" = 1 ] && [ -n "$2" ]' _ $rc "$req8"
vg alice cancel "$req8" >/dev/null; rc=$?
check "cancel it (exit $rc)" [ $rc = 0 ]
vg bob request ops >/dev/null 2>&1; rc=$?
check "a role bob may not request is denied (exit $rc = 3)" [ $rc = 3 ]

# Break-glass: at once, self-signed; bob reviews it; revoked.
vg carol keygen --passphrase-file "$CAROLPASS" >/dev/null; rc=$?
vg - approver add carol "$W/home/carol/.config/jit/approver.pub" >/dev/null; rc2=$?
check "carol's key (exit $rc, $rc2)" [ $rc$rc2 = 00 ]
out=$(vg carol --json break-glass ops --reason "db down, INC-4712" --for 5m --passphrase-file "$CAROLPASS"); rc=$?
g4=$(field 'd["grant"]["id"]' <<<"$out" 2>/dev/null); req5=$(field 'd["grant"]["request_id"]' <<<"$out" 2>/dev/null)
check "break-glass grants at once (exit $rc), $g4" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$g4"
vg bob review list >/dev/null; rc=$?
check "review list (exit $rc)" [ $rc = 0 ]
vg bob review "$req5" --comment "checked, INC-4712" >/dev/null; rc=$?
check "review (exit $rc)" [ $rc = 0 ]
vg - revoke "$g4" >/dev/null; rc=$?
check "revoke the break-glass grant (exit $rc)" [ $rc = 0 ]

# extend: a fresh decision, pending; withdrawn.
out=$(vg alice --json request ops --for 10m --reason "to extend"); req6=$(field 'd["request_id"]' <<<"$out" 2>/dev/null)
out=$(vg bob --json approve --passphrase-file "$BOBPASS" "$req6"); g6=$(field 'd["grant"]["id"]' <<<"$out" 2>/dev/null)
out=$(vg alice --json extend "$g6" --for 20m --reason "more"); rc=$?
req7=$(field 'd["request_id"]' <<<"$out" 2>/dev/null)
check "extend asks again (exit $rc = 4), $req7" bash -c '[ "$1" = 4 ] && [ -n "$2" ]' _ $rc "$req7"
vg alice cancel "$req7" >/dev/null; rc=$?
check "cancel the extension (exit $rc)" [ $rc = 0 ]
vg alice done "$g6" >/dev/null; rc=$?
check "done (exit $rc)" [ $rc = 0 ]

# Root's and everyone's other verbs.
vg - reconcile >/dev/null; rc=$?
check "reconcile (exit $rc)" [ $rc = 0 ]
vg alice policy check >/dev/null; rc=$?
check "policy check (exit $rc)" [ $rc = 0 ]
vg alice --json policy test --user alice --role ops --command /usr/bin/journalctl >/dev/null; rc=$?
check "policy test (exit $rc, not a memcheck error)" [ $rc != 99 ]
vg alice template list >/dev/null; rc=$?
vg alice template show read-logs >/dev/null; rc2=$?
check "template list, show (exit $rc, $rc2)" [ $rc$rc2 = 00 ]
vg - policy replay --since 1d --state-dir "$W/state" /etc/jit/jit.conf >/dev/null; rc=$?
check "policy replay (exit $rc, not a memcheck error)" [ $rc != 99 ]
vg - audit show --json --file "$W/state/audit.log" >/dev/null; rc=$?
check "audit show (exit $rc)" [ $rc = 0 ]
vg - doctor --state-dir "$W/state" >/dev/null 2>&1; rc=$?
check "doctor (exit $rc, not a memcheck error)" [ $rc != 99 ]

# A clean stop: memcheck's leak check of the service runs now.
kill "$SERVICE_PID"; wait "$SERVICE_PID"; rc=$?
SERVICE_PID=
check "the service stops cleanly with no memcheck error or definite leak (exit $rc)" [ $rc = 0 ]
vg - audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub >/dev/null; rc=$?
check "audit verify (exit $rc)" [ $rc = 0 ]
vg - audit export --file "$W/state/audit.log" >/dev/null; rc=$?
check "audit export (exit $rc)" [ $rc = 0 ]
check "the outbox holds notifications" bash -c 'ls "$1"/outbox | grep -q .' _ "$W/state"

found=$(cat "$VG/found" 2>/dev/null)
check "no jitctl had a memcheck error or a definite leak${found:+: $found}" [ -z "$found" ]
for log in "$VG"/*.log; do
        [ -s "$log" ] || continue
        echo "== $log"
        cat "$log"
        notok "memcheck reported (above): $log"
done
echo "$n checks, $fails failed; $(ls "$VG"/*.log | wc -l) processes under memcheck"
[ $fails = 0 ]
