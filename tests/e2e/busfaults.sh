#!/bin/bash
# e2e/busfaults — sd-bus calls made to fail at each call site in turn
# (issue 8, Faults). e2e/faults walks every other function through a grant,
# but its sandbox has no system bus: here the booted container
# (tests/e2e/nspawn.sh, as e2e/sysfaults-systemd) runs jit.service as
# shipped, expiry "auto", with tests/preload/failat.so preloaded by a
# drop-in (arm file /run/jit-failat/arm, "sd_bus_call N GEN").
#
# The flow, in two armed phases counted as one:
#   grant:  (a) carol's sudo through pam_jit, granted by a template;
#           (b) alice's request, approved by bob's signed approval;
#   end:    a jitctl reconcile while both grants are active (the check of
#           their timers), then (c) both revoked.
# A dry run counts the flow's sd_bus_call calls (StartTransientUnit,
# GetUnit, StopUnit; a call through sd_bus_call_method counts twice, as
# libsystemd's own sd_bus_call goes through the shim too); then for each
# N, call N fails (-EIO) and, disarmed:
#   - jit.service is alive, the same process (a crash is a failure);
#   - carol's sudo ran only as a member of jit-ops under a grant record
#     that was not refused and whose "grant" line is in the audit log;
#   - after the grant phase, before and after a jitctl reconcile: every
#     member of jit-ops holds an active grant, every active grant has its
#     audit line and its member; every active grant has an active
#     jit-expire-G.timer or (before the reconcile only) names none and the
#     journal said its loop will end it; after the reconcile every one has
#     its timer;
#   - after the end phase, the same, and no active grant is left;
#   - jitctl audit verify OK, grpck -r clean.
# Last, the timers a failed StopUnit left are started by hand: their
# jitctl expire succeeds and the revoked grants stay revoked.
# Not reached by these flows: the GetUnit of a unit-bound grant and
# logind's TerminateSession (end: sessions) — they run on a poll, not at a
# countable step.
#
#   tests/e2e/busfaults.sh BUILD_DIR
#
# Needs root; exits 77 (skip) when the machine cannot run nspawn at all.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/nspawn.sh"

MAX_RUNS=${MAX_RUNS:-24}   # calls walked at most (sampled evenly beyond)

T0=$(date +%s%N)
N=0
FAILS=0
ok()    { N=$((N + 1)); echo "ok $N - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $*"; }
diag()  { sed 's/^/#   /'; }
elapsed_ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
finish() {
        echo "# $N checks, $FAILS failed, $(elapsed_ms) ms"
        [ "$FAILS" = 0 ] && exit 0
        exit 1
}
dump_inside() {
        echo "# --- journal of jit.service ---"
        ns_run journalctl --no-pager -o short-precise -b -u jit.service 2>&1 | tail -n 20 | diag
}

ns_check
[ -x "$BUILD/jitctl" ] || { echo "not ok 1 - $BUILD has no jitctl: build the project first"; exit 1; }
[ -e "$BUILD/tests/failat.so" ] || { echo "SKIP: $BUILD/tests/failat.so is not built"; exit 77; }
[ -e "$BUILD/pam_jit.so" ] || { echo "not ok 1 - $BUILD has no pam_jit.so: build the project first"; exit 1; }
if ns_boot "$BUILD"; then ok "container booted with systemd"; else notok "container booted with systemd"; finish; fi

