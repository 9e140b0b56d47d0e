#!/bin/bash
# e2e/lifecycle — how grants end, under a real systemd, logind and sshd.
#
#   tests/e2e/lifecycle.sh BUILD_DIR
#
# Boots a Debian 12 container (systemd-nspawn, tests/e2e/nspawn.sh) whose
# root is an overlay kept between boots (ns_boot_persistent), so that it can
# be powered off and booted again with its state. Inside: jit.socket,
# jit.service (enabled: started at boot), jit-reconcile.{service,timer}, and
# a real sshd on 127.0.0.1:22 so that logins are real logind sessions.
#
#   1. end: sessions — a grant ends while an ssh login holds its group: the
#      login's tty is warned, then logind terminates the session (its
#      processes are gone); end: none — the membership goes, the process
#      that holds the group is only reported and keeps running; end:
#      processes — it is killed, and a process of the same user that does
#      not hold the group is left alone.
#  1t. end: sessions at expiry — a short grant runs out through its own
#      transient jit-expire-G.timer while an ssh login holds the group: the
#      grant ends by timer, logind terminates the session, the process and
#      the membership are gone, the journal names the pid.
#   2. jitctl request --bind session inside an ssh login: the grant records
#      the logind session and is revoked (session-closed) when it closes.
#   3. jitctl request --bind unit inside a systemd unit: revoked
#      (unit-stopped) when the unit is stopped.
#   5. jit.service SIGKILLed right after a grant, an expiry timer lost and a
#      member added by hand: after the restart the timer is back, the member
#      removed and reported, and every member of a managed group has an
#      active grant and every active grant a timer.
#   6. jit-reconcile.timer can be enabled; jit-reconcile.service runs
#      `jitctl reconcile` under its sandbox and reaches the service.
#   7. jit.service SIGKILLs itself (tests/preload/crashpoint.so, a drop-in
#      sets LD_PRELOAD) inside a grant: right after the record is durable,
#      right after gpasswd -a, right before StartTransientUnit. After the
#      restart: one active grant, the membership (added by the start-up
#      reconcile after "record"), its timer recreated, and the invariant.
#   4. (last) a grant expires while the machine is off: at the next boot the
#      membership is gone as soon as jit.service is up, the record says
#      expired by reconcile; a longer grant keeps its membership and gets its
#      transient expiry timer back; grants bound to a login and to a unit
#      that were live at poweroff are revoked (session-closed, unit-stopped).
#      Not covered: a session id of the last boot reused by a new login
#      (logind ids are the kernel's audit session ids, which a container
#      reboot does not reset, so no reuse can happen here).
#
# sshd: the cached rootfs (mkrootfs.sh) has no openssh-server and the
# container has no network to install it, so the host's own sshd and ssh
# (Debian 12, the same release as the container) are copied in, with the
# three libraries sshd needs that the rootfs lacks (libwrap, libnsl,
# libtirpc). Without sshd/ssh on the host, checks 1 (sessions) and 2 are
# skipped with a reason; the others still run.
#
# Needs root; exits 77 (skip) when the machine cannot run nspawn at all.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/nspawn.sh"

BOUND=15        # seconds any single bounded wait may take
SHORT_TTL=10    # seconds: the grant that expires while the machine is off
EXPIRE_TTL=8    # seconds: the grant whose timer ends an ssh login (1t)

