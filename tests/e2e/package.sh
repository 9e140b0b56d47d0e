#!/bin/bash
# e2e/package — the Debian package, built, linted, installed and used as the
# README says.
#
#   tests/e2e/package.sh BUILD_DIR
#
# Builds the .deb with cpack in BUILD_DIR (a tree configured with a prefix
# other than /usr gets a packaging tree of its own, BUILD_DIR/package-usr)
# and runs lintian on it: any E: fails, W: and I: are printed. Boots a
# throwaway Debian 12 container (tests/e2e/nspawn.sh) and there:
#   - installs the package with the README's own command: nothing is enabled
#     or started, no PAM file names pam_jit, /etc/jit is empty (root 0755),
#     /var/lib/jit is root 0700, libpam's directory has the module, the
#     journal catalog is loaded (systemd's dpkg trigger); the fleet's
#     jit-fleet, jit-fleet-enrol, unit, man pages and example are there;
#   - runs every command of the README's install section after the build
#     (group, policy from the examples — $EDITOR is this test's edit —,
#     policy check, units, sudoers) and adds its PAM line to /etc/pam.d/sudo;
#   - one approval flow: alice's sudo is held as a pending request, bob (an
#     approver, key made with jitctl keygen, registered by root) approves it
#     with a signature, alice is in jit-ops and her sudo runs as root;
#   - systemd-analyze verify on the installed units prints nothing;
#   - reinstalling the package over itself (an upgrade) restarts the running
#     service and leaves the PAM line and the grant alone;
#   - dpkg -r is refused (and changes nothing) while the PAM line is there,
#     then while the grant is active; accepted after both are gone; no PAM
#     line then names a module that is missing, and root's sudo still works;
#   - a purge removes the enable links and keeps /etc/jit and the audit log;
#   - JIT_FORCE_REMOVE=1 removes it despite a PAM line.
# Needs root; exits 77 (skip) when nspawn cannot run here.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(realpath -e "$1") || { echo "no build directory $1" >&2; exit 1; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/nspawn.sh"

T0=$(date +%s%N)
N=0
FAILS=0
ok()    { N=$((N + 1)); echo "ok - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # DESCRIPTION COMMAND...: ok when COMMAND succeeds
        local d=$1; shift
        if "$@"; then ok "$d"; else notok "$d"; fi
}
diag()  { sed 's/^/#   /'; }
elapsed_ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
finish() {
        echo "# $N checks, $FAILS failed, $(elapsed_ms) ms"
        [ "$FAILS" = 0 ] && exit 0
        exit 1
}

ns_check
for t in cpack lintian dpkg-shlibdeps; do
        command -v "$t" >/dev/null 2>&1 || ns_skip "$t is not installed (tests/deps.sh: cmake, lintian, dpkg-dev)"
done

# --- build the package ---------------------------------------------------------
PKGTREE=$BUILD
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
if [ "$prefix" != /usr ]; then
        echo "# $BUILD is configured with the prefix '${prefix:-?}': packaging from $BUILD/package-usr"
        PKGTREE=$BUILD/package-usr
        cmake -S "$SRC" -B "$PKGTREE" -DCMAKE_INSTALL_PREFIX=/usr -DJIT_TESTS=OFF >/dev/null &&
                cmake --build "$PKGTREE" -j"$(nproc)" >/dev/null ||
                { notok "configure and build $PKGTREE"; finish; }
