#!/bin/bash
# jit-fleet.service as shipped, in a booted Debian container
# (systemd-nspawn, tests/e2e/nspawn.sh; BUILD_DIR bound at /opt/jit), with a
# one-member etcd (TLS, client certificates, access control by
# fleet/jit-fleet-enrol) run from the host's file system in the container's
# network namespace (nsenter -n):
#   - without /etc/jit/fleet.conf the unit does not start (its condition);
#   - the host enrolled as jit-fleet(8) says: the unit runs, reads the store,
#     publishes a pending request, lists it to its approver (jitctl --fleet
#     list) and carries a signed decision (jitctl --fleet approve) back to
#     the service, which grants it;
#   - the sandbox: root with no capability, of /etc/jit only fleet.conf and
#     fleet/ (no host key, no approvers, no policy), no /var/lib/jit, no
#     proxy or key-log variable from its unit; systemd-analyze security.
#
#   tests/e2e/fleet-systemd.sh BUILD_DIR
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
for c in etcd etcdctl openssl; do
        command -v "$c" >/dev/null || ns_skip "no $c (apt-get install etcd-server etcd-client openssl)"
done
[ -x "$BUILD/jit-fleet" ] && [ -x "$BUILD/jitctl" ] || { echo "not ok - build first"; exit 1; }
ns_boot "$BUILD" || { echo "not ok - the container did not boot"; exit 1; }
EP=
trap '[ -n "$EP" ] && kill $EP 2>/dev/null && wait $EP 2>/dev/null; ns_stop' EXIT
W=$NS_TMP
HOST=$(ns_run hostname)
URL=https://127.0.0.1:23790
in_net() { nsenter -t "$NS_LEADER" -n "$@"; }

# --- the store: CA, one member, access control, this host enrolled ----------------
mkdir -p "$W/pki"
(
        cd "$W/pki" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=jit fleet test CA" \
                -keyout ca.key -out ca.pem 2>/dev/null &&
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=e1" \
                -keyout e1.key -out e1.csr 2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > e1.ext &&
        openssl x509 -req -in e1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile e1.ext \
                -out e1.pem 2>/dev/null &&
        (umask 077; openssl rand -hex 16 > rootpw)
) || { echo "not ok - openssl"; exit 1; }
# nsenter itself, not a function in a subshell: $! is then etcd (nsenter -n
# execs it), which the trap stops.
nsenter -t "$NS_LEADER" -n etcd --name e1 --data-dir "$W/e1.data" --listen-client-urls $URL \
        --advertise-client-urls $URL --listen-peer-urls http://127.0.0.1:23800 \
        --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster e1=http://127.0.0.1:23800 \
        --cert-file "$W/pki/e1.pem" --key-file "$W/pki/e1.key" --trusted-ca-file "$W/pki/ca.pem" \
        --client-cert-auth >"$W/e1.log" 2>&1 &
EP=$!
enrol() { in_net "$SRC/fleet/jit-fleet-enrol" "$@" --endpoints $URL --ca-cert "$W/pki/ca.pem" \
        --ca-key "$W/pki/ca.key" --root-password-file "$W/pki/rootpw" --out "$W/enrol"; }
for _ in $(seq 1 100); do enrol init >"$W/init.log" 2>&1 && break; sleep 0.1; done
if enrol host "$HOST" >"$W/enrol.log" 2>&1; then
        ok "etcd with access control on; $HOST enrolled by jit-fleet-enrol"
else
        notok "etcd and jit-fleet-enrol"
        cat "$W/init.log" "$W/enrol.log" "$W/e1.log" | tail -n 20 | diag
        exit 1
fi
etc() { in_net env ETCDCTL_API=3 etcdctl --endpoints $URL --cacert "$W/pki/ca.pem" --cert "$W/enrol/admin/client.pem" \
        --key "$W/enrol/admin/client.key" --user "root:$(cat "$W/pki/rootpw")" "$@"; }

