#!/bin/bash
# e2e/sysfaults — the system around jit failing under it (issue 8, Faults):
# full file systems, stale locks, a racing gpasswd, a killed service. Real
# sudo with pam_jit, the real service in the foreground (settings.expiry
# "loop"), real gpasswd on a private overlay of /etc whose upper dir is a
# small tmpfs, the spool on another small tmpfs, inside a private mount +
# PID namespace (tests/e2e/lib.sh). Nothing outside changes.
#
#   1. /etc full (the overlay's upper tmpfs filled, leaving 0, 1, 2, ...
#      pages): gpasswd cannot lock or write /etc/group and /etc/gshadow;
#      a template grant is denied with gpasswd's own complaint, its record
#      revoked by "error", until there is room enough, then granted. A
#      revoke and an expiry that cannot remove the member keep the grant
#      active and are retried (not in a busy loop) until they can.
#   2. The spool full (the same walk on the state tmpfs), a revoke with the
#      spool full, then the audit log alone full (a tmpfs file bound over
#      it), then EIO from the Nth fsync and fdatasync (tests/preload/
#      failat.so): denied with what failed, the service keeps serving, no
#      temp file and no torn audit line; once there is room the next
#      request is granted; after a restart nothing refused or ended is
#      back.
#   3. Stale /etc/group.lock and /etc/gshadow.lock: a lock whose process
#      is gone is broken by gpasswd (granted); a lock with no pid in it, or
#      one held by a live process, makes gpasswd fail at once: denied; once
#      the lock is gone the next request is granted. /etc/.pwd.lock held
#      (lckpwdf, as vigr does): denied within about a second, not after
#      gpasswd's 15 s.
#   4. gpasswd and useradd/userdel editing the group files while grants
#      are made (a few seconds): every grant either held or denied.
#   5. The service SIGKILLed while a sudo waits for an approval, and while
#      it waits for gpasswd (made slow by a wrapper bound over it in this
#      mount namespace; the orphaned gpasswd then finishes, or is killed
#      too): both sudos denied at once ("lost contact" / "no answer"); after
#      a restart every member has an active grant and the other way round.
# After each: no *.tmp in the spool; no gpasswd leftovers (/etc/*.lock,
# /etc/*+); every member of a managed group holds an active grant record
# and every active grant record has its member and its audit line (before
# and after jitctl reconcile); the other groups' members unchanged;
# grpck -r clean; jitctl audit verify OK.
#
#   tests/e2e/sysfaults.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: sysfaults.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay and tmpfs mounts)"; exit 77; fi
        for p in sudo unshare script gpasswd grpck useradd python3 flock; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-sysfaults.XXXXXX)
        [ -n "${KEEP:-}" ] && echo "# keeping $W" || trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
