#!/bin/bash
# End-to-end for the end of a grant: what still holds the group when a
# grant ends (revoke, done, single use) is killed after the role's
# end_grace (end: processes), only reported (end: none), or, with no
# logind to log it out, killed as well (end: sessions); an extension keeps
# it alive; single-use grants end at their first sudo, which still runs;
# jitctl done ends one's own grant; reconcile (jitctl reconcile and the
# service's start) removes members of managed groups that no grant
# explains; a grant bound to a login session is not had outside one.
# Real sudo with pam_jit, the real service in the foreground, real gpasswd
# on a private overlay of /etc, inside a private mount + PID namespace.
# Nothing outside changes.
#
#   tests/e2e/revoke.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: revoke.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare script gpasswd grpck python3 pgrep setpriv; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-revoke.XXXXXX)
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
not_member() { ! is_member "$@"; }
# One field of a grant record, as root sees it: grant ID 'expression over g'
grant() { "$JITCTL" --json show "$1" 2>/dev/null | field "(lambda g: $2)(d['grant'])" 2>/dev/null; }
# Has the service looked for what still holds the ended grant's group?
swept() { [ -n "$(grant "$1" 'g.get("swept_us","")')" ]; }
# The newest recorded request of USER for ROLE.
latest_req() {
        "$JITCTL" --json list --all | python3 -c '
import json, sys
d = json.load(sys.stdin)
rs = [r for r in d.get("requests", []) if r["user"] == sys.argv[1] and r["role"] == sys.argv[2]]
print(max(rs, key=lambda r: r["created_us"])["id"] if rs else "")' "$1" "$2"
}
# sudo's pam_jit asks for this role (one role= per PAM line).
pam_role() { sed -i "s|pam_jit.so role=[a-z-]*|pam_jit.so role=$1|" /etc/pam.d/sudo; }
gid_of() { getent group "$1" | cut -d: -f3; }
# Is PID alive (a zombie is not)?
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }
# Does PID hold GID in its supplementary groups?
holds() { grep '^Groups:' "/proc/$1/status" 2>/dev/null | tr -s ' \t' '\n' | grep -qx "$2"; }
not_holds() { [ -e "/proc/$1" ] && ! holds "$@"; }
all_hold() { g=$1; shift; for p in "$@"; do holds "$p" "$g" || return 1; done; }
# Poll (at most $1 seconds) until the rest of the line is true.
poll() { t=$1; shift; for _ in $(seq 1 $((t * 20))); do "$@" && return 0; sleep 0.05; done; "$@"; }
log_has() { grep -qF -- "$1" "$W/service.log"; }
# Start `sleep SECONDS` as USER through runuser (which calls initgroups, so
# the process holds the groups USER is in now); its pid in SPID. The
# runuser parent stays root and reaps it.
start_sleep() {
        runuser -u "$1" -- sleep "$2" </dev/null >/dev/null 2>&1 &
        rp=$! SPID=
        for _ in $(seq 1 100); do SPID=$(pgrep -P "$rp" -x sleep) && break; sleep 0.05; done
}
# A template grant for alice: the role's grant id in G (exit status in rc).
take() {
        out=$(as alice "$JITCTL" --json request "$@"); rc=$?
        G=$(field 'd.get("grant",{}).get("id","")' <<<"$out" 2>/dev/null)
}

trap 'sandbox_stop_service' EXIT
sandbox_setup

# --- groups and the policy ---------------------------------------------------
for g in jit-kill jit-keep jit-slow jit-once jit-task jit-plain jit-sess jit-once0; do groupadd -f --system "$g"; done
python3 - <<'PY'
import json, os
role = lambda group, **kw: dict({"group": group, "default_ttl": "15m", "max_ttl": "1h",
                                 "requesters": {"groups": ["eng"]}, "approvers": {"groups": ["sre"]}}, **kw)
mine = lambda r: {"role": r, "users": ["alice"], "services": ["jitctl"]}
conf = {
    "version": 1,
    "settings": {"expiry": "loop", "request_ttl": "1h"},
    "roles": {
        "kill": role("jit-kill", end="processes", end_grace="1s"),
        "keep": role("jit-keep", end="none", end_grace="1s"),
        "slow": role("jit-slow", end_grace="3s"),
        "once": role("jit-once", tier="owner"),
        "once0": role("jit-once0", tier="owner", end_grace="0"),
        "task": role("jit-task", end_grace="1s"),
        "plain": role("jit-plain"),
        "sess": role("jit-sess", end="sessions", end_grace="1s"),
    },
    "templates": {r + "-alice": mine(r) for r in ("kill", "keep", "slow", "task", "plain", "sess")},
}
with open("/etc/jit/jit.conf.new", "w") as f:
    json.dump(conf, f, indent=2)