# --- the host: the service, a policy, bob's key, the unit as shipped --------------------
sed 's|@CMAKE_INSTALL_FULL_BINDIR@/jitctl|/opt/jit/jitctl|g' "$SRC/systemd/jit.service.in" >"$W/jit.service"
sed 's|@JIT_LIBEXECDIR@/jit-fleet|/opt/jit/jit-fleet|g' "$SRC/systemd/jit-fleet.service.in" >"$W/jit-fleet.service"
cat >"$W/env.conf" <<'EOF'
[Service]
Environment=https_proxy=http://127.0.0.1:18449 ALL_PROXY=http://127.0.0.1:18449 SSLKEYLOGFILE=/run/jit/.keylog CURL_CA_BUNDLE=/nonexistent
EOF
cat >"$W/jit.conf" <<'EOF'
{ "version": 1,
  "settings": { "expiry": "loop" },
  "roles": { "ops": { "group": "jit-ops", "max_ttl": "1h", "requesters": { "users": ["alice"] },
                      "approvers": { "users": ["bob"] } } } }
EOF
ns_put "$SRC/systemd/jit.socket" /etc/systemd/system/jit.socket 0644
ns_put "$W/jit.service" /etc/systemd/system/jit.service 0644
ns_put "$W/jit-fleet.service" /etc/systemd/system/jit-fleet.service 0644
ns_sh 'mkdir -p /etc/systemd/system/jit-fleet.service.d'
ns_put "$W/env.conf" /etc/systemd/system/jit-fleet.service.d/env.conf 0644
ns_put "$SRC/systemd/jit.tmpfiles" /etc/tmpfiles.d/jit.conf 0644
ns_sh 'install -d -m 0755 /etc/jit && groupadd -f --system jit-ops &&
       { id alice >/dev/null 2>&1 || useradd -m alice; } && { id bob >/dev/null 2>&1 || useradd -m bob; }'