T0=$(date +%s%N)
N=0
FAILS=0
ok()    { N=$((N + 1)); echo "ok - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
skip()  { N=$((N + 1)); echo "ok - $* # SKIP"; }
diag()  { sed 's/^/#   /'; }
elapsed_ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
check() { # DESC CMD... : ok when CMD succeeds
        local d=$1; shift
        if "$@"; then ok "$d"; else notok "$d"; return 1; fi
}

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

dump_inside() {
        echo "# --- journal of jit.service ---"
        ns_run journalctl --no-pager -o short-precise -b -u jit.service -u jit.socket 2>&1 | tail -n 30 | diag
        echo "# --- sessions, timers ---"
        ns_run loginctl list-sessions --no-pager 2>&1 | diag
        ns_run systemctl list-timers --all --no-pager 2>&1 | grep jit | diag
}

# poll SECONDS 'SH CONDITION' [ARGS]: true as soon as the condition holds
# inside the container (checked every 0.1 s), false after SECONDS.
poll() {
        local secs=$1 cond=$2; shift 2
        ns_sh '
                secs=$1 cond=$2; shift 2
                end=$(( $(date +%s) + secs ))
                while :; do
                        sh -c "$cond" sh "$@" && exit 0
                        [ "$(date +%s)" -le "$end" ] || exit 1
                        sleep 0.1
                done' "$secs" "$cond" "$@"
}

is_member() { # USER GROUP (in /etc/group)
        ns_sh 'awk -F: -v g="$2" "\$1 == g { print \$4 }" /etc/group | tr , "\n" | grep -qx "$1"' "$1" "$2"
}
not_member() { ! is_member "$@"; }
gid_of() { ns_run getent group "$1" | cut -d: -f3; }
holds_group() { # PID GID: /proc/PID/status lists GID in Groups
        ns_sh 'awk "/^Groups:/ { for (i = 2; i <= NF; i++) if (\$i == \"$2\") f = 1 } END { exit !f }" /proc/"$1"/status' "$1" "$2"
}
alive() { ns_sh '[ -d /proc/"$1" ]' "$1"; }
show() { ns_run /opt/jit/jitctl --json show "$1" 2>&1; }
# request USER ROLE TTL [ARGS]: as USER, granted at once by a template; the JSON.
request() {
        local u=$1 role=$2 ttl=$3; shift 3
        ns_run runuser -u "$u" -- /opt/jit/jitctl --json request "$role" --for "$ttl" "$@" 2>&1
}
# jlog 'TEXT': the journal of jit.service (this boot) has a line with TEXT,
# within BOUND seconds (journald may take a moment).
jlog() {
        poll "$BOUND" 'journalctl --no-pager -o cat -b -u jit.service | grep -qF -- "$1"' "$1"
}
# The login session (logind) of USER with the given tty, or the newest one.
session_of() {
        ns_sh 'loginctl list-sessions --no-legend --no-pager | awk -v u="$1" "\$3 == u { s = \$1 } END { print s }"' "$1"
}
SSH_OPTS='-tt -i /root/.ssh/id_jit -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'
# ssh_login UNIT USER 'REMOTE COMMAND': an ssh login over loopback inside
# the container, with a tty, run by systemd as UNIT (its output, the
# session's terminal, goes to UNIT's journal).
ssh_login() {
        # shellcheck disable=SC2086
        ns_run systemd-run --quiet --unit="$1" /usr/bin/ssh $SSH_OPTS "$2@127.0.0.1" "$3"
}

ns_check
if [ ! -x "$BUILD/jitctl" ] || [ ! -f "$BUILD/pam_jit.so" ]; then
        echo "not ok - $BUILD has no jitctl and pam_jit.so: build the project first"
        exit 1
fi

if ns_boot_persistent "$BUILD"; then
        ok "container booted with systemd (persistent overlay root)"
else
        notok "container booted with systemd (persistent overlay root)"
        finish
fi

# --- install -----------------------------------------------------------------------
ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
ns_put "$SRC/systemd/jit-reconcile.timer" /etc/systemd/system/jit-reconcile.timer 0644
for u in jit.service jit-reconcile.service; do
        sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/$u.in" >"$NS_TMP/$u"
        if grep -q '@[A-Z_]*@' "$NS_TMP/$u"; then
                notok "$u.in has only @CMAKE_INSTALL_FULL_BINDIR@ to substitute"
                grep '@[A-Z_]*@' "$NS_TMP/$u" | diag
        fi
        ns_put "$NS_TMP/$u" /etc/systemd/system/"$u" 0644
done
# The sandbox of the transient expiry units: a drop-in by name prefix.
ns_sh 'mkdir -p /etc/systemd/system/jit-expire-.service.d'
ns_put "$SRC/systemd/jit-expire-.service.d/sandbox.conf" /etc/systemd/system/jit-expire-.service.d/sandbox.conf 0644

# One role per way of ending, one user per role (a grant's membership is per
# user and group, so the checks cannot disturb each other). Every user is
# granted at once by a template.
cat >"$NS_TMP/jit.conf" <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "auto", "timer_accuracy_ms": 10 },
  "roles": {
    "sess":  { "description": "ends the login sessions", "group": "jit-sess", "max_ttl": "1h",
               "requesters": { "users": ["alice"] }, "approvers": { "users": ["root"] },
               "end": "sessions", "end_grace": "1s" },
    "keep":  { "description": "ends nothing, reports", "group": "jit-keep", "max_ttl": "1h",
               "requesters": { "users": ["bob"] }, "approvers": { "users": ["root"] },
               "end": "none", "end_grace": "0" },
    "proc":  { "description": "kills the processes", "group": "jit-proc", "max_ttl": "1h",
               "requesters": { "users": ["bob"] }, "approvers": { "users": ["root"] },
               "end": "processes", "end_grace": "1s" },
    "bound": { "description": "bound to a login", "group": "jit-bound", "max_ttl": "1h",
               "requesters": { "users": ["carol"] }, "approvers": { "users": ["root"] },
               "end_grace": "1s" },
    "job":   { "description": "bound to a unit", "group": "jit-job", "max_ttl": "1h",
               "requesters": { "users": ["dave"] }, "approvers": { "users": ["root"] },
               "end_grace": "1s" },
    "boot":  { "description": "outlives a reboot", "group": "jit-boot", "max_ttl": "1h",
               "requesters": { "users": ["erin", "frank"] }, "approvers": { "users": ["root"] } },
    "crash": { "description": "outlives a crash", "group": "jit-crash", "max_ttl": "1h",
               "requesters": { "users": ["gina"] }, "approvers": { "users": ["root"] } },
    "step":  { "description": "a crash inside a grant", "group": "jit-step", "max_ttl": "1h",
               "requesters": { "users": ["ivy", "jack", "kim"] }, "approvers": { "users": ["root"] } }
  },
  "templates": {
    "t-sess":  { "role": "sess",  "description": "e2e", "users": ["alice"] },
    "t-keep":  { "role": "keep",  "description": "e2e", "users": ["bob"] },
    "t-proc":  { "role": "proc",  "description": "e2e", "users": ["bob"] },
    "t-bound": { "role": "bound", "description": "e2e", "users": ["carol"] },
    "t-job":   { "role": "job",   "description": "e2e", "users": ["dave"] },
    "t-boot":  { "role": "boot",  "description": "e2e", "users": ["erin", "frank"] },
    "t-crash": { "role": "crash", "description": "e2e", "users": ["gina"] },
    "t-step":  { "role": "step",  "description": "e2e", "users": ["ivy", "jack", "kim"] }
  }
}
CONF
MANAGED="jit-sess jit-keep jit-proc jit-bound jit-job jit-boot jit-crash jit-step"
ns_sh 'mkdir -p /etc/jit && chmod 0755 /etc/jit'
ns_put "$NS_TMP/jit.conf" /etc/jit/jit.conf 0644

