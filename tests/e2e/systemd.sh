#!/bin/bash
# e2e/systemd — the whole grant life cycle under a real systemd.
#
#   tests/e2e/systemd.sh BUILD_DIR
#
# Boots a throwaway Debian 12 container (systemd-nspawn, tests/e2e/nspawn.sh)
# with BUILD_DIR bound read-only at /opt/jit, installs jit.socket and
# jit.service, and checks that a grant obtained with `jitctl request` is a
# real group membership, that its expiry is a transient systemd timer, that
# the timer (and nobody else) strips the membership at expiry, that journald
# holds the structured events, that a real sudo goes through pam_jit.so,
# that a service account is granted only from its declared systemd unit,
# and that a break-glass is granted at once, raises an alert-priority journal
# event that the catalog explains, and stays open until another approver
# reviews it.
# Needs root; exits 77 (skip) when the machine cannot run nspawn at all.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/nspawn.sh"

TTL=5           # seconds: the grant's life
EXPIRY_BOUND=60 # seconds we wait for the timer to strip the membership

T0=$(date +%s%N)
N=0
FAILS=0
ok()    { N=$((N + 1)); echo "ok - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
diag()  { sed 's/^/#   /'; }
elapsed_ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }

# Read one value from the JSON on stdin: jget 'grant.id'.
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

finish() {
        echo "# $N checks, $FAILS failed, $(elapsed_ms) ms"
        [ "$FAILS" = 0 ] && exit 0
        exit 1
}

# The container's side of a failure: everything jit said, and systemd's view.
dump_inside() {
        echo "# --- journal of jit.service and jit-expire-* units ---"
        ns_run journalctl --no-pager -o short-precise -u jit.service -u jit.socket -u 'jit-expire-*' 2>&1 | tail -n 40 | diag
        echo "# --- timers ---"
        ns_run systemctl list-timers --all --no-pager 2>&1 | diag
}

ns_check
if [ ! -x "$BUILD/jitctl" ] || [ ! -f "$BUILD/pam_jit.so" ]; then
        echo "not ok - $BUILD has no jitctl and pam_jit.so: build the project first"
        exit 1
fi

if ns_boot "$BUILD"; then
        ok "container booted with systemd"
else
        notok "container booted with systemd"
        finish
fi

# --- install: units, policy, users, sudo + PAM ---------------------------------
ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/jit.service.in" >"$NS_TMP/jit.service"
if grep -q '@[A-Z_]*@' "$NS_TMP/jit.service"; then
        notok "jit.service.in has only @CMAKE_INSTALL_FULL_BINDIR@ to substitute"
        grep '@[A-Z_]*@' "$NS_TMP/jit.service" | diag
fi
ns_put "$NS_TMP/jit.service" /etc/systemd/system/jit.service 0644
# The sandbox of the transient expiry units: a drop-in by name prefix.
ns_sh 'mkdir -p /etc/systemd/system/jit-expire-.service.d'
ns_put "$SRC/systemd/jit-expire-.service.d/sandbox.conf" /etc/systemd/system/jit-expire-.service.d/sandbox.conf 0644