ns_put "$W/jit.conf" /etc/jit/jit.conf 0644
out=$(ns_sh 'systemd-tmpfiles --create /etc/tmpfiles.d/jit.conf && systemctl daemon-reload &&
             systemctl enable --quiet --now jit.socket && systemctl start jit.service &&
             echo "bob decides in the fleet" > /home/bob/.pass && chown bob: /home/bob/.pass && chmod 0600 /home/bob/.pass &&
             runuser -u bob -- /opt/jit/jitctl keygen --passphrase-file /home/bob/.pass >/dev/null &&
             /opt/jit/jitctl approver add bob /home/bob/.config/jit/approver.pub >/dev/null &&
             systemctl is-active jit.service' 2>&1)
check "jit.service runs; bob's key is registered ($(echo $out | tail -c 60))" [ "$(echo "$out" | tail -n 1)" = active ]

# --- not enrolled yet: the unit's condition ---------------------------------------------
out=$(ns_sh 'systemctl start jit-fleet.service; systemctl show -p ConditionResult --value jit-fleet.service;
             systemctl is-active jit-fleet.service' 2>&1)
check "without /etc/jit/fleet.conf jit-fleet.service does not start ($(echo $out))" [ "$(echo $out)" = "no inactive" ]

# --- enrolled as jit-fleet(8) says ----------------------------------------------------------------
for f in ca.pem client.pem client.key password fleet.conf; do
        ns_put "$W/enrol/$HOST/$f" "/root/$f" 0600
done
out=$(ns_sh 'cd /root && install -d -m 0700 -o root -g root /etc/jit/fleet &&
             install -m 0600 -o root ca.pem client.pem client.key password /etc/jit/fleet/ &&
             install -m 0644 -o root fleet.conf /etc/jit/fleet.conf &&
             systemctl start jit-fleet.service && sleep 1 && systemctl is-active jit-fleet.service' 2>&1)
check "enrolled, jit-fleet.service runs ($(echo $out))" [ "$out" = active ]
for _ in $(seq 1 50); do
        log=$(ns_run journalctl --no-pager -o cat -u jit-fleet.service 2>&1)
        grep -q "the fleet store answers" <<<"$log" && break
        sleep 0.1
done
check "it reads the store through the sandbox (\"the fleet store answers\")" grep -q "the fleet store answers" <<<"$log"
[ "$FAILS" = 0 ] || echo "$log" | tail -n 20 | diag

# --- a request across the store, and back ------------------------------------------------------
req=$(ns_run runuser -u alice -- /opt/jit/jitctl --json request ops --for 5m --reason "through the fleet" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
for _ in $(seq 1 50); do
        pub=$(etc get --keys-only "/jit/v1/hosts/$HOST/requests/$req" 2>&1)
        grep -q "$req" <<<"$pub" && break
        sleep 0.1
done
check "alice's request $req is published at /jit/v1/hosts/$HOST/requests/$req" grep -q "$req" <<<"$pub"
out=$(ns_run runuser -u bob -- /opt/jit/jitctl --fleet list 2>&1)
check "bob sees it in jitctl --fleet list (through /run/jit/fleet.sock)" grep -q "^$HOST .*$req .*alice .*ops" <<<"$out"
[ "$FAILS" = 0 ] || echo "$out" | diag
out=$(ns_run runuser -u bob -- /opt/jit/jitctl --fleet approve "$req" --passphrase-file /home/bob/.pass 2>&1); rc=$?
check "bob approves it through the store: $HOST applied it (exit $rc)" bash -c '[ "$1" = 0 ] && grep -q "applied" <<<"$2"' _ "$rc" "$out"
[ "$rc" = 0 ] || echo "$out" | diag
out=$(ns_sh 'getent group jit-ops | cut -d: -f4; grep -c "\"event\":\"fleet\".*\"decision\":\"applied\"" /var/lib/jit/audit.log')
check "alice is in jit-ops, and the audit log has the fleet event ($(echo $out))" [ "$(echo $out)" = "alice 1" ]

# --- the sandbox ------------------------------------------------------------------------------
seen=$(ns_sh 'pid=$(systemctl show -p MainPID --value jit-fleet.service)
        grep CapEff /proc/$pid/status
        echo "etc/jit: $(nsenter -t $pid -m ls -A /etc/jit | tr "\n" " ")"
        echo "var/lib/jit: $(nsenter -t $pid -m ls -A /var/lib/jit 2>&1 | head -n 1)"
        nsenter -t $pid -m sh -c "test -w /run/jit && echo run-writable; touch /etc/jit/x 2>/dev/null && echo etc-writable"
        tr "\0" "\n" < /proc/$pid/environ' 2>&1)
check "jit-fleet runs with no capability" grep -q "CapEff:[[:space:]]*0000000000000000" <<<"$seen"
check "of /etc/jit it sees fleet.conf and fleet/ alone" grep -qx "etc/jit: fleet fleet.conf " <<<"$seen"
check "/var/lib/jit is empty for it (InaccessiblePaths=)" grep -qx "var/lib/jit: " <<<"$seen"
check "it may write /run/jit (its socket) and nothing of /etc/jit" \
        bash -c 'grep -qx run-writable <<<"$1" && ! grep -q etc-writable <<<"$1"' _ "$seen"
check "its environment holds no proxy, CA bundle or key log variable from its unit" \
        bash -c '! grep -qi "proxy\|SSLKEYLOG\|CURL_CA" <<<"$1"' _ "$seen"
[ "$FAILS" = 0 ] || echo "$seen" | diag
check "no TLS key log was written" bash -c '[ -z "$(ns_run ls -A /run/jit/.keylog 2>/dev/null)" ]'
sa=$(ns_run systemd-analyze security --no-pager jit-fleet.service 2>&1 | tail -n 1)
check "systemd-analyze security jit-fleet.service: ${sa#*: }" grep -Eq 'exposure level for jit-fleet.service: (0\.|1\.[0-6])' <<<"$sa"

echo "1..$N"
[ "$FAILS" = 0 ]
