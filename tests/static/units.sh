#!/bin/bash
# The systemd units we ship stay as sandboxed as README says:
#   - `systemd-analyze verify` accepts every unit (ExecStart pointed at the
#     built jitctl, so that it exists), the expiry units' drop-in included;
#   - `systemd-analyze security --offline=true` rates each service no worse
#     than the figure in README ("Security properties"): jit.service,
#     jit-reconcile.service, jit-notify.service, jit-fleet.service, and a
#     jit-expire-GRANT.service as the service makes it (Type=oneshot,
#     ExecStart) with systemd/jit-expire-.service.d/.
# jit-fleet-approver.service, a user unit (an approver's own machine), is
# verified only: a user manager cannot apply most of the sandboxing.
# jit.socket and jit-reconcile.timer run no process of their own: nothing
# to rate. Skips (77) without systemd-analyze 250 or later (--offline).
#
#   units.sh BUILD_DIR SOURCE_DIR JITCTL
set -u

build=${1:?usage: units.sh BUILD_DIR SOURCE_DIR JITCTL}
src=${2:?}
jitctl=${3:?}
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

# The most each unit may score; README's table quotes these.
declare -A max=([jit.service]=3.8 [jit-reconcile.service]=0.5 [jit-expire-g-0000000000.service]=0.9 [jit-notify.service]=1.6 [jit-fleet.service]=1.6)

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
v=$(systemd-analyze --version | sed -n 's/^systemd \([0-9]*\).*/\1/p')
[ "${v:-0}" -ge 250 ] || { echo "SKIP: systemd-analyze $v has no security --offline"; exit 77; }

tmp=$(mktemp -d /tmp/jit-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for u in jit.service jit-reconcile.service; do
        sed -E "s|^ExecStart=[^ ]*/jitctl|ExecStart=$jitctl|" "$build/systemd/$u" >"$tmp/$u"
done
# jit-notify's and jit-fleet's programs need only exist for verify: any
# executable will do.
for u in jit-notify.service jit-fleet.service jit-fleet-approver.service; do
        sed -E "s|^ExecStart=.*|ExecStart=$jitctl|" "$build/systemd/$u" >"$tmp/$u"
done
cp "$src/systemd/jit.socket" "$src/systemd/jit-reconcile.timer" "$tmp/"
mkdir "$tmp/jit-expire-.service.d"
cp "$src/systemd/jit-expire-.service.d/sandbox.conf" "$tmp/jit-expire-.service.d/"
# As common/timer.c makes it (the transient unit's own properties).
cat >"$tmp/jit-expire-g-0000000000.service" <<EOF
[Unit]
Description=jit: end grant g-0000000000 at its expiry
[Service]
Type=oneshot
ExecStart=$jitctl --socket /run/jit/jit.sock expire g-0000000000
EOF

cd "$tmp" || exit 1
for u in jit.socket jit.service jit-reconcile.service jit-reconcile.timer jit-expire-g-0000000000.service jit-notify.service \
        jit-fleet.service jit-fleet-approver.service; do
        out=$(SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze verify --man=no "./$u" 2>&1)
        if [ $? = 0 ] && [ -z "$out" ]; then
                ok "systemd-analyze verify $u: clean"
        else
                not_ok "systemd-analyze verify $u"
                sed 's/^/# /' <<<"$out"
        fi
done
for u in jit.service jit-reconcile.service jit-expire-g-0000000000.service jit-notify.service jit-fleet.service; do
        out=$(SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze security --offline=true --no-pager "./$u" 2>&1)
        score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
        if [ -n "$score" ] && awk -v s="$score" -v m="${max[$u]}" 'BEGIN { exit !(s <= m) }'; then
                ok "systemd-analyze security $u: $score (at most ${max[$u]})"
        else
                not_ok "systemd-analyze security $u: ${score:-?}, more than ${max[$u]}"
                grep '✗' <<<"$out" | sed 's/^/# /'
        fi
done
# The drop-in must reach the expiry unit: without it, the unit scores 9.6.
out=$(SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze security --offline=true --no-pager ./jit-expire-g-0000000000.service 2>&1)
if grep -q '✓ PrivateUsers=' <<<"$out"; then
        ok "jit-expire-.service.d/ applies to jit-expire-GRANT.service"
else
        not_ok "jit-expire-.service.d/ does not apply to jit-expire-GRANT.service"
fi

echo "1..$n"
exit $fail
