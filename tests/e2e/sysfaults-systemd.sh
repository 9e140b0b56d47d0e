#!/bin/bash
# e2e/sysfaults-systemd — system faults that need a real systemd (issue 8,
# Faults): D-Bus gone, inotify exhausted. A Debian 12 container booted with
# systemd-nspawn (tests/e2e/nspawn.sh, the cached rootfs), jit.socket and
# jit.service installed as shipped, settings.expiry "auto".
#
#   1. With D-Bus: a grant gets its jit-expire-G.timer, which ends it.
#   2. dbus.socket and dbus.service stopped under the running service:
#      a grant is still made, says in the journal that its timer could not
#      be made, and the service's own loop ends it on time (never a grant
#      without an end); a grant whose timer was made before still ends by
#      it (the timer needs no D-Bus to fire, jitctl expire none to reach
#      the service).
#   3. jit.service restarted while D-Bus is down: it says so, expires by
#      its own loop, and ends a grant on time.
#   4. D-Bus back, jit.service restarted: timers again.
#   5. root's inotify instances exhausted (a helper holds every one it can
#      get, for a few seconds): the service, which needs none, grants and
#      its timer ends the grant; jit-notify, which needs one, refuses to
#      start with a clear message. The count is per user, and uid 0 of the
#      container is the host's root: for those seconds no root process on
#      the host gets a new inotify instance either, so the window is kept
#      short (JIT_SYSFAULTS_INOTIFY=0 skips it).
# After each: every member of jit-db holds an active grant, every active
# grant its member, grpck -r clean, jitctl audit verify OK.
#
#   tests/e2e/sysfaults-systemd.sh BUILD_DIR
#
# Needs root; exits 77 (skip) when the machine cannot run nspawn at all.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/nspawn.sh"

TTL=3           # seconds: each grant's life
LATE_MS=2500    # how late after its expiry a grant may end (timers: 10 ms accuracy)