T0=$(date +%s%N)
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
diag()  { sed 's/^/#   /'; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
not_member() { ! is_member "$@"; }
secs() { echo "$(( ($(date +%s%N) - T0) / 1000000000 ))"; }

# --- the sandbox -----------------------------------------------------------------
# /etc's overlay upper dir and work dir on one small tmpfs (lib.sh mounts
# $W/upper and $W/work: symlinks into it), the spool on another.
mkdir -p "$W/etcfs" "$W/state"
mount -t tmpfs -o size=2m,mode=0755 tmpfs "$W/etcfs"
mkdir "$W/etcfs/upper" "$W/etcfs/work"
ln -s etcfs/upper "$W/upper"
ln -s etcfs/work "$W/work"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$W/state"
trap 'sandbox_stop_service' EXIT
sandbox_setup
sandbox_pam
# Roles: ops as in e2e/sudo (carol's sudo journalctl is a template), and
# db, granted at once to alice, carol and dave by a template for any
# request (jitctl request db --for T).
python3 - /etc/jit/jit.conf <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["roles"]["db"] = {"description": "e2e", "group": "jit-db", "max_ttl": "1h", "end_grace": "0",
                    "requesters": {"users": ["alice", "carol", "dave"]}, "approvers": {"groups": ["sre"]}}
c["templates"]["t-db"] = {"role": "db", "description": "e2e", "users": ["alice", "carol", "dave"]}
open(sys.argv[1], "w").write(json.dumps(c, indent=1))
PY
groupadd --system jit-db
useradd -m -d "$W/home/dave" -s /bin/bash dave
# Bystanders: groups and members jit must never touch.
groupadd staff-a && groupadd staff-b
for u in alice bob carol dave; do gpasswd -a "$u" staff-a >/dev/null; done
gpasswd -a bob staff-b >/dev/null
MANAGED="jit-ops jit-db"
sandbox_start_service || exit 1

# The other groups' lines of /etc/group and /etc/gshadow, to compare.
others() { cat /etc/group /etc/gshadow | grep -v '^jit-' | sort; }
others > "$W/others.before"

# What the state says is wrong, one line each (nothing: consistent).
invariants() {
        python3 - "$W/state" "$MANAGED" <<'PY'
import glob, json, os, sys
state, managed = sys.argv[1], sys.argv[2].split()
def members(path):
    m = {}
    for line in open(path):
        f = line.rstrip("\n").split(":")
        if f[0] in managed:
            m[f[0]] = set(filter(None, f[3].split(",")))
    return m
grp, gsh = members("/etc/group"), members("/etc/gshadow")
active = {}
for p in glob.glob(state + "/grants/g-*"):
    try:
        g = json.loads(open(p).read().split("\n", 1)[1])   # after the sealed envelope's hash line
    except Exception as e:
        print("grant record %s does not parse: %s" % (os.path.basename(p), e)); continue
    if g.get("state") == "active":
        active[g["id"]] = g
audited = set()
for line in open(state + "/audit.log", errors="replace"):
    try:
        a = json.loads(line)
    except Exception:
        continue
    if a.get("event") == "grant" and a.get("grant_id"):
        audited.add(a["grant_id"])
holders = {(g["user"], g["group"]) for g in active.values()}
for grpname in managed:
    for u in sorted(grp.get(grpname, set()) | gsh.get(grpname, set())):
        if (u, grpname) not in holders:
            print("%s is in %s with no active grant record" % (u, grpname))
    if grp.get(grpname, set()) != gsh.get(grpname, set()):
        print("%s: /etc/group says %s, /etc/gshadow %s" % (grpname, sorted(grp.get(grpname, set())),
                                                            sorted(gsh.get(grpname, set()))))
for gid, g in sorted(active.items()):
    if gid not in audited:
        print("active grant %s (%s) has no grant line in the audit log" % (gid, g["user"]))
    if g["user"] not in grp.get(g["group"], set()):
        print("active grant %s: %s is not in %s" % (gid, g["user"], g["group"]))
for r, _, fs in os.walk(state):
    for f in fs:
        if f.endswith(".tmp"):
            print("temp file left in the spool: %s" % os.path.join(r, f)[len(state) + 1:])
for f in sorted(os.listdir("/etc")):
    if f.endswith("+") or f.endswith(".lock") and f != ".pwd.lock" or f.split(".")[-1].isdigit() and f.split(".")[0] in ("group", "gshadow", "passwd", "shadow"):
        print("left in /etc: %s" % f)
PY
        out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1) ||
                echo "audit verify: $out"
        grpck -r >/dev/null 2>&1 || echo "grpck -r: $(grpck -r 2>&1 | head -n 2 | tr '\n' ' ')"
        others | diff -q "$W/others.before" - >/dev/null || echo "other groups changed: $(others | diff "$W/others.before" - | grep '^[<>]' | tr '\n' ' ')"
}
# consistent DESC: the invariants hold now, and again after jitctl reconcile.
consistent() {
        local bad
        bad=$(invariants)
        [ -z "$bad" ] && bad=$("$JITCTL" reconcile >/dev/null 2>&1; invariants | sed 's/^/after reconcile: /')
        if [ -z "$bad" ]; then ok "$1: consistent (before and after jitctl reconcile)"
        else notok "$1: $(tr '\n' ';' <<<"$bad")"; fi
}

