#!/bin/bash
# e2e/doctor — `jitctl doctor` against real installations.
#
#   tests/e2e/doctor.sh BUILD_DIR
#
# Part 1, in a private mount + PID namespace with an overlay over /etc and
# a tmpfs over /run (lib.sh, as e2e/sudo): a correct installation (real
# sudo stack, the real service, a real grant) gets no failure; then one
# thing at a time is broken for real (a file mode, the policy, a PAM line,
# the service, a fake service run by nobody, a group, a key, the audit
# log, ...) and doctor must name it with the right check id, status and
# message, and exit 1 for a failure; each is put back before the next.
# Outside systemd the expiry timers are "skip".
# Part 2, in a Debian container booted with systemd-nspawn (nspawn.sh):
# an active grant whose jit-expire timer was stopped is found (warn), and
# `jitctl reconcile` — doctor's fix — makes it ok again; a disabled
# jit-reconcile.timer is found. Skipped (77) where nspawn cannot run.
# Needs root.
set -u
BUILD=$(cd "${1:?usage: doctor.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3     # not a shim under /root: nobody runs it too

# ---- part 2: the container (run as a separate process: nspawn.sh traps EXIT) ----
if [ "${JIT_DOCTOR_PART:-}" = container ]; then
        . "$HERE/nspawn.sh"
        N=0 FAILS=0
        ok()    { N=$((N + 1)); echo "ok - container: $*"; }
        notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok - container: $*"; }
        diag()  { sed 's/^/#   /'; }
        # doctor inside; the finding with id $1 as "status: message"
        finding() {
                ns_run /opt/jit/jitctl --json doctor 2>/dev/null | $PY -c '
import json, sys
for x in json.load(sys.stdin):
    if x["id"] == sys.argv[1]:
        print(x["status"] + ": " + x["message"])' "$1"
        }
        expect() { # DESC ID STATUS REGEX
                local got
                got=$(finding "$2")
                if printf '%s\n' "$got" | grep -q "^$3: .*$4"; then ok "$1"; else notok "$1"; echo "got: $got" | diag; fi
        }
        ns_check
        ns_boot "$BUILD" || { notok "container booted with systemd"; exit 1; }
        ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
        ns_put "$SRC/systemd/jit-reconcile.timer" /etc/systemd/system/jit-reconcile.timer 0644
        for u in jit.service jit-reconcile.service; do
                sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/$u.in" >"$NS_TMP/$u"
                ns_put "$NS_TMP/$u" /etc/systemd/system/"$u" 0644
        done
        cat >"$NS_TMP/jit.conf" <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "auto", "timer_accuracy_ms": 10 },
  "roles": {
    "ops": { "description": "doctor test", "group": "jit-ops", "max_ttl": "1h",
             "requesters": { "users": ["alice"] }, "approvers": { "users": ["root"] } }
  },
  "templates": {
    "alice-ops": { "role": "ops", "description": "at once", "users": ["alice"] }
  }
}
CONF
        ns_sh 'mkdir -p /etc/jit && chmod 0755 /etc/jit'
        ns_put "$NS_TMP/jit.conf" /etc/jit/jit.conf 0644
        if out=$(ns_sh 'set -e
                groupadd --system jit-ops
                useradd -m -s /bin/bash alice
                systemctl daemon-reload
                systemctl enable --now --quiet jit.socket jit.service jit-reconcile.timer' 2>&1); then
                ok "installed jit.socket, jit.service, jit-reconcile.timer and a policy"
        else
                notok "installed jit.socket, jit.service, jit-reconcile.timer and a policy"; echo "$out" | diag; exit 1
        fi
        G=$(ns_run runuser -u alice -- /opt/jit/jitctl --json request ops --for 30m | $PY -c 'import json,sys; print(json.load(sys.stdin)["grant"]["id"])')
        [ -n "$G" ] && ok "alice holds a grant ($G)" || notok "alice holds a grant"
        expect "timers.expire ok: the grant has its timer" timers.expire ok "1 active grant, each with its"
        expect "service.units ok: jit.socket and jit.service enabled" service.units ok "are enabled"
        expect "timers.reconcile ok: jit-reconcile.timer enabled" timers.reconcile ok "is enabled"
        ns_run systemctl stop "jit-expire-$G.timer"
        expect "timers.expire warns: $G has lost jit-expire-$G.timer" timers.expire warn "$G (alice, ops"
        ns_run /opt/jit/jitctl reconcile >/dev/null 2>&1
        expect "after the fix (jitctl reconcile) timers.expire is ok again" timers.expire ok "1 active grant"
        ns_run systemctl disable --now --quiet jit-reconcile.timer
        expect "timers.reconcile warns: jit-reconcile.timer is disabled" timers.reconcile warn "is disabled"
        echo "# container: $N checks, $FAILS failed"
        [ "$FAILS" = 0 ]
        exit $?
fi

# ---- outside: start both parts --------------------------------------------------
if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare script gpasswd setpriv; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        [ -x "$PY" ] || { echo "SKIP: $PY is not installed"; exit 77; }
        t0=$(date +%s%N)
        W=$(mktemp -d /tmp/jit-e2e-doctor.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        rc=$?
        t1=$(date +%s%N)
        echo "# sandbox part: $(( (t1 - t0) / 1000000 )) ms"
        JIT_DOCTOR_PART=container "$0" "$BUILD"
        crc=$?
        echo "# container part: $(( ($(date +%s%N) - t1) / 1000000 )) ms$([ $crc = 77 ] && echo ' (skipped)')"
        [ $rc = 0 ] && { [ $crc = 0 ] || [ $crc = 77 ]; }
        exit $?
fi

# ---- part 1: the sandbox --------------------------------------------------------
. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }

# doc [ARGS]: jitctl --json doctor on this installation; its answer in
# $W/doc.json, its exit code in DOC_RC.
doc() {
        "$JITCTL" --json doctor --state-dir "$W/state" "$@" >"$W/doc.json" 2>"$W/doc.err"
        DOC_RC=$?
}
# has ID STATUS REGEX: a finding with that id and status whose message
# matches; otherwise print what that id said.
has() {
        $PY - "$W/doc.json" "$@" <<'PY'
import json, re, sys
f, i, st, rx = sys.argv[1:5]
d = json.load(open(f))
if any(x["id"] == i and x["status"] == st and re.search(rx, x["message"]) for x in d):
    sys.exit(0)
for x in d:
    if x["id"] == i:
        print("#   got: %s %s: %s" % (x["status"], x["id"], x["message"]))
sys.exit(1)
PY
}
# expect DESC ID STATUS REGEX [ARGS]: run doctor, then a failure must
# exit 1 and a warning (the rest being correct) must exit 0.
expect() {
        desc=$1 id=$2 st=$3 rx=$4; shift 4
        doc "$@"
        want=0; [ "$st" = fail ] && want=1
        if has "$id" "$st" "$rx" && [ "$DOC_RC" = "$want" ]; then
                ok "$desc: $id $st (exit $DOC_RC)"
        else
                notok "$desc: $id $st /$rx/ (exit $DOC_RC, want $want)"
        fi
}
no_failure() {
        $PY - "$W/doc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for x in d:
    if x["status"] != "ok":
        print("#   %s %s: %s" % (x["status"], x["id"], x["message"]))
sys.exit(1 if any(x["status"] == "fail" for x in d) else 0)
PY
}
export -f has no_failure
export W PY
wait_file() { for _ in $(seq 1 100); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
# The account line of sudo's stack, as sandbox_pam wrote it.
LINE="account required $BUILD/pam_jit.so role=ops wait=5s"
put_line() { # FILE NEWLINE: replace the pam_jit line
        sed -i "s|^.*pam_jit\.so.*$|$2|" "$1"
}

trap 'sandbox_stop_service; [ -n "${FAKE:-}" ] && kill "$FAKE" 2>/dev/null' EXIT
sandbox_setup
sandbox_pam wait=5s
# sudo -i runs the sudo-i stack: gate it the same way (lib.sh does only sudo).
sed -i "0,/^@include common-account/s||$LINE\n@include common-account|" /etc/pam.d/sudo-i
cp -a /etc/pam.d/sudo "$W/pam.sudo"; cp -a /etc/pam.d/sudo-i "$W/pam.sudo-i"; cp -a /etc/pam.d/sshd "$W/pam.sshd"
cp -a /etc/jit/jit.conf "$W/jit.conf"
sandbox_start_service || exit 1
out=$(runuser -u carol -- sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "a real grant: carol's template sudo runs (rc=$rc)" [ $rc = 0 ]

# 0. A correct installation.
t0=$(date +%s%N)
doc
t1=$(date +%s%N)
check "correct installation: no failure, exit $DOC_RC = 0 ($(( (t1 - t0) / 1000000 )) ms)" \
        bash -c '"$1" && [ "$2" = 0 ]' _ no_failure "$DOC_RC"
for id in config.file config.valid config.conflicts stack.sudo stack.sudo-i stack.sshd session.sshd module \
          sudoers keys.approvers keys.host keys.registered state.dir state.spool state.audit groups \
          service.socket service.peer service.answer lockout; do
        check "correct installation: $id is ok" has "$id" ok ''
done
check "correct installation: stack.sudo names the line and the role" \
        has stack.sudo ok "/etc/pam.d/sudo:[0-9]+ .*pam_jit.so role=ops.*enforces role ops, before common-account"
check "correct installation: groups counts carol, whose grant explains her" has groups ok "1 member, each with an active grant"
check "correct installation: outside systemd, timers.expire is skip" has timers.expire skip "systemd is not running"
check "--json: an array of {id, status, message, fix}, fix a string or null, every id documented in jitctl(8)" \
        $PY - "$W/doc.json" "$SRC/man/jitctl.8" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
man = open(sys.argv[2]).read().replace("\\-", "-")
good = all(set(x) == {"id", "status", "message", "fix"} and x["status"] in ("ok", "warn", "fail", "skip")
           and isinstance(x["message"], str) and (x["fix"] is None or isinstance(x["fix"], str)) for x in d)
undocumented = [x["id"] for x in d if not re.search(r"^\.(B|TQ\n\.B) " + re.escape(x["id"]) + "$", man, re.M)]
if undocumented: print("#   not in jitctl(8):", undocumented)
sys.exit(0 if good and d and not undocumented else 1)
PY
out=$("$JITCTL" doctor --state-dir "$W/state"); rc=$?
check "text output: exit $rc, the summary line says 0 failures" \
        bash -c '[ "$1" = 0 ] && grep -q "^[0-9]* checks: [0-9]* ok, .* 0 failures, " <<<"$2"' _ $rc "$out"

# 1. The policy file writable by others.
chmod 0666 /etc/jit/jit.conf
expect "policy mode 0666" config.file fail "mode 0666, writable by group or others"
chmod 0644 /etc/jit/jit.conf

# 2. The policy is not JSON.
echo '{"version": 1, "roles": {' > /etc/jit/jit.conf
expect "policy is not valid JSON" config.valid fail "1 error: "
cp -a "$W/jit.conf" /etc/jit/jit.conf

# 2b. A conflict: a template command that a deny rule also matches.
$PY - <<'PY'
import json
c = json.load(open("/etc/jit/jit.conf")); c["templates"]["read-logs"]["commands"].append("/usr/bin/bash -x")
json.dump(c, open("/etc/jit/jit.conf", "w"))
PY
expect "a template command a deny rule also matches" config.conflicts warn 'also matched by deny rule no-shells'
cp -a "$W/jit.conf" /etc/jit/jit.conf

# 3. An unknown key, and a template file others may write.
$PY - <<'PY'
import json
c = json.load(open("/etc/jit/jit.conf")); c["roles"]["ops"]["bogus"] = 1
json.dump(c, open("/etc/jit/jit.conf", "w"))
PY
expect "an unknown key in the policy" config.valid fail 'roles.ops: unknown key "bogus"'
cp -a "$W/jit.conf" /etc/jit/jit.conf
mkdir -m 0755 /etc/jit/templates.d
echo '{"role": "ops", "description": "x", "users": ["carol"]}' > /etc/jit/templates.d/t.json
chmod 0666 /etc/jit/templates.d/t.json
expect "a template file in templates.d writable by others" config.templates fail "t.json is mode 0666"
rm -rf /etc/jit/templates.d

# 4. pam_jit missing from sudo's stack (sudo-i still gated).
sed -i '/pam_jit\.so/d' /etc/pam.d/sudo
expect "pam_jit missing from /etc/pam.d/sudo" stack.sudo warn "sudo-i is gated but .*/sudo has no pam_jit account line"
cp -a "$W/pam.sudo" /etc/pam.d/sudo

# 5. ... and from sudo-i (sudo still gated).
sed -i '/pam_jit\.so/d' /etc/pam.d/sudo-i
expect "pam_jit missing from /etc/pam.d/sudo-i" stack.sudo-i warn '"sudo -i" uses that stack and is not gated'
cp -a "$W/pam.sudo-i" /etc/pam.d/sudo-i

# 5b. --pam-dir: another directory of stacks, /etc/pam.d left alone.
cp -a /etc/pam.d "$W/pamd"
sed -i '/pam_jit\.so/d' "$W/pamd/sudo" "$W/pamd/sudo-i"
expect "--pam-dir: a copy of the stacks without pam_jit" stack.sudo warn "^$W/pamd/sudo has no pam_jit account line: sudo is not gated \(no stack is\)" \
        --pam-dir "$W/pamd"
check "--pam-dir: ... and sshd, not gated either, is a warning too" has stack.sshd warn "sshd is not gated \(no stack is\)"
expect "--config: a policy that is not there" config.file fail "^/nonexistent/jit.conf does not exist" --config /nonexistent/jit.conf

# 6. Only in the auth phase.
put_line /etc/pam.d/sudo "auth required $BUILD/pam_jit.so role=ops"
expect "pam_jit only in the auth phase" stack.sudo fail "not in the account phase"
cp -a "$W/pam.sudo" /etc/pam.d/sudo

# 7. account optional: a denial is ignored.
put_line /etc/pam.d/sudo "account optional $BUILD/pam_jit.so role=ops"
expect "account optional pam_jit.so" stack.sudo fail 'ignored under "optional": it does not enforce'
out=$(runuser -u alice -- sudo -n /usr/bin/id -un 2>/dev/null); rc=$?
check "... and it is true: alice, refused by pam_jit, runs sudo under it (rc=$rc, $out)" [ "$rc/$out" = "0/root" ]
put_line /etc/pam.d/sudo "account [success=ok default=ignore] $BUILD/pam_jit.so role=ops"
expect "account [success=ok default=ignore] pam_jit.so" stack.sudo fail 'does not enforce'
cp -a "$W/pam.sudo" /etc/pam.d/sudo

# 8. No role=, and a role the policy does not have.
put_line /etc/pam.d/sudo "account required $BUILD/pam_jit.so wait=5s"
expect "a pam_jit line without role=" stack.sudo fail "no role= option: pam_jit denies everyone"
put_line /etc/pam.d/sudo "account required $BUILD/pam_jit.so role=dba"
expect "a pam_jit line with a role not in the policy" stack.sudo fail "role dba is not in /etc/jit/jit.conf"
cp -a "$W/pam.sudo" /etc/pam.d/sudo

# 9. A sufficient line before it: pam_jit is never asked when it succeeds.
sed -i "s|^$LINE$|account sufficient pam_permit.so\n$LINE|" /etc/pam.d/sudo
expect "account sufficient pam_permit.so before pam_jit" stack.sudo warn 'sufficient pam_permit.so" comes first and when it succeeds'
cp -a "$W/pam.sudo" /etc/pam.d/sudo

# 10. The PAM line names a module that is not there.
put_line /etc/pam.d/sudo "account required /nonexistent/lib/pam_jit.so role=ops"
expect "the sudo line names a missing module" module fail "/etc/pam.d/sudo:[0-9]+ names /nonexistent/lib/pam_jit.so, which does not exist"
cp -a "$W/pam.sudo" /etc/pam.d/sudo

# 11. sshd: pam_jit's session line before pam_systemd.
sed -i "0,/^@include common-session/s||session optional $BUILD/pam_jit.so\n@include common-session|" /etc/pam.d/sshd
expect "sshd: the session line before pam_systemd" session.sshd warn "comes before pam_systemd"
cp -a "$W/pam.sshd" /etc/pam.d/sshd

# 12. Lock-out: sudo and sshd both gated, root's password locked.
sed -i "0,/^@include common-account/s||$LINE\n@include common-account|" /etc/pam.d/sshd
check "root's password is locked here (the precondition)" bash -c 'getent shadow root | cut -d: -f2 | grep -q "^[*!]"'
expect "sudo and sshd gated, root locked" lockout warn "LOCK-OUT RISK"
usermod -p '$6$x$bjJL7Qz3bHzTLYv1lH0OjWn3CyHmFpMtr5PwfvUeL6mXNE1DL5p1y05pzl03nbxlkhf3v9MQmC.PN6yjLTvBL/' root
expect "... with a console password for root" lockout ok "root has a password"
usermod -p '*' root
cp -a "$W/pam.sshd" /etc/pam.d/sshd

# 13. sudoers: no rule for the requesters.
mv /etc/sudoers.d/jit "$W/sudoers.jit"
expect "no sudoers rule names a requester" sudoers warn "no rule in /etc/sudoers or its includes names a requester"
mv "$W/sudoers.jit" /etc/sudoers.d/jit

# 14. Keys: the approvers' directory open to all, a key with a loose mode,
#     the host key readable by others, an approver with no key.
chmod 0777 /etc/jit/approvers
expect "approvers directory writable by others" keys.approvers fail "mode 0777, writable by group or others"
chmod 0755 /etc/jit/approvers
chmod 0666 /etc/jit/approvers/bob.pub
expect "a registered key writable by others" keys.approvers fail "bob.pub is mode 0666"
chmod 0644 /etc/jit/approvers/bob.pub
chmod 0644 /etc/jit/host.key
expect "host key mode 0644" keys.host fail "host.key is mode 0644, readable by group or others"
chmod 0600 /etc/jit/host.key
cp -a /etc/jit/host.pub "$W/host.pub"
echo 0000000000000000000000000000000000000000000000000000000000000000 > /etc/jit/host.pub
expect "host.pub that is not host.key's" keys.host fail "host.pub is not host.key's public key"
cp -a "$W/host.pub" /etc/jit/host.pub
useradd -m -d "$W/home/dave" -s /bin/bash dave; usermod -a -G sre dave
expect "an approver (dave, in sre) with no registered key" keys.registered warn "no registered key for dave"
gpasswd -d dave sre >/dev/null

# 15. The role's group: a member no grant explains, and the group gone.
gpasswd -a alice jit-ops >/dev/null
expect "a standing member of the role's group" groups warn "members no active grant explains: alice"
gpasswd -d alice jit-ops >/dev/null
sandbox_stop_service
groupdel jit-ops
expect "the role's group does not exist" groups fail "role ops: group jit-ops does not exist"
groupadd --system jit-ops
gpasswd -a carol jit-ops >/dev/null     # her grant is still active

# 16. The service: down, then a fake one run by nobody on its socket.
expect "service down (no socket)" service.socket fail "nothing answers on /run/jit/jit.sock \(No such file"
chown nobody /run/jit
setpriv --reuid nobody --regid nogroup --clear-groups $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); c.close()' /run/jit/jit.sock &
FAKE=$!
wait_file /run/jit/jit.sock
expect "socket served by nobody" service.peer fail "served by nobody \(pid [0-9]+\), not root"
check "... and the fake service was not asked anything" has service.answer skip "not asked"
kill "$FAKE"; wait "$FAKE" 2>/dev/null; FAKE=
rm -f /run/jit/jit.sock; chown root /run/jit
$PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); c.close()' /run/jit/jit.sock &
FAKE=$!
wait_file /run/jit/jit.sock
expect "a root listener that hangs up without answering" service.answer fail "did not answer \"list --active\""
kill "$FAKE"; wait "$FAKE" 2>/dev/null; FAKE=
rm -f /run/jit/jit.sock

# 17. The state: directory mode and an edited audit line (service stopped:
#     it must not write while the log is edited), then a damaged record.
chmod 0755 "$W/state"
expect "state directory 0755" state.dir fail "mode 0755, open by group or others: the service will not start"
chmod 0700 "$W/state"
cp -a "$W/state/audit.log" "$W/audit.saved"
ln=$(grep -n '"user":"carol"' "$W/state/audit.log" | head -n1 | cut -d: -f1)
sed -i "${ln}s/\"user\":\"carol\"/\"user\":\"mallory\"/" "$W/state/audit.log"
expect "an edited audit line (line $ln)" state.audit fail "does not hold: line $ln:"
cp -a "$W/audit.saved" "$W/state/audit.log"
sandbox_start_service || exit 1
rec=$(ls "$W/state/requests" | head -n1)
cp -a "$W/state/requests/$rec" "$W/rec.saved"
echo tampered >> "$W/state/requests/$rec"
expect "a request record that fails its integrity check" state.spool warn "fails their integrity check: requests/$rec|$rec"
cp -a "$W/rec.saved" "$W/state/requests/$rec"

# 18. The clock an hour behind the newest record (doctor's clock shifted).
if [ -e "$BUILD/tests/clockshift.so" ]; then
        echo -3600 > "$W/shift"
        LD_PRELOAD=$BUILD/tests/clockshift.so CLOCKSHIFT_FILE=$W/shift doc
        if has clock.past warn "the clock is behind the newest record" && [ "$DOC_RC" = 0 ]; then
                ok "clock an hour behind: clock.past warn (exit $DOC_RC)"
        else
                notok "clock an hour behind: clock.past warn (exit $DOC_RC)"
        fi
else
        echo "ok - # SKIP clock.past: $BUILD/tests/clockshift.so not built"
fi

# 19. Not root: the rest is checked, what needs root is skip and named.
doc_user=$(runuser -u alice -- "$JITCTL" doctor --state-dir "$W/state" 2>&1); rc=$?
check "as alice: exit $rc = 0, and the summary names the checks skipped" \
        bash -c '[ "$1" = 0 ] && grep -q "^Not root: skipped or only in part: .*state.spool.*; run it as root" <<<"$2"' _ $rc "$doc_user"
runuser -u alice -- "$JITCTL" --json doctor --state-dir "$W/state" >"$W/doc.json" 2>/dev/null
check "as alice: state.audit and sudoers are skip (needs root)" \
        bash -c 'has state.audit skip "needs root" && has sudoers skip "needs root"'

# 20. Once all is put back: no failure again.
doc
check "everything put back: no failure (exit $DOC_RC)" bash -c '"$1" && [ "$2" = 0 ]' _ no_failure "$DOC_RC"
out=$("$JITCTL" doctor --bogus 2>&1); rc=$?
check "an unknown option is a usage error (exit $rc = 2)" [ $rc = 2 ]

echo "$((n - fails)) passed, $fails failed"
[ $fails = 0 ]