fi
t=$(date +%s%N)
out=$(cd "$PKGTREE" && cpack -G DEB 2>&1); rc=$?
DEB=$(printf '%s\n' "$out" | sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' | tail -n 1)
if [ "$rc" = 0 ] && [ -f "$DEB" ]; then
        ok "cpack -G DEB built ${DEB##*/} in $(( ($(date +%s%N) - t) / 1000000 )) ms"
else
        notok "cpack -G DEB built a package (exit $rc)"
        echo "$out" | tail -n 20 | diag
        finish
fi
echo "# Depends: $(dpkg-deb -f "$DEB" Depends)"
check "the package suggests etcd-client and openssl, for jit-fleet-enrol" \
        bash -c '[[ ", $1, " == *", etcd-client, "* && ", $1, " == *", openssl, "* ]]' _ "$(dpkg-deb -f "$DEB" Suggests)"

# --- lintian: no errors ---------------------------------------------------------
out=$(lintian --display-info --pedantic "$DEB" 2>&1); rc=$?
echo "$out" | grep -v 'running with root privileges' | diag
if ! echo "$out" | grep -q '^E: ' && { [ "$rc" = 0 ] || [ "$rc" = 2 ]; }; then
        ok "lintian: no errors ($(echo "$out" | grep -c '^W: ') warnings, $(echo "$out" | grep -c '^I: ') infos)"
else
        notok "lintian: no errors (exit $rc)"
fi

# --- boot, install as the README says ----------------------------------------------
# The package reaches the container through BUILD, bound read-only at /opt/jit.
case $DEB in
"$BUILD"/*) DEB_IN=/opt/jit/${DEB#"$BUILD"/} ;;
*) notok "the package is under $BUILD"; finish ;;
esac
if ns_boot "$BUILD"; then
        ok "container booted with systemd"
else
        notok "container booted with systemd"
        finish
fi

dump_inside() {
        echo "# --- journal of jit ---"
        ns_run journalctl --no-pager -o short-precise -u jit.service -u jit.socket 2>&1 | tail -n 30 | diag
}

# The README's install section: every command of its sh blocks after the
# build (which happened above), and the PAM line of its PAM block.
readme_section() {
        awk '/^## Install on a real host/ { on = 1; next } on && /^## / { exit } on' "$SRC/README.md"
}
README_CMDS=$(readme_section | awk '
        /^```sh$/ { sh = 1; next }
        /^```/    { sh = 0; next }
        sh && !/^[[:space:]]*(#|$)/ && !/^(tests\/deps\.sh|cmake )/')
PAM_LINE=$(readme_section | grep -m1 -E '^account[[:space:]]+required[[:space:]]+pam_jit\.so')
if echo "$README_CMDS" | grep -q '^apt install \./build/' && [ -n "$PAM_LINE" ]; then
        ok "README: the install section has $(echo "$README_CMDS" | wc -l) commands after the build, and the PAM line '$PAM_LINE'"
else
        notok "README: the install section installs ./build/*.deb and shows an 'account required pam_jit.so' line"
        echo "$README_CMDS" | diag
        finish
fi

# The container: an admin who answers apt's questions with yes; the users.
# alice (eng) may request ops, bob (sre) approves it. sudoers asks alice for
# her password (the README's line has no NOPASSWD): she types it on stdin.
if out=$(ns_sh '
        set -e
        echo "APT::Get::Assume-Yes \"true\";" > /etc/apt/apt.conf.d/90yes
        mkdir -p /root/build && cp "$1" /root/build/
        groupadd eng && groupadd sre
        useradd -m -s /bin/bash -G eng alice
        useradd -m -s /bin/bash -G sre bob
        echo "alice:alice-pw-4711" | chpasswd
        usermod -p "*" bob' "$DEB_IN" 2>&1); then
        ok "container: users alice (eng) and bob (sre), the package in /root/build"
else
        notok "container: users alice (eng) and bob (sre), the package in /root/build"
        echo "$out" | diag
        finish
fi

# $EDITOR for the README's policy step: check the example as shipped, then
# replace it with this host's policy (alice asks, bob approves, no hours).
cat >"$NS_TMP/edit-policy" <<'EDIT'
#!/bin/sh
jitctl policy check "$1" >/root/example-check.out 2>&1
echo $? >/root/example-check.rc
cat >"$1" <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "auto" },
  "roles": {
    "ops": {
      "description": "Root through sudo on this host",
      "group": "jit-ops",
      "default_ttl": "15m",
      "max_ttl": "2h",
      "requesters": { "groups": ["eng"] },
      "approvers": { "groups": ["sre"] },
      "tier": "owner"
    }
  }
}
CONF
EDIT
ns_put "$NS_TMP/edit-policy" /root/edit-policy 0755

run_readme() { # LINE: as root in /root, like an admin at a shell
        ns_run env EDITOR=/root/edit-policy DEBIAN_FRONTEND=noninteractive sh -c 'cd /root && eval "$1"' sh "$1" </dev/null
}

while IFS= read -r line; do
        out=$(run_readme "$line" 2>&1); rc=$?
        short=$(echo "$line" | sed 's/[[:space:]]*#.*$//')
        if [ "$rc" = 0 ]; then
                ok "README, as root: $short"
        else
                notok "README, as root: $short (exit $rc)"
                echo "$out" | tail -n 15 | diag
                dump_inside
                finish
        fi
        if echo "$line" | grep -q '^apt install '; then
                # Right after the package is installed: it enabled nothing.
                check "installed: dpkg says jit is installed" \
                        ns_sh '[ "$(dpkg-query -W -f="\${Status}" jit)" = "install ok installed" ]'
                out=$(ns_sh 'grep -rl pam_jit /etc/pam.d /etc/pam.conf 2>/dev/null')
                check "installed: no file in /etc/pam.d names pam_jit" [ -z "$out" ]
                st=$(ns_sh 'for u in jit.socket jit.service jit-reconcile.timer jit-notify.service jit-fleet.service; do
                        printf "%s=%s,%s " "$u" "$(systemctl is-enabled "$u")" "$(systemctl is-active "$u")"; done')
                check "installed: no unit enabled or running ($st)" \
                        bash -c '! grep -qE "=(enabled|[a-z]*,active)" <<<"$1"' _ "$st"
                out=$(ns_sh 'stat -c "%a %U:%G" /etc/jit; ls -A /etc/jit; stat -c "%a %U:%G" /var/lib/jit')
                check "installed: /etc/jit 755 root:root and empty, /var/lib/jit 700 root:root ($(echo $out))" \
                        [ "$out" = "$(printf '755 root:root\n700 root:root')" ]
                check "installed: libpam's directory has pam_jit.so (/lib/x86_64-linux-gnu/security)" \
                        ns_sh 'test -f /lib/x86_64-linux-gnu/security/pam_jit.so'
                check "installed: jitctl is /usr/bin/jitctl, its units run it" \
                        ns_sh '[ "$(command -v jitctl)" = /usr/bin/jitctl ] &&
                               grep -qx "ExecStart=/usr/bin/jitctl serve" /usr/lib/systemd/system/jit.service'
                check "installed: the journal catalog is loaded (systemd's trigger): journalctl --list-catalog has jit's grant event" \
                        ns_sh 'journalctl --list-catalog 10db7ee89d0f4b5a823c861200621d55 | grep -q "jit grant"'
                check "installed: the fleet: /usr/libexec/jit/jit-fleet (its unit runs it, and the approver's user unit with --approver), /usr/sbin/jit-fleet-enrol, jit-fleet(8), jit-fleet-enrol(8), examples/fleet.conf" \
                        ns_sh 'test -x /usr/libexec/jit/jit-fleet && test -x /usr/sbin/jit-fleet-enrol &&
                               grep -qx "ExecStart=/usr/libexec/jit/jit-fleet" /usr/lib/systemd/system/jit-fleet.service &&
                               grep -qx "ExecStart=/usr/libexec/jit/jit-fleet --approver" /usr/lib/systemd/user/jit-fleet-approver.service &&
                               test -f /usr/share/man/man8/jit-fleet.8.gz && test -f /usr/share/man/man8/jit-fleet-enrol.8.gz &&
                               test -f /usr/share/doc/jit/examples/fleet.conf'
        fi
done <<<"$README_CMDS"

out=$(ns_sh 'cat /root/example-check.rc; cat /root/example-check.out')
if [ "$(echo "$out" | head -n 1)" = 0 ]; then
        ok "the shipped example policy passes jitctl policy check ($(echo "$out" | sed -n 2p))"
else
        notok "the shipped example policy passes jitctl policy check"
        echo "$out" | diag
fi
check "README's units are enabled and jit.socket is listening" \
        ns_sh 'systemctl is-enabled -q jit.socket jit.service jit-reconcile.timer && systemctl is-active -q jit.socket'

# The README's PAM line, first of sudo's account phase.
if ns_sh 'sed -i "0,/^@include common-account/s||$1\n@include common-account|" /etc/pam.d/sudo &&
          grep -qxF "$1" /etc/pam.d/sudo' "$PAM_LINE"; then
        ok "PAM: '$PAM_LINE' before @include common-account in /etc/pam.d/sudo"
else
        notok "PAM: '$PAM_LINE' before @include common-account in /etc/pam.d/sudo"
        finish
fi

# --- one approval flow -----------------------------------------------------------
members() { ns_sh 'getent group jit-ops | cut -d: -f4 | tr , "\n"'; }
alice_sudo() { ns_sh 'echo alice-pw-4711 | runuser -u alice -- sudo -S -p "" /usr/bin/id -un'; }

out=$(alice_sudo 2>&1); rc=$?
REQ=$(echo "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n 1 | awk '{print $3}')
if [ "$rc" != 0 ] && [ -n "$REQ" ] && ! echo "$out" | grep -qx root; then
        ok "alice: sudo (password on stdin, no tty) is held: pending request $REQ, refused for now (exit $rc)"
else
        notok "alice: sudo (password on stdin, no tty) is held as a pending request (exit $rc)"
        echo "$out" | diag
        dump_inside
        finish
fi
out=$(ns_run jitctl --json show "$REQ" 2>&1)
check "jitctl show $REQ: pending, role ops, user alice" \
        bash -c 'grep -q "\"state\":[[:space:]]*\"pending\"" <<<"$1" && grep -q "\"user\":[[:space:]]*\"alice\"" <<<"$1"' _ "$out"

if out=$(ns_sh '
        set -e
        echo "bob approves carefully" > /home/bob/.pass && chown bob: /home/bob/.pass && chmod 0600 /home/bob/.pass
        runuser -u bob -- jitctl keygen --passphrase-file /home/bob/.pass
        jitctl approver add bob /home/bob/.config/jit/approver.pub' 2>&1); then
        ok "bob: jitctl keygen; root: jitctl approver add bob (the README's steps)"
else
        notok "bob: jitctl keygen; root: jitctl approver add bob"
        echo "$out" | diag
fi
out=$(ns_run runuser -u bob -- jitctl approve --passphrase-file /home/bob/.pass "$REQ" --comment "package test" 2>&1); rc=$?
check "bob: jitctl approve $REQ, signed (exit $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || { echo "$out" | diag; dump_inside; }
check "alice is in jit-ops" bash -c 'grep -qx alice <<<"$1"' _ "$(members)"
out=$(alice_sudo 2>&1); rc=$?
if [ "$rc" = 0 ] && [ "$out" = root ]; then
        ok "alice: the same sudo now runs id -un as root"
else
        notok "alice: the same sudo now runs id -un as root (exit $rc)"
        echo "$out" | diag
fi
G=$(ns_run jitctl --json show "$REQ" 2>/dev/null | grep -o '"g-[0-9a-z]*"' | head -n 1 | tr -d '"')
out=$(ns_run jitctl verify "${G:-none}" 2>&1); rc=$?
check "jitctl verify ${G:-?}: the grant rests on bob's registered signature (exit $rc)" \
        bash -c '[ "$1" = 0 ] && grep -q "approver bob" <<<"$2"' _ "$rc" "$out"
out=$(ns_run jitctl audit verify 2>&1); rc=$?
check "jitctl audit verify on the installed service's log (exit $rc)" [ "$rc" = 0 ]

# --- the units ------------------------------------------------------------------
# --man=no: the minbase rootfs has no man(1) to look the pages up with; the
# next check finds each Documentation= page among the installed files.
UNITS="jit.socket jit.service jit-reconcile.service jit-reconcile.timer jit-notify.service jit-fleet.service"
out=$(ns_sh 'cd /usr/lib/systemd/system && systemd-analyze verify --man=no $1' "$UNITS" 2>&1); rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
        ok "systemd-analyze verify on the installed units ($UNITS): clean"
else
        notok "systemd-analyze verify on the installed units: clean (exit $rc)"
        echo "$out" | diag
fi
out=$(ns_sh 'cd /usr/lib/systemd/system &&
        sed -n "s/^Documentation=//p" $1 | tr " " "\n" | sed -n "s/^man:\(.*\)(\([1-8]\))$/\1 \2/p" | sort -u |
        while read -r page sec; do
                f=/usr/share/man/man$sec/$page.$sec.gz
                if [ -f "$f" ]; then echo "found $page($sec)"; else echo "MISSING $f"; fi
        done' "$UNITS")
if [ -n "$out" ] && ! echo "$out" | grep -q MISSING; then
        ok "the units' Documentation= pages are installed: $(echo $out | sed 's/found //g')"
else
        notok "the units' Documentation= pages are installed"
        echo "$out" | diag
fi

# --- an upgrade: the package over itself ----------------------------------------
pid0=$(ns_run systemctl show -p MainPID --value jit.service)
out=$(ns_run env DEBIAN_FRONTEND=noninteractive dpkg -i "/root/build/${DEB##*/}" 2>&1); rc=$?
pid1=$(ns_run systemctl show -p MainPID --value jit.service)
if [ "$rc" = 0 ] && [ "$pid1" != 0 ] && [ "$pid1" != "$pid0" ] &&
   ns_sh 'grep -qxF "$1" /etc/pam.d/sudo' "$PAM_LINE" && members | grep -qx alice; then
        ok "dpkg -i over itself: jit.service restarted (pid $pid0 -> $pid1), the PAM line and the grant stay"