# --- install ----------------------------------------------------------------------------
ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/jit.service.in" >"$NS_TMP/jit.service"
ns_put "$NS_TMP/jit.service" /etc/systemd/system/jit.service 0644
ns_sh 'mkdir -p /etc/systemd/system/jit-expire-.service.d /etc/systemd/system/jit.service.d /run/jit-failat'
ns_put "$SRC/systemd/jit-expire-.service.d/sandbox.conf" /etc/systemd/system/jit-expire-.service.d/sandbox.conf 0644
cat >"$NS_TMP/failat.conf" <<'CONF'
[Service]
Environment=LD_PRELOAD=/opt/jit/tests/failat.so FAILAT_ARM=/run/jit-failat/arm FAILAT_LOG=/run/jit-failat/log
CONF
ns_put "$NS_TMP/failat.conf" /etc/systemd/system/jit.service.d/failat.conf 0644
# No reconcile pass of its own during a run (its GetUnit calls would move
# the count): the test asks for each one.
cat >"$NS_TMP/jit.conf" <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "auto", "timer_accuracy_ms": 10, "reconcile_interval": "1h" },
  "roles": {
    "ops": { "description": "e2e", "group": "jit-ops", "default_ttl": "5m", "max_ttl": "1h", "end_grace": "0",
             "requesters": { "users": ["alice", "carol"] }, "approvers": { "users": ["bob"] } }
  },
  "templates": {
    "carol-ops": { "role": "ops", "description": "e2e", "users": ["carol"] }
  }
}
CONF
ns_sh 'mkdir -p /etc/jit && chmod 0755 /etc/jit'
ns_put "$NS_TMP/jit.conf" /etc/jit/jit.conf 0644
if out=$(ns_sh '
        set -e
        groupadd --system jit-ops
        for u in alice bob carol; do useradd -m -s /bin/bash "$u"; usermod -p "*" "$u"; done
        echo "carol ALL=(ALL:ALL) NOPASSWD: ALL" > /etc/sudoers.d/jit
        chmod 0440 /etc/sudoers.d/jit
        visudo -cq
        sed -i "0,/^@include common-account/s||account required /opt/jit/pam_jit.so role=ops\n@include common-account|" /etc/pam.d/sudo
        grep -qx "account required /opt/jit/pam_jit.so role=ops" /etc/pam.d/sudo
        /opt/jit/jitctl policy check /etc/jit/jit.conf
        systemctl daemon-reload
        systemctl start jit.socket jit.service
        systemctl is-active jit.service
        echo "bob signs" > /home/bob/.pass && chown bob: /home/bob/.pass && chmod 0600 /home/bob/.pass
        runuser -u bob -- /opt/jit/jitctl keygen --passphrase-file /home/bob/.pass
        /opt/jit/jitctl approver add bob /home/bob/.config/jit/approver.pub
        tr "\0" "\n" < /proc/$(systemctl show -p MainPID --value jit.service)/environ | grep -qx "LD_PRELOAD=/opt/jit/tests/failat.so"' 2>&1); then
        ok "installed: jit.service active with failat.so preloaded, expiry auto, bob's signing key registered"
else
        notok "installed: jit.service active with failat.so preloaded"
        echo "$out" | diag
        finish
fi

ARM=/run/jit-failat/arm
FLOG=/run/jit-failat/log
arm()    { ns_sh 'echo "$1" > "$2"' "$1" "$ARM"; }
disarm() { ns_run rm -f "$ARM"; }
main_pid() { ns_run systemctl show -p MainPID --value jit.service; }

# Phase "grant": (a) and (b). Sets CAROL_RC, CAROL_OUT, REQ, APPR_RC.
flow_grant() {
        CAROL_OUT=$(ns_run runuser -u carol -- sudo -n /usr/bin/id -Gn carol 2>&1); CAROL_RC=$?
        REQ=$(ns_run runuser -u alice -- /opt/jit/jitctl --json request ops --for 5m --reason busfaults 2>/dev/null |
                grep -o '"request_id":[[:space:]]*"r-[0-9a-z]*"' | grep -o 'r-[0-9a-z]*')
        APPR_RC=-
        if [ -n "$REQ" ]; then
                ns_run runuser -u bob -- /opt/jit/jitctl approve --passphrase-file /home/bob/.pass "$REQ" >/dev/null 2>&1
                APPR_RC=$?
        fi
}
# Phase "end": a reconcile pass, then (c) every active grant revoked.
flow_end() {
        ns_run /opt/jit/jitctl reconcile >/dev/null 2>&1
        for g in $(active_grants); do ns_run /opt/jit/jitctl revoke "$g" >/dev/null 2>&1; done
}
# Active grants with no active timer (left to the service's loop).
timerless() {
        local g n=0
        for g in $(active_grants); do
                [ "$(ns_run systemctl is-active "jit-expire-$g.timer")" = active ] || n=$((n + 1))
        done
        echo "$n"
}
timers() { ns_run systemctl list-units --plain --no-legend --state=active "jit-expire-*.timer" | grep -c .; }
active_grants() { ns_sh 'grep -l "\"state\":\"active\"" /var/lib/jit/grants/g-* 2>/dev/null | xargs -rn1 basename'; }

# What is wrong with the state, one line each (nothing: consistent).
# $1: "before" (an active grant may be left to the loop, if it says so),
#     "after" (every active grant has its timer) or "none" (no active grant).
invariants() {
        local dump
        dump=$(ns_sh '
                for f in /var/lib/jit/grants/g-*; do [ -e "$f" ] && { echo "@@ $f"; cat "$f"; echo; }; done
                echo "@@ audit"; cat /var/lib/jit/audit.log
                echo "@@ members"; getent group jit-ops | cut -d: -f4
                echo "@@ timers"; systemctl list-units --all --plain --no-legend "jit-expire-*.timer"
                echo "@@ journal"; journalctl --no-pager -o cat -b -u jit.service | grep "cannot create the expiry timer"' 2>&1)
        python3 "$NS_TMP/invariants.py" "$1" "$CAROL_RC" "$CAROL_OUT" "$T_ITER" <<<"$dump"
        ns_run grpck -r >/dev/null 2>&1 || echo "grpck -r: $(ns_run grpck -r 2>&1 | head -n 2 | tr '\n' ' ')"
        out=$(ns_run /opt/jit/jitctl audit verify 2>&1) || echo "audit verify: $out"
}
cat >"$NS_TMP/invariants.py" <<'PY'
import json, sys
mode, carol_rc, carol_out, t_iter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
parts, cur = {}, None
for line in sys.stdin.read().split("\n"):
    if line.startswith("@@ "):
        cur = line[3:]; parts[cur] = []
    elif cur:
        parts[cur].append(line)
grants = {}
for k, v in parts.items():
    if k.startswith("/var/lib/jit/grants/"):
        try:
            g = json.loads("\n".join(v).split("\n", 1)[1])
            grants[g["id"]] = g
        except Exception as e:
            print("grant record %s does not parse: %s" % (k, e))
audited = set()
for line in parts.get("audit", []):
    try:
        a = json.loads(line)
    except Exception:
        continue
    if a.get("event") == "grant" and a.get("grant_id"):
        audited.add(a["grant_id"])
members = set(filter(None, "".join(parts.get("members", [])).split(",")))
timers = {l.split()[0] for l in parts.get("timers", []) if len(l.split()) > 2 and l.split()[2] == "active"}
said = "\n".join(parts.get("journal", []))
active = {i: g for i, g in grants.items() if g.get("state") == "active"}
holders = {g["user"] for g in active.values() if g.get("group") == "jit-ops"}
for u in sorted(members - holders):
    print("%s is in jit-ops with no active grant" % u)
for i, g in sorted(active.items()):
    if i not in audited:
        print("active grant %s (%s) has no grant line in the audit log" % (i, g["user"]))
    if g["user"] not in members:
        print("active grant %s: %s is not in jit-ops" % (i, g["user"]))
    unit = "jit-expire-%s.timer" % i
    if mode == "none":
        print("grant %s (%s) still active after its revoke" % (i, g["user"]))
    elif unit not in timers:
        if mode == "after":
            print("active grant %s (%s) has no timer after jitctl reconcile" % (i, g["user"]))
        elif g.get("timer"):
            print("active grant %s names %s, which does not exist" % (i, unit))
        elif "cannot create the expiry timer for %s" % i not in said:
            print("active grant %s has no timer and the journal does not say so" % i)
if carol_rc == "0" and mode == "before":
    mine = [g for g in grants.values() if g["user"] == "carol" and g.get("created_us", 0) >= t_iter]
    if "jit-ops" not in carol_out.split():
        print("carol's sudo ran while she was not in jit-ops (%s)" % carol_out.strip())
    if not mine:
        print("carol's sudo ran without a grant record")
    for g in mine:
        if g.get("ended_by") == "error":
            print("carol's sudo ran under %s, refused (ended by error)" % g["id"])
        if g["id"] not in audited:
            print("carol's sudo ran under %s, which has no grant line in the audit log" % g["id"])
PY

# Back to no grants, no pending request, unarmed.
cleanup() {
        local g
        disarm
        for g in $(active_grants); do ns_run /opt/jit/jitctl revoke "$g" >/dev/null 2>&1; done
        ns_run /opt/jit/jitctl --json list --all 2>/dev/null | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("requests", []):
    if r["user"] == "alice" and r["state"] == "pending": print(r["id"])' |
                while read -r id; do ns_run runuser -u alice -- /opt/jit/jitctl cancel "$id" >/dev/null 2>&1; done
}

# One run of the flow under "sd_bus_call N GEN" (N = 0: count only; the
# same content re-armed for the end phase, so the count goes on).
# Sets BAD (the lines found), CRASHED.
run() {
        local spec=$1 pid bad="" timers0
        pid=$(main_pid)
        timers0=$(timers)
        T_ITER=$(ns_sh 'echo $(( $(date +%s%N) / 1000 ))')
        arm "$spec"
        flow_grant
        disarm
        LOOPED=$(timerless)
        bad=$(invariants before | sed 's/^/grant phase: /')
        ns_run /opt/jit/jitctl reconcile >/dev/null 2>&1
        bad=$bad$'\n'$(invariants after | sed 's/^/grant phase, after reconcile: /')
        arm "$spec"
        flow_end
        disarm
        STALE=$(( $(timers) - timers0 ))
        bad=$bad$'\n'$(invariants none | sed 's/^/end phase: /')
        ns_run /opt/jit/jitctl reconcile >/dev/null 2>&1
        bad=$bad$'\n'$(invariants none | sed 's/^/end phase, after reconcile: /')
        CRASHED=
        if [ "$(main_pid)" != "$pid" ] || [ "$(ns_run systemctl is-active jit.service)" != active ]; then
                CRASHED=1
                for _ in $(seq 1 50); do [ "$(ns_run systemctl is-active jit.service)" = active ] && break; sleep 0.1; done
        fi
        BAD=$(grep . <<<"$bad")
}

# --- 0. without faults, then the dry run ---------------------------------------------------
T_ITER=0
run "sd_bus_call 0 plain"
if [ "$CAROL_RC/$APPR_RC" = "0/0" ] && [ -z "$BAD" ] && [ -z "$CRASHED" ]; then
        ok "without faults: carol's template sudo runs, alice's request is approved by bob's signature, both revoked, consistent"
else
        notok "without faults: carol $CAROL_RC, approve $APPR_RC${CRASHED:+, THE SERVICE DIED}: $(tr '\n' ';' <<<"$BAD")"
        dump_inside
fi
cleanup
ns_run rm -f "$FLOG"
run "sd_bus_call 0 dry"
cleanup
DRY=$(ns_run cat "$FLOG" 2>/dev/null | awk '$1 == "dry"')
CALLS=$(grep -c . <<<"$DRY")
# sd_bus_call_method reaches sd_bus_call through libsystemd's PLT: the
# shim counts that inner call too (the same site, failing one step later).
SITE=$(awk '{ s = $4 == "sd_bus_call" ? (m != "" ? "sd_bus_call in " m : "StartTransientUnit") : $4
              m = $4 == "sd_bus_call" ? "" : $4; print s }' <<<"$DRY")
SITES=$(sort <<<"$SITE" | uniq -c | awk '{ c = $1; $1 = ""; printf "%s%s x%s", (NR > 1 ? "," : ""), $0, c }')
if [ "$CALLS" -ge 4 ] && grep -qx StartTransientUnit <<<"$SITE" && grep -qx GetUnit <<<"$SITE" && grep -qx StopUnit <<<"$SITE"; then
        ok "dry run: $CALLS sd_bus_call calls in the flow:$SITES"
else
        notok "dry run: the flow makes StartTransientUnit, GetUnit and StopUnit calls (counted $CALLS: ${SITES:-none})"
        echo "$DRY" | diag
        finish
fi
awk '{ print "call " NR ": " $0 }' <<<"$SITE" | diag

# --- 1. each call in turn ------------------------------------------------------------------
step=1
[ "$CALLS" -gt "$MAX_RUNS" ] && step=$(( (CALLS + MAX_RUNS - 1) / MAX_RUNS ))
RUNS=0 DENIED=0 GRANTED=0 CRASHES=0
for ((i = 1; i <= CALLS; i += step)); do
        gen=bus-$i
        run "sd_bus_call $i $gen"
        site=$(ns_run cat "$FLOG" 2>/dev/null | awk -v g="$gen" '$1 == g && $NF == "FAIL" { print $4 }')
        [ -n "$site" ] && site=$(sed -n "${i}p" <<<"$SITE")
        RUNS=$((RUNS + 1))
        [ "$CAROL_RC" = 0 ] && GRANTED=$((GRANTED + 1)) || DENIED=$((DENIED + 1))
        [ "$APPR_RC" = 0 ] && GRANTED=$((GRANTED + 1)) || DENIED=$((DENIED + 1))
        [ -n "$CRASHED" ] && CRASHES=$((CRASHES + 1))
        what="call $i (${site:-not reached}) fails: carol's sudo $CAROL_RC, bob's approval $APPR_RC"
        if [ -n "$site" ] && [ -z "$BAD" ] && [ -z "$CRASHED" ]; then
                more=
                [ "$LOOPED" != 0 ] && more="; $LOOPED grant(s) left to the loop until the reconcile made the timer"
                [ "$STALE" != 0 ] && more="$more; $STALE timer(s) of revoked grants left (their jitctl expire finds them ended)"
                ok "$what: service alive, consistent before and after jitctl reconcile$more"
        else
                notok "$what${CRASHED:+; THE SERVICE DIED}${BAD:+; }$(tr '\n' ';' <<<"$BAD")"
                dump_inside
        fi
        cleanup
done

# --- 2. the timers a failed StopUnit left behind fire: nothing changes ----------------------
left=$(ns_run systemctl list-units --plain --no-legend --state=active "jit-expire-*.timer" | awk '{ print $1 }' |
        sed -n 's/^jit-expire-\(g-[0-9a-z]*\)\.timer$/\1/p')
if [ -n "$left" ]; then
        bad=
        for g in $left; do
                ns_run systemctl start "jit-expire-$g.service" >/dev/null 2>&1 ||
                        bad="$bad jit-expire-$g.service failed;"
                st=$(ns_sh 'sed -n 2p "/var/lib/jit/grants/$1"' "$g" | python3 -c 'import json, sys; g = json.load(sys.stdin); print(g["state"], g.get("ended_by"))' 2>&1)
                [ "${st%% *}" = revoked ] || bad="$bad $g is now $st;"
        done
        T_ITER=0 CAROL_RC=- CAROL_OUT=
        bad="$bad$(invariants none | tr '\n' ';')"
        if [ -z "$bad" ] && [ "$(ns_run systemctl is-active jit.service)" = active ]; then
                ok "the $(wc -w <<<"$left") timers of revoked grants, started now: their jitctl expire succeeds, the grants stay revoked, consistent"
        else
                notok "the timers of revoked grants, started now: $bad"
                dump_inside
        fi
fi

echo "# $RUNS runs over $CALLS calls: $GRANTED granted, $DENIED denied (carol's sudo and bob's approval each count), $CRASHES crashes"
finish