T0=$(date +%s%N)
N=0
FAILS=0
ok()    { N=$((N + 1)); echo "ok $N - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $*"; }
skip()  { N=$((N + 1)); echo "ok $N - $* # SKIP"; }
diag()  { sed 's/^/#   /'; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
elapsed_ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
finish() {
        echo "# $N checks, $FAILS failed, $(elapsed_ms) ms"
        [ "$FAILS" = 0 ] && exit 0
        exit 1
}
jget() {
        python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
if isinstance(v, float) and v.is_integer():
    v = int(v)
print("" if v is None else v)' "$1" 2>/dev/null
}
dump_inside() {
        echo "# --- journal of jit.service ---"
        ns_run journalctl --no-pager -o short-precise -b -u jit.service -u 'jit-expire-*' -u dbus.service 2>&1 | tail -n 25 | diag
}
is_member() { ns_sh 'awk -F: -v g="$2" "\$1 == g { print \$4 }" /etc/group | tr , "\n" | grep -qx "$1"' "$1" "$2"; }
jlog() { ns_run journalctl --no-pager -o cat -b -u jit.service | grep -qF -- "$1"; }

ns_check
[ -x "$BUILD/jitctl" ] || { echo "not ok 1 - $BUILD has no jitctl: build the project first"; exit 1; }
if ns_boot "$BUILD"; then ok "container booted with systemd"; else notok "container booted with systemd"; finish; fi

# --- install --------------------------------------------------------------------------
ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/jit.service.in" >"$NS_TMP/jit.service"
ns_put "$NS_TMP/jit.service" /etc/systemd/system/jit.service 0644
ns_sh 'mkdir -p /etc/systemd/system/jit-expire-.service.d'
ns_put "$SRC/systemd/jit-expire-.service.d/sandbox.conf" /etc/systemd/system/jit-expire-.service.d/sandbox.conf 0644
cat >"$NS_TMP/jit.conf" <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "auto", "timer_accuracy_ms": 10 },
  "roles": {
    "db": { "description": "e2e", "group": "jit-db", "max_ttl": "1h", "end_grace": "0",
            "requesters": { "users": ["alice", "bob"] }, "approvers": { "users": ["root"] } }
  },
  "templates": {
    "t-db": { "role": "db", "description": "e2e", "users": ["alice", "bob"] }
  }
}
CONF
ns_sh 'mkdir -p /etc/jit && chmod 0755 /etc/jit'
ns_put "$NS_TMP/jit.conf" /etc/jit/jit.conf 0644
if out=$(ns_sh '
        set -e
        groupadd --system jit-db
        for u in alice bob; do useradd -m -s /bin/bash "$u"; done
        /opt/jit/jitctl policy check /etc/jit/jit.conf
        systemctl daemon-reload
        systemctl start jit.socket jit.service
        systemctl is-active jit.service' 2>&1); then
        ok "installed: jit.socket and jit.service active, expiry auto"
else
        notok "installed: jit.socket and jit.service active"
        echo "$out" | diag
        finish
fi

# Every member of jit-db holds an active grant and the other way round,
# grpck -r, audit verify: nothing printed when all hold.
invariants() {
        local list members
        list=$(ns_run /opt/jit/jitctl --json list --all 2>&1)
        members=$(ns_run getent group jit-db | cut -d: -f4)
        python3 - "$list" "$members" <<'PY'
import json, sys
lst, members = json.loads(sys.argv[1]), set(filter(None, sys.argv[2].split(",")))
active = {g["user"] for g in lst.get("grants", []) if g.get("state") == "active"}
for m in sorted(members - active):
    print("%s is in jit-db without an active grant" % m)
for u in sorted(active - members):
    print("%s has an active grant but is not in jit-db" % u)
PY
        ns_run grpck -r >/dev/null 2>&1 || echo "grpck -r: $(ns_run grpck -r 2>&1 | head -n 2 | tr '\n' ' ')"
        out=$(ns_run /opt/jit/jitctl audit verify 2>&1) || echo "audit verify: $out"
}
consistent() {
        local bad
        bad=$(invariants)
        [ -z "$bad" ] && bad=$(ns_run /opt/jit/jitctl reconcile >/dev/null 2>&1; invariants | sed 's/^/after reconcile: /')
        if [ -z "$bad" ]; then ok "$1: consistent (before and after jitctl reconcile)"
        else notok "$1: $(tr '\n' ';' <<<"$bad")"; dump_inside; fi
}

# grant USER: a TTL-second grant by template; sets G, EXP (µs).
grant() {
        local ans
        ans=$(ns_run runuser -u "$1" -- /opt/jit/jitctl --json request db --for "${TTL}s" 2>&1)
        G=$(echo "$ans" | jget grant.id)
        EXP=$(echo "$ans" | jget grant.expires_us)
        [ -n "$G" ] || echo "$ans" | diag
}
timer_of() { ns_run systemctl is-active "jit-expire-$1.timer" 2>/dev/null; }
# ended USER G EXP HOW DESC: the grant ends (by HOW) within LATE_MS of its
# expiry, its member gone.
ended() {
        local u=$1 g=$2 exp=$3 how=$4 desc=$5 st by late
        while [ "$(( $(date +%s%N) / 1000 ))" -lt "$(( exp + LATE_MS * 1000 ))" ]; do
                is_member "$u" jit-db || break
                sleep 0.1
        done
        late=$(( ($(date +%s%N) / 1000 - exp) / 1000 ))
        st=$(ns_run /opt/jit/jitctl --json show "$g" 2>/dev/null)
        by=$(echo "$st" | jget grant.ended_by)
        if ! is_member "$u" jit-db && [ "$(echo "$st" | jget grant.state)" = expired ] && [ "$by" = "$how" ]; then
                ok "$desc: $g ended by $by, $u out of jit-db (seen ${late} ms after its expiry)"
        else
                notok "$desc: $g ended by $how within $LATE_MS ms of its expiry ($(echo "$st" | jget grant.state) by ${by:-nobody}, member: $(is_member "$u" jit-db && echo yes || echo no), ${late} ms)"
                dump_inside
        fi
}

# --- 1. with D-Bus ------------------------------------------------------------------------
grant alice
check "1: with D-Bus: alice granted ($G), in jit-db, jit-expire-$G.timer $(timer_of "$G")" \
        eval '[ -n "$G" ] && is_member alice jit-db && [ "$(timer_of "$G")" = active ]'
ended alice "$G" "$EXP" timer "1: with D-Bus"
consistent "1: with D-Bus"

# --- 2. D-Bus stopped under the running service --------------------------------------------
# bob's grant gets its timer first; then D-Bus goes.
TTL=6 grant bob; GB=$G EXPB=$EXP
ns_sh 'systemctl stop dbus.socket dbus.service' 2>&1 | diag
check "2: dbus.socket and dbus.service stopped (dbus: $(ns_run systemctl is-active dbus.service))" \
        eval '[ "$(ns_run systemctl is-active dbus.service)" != active ] && [ "$(ns_run systemctl is-active jit.service)" = active ]'
grant alice
if [ -n "$G" ] && is_member alice jit-db && [ "$(timer_of "$G")" != active ] &&
   jlog "cannot create the expiry timer for $G"; then
        ok "2: D-Bus down: alice granted ($G) without a timer, the journal says \"cannot create the expiry timer for $G (...): the service's own loop will end it\""
else
        notok "2: D-Bus down: alice granted without a timer, and the journal says so (grant ${G:-none}, timer $(timer_of "$G"))"
        dump_inside
fi
ended alice "$G" "$EXP" loop "2: D-Bus down"
ended bob "$GB" "$EXPB" timer "2: D-Bus down, a grant whose timer was made before"
consistent "2: D-Bus down"

# --- 3. jit.service restarted while D-Bus is down -------------------------------------------
ns_run systemctl restart jit.service
if [ "$(ns_run systemctl is-active jit.service)" = active ] && jlog "cannot reach systemd over D-Bus" &&
   ns_run journalctl --no-pager -o cat -b -u jit.service | grep 'jit service ready' | tail -n 1 | grep -q "the service's own loop"; then
        ok "3: restarted without D-Bus: active; \"cannot reach systemd over D-Bus (...): the service's own loop expires grants\""
else
        notok "3: restarted without D-Bus: active, says it expires grants by its own loop"
        dump_inside
fi
grant alice
check "3: alice granted ($G), no timer" eval '[ -n "$G" ] && is_member alice jit-db && [ "$(timer_of "$G")" != active ]'
ended alice "$G" "$EXP" loop "3: without D-Bus since the start"
consistent "3: without D-Bus since the start"

# --- 4. D-Bus back ---------------------------------------------------------------------------
# (systemd itself takes a moment to come back onto the new bus)
ns_sh 'systemctl start dbus.socket dbus.service
        for i in $(seq 1 100); do
                busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.DBus.Peer Ping >/dev/null 2>&1 && break
                sleep 0.1
        done
        systemctl restart jit.service' 2>&1 | diag
grant alice
check "4: D-Bus back, jit.service restarted: alice granted ($G) with jit-expire-$G.timer" \
        eval '[ -n "$G" ] && is_member alice jit-db && [ "$(timer_of "$G")" = active ]'
ended alice "$G" "$EXP" timer "4: D-Bus back"
consistent "4: D-Bus back"

# --- 5. inotify instances exhausted ----------------------------------------------------------
if [ "${JIT_SYSFAULTS_INOTIFY:-1}" = 0 ]; then
        skip "5: inotify exhausted (JIT_SYSFAULTS_INOTIFY=0)"
        finish
fi
# The helper (on the host: the container has no python3, and its root is
# the host's) takes every inotify instance root may still have, says how
# many, and holds them until its stdin closes (at most 15 s), taking at
# once any that another root process lets go of.
INOTIFY_PY='
import ctypes, os, select, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fds = []
while len(fds) < 100000:
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0:
        break
    fds.append(fd)
print("%d %s" % (len(fds), os.strerror(ctypes.get_errno())), flush=True)
end = time.time() + 15
while time.time() < end and not select.select([sys.stdin], [], [], 0.002)[0]:
    fd = libc.inotify_init1(os.O_CLOEXEC)     # one another root process let go of
    if fd >= 0:
        fds.append(fd)'
exec 8> >(python3 -c "$INOTIFY_PY" > "$NS_TMP/hog.out" 2>&1)
for _ in $(seq 1 50); do [ -s "$NS_TMP/hog.out" ] && break; sleep 0.1; done
hog=$(cat "$NS_TMP/hog.out" 2>/dev/null)
probe=$(python3 -c 'import ctypes, os; l = ctypes.CDLL(None, use_errno=True); print("free" if l.inotify_init1(0) >= 0 else os.strerror(ctypes.get_errno()))')
if [ -n "$hog" ] && [ "$probe" != free ]; then
        ok "5: root's inotify instances exhausted (the helper holds ${hog%% *} more; a new one: $probe)"
        TTL=2 grant alice
        check "5: inotify exhausted: alice granted ($G), in jit-db, jit-expire-$G.timer $(timer_of "$G")" \
                eval '[ -n "$G" ] && is_member alice jit-db && [ "$(timer_of "$G")" = active ]'
        # (a root process elsewhere may let one go just before jit-notify
        # asks: up to three tries)
        for _ in 1 2 3; do
                out=$(ns_run timeout 3 /opt/jit/jit-notify 2>&1); rc=$?
                [ "$rc" = 124 ] || break
        done
        if [ "$rc" = 1 ] && grep -q 'cannot watch the outbox .*: Too many open files' <<<"$out"; then
                ok "5: inotify exhausted: jit-notify refuses to start (exit 1: $(head -n 1 <<<"$out"))"
        else
                notok "5: inotify exhausted: jit-notify refuses to start with a clear message (exit $rc)"
                echo "$out" | diag
        fi
        ended alice "$G" "$EXP" timer "5: inotify exhausted"
        exec 8>&-       # the helper lets go: the host's root has its instances back
else
        exec 8>&-
        notok "5: root's inotify instances exhausted by the helper (helper: ${hog:-nothing}, a new one: $probe)"
fi
consistent "5: inotify exhausted, then freed"

finish