else
        notok "dpkg -i over itself: jit.service restarted, the PAM line and the grant stay (exit $rc, pid $pid0 -> $pid1)"
        echo "$out" | diag
fi

# --- removal ----------------------------------------------------------------------
# After a refused dpkg -r the selection is "deinstall"; the state stays "ok installed".
installed() { ns_sh 'case "$(dpkg-query -W -f="\${Status}" jit 2>/dev/null)" in *" ok installed") ;; *) exit 1 ;; esac &&
                     test -f /lib/x86_64-linux-gnu/security/pam_jit.so && test -x /usr/bin/jitctl'; }
lineno=$(ns_sh 'grep -nxF "$1" /etc/pam.d/sudo | cut -d: -f1' "$PAM_LINE")
out=$(ns_run dpkg -r jit 2>&1); rc=$?
echo "$out" | grep -E '^(jit: |    )' | diag
if [ "$rc" != 0 ] && echo "$out" | grep -qF "/etc/pam.d/sudo:$lineno:$PAM_LINE" && installed; then
        ok "dpkg -r jit with the PAM line there: refused (exit $rc), names /etc/pam.d/sudo:$lineno, jit still installed"
else
        notok "dpkg -r jit with the PAM line there: refused, names /etc/pam.d/sudo:$lineno, jit still installed (exit $rc)"
        echo "$out" | diag
fi
if ns_run systemctl is-active -q jit.socket && [ "$(alice_sudo 2>/dev/null)" = root ]; then
        ok "after the refusal jit.socket still listens and alice's sudo still runs"
else
        notok "after the refusal jit.socket still listens and alice's sudo still runs"
fi

# The grant check reads the records when the service does not answer.
ns_sh 'sed -i "/pam_jit\.so/d" /etc/pam.d/sudo && systemctl stop jit.socket jit.service'
out=$(ns_run dpkg -r jit 2>&1); rc=$?
echo "$out" | grep -E '^(jit: |    )' | diag
if [ "$rc" != 0 ] && [ -n "$G" ] && echo "$out" | grep -q "$G (from the records" && installed; then
        ok "dpkg -r jit with the PAM line gone, the service stopped and grant $G active: refused (exit $rc), names it from the records"
else
        notok "dpkg -r jit with the PAM line gone, the service stopped and grant ${G:-?} active: refused, names it (exit $rc)"
        echo "$out" | diag
fi
ns_run systemctl start jit.socket

ns_run jitctl revoke "${G:-none}" >/dev/null 2>&1
check "jitctl revoke $G: alice left jit-ops" bash -c '! grep -qx alice <<<"$1"' _ "$(members)"
out=$(ns_run dpkg -r jit 2>&1); rc=$?
if [ "$rc" = 0 ] && ns_sh '! test -e /lib/x86_64-linux-gnu/security/pam_jit.so && ! test -e /usr/bin/jitctl'; then
        ok "dpkg -r jit with no PAM line and no active grant: removed (module and jitctl gone)"
else
        notok "dpkg -r jit with no PAM line and no active grant: removed (exit $rc)"
        echo "$out" | diag
fi
check "after removal jit.socket and jit.service are stopped" \
        ns_sh '! systemctl is-active -q jit.socket && ! systemctl is-active -q jit.service'
# Every module a PAM file names exists (libpam's directory or an absolute path).
out=$(ns_sh '
        for f in /etc/pam.conf /etc/pam.d/*; do
                [ -f "$f" ] || continue
                grep -v "^[[:space:]]*#" "$f" | grep -oE "[^[:space:]]+\.so([[:space:]]|$)" | while read -r m; do
                        case $m in /*) p=$m ;; *) p=/lib/x86_64-linux-gnu/security/$m ;; esac
                        [ -e "$p" ] || echo "$f: $m"
                done
        done')
check "after removal no PAM line names a missing module${out:+ ($out)}" [ -z "$out" ]
out=$(ns_run sudo -n /usr/bin/id -un 2>&1)
check "after removal root's sudo still works through /etc/pam.d/sudo" [ "$out" = root ]

# --- purge keeps the record ---------------------------------------------------------
out=$(ns_run dpkg -P jit 2>&1); rc=$?
echo "$out" | grep -E '^(jit: |    )' | diag
check "dpkg -P jit: purged (exit $rc)" [ "$rc" = 0 ]
check "purge removed the enable links (sockets.target.wants, multi-user.target.wants, timers.target.wants)" \
        ns_sh '! ls /etc/systemd/system/*.wants/jit* 2>/dev/null | grep -q .'
check "purge kept /etc/jit/jit.conf, the host key and /var/lib/jit/audit.log" \
        ns_sh 'test -f /etc/jit/jit.conf && test -f /etc/jit/host.pub && test -s /var/lib/jit/audit.log'

# --- the escape hatch -------------------------------------------------------------
out=$(ns_sh '
        dpkg -i "$1" >/dev/null 2>&1 || exit 1
        sed -i "0,/^@include common-account/s||$2\n@include common-account|" /etc/pam.d/sudo
        JIT_FORCE_REMOVE=1 dpkg -r jit 2>&1' "/root/build/${DEB##*/}" "$PAM_LINE"); rc=$?
if [ "$rc" = 0 ] && echo "$out" | grep -q 'JIT_FORCE_REMOVE=1: removing anyway' &&
   ns_sh '! test -e /usr/bin/jitctl'; then
        ok "JIT_FORCE_REMOVE=1 dpkg -r jit removes it despite the PAM line, and says so"
else
        notok "JIT_FORCE_REMOVE=1 dpkg -r jit removes it despite the PAM line (exit $rc)"
        echo "$out" | diag
fi

finish
