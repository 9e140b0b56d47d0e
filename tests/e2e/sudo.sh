#!/bin/bash
# End-to-end with real sudo: pam_jit in /etc/pam.d/sudo, the real service
# (jitctl serve) in the foreground, real gpasswd on a private overlay of
# /etc, inside a private mount + PID namespace. Nothing outside changes.
#
#   tests/e2e/sudo.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: sudo.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare script gpasswd grpck; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-sudo.XXXXXX)
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
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
ms() { date +%s%3N; }
not_member() { ! is_member "$@"; }

trap 'sandbox_stop_service' EXIT
sandbox_setup
sandbox_pam wait=60s
sandbox_start_service || exit 1

# 1. A template pre-approves carol's journalctl: granted at once, even under sudo -n.
out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "template: carol's sudo journalctl runs at once" [ $rc = 0 ]
check "template: carol is in jit-ops in /etc/group" is_member carol jit-ops
check "template: carol is in jit-ops in /etc/gshadow" grep -q '^jit-ops:.*:.*carol' /etc/gshadow

# 1b. sudo -i runs through its own PAM stack (sudo-i): gated as well.
out=$(as alice sudo -n -i /usr/bin/id -un 2>&1); rc=$?
check "sudo -i without a grant: refused (rc=$rc), not root" bash -c '[ "$1" != 0 ] && ! grep -qx root <<<"$2"' _ $rc "$out"
as alice "$JITCTL" --json list 2>/dev/null | python3 -c 'import json,sys; [print(r["id"]) for r in json.load(sys.stdin)["requests"] if r["user"]=="alice"]' | while read -r id; do as alice "$JITCTL" cancel "$id" >/dev/null 2>&1; done

