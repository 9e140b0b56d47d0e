#!/bin/bash
# jit-notify.service as shipped, in a booted Debian container
# (systemd-nspawn, tests/e2e/nspawn.sh; BUILD_DIR bound at /opt/jit): the
# unit starts, delivers a pending notification over HTTPS (signed) and runs
# a command target, as root with no capability at all, seeing nothing of
# /var/lib/jit but the outbox and not the host key; proxy and key-log
# variables set for the unit change nothing. The receiver runs in the
# container's network namespace (nsenter -n) from the host's file system.
#
#   tests/e2e/notify-systemd.sh BUILD_DIR
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/e2e/nspawn.sh"

N=0 FAILS=0
ok()    { N=$((N + 1)); echo "ok $N - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
diag()  { sed 's/^/#   /'; }

ns_check
command -v openssl >/dev/null || ns_skip "openssl is not installed"
[ -x "$BUILD/jit-notify" ] && [ -x "$BUILD/jitctl" ] || { echo "not ok - build first"; exit 1; }
ns_boot "$BUILD" || { echo "not ok - the container did not boot"; exit 1; }
RP=
trap '[ -n "$RP" ] && kill $RP 2>/dev/null; ns_stop' EXIT
W=$NS_TMP

# --- install: units, tmpfiles, policy, key, CA ---------------------------------
mkdir -p "$W/pki"
(
        cd "$W/pki" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=jit test CA" \
                -keyout ca.key -out ca.pem 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
                -keyout srv.key -out srv.csr 2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1\n' > san.ext &&
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext \
                -out srv.pem 2>/dev/null &&
        (umask 077; head -c 32 /dev/urandom | base64 > good.key)
) || { echo "not ok - openssl"; exit 1; }
sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/jit.service.in" >"$W/jit.service"
sed 's|@JIT_LIBEXECDIR@/jit-notify|/opt/jit/jit-notify|g' "$SRC/systemd/jit-notify.service.in" >"$W/jit-notify.service"
cat >"$W/env.conf" <<'EOF'
[Service]
Environment=https_proxy=http://127.0.0.1:18449 ALL_PROXY=http://127.0.0.1:18449 SSLKEYLOGFILE=/var/lib/jit/outbox/.keylog CURL_CA_BUNDLE=/nonexistent
EOF
cat >"$W/jit.conf" <<'EOF'
{ "version": 1,
  "settings": { "expiry": "loop" },
  "roles": { "ops": { "group": "jit-ops", "max_ttl": "1h", "requesters": { "users": ["alice"] },
     "approvers": { "users": ["bob"] }, "notify": { "targets": ["good", "cmd"], "events": ["pending"] } } },
  "notify": { "targets": {
     "good": { "type": "json", "url": "https://127.0.0.1:18443/hook",
               "key_file": "/etc/jit/notify/good.key", "ca_file": "/etc/jit/notify/ca.pem" },
     "cmd": { "type": "command",
              "argv": ["/bin/sh", "-c", "cat > /var/lib/jit/outbox/.cmd-body; id -u > /var/lib/jit/outbox/.cmd-uid; grep CapEff /proc/self/status > /var/lib/jit/outbox/.cmd-caps"] } } } }
EOF
ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
ns_put "$W/jit.service" /etc/systemd/system/jit.service 0644
ns_put "$W/jit-notify.service" /etc/systemd/system/jit-notify.service 0644
ns_sh 'mkdir -p /etc/systemd/system/jit-notify.service.d'
ns_put "$W/env.conf" /etc/systemd/system/jit-notify.service.d/env.conf 0644
ns_put "$SRC/systemd/jit.tmpfiles" /etc/tmpfiles.d/jit.conf 0644
ns_sh 'install -d -m 0755 /etc/jit && install -d -m 0700 /etc/jit/notify && groupadd -f --system jit-ops &&
       { id alice >/dev/null 2>&1 || useradd -m alice; } && { id bob >/dev/null 2>&1 || useradd -m bob; }'
ns_put "$W/jit.conf" /etc/jit/jit.conf 0644
ns_put "$W/pki/good.key" /etc/jit/notify/good.key 0600
ns_put "$W/pki/ca.pem" /etc/jit/notify/ca.pem 0644
out=$(ns_sh 'systemd-tmpfiles --create /etc/tmpfiles.d/jit.conf && systemctl daemon-reload &&
             systemctl enable --quiet --now jit.socket && systemctl start jit.service && systemctl start jit-notify.service &&
             sleep 0.5 && systemctl is-active jit.service jit-notify.service' 2>&1)
check "jit.service and jit-notify.service run ($(echo $out))" [ "$(echo $out)" = "active active" ]

# --- a pending request reaches the receiver, signed ------------------------------
: > "$W/recv.log"
nsenter -t "$NS_LEADER" -n python3 "$SRC/tests/e2e/notify_receiver.py" --port 18443 --mode ok --log "$W/recv.log" \
        --cert "$W/pki/srv.pem" --key "$W/pki/srv.key" --hmac-key "$W/pki/good.key" 2>"$W/recv.err" &
RP=$!
: > "$W/proxy.log"
nsenter -t "$NS_LEADER" -n python3 "$SRC/tests/e2e/notify_receiver.py" --port 18449 --mode tcp --log "$W/proxy.log" &
RP="$RP $!"
for _ in $(seq 1 100); do [ -e "$W/recv.log.ready" ] && [ -e "$W/proxy.log.ready" ] && break; sleep 0.05; done
req=$(ns_run runuser -u alice -- /opt/jit/jitctl --json request ops --for 5m --reason "from the container" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
for _ in $(seq 1 50); do grep -q "$req" "$W/recv.log" && break; sleep 0.1; done
check "the receiver got the pending notification of $req, its signature verifies" \
        python3 -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; assert any(x["sig_ok"] and sys.argv[2] in x["body"] for x in d), d' \
        "$W/recv.log" "$req"
sleep 0.5
j=$(ns_run journalctl --no-pager -o cat JIT_EVENT=notify 2>&1)
check "the journal has both deliveries from the service (JIT_EVENT=notify)" \
        bash -c 'grep -q "delivered to good on attempt 1 (HTTP 200)" <<<"$1" && grep -q "delivered to cmd on attempt 1 (exit 0)" <<<"$1"' _ "$j"
[ "$FAILS" = 0 ] || { echo "$j" | diag; ns_run journalctl --no-pager -u jit-notify.service | tail -20 | diag; }

# --- the sandbox ------------------------------------------------------------------
cmd=$(ns_sh 'cat /var/lib/jit/outbox/.cmd-uid /var/lib/jit/outbox/.cmd-caps' 2>&1)
check "the command target ran as root with no capability ($(echo $cmd))" \
        bash -c 'grep -qx 0 <<<"$1" && grep -q "CapEff:[[:space:]]*0000000000000000" <<<"$1"' _ "$cmd"
seen=$(ns_sh 'pid=$(systemctl show -p MainPID --value jit-notify.service)
        grep CapEff /proc/$pid/status; nsenter -t $pid -m ls -A /var/lib/jit
        nsenter -t $pid -m sh -c "wc -c < /etc/jit/host.key" 2>&1; tr "\0" "\n" < /proc/$pid/environ' 2>&1)
check "jit-notify itself has no capability" grep -q "CapEff:[[:space:]]*0000000000000000" <<<"$seen"
check "of /var/lib/jit it sees the outbox alone" bash -c '[ "$(sed -n 2p <<<"$1")" = outbox ] && ! grep -q "audit.log\|requests\|grants" <<<"$1"' _ "$seen"
check "the host key is hidden from it" bash -c '! grep -q "^[1-9][0-9]*$" <<<"$1"' _ "$seen"
check "its environment holds no proxy, CA bundle or key log variable" bash -c '! grep -qi "proxy\|SSLKEYLOG\|CURL_CA" <<<"$1"' _ "$seen"
check "no connection reached the proxy named in the unit's environment" bash -c '[ ! -s "$1" ]' _ "$W/proxy.log"
check "no TLS key log was written" bash -c '[ -z "$(ns_run ls -A /var/lib/jit/outbox/.keylog 2>/dev/null)" ]'
sa=$(ns_run systemd-analyze security --no-pager jit-notify.service 2>&1 | tail -n 1)
check "systemd-analyze security jit-notify.service: ${sa#*: }" grep -Eq 'exposure level for jit-notify.service: (0\.|1\.[0-6])' <<<"$sa"

echo "1..$N"
[ "$FAILS" = 0 ]
