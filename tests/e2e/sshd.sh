#!/bin/bash
# End-to-end with a real sshd: pam_jit first in the account phase of
# /etc/pam.d/sshd, the real service (jitctl serve) in the foreground, real
# ssh logins with keys over loopback, real gpasswd on a private overlay of
# /etc. Everything runs inside private mount, PID and network namespaces:
# sshd listens on 127.0.0.1:2222 of a loopback no one else can see, and dies
# with the namespace. Nothing outside changes.
#
#   tests/e2e/sshd.sh BUILD_DIR
#
# What pam_jit does under sshd (pam_jit.c): the service is "sshd", so the
# login is batch mode (it never waits unless batch_wait= is set) and the
# command mode is "opaque" -- a login session cannot be judged. In
# common/policy.c deny_matches() counts an opaque command as a match for
# every deny rule that has command patterns, and deny rules are checked
# before an active grant. So with the sandbox policy's "no-shells" rule
# (commands: bash, sh) every ssh login of an eligible user is denied with
# that rule's reason, grant or not; no request is left pending. Section A
# proves that; the approval scenario then runs with a policy variant that
# has no deny rule, and section D puts the rule back to show that it beats
# an active grant. (A deny rule meant for sudo only needs "services".)
set -u
BUILD=$(cd "${1:?usage: sshd.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        PATH=$PATH:/usr/sbin:/sbin
        for p in sshd ssh ssh-keygen unshare ip gpasswd python3 timeout; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (openssh-server, openssh-client, iproute2)"; exit 77; }
        done
        [ -f /etc/pam.d/sshd ] || { echo "SKIP: /etc/pam.d/sshd is missing (openssh-server)"; exit 77; }
        W=$(mktemp -d /tmp/jit-e2e-sshd.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W PATH=$PATH \
                unshare -m -p -f -n --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
SSHD=$(command -v sshd)
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
ms() { date +%s%3N; }
not_member() { ! is_member "$@"; }

SSHD_PID=
cleanup() {
        sandbox_stop_service
        [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
}
trap cleanup EXIT

# login USER: one ssh login running `id -un`, bounded by timeout 20.
# Sets rc, out (stdout), err (stderr file), dt (ms).
login() {
        local t0
        err=$W/ssh-$1-$((n+1)).err
        t0=$(ms)
        out=$(timeout 20 ssh -F /dev/null -i "$W/ssh/id_ed25519" -p 2222 \
                -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=10 \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                "$1@127.0.0.1" id -un </dev/null 2>"$err")
        rc=$?
        dt=$(( $(ms) - t0 ))
}
refused() { [ "$rc" = 255 ] && [ -z "$out" ] && [ "$dt" -lt 5000 ]; }
# The service's JSON list as root: all requests and grants, any state.
list_all() { "$JITCTL" --json list --all; }
# Swap the policy and wait (bounded) until the service logs that it loaded it.
set_policy() {
        local k
        k=$(grep -c 'jitd\[service\] policy .* loaded' "$W/service.log")
        cp "$1" /etc/jit/jit.conf && kill -HUP "$SERVICE_PID" || return 1
        for _ in $(seq 1 100); do
                [ "$(grep -c 'jitd\[service\] policy .* loaded' "$W/service.log")" -gt "$k" ] && return 0
                sleep 0.02
        done
        echo "Bail out! the service did not reload $1"; exit 1
}

# --- the sandbox: users, policy, sshd -------------------------------------
ip link set lo up
sandbox_setup
chmod 0711 "$W"                 # the users' homes are under it
id dave >/dev/null 2>&1 || useradd -m -d "$W/home/dave" -s /bin/bash dave
usermod -p '*' dave             # usable, passwordless, in no role
mkdir -m 0755 /run/sshd         # sshd's compiled-in privsep dir, on the new tmpfs

cp /etc/jit/jit.conf "$W/jit.conf.deny"           # lib.sh's policy: "no-shells" present
# Variants: no deny rule at all; the same rule scoped to sudo with "services".
python3 - "$W/jit.conf.deny" "$W/jit.conf.nodeny" "$W/jit.conf.sudodeny" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
rules = c["roles"]["ops"].pop("deny")
json.dump(c, open(sys.argv[2], "w"), indent=2)
for r in rules:
    r["services"] = ["sudo", "sudo-i"]
c["roles"]["ops"]["deny"] = rules
json.dump(c, open(sys.argv[3], "w"), indent=2)
PY

mkdir -m 0700 "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -C jit-e2e-host -f "$W/ssh/host_ed25519" </dev/null
ssh-keygen -q -t ed25519 -N '' -C jit-e2e-client -f "$W/ssh/id_ed25519" </dev/null
# Keys in the overlay: a root-owned path that passes StrictModes (/tmp does not).
mkdir -m 0755 /etc/ssh/jit-e2e-keys
for u in alice bob carol dave; do
        install -m 0644 "$W/ssh/id_ed25519.pub" "/etc/ssh/jit-e2e-keys/$u"
done
cat > "$W/ssh/sshd_config" <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey $W/ssh/host_ed25519
PidFile none
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile /etc/ssh/jit-e2e-keys/%u
PrintMotd no
LogLevel VERBOSE
EOF

# pam_jit goes first in the account section, ahead of pam_nologin and
# common-account; absolute path to the module in the build tree.
sed -i '/pam_jit.so/d' /etc/pam.d/sshd
sed -i "0,/^account/s||account required $BUILD/pam_jit.so role=ops\n&|" /etc/pam.d/sshd
check "the pam_jit line is the first account line of /etc/pam.d/sshd" \
        bash -c 'grep -m1 "^account" /etc/pam.d/sshd | grep -q "pam_jit.so role=ops"'

sandbox_start_service || exit 1
"$SSHD" -t -f "$W/ssh/sshd_config" || { echo "Bail out! sshd -t rejects the config"; exit 1; }
"$SSHD" -D -f "$W/ssh/sshd_config" -E "$W/sshd.log" &
SSHD_PID=$!
for _ in $(seq 1 100); do grep -q 'Server listening on 127.0.0.1 port 2222' "$W/sshd.log" 2>/dev/null && break; sleep 0.05; done
grep -q 'Server listening on 127.0.0.1 port 2222' "$W/sshd.log" || { echo "Bail out! sshd did not start:"; cat "$W/sshd.log"; exit 1; }

# --- A. lib.sh's policy: "no-shells" matches every (opaque) ssh login -------
login alice
check "deny rule: alice's ssh login is refused (rc=$rc, $dt ms)" refused
j=$(list_all)
st=$(field '",".join(r["state"]+"/"+(r.get("policy_rule") or "-")+"/"+r.get("command_mode","?") for r in d["requests"] if r["user"]=="alice")' <<<"$j")
check "deny rule: recorded as a policy denial by no-shells, command opaque ($st)" [ "$st" = "denied/no-shells/opaque" ]
check "deny rule: the service log gives the rule's reason" \
        grep -q 'alice for role ops: deny by policy (rule no-shells: interactive shells are never granted' "$W/service.log"
check "deny rule: sshd logs the PAM account refusal" \
        grep -q 'Access denied for user alice by PAM account configuration' "$W/sshd.log"

set_policy "$W/jit.conf.nodeny"

# --- 1. Eligible, no grant: refused at once, a request is left pending ------
login alice
check "no grant: alice's ssh login is refused (rc=$rc) in $dt ms, not at the 20 s bound" refused
j=$(as bob "$JITCTL" --json list)
req=$(field '" ".join(r["id"] for r in d["requests"] if r["user"]=="alice" and r["state"]=="pending")' <<<"$j")
check "no grant: bob sees one pending request for alice ($req)" bash -c '[ -n "$1" ] && [ "${1// /}" = "$1" ]' _ "$req"
ctx=$(python3 -c 'import json,sys; d=json.load(sys.stdin); r=[r for r in d["requests"] if r["id"]==sys.argv[1]][0]; print("/".join(str(r.get(k,"-")) for k in ("service","rhost","tty","command_mode")))' "$req" <<<"$j")
check "no grant: the request records service/rhost/tty/mode ($ctx)" [ "$ctx" = "sshd/127.0.0.1/ssh/opaque" ]
check "no grant: the service log names the request as escalated" grep -q "request $req by alice for role ops: escalate" "$W/service.log"
check "no grant: alice is not in jit-ops" not_member alice jit-ops
login alice
j=$(list_all)
np=$(field 'len([r for r in d["requests"] if r["user"]=="alice" and r["state"]=="pending"])' <<<"$j")
check "a second refused login reuses the pending request (rc=$rc, $np pending)" bash -c '[ "$1" = 255 ] && [ "$2" = 1 ]' _ "$rc" "$np"
if grep -q "$req" "$err"; then pam_msgs="reach the client"; else pam_msgs="do not reach the client"; fi
echo "# pam_jit's messages during sshd's account phase $pam_msgs (ssh stderr: $(tr '\n' ' ' <"$err" | cut -c1-300))"

# --- 2. bob approves; alice's next login works and she is in jit-ops -------
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req" >/dev/null; rc=$?
check "bob approves $req (exit $rc)" [ $rc = 0 ]
grant=$(as bob "$JITCTL" --json show "$req" | field 'd["request"]["grant_id"]')
check "the approved request names its grant ($grant)" [ -n "$grant" ]
check "grant: alice is in jit-ops (getent group)" is_member alice jit-ops
login alice
check "grant: alice's ssh login succeeds and prints alice (rc=$rc, out=$out, $dt ms)" [ "$rc/$out" = "0/alice" ]
check "grant: the service log records the grant used via sshd" grep -q "grant $grant used by alice via sshd" "$W/service.log"

# --- 3. Outside every role: refused, and nothing is recorded ---------------
login dave
check "dave (in no role) is refused (rc=$rc, $dt ms)" refused
check "dave: the service log says he may not request ops" \
        grep -q 'dave asked for role ops: denied (dave may not request role ops)' "$W/service.log"
nd=$(list_all | field 'len([r for r in d["requests"] if r["user"]=="dave"])')
check "dave: no request is recorded for him ($nd)" [ "$nd" = 0 ]
login bob
check "bob (an approver, not a requester) is refused too: pam_jit gates every sshd login (rc=$rc)" refused

# --- 4. A deny rule with commands beats an active grant for ssh logins -----
set_policy "$W/jit.conf.deny"
denied_line='alice for role ops: deny by policy (rule no-shells: interactive shells are never granted'
nbefore=$(grep -c "$denied_line" "$W/service.log")
login alice
check "deny rule + active grant: alice's login is refused (rc=$rc, $dt ms)" refused
check "deny rule + active grant: she is still in jit-ops (the grant stands)" is_member alice jit-ops
nafter=$(grep -c "$denied_line" "$W/service.log")
check "deny rule + active grant: denied with the rule's reason ($nbefore -> $nafter log lines)" [ "$nafter" -gt "$nbefore" ]
set_policy "$W/jit.conf.sudodeny"
login alice
check "the rule scoped to sudo (\"services\"): alice's login succeeds (rc=$rc, out=$out)" [ "$rc/$out" = "0/alice" ]
set_policy "$W/jit.conf.nodeny"

# --- 5. Revoke ends it: the next login is refused ---------------------------
as bob "$JITCTL" revoke "$grant" >/dev/null; rc=$?
check "bob revokes $grant (exit $rc)" [ $rc = 0 ]
check "revoke: alice is gone from jit-ops" not_member alice jit-ops
login alice
check "after revoke: alice's ssh login is refused (rc=$rc, $dt ms)" refused
req2=$(as bob "$JITCTL" --json list | field '" ".join(r["id"] for r in d["requests"] if r["user"]=="alice")')
check "after revoke: a new pending request ($req2), not the old one" bash -c '[ -n "$1" ] && [ "$1" != "$2" ]' _ "$req2" "$req"

# --- 6. Fail closed: the service stopped, even a granted user is refused ---
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req2" >/dev/null; arc=$?
login alice
check "a fresh grant: alice logs in again (approve exit $arc, login rc=$rc, out=$out)" [ "$arc/$rc/$out" = "0/0/alice" ]
sandbox_stop_service
check "service stopped: alice is still a member of jit-ops in /etc/group" is_member alice jit-ops
login alice
check "service stopped: alice's ssh login is refused (rc=$rc, $dt ms)" refused
echo "# service stopped, ssh stderr: $(grep jit: "$err" | tr '\n' ' ')"
login carol
check "service stopped: carol is refused too (rc=$rc)" refused

n_ok=$(grep -c 'Accepted publickey for alice' "$W/sshd.log")
n_pam=$(grep -c 'by PAM account configuration' "$W/sshd.log")
echo "# sshd: $n_ok accepted keys for alice, $n_pam PAM account refusals"
echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