# 2. sudo -n never hangs: alice's request escalates, she is denied with the id.
t0=$(ms)
out=$(timeout 30 runuser -u alice -- sudo -n /usr/bin/id -un 2>&1); rc=$?
t1=$(ms)
check "sudo -n: denied (rc=$rc) instead of waiting" [ $rc = 1 ]
check "sudo -n: returned in $((t1-t0)) ms, not at a timeout" [ $((t1-t0)) -lt 10000 ]
req=$(printf '%s\n' "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n1 | awk '{print $3}')
check "sudo -n: the message names the request ($req) and jitctl wait" [ -n "$req" ]
check "sudo -n: the message says who can approve" grep -q 'members of sre' <<<"$out"
check "sudo -n: alice is not in jit-ops" not_member alice jit-ops

# 3. Approvers: not alice herself, not carol (not an approver).
as alice "$JITCTL" approve "$req" >/dev/null 2>&1; rc=$?
check "self-approval is refused (exit $rc = 5)" [ $rc = 5 ]
as carol "$JITCTL" approve "$req" >/dev/null 2>&1; rc=$?
check "approval by a non-approver is refused (exit $rc = 5)" [ $rc = 5 ]
out=$(as bob "$JITCTL" show "$req"); rc=$?
check "bob sees the request: command, reasons" bash -c 'grep -q "Command: *\/usr\/bin\/id -un" <<<"$1" && grep -q "Why:" <<<"$1"' _ "$out"
out=$(as carol "$JITCTL" list)
check "carol (not an approver) does not see alice's request" bash -c '! grep -q "$1" <<<"$2"' _ "$req" "$out"

# 4. alice waits in an interactive sudo; bob approves; her command runs.
as_user_tty alice "sudo /usr/bin/id -un" >"$W/alice.out" 2>&1 &
spid=$!
for _ in $(seq 1 100); do grep -q 'needs approval' "$W/alice.out" 2>/dev/null && break; sleep 0.05; done
check "interactive sudo: alice is told the request is pending" grep -q "request $req (already pending)" "$W/alice.out"
t0=$(ms)
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req" --comment "ticket 42" >/dev/null; rc=$?
wait $spid; src=$?
t1=$(ms)
check "bob approves (exit $rc)" [ $rc = 0 ]
check "alice's waiting sudo ran her command ($((t1-t0)) ms after the approve call started)" \
        bash -c '[ "$1" = 0 ] && grep -q "root" "$2"' _ "$src" "$W/alice.out"
check "alice was told who approved and the comment" grep -q 'approved by bob.*ticket 42' "$W/alice.out"
check "grant: alice is in jit-ops in /etc/group" is_member alice jit-ops
grant=$(as alice "$JITCTL" --json show "$req" | field 'd["request"]["grant_id"]')
check "grant: the request names its grant ($grant)" [ -n "$grant" ]

# 5. The fast path: an active grant, no prompt, no message.
out=$(as alice sudo -n /usr/bin/id -un 2>&1); rc=$?
check "fast path: sudo -n runs silently with the active grant" [ "$rc/$out" = "0/root" ]
out=$(as alice "$JITCTL" list --active)
check "jitctl list --active shows the grant and its expiry" bash -c 'grep -q "$1 *active *alice *ops *jit-ops" <<<"$2"' _ "$grant" "$out"

# 6. Deny rules hold even with an active grant; shells are opaque.
out=$(as alice sudo -n /usr/bin/bash -c id 2>&1); rc=$?
check "deny rule: bash is refused with its reason" bash -c '[ "$1" != 0 ] && grep -q "interactive shells are never granted" <<<"$2"' _ $rc "$out"
as alice sudo -n -s true >/dev/null 2>&1; rc=$?
check "deny rule: sudo -s (an opaque command) is refused" [ $rc != 0 ]
as alice sudo -n --us root /usr/bin/bash -c id >/dev/null 2>&1; rc=$?
check "deny rule: an abbreviated sudo option does not hide bash" [ $rc != 0 ]

# 7. Revoke ends it now; the next sudo asks again.
as carol "$JITCTL" revoke "$grant" >/dev/null 2>&1; rc=$?
check "revoke by a non-approver who is not the holder is refused (exit $rc = 5)" [ $rc = 5 ]
as bob "$JITCTL" revoke "$grant" >/dev/null; rc=$?
check "revoke by an approver (exit $rc)" [ $rc = 0 ]
check "revoke: alice is gone from jit-ops" not_member alice jit-ops
check "revoke: alice is gone from /etc/gshadow's member list" bash -c '! grep -q "^jit-ops:.*alice" /etc/gshadow'
as alice sudo -n /usr/bin/id -un >/dev/null 2>&1; rc=$?
check "after revoke: sudo -n is denied again" [ $rc = 1 ]
as bob "$JITCTL" revoke "$grant" >/dev/null; rc=$?
check "revoke is idempotent (exit $rc)" [ $rc = 0 ]

# 8. A denial by an approver reaches a waiting jitctl with its reason.
out=$(as alice "$JITCTL" --json request ops --for 10m --reason "deploy"); rc=$?
req2=$(field 'd["request_id"]' <<<"$out")
check "jitctl request: pending (exit $rc = 4) with an id" bash -c '[ "$1" = 4 ] && [ -n "$2" ]' _ $rc "$req2"
(sleep 0.3; as bob "$JITCTL" deny --passphrase-file "$BOBPASS" "$req2" --reason "not during the freeze" >/dev/null) &
dpid=$!
out=$(as alice "$JITCTL" wait "$req2" --timeout 30s 2>&1); rc=$?
wait $dpid
check "jitctl wait: denied (exit $rc = 3) with bob's reason" bash -c '[ "$1" = 3 ] && grep -q "denied by bob: not during the freeze" <<<"$2"' _ $rc "$out"

# 8a. Ctrl-C while waiting withdraws the request.
as_user_tty alice "sudo /usr/bin/id -u" >"$W/alice2.out" 2>&1 &
for _ in $(seq 1 100); do grep -q 'needs approval' "$W/alice2.out" 2>/dev/null && break; sleep 0.05; done
req5=$(grep -o 'request r-[0-9a-z]*' "$W/alice2.out" | head -n1 | awk '{print $2}')
pkill -INT -f '^sudo /usr/bin/id -u$'
wait $! 2>/dev/null
sleep 0.2
st=$(as alice "$JITCTL" --json show "$req5" | field 'd["request"]["state"]')
check "Ctrl-C in a waiting sudo cancels its request ($req5: $st)" [ "$st" = cancelled ]

# 8c0. Decisions are signed: the grant carries bob's signed decision, which
#     anyone can check offline; a wrong key, a replay on another request,
#     or bob's signature sent by another approver are refused.
out=$(as alice "$JITCTL" verify "$grant" 2>&1); rc=$?
check "jitctl verify: the grant's signed decision holds, by bob's registered key" \
        bash -c '[ "$1" = 0 ] && grep -q "holds: approver bob" <<<"$2" && grep -q "is the one registered" <<<"$2"' _ $rc "$out"
out=$("$JITCTL" --socket /nonexistent verify "$W/state/grants/$grant" 2>&1); rc=$?
check "jitctl verify offline, from the grant's record file alone" bash -c '[ "$1" = 0 ] && grep -q "holds: approver bob" <<<"$2"' _ $rc "$out"
cp "$W/state/grants/$grant" "$W/forged-grant"
sed -i 's/"role":"ops"/"role":"db0"/' "$W/forged-grant"
out=$("$JITCTL" verify "$W/forged-grant" 2>&1); rc=$?
check "an edited grant record does not verify (exit $rc = 10)" [ $rc = 10 ]
sig_of() { "$JITCTL" --json show "$1" | field "d['request']['signed_decision']['$2']"; }
# A raw approve, as user $1, for request $2, with the signature fields of $3.
raw_approve() {
        runuser -u "$1" -- python3 - "$2" "$(sig_of "$3" signature)" "$(sig_of "$3" canonical)" <<'PY'
import json, socket, struct, sys
rid, sig, canon = sys.argv[1], sys.argv[2], sys.argv[3]
f = dict(l.split("=", 1) for l in canon.splitlines()[1:])
msg = {"op": "approve", "id": rid, "signature": sig, "nonce": f["nonce"],
       "time_us": int(f["time"]), "ttl": int(f["ttl"])}
s = socket.socket(socket.AF_UNIX); s.connect("/run/jit/jit.sock")
b = json.dumps(msg).encode(); s.sendall(struct.pack(">I", len(b)) + b)
n = struct.unpack(">I", s.recv(4))[0]; d = b""
while len(d) < n: d += s.recv(n - len(d))
a = json.loads(d); print(a.get("error", "")); sys.exit(0 if a.get("ok") else 5)
PY
}
useradd -m -d "$W/home/dave" -s /bin/bash dave; usermod -a -G sre dave
echo "dave's own passphrase" > "$W/home/dave/.pass"; chown dave: "$W/home/dave/.pass"; chmod 0600 "$W/home/dave/.pass"
as dave "$JITCTL" keygen --passphrase-file "$W/home/dave/.pass" >/dev/null
out=$(as alice "$JITCTL" --json request ops --for 5m --reason "sig tests"); reqS=$(field 'd["request_id"]' <<<"$out")
out=$(as dave "$JITCTL" approve --passphrase-file "$W/home/dave/.pass" "$reqS" 2>&1); rc=$?
check "an approver whose key is not registered is refused (exit $rc = 5)" \
        bash -c '[ "$1" = 5 ] && grep -q "no usable registered signing key" <<<"$2"' _ $rc "$out"
"$JITCTL" approver add dave "$W/home/dave/.config/jit/approver.pub" >/dev/null
out=$(raw_approve bob "$reqS" "$req"); rc=$?
check "bob's signature from another request, replayed on $reqS, is refused (exit $rc = 5)" \
        bash -c '[ "$1" = 5 ] && grep -q "does not verify" <<<"$2"' _ $rc "$out"
out=$(raw_approve dave "$reqS" "$req"); rc=$?
check "bob's signature sent by dave (another approver) is refused (exit $rc = 5)" \
        bash -c '[ "$1" = 5 ] && grep -q "does not verify" <<<"$2"' _ $rc "$out"
out=$(raw_approve bob "$req" "$req"); rc=$?
check "bob's own signed decision replayed on the same request is refused (exit $rc)" [ $rc = 5 ]
as dave "$JITCTL" keygen --force --passphrase-file "$W/home/dave/.pass" >/dev/null   # a key root never registered
out=$(as dave "$JITCTL" approve --passphrase-file "$W/home/dave/.pass" "$reqS" 2>&1); rc=$?
check "a decision signed with a key other than the registered one is refused (exit $rc = 5)" \
        bash -c '[ "$1" = 5 ] && grep -q "does not verify" <<<"$2"' _ $rc "$out"
echo "wrong passphrase" > "$W/home/dave/.wrong"; chown dave: "$W/home/dave/.wrong"
as dave "$JITCTL" approve --passphrase-file "$W/home/dave/.wrong" "$reqS" >/dev/null 2>&1; rc=$?
check "a wrong passphrase does not unlock the key (exit $rc = 5)" [ $rc = 5 ]
"$JITCTL" approver add dave "$W/home/dave/.config/jit/approver.pub" >/dev/null
out=$(as dave "$JITCTL" deny --passphrase-file "$W/home/dave/.pass" "$reqS" --reason "signed no" 2>&1); rc=$?
st=$("$JITCTL" --json show "$reqS" | field 'd["request"]["state"]')
check "with the key registered again, dave's signed denial counts (exit $rc, $st)" bash -c '[ "$1" = 0 ] && [ "$2" = denied ]' _ $rc "$st"
chmod 0644 "$W/home/dave/.config/jit/approver.key"
out=$(as alice "$JITCTL" --json request ops --for 5m --reason "sig tests 3"); reqU=$(field 'd["request_id"]' <<<"$out")
out=$(as dave "$JITCTL" approve --passphrase-file "$W/home/dave/.pass" "$reqU" 2>&1); rc=$?
check "an approver key file readable by others is refused (exit $rc = 1)" \
        bash -c '[ "$1" = 1 ] && grep -q "yours alone" <<<"$2"' _ $rc "$out"
chmod 0600 "$W/home/dave/.config/jit/approver.key"
as alice "$JITCTL" cancel "$reqU" >/dev/null
chmod 0666 "/etc/jit/approvers/dave.pub"
out=$(as alice "$JITCTL" --json request ops --for 5m --reason "sig tests 2"); reqT=$(field 'd["request_id"]' <<<"$out")
out=$(as dave "$JITCTL" approve --passphrase-file "$W/home/dave/.pass" "$reqT" 2>&1); rc=$?
check "a registered key writable by others is not trusted (exit $rc = 5)" \
        bash -c '[ "$1" = 5 ] && grep -q "wrong owner or mode" <<<"$2"' _ $rc "$out"
chmod 0644 "/etc/jit/approvers/dave.pub"
as alice "$JITCTL" cancel "$reqT" >/dev/null

# 8b. The service holds up against a local user: half-sent requests and a
#     flood of connections do not stall anyone else; unknown roles and
#     roles one may not request leave nothing in the spool.
python3 - "$W" <<'PY' &
import os, socket, sys, time
result = open(sys.argv[1] + "/flood.out", "w")
os.setgid(int(os.popen("id -g alice").read())); os.setuid(int(os.popen("id -u alice").read()))
held, refused = [], 0
for i in range(40):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("/run/jit/jit.sock"); s.send(b"\x00\x00\x01\x00{")   # half a frame
        held.append(s)
    except OSError:
        refused += 1
time.sleep(0.3)
alive = 0
for s in held:
    try:
        s.send(b"x"); alive += s.recv(1, socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
result.write("%d %d\n" % (len(held), alive)); result.close()
time.sleep(2)
PY
fpid=$!
sleep 0.5
t0=$(ms); out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?; t1=$(ms)
check "while alice holds 40 half-sent connections, carol's sudo still runs ($((t1-t0)) ms)" [ $rc = 0 ]
wait $fpid
read -r held alive < "$W/flood.out"
check "one user gets at most 16 connections (alice kept $alive of $held open)" [ "$alive" -le 16 ]
before=$(ls "$W/state/requests" | wc -l)
as alice "$JITCTL" request nosuchrole >/dev/null 2>&1; rc1=$?
as bob "$JITCTL" request ops >/dev/null 2>&1; rc2=$?
after=$(ls "$W/state/requests" | wc -l)
check "an unknown role and a role bob may not request are denied (exit $rc1, $rc2) and not recorded" \
        bash -c '[ "$1" = 3 ] && [ "$2" = 3 ] && [ "$3" = "$4" ]' _ $rc1 $rc2 $before $after

# 8c. Approval re-checks the policy as it is now.
out=$(as alice "$JITCTL" --json request ops --for 5m --reason "later"); req4=$(field 'd["request_id"]' <<<"$out")
sed -i 's/"groups": \["eng"\] }/"users": ["carol"] }/' /etc/jit/jit.conf
kill -HUP "$SERVICE_PID"; sleep 0.2
out=$(as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req4" 2>&1); rc=$?
check "approving a request the policy no longer allows is refused (exit $rc = 8)" \
        bash -c '[ "$1" = 8 ] && grep -q "no longer allows" <<<"$2"' _ $rc "$out"
check "... and alice got no membership" not_member alice jit-ops
sed -i 's/"users": \["carol"\] }/"groups": ["eng"] }/' /etc/jit/jit.conf
as alice "$JITCTL" cancel "$req4" >/dev/null

# 9. jitctl expire: with systemd timers configured (none here) and the backup
#    loop an hour away, only `jitctl expire` ends the grant.
sandbox_stop_service
python3 - <<'PY'
import json
p = "/etc/jit/jit.conf"
c = json.load(open(p))
c["settings"] = {"expiry": "timer", "reconcile_interval": "1h"}
json.dump(c, open(p, "w"), indent=2)
PY
sandbox_start_service || exit 1
out=$(as alice "$JITCTL" --json request ops --for 2s); req3=$(field 'd["request_id"]' <<<"$out")
out=$(as bob "$JITCTL" --json approve --passphrase-file "$BOBPASS" "$req3"); rc=$?
g3=$(field 'd["grant"]["id"]' <<<"$out")
check "a 2 s grant ($g3) is approved" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$g3"
"$JITCTL" expire "$g3" >/dev/null 2>&1; rc=$?
check "jitctl expire before it is due is refused (exit $rc = 8)" [ $rc = 8 ]
as alice "$JITCTL" expire "$g3" >/dev/null 2>&1; rc=$?
check "jitctl expire is root-only (exit $rc = 5)" [ $rc = 5 ]
sleep 2.5
check "past its expiry and with no timer, alice is still a member (no one has expired it)" is_member alice jit-ops
"$JITCTL" expire "$g3" >/dev/null; rc=$?
check "jitctl expire (exit $rc)" [ $rc = 0 ]
check "expire: alice is gone from jit-ops" not_member alice jit-ops
out=$("$JITCTL" expire "$g3"); rc=$?
check "expire is idempotent (exit $rc, says already)" bash -c '[ "$1" = 0 ] && grep -q already <<<"$2"' _ $rc "$out"
st=$("$JITCTL" --json show "$g3" | field 'd["grant"]["state"]+"/"+d["grant"]["ended_by"]')
check "the grant is recorded as expired by the timer path ($st)" [ "$st" = "expired/timer" ]

# 10. The group files are consistent.
check "grpck -r is clean" grpck -r

# 10b. The audit log: every event on record, hash-chained, checkpoints signed.
sandbox_stop_service    # a clean stop writes a signed checkpoint
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub); rc=$?
check "jitctl audit verify: the log holds ($out)" bash -c '[ "$1" = 0 ] && grep -q "signed checkpoint" <<<"$2"' _ $rc "$out"
check "the audit log has the grants, uses, revoke and expiry" bash -c \
        'for e in request decision grant use revoke expire; do grep -q "\"event\":\"$e\"" "$1" || exit 1; done' _ "$W/state/audit.log"
cp "$W/state/audit.log" "$W/tampered.log"
sed -i '5s/"user":"[a-z]*"/"user":"mallory"/' "$W/tampered.log"
out=$("$JITCTL" audit verify --file "$W/tampered.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "an edited audit line is found (exit $rc = 10): $out" bash -c '[ "$1" = 10 ] && grep -q "line 5" <<<"$2"' _ $rc "$out"
cp "$W/state/audit.log" "$W/audit.full"
head -n -2 "$W/audit.full" > "$W/state/audit.log"
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "lines cut off the end of the audit log are found (exit $rc = 10): $out" bash -c '[ "$1" = 10 ] && grep -q "cut short" <<<"$2"' _ $rc "$out"
cp "$W/audit.full" "$W/state/audit.log"
# Nothing is granted that cannot be put on record: the audit log on a full
# file system (the spool beside it still works).
mkdir -p "$W/auditfs"
mount -t tmpfs -o size=256k tmpfs "$W/auditfs"
cp -p "$W/state/audit.log" "$W/auditfs/audit.log" 2>/dev/null || : > "$W/auditfs/audit.log"
: > "$W/auditfs/audit.log"; chmod 0600 "$W/auditfs/audit.log"
mv "$W/state/audit.log" "$W/audit.saved"; : > "$W/state/audit.log"; chmod 0600 "$W/state/audit.log"
mount --bind "$W/auditfs/audit.log" "$W/state/audit.log"
dd if=/dev/zero of="$W/auditfs/fill" bs=4k count=1000 2>/dev/null
sandbox_start_service || exit 1
out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "audit log full: alice's template grant is refused (rc=$rc)" bash -c '[ "$1" = 1 ] && grep -q "audit log cannot be written" <<<"$2"' _ $rc "$out"
check "audit log full: alice got no membership" not_member alice jit-ops
sandbox_stop_service
umount "$W/state/audit.log"; rm -f "$W/state/audit.log"; mv "$W/audit.saved" "$W/state/audit.log"
sandbox_start_service || exit 1

# 11. Fail closed: a broken policy denies everything; so does a stopped service.
echo '{"version": 1, "roles": {"ops": {"group": "jit-ops", "bogus": true}}}' > /etc/jit/jit.conf
kill -HUP "$SERVICE_PID"; sleep 0.2
out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "broken policy: even a template command is denied" bash -c '[ "$1" = 1 ] && grep -q "policy is invalid" <<<"$2"' _ $rc "$out"
check "broken policy: the service log names the bad key with its path" grep -q '\$.roles.ops: unknown key "bogus"' "$W/service.log"
sandbox_stop_service
out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "service stopped: sudo is denied" bash -c '[ "$1" = 1 ] && grep -q "not running" <<<"$2"' _ $rc "$out"

echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