# Templates match when users/groups match and list no commands, so
# `jitctl request ops` by alice is granted at once. expiry "auto": timers,
# because systemd is there. Nobody but alice may request ops.
# bob is on call for db: he may break the glass (checked last, so the
# counts of grants and events above see none of it); alice reviews it. bob
# approves db too, so only "not your own" stops him reviewing himself.
cat >"$NS_TMP/jit.conf" <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "auto", "timer_accuracy_ms": 10 },
  "roles": {
    "ops": {
      "description": "Operate services (end-to-end test)",
      "group": "jit-ops",
      "default_ttl": "5s",
      "max_ttl": "1m",
      "requesters": { "users": ["alice"] },
      "approvers": { "users": ["root"] }
    },
    "deploy": {
      "description": "Deploy (a service account, from its own unit only)",
      "group": "jit-deploy",
      "max_ttl": "1m",
      "tier": "auto",
      "requesters": { "users": ["svc-deploy"] }
    },
    "db": {
      "description": "Database emergencies (break-glass, checked last)",
      "group": "jit-db",
      "max_ttl": "1h",
      "requesters": { "users": ["bob"] },
      "approvers": { "users": ["alice", "bob"] },
      "break_glass": { "users": ["bob"], "max_ttl": "10m" }
    }
  },
  "templates": {
    "alice-ops": {
      "role": "ops",
      "description": "alice may take ops for a moment without asking",
      "users": ["alice"],
      "max_ttl": "30s"
    },
    "deploy-job": {
      "role": "deploy",
      "description": "the deploy service account takes deploy without asking",
      "users": ["svc-deploy"]
    }
  },
  "accounts": {
    "svc-deploy": { "kind": "service", "units": ["deploy-job.service"] }
  }
}
CONF
ns_sh 'mkdir -p /etc/jit && chown root:root /etc/jit && chmod 0755 /etc/jit'
ns_put "$NS_TMP/jit.conf" /etc/jit/jit.conf 0644
ns_sh 'chown root:root /etc/jit/jit.conf'