os.chmod("/etc/jit/jit.conf.new", 0o644)
os.rename("/etc/jit/jit.conf.new", "/etc/jit/jit.conf")
PY
out=$("$JITCTL" policy check 2>&1); rc=$?
check "the test policy checks clean (exit $rc: $out)" [ $rc = 0 ]
sandbox_pam wait=60s
pam_role once
sandbox_start_service || exit 1

# 1. end: processes. What alice started during the grant holds the group
#    and is killed after the grace; what she started before survives, and
#    so do other users' processes holding the same group.
KGID=$(gid_of jit-kill)
start_sleep alice 600; BEFORE=$SPID
take kill --for 10m
check "processes: alice holds kill by template (exit $rc, $G)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$G"
GK=$G
check "processes: alice is in jit-kill" is_member alice jit-kill
start_sleep alice 600; DURING=$SPID
check "processes: alice's sleep started during the grant ($DURING) holds jit-kill ($KGID)" holds "$DURING" "$KGID"
check "processes: alice's sleep started before it ($BEFORE) does not" not_holds "$BEFORE" "$KGID"
setpriv --groups "$KGID" sleep 600 </dev/null >/dev/null 2>&1 & ROOTP=$!
setpriv --reuid carol --regid carol --groups "$KGID" sleep 600 </dev/null >/dev/null 2>&1 & CAROLP=$!
poll 5 holds "$ROOTP" "$KGID"; poll 5 holds "$CAROLP" "$KGID"
check "processes: a root ($ROOTP) and a carol ($CAROLP) process hold jit-kill too" \
        all_hold "$KGID" "$ROOTP" "$CAROLP"
"$JITCTL" revoke "$GK" >/dev/null; rc=$?
check "processes: revoke (exit $rc)" [ $rc = 0 ]
check "processes: alice is gone from jit-kill" not_member alice jit-kill
poll 10 gone "$DURING"
check "processes: within 10 s of the revoke, the process that held the group is killed" gone "$DURING"
check "processes: the service log warned of it, with the grace" \
        log_has "grant $GK: 1 process of alice still hold group jit-kill: warned, ending them in 1 s"
# (the kill comes before the log lines: wait for them too)
poll 5 log_has "grant $GK: ended 1 of them"
check "processes: the service log names its pid ($DURING)" log_has "grant $GK ended: 1 process of alice held group jit-kill: $DURING(sleep)"
check "processes: ... and says it ended 1 of them" log_has "grant $GK: ended 1 of them (1 killed; 0 in 0 sessions terminated)"
check "processes: alice's process from before the grant survives" alive "$BEFORE"
check "processes: root's process holding the group survives (not the grant's user)" alive "$ROOTP"
check "processes: carol's process holding the group survives (not the grant's user)" alive "$CAROLP"
check "processes: the grant records when it was swept" swept "$GK"
kill "$BEFORE" "$ROOTP" "$CAROLP" 2>/dev/null; wait "$ROOTP" "$CAROLP" 2>/dev/null

# 1b. An extension replaces the grant but keeps the membership: what holds
#     the group is neither warned nor ended when the old grant ends; it is
#     when the new one does.
take kill --for 10m; GX=$G
start_sleep alice 600; XP=$SPID
check "extension: alice's sleep ($XP) holds jit-kill under $GX" holds "$XP" "$KGID"
out=$(as alice "$JITCTL" --json extend "$GX" --for 20m); rc=$?
GX2=$(field 'd.get("grant",{}).get("id","")' <<<"$out" 2>/dev/null)
check "extension: granted at once (exit $rc, $GX2 replaces $GX)" bash -c '[ "$1" = 0 ] && [ -n "$2" ] && [ "$2" != "$3" ]' _ $rc "$GX2" "$GX"
poll 10 swept "$GX"
check "extension: the replaced grant $GX has been swept" swept "$GX"
check "extension: alice's process survives it (the new grant gives the group)" alive "$XP"
check "extension: alice is still in jit-kill" is_member alice jit-kill
check "extension: nobody was warned that their processes will be ended" \
        bash -c '! grep -q "grant $1: .* still hold group jit-kill: warned" "$2"' _ "$GX" "$W/service.log"