# fill FS PAGES: fill the tmpfs at FS so that exactly PAGES 4 KiB pages stay free.
fill() {
        local fs=$1 k=$2 i
        mkdir -p "$fs/.reserve"
        for ((i = 0; i < k; i++)); do
                dd if=/dev/zero of="$fs/.reserve/$i" bs=4096 count=1 status=none || return 1
        done
        dd if=/dev/zero of="$fs/.fill" bs=64k status=none 2>/dev/null
        dd if=/dev/zero of="$fs/.fill2" bs=4096 status=none 2>/dev/null
        rm -rf "$fs/.reserve"
}
unfill() { rm -rf "$1/.fill" "$1/.fill2" "$1/.reserve"; }

# Grants of USER in GROUP by state: "active revoked ..." (root's view).
grant_states() {
        "$JITCTL" --json list --all 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(g["state"] + ("/" + g["ended_by"] if g.get("ended_by") else "")
               for g in sorted(d.get("grants", []), key=lambda g: g["created_us"])
               if g["user"] == sys.argv[1] and g["group"] == sys.argv[2]))' "$1" "$2"
}
active_grant() {
        "$JITCTL" --json list --all 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(g["id"] for g in d.get("grants", []) if g["user"] == sys.argv[1] and g["group"] == sys.argv[2] and g["state"] == "active"))' "$1" "$2"
}
# End every active grant (with room to do it).
end_all() {
        local g
        for g in $("$JITCTL" --json list --all 2>/dev/null | python3 -c '
import json, sys
print(" ".join(g["id"] for g in json.load(sys.stdin).get("grants", []) if g["state"] == "active"))'); do
                "$JITCTL" revoke "$g" >/dev/null 2>&1
        done
}
alive_service() { kill -0 "$SERVICE_PID" 2>/dev/null; }

# 0. Without faults.
out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "without faults: carol's template sudo runs (exit $rc)" [ "$rc" = 0 ]
consistent "without faults"

# --- 1. /etc full -------------------------------------------------------------------
# carol holds jit-ops throughout; alice asks by template with 0, 1, 2, ...
# pages free on the tmpfs under /etc until gpasswd has room.
walk_etc() {
        local k out rc st granted=
        for k in 0 1 2 3 4 5 6 7 8 9 10 11 12; do
                fill "$W/etcfs" "$k"
                out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
                unfill "$W/etcfs"
                st=$(grant_states alice jit-ops)
                if [ "$rc" = 0 ]; then
                        granted=$k
                        if is_member alice jit-ops && [ "${st##* }" = active ]; then
                                ok "1: /etc with $k pages free: alice's template sudo granted (grants: $st)"
                        else
                                notok "1: /etc with $k pages free: alice's sudo ran but she is not a member with an active grant (grants: $st)"
                        fi
                elif grep -q 'grant could not be applied (gpasswd: .*): access denied' <<<"$out" &&
                     not_member alice jit-ops && [ "${st##* }" = revoked/error ]; then
                        ok "1: /etc with $k pages free: denied ($(grep -o 'gpasswd: [^)]*' <<<"$out" | head -n 1)); no membership; the grant record revoked by error"
                else
                        notok "1: /etc with $k pages free: denied with gpasswd's complaint, no membership, grant revoked by error (exit $rc, grants: $st)"
                        echo "$out" | diag
                fi
                check "1: carol still in jit-ops ($k pages free)" is_member carol jit-ops
                consistent "1: /etc with $k pages free"
                [ -n "$granted" ] && break
        done
        [ -n "$granted" ] || notok "1: alice was never granted, even with 12 pages free on /etc"
}
walk_etc
end_all
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1

# A revoke that cannot remove the member: the grant stays active (and
# the member in), the revoke says why; with room, it goes through.
G=$(active_grant carol jit-ops)
fill "$W/etcfs" 0
out=$("$JITCTL" revoke "$G" 2>&1); rc=$?
if [ "$rc" != 0 ] && is_member carol jit-ops && [ "$(active_grant carol jit-ops)" = "$G" ]; then
        ok "1: revoke with /etc full fails (exit $rc: $(head -n 1 <<<"$out")); $G stays active, carol in jit-ops"
else
        notok "1: revoke with /etc full: fails and leaves $G active with its member (exit $rc, grants: $(grant_states carol jit-ops))"
        echo "$out" | diag
fi
unfill "$W/etcfs"
out=$("$JITCTL" revoke "$G" 2>&1); rc=$?
check "1: with room again the revoke goes through (exit $rc), carol out of jit-ops" eval '[ "$rc" = 0 ] && not_member carol jit-ops'
consistent "1: revoke with /etc full, then with room"

# An expiry that cannot remove the member: retried, not in a busy loop,
# and done once there is room.
out=$(as dave "$JITCTL" --json request db --for 2s 2>&1)
G=$(active_grant dave jit-db)
fill "$W/etcfs" 0
lines0=$(grep -c "cannot remove dave from group jit-db" "$W/service.log")
cpu0=$(awk '{ print $14 + $15 }' "/proc/$SERVICE_PID/stat")
sleep 5
lines=$(( $(grep -c "cannot remove dave from group jit-db" "$W/service.log") - lines0 ))
cpu=$(( $(awk '{ print $14 + $15 }' "/proc/$SERVICE_PID/stat") - cpu0 ))
if [ -n "$G" ] && is_member dave jit-db && [ "$(active_grant dave jit-db)" = "$G" ] && [ "$lines" -ge 1 ] && [ "$lines" -le 10 ] && [ "$cpu" -lt 100 ]; then
        ok "1: $G expired with /etc full: still active, dave still in jit-db; tried $lines times in 5 s, $cpu ticks of CPU"
else
        notok "1: $G expired with /etc full: still active and retried calmly (grants: $(grant_states dave jit-db), $lines tries, $cpu CPU ticks in 5 s)"
fi
unfill "$W/etcfs"
for _ in $(seq 1 100); do not_member dave jit-db && break; sleep 0.1; done
check "1: with room again the expiry goes through: dave out of jit-db ($(grant_states dave jit-db))" \
        eval 'not_member dave jit-db && [ "$(grant_states dave jit-db)" = expired/loop ]'
consistent "1: expiry with /etc full, then with room"

# --- 2. the spool full, the audit log full ---------------------------------------------
# The state tmpfs holds the spool and the audit log: the same walk, alice
# by template, with 0, 1, 2, ... pages free.
echo "# $(secs) s: 2. spool"
end_all
walk_state() { # WHAT FS
        local what=$1 fs=$2 k out rc st granted=
        for k in $(seq 0 16); do
                fill "$fs" "$k"
                out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
                alive_service && "$JITCTL" list >/dev/null 2>&1; alive=$?
                unfill "$fs"
                st=$(grant_states alice jit-ops)
                if [ "$alive" != 0 ]; then
                        notok "2: $what with $k pages free: the service died or does not answer"
                        tail -n 5 "$W/service.log" | diag
                        sandbox_stop_service; sandbox_start_service || exit 1
                elif [ "$rc" = 0 ]; then
                        granted=$k
                        if is_member alice jit-ops && [ "${st##* }" = active ]; then
                                ok "2: $what with $k pages free: alice's template sudo granted; the service answers"
                        else
                                notok "2: $what with $k pages free: alice's sudo ran but she is not a member with an active grant (grants: $st)"
                        fi
                elif not_member alice jit-ops && grep -q 'access denied' <<<"$out" && [ "${st##* }" != active ]; then
                        ok "2: $what with $k pages free: denied ($(head -n 1 <<<"$out")); no membership; the service answers"
                else
                        notok "2: $what with $k pages free: denied with a reason, no membership (exit $rc, grants: $st)"
                        echo "$out" | diag
                fi
                consistent "2: $what with $k pages free"
                [ -n "$granted" ] && break
        done
        [ -n "$granted" ] || notok "2: alice was never granted, even with 16 pages free on the $what"
        end_all
}
walk_state "spool" "$W/state"
# A revoke with the spool full: the member goes; the ended grant cannot be
# written, so its record goes too (left active it would come back at the
# next start). Then a restart: nothing refused or ended comes back.
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1
G=$(active_grant carol jit-ops)
fill "$W/state" 0
out=$("$JITCTL" revoke "$G" 2>&1); rc=$?
unfill "$W/state"
if [ -n "$G" ] && [ "$rc" = 0 ] && not_member carol jit-ops &&
   grep -q "grant $G ended but its end cannot be recorded: its record is removed" "$W/service.log"; then
        ok "2: revoke with the spool full: carol out of jit-ops (exit 0), $G's record removed (its end cannot be written)"
else
        notok "2: revoke with the spool full: carol out of jit-ops, the unwritable record removed (exit $rc, grant ${G:-none})"
        echo "$out" | diag
fi
sandbox_stop_service
sandbox_start_service || exit 1
check "2: after a restart carol is still out of jit-ops and no grant of the walk came back ($(grant_states alice jit-ops | tr ' ' '\n' | grep -c active) active of alice)" \
        eval 'not_member carol jit-ops && not_member alice jit-ops && [ -z "$(active_grant alice jit-ops)$(active_grant carol jit-ops)" ]'
consistent "2: restarted after the spool was full"

# The audit log alone on a full file system: a tmpfs file with the log so
# far, bound over it (the service opens the log at start).
echo "# $(secs) s: 2. audit log"
sandbox_stop_service
mkdir -p "$W/auditfs"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$W/auditfs"
cp -p "$W/state/audit.log" "$W/auditfs/audit.log"
mount --bind "$W/auditfs/audit.log" "$W/state/audit.log"
sandbox_start_service || exit 1
# Full to the last page: each grant's lines fill it, until one does not fit.
fill "$W/auditfs" 0
denied=
for i in $(seq 1 40); do
        out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
        st=$(grant_states alice jit-ops)
        alive_service && "$JITCTL" list >/dev/null 2>&1 || { notok "2: audit log full, sudo $i: the service died or does not answer"; break; }
        if [ "$rc" != 0 ]; then
                denied=$i
                if grep -q 'the audit log cannot be written' <<<"$out" && not_member alice jit-ops && [ "${st##* }" != active ]; then
                        ok "2: audit log full, sudo $i: denied ($(head -n 1 <<<"$out")); no membership; the service answers"
                else
                        notok "2: audit log full, sudo $i: denied because the audit log cannot be written, no membership (exit $rc, grants: $st)"
                        echo "$out" | diag
                fi
                break
        fi
        end_all
done
[ -n "$denied" ] || notok "2: audit log full: 40 grants all fit in the last page?"
unfill "$W/auditfs"
consistent "2: audit log full, then with room"
walk_state "audit log" "$W/auditfs"
sandbox_stop_service
cp -p "$W/auditfs/audit.log" "$W/audit.log.new"
umount "$W/state/audit.log"
cat "$W/audit.log.new" > "$W/state/audit.log"
sandbox_start_service || exit 1
consistent "2: the audit log back on the spool's file system"

# EIO: the spool's fsync and the audit log's fdatasync fail
# (tests/preload/failat.so, as in e2e/faults, here with EIO each time).
if [ -e "$BUILD/tests/failat.so" ]; then
        sandbox_stop_service
        LD_PRELOAD=$BUILD/tests/failat.so FAILAT_ARM=$W/failat.arm sandbox_start_service || exit 1
        # The Nth call of each, N = 1, 2, ...: until the one a grant
        # cannot do without fails (the request's own audit line may fail
        # and the grant still stand: only its grant line must be durable).
        for f in fsync fdatasync; do
                denied=
                for i in 1 2 3 4 5 6 7 8; do
                        echo "$f $i eio-$f-$i EIO" > "$W/failat.arm"
                        out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
                        rm -f "$W/failat.arm"
                        st=$(grant_states alice jit-ops)
                        if ! alive_service || ! "$JITCTL" list >/dev/null 2>&1; then
                                notok "2: EIO from $f call $i: the service died or does not answer"
                                sandbox_stop_service
                                LD_PRELOAD=$BUILD/tests/failat.so FAILAT_ARM=$W/failat.arm sandbox_start_service || exit 1
                        elif [ "$rc" = 0 ]; then
                                is_member alice jit-ops && [ "${st##* }" = active ] ||
                                        notok "2: EIO from $f call $i: alice's sudo ran without an active grant and membership ($st)"
                        elif grep -q 'Input/output error\|cannot be written' <<<"$out" && not_member alice jit-ops &&
                             [ "${st##* }" != active ]; then
                                denied=$i
                                ok "2: EIO from $f call $i of a template grant: denied ($(head -n 1 <<<"$out")); no membership; the service answers"
                        else
                                notok "2: EIO from $f call $i: denied with the error, no membership (exit $rc, grants: $st)"
                                echo "$out" | diag
                        fi
                        consistent "2: EIO from $f call $i"
                        end_all
                        [ -n "$denied" ] && break
                done
                [ -n "$denied" ] || notok "2: EIO from $f: no call of the first 8 denied the grant"
        done
        sandbox_stop_service
        sandbox_start_service || exit 1
else
        ok "2: EIO from fsync and fdatasync # SKIP $BUILD/tests/failat.so is not built"
fi

# --- 3. stale and held locks on /etc/group and /etc/gshadow ------------------------------
echo "# $(secs) s: 3. locks"
end_all
# A lock left by a process that is gone: gpasswd breaks it.
sh -c 'printf %s $$ > /etc/group.lock; printf %s $$ > /etc/gshadow.lock'
out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "3: /etc/group.lock and /etc/gshadow.lock of a dead process: gpasswd breaks them, alice granted (exit $rc)" \
        eval '[ "$rc" = 0 ] && is_member alice jit-ops && [ ! -e /etc/group.lock ] && [ ! -e /etc/gshadow.lock ]'
consistent "3: lock of a dead process"
end_all
# locked WHAT HOW: a lock gpasswd will not break, then taken away.
locked() {
        local what=$1 out rc st
        out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
        st=$(grant_states alice jit-ops)
        if [ "$rc" != 0 ] && grep -q 'grant could not be applied (gpasswd: .*lock.*): access denied' <<<"$out" &&
           not_member alice jit-ops && [ "${st##* }" = revoked/error ]; then
                ok "3: $what: denied at once ($(grep -o 'gpasswd: [^)]*' <<<"$out" | head -n 1)); no membership; the grant record revoked by error"
        else
                notok "3: $what: denied with gpasswd's complaint, no membership (exit $rc, grants: $st)"
                echo "$out" | diag
        fi
}
: > /etc/group.lock
locked "an empty /etc/group.lock (no pid)"
rm -f /etc/group.lock
consistent "3: an empty /etc/group.lock, then removed"
: > /etc/gshadow.lock
locked "an empty /etc/gshadow.lock (no pid)"
rm -f /etc/gshadow.lock
consistent "3: an empty /etc/gshadow.lock, then removed"
sleep 300 & holder=$!
printf %s "$holder" > /etc/group.lock; printf %s "$holder" > /etc/gshadow.lock
locked "/etc/group.lock and /etc/gshadow.lock of a live process"
kill "$holder"; wait "$holder" 2>/dev/null
out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "3: once that process is gone the next sudo is granted (exit $rc), the locks broken" \
        eval '[ "$rc" = 0 ] && is_member alice jit-ops && [ ! -e /etc/group.lock ]'
consistent "3: lock holder gone"
end_all
# /etc/.pwd.lock held (lckpwdf(3), as vigr does while its editor is open):
# gpasswd would wait 15 s for it, and the service with it; the service
# waits a second, then denies without running gpasswd.
python3 -c 'import fcntl, sys, time
f = open("/etc/.pwd.lock", "w"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(60)' > "$W/pwlock.out" &
holder=$!
for _ in $(seq 1 50); do grep -q locked "$W/pwlock.out" && break; sleep 0.1; done
t0=$(date +%s%N)
out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
st=$(grant_states alice jit-ops)
if [ "$rc" != 0 ] && grep -q "the group files are locked (/etc/.pwd.lock held by pid $holder)" <<<"$out" &&
   not_member alice jit-ops && [ "${st##* }" = revoked/error ] && [ "$ms" -lt 5000 ]; then
        ok "3: /etc/.pwd.lock held by a live process: alice's sudo denied after $ms ms ($(grep -o 'the group files[^)]*)' <<<"$out")), no membership, the grant record revoked by error"
else
        notok "3: /etc/.pwd.lock held: alice's sudo denied within 5 s naming the lock, no membership (exit $rc after $ms ms, grants: $st)"
        echo "$out" | diag
fi
kill "$holder"; wait "$holder" 2>/dev/null
consistent "3: /etc/.pwd.lock released"
out=$(as alice sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
check "3: /etc/.pwd.lock released: the next sudo is granted (exit $rc)" eval '[ "$rc" = 0 ] && is_member alice jit-ops'
end_all

# --- 4. gpasswd, useradd and userdel racing the grants -------------------------------------
echo "# $(secs) s: 4. race"
end_all
RACE_S=4
(
        end=$((SECONDS + RACE_S)) i=0
        while [ "$SECONDS" -lt "$end" ]; do
                i=$((i + 1))
                useradd -M -N -s /usr/sbin/nologin "race$i" 2>>"$W/race.err" || continue
                gpasswd -a "race$i" jit-ops >/dev/null 2>>"$W/race.err"     # by hand, in a managed group
                gpasswd -a "race$i" staff-b >/dev/null 2>>"$W/race.err"
                gpasswd -d "race$i" jit-ops >/dev/null 2>>"$W/race.err"
                userdel "race$i" 2>>"$W/race.err"
        done
        echo "$i" > "$W/race.n"
) &
racer=$!
granted=0 denied=0 bad=
while kill -0 "$racer" 2>/dev/null; do
        for u in alice dave; do
                out=$(as "$u" "$JITCTL" --json request db --for 10m 2>&1); rc=$?
                g=$(active_grant "$u" jit-db)
                if [ "$rc" = 0 ] && [ -n "$g" ] && is_member "$u" jit-db; then
                        granted=$((granted + 1))
                elif [ "$rc" != 0 ] && [ -z "$g" ] && not_member "$u" jit-db; then
                        denied=$((denied + 1))
                else
                        bad="$bad $u: exit $rc, grant ${g:-none}, member $(is_member "$u" jit-db && echo yes || echo no);"
                fi
                [ -n "$g" ] && "$JITCTL" revoke "$g" >/dev/null 2>&1
        done
        out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
        g=$(active_grant carol jit-ops)
        if [ "$rc" = 0 ] && [ -n "$g" ]; then granted=$((granted + 1)); elif [ "$rc" != 0 ] && [ -z "$g" ]; then denied=$((denied + 1)); else bad="$bad carol: exit $rc, grant ${g:-none};"; fi
        [ -n "$g" ] && "$JITCTL" revoke "$g" >/dev/null 2>&1
done
wait "$racer"
if [ -z "$bad" ] && [ "$granted" -gt 0 ]; then
        ok "4: ${RACE_S} s of useradd/gpasswd/userdel ($(cat "$W/race.n") users through jit-ops and staff-b by hand): $granted grants held, $denied denied, none half-done"
else
        notok "4: grants racing useradd/gpasswd/userdel: each held or denied ($granted held, $denied denied):$bad"
fi
[ -s "$W/race.err" ] && sort "$W/race.err" | uniq -c | sort -rn | head -n 3 | diag
consistent "4: after the race"

# --- 5. the service SIGKILLed while a sudo waits ---------------------------------------
echo "# $(secs) s: 5. SIGKILL"
end_all
restart() { SERVICE_PID=; sandbox_start_service || exit 1; }
# a) alice waits (on a terminal) for an approval that does not come.
as_user_tty alice "sudo /usr/bin/id -un" > "$W/wait.out" 2>&1 &
spid=$!
for _ in $(seq 1 100); do grep -q 'needs approval\|already pending' "$W/wait.out" 2>/dev/null && break; sleep 0.05; done
t0=$(date +%s%N)
kill -KILL "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null
wait "$spid"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$rc" != 0 ] && grep -q 'lost contact with the jit service while waiting: denied' "$W/wait.out" && ! grep -qx 'root' "$W/wait.out"; then
        ok "5: the service SIGKILLed while alice's sudo waits for approval: denied $ms ms later (\"$(grep -o 'jit: lost contact[^[:cntrl:]]*' "$W/wait.out")\")"
else
        notok "5: the service SIGKILLed while alice's sudo waits: denied with a clear message (exit $rc after $ms ms)"
        diag < "$W/wait.out"
fi
restart
consistent "5: restarted after a SIGKILL during a wait"
# b) carol's template sudo while the service waits for gpasswd (made slow
# by a wrapper bound over /usr/bin/gpasswd in this mount namespace): the
# grant is on record and in the audit log, gpasswd not yet run.
cp /usr/bin/gpasswd "$W/gpasswd.real"
printf '#!/bin/sh\necho $$ > %s/gpasswd.pid\nsleep 2\nexec %s/gpasswd.real "$@"\n' "$W" "$W" > "$W/gpasswd.slow"
chmod 0755 "$W/gpasswd.slow"
mount --bind "$W/gpasswd.slow" /usr/bin/gpasswd
for orphan in finishes killed; do
        rm -f "$W/gpasswd.pid"
        as carol sudo -n /usr/bin/journalctl --version > "$W/carol.out" 2>&1 &
        spid=$!
        for _ in $(seq 1 100); do [ -s "$W/gpasswd.pid" ] && break; sleep 0.05; done
        t0=$(date +%s%N)
        kill -KILL "$SERVICE_PID"; wait "$SERVICE_PID" 2>/dev/null
        wait "$spid"; rc=$?
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        if [ "$rc" != 0 ] && grep -q 'no answer from the jit service: access denied' "$W/carol.out"; then
                ok "5: the service SIGKILLed while carol's sudo waits for its gpasswd: denied $ms ms later (\"$(head -n 1 "$W/carol.out")\")"
        else
                notok "5: the service SIGKILLed while carol's sudo waits for its gpasswd: denied with a clear message (exit $rc after $ms ms)"
                diag < "$W/carol.out"
        fi
        gp=$(cat "$W/gpasswd.pid" 2>/dev/null)
        if [ "$orphan" = killed ]; then
                kill -KILL "$gp" 2>/dev/null
        else
                while [ -n "$gp" ] && kill -0 "$gp" 2>/dev/null; do sleep 0.1; done
        fi
        for _ in $(seq 1 50); do umount /usr/bin/gpasswd 2>/dev/null && break; sleep 0.1; done
        was=$(is_member carol jit-ops && echo "in jit-ops" || echo "not in jit-ops")
        restart
        g=$(active_grant carol jit-ops)
        check "5: gpasswd $orphan after the kill (carol then $was): after the restart carol holds ${g:-no grant} (on record before gpasswd ran) and is in jit-ops" \
                eval '[ -n "$g" ] && is_member carol jit-ops'
        consistent "5: restarted after a SIGKILL during gpasswd ($orphan)"
        end_all
        mount --bind "$W/gpasswd.slow" /usr/bin/gpasswd
done
umount /usr/bin/gpasswd

echo "# $(secs) s"
echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