if out=$(ns_sh '
        set -e
        groupadd --system jit-ops
        for u in alice bob; do
                useradd -m -s /bin/bash "$u"
                usermod -p "*" "$u"
        done
        # sudo lets both run anything; pam_jit decides whether they may now.
        echo "alice,bob ALL=(ALL:ALL) NOPASSWD: ALL" > /etc/sudoers.d/jit
        chmod 0440 /etc/sudoers.d/jit
        visudo -cq
        # First line of the account phase.
        sed -i "0,/^@include common-account/s||account required /opt/jit/pam_jit.so role=ops\n@include common-account|" /etc/pam.d/sudo
        grep -qx "account required /opt/jit/pam_jit.so role=ops" /etc/pam.d/sudo
        /opt/jit/jitctl policy check /etc/jit/jit.conf
        systemctl daemon-reload
        systemctl enable --now jit.socket
        systemctl is-active jit.socket
' 2>&1); then
        ok "installed units, policy, users, sudoers and the PAM line; jit.socket is active"
else
        notok "installed units, policy, users, sudoers and the PAM line; jit.socket is active"
        echo "$out" | diag
        finish
fi

# --- fail closed: bob may not request ops, so sudo must refuse him --------------
out=$(ns_run runuser -u bob -- sudo -n /usr/bin/id -un 2>&1)
rc=$?
if [ "$rc" != 0 ] && [ "$out" != root ]; then
        ok "sudo as bob (no grant, not a requester) is refused by pam_jit (exit $rc)"
else
        notok "sudo as bob (no grant, not a requester) is refused by pam_jit"
        echo "$out" | diag
fi
if [ "$(ns_run systemctl is-active jit.service)" = active ]; then
        ok "jit.service was started by socket activation"
else
        notok "jit.service was started by socket activation"
        dump_inside
fi

FILEMODES_BEFORE=$(ns_run stat -c '%n %a %U:%G' /etc/group /etc/gshadow)

# --- a grant ---------------------------------------------------------------------
ans=$(ns_run runuser -u alice -- /opt/jit/jitctl --json request ops --for "${TTL}s" 2>&1)
rc=$?
G=$(echo "$ans" | jget grant.id)
EXPIRES_US=$(echo "$ans" | jget grant.expires_us)
if [ "$rc" = 0 ] && [ "$(echo "$ans" | jget decision)" = allow ] && [ -n "$G" ]; then
        ok "alice: jitctl request ops --for ${TTL}s is granted at once ($G)"
else
        notok "alice: jitctl request ops --for ${TTL}s is granted at once (exit $rc)"
        echo "$ans" | diag
        dump_inside
        finish
fi
EXPIRES_US=${EXPIRES_US%.*}

# (a) a real membership, in both files
members() { # FILE GROUP -> the member list, one a line
        ns_sh 'awk -F: -v g="$2" "\$1 == g { print \$4 }" "$1" | tr , "\n"' "$1" "$2"
}
if members /etc/group jit-ops | grep -qx alice; then
        ok "(a) alice is in jit-ops in /etc/group"
else
        notok "(a) alice is in jit-ops in /etc/group"
        ns_run grep '^jit-ops:' /etc/group | diag
fi
if members /etc/gshadow jit-ops | grep -qx alice; then
        ok "(a) alice is in jit-ops in /etc/gshadow"
else
        notok "(a) alice is in jit-ops in /etc/gshadow"
        ns_run grep '^jit-ops:' /etc/gshadow | diag
fi

# (b) the expiry timer
TIMER="jit-expire-$G.timer"
if ns_run systemctl list-timers --all --no-legend --no-pager | grep -qF "$TIMER"; then
        ok "(b) systemctl list-timers --all shows $TIMER"
else
        notok "(b) systemctl list-timers --all shows $TIMER"
        dump_inside
fi
props=$(ns_run systemctl show "$TIMER" -p TimersCalendar -p AccuracyUSec -p Triggers 2>&1)
echo "$props" | diag
if echo "$props" | grep -q "^Triggers=jit-expire-$G.service" &&
   echo "$props" | grep -q '^AccuracyUSec=10ms'; then
        ok "(b) $TIMER triggers jit-expire-$G.service with AccuracyUSec=10ms"
else
        notok "(b) $TIMER triggers jit-expire-$G.service with AccuracyUSec=10ms"
fi
svcexec=$(ns_run systemctl show "jit-expire-$G.service" -p ExecStart 2>&1)
if echo "$svcexec" | grep -qF "path=/opt/jit/jitctl ; argv[]=jitctl --socket /run/jit/jit.sock expire $G ;"; then
        ok "(b) jit-expire-$G.service runs /opt/jit/jitctl --socket /run/jit/jit.sock expire $G"
else
        notok "(b) jit-expire-$G.service runs /opt/jit/jitctl --socket /run/jit/jit.sock expire $G"
        echo "$svcexec" | diag
fi
sandbox=$(ns_run systemctl show "jit-expire-$G.service" -p DropInPaths -p PrivateUsers -p CapabilityBoundingSet 2>&1)
exposure=$(ns_run systemd-analyze security "jit-expire-$G.service" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if echo "$sandbox" | grep -qx 'DropInPaths=/etc/systemd/system/jit-expire-.service.d/sandbox.conf' &&
   echo "$sandbox" | grep -qx 'PrivateUsers=yes' && echo "$sandbox" | grep -qx 'CapabilityBoundingSet=' &&
   awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'; then
        ok "(b) jit-expire-$G.service runs in the sandbox of jit-expire-.service.d (no capabilities, private users; exposure $exposure)"
else
        notok "(b) jit-expire-$G.service runs in the sandbox of jit-expire-.service.d (exposure ${exposure:-?})"
        echo "$sandbox" | diag
fi

# The real sudo path while the grant is active: account phase -> pam_jit.so ->
# the service says "active grant" -> root.
out=$(ns_run runuser -u alice -- sudo -n /usr/bin/id -un 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ "$out" = root ]; then
        ok "sudo as alice with the active grant runs id -un as root"
else
        notok "sudo as alice with the active grant runs id -un as root (exit $rc)"
        echo "$out" | diag
fi
now_us=$(( $(date +%s%N) / 1000 ))
if [ "$now_us" -ge "$EXPIRES_US" ]; then
        notok "the checks above finished before the grant expired (they took too long; raise TTL)"
fi

# (c) nobody calls jitctl now: the timer must strip the membership.
if ns_sh '
        end=$(( $(date +%s) + $1 ))
        while [ "$(date +%s)" -le "$end" ]; do
                awk -F: "\$1 == \"jit-ops\" { print \$4 }" /etc/group | tr , "\n" | grep -qx alice || exit 0
                sleep 0.1
        done
        exit 1' "$((TTL + EXPIRY_BOUND))"; then
        gone_us=$(( $(date +%s%N) / 1000 ))
        ok "(c) without any jitctl call, alice left jit-ops by $(( (gone_us - EXPIRES_US) / 1000 )) ms after expires_us"
else
        notok "(c) without any jitctl call, alice left jit-ops within ${EXPIRY_BOUND}s of expiry"
        dump_inside
fi
if members /etc/gshadow jit-ops | grep -qx alice; then
        notok "(c) alice is gone from jit-ops in /etc/gshadow"
else
        ok "(c) alice is gone from jit-ops in /etc/gshadow"
fi

# (d) the record: expired, by the timer (the service's backstop says "reconcile",
# its own loop "loop", a person their name).
show=$(ns_run /opt/jit/jitctl --json show "$G" 2>&1)
state=$(echo "$show" | jget grant.state)
by=$(echo "$show" | jget grant.ended_by)
ended=$(echo "$show" | jget grant.ended_us)
ended=${ended%.*}
if [ "$state" = expired ] && [ "$by" = timer ]; then
        ok "(d) jitctl show $G: state expired, ended_by timer ($(( (${ended:-0} - EXPIRES_US) / 1000 )) ms after expires_us)"
else
        notok "(d) jitctl show $G: state expired, ended_by timer (got state=${state:-?} ended_by=${by:-?})"
        echo "$show" | diag
        dump_inside
fi

# The expiry unit ran and succeeded; the timer is gone.
unitlog=$(ns_run journalctl --no-pager -o cat -u "jit-expire-$G.service" 2>&1)
if echo "$unitlog" | grep -q 'Deactivated successfully' && ! echo "$unitlog" | grep -qi 'failed'; then
        ok "jit-expire-$G.service ran and succeeded"
else
        notok "jit-expire-$G.service ran and succeeded"
        echo "$unitlog" | diag
fi
if ns_run systemctl list-timers --all --no-legend --no-pager | grep -qF "$TIMER"; then
        notok "$TIMER is gone after expiry"
        ns_run systemctl status --no-pager "$TIMER" 2>&1 | diag
else
        ok "$TIMER is gone after expiry"
fi

# A stray expiry timer (no grant names it, as one left by a StopUnit that
# failed): the next reconcile pass stops it.
STRAY=jit-expire-g-0000000000.timer
ns_run systemd-run --quiet --unit jit-expire-g-0000000000 --on-calendar "2099-01-01 00:00:00 UTC" /bin/true
if ns_run systemctl list-timers --all --no-legend --no-pager | grep -qF "$STRAY" &&
   ns_run /opt/jit/jitctl reconcile >/dev/null 2>&1 &&
   ! ns_run systemctl list-timers --all --no-legend --no-pager | grep -qF "$STRAY" &&
   ns_run journalctl --no-pager -o cat SYSLOG_IDENTIFIER=jit | grep -q "$STRAY names no grant of this host: stopped"; then
        ok "a stray $STRAY (no such grant) is stopped by jitctl reconcile, and logged"
else
        notok "a stray $STRAY (no such grant) is stopped by jitctl reconcile, and logged"
        ns_run systemctl list-timers --all --no-pager 2>&1 | diag
        ns_run journalctl --no-pager -o cat SYSLOG_IDENTIFIER=jit 2>&1 | tail -5 | diag
fi

# (e) journald: structured events (volatile journal: read before poweroff).
ns_run journalctl --no-pager -o json SYSLOG_IDENTIFIER=jit >"$NS_TMP/journal.json" 2>"$NS_TMP/journal.err"
cat >"$NS_TMP/journal.py" <<'PY'
import json, sys
path, gid = sys.argv[1], sys.argv[2]
ev = []
for line in open(path, encoding="utf-8", errors="replace"):
    line = line.strip()
    if line:
        try:
            ev.append(json.loads(line))
        except ValueError:
            pass
def find(**want):
    return [e for e in ev if all(e.get(k) == v for k, v in want.items())]
fails = 0
def check(desc, hits, **want):
    global fails
    if hits:
        print("ok - (e) journal: %s" % desc)
    else:
        fails += 1
        print("not ok - (e) journal: %s (want %s)" % (desc, " ".join("%s=%s" % kv for kv in want.items())))
who = dict(JIT_USER="alice", JIT_ROLE="ops")
g = find(JIT_EVENT="grant", JIT_GRANT_ID=gid, JIT_GROUP="jit-ops", **who)
check("JIT_EVENT=grant JIT_GRANT_ID=%s JIT_USER=alice JIT_ROLE=ops JIT_GROUP=jit-ops" % gid, g,
      JIT_EVENT="grant", JIT_GRANT_ID=gid, JIT_GROUP="jit-ops", **who)
rid = g[0].get("JIT_REQUEST_ID") if g else None
check("JIT_EVENT=request JIT_REQUEST_ID=%s JIT_USER=alice JIT_ROLE=ops" % rid,
      rid and find(JIT_EVENT="request", JIT_REQUEST_ID=rid, **who), JIT_EVENT="request", **who)
check("JIT_EVENT=decision JIT_REQUEST_ID=%s JIT_DECISION=allow JIT_USER=alice JIT_ROLE=ops" % rid,
      rid and find(JIT_EVENT="decision", JIT_REQUEST_ID=rid, JIT_DECISION="allow", **who),
      JIT_EVENT="decision", JIT_DECISION="allow", **who)
check("JIT_EVENT=use JIT_GRANT_ID=%s JIT_SERVICE=sudo (pam_jit asked the service)" % gid,
      find(JIT_EVENT="use", JIT_GRANT_ID=gid, JIT_SERVICE="sudo", **who),
      JIT_EVENT="use", JIT_GRANT_ID=gid, JIT_SERVICE="sudo")
check("JIT_EVENT=expire JIT_GRANT_ID=%s JIT_USER=alice JIT_ROLE=ops JIT_GROUP=jit-ops JIT_BY=timer" % gid,
      find(JIT_EVENT="expire", JIT_GRANT_ID=gid, JIT_GROUP="jit-ops", JIT_BY="timer", **who),
      JIT_EVENT="expire", JIT_GRANT_ID=gid, JIT_GROUP="jit-ops", JIT_BY="timer", **who)
errs = find(JIT_EVENT="error")
check("no JIT_EVENT=error", not errs, JIT_EVENT="none")
for e in errs[:5]:
    print("#   error: %s" % e.get("MESSAGE"))
grants = find(JIT_EVENT="grant")
check("exactly one grant was made (sudo used it, made none)", len(grants) == 1, grants=1)
if fails:
    print("# jit journal events seen:")
    for e in ev:
        print("#   %s %s" % (e.get("JIT_EVENT"), e.get("MESSAGE")))
sys.exit(1 if fails else 0)
PY
out=$(python3 "$NS_TMP/journal.py" "$NS_TMP/journal.json" "$G" 2>&1)
echo "$out"
N=$((N + $(echo "$out" | grep -c '^\(not \)\?ok - ')))
FAILS=$((FAILS + $(echo "$out" | grep -c '^not ok - ')))
if ! echo "$out" | grep -q '^ok - '; then
        notok "(e) read the journal"
        diag <"$NS_TMP/journal.err"
fi

# (f) the group files are consistent after all this
out=$(ns_run /opt/jit/jitctl audit verify 2>&1); rc=$?
if [ $rc = 0 ] && ns_run grep -q '"event":"grant"' /var/lib/jit/audit.log; then
        ok "jitctl audit verify: the installed service's audit log holds and has the grant ($out)"
else
        notok "jitctl audit verify: the installed service's audit log holds and has the grant (exit $rc: $out)"
fi
# A grant revoked early: its timer goes, and the revoke is on record.
ans=$(ns_run runuser -u alice -- /opt/jit/jitctl --json request ops --for 30s 2>&1)
G2=$(echo "$ans" | jget grant.id)
ns_run /opt/jit/jitctl revoke "$G2" >/dev/null 2>&1; rc=$?
timers=$(ns_run systemctl list-timers --all --no-pager 2>&1)
if [ -n "$G2" ] && [ $rc = 0 ] && ! echo "$timers" | grep -q "jit-expire-$G2" && \
   ! ns_run grep -q '^jit-ops:.*alice' /etc/group; then
        ok "revoke $G2: membership gone and its timer stopped"
else
        notok "revoke ${G2:-?}: membership gone and its timer stopped (exit $rc)"
fi
# A service account is bound to its declared unit: svc-deploy is granted
# deploy (template, tier auto) when it asks from deploy-job.service, a real
# transient unit, and denied (account.unit) from any other unit.
ns_sh 'groupadd --system jit-deploy && useradd --system -M -s /usr/sbin/nologin svc-deploy'
svc_request() { # UNIT: run jitctl request deploy as svc-deploy inside UNIT
        ns_run systemd-run --quiet --pipe --collect --unit="$1" --uid=svc-deploy \
                /opt/jit/jitctl --json request deploy --for 30s </dev/null 2>&1
}
ans=$(svc_request deploy-job); rc=$?
G3=$(echo "$ans" | jget grant.id)
if [ "$rc" = 0 ] && [ -n "$G3" ] && [ "$(echo "$ans" | jget request.unit)" = deploy-job.service ] &&
   [ "$(echo "$ans" | jget request.policy_rule)" = deploy-job ] && members /etc/group jit-deploy | grep -qx svc-deploy; then
        ok "service account svc-deploy, from deploy-job.service: granted deploy by template ($G3), in jit-deploy"
else
        notok "service account svc-deploy, from deploy-job.service: granted deploy by template (exit $rc)"
        echo "$ans" | diag
fi
ns_run /opt/jit/jitctl revoke "$G3" >/dev/null 2>&1
ans=$(svc_request other-job); rc=$?
if [ "$rc" = 3 ] && [ "$(echo "$ans" | jget request.unit)" = other-job.service ] &&
   echo "$ans" | jget request.policy_reason_ids | grep -q "'account.unit'" &&
   ! members /etc/group jit-deploy | grep -qx svc-deploy; then
        ok "service account svc-deploy, from other-job.service: denied with account.unit"
else
        notok "service account svc-deploy, from other-job.service: denied with account.unit (exit $rc)"
        echo "$ans" | diag
fi

# A stable MESSAGE_ID per event type finds each one in the journal.
for pair in revoke:536aa1d95da34aa1bd617354f96ddbe4 request:c8d3ed48ea094630ba212ab9eb703830 decision:06991377aa8c496fa7fb113e5e1e8b30 \
            grant:10db7ee89d0f4b5a823c861200621d55 use:bfe9cd0bf4ee42a1be4199a3d20a6c8e \
            expire:2faf2ec3d74e4f8f9b528843cc1d499d service:b8e20ea66d65482fa245439866919a27; do
        ev=${pair%%:*} id=${pair#*:}
        out=$(ns_run journalctl --no-pager -o export "MESSAGE_ID=$id" 2>&1)
        if echo "$out" | grep -q "^JIT_EVENT=$ev\$"; then
                ok "journalctl MESSAGE_ID=$id finds the $ev events"
        else
                notok "journalctl MESSAGE_ID=$id finds the $ev events"
        fi
done
# The journald catalog explains each event (journalctl -x).
out=$(ns_run sh -c 'mkdir -p /usr/lib/systemd/catalog && cat > /usr/lib/systemd/catalog/jit.catalog && journalctl --update-catalog && journalctl -x --no-pager MESSAGE_ID=10db7ee89d0f4b5a823c861200621d55' < "$SRC/systemd/jit.catalog" 2>&1)
if echo "$out" | grep -q "This event is written to the audit log"; then
        ok "journalctl -x explains a grant event from jit.catalog"
else
        notok "journalctl -x explains a grant event from jit.catalog"
        echo "$out" | tail -n 5 | diag
fi
# --- break-glass: granted at once, an alert in the journal, reviewed -------------
# Last, so the counts of grants and events above see none of it. bob is on
# call for db: he signs with his own key (registered by root the way an
# approver's is), is granted at once, and journald gets an alert-priority
# event that journalctl -x explains; alice, an approver of db, lists the open
# review and closes it; bob, though an approver of db, may not.
BG_MSGID=4abc9bf2ee524de79b9ed6c7cb76dc5e       # JIT_EV_BREAK_GLASS, common/journal.c
REVIEW_MSGID=489722e993274eb893464e694b19b7d1   # JIT_EV_REVIEW
BOBPASS=/home/bob/.jit-passphrase
# jhas K=V...: some journal entry (JSON lines on stdin) has all these fields.
jhas() {
        python3 -c '
import json, sys
want = dict(a.split("=", 1) for a in sys.argv[1:])
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if all(e.get(k) == v for k, v in want.items()):
        sys.exit(0)
sys.exit(1)' "$@"
}
# jwait ARGS -- K=V...: journalctl ARGS inside has such an entry (journald
# may take a moment to store it); the last output stays in $NS_TMP/jwait.json.
jwait() {
        local args=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
        shift
        local end=$(( $(date +%s) + 5 ))
        while :; do
                ns_run journalctl --no-pager -o json "${args[@]}" >"$NS_TMP/jwait.json" 2>&1
                jhas "$@" <"$NS_TMP/jwait.json" && return 0
                [ "$(date +%s)" -lt "$end" ] || return 1
                sleep 0.1
        done
}
jdump() { python3 -c '
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        print(line.rstrip()); continue
    print(e.get("PRIORITY"), e.get("MESSAGE_ID"), e.get("JIT_USER"), e.get("MESSAGE"))' <"$NS_TMP/jwait.json" | tail -n 10 | diag; }

out=$(ns_sh '
        set -e
        groupadd --system jit-db
        echo "correct horse battery staple" > "$1"
        chown bob: "$1"; chmod 0600 "$1"
        runuser -u bob -- /opt/jit/jitctl keygen --passphrase-file "$1"
        /opt/jit/jitctl approver add bob /home/bob/.config/jit/approver.pub' "$BOBPASS" 2>&1)
if [ $? = 0 ]; then
        ok "break-glass: bob has a signing key (jitctl keygen), registered by root (jitctl approver add)"
else
        notok "break-glass: bob has a signing key (jitctl keygen), registered by root (jitctl approver add)"
        echo "$out" | diag
fi
ans=$(ns_run runuser -u bob -- /opt/jit/jitctl --json break-glass db --reason "db down" --passphrase-file "$BOBPASS" 2>&1)
rc=$?
BG=$(echo "$ans" | jget grant.id)
BR=$(echo "$ans" | jget grant.request_id)
if [ "$rc" = 0 ] && [ -n "$BG" ] && [ -n "$BR" ] && [ "$(echo "$ans" | jget grant.role)" = db ] &&
   [ "$(echo "$ans" | jget grant.approved_by)" = break-glass ]; then
        ok "break-glass: bob: jitctl break-glass db --reason \"db down\" exits 0, granted at once ($BG, request $BR)"
else
        notok "break-glass: bob: jitctl break-glass db --reason \"db down\" exits 0, granted at once (exit $rc)"
        echo "$ans" | diag
fi
if members /etc/group jit-db | grep -qx bob && members /etc/gshadow jit-db | grep -qx bob; then
        ok "break-glass: bob is in jit-db (/etc/group and /etc/gshadow)"
else
        notok "break-glass: bob is in jit-db (/etc/group and /etc/gshadow)"
        ns_run grep '^jit-db:' /etc/group /etc/gshadow 2>&1 | diag
fi
if jwait -p alert -- MESSAGE_ID=$BG_MSGID JIT_EVENT=break-glass JIT_USER=bob JIT_ROLE=db \
        JIT_GRANT_ID="${BG:-?}" JIT_REQUEST_ID="${BR:-?}"; then
        ok "break-glass: journalctl -p alert has MESSAGE_ID=$BG_MSGID JIT_USER=bob JIT_ROLE=db JIT_GRANT_ID=$BG"
else
        notok "break-glass: journalctl -p alert has MESSAGE_ID=$BG_MSGID JIT_USER=bob JIT_ROLE=db JIT_GRANT_ID=${BG:-?}"
        echo "# journalctl -p alert (PRIORITY MESSAGE_ID JIT_USER MESSAGE):"
        jdump
        ns_run journalctl --no-pager -o json MESSAGE_ID=$BG_MSGID >"$NS_TMP/jwait.json" 2>&1
        echo "# journalctl MESSAGE_ID=$BG_MSGID, any priority:"
        jdump
fi
# The catalog was installed (and journalctl --update-catalog run) above.
out=$(ns_run journalctl -x --no-pager MESSAGE_ID=$BG_MSGID 2>&1)
if echo "$out" | grep -qF "Subject: jit BREAK-GLASS: bob took role db without an approver" &&
   echo "$out" | grep -qF "A review item stays open"; then
        ok "break-glass: journalctl -x explains it from jit.catalog (jit BREAK-GLASS: bob took role db ...)"
else
        notok "break-glass: journalctl -x explains it from jit.catalog (jit BREAK-GLASS: bob took role db ...)"
        echo "$out" | tail -n 12 | diag
fi
out=$(ns_run runuser -u alice -- /opt/jit/jitctl review list 2>&1)
rc=$?
if [ "$rc" = 0 ] && echo "$out" | grep -qE "^${BR:-?}[[:space:]]+bob[[:space:]]+db[[:space:]].*db down\$"; then
        ok "break-glass: alice (an approver of db): jitctl review list shows $BR by bob, \"db down\""
else
        notok "break-glass: alice (an approver of db): jitctl review list shows ${BR:-?} by bob (exit $rc)"
        echo "$out" | diag
fi
out=$(ns_run runuser -u bob -- /opt/jit/jitctl review "${BR:-?}" --comment "all fine, me" 2>&1)
rc=$?
if [ "$rc" != 0 ] && echo "$out" | grep -q "someone else must review it"; then
        ok "break-glass: bob may not review his own break-glass (exit $rc)"
else
        notok "break-glass: bob may not review his own break-glass (exit $rc)"
        echo "$out" | diag
fi
out=$(ns_run runuser -u alice -- /opt/jit/jitctl review "${BR:-?}" --comment "restarted postgres; fine" 2>&1)
rc=$?
after=$(ns_run runuser -u alice -- /opt/jit/jitctl review list 2>&1)
if [ "$rc" = 0 ] && [ "$after" = "No open break-glass reviews." ]; then
        ok "break-glass: alice: jitctl review $BR --comment ... closes it (review list is empty)"
else
        notok "break-glass: alice: jitctl review ${BR:-?} --comment ... closes it (exit $rc)"
        { echo "$out"; echo "review list after: $after"; } | diag
fi
if jwait "MESSAGE_ID=$REVIEW_MSGID" -- MESSAGE_ID=$REVIEW_MSGID JIT_EVENT=review JIT_REQUEST_ID="${BR:-?}" \
        JIT_GRANT_ID="${BG:-?}" JIT_USER=bob JIT_ROLE=db JIT_BY=alice; then
        ok "break-glass: journalctl MESSAGE_ID=$REVIEW_MSGID has the review of $BR by alice (JIT_BY=alice JIT_USER=bob)"
else
        notok "break-glass: journalctl MESSAGE_ID=$REVIEW_MSGID has the review of ${BR:-?} by alice"
        jdump
fi

out=$(ns_run grpck -r 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
        ok "(f) grpck -r is clean"
else
        notok "(f) grpck -r is clean (exit $rc)"
        echo "$out" | diag
fi

# The service runs with UMask=0077; gpasswd must still keep the files readable.
after=$(ns_run stat -c '%n %a %U:%G' /etc/group /etc/gshadow)
if [ "$after" = "$FILEMODES_BEFORE" ]; then
        ok "(f) /etc/group and /etc/gshadow kept their owners and modes ($(echo "$after" | tr '\n' ' '| sed 's/ $//'))"
else
        notok "(f) /etc/group and /etc/gshadow kept their owners and modes"
        { echo "before: $FILEMODES_BEFORE"; echo "after:  $after"; } | diag
fi

[ "$FAILS" = 0 ] || dump_inside
finish