"$JITCTL" revoke "$GX2" >/dev/null; rc=$?
poll 10 gone "$XP"
check "extension: when the new grant is revoked (exit $rc), the process is killed" gone "$XP"

# 2. end: none. The holder survives the grace and is reported.
take keep --for 10m; GN=$G
start_sleep alice 600; NP=$SPID
check "none: alice's sleep ($NP) holds jit-keep" holds "$NP" "$(gid_of jit-keep)"
"$JITCTL" revoke "$GN" >/dev/null; rc=$?
check "none: revoke (exit $rc); alice is gone from jit-keep" bash -c '[ "$1" = 0 ] && ! getent group jit-keep | cut -d: -f4 | tr , "\n" | grep -qx alice' _ $rc
poll 10 log_has "grant $GN ended, but 1 process of alice still hold group jit-keep (end: none): $NP(sleep)"
check "none: after the grace the log reports the process that still holds the group" \
        log_has "grant $GN ended, but 1 process of alice still hold group jit-keep (end: none): $NP(sleep)"
check "none: no warning was given (nothing will be ended)" bash -c '! grep -qF "grant $1: 1 process of alice still hold group jit-keep: warned" "$2"' _ "$GN" "$W/service.log"
sleep 0.5
check "none: the process is still alive after the grace" alive "$NP"
check "none: and was not ended" bash -c '! grep -qF "grant $1: ended" "$2"' _ "$GN" "$W/service.log"
kill "$NP"; poll 5 gone "$NP"

# 3. end_grace: 3 s. Still alive right after the revoke, warned; gone after.
take slow --for 10m; GS=$G
start_sleep alice 600; SP=$SPID
check "grace: alice's sleep ($SP) holds jit-slow" holds "$SP" "$(gid_of jit-slow)"
"$JITCTL" revoke "$GS" >/dev/null; rc=$?
check "grace: right after the revoke (exit $rc) the process is still alive" bash -c '[ "$1" = 0 ] && [ -e /proc/$2 ]' _ $rc "$SP"
check "grace: the log has the warning with the 3 s grace" \
        log_has "grant $GS: 1 process of alice still hold group jit-slow: warned, ending them in 3 s"
check "grace: it has not been ended yet" bash -c '! grep -qF "grant $1 ended:" "$2"' _ "$GS" "$W/service.log"
poll 15 gone "$SP"
check "grace: after the grace the process is killed" gone "$SP"
poll 5 log_has "grant $GS: ended 1 of them"
check "grace: the log names it" log_has "grant $GS ended: 1 process of alice held group jit-slow: $SP(sleep)"

