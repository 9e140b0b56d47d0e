#!/bin/bash
# e2e/fleet: one approval queue for three hosts, on a real 3-member etcd.
#
# Each etcd member and each host (hA, hB, hC) is its own network namespace
# on a private bridge (10.231.0.0/24, inside namespaces only); each host
# also has its own mount, UTS and pid namespaces with the overlay /etc
# sandbox of e2e/sudo, and runs the real service, jit-fleet and sudo with
# pam_jit. TLS everywhere clients meet etcd, client certificates and etcd
# RBAC set up by fleet/jit-fleet-enrol. It proves:
#  1. a sudo on hB held pending is approved from hA (jitctl --fleet approve)
#     and proceeds; the same signed decision replayed onto hC is refused and
#     audited there, and rewritten for hC's own pending request it does not
#     verify; replayed onto hB it is not applied twice;
#  2. a decision forged into the store with etcdctl (no valid signature) is
#     refused and audited; a host cannot write below another host's prefix;
#  3. one etcd member killed: approvals still work; quorum lost: the fleet
#     approval fails clearly, the local approver on hB still works, nothing
#     is granted elsewhere;
#  4. hB partitioned then healed: a decision made meanwhile and a request
#     queued meanwhile both apply, each exactly once;
#  5. the audit heads hB published let jitctl --fleet audit verify catch a
#     log cut or rewritten afterwards, and a head put again in the store;
#  6. jitctl request --hosts label:web on hA: hB and hC (labelled web) each
#     open their part, hA does not; one signed approval over "hB,hC" is
#     applied on both; carried to hA (whose copy of the request was forged
#     to name hA too) it is refused and audited; a non-requester is refused
#     by each host's own policy; asked and approved while hB is partitioned,
#     hB opens its part and applies the approval once when healed; a
#     lying origin fills only its own share of a user's pending requests.
#
# etcd members' certificates carry clientAuth as well as serverAuth: its JSON
# gateway dials the member itself with them.
#
# Usage: tests/e2e/fleet.sh BUILD_DIR   (root; skips with 77 without etcd)
set -u
BUILD=$(cd "${1:?usage: fleet.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
for c in etcd etcdctl openssl ip nsenter unshare; do
        command -v "$c" >/dev/null || { echo "1..0 # SKIP no $c (apt-get install etcd-server etcd-client)"; exit 77; }
done
if [ "${JIT_FLEET_INNER:-}" != 1 ]; then
        exec env JIT_FLEET_INNER=1 unshare -m --propagation private "$0" "$@"
fi

. "$HERE/fleet_lib.sh"
fleet_init
fleet_net e1 e2 e3 hA hB hC
fleet_etcd && ok "a 3-member etcd cluster (TLS, client certificates) with access control on" ||
        { not_ok "etcd cluster and jit-fleet-enrol init"; tail -20 "$R/init.log" "$R/e1.log"; exit 1; }
for x in hA hB hC; do
        fleet_enrol "$x" || { not_ok "jit-fleet-enrol host $x"; cat "$R/enrol.log"; exit 1; }
done
etc role get jit-host-hB >"$R/role.txt" 2>&1
grep -q "/jit/v1/hosts/hB/" "$R/role.txt" && ok "jit-fleet-enrol made a role per host writing its own prefix only" ||
        { not_ok "role of hB"; cat "$R/role.txt"; }

# ---- the hosts ---------------------------------------------------------------
fleet_host hA && fleet_host_ready hA && fleet_host hB && fleet_host hC && fleet_host_ready hB && fleet_host_ready hC ||
        { not_ok "three hosts up"; tail -20 "$R"/h?.out "$R"/h?/service.log; exit 1; }
BOBPASS_A=$R/hA/home/bob/.jit-passphrase
BOBKEY_A=$R/hA/home/bob/.config/jit/approver.key

fleet_sees() { [ -n "$1" ] && on hA runuser -u bob -- "$BUILD/jitctl" --fleet --json list | grep -q "\"$1\""; }
revoke_all() { # host: end every active grant there (so the next sudo asks again)
        for g in $(on "$1" "$BUILD/jitctl" --json list --active | python3 -c '
import json, sys
for g in json.load(sys.stdin).get("grants", []):
        print(g["id"])'); do
                on "$1" "$BUILD/jitctl" revoke "$g" >/dev/null 2>&1
        done
}
said_root() { tr -d '\0\r' < "$1" | grep -q 'root$'; }
pending_id() { # host user: the newest pending request of user there
        on "$1" "$BUILD/jitctl" --json list | python3 -c '
import json, sys
a = json.load(sys.stdin)
rs = [r for r in a.get("requests", []) if r.get("state") == "pending" and r.get("user") == sys.argv[1]]
rs.sort(key=lambda r: r.get("created_us", 0))
print(rs[-1]["id"] if rs else "")' "$2"
}
member() { on "$1" getent group jit-ops | cut -d: -f4 | tr ',' '\n' | grep -qx "$2"; }
audit_has() { # host pattern
        grep -q "$2" "$R/$1/state/audit.log"
}

wait_until 10 sh -c "grep -q 'fleet store answers' '$R/hA/fleet.log' && grep -q 'fleet store answers' '$R/hB/fleet.log' && grep -q 'fleet store answers' '$R/hC/fleet.log'" &&
        ok "each host's jit-fleet reads the store" || { not_ok "jit-fleet reached the store"; tail -5 "$R"/h?/fleet.log; }

# ---- 1. approved from hA, sudo on hB proceeds; replays refused --------------------
on hB runuser -u alice -- script -qefc "sudo /usr/bin/id -un" /dev/null >"$R/sudoB1.out" 2>&1 &
SUDO1=$!
wait_until 10 test -n "$(pending_id hB alice)"
REQ1=$(pending_id hB alice)
[ -n "$REQ1" ] && ok "alice's sudo on hB waits: request $REQ1" || not_ok "a pending request on hB"
wait_until 10 fleet_sees "$REQ1" && ok "hA's approver sees hB's request in jitctl --fleet list" ||
        not_ok "hB's request published"
on hA runuser -u bob -- "$BUILD/jitctl" --fleet list >"$R/list.txt" 2>&1
grep -q "hB .*$REQ1 .*alice .*ops" "$R/list.txt" && ok "the list names host, request, user and role" ||
        { not_ok "fleet list table"; cat "$R/list.txt"; }
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$REQ1" --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "hB applied" && ok "bob approves from hA; hB confirms it applied" ||
        not_ok "fleet approve (exit $rc): $out"
wait "$SUDO1"; rc=$?
[ $rc = 0 ] && said_root "$R/sudoB1.out" && ok "the waiting sudo on hB proceeded as root" ||
        { not_ok "sudo on hB (exit $rc)"; cat "$R/sudoB1.out"; }
member hB alice && ok "alice holds jit-ops on hB" || not_ok "membership on hB"
! member hA alice && ! member hC alice && ok "and on no other host" || not_ok "membership leaked"
audit_has hB "\"event\":\"fleet\".*\"request_id\":\"$REQ1\".*\"decision\":\"applied\"" &&
        ok "hB's audit log: the fleet decision applied, with its origin" || not_ok "fleet event on hB"

DEC=$(etc get "/jit/v1/hosts/hA/decisions/hB/$REQ1/bob" --print-value-only)
[ -n "$DEC" ] && ok "the signed decision is in the store below hA's prefix" || not_ok "decision in store"
# replayed onto hC, same request id (hC has no such request)
etc put "/jit/v1/hosts/hA/decisions/hC/$REQ1/bob" "$DEC" >/dev/null
wait_until 10 audit_has hC "\"event\":\"fleet\".*\"request_id\":\"$REQ1\".*\"decision\":\"refused\"" &&
        ok "the same decision replayed onto hC: refused and audited there" || not_ok "replay onto hC audited"
# rewritten for hC's own pending request: the signature does not hold
on hC runuser -u alice -- "$BUILD/jitctl" request ops --reason "replay target" >/dev/null 2>&1
REQC=$(pending_id hC alice)
forged=$(printf '%s' "$DEC" | sed "s/\"id\":\"$REQ1\"/\"id\":\"$REQC\"/; s/\"host\":\"hB\"/\"host\":\"hC\"/")
etc put "/jit/v1/hosts/hA/decisions/hC/$REQC/bob" "$forged" >/dev/null
wait_until 10 audit_has hC "\"event\":\"fleet\".*\"request_id\":\"$REQC\".*\"decision\":\"refused\"" &&
        ok "the decision rewritten for hC's own request: refused (the signature binds host and request)" ||
        not_ok "rewritten replay refused"
[ "$(pending_id hC alice)" = "$REQC" ] && ! member hC alice && ok "hC's request still pending, nothing granted" ||
        not_ok "hC state after replay"
# replayed onto hB again (a new revision of the same key): not applied twice
etc put "/jit/v1/hosts/hA/decisions/hB/$REQ1/bob" "$DEC" >/dev/null
wait_until 10 sh -c "[ \$(grep -c '\"event\":\"fleet\".*\"request_id\":\"$REQ1\"' '$R/hB/state/audit.log') -ge 2 ]"
cnt=$(grep -c "\"event\":\"grant\".*\"request_id\":\"$REQ1\"" "$R/hB/state/audit.log")
[ "$cnt" = 1 ] && ok "replayed onto hB: refused, one grant only" || not_ok "grants for $REQ1: $cnt"

# ---- 2. forged decisions; RBAC -----------------------------------------------------
revoke_all hB
on hB runuser -u alice -- "$BUILD/jitctl" request ops --reason "forge target" >/dev/null 2>&1
REQF=$(pending_id hB alice)
sig=$(printf '%0128d' 0 | tr 0 a)
etc put "/jit/v1/hosts/hA/decisions/hB/$REQF/bob" \
        "{\"v\":1,\"host\":\"hB\",\"id\":\"$REQF\",\"approver\":\"bob\",\"decision\":\"approve\",\"ttl\":600,\"time_us\":$(date +%s)000000,\"nonce\":\"$(printf '%032d' 7)\",\"signature\":\"$sig\"}" >/dev/null
etc put "/jit/v1/hosts/hC/decisions/hB/$REQF/carol" "not json at all" >/dev/null
wait_until 10 sh -c "[ \$(grep -c '\"event\":\"fleet\".*\"request_id\":\"$REQF\".*\"decision\":\"refused\"' '$R/hB/state/audit.log') -ge 2 ]" &&
        ok "a decision forged with etcdctl (bad signature) and a malformed one: refused and audited" ||
        not_ok "forged decisions audited"
[ "$(pending_id hB alice)" = "$REQF" ] && ok "the forged-for request stays pending" || not_ok "forged request state"
grep -q "refused" "$R/hB/fleet.log" && ok "jit-fleet logs the refusal" || not_ok "fleet log"
out=$(ip netns exec jf-hC env ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --cacert "$P/ca.pem" \
        --cert "$E/hC/client.pem" --key "$E/hC/client.key" --user "jit-host-hC:$(cat "$E/hC/password")" \
        put "/jit/v1/hosts/hA/decisions/hB/$REQF/bob" x 2>&1)
echo "$out" | grep -q "permission denied" && ok "hC's credentials cannot write below hA's prefix (etcd RBAC)" ||
        not_ok "RBAC: $out"
on hB "$BUILD/jitctl" cancel "$REQF" >/dev/null 2>&1 || on hB runuser -u alice -- "$BUILD/jitctl" cancel "$REQF" >/dev/null 2>&1

# a denial from hA, with the reason the requester reads on hB
on hB runuser -u alice -- "$BUILD/jitctl" request ops --reason "to be denied" >/dev/null 2>&1
REQD=$(pending_id hB alice)
wait_until 15 fleet_sees "$REQD"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet deny "$REQD" --reason "not during the freeze" --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
st=$(on hB "$BUILD/jitctl" --json show "$REQD" | python3 -c 'import json,sys; r=json.load(sys.stdin)["request"]; print(r["state"], r.get("comment",""))')
[ $rc = 0 ] && [ "$st" = "denied not during the freeze" ] && ok "denied from hA: hB's request denied, with the approver's reason" ||
        not_ok "fleet deny (exit $rc, state $st): $out"

# several requests in one approve (one named twice): one unlock, one store transaction, each applied once
on hB runuser -u carol -- "$BUILD/jitctl" request ops --reason "batch one" >/dev/null 2>&1
on hC runuser -u carol -- "$BUILD/jitctl" request ops --reason "batch two" >/dev/null 2>&1
RB1=$(pending_id hB carol) RB2=$(pending_id hC carol)
wait_until 15 fleet_sees "$RB1"; wait_until 15 fleet_sees "$RB2"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "hB/$RB1" "$RB2" "$RB1" --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
modrev() { etc get "$1" -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])'; }
m1=$(modrev "/jit/v1/hosts/hA/decisions/hB/$RB1/bob") m2=$(modrev "/jit/v1/hosts/hA/decisions/hC/$RB2/bob")
g1=$(grep -c "\"event\":\"grant\".*\"request_id\":\"$RB1\"" "$R/hB/state/audit.log")
g2=$(grep -c "\"event\":\"grant\".*\"request_id\":\"$RB2\"" "$R/hC/state/audit.log")
[ $rc = 0 ] && [ "$(echo "$out" | grep -c '^Signed')" = 2 ] && echo "$out" | grep -q "hB applied" &&
        echo "$out" | grep -q "hC applied" && [ "$g1" = 1 ] && [ "$g2" = 1 ] && [ -n "$m1" ] && [ "$m1" = "$m2" ] &&
        ok "one approve of $RB1 (named twice) and $RB2: both written together, each applied once on its host" ||
        not_ok "approve of several (exit $rc, grants $g1 $g2, revisions $m1 $m2): $out"
revoke_all hB; revoke_all hC

# ---- 6. one request for several hosts, one signature over the explicit host list -------------
revoke_all hB; revoke_all hC
out=$(on hA runuser -u alice -- "$BUILD/jitctl" request ops --hosts label:web --for 10m --reason "deploy web" 2>&1); rc=$?
MID=$(echo "$out" | grep -o 'm-[a-z0-9]\{10\}' | head -1)
[ $rc = 4 ] && [ -n "$MID" ] && echo "$out" | grep -q "on 2 hosts: hB hC" &&
        echo "$out" | grep -q "hB .*pending as r-" && echo "$out" | grep -q "hC .*pending as r-" &&
        ok "alice on hA asks for ops on label:web: $MID names hB and hC, each pending there" ||
        not_ok "request --hosts (exit $rc): $out"
on hA "$BUILD/jitctl" --json list | grep -q "$MID" && not_ok "hA (not labelled web) opened $MID" ||
        ok "hA, outside the list, opened nothing"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet show "hC/$MID" 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "^fleet id *$MID" && echo "$out" | grep -q "^hosts *hB,hC" &&
        echo "$out" | grep -q "^asked on *hA" && ok "jitctl --fleet show hC/$MID: the fleet id, where it was asked, the list one approval signs" ||
        not_ok "fleet show hC/$MID (exit $rc): $out"
on hA runuser -u bob -- "$BUILD/jitctl" --fleet list >"$R/list6.txt" 2>&1
[ "$(grep -c "$MID .*alice .*ops" "$R/list6.txt")" = 2 ] && ok "the fleet list shows $MID once per host" ||
        { not_ok "fleet list of $MID"; cat "$R/list6.txt"; }
# alice's sudo on hC, already waiting on a request of its own, goes on once the approval lands
on hC runuser -u alice -- script -qefc "sudo /usr/bin/id -un" /dev/null >"$R/sudoC6.out" 2>&1 &
SUDO6=$!
sudo_waits() { grep -q "still waiting" "$R/sudoC6.out"; }
wait_until 10 sudo_waits
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$MID" --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
[ $rc = 0 ] && [ "$(echo "$out" | grep -c '^Signed')" = 1 ] && echo "$out" | grep -q "hB applied" &&
        echo "$out" | grep -q "hC applied" && ok "one signed approval of $MID from hA: hB and hC both applied it" ||
        not_ok "fleet approve $MID (exit $rc): $out"
member hB alice && member hC alice && ! member hA alice && ok "alice holds jit-ops on hB and hC, not on hA" ||
        not_ok "memberships after $MID"
wait "$SUDO6"; rc=$?
[ $rc = 0 ] && said_root "$R/sudoC6.out" && grep -q "active until .*request r-" "$R/sudoC6.out" &&
        ok "alice's sudo on hC, waiting on a request of its own, went on under the grant" ||
        { not_ok "sudo on hC after $MID (exit $rc)"; cat "$R/sudoC6.out"; }
canon=$(on hB "$BUILD/jitctl" --json list --all | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("requests", []):
        if r.get("fleet_id") == sys.argv[1]:
                print(r.get("signed_decision", {}).get("canonical", "").replace("\n", "|"))' "$MID")
echo "$canon" | grep -q "request=$MID|.*host=hB,hC|.*group=\*|ttl=600|" &&
        ok "the signature hB keeps names $MID and the explicit list hB,hC" || not_ok "canonical on hB: $canon"
# the same signature, carried to hA with a request MID forged to name hA too: refused
DEC6=$(etc get "/jit/v1/hosts/hA/decisions/hB/$MID/bob" --print-value-only)
MULTI=$(etc get "/jit/v1/hosts/hA/multi/$MID" --print-value-only)
etc put "/jit/v1/hosts/hA/multi/$MID" "$(printf '%s' "$MULTI" | sed 's/"hosts":\["hB","hC"\]/"hosts":["hA","hB","hC"]/')" >/dev/null
opened_on_hA() { on hA "$BUILD/jitctl" --json list | grep -q "$MID"; }
wait_until 10 opened_on_hA && ok "a request record rewritten in the store to name hA too: hA opens its own part, pending" ||
        { not_ok "hA did not open the rewritten $MID"; tail -5 "$R/hA/fleet.log"; on hA "$BUILD/jitctl" --json list | head -c 600; }
etc put "/jit/v1/hosts/hA/decisions/hA/$MID/bob" "$(printf '%s' "$DEC6" | sed 's/"host":"hB"/"host":"hA"/')" >/dev/null
wait_until 10 sh -c "grep '\"event\":\"fleet\"' '$R/hA/state/audit.log' | grep -q '\"decision\":\"refused\"'"
! member hA alice && grep '"event":"fleet"' "$R/hA/state/audit.log" | grep -q '"decision":"refused"' &&
        ok "the signature over hB,hC carried to hA (its request forged to name hA): refused and audited, nothing granted" ||
        { not_ok "replay of $MID onto hA"; grep fleet "$R/hA/state/audit.log" | tail -3; }
out=$(on hA runuser -u bob -- "$BUILD/jitctl" request ops --hosts 'h*' 2>&1); rc=$?
[ $rc = 3 ] && [ "$(echo "$out" | grep -c 'refused: ')" = 3 ] &&
        ok "bob (no requester of ops anywhere) asks for h*: each of the three hosts refuses it by its own policy (exit 3)" ||
        not_ok "request --hosts by a non-requester (exit $rc): $out"
out=$(on hA runuser -u alice -- "$BUILD/jitctl" request ops --hosts 'nohost-*' 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "no enrolled host matches" && ok "a pattern matching no host: refused, with why" ||
        not_ok "request --hosts nohost-* (exit $rc): $out"
# jitctl verify on hB: the signature over the fleet id and the list holds for hB's part and its grant
part=$(on hB "$BUILD/jitctl" --json list --all | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("requests", []):
        if r.get("fleet_id") == sys.argv[1]: print(r["id"], r.get("grant_id", ""))' "$MID")
set -- $part
out=$(on hB "$BUILD/jitctl" verify "${1:-none}" 2>&1 && on hB "$BUILD/jitctl" verify "${2:-none}" 2>&1); rc=$?
[ $rc = 0 ] && [ "$(echo "$out" | grep -c 'signed decision holds')" = 2 ] &&
        ok "jitctl verify on hB: the one signature holds for its part of $MID and for the grant" ||
        not_ok "jitctl verify of $MID's part on hB (exit $rc): $out"
# an old fleet id written again (its signatures are in the store): asked too long ago, not opened
OLD=m-$(printf '%s' "$MID" | cut -c3-11)z
old_us=$(( ($(date +%s) - 7200) * 1000000 ))
etc put "/jit/v1/hosts/hA/multi/$OLD" "{\"v\":1,\"id\":\"$OLD\",\"origin\":\"hA\",\"user\":\"alice\",\"role\":\"ops\",\"ttl\":600,\"hosts\":[\"hB\"],\"asked_us\":$old_us}" >/dev/null
opened_old() { etc get "/jit/v1/hosts/hB/opened/hA/$OLD" --print-value-only | grep -q refused; }
wait_until 10 opened_old && etc get "/jit/v1/hosts/hB/opened/hA/$OLD" --print-value-only | grep -q "too long ago" &&
        ok "a request for several hosts asked two hours ago (an old id written again): hB refuses to open it" ||
        not_ok "old fleet request: $(etc get "/jit/v1/hosts/hB/opened/hA/$OLD" --print-value-only)"
# a lying origin host (hZ, its key below its own prefix) asks in carol's name
# 17 times on hC: it fills its own share of carol's pending requests there,
# never her local one
now_us=$(( $(date +%s) * 1000000 ))
for i in $(seq 10 26); do
        etc put "/jit/v1/hosts/hZ/multi/m-zzzzzzzz$i" "{\"v\":1,\"id\":\"m-zzzzzzzz$i\",\"origin\":\"hZ\",\"user\":\"carol\",\"role\":\"ops\",\"ttl\":600,\"hosts\":[\"hC\"],\"asked_us\":$now_us}" >/dev/null
done
opened_hz() { [ "$(etc get /jit/v1/hosts/hC/opened/hZ/ --prefix --print-value-only | grep -c '"rev"')" = 17 ]; }
wait_until 20 opened_hz
npend=$(etc get /jit/v1/hosts/hC/opened/hZ/ --prefix --print-value-only | grep -c '"outcome":"pending"')
nfull=$(etc get /jit/v1/hosts/hC/opened/hZ/ --prefix --print-value-only | grep -c "too many requests asked from that host")
[ "$npend" = 16 ] && [ "$nfull" = 1 ] &&
        ok "17 requests in carol's name from a lying origin hZ: hC opens 16, refuses the 17th (too many from that host)" ||
        { not_ok "forged requests from hZ on hC: $npend pending, $nfull refused"; etc get /jit/v1/hosts/hC/opened/hZ/ --prefix --print-value-only | tail -2; }
out=$(on hC runuser -u carol -- "$BUILD/jitctl" request ops --reason "her own, on hC" 2>&1); rc=$?
REQZ=$(pending_id hC carol)
on hC "$BUILD/jitctl" --json show "$REQZ" 2>/dev/null | grep -q '"origin"' && REQZ=
[ -n "$REQZ" ] && ok "carol's own request on hC is still taken: $REQZ pending" ||
        not_ok "carol's local request on hC after hZ's (exit $rc): $out"
[ -n "$REQZ" ] && on hC runuser -u carol -- "$BUILD/jitctl" cancel "$REQZ" >/dev/null 2>&1

# ---- 3. a member down; quorum lost ------------------------------------------------------
revoke_all hB
kill "$(cat "$R/e1.epid")"; wait "$(cat "$R/e1.epid")" 2>/dev/null
on hB runuser -u alice -- script -qefc "sudo /usr/bin/id -un" /dev/null >"$R/sudoB3.out" 2>&1 &
SUDO3=$!
wait_until 10 test -n "$(pending_id hB alice)"
REQ3=$(pending_id hB alice)
wait_until 15 fleet_sees "$REQ3"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$REQ3" --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
wait "$SUDO3"; rc2=$?
[ $rc = 0 ] && [ $rc2 = 0 ] && ok "one etcd member killed: approved from hA, hB's sudo proceeded" ||
        { not_ok "approval with a member down (approve $rc, sudo $rc2): $out"; tail -3 "$R/hB/fleet.log"; }
kill "$(cat "$R/e2.epid")"; wait "$(cat "$R/e2.epid")" 2>/dev/null
on hB runuser -u carol -- script -qefc "sudo /usr/bin/id -un" /dev/null >"$R/sudoB4.out" 2>&1 &
SUDO4=$!
wait_until 10 test -n "$(pending_id hB carol)"
REQ4=$(pending_id hB carol)
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$REQ4" --passphrase-file "$BOBPASS_A" --timeout 3 2>&1); rc=$?
[ $rc != 0 ] && ok "quorum lost: the fleet approval fails (exit $rc) with a reason" || not_ok "fleet approve without quorum: $out"
! member hB carol && ok "... and grants nothing" || not_ok "carol granted without a decision"
out=$(on hB runuser -u bob -- "$BUILD/jitctl" approve "$REQ4" --passphrase-file "$BOBPASS_A" --key "$BOBKEY_A" 2>&1); rc=$?
wait "$SUDO4"; rc2=$?
[ $rc = 0 ] && [ $rc2 = 0 ] && said_root "$R/sudoB4.out" && ok "the local approver on hB still decides: carol's sudo proceeded" ||
        { not_ok "local approval without quorum (approve $rc, sudo $rc2): $out"; cat "$R/sudoB4.out"; }
! member hA carol && ! member hC carol && ok "no grant anywhere else" || not_ok "wrong grant elsewhere"
fleet_member e1 existing; fleet_member e2 existing
wait_until 20 etc endpoint health --cluster && ok "the members restarted: quorum back" || not_ok "quorum back"

# ---- 4. hB partitioned, then healed ---------------------------------------------------------
revoke_all hB
wait_until 10 sh -c "tail -3 '$R/hB/fleet.log' | grep -q 'answers'" || :
on hB runuser -u alice -- "$BUILD/jitctl" request ops --reason "before the partition" >/dev/null 2>&1
REQ5=$(pending_id hB alice)
wait_until 15 fleet_sees "$REQ5" && ok "request $REQ5 published before the partition" || not_ok "REQ5 published"
ip -n jf-hB link set eth0 down
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$REQ5" --passphrase-file "$BOBPASS_A" --timeout 3 2>&1); rc=$?
[ $rc = 4 ] && echo "$out" | grep -q "not confirmed" && ok "approved from hA while hB is cut off: written, not yet confirmed (exit 4)" ||
        not_ok "approve during partition (exit $rc): $out"
on hB runuser -u carol -- "$BUILD/jitctl" request ops --reason "during the partition" >/dev/null 2>&1
REQ6=$(pending_id hB carol)
[ -n "$REQ6" ] && ! member hB alice && ok "hB queues carol's request $REQ6 meanwhile; alice not granted yet" ||
        not_ok "partitioned hB state"
# a request for hB and hC asked and approved while hB is away
out=$(on hA runuser -u carol -- "$BUILD/jitctl" request ops --hosts 'hB,hC' --for 5m --reason "while hB is away" 2>&1); rc=$?
MIDP=$(echo "$out" | grep -o 'm-[a-z0-9]\{10\}' | head -1)
[ $rc = 4 ] && echo "$out" | grep -q "hC .*pending as" && echo "$out" | grep -q "hB .*not heard from" &&
        ok "carol asks for hB,hC while hB is cut off: $MIDP pending on hC, hB not heard from" ||
        not_ok "request --hosts during the partition (exit $rc): $out"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$MIDP" --passphrase-file "$BOBPASS_A" --timeout 3 2>&1); rc=$?
[ $rc = 4 ] && echo "$out" | grep -q "hC applied" && echo "$out" | grep -q "hB has not confirmed" &&
        ok "approved once: hC applied it, hB's copy waits in the store" || not_ok "approve $MIDP during the partition (exit $rc): $out"
ip -n jf-hB link set eth0 up
wait_until 20 member hB alice && ok "healed: hB applied the decision made during the partition" ||
        { not_ok "decision after heal"; tail -5 "$R/hB/fleet.log"; }
wait_until 20 fleet_sees "$REQ6" && ok "healed: the request queued meanwhile is published" || not_ok "REQ6 republished"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$REQ6" --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
[ $rc = 0 ] && member hB carol && ok "and approved from hA, applied on hB" || not_ok "REQ6 approval (exit $rc): $out"
n5=$(grep -c "\"event\":\"grant\".*\"request_id\":\"$REQ5\"" "$R/hB/state/audit.log")
n6=$(grep -c "\"event\":\"grant\".*\"request_id\":\"$REQ6\"" "$R/hB/state/audit.log")
[ "$n5" = 1 ] && [ "$n6" = 1 ] && ok "each applied exactly once (one grant each)" || not_ok "grants: $n5 and $n6"
part_of() { # host fleet-id: "ID STATE" of that host's part
        on "$1" "$BUILD/jitctl" --json list --all | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("requests", []):
        if r.get("fleet_id") == sys.argv[1]:
                print(r["id"], r["state"])' "$2"
}
part_approved() { [ "$(part_of hB "$MIDP" | cut -d' ' -f2)" = approved ]; }
wait_until 20 part_approved
set -- $(part_of hB "$MIDP")
np=$(grep -c "\"event\":\"grant\".*\"request_id\":\"${1:-none}\"" "$R/hB/state/audit.log")
[ "${2:-}" = approved ] && [ "$np" = 1 ] &&
        ok "healed: hB opened its part of $MIDP and applied the approval made meanwhile, once" ||
        { not_ok "hB's part of $MIDP after the heal: ${1:-none} ${2:-} ($np grants)"; tail -5 "$R/hB/fleet.log"; }

# ---- an approver's machine: jit-fleet with no jit service behind it ----------------------------
revoke_all hB
on hC pkill -f "jitctl serve" >/dev/null 2>&1
on hB runuser -u alice -- "$BUILD/jitctl" request ops --reason "approved from a workstation" >/dev/null 2>&1
REQW=$(pending_id hB alice)
wait_until 15 fleet_sees "$REQW"
out=$(on hC runuser -u bob -- "$BUILD/jitctl" --fleet approve "hB/$REQW" --passphrase-file "$BOBPASS_A" --key "$BOBKEY_A" 2>&1); rc=$?
[ $rc = 0 ] && member hB alice && ok "approved from hC with no jit service running there (an approver's machine): applied on hB" ||
        not_ok "approve from a host without a service (exit $rc): $out"

# ---- an approver's own machine: jit-fleet --approver run by bob himself, as "ws-bob" ------------
WS=$R/hA/home/bob/ws
ip netns exec jf-hA "$SRC/fleet/jit-fleet-enrol" host ws-bob --approver --files "$WS" --endpoints "$ENDPOINTS" \
        --ca-cert "$P/ca.pem" --ca-key "$P/ca.key" --root-password-file "$R/rootpw" --out "$E" >>"$R/enrol.log" 2>&1 ||
        not_ok "jit-fleet-enrol host ws-bob --approver"
mkdir -p "$WS"
cp "$E/ws-bob/ca.pem" "$E/ws-bob/client.pem" "$E/ws-bob/client.key" "$E/ws-bob/password" "$E/ws-bob/fleet.conf" "$WS/"
on hA chown -R bob: "$WS"; chmod 0700 "$WS"; chmod 0600 "$WS"/*
cp "$WS/fleet.conf" "$WS/root.conf"; chmod 0644 "$WS/root.conf"
out=$(on hA runuser -u bob -- "$BUILD/jit-fleet" --config "$WS/root.conf" --fleet-socket "$WS/x.sock" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "wrong owner or mode" && ok "bob's jit-fleet refuses a configuration that is not his" ||
        not_ok "jit-fleet --approver on root's file (exit $rc): $out"
on hA runuser -u bob -- "$BUILD/jit-fleet" --config "$WS/fleet.conf" --fleet-socket "$WS/fleet.sock" 2>"$R/ws.log" &
wait_until 10 grep -q 'fleet store answers' "$R/ws.log" && grep -q "approver's machine ws-bob" "$R/ws.log" &&
        ok "bob runs jit-fleet as himself (no root, no jit service), named ws-bob" || { not_ok "bob's jit-fleet"; cat "$R/ws.log"; }
revoke_all hB
on hB runuser -u alice -- "$BUILD/jitctl" request ops --reason "approved from bob's machine" >/dev/null 2>&1
REQWS=$(pending_id hB alice)
ws_sees() { on hA runuser -u bob -- "$BUILD/jitctl" --fleet-socket "$WS/fleet.sock" --fleet --json list | grep -q "$REQWS"; }
wait_until 15 ws_sees
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet-socket "$WS/fleet.sock" --fleet approve "hB/$REQWS" \
        --passphrase-file "$BOBPASS_A" 2>&1); rc=$?
[ $rc = 0 ] && member hB alice && [ -n "$(etc get "/jit/v1/hosts/ws-bob/decisions/hB/$REQWS/bob" --print-value-only)" ] &&
        ok "approved through bob's own jit-fleet: written below ws-bob's prefix, applied on hB" ||
        not_ok "approve through jit-fleet --approver (exit $rc): $out"
[ -z "$(etc get /jit/v1/hosts/ws-bob/ --prefix --keys-only | grep -v decisions)" ] &&
        ok "bob's machine publishes nothing else (no requests, heads or info: no request can name it)" ||
        not_ok "ws-bob published: $(etc get /jit/v1/hosts/ws-bob/ --prefix --keys-only)"
out=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet-socket "$WS/fleet.sock" request ops --hosts 'h*' 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "asks for nothing" && ok "an approver's machine asks for nothing (jitctl request --hosts refused)" ||
        not_ok "request --hosts through jit-fleet --approver (exit $rc): $out"
out=$(ip netns exec jf-hA env ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --cacert "$P/ca.pem" \
        --cert "$WS/client.pem" --key "$WS/client.key" --user "jit-host-ws-bob:$(cat "$WS/password")" \
        put "/jit/v1/hosts/ws-bob/multi/m-0000000000" x 2>&1)
echo "$out" | grep -q "permission denied" &&
        ok "its credentials write decisions only: a request record below its prefix is refused (etcd RBAC)" ||
        not_ok "ws-bob RBAC: $out"

# ---- a queue larger than one answer: jitctl asks jit-fleet for what it needs ---------------------
# put_requests FIRST LAST PAD: requests r-zzzzzzzNNN of dave below hZ, each
# with a reason of PAD bytes, straight to etcd's JSON gateway (one TLS
# connection, as root)
put_requests() {
        ip netns exec jf-hA python3 - "$1" "$2" "$3" "${ENDPOINTS%%,*}" "$P/ca.pem" "$E/admin/client.pem" \
                "$E/admin/client.key" "$R/rootpw" <<'PY'
import base64, http.client, json, ssl, sys, urllib.parse
first, last, pad, ep, ca, cert, key, pwfile = sys.argv[1:]
u = urllib.parse.urlparse(ep)
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
def post(path, body, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = token
    c.request("POST", "/v3/" + path, json.dumps(body), h)
    return json.loads(c.getresponse().read())
token = post("auth/authenticate", {"name": "root", "password": open(pwfile).read().strip()})["token"]
b64 = lambda t: base64.b64encode(t.encode()).decode()
for i in range(int(first), int(last) + 1):
    rid = "r-zzzzzzz%03d" % i
    v = {"id": rid, "state": "pending", "user": "dave", "role": "ops", "reason": "x" * int(pad), "approvers": ["bob"]}
    a = post("kv/put", {"key": b64("/jit/v1/hosts/hZ/requests/" + rid), "value": b64(json.dumps(v))}, token)
    assert "header" in a, a
PY
}
# 300 requests of 59 KB: 17.7 MB, 23.6 MB as etcd answers it (base64),
# more than one read of the store may hold
put_requests 100 399 59000 || not_ok "putting 300 requests of 59 KB in the store"
big_seen() { on hA "$BUILD/jitctl" --fleet --json show "hZ/r-zzzzzzz$1" 2>/dev/null | grep -q "r-zzzzzzz$1"; }
wait_until 30 big_seen 399 && ok "300 requests of 59 KB in the store (17.7 MB): jitctl --fleet show hZ/r-zzzzzzz399 still finds one" ||
        not_ok "show in a 17.7 MB queue: $(on hA "$BUILD/jitctl" --fleet show hZ/r-zzzzzzz399 2>&1 | tail -1)"
out=$(on hA "$BUILD/jitctl" --fleet list 2>&1 >/dev/null); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "more pending requests are not shown" &&
        ok "jitctl --fleet list: what fits, and how many it left out ($(echo "$out" | grep -o '[0-9]* more'))" ||
        not_ok "fleet list of a 17.7 MB queue (exit $rc): $out"
out=$(on hA "$BUILD/jitctl" --fleet list --host hB 2>&1 >/dev/null); rc=$?
[ $rc = 0 ] && [ -z "$out" ] && ok "narrowed with --host hB: whole, nothing left out" || not_ok "fleet list --host hB (exit $rc): $out"
# jit-fleet started again reads the store in pages: all of it
on hA pkill -x jit-fleet
fleet_gone() { ! on hA pgrep -x jit-fleet >/dev/null; }
wait_until 10 fleet_gone
on hA sh -c "exec '$BUILD/jit-fleet' 2>>'$R/hA/fleet.log'" &
nkeys=$(etc get /jit/v1/hosts/ --prefix --keys-only | grep -c /)
wait_until 30 big_seen 399 && big_seen 100 && big_seen 250 &&
        on hA "$BUILD/jitctl" --fleet --json list --user dave | python3 -c '
import json, sys
a = json.load(sys.stdin)
ids = [r["id"] for r in a["requests"]]
sys.exit(not (len(ids) == len(set(ids)) and len(ids) + a.get("left_out", {}).get("requests", 0) == 300))' &&
        ok "hA's jit-fleet restarted reads all $nkeys keys of the store again (17.7 MB, in pages): dave's 300 requests, each once" ||
        { not_ok "jit-fleet restarted over a 17.7 MB store"; tail -3 "$R/hA/fleet.log"; }
etc del --prefix /jit/v1/hosts/hZ/requests/ >/dev/null

# ---- 5. audit heads ------------------------------------------------------------------------------
heads_there() { etc get --prefix /jit/v1/heads/hB/ --keys-only | grep -q heads; }
wait_until 10 heads_there
out=$(on hB "$BUILD/jitctl" --fleet audit verify --file "$R/hB/state/audit.log" 2>&1); rc=$?
[ $rc = 0 ] && ok "hB's audit log agrees with the heads it published: $out" || not_ok "fleet audit verify (exit $rc): $out"
last=$(etc get --prefix /jit/v1/heads/hB/ --print-value-only | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
cp "$R/hB/state/audit.log" "$R/audit.rewritten"
# a rewrite: the line the last head names, its content and stored hash changed
python3 - "$R/audit.rewritten" "$last" <<'PY'
import sys
p, seq = sys.argv[1], int(sys.argv[2])
lines = open(p).read().split("\n")
l = lines[seq - 1]
lines[seq - 1] = l.replace('"event":"', '"event":"x', 1)[:-66] + '"hash":"' + "0" * 64 + '"}'
open(p, "w").write("\n".join(lines))
PY
out=$(on hB "$BUILD/jitctl" --fleet audit verify --file "$R/audit.rewritten" 2>&1); rc=$?
[ $rc = 10 ] && echo "$out" | grep -q rewritten && ok "a log rewritten after a head was published: caught (exit 10)" ||
        not_ok "rewritten log (exit $rc): $out"
# a head put again in the store (same text even): the store says it was written twice
hk=$(etc get --prefix /jit/v1/heads/hB/ --keys-only | grep heads | head -1)
etc put "$hk" "$(etc get "$hk" --print-value-only)" >/dev/null
out=$(on hB "$BUILD/jitctl" --fleet audit verify --file "$R/hB/state/audit.log" 2>&1); rc=$?
[ $rc = 10 ] && echo "$out" | grep -q "written 2 times" && ok "a head rewritten in the store (written twice): caught (exit 10)" ||
        not_ok "head rewritten in the store (exit $rc): $out"
# an older head deleted and put back (version 1 again): created after a newer one
hk2=$(etc get --prefix /jit/v1/heads/hB/ --keys-only | grep heads | sed -n 2p)
hv2=$(etc get "$hk2" --print-value-only)
etc del "$hk2" >/dev/null; etc put "$hk2" "$hv2" >/dev/null
out=$(on hB "$BUILD/jitctl" --fleet audit verify --file "$R/hB/state/audit.log" 2>&1); rc=$?
[ $rc = 10 ] && echo "$out" | grep -q "deleted and written again" &&
        ok "a head deleted and written again in the store: caught (exit 10)" ||
        not_ok "head recreated in the store (exit $rc): $out"
head -n $((last - 1)) "$R/hB/state/audit.log" > "$R/audit.cut"
out=$(on hB "$BUILD/jitctl" --fleet audit verify --file "$R/audit.cut" 2>&1); rc=$?
[ $rc = 10 ] && echo "$out" | grep -q cut && ok "a log cut back: caught (exit 10)" || not_ok "cut log (exit $rc): $out"

for h in hA hB hC; do
        grep -qi "sanitizer\|segfault" "$R/$h/fleet.log" "$R/$h/service.log" && not_ok "$h: a crash in the logs"
done
echo "1..$n"
[ "$failed" = 0 ]