if out=$(ns_sh '
        set -e
        for g in $1; do groupadd --system "$g"; done
        for u in alice bob carol dave erin frank gina hank ivy jack kim; do
                useradd -m -s /bin/bash "$u"
                usermod -p "*" "$u"
        done
        /opt/jit/jitctl policy check /etc/jit/jit.conf
        systemctl daemon-reload
        systemctl enable --quiet jit.socket jit.service
        systemctl start jit.socket jit.service
        systemctl is-active jit.service' "$MANAGED" 2>&1); then
        ok "installed units, policy and users; jit.socket and jit.service enabled and active"
else
        notok "installed units, policy and users; jit.socket and jit.service enabled and active"
        echo "$out" | diag
        dump_inside
        finish
fi

# --- sshd inside, from the host -------------------------------------------------------
HAVE_SSH=
ssh_setup() {
        local sshd ssh l
        sshd=$(command -v sshd || echo /usr/sbin/sshd)
        ssh=$(command -v ssh)
        [ -x "$sshd" ] && [ -n "$ssh" ] && command -v ssh-keygen >/dev/null || {
                echo "the host has no sshd/ssh/ssh-keygen (apt-get install openssh-server openssh-client)"
                return 1
        }
        ns_put "$sshd" /usr/sbin/sshd 0755 || return 1
        ns_put "$ssh" /usr/bin/ssh 0755 || return 1
        for l in $(ldd "$sshd" "$ssh" | awk '$3 ~ /^\// { print $3 }' | sort -u); do
                ns_sh '[ -e "$1" ]' "$l" && continue
                ns_put "$(readlink -f "$l")" "$l" 0644 || return 1
        done
        ssh-keygen -q -t ed25519 -N '' -C jit-e2e-host -f "$NS_TMP/host_key" </dev/null || return 1
        ssh-keygen -q -t ed25519 -N '' -C jit-e2e -f "$NS_TMP/id_jit" </dev/null || return 1
        ns_sh 'mkdir -p -m 0755 /etc/ssh && mkdir -p -m 0700 /root/.ssh' || return 1
        ns_put "$NS_TMP/host_key" /etc/ssh/ssh_host_ed25519_key 0600 || return 1
        ns_put "$NS_TMP/id_jit" /root/.ssh/id_jit 0600 || return 1
        ns_sh 'cat > /etc/ssh/sshd_config' <<'C' || return 1
ListenAddress 127.0.0.1
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
C
        # pam_systemd (in common-session) makes each login a logind session.
        ns_sh 'cat > /etc/pam.d/sshd' <<'C' || return 1
@include common-auth
account    required     pam_nologin.so
@include common-account
session    required     pam_loginuid.so
session    optional     pam_keyinit.so force revoke
@include common-session
session    required     pam_limits.so
@include common-password
C
        ns_put "$NS_TMP/id_jit.pub" /tmp/id_jit.pub 0644 || return 1
        ns_sh '
                set -e
                useradd --system -d /run/sshd -s /usr/sbin/nologin sshd
                for u in alice carol; do
                        install -d -m 0700 -o "$u" -g "$u" /home/"$u"/.ssh
                        install -m 0600 -o "$u" -g "$u" /tmp/id_jit.pub /home/"$u"/.ssh/authorized_keys
                done
                mkdir -p -m 0755 /run/sshd
                /usr/sbin/sshd -t
                systemd-run --quiet --unit=sshd -p RuntimeDirectory=sshd -p RuntimeDirectoryMode=0755 /usr/sbin/sshd -D -e
                end=$(( $(date +%s) + 10 ))
                until journalctl -o cat -u sshd.service | grep -q "Server listening"; do
                        [ "$(date +%s)" -le "$end" ] || exit 1
                        sleep 0.1
                done' || return 1
        # A first login shows that it works at all (and is a logind session).
        ns_run /usr/bin/ssh ${SSH_OPTS/-tt /} alice@127.0.0.1 'echo "$XDG_SESSION_ID"' </dev/null | grep -qx '[0-9c][0-9]*'
}
if out=$(ssh_setup 2>&1); then
        HAVE_SSH=1
        ok "sshd (the host's, copied in) listens on 127.0.0.1:22 in the container; an ssh login is a logind session"
else
        skip "sshd in the container: $(echo "$out" | tail -n 1) — checks 1 (sessions) and 2 are skipped"
        echo "$out" | diag
fi

# --- 1. end: sessions ---------------------------------------------------------------
if [ -n "$HAVE_SSH" ]; then
        ans=$(request alice sess 10m); G1=$(echo "$ans" | jget grant.id)
        if [ -n "$G1" ] && [ "$(echo "$ans" | jget grant.end)" = sessions ] && is_member alice jit-sess; then
                ok "1: alice is granted sess ($G1, end: sessions, end_grace 1s) and is in jit-sess"
        else
                notok "1: alice is granted sess (end: sessions)"
                echo "$ans" | diag
        fi
        ssh_login ssh-alice alice 'exec sleep 301'
        if poll "$BOUND" 'pgrep -u alice -x sleep >/dev/null && loginctl list-sessions --no-legend | grep -q " alice "'; then
                S1=$(session_of alice)
                P1=$(ns_run pgrep -u alice -x sleep | head -n 1)
                ok "1: alice logged in over ssh (logind session $S1, tty $(ns_run loginctl show-session -p TTY --value "$S1")); sleep 301 runs as pid $P1"
        else
                notok "1: alice logged in over ssh"
                ns_run journalctl --no-pager -a -o cat -u ssh-alice -u sshd | tail -n 10 | diag
        fi
        GID_SESS=$(gid_of jit-sess)
        check "1: the login's process $P1 holds jit-sess (gid $GID_SESS) in /proc/$P1/status Groups" \
                holds_group "${P1:-0}" "$GID_SESS"
        out=$(ns_run /opt/jit/jitctl revoke "$G1" 2>&1); rc=$?
        check "1: jitctl revoke $G1 (exit $rc); alice is out of jit-sess at once" eval '[ $rc = 0 ] && not_member alice jit-sess'
        # After the 1 s grace logind ends the session: it leaves list-sessions
        # (or is closing, its processes gone) and the sleep is gone.
        if poll "$BOUND" '! [ -d /proc/$1 ] && ! loginctl list-sessions --no-legend | awk "{print \$1}" | grep -qx "$2"' "$P1" "$S1"; then
                ok "1: after the grace the session $S1 is terminated (not in loginctl list-sessions) and pid $P1 is gone"
        else
                notok "1: after the grace the session $S1 is terminated and pid $P1 is gone"
                ns_run loginctl list-sessions --no-legend | diag
                ns_sh 'ps -o pid,user,args -u alice' | diag
                dump_inside
        fi
        check "1: journalctl -u jit: \"grant $G1 ended: ... of alice held group jit-sess: ...$P1(sleep)...\"" \
                jlog "grant $G1 ended: "
        if ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "grant $G1 ended: " | grep -qF "$P1(sleep)" &&
           jlog "grant $G1: ended " && ns_run journalctl --no-pager -o cat -b -u jit.service |
                grep -F "grant $G1: ended " | grep -q ' 1 session terminated)'; then
                ok "1: the journal names pid $P1(sleep) and says \"1 session terminated\""
        else
                notok "1: the journal names pid $P1(sleep) and says \"1 session terminated\""
                ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "$G1" | diag
        fi
        # The warning went to the session's terminal, which the ssh client
        # (unit ssh-alice) prints: it is in that unit's journal (-a: the
        # line carries \r, which journalctl otherwise shows as a blob).
        # The service finds the terminal with sd_session_get_tty(): logind
        # (systemd 252) learns an ssh login's tty from utmp only after the
        # session is created and does not write it to the state file that
        # sd-login reads (the D-Bus property Session.TTY has it), and
        # jitctl/service_end.c refuses tty names with a '/', which every
        # pts/N has. Both must be fixed for this check to pass.
        # (It was written before the session ended, which is seen above:
        # 5 s is only for journald to store it.)
        if poll 5 'journalctl --no-pager -a -o cat -u ssh-alice | grep -qF "jit: your grant $1 (role sess) has ended"' "$G1"; then
                ok "1: the login's terminal was warned: \"jit: your grant $G1 (role sess) has ended ... will be logged out in 1 s\""
        else
                notok "1: the login's terminal was warned (\"jit: your grant $G1 (role sess) has ended\")"
                ns_run journalctl --no-pager -a -o cat -u ssh-alice | tail -n 5 | diag
        fi

        # The same, but the grant runs out: its transient jit-expire-G.timer
        # fires `jitctl expire`, and the service ends the login.
        ans=$(request alice sess "${EXPIRE_TTL}s"); GT=$(echo "$ans" | jget grant.id)
        GT_EXP=$(echo "$ans" | jget grant.expires_us)
        ssh_login ssh-alice-exp alice 'exec sleep 311'
        poll "$BOUND" 'pgrep -u alice -f "sleep 311" >/dev/null && loginctl list-sessions --no-legend | grep -q " alice "'
        ST=$(session_of alice)
        PT=$(ns_run pgrep -u alice -f 'sleep 311' | head -n 1)
        if [ -n "$GT" ] && [ -n "$PT" ] && holds_group "$PT" "$GID_SESS" &&
           [ "$(ns_run systemctl is-active "jit-expire-$GT.timer")" = active ]; then
                ok "1t: alice granted sess for ${EXPIRE_TTL}s ($GT, jit-expire-$GT.timer active); her ssh login (session $ST) runs pid $PT, which holds jit-sess"
        else
                notok "1t: alice granted sess for ${EXPIRE_TTL}s (${GT:-?}) with a timer; her ssh login's pid ${PT:-?} holds jit-sess"
                echo "$ans" | diag
        fi
        if poll $((EXPIRE_TTL + BOUND)) '/opt/jit/jitctl --json show "$1" | grep -q "\"ended_by\":[[:space:]]*\"timer\""' "$GT"; then
                s=$(show "$GT")
                ok "1t: $GT ended by its timer: state $(echo "$s" | jget grant.state), ended_by timer, $(( ($(echo "$s" | jget grant.ended_us) - GT_EXP) / 1000 )) ms after expires_us"
        else
                notok "1t: $GT ended by its timer (ended_by timer)"
                show "$GT" | diag
                ns_run journalctl --no-pager -o cat -u "jit-expire-$GT.service" | diag
        fi
        check "1t: alice is out of jit-sess" not_member alice jit-sess
        if poll "$BOUND" '! [ -d /proc/$1 ] && ! loginctl list-sessions --no-legend | awk "{print \$1}" | grep -qx "$2"' "$PT" "$ST"; then
                ok "1t: after the 1 s grace the session $ST is terminated (not in loginctl list-sessions) and pid $PT is gone"
        else
                notok "1t: after the grace the session $ST is terminated and pid $PT is gone"
                ns_run loginctl list-sessions --no-legend | diag
                ns_sh 'ps -o pid,user,args -u alice' | diag
        fi
        if jlog "grant $GT: ended " && ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "grant $GT ended: " | grep -qF "$PT(sleep)" &&
           ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "grant $GT: ended " | grep -q ' 1 session terminated)'; then
                ok "1t: the journal names pid $PT(sleep) and says \"1 session terminated\""
        else
                notok "1t: the journal names pid $PT(sleep) and says \"1 session terminated\""
                ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "$GT" | diag
        fi
else
        skip "1: end: sessions (no sshd here)"
fi

# --- 1b. end: none, end: processes ------------------------------------------------------
ans=$(request bob keep 10m); G2=$(echo "$ans" | jget grant.id)
ns_run systemd-run --quiet --unit=keep-job --uid=bob /bin/sleep 302
poll "$BOUND" 'pgrep -u bob -x sleep >/dev/null'
P2=$(ns_run pgrep -u bob -f 'sleep 302' | head -n 1)
GID_KEEP=$(gid_of jit-keep)
if [ -n "$G2" ] && [ -n "$P2" ] && holds_group "$P2" "$GID_KEEP"; then
        ok "1b: bob granted keep ($G2, end: none, end_grace 0); his process $P2 (unit keep-job) holds jit-keep"
else
        notok "1b: bob granted keep (end: none); his process holds jit-keep"
        echo "$ans" | diag
fi
ns_run /opt/jit/jitctl revoke "$G2" >/dev/null 2>&1
check "1b: revoke $G2: bob is out of jit-keep" not_member bob jit-keep
check "1b: journalctl -u jit: \"grant $G2 ended, but 1 process of bob still hold group jit-keep (end: none): $P2(sleep)\"" \
        jlog "grant $G2 ended, but 1 process of bob still hold group jit-keep (end: none): $P2(sleep)"
check "1b: end: none leaves pid $P2 running" alive "${P2:-0}"

ans=$(request bob proc 10m); G2P=$(echo "$ans" | jget grant.id)
ns_run systemd-run --quiet --unit=proc-job --uid=bob /bin/sleep 303
poll "$BOUND" 'pgrep -u bob -f "sleep 303" >/dev/null'
P2P=$(ns_run pgrep -u bob -f 'sleep 303' | head -n 1)
GID_PROC=$(gid_of jit-proc)
if [ -n "$G2P" ] && [ -n "$P2P" ] && holds_group "$P2P" "$GID_PROC" && ! holds_group "$P2" "$GID_PROC"; then
        ok "1b: bob granted proc ($G2P, end: processes, end_grace 1s); pid $P2P holds jit-proc, pid $P2 does not"
else
        notok "1b: bob granted proc; pid ${P2P:-?} holds jit-proc, pid $P2 does not"
        echo "$ans" | diag
fi
ns_run /opt/jit/jitctl revoke "$G2P" >/dev/null 2>&1
if poll "$BOUND" '! [ -d /proc/$1 ]' "$P2P" && jlog "grant $G2P: ended 1 of them (" &&
   ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "grant $G2P: ended 1 of them (" | grep -q killed; then
        ok "1b: end: processes: after the grace pid $P2P is killed and the journal says so"
else
        notok "1b: end: processes: after the grace pid $P2P is killed and the journal says so"
        ns_run journalctl --no-pager -o cat -b -u jit.service | grep -F "$G2P" | diag
fi
check "1b: bob's other process $P2 (does not hold jit-proc) is left alone" alive "${P2:-0}"
ns_run systemctl stop keep-job >/dev/null 2>&1

# --- 2. a grant bound to the login session ----------------------------------------------
if [ -n "$HAVE_SSH" ]; then
        ssh_login ssh-carol carol '/opt/jit/jitctl --json request bound --for 10m --bind session > ~/grant.json 2>&1; exec sleep 304'
        poll "$BOUND" 'grep -q "\"id\"" /home/carol/grant.json 2>/dev/null && pgrep -u carol -f "sleep 304" >/dev/null'
        ans=$(ns_run cat /home/carol/grant.json)
        G3=$(echo "$ans" | jget grant.id)
        S3=$(session_of carol)
        BS=$(show "$G3" | jget grant.bound_session)
        if [ -n "$G3" ] && [ -n "$S3" ] && [ "$BS" = "$S3" ] && is_member carol jit-bound; then
                ok "2: in her ssh login (session $S3) carol: jitctl request bound --bind session -> $G3, bound_session $BS, carol in jit-bound"
        else
                notok "2: carol: jitctl request bound --bind session in ssh session ${S3:-?}: bound_session ${BS:-?}"
                echo "$ans" | diag
        fi
        ns_run systemctl stop ssh-carol     # the client goes; sshd closes the login
        if poll "$BOUND" '/opt/jit/jitctl --json show "$1" | grep -q "\"ended_by\":[[:space:]]*\"session-closed\""' "$G3"; then
                ok "2: the login closed: $G3 is revoked by session-closed (state $(show "$G3" | jget grant.state))"
        else
                notok "2: the login closed: $G3 is revoked by session-closed"
                show "$G3" | diag
                ns_run loginctl list-sessions --no-legend | diag
        fi
        check "2: carol is out of jit-bound" not_member carol jit-bound
else
        skip "2: grant bound to the login session (no sshd here)"
fi

# --- 3. a grant bound to a unit ------------------------------------------------------------
ns_run systemd-run --quiet --unit=job1 --uid=dave -p WorkingDirectory=/home/dave /bin/sh -c \
        '/opt/jit/jitctl --json request job --for 10m --bind unit > /home/dave/grant.json 2>&1; exec sleep 305'
poll "$BOUND" 'grep -q "\"id\"" /home/dave/grant.json 2>/dev/null'
ans=$(ns_run cat /home/dave/grant.json)
G4=$(echo "$ans" | jget grant.id)
BU=$(show "$G4" | jget grant.bound_unit)
if [ -n "$G4" ] && [ "$BU" = job1.service ] && is_member dave jit-job; then
        ok "3: dave in unit job1: jitctl request job --bind unit -> $G4, bound_unit job1.service, dave in jit-job"
else
        notok "3: dave in unit job1: jitctl request job --bind unit: bound_unit ${BU:-?}"
        echo "$ans" | diag
fi
check "3: the grant stays while job1 runs (a bind poll later)" eval 'sleep 2.5; [ "$(show "$G4" | jget grant.state)" = active ]'
ns_run systemctl stop job1
if poll "$BOUND" '/opt/jit/jitctl --json show "$1" | grep -q "\"ended_by\":[[:space:]]*\"unit-stopped\""' "$G4"; then
        ok "3: systemctl stop job1: $G4 is revoked by unit-stopped (state $(show "$G4" | jget grant.state))"
else
        notok "3: systemctl stop job1: $G4 is revoked by unit-stopped"
        show "$G4" | diag
fi
check "3: dave is out of jit-job" not_member dave jit-job

# --- 5. SIGKILL, a lost timer, a member added by hand ---------------------------------------
# Killing the service exactly between writing the record, the membership
# and the timer cannot be aimed from outside (check 7 aims it from inside,
# with crashpoint.so); this kills it right after a grant and then breaks the
# timer and the group by hand.
main_pid() { ns_run systemctl show -p MainPID --value jit.service; }
PID_BEFORE=$(main_pid)
ans=$(request gina crash 10m); G5=$(echo "$ans" | jget grant.id)
ns_run systemctl kill -s KILL jit.service
# Restart=on-failure brings it back by itself.
if poll "$BOUND" '[ "$(systemctl is-active jit.service)" = active ] && [ "$(systemctl show -p MainPID --value jit.service)" != "$1" ]' "$PID_BEFORE"; then
        ok "5: jit.service SIGKILLed right after grant $G5; Restart=on-failure brought it back (NRestarts=$(ns_run systemctl show -p NRestarts --value jit.service))"
else
        notok "5: jit.service SIGKILLed right after grant ${G5:-?}; it comes back"
        ns_run systemctl status --no-pager jit.service | diag
fi
if [ "$(show "$G5" | jget grant.state)" = active ] && is_member gina jit-crash &&
   [ "$(ns_run systemctl is-active "jit-expire-$G5.timer")" = active ]; then
        ok "5: after the restart $G5 is active, gina in jit-crash, jit-expire-$G5.timer active"
else
        notok "5: after the restart $G5 is active, gina in jit-crash, jit-expire-$G5.timer active"
        show "$G5" | diag
fi
# Now lose the timer and add a member by hand, then crash it again.
ns_run systemctl stop "jit-expire-$G5.timer"
poll 5 '! systemctl list-units --all --no-legend "jit-expire-$1.timer" | grep -q .' "$G5"
echo "# jit-expire-$G5.timer after systemctl stop: $(ns_run systemctl show -p LoadState -p ActiveState "jit-expire-$G5.timer" | tr '\n' ' ')"
ns_run gpasswd -a hank jit-crash >/dev/null
check "5: (set-up) the timer is stopped by hand and hank added to jit-crash by hand" \
        eval 'is_member hank jit-crash && [ "$(ns_run systemctl is-active "jit-expire-$G5.timer")" != active ]'
PID_BEFORE=$(main_pid)
ns_run systemctl kill -s KILL jit.service
poll "$BOUND" '[ "$(systemctl is-active jit.service)" = active ] && [ "$(systemctl show -p MainPID --value jit.service)" != "$1" ]' "$PID_BEFORE"
PID_AFTER=$(main_pid)
if poll "$BOUND" '[ "$(systemctl is-active "jit-expire-$1.timer")" = active ]' "$G5" &&
   jlog "expiry timer of grant $G5 was missing: recreating it"; then
        ok "5: after the second SIGKILL and restart (pid $PID_AFTER) jit-expire-$G5.timer is active again, and the journal says it was recreated"
else
        notok "5: after the second SIGKILL and restart jit-expire-$G5.timer is active again"
        ns_run systemctl show -p LoadState -p ActiveState -p TimersCalendar "jit-expire-$G5.timer" | diag
        dump_inside
fi
if poll "$BOUND" '! awk -F: "\$1 == \"jit-crash\" { print \$4 }" /etc/group | tr , "\n" | grep -qx hank' &&
   jlog "hank is in group jit-crash, which jit manages, without an active grant (added by hand?): removing"; then
        ok "5: hank (added by hand) is removed from jit-crash and reported"
else
        notok "5: hank (added by hand) is removed from jit-crash and reported"
        ns_run grep '^jit-crash:' /etc/group | diag
fi
# Which process fixed it: the restarted service, at start (not a later pass).
fixer=$(ns_run journalctl --no-pager -o json -b -u jit.service | python3 -c '
import json, sys
for l in sys.stdin:
    try: e = json.loads(l)
    except ValueError: continue
    if "was missing: recreating it" in e.get("MESSAGE", "") and sys.argv[1] in e.get("MESSAGE", ""):
        print(e.get("_PID"))' "$G5" | tail -n 1)
check "5: the restarted service itself (pid $PID_AFTER) recreated the timer at start (journal _PID=${fixer:-none})" \
        [ "${fixer:-x}" = "$PID_AFTER" ]
check "5: gina keeps jit-crash" is_member gina jit-crash

# The invariant: every member of a managed group has an active grant for it,
# and every active grant has a running expiry timer.
invariant() {
        local list groups timers
        list=$(ns_run /opt/jit/jitctl --json list --all 2>&1)
        groups=$(ns_sh 'for g in $1; do getent group "$g"; done' "$MANAGED")
        timers=$(ns_run systemctl list-units --all --plain --no-legend --no-pager 'jit-expire-*.timer')
        python3 - "$list" "$groups" "$timers" <<'PY'
import json, sys
lst, groups, timers = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
active = [g for g in lst.get("grants", []) if g.get("state") == "active"]
have = {(g["user"], g["group"]) for g in active}
bad = []
for line in groups.splitlines():
    name, _, _, members = line.split(":")
    for m in filter(None, members.split(",")):
        if (m, name) not in have:
            bad.append("%s is in %s without an active grant" % (m, name))
running = {}
for line in timers.splitlines():
    f = line.split()
    if f:
        running[f[0]] = f[2:4]
for g in active:
    t = "jit-expire-%s.timer" % g["id"]
    if running.get(t) != ["active", "waiting"]:
        bad.append("active grant %s (%s in %s) has no waiting timer (%s)" % (g["id"], g["user"], g["group"], running.get(t)))
for b in bad:
    print(b)
print("%d active grants, all explained" % len(active) if not bad else "")
sys.exit(1 if bad else 0)
PY
}
if out=$(invariant 2>&1); then
        ok "5: invariant: every member of a managed group has an active grant, every active grant a waiting timer ($(echo "$out" | tail -n 1))"
else
        notok "5: invariant: every member of a managed group has an active grant, every active grant a waiting timer"
        echo "$out" | diag
fi

# --- 6. jit-reconcile.timer and .service ----------------------------------------------------
out=$(ns_sh 'set -e; systemctl enable --now --quiet jit-reconcile.timer; systemctl is-enabled jit-reconcile.timer; systemctl is-active jit-reconcile.timer' 2>&1)
if [ "$(echo "$out" | tr '\n' ' ')" = "enabled active " ]; then
        ok "6: jit-reconcile.timer is installed, enabled and active"
else
        notok "6: jit-reconcile.timer is installed, enabled and active"
        echo "$out" | diag
fi
ns_run gpasswd -a hank jit-crash >/dev/null
out=$(ns_run systemctl start jit-reconcile.service 2>&1); rc=$?
res=$(ns_run systemctl show -p Result --value jit-reconcile.service)
if [ "$rc" = 0 ] && [ "$res" = success ]; then
        ok "6: systemctl start jit-reconcile.service succeeds (jitctl reconcile, Result=success)"
else
        notok "6: systemctl start jit-reconcile.service succeeds (exit $rc, Result=$res)"
        { echo "$out"; ns_run journalctl --no-pager -o cat -u jit-reconcile.service | tail -n 5; } | diag
fi
check "6: its pass reached the service: hank, added by hand again, is out of jit-crash" not_member hank jit-crash

# --- 7. SIGKILL inside a grant: after the record, the membership, before the timer ---------
# tests/preload/crashpoint.so (LD_PRELOAD, set by a drop-in) makes
# jit.service SIGKILL itself at the step $JIT_CRASH_AT of making a grant,
# once (marker $JIT_CRASH_ONCE). One user per step; Restart=on-failure
# brings the service back, and its start-up reconcile must leave no member
# without a grant and no grant without a timer.
CP_SO=/opt/jit/tests/crashpoint.so
if ns_sh '[ -f "$1" ]' "$CP_SO"; then
        ns_sh 'mkdir -p /etc/systemd/system/jit.service.d && cat > /etc/systemd/system/jit.service.d/crashpoint.conf && systemctl daemon-reload' <<C
[Service]
Environment=LD_PRELOAD=$CP_SO
EnvironmentFile=-/run/crashpoint.env
C
        killed_lines() { ns_run journalctl --no-pager -o cat -b -u jit.service | grep -c 'Main process exited, code=killed, status=9/KILL'; }
        for cp in record:ivy membership:jack timer:kim; do
                at=${cp%%:*} u=${cp#*:}
                # reset-failed: these restarts and crashes would otherwise
                # hit the start limit (5 starts in 10 s) and fail the unit.
                ns_sh 'printf "JIT_CRASH_AT=%s\nJIT_CRASH_ONCE=/run/crashpoint.%s.done\n" "$1" "$1" > /run/crashpoint.env &&
                        systemctl reset-failed jit.service && systemctl restart jit.service' "$at"
                PID_BEFORE=$(main_pid)
                KILLED_BEFORE=$(killed_lines)
                if ! ns_sh 'grep -qF "$2" /proc/"$1"/maps' "$PID_BEFORE" "$CP_SO"; then
                        notok "7 $at: jit.service (pid $PID_BEFORE) runs with $CP_SO loaded"
                        continue
                fi
                out=$(request "$u" step 10m); rc=$?
                if poll "$BOUND" '[ -e /run/crashpoint.$1.done ] && [ "$(systemctl is-active jit.service)" = active ] && [ "$(systemctl show -p MainPID --value jit.service)" != "$2" ]' "$at" "$PID_BEFORE" &&
                   [ "$rc" != 0 ] && [ "$(killed_lines)" -gt "$KILLED_BEFORE" ] && ! alive "$PID_BEFORE"; then
                        ok "7 $at: jitctl request step as $u: the service (pid $PID_BEFORE, crashpoint.so) SIGKILLed itself (journal: code=killed, status=9/KILL); the client failed (exit $rc); Restart=on-failure started pid $(main_pid)"
                else
                        notok "7 $at: the service SIGKILLed itself during $u's grant and came back (client exit $rc)"
                        echo "$out" | diag
                        ns_run systemctl status --no-pager jit.service | diag
                        ns_run systemctl reset-failed jit.socket jit.service
                        ns_run systemctl start jit.socket jit.service
                fi
                echo "$out" | tail -n 1 | diag
                G=$(ns_run /opt/jit/jitctl --json list --all | python3 -c '
import json, sys
print(" ".join(g["id"] for g in json.load(sys.stdin).get("grants", []) if g.get("user") == sys.argv[1]))' "$u" 2>/dev/null)
                timer=$(ns_run systemctl is-active "jit-expire-$G.timer")
                if [ -n "$G" ] && [ "${G#* }" = "$G" ] && [ "$(show "$G" | jget grant.state)" = active ] &&
                   is_member "$u" jit-step && [ "$timer" = active ] &&
                   jlog "expiry timer of grant $G was missing: recreating it"; then
                        ok "7 $at: after the restart $u has one grant $G, active, $u in jit-step, jit-expire-$G.timer recreated at start"
                else
                        notok "7 $at: after the restart $u has one active grant (${G:-none}), is in jit-step ($(is_member "$u" jit-step && echo yes || echo no)), its timer is active ($timer)"
                        ns_run journalctl --no-pager -o cat -b -u jit.service | tail -n 8 | diag
                fi
                # Whether the restart had to add the membership (only a
                # crash between the record and gpasswd needs it) and
                # whether the grant's own audit line ("grant G: U is in
                # group ...", before gpasswd) made it to the journal.
                added=no; ns_run journalctl --no-pager -o cat -b -u jit.service | grep -qF "grant $G is active but $u is not in group jit-step: adding" && added=yes
                logged=no; ns_run journalctl --no-pager -o cat -b -u jit.service | grep -qF "grant $G: $u is in group jit-step" && logged=yes
                case $at in
                record)   check "7 $at: the start-up reconcile added the missing membership (\"grant $G is active but $u is not in group jit-step: adding\"); grant line in the journal: $logged" [ "$added" = yes ] ;;
                *)        check "7 $at: the membership was already there (no \"adding\" line); grant line in the journal: $logged" [ "$added,$logged" = no,yes ] ;;
                esac
                RQ=$(show "$G" | jget grant.request_id)
                echo "# 7 $at: request $RQ: state $(show "$RQ" | jget request.state), grant_id $(show "$RQ" | jget request.grant_id)"
                if out=$(invariant 2>&1); then
                        ok "7 $at: invariant: no member without an active grant, no active grant without a waiting timer ($(echo "$out" | tail -n 1))"
                else
                        notok "7 $at: invariant: no member without an active grant, no active grant without a waiting timer"
                        echo "$out" | diag
                fi
        done
        ns_sh 'rm -f /etc/systemd/system/jit.service.d/crashpoint.conf /run/crashpoint.env /run/crashpoint.*.done && systemctl daemon-reload && systemctl restart jit.service'
        check "7: drop-in removed; jit.service (pid $(main_pid)) runs without crashpoint.so" \
                eval '[ "$(ns_run systemctl is-active jit.service)" = active ] && ! ns_sh "grep -qF crashpoint /proc/\$1/maps" "$(main_pid)"'
else
        skip "7: SIGKILL inside a grant ($BUILD/tests/crashpoint.so is not built: cmake --build BUILD --target crashpoint)"
fi

# --- 4. a reboot while a grant expires -------------------------------------------------------
# Also bound grants whose login and unit are still there at poweroff: after
# the reboot they are gone, and so must the grants be.
GB_S= GB_U=
if [ -n "$HAVE_SSH" ]; then
        ssh_login ssh-carol2 carol '/opt/jit/jitctl --json request bound --for 10m --bind session > ~/grant2.json 2>&1; exec sleep 306'
fi
ns_run systemd-run --quiet --unit=job2 --uid=dave -p WorkingDirectory=/home/dave /bin/sh -c \
        '/opt/jit/jitctl --json request job --for 10m --bind unit > /home/dave/grant2.json 2>&1; exec sleep 307'
poll "$BOUND" 'grep -q "\"id\"" /home/dave/grant2.json 2>/dev/null && { [ -z "$1" ] || grep -q "\"id\"" /home/carol/grant2.json 2>/dev/null; }' "$HAVE_SSH"
GB_U=$(ns_run cat /home/dave/grant2.json | jget grant.id)
[ -n "$HAVE_SSH" ] && GB_S=$(ns_run cat /home/carol/grant2.json | jget grant.id)
if [ -n "$GB_U" ] && is_member dave jit-job && { [ -z "$HAVE_SSH" ] || { [ -n "$GB_S" ] && is_member carol jit-bound; }; }; then
        ok "4: bound grants live at poweroff: ${GB_S:+$GB_S of carol (her ssh login), }$GB_U of dave (unit job2)"
else
        notok "4: bound grants live at poweroff (carol: ${GB_S:-?}, dave: ${GB_U:-?})"
fi
ans=$(request erin boot "${SHORT_TTL}s"); GE=$(echo "$ans" | jget grant.id)
GE_EXP=$(echo "$ans" | jget grant.expires_us)
ans=$(request frank boot 10m); GF=$(echo "$ans" | jget grant.id)
if [ -n "$GE" ] && [ -n "$GF" ] && is_member erin jit-boot && is_member frank jit-boot &&
   [ "$(ns_run systemctl is-active "jit-expire-$GE.timer")" = active ] &&
   [ "$(ns_run systemctl is-active "jit-expire-$GF.timer")" = active ]; then
        ok "4: erin granted boot for ${SHORT_TTL}s ($GE), frank for 10m ($GF), both in jit-boot, both timers active"
else
        notok "4: erin granted boot for ${SHORT_TTL}s, frank for 10m, both timers active"
        echo "$ans" | diag
fi
[ "$FAILS" = 0 ] || dump_inside
ns_stop
now_us=$(( $(date +%s%N) / 1000 ))
if [ "$now_us" -lt "${GE_EXP:-0}" ]; then
        ok "4: powered off $(( (GE_EXP - now_us) / 1000 )) ms before $GE expires"
else
        notok "4: powered off before $GE expires (the poweroff took too long; raise SHORT_TTL)"
fi
# Wait, off, until erin's grant has expired (and a second more).
while [ "$(( $(date +%s%N) / 1000 ))" -lt "$(( ${GE_EXP:-0} + 1000000 ))" ]; do sleep 0.2; done
if ns_boot_persistent "$BUILD"; then
        ok "4: booted the same machine again"
else
        notok "4: booted the same machine again"
        finish
fi
# The system is up (running/degraded): jit.service, Type=notify and wanted
# by multi-user.target, is up too, and its start-up reconcile ran before
# READY=1.
if poll "$BOUND" '[ "$(systemctl is-active jit.service)" = active ]'; then
        ok "4: jit.service started at boot (no caller needed)"
else
        notok "4: jit.service started at boot (no caller needed)"
        ns_run systemctl status --no-pager jit.service | diag
fi
check "4: erin's membership is gone as soon as jit.service is active" not_member erin jit-boot
s=$(show "$GE")
if [ "$(echo "$s" | jget grant.state)" = expired ] && [ "$(echo "$s" | jget grant.ended_by)" = reconcile ]; then
        ok "4: $GE: state expired, ended_by reconcile"
else
        notok "4: $GE: state expired, ended_by reconcile (got $(echo "$s" | jget grant.state)/$(echo "$s" | jget grant.ended_by))"
        echo "$s" | diag
fi
check "4: frank keeps jit-boot" is_member frank jit-boot
if [ -n "$GB_S" ]; then
        s=$(show "$GB_S")
        if [ "$(echo "$s" | jget grant.state)" = revoked ] && [ "$(echo "$s" | jget grant.ended_by)" = session-closed ] &&
           not_member carol jit-bound; then
                ok "4: $GB_S (bound to a login of the last boot): revoked (session-closed) by the time the system is up, carol out of jit-bound"
        else
                notok "4: $GB_S (bound to a login of the last boot): revoked by session-closed at start (got $(echo "$s" | jget grant.state)/$(echo "$s" | jget grant.ended_by))"
        fi
fi
s=$(show "$GB_U")
if [ "$(echo "$s" | jget grant.state)" = revoked ] && [ "$(echo "$s" | jget grant.ended_by)" = unit-stopped ] &&
   not_member dave jit-job; then
        ok "4: $GB_U (bound to job2 of the last boot): revoked (unit-stopped) by the time the system is up, dave out of jit-job"
else
        notok "4: $GB_U (bound to job2 of the last boot): revoked by unit-stopped at start (got $(echo "$s" | jget grant.state)/$(echo "$s" | jget grant.ended_by))"
fi
check "4: $GF is still active" eval '[ "$(show "$GF" | jget grant.state)" = active ]'
if ns_run systemctl list-timers --all --no-legend --no-pager | grep -qF "jit-expire-$GF.timer" &&
   [ "$(ns_run systemctl is-active "jit-expire-$GF.timer")" = active ] &&
   jlog "expiry timer of grant $GF was missing: recreating it"; then
        ok "4: systemctl list-timers shows jit-expire-$GF.timer again (recreated at start)"
else
        notok "4: systemctl list-timers shows jit-expire-$GF.timer again"
        dump_inside
fi
if out=$(invariant 2>&1); then
        ok "4: invariant after the reboot ($(echo "$out" | tail -n 1))"
else
        notok "4: invariant after the reboot"
        echo "$out" | diag
fi

[ "$FAILS" = 0 ] || dump_inside
finish