# 4. Single use: approved by bob, ended at alice's first sudo.
out=$(as alice "$JITCTL" --json request once --single-use --for 10m --reason "one command"); rc=$?
R4=$(field 'd.get("request_id","")' <<<"$out" 2>/dev/null)
check "single use: alice's request is pending (exit $rc = 4, $R4)" bash -c '[ "$1" = 4 ] && [ -n "$2" ]' _ $rc "$R4"
out=$(as bob "$JITCTL" --json approve --passphrase-file "$BOBPASS" "$R4"); rc=$?
GO=$(field 'd.get("grant",{}).get("id","")' <<<"$out" 2>/dev/null)
check "single use: bob approves, signed (exit $rc, $GO)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$GO"
check "single use: the grant is marked single-use" [ "$(grant "$GO" 'g.get("single_use")')" = True ]
check "single use: alice is in jit-once" is_member alice jit-once
out=$(as alice sudo -n /usr/bin/id -un 2>&1); rc=$?
check "single use: alice's first sudo runs ($rc/$out)" [ "$rc/$out" = 0/root ]
check "single use: then the grant is ended, by used-once" [ "$(grant "$GO" 'g["state"]+"/"+g["ended_by"]')" = revoked/used-once ]
check "single use: alice is gone from jit-once" not_member alice jit-once
out=$(as alice sudo -n /usr/bin/id -un 2>&1); rc=$?
R4B=$(printf '%s\n' "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n1 | awk '{print $3}')
check "single use: her second sudo is refused (rc=$rc) and files a new request ($R4B)" \
        bash -c '[ "$1" = 1 ] && [ -n "$2" ] && [ "$2" != "$3" ]' _ $rc "$R4B" "$R4"
check "single use: ... which is pending" [ "$("$JITCTL" --json show "$R4B" 2>/dev/null | field 'd["request"]["state"]' 2>/dev/null)" = pending ]
check "single use: still not in jit-once" not_member alice jit-once
[ -n "$R4B" ] && as alice "$JITCTL" cancel "$R4B" >/dev/null

# 4b. Single use with end_grace 0: the grant ends at once, but the sudo
#     that used it (which still holds the group) must still run.
pam_role once0
out=$(as alice "$JITCTL" --json request once0 --single-use --for 10m --reason "one command, no grace"); rc=$?
R40=$(field 'd.get("request_id","")' <<<"$out" 2>/dev/null)
out=$(as bob "$JITCTL" --json approve --passphrase-file "$BOBPASS" "$R40"); rc=$?
GO0=$(field 'd.get("grant",{}).get("id","")' <<<"$out" 2>/dev/null)
check "single use, no grace: bob approves (exit $rc, $GO0)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$GO0"
out=$(as alice sudo -n /usr/bin/id -un 2>&1); rc=$?
check "single use, no grace: the sudo that uses the grant runs ($rc/$out)" [ "$rc/$out" = 0/root ]
check "single use, no grace: the grant is ended by used-once" [ "$(grant "$GO0" 'g["state"]+"/"+g["ended_by"]')" = revoked/used-once ]
check "single use, no grace: alice is gone from jit-once0" not_member alice jit-once0
pam_role once

# 5. jitctl done: the task is over; only its owner may say so.
take task --for 10m --task "rotate logs"; GT=$G
check "done: alice holds task by template (exit $rc, $GT)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$GT"
check "done: the grant carries its task" [ "$(as alice "$JITCTL" --json show "$GT" | field 'd["grant"].get("task")')" = "rotate logs" ]
out=$(as bob "$JITCTL" done "$GT" 2>&1); rc=$?
check "done: bob cannot end alice's grant: not found (exit $rc = 6)" [ $rc = 6 ]
check "done: ... it is still active, alice still in jit-task" \
        bash -c '[ "$1" = active ] && getent group jit-task | cut -d: -f4 | tr , "\n" | grep -qx alice' _ "$(grant "$GT" 'g["state"]')"
out=$(as alice "$JITCTL" done "$GT" 2>&1); rc=$?
check "done: alice ends it (exit $rc)" [ $rc = 0 ]
check "done: ended by done" [ "$(grant "$GT" 'g["state"]+"/"+g["ended_by"]')" = revoked/done ]
check "done: alice is gone from jit-task" not_member alice jit-task
out=$(as alice "$JITCTL" done "$GT" 2>&1); rc=$?
check "done: again is idempotent (exit $rc)" [ $rc = 0 ]

# 6. Strays: members of a managed group that no grant explains.
take plain --for 10m; GP=$G
check "strays: alice holds plain (exit $rc, $GP)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$GP"
gpasswd -a carol jit-plain >/dev/null
check "strays: carol was added to jit-plain by hand" is_member carol jit-plain
runuser -u carol -- sleep 600 & CP=$!
sleep 0.2
check "strays: a process carol starts now holds jit-plain" holds "$CP" "$(gid_of jit-plain)"
as alice "$JITCTL" reconcile >/dev/null 2>&1; rc=$?
check "strays: jitctl reconcile is root's (alice: exit $rc = 5)" [ $rc = 5 ]
check "strays: ... and alice's call changed nothing" is_member carol jit-plain
out=$("$JITCTL" reconcile 2>&1); rc=$?
check "strays: jitctl reconcile (exit $rc)" [ $rc = 0 ]
check "strays: carol is removed" not_member carol jit-plain
check "strays: the log says so" \
        log_has "carol is in group jit-plain, which jit manages, without an active grant (added by hand?): removing"
poll 10 gone "$CP"
check "strays: carol's process holding jit-plain is ended too (role end: processes)" gone "$CP"
check "strays: alice, with an active grant, stays" is_member alice jit-plain
check "strays: the log says nothing of alice" bash -c '! grep -qF "alice is in group jit-plain, which jit manages" "$1"' _ "$W/service.log"
sandbox_stop_service
gpasswd -a carol jit-plain >/dev/null
before=$(grep -cF "carol is in group jit-plain, which jit manages" "$W/service.log")
check "strays: with the service stopped, carol is added by hand again" is_member carol jit-plain
sandbox_start_service || exit 1
check "strays: at start the service removes her" not_member carol jit-plain
check "strays: ... and logs it" [ "$(grep -cF "carol is in group jit-plain, which jit manages" "$W/service.log")" -gt "$before" ]
check "strays: alice's grant is still active and she is still in jit-plain" \
        bash -c '[ "$1" = active ] && getent group jit-plain | cut -d: -f4 | tr , "\n" | grep -qx alice' _ "$(grant "$GP" 'g["state"]')"
"$JITCTL" revoke "$GP" >/dev/null

# 7. end: sessions, without logind: a holder that is in no login session
#    is killed like with end: processes.
take sess --for 10m; GE=$G
start_sleep alice 600; EP=$SPID
check "sessions: alice's sleep ($EP) holds jit-sess" holds "$EP" "$(gid_of jit-sess)"
"$JITCTL" revoke "$GE" >/dev/null; rc=$?
check "sessions: revoke (exit $rc); the log warns she will be logged out" \
        bash -c '[ "$1" = 0 ] && grep -qF "grant $2: 1 process of alice still hold group jit-sess: warned, ending them in 1 s" "$3"' _ $rc "$GE" "$W/service.log"
poll 10 gone "$EP"
check "sessions: the holder in no session is killed" gone "$EP"
poll 5 log_has "grant $GE: ended 1 of them"
check "sessions: the log names it and says no session was terminated" bash -c \
        'grep -qF "grant $1 ended: 1 process of alice held group jit-sess: $2(sleep)" "$3" &&
         grep -qF "grant $1: ended 1 of them (1 killed; 0 in 0 sessions terminated)" "$3"' _ "$GE" "$EP" "$W/service.log"

# 8. A grant bound to a login session cannot be had outside one (no
#    logind here): it is refused, and no request is left approved with no grant.
out=$(as alice "$JITCTL" request task --bind session --for 10m 2>&1); rc=$?
check "bind session, no session: refused (exit $rc): $out" bash -c '[ "$1" != 0 ] && grep -q "login session" <<<"$2"' _ $rc "$out"
check "bind session, no session: alice is not in jit-task" not_member alice jit-task
RB=$(latest_req alice task)
st=$("$JITCTL" --json show "$RB" 2>/dev/null | field 'd["request"]["state"]+"/"+d["request"].get("grant_id","")' 2>/dev/null)
check "bind session, no session: the request ($RB) is not left approved without a grant ($st)" [ "$st" != approved/ ]

# 8. setgid persistence: a file alice makes setgid to the group during a
# grant is what jitctl audit setgid finds afterwards; one made before it,
# or of another group, is not.
mkdir -m 1777 "$W/shared"
as alice sh -c "cp /bin/true '$W/shared/before'; chgrp jit-plain '$W/shared/before' 2>/dev/null; chmod g+s '$W/shared/before'"
take plain --for 10m; GSG=$G
as alice sh -c "cp /bin/true '$W/shared/kept'; chgrp jit-plain '$W/shared/kept' && chmod g+s '$W/shared/kept'
                cp /bin/true '$W/shared/mine'; chmod g+s '$W/shared/mine'"
"$JITCTL" revoke "$GSG" >/dev/null
out=$("$JITCTL" audit setgid --grant "$GSG" "$W/shared"); rc=$?
check "setgid: audit setgid finds the file made setgid to jit-plain during the grant (exit $rc = 10)" \
        bash -c '[ "$1" = 10 ] && grep -q "/kept$" <<<"$2"' _ $rc "$out"
check "setgid: ... and not the one of alice's own group, nor the one from before the grant" \
        bash -c '! grep -q "/mine$\|/before$" <<<"$1" && grep -q "^1 setgid file of group jit-plain" <<<"$1"' _ "$out"
chmod g-s "$W/shared/kept"
out=$("$JITCTL" audit setgid --grant "$GSG" "$W/shared"); rc=$?
check "setgid: once the bit is cleared, nothing is found (exit $rc = 0)" [ "$rc" = 0 ]

check "grpck -r is clean" grpck -r
sandbox_stop_service
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "jitctl audit verify: the log holds ($out)" [ $rc = 0 ]

echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
