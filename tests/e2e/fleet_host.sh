#!/bin/bash
# One fleet host (see fleet_lib.sh), run as PID 1 of its own pid namespace,
# in its own mount, UTS and network namespaces:
#   fleet_host.sh BUILD HOST R
# The sandbox of lib.sh, the host's enrolment in /etc/jit/fleet, bob's
# approver key from hA registered, then the service and jit-fleet.
set -u
BUILD=$1 X=$2 R=$3
W=$R/$X
hostname "$X"
. "$(dirname "$0")/lib.sh"
sandbox_setup >"$W/setup.log" 2>&1 || { echo "setup of $X failed" >&2; cat "$W/setup.log" >&2; exit 1; }
sandbox_pam wait=60s progress=1s
# the bench's requesters: one pending request per user and role
for i in $(seq 1 "${FLEET_USERS:-0}"); do
        useradd -m -d "$W/home/u$i" -G eng -s /bin/bash "u$i" && usermod -p '*' "u$i"
done
echo "127.0.1.1 $X" >> /etc/hosts
mkdir -p /etc/jit/fleet
cp "$R/enrol/$X/ca.pem" "$R/enrol/$X/client.pem" "$R/enrol/$X/client.key" "$R/enrol/$X/password" /etc/jit/fleet/
chmod 0700 /etc/jit/fleet
chmod 0600 /etc/jit/fleet/*
# heads every second for the tests (FLEET_AUDIT_INTERVAL and FLEET_TIMEOUT for the bench);
# hB and hC carry the label "web"
case $X in hB|hC) labels='"web"' ;; *) labels= ;; esac
sed "s/\"prefix\"/\"audit_interval\": \"${FLEET_AUDIT_INTERVAL:-1s}\", \"timeout\": \"${FLEET_TIMEOUT:-2s}\", \"labels\": [$labels], \"prefix\"/" \
        "$R/enrol/$X/fleet.conf" > /etc/jit/fleet.conf
chmod 0644 /etc/jit/fleet.conf
# bob approves from hA with the key he made there: registered everywhere
[ "$X" = hA ] || cp "$R/hA/home/bob/.config/jit/approver.pub" /etc/jit/approvers/bob.pub
sandbox_start_service || exit 1
"$BUILD/jit-fleet" 2>>"$W/fleet.log" &
echo ready > "$W/ready"
exec sleep infinity
