#!/bin/bash
# How fast does an approval cross hosts, and does a fleet lose requests?
#
#   bench/fleet.sh BUILD_DIR [RUNS] [HOSTS] [REQUESTS]    (root; defaults 200 100 10)
#
# The harness of tests/e2e/fleet.sh (tests/e2e/fleet_lib.sh): a 3-member
# etcd with TLS and access control, every member and host its own network
# namespace on a private bridge, each host the real service, jit-fleet and
# sudo with pam_jit in its own mount, UTS and pid namespaces.
#
#  1. cross-host approval, RUNS times: alice's `sudo /bin/date +%s%N` waits
#     on hB; bob runs `jitctl --fleet approve` on hA as soon as hA's
#     jit-fleet lists the request. Reported (median, p90, p99, max):
#       (a) the decision signed (its time_us) -> the command ran as root on
#           hB: store write, watch, hB's checks, grant, the waiting sudo;
#       (b) bob's approve started -> the command ran (adds reading the
#           queue and unlocking his key: Argon2id, his fresh authentication).
#  2. HOSTS more hosts (h1..hN), REQUESTS requests each (`jitctl request`
#     by users u1..uREQUESTS: one pending request per user and role),
#     all approved from hA by one `jitctl --fleet approve` (one unlock):
#     how long until every request is listed on hA, how long the approvals
#     take, and whether every request was published, approved and granted
#     exactly once (counted on each host).
#  3. one request for all HOSTS hosts (`jitctl request --hosts 'h[0-9]*'`
#     on h1): how long until every host has its part pending, and how long
#     one approval (one signature, a copy per host) takes to be applied
#     everywhere.
# Figures only; tests/e2e/fleet.sh is where correctness is asserted.
set -u
BUILD=$(cd "${1:?usage: bench/fleet.sh BUILD_DIR [RUNS] [HOSTS] [REQUESTS]}" && pwd)
RUNS=${2:-200} HOSTS=${3:-100} PER=${4:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run as root (namespaces)" >&2; exit 1; }
for c in etcd etcdctl openssl ip nsenter unshare python3; do
        command -v "$c" >/dev/null || { echo "needs $c (apt-get install etcd-server etcd-client)" >&2; exit 1; }
done
[ "$HOSTS" -le 150 ] || { echo "at most 150 hosts" >&2; exit 1; }
if [ "${JIT_FLEET_INNER:-}" != 1 ]; then
        exec env JIT_FLEET_INNER=1 unshare -m --propagation private "$0" "$@"
fi
. "$SRC/tests/e2e/fleet_lib.sh"
# as a fleet would run: a head a minute, calls given 5 s
export FLEET_AUDIT_INTERVAL=60s FLEET_TIMEOUT=5s
# a user may have one request pending per role: REQUESTS requesters a host
export FLEET_USERS=$PER
now_ns() { date +%s%N; }
die() { echo "bench/fleet: $*" >&2; exit 1; }

fleet_init
fleet_net e1 e2 e3 hA hB
fleet_etcd || die "etcd did not come up: $(tail -3 "$R/init.log")"
fleet_enrol hA && fleet_enrol hB || die "enrolment failed: $(tail -3 "$R/enrol.log")"
fleet_host hA && fleet_host_ready hA && fleet_host hB && fleet_host_ready hB || die "hosts did not start"
BOBPASS=$R/hA/home/bob/.jit-passphrase
wait_until 10 grep -q 'fleet store answers' "$R/hB/fleet.log" || die "hB's jit-fleet does not reach the store"
echo "# bench/fleet: 3-member etcd $(etcd --version | head -1 | awk '{print $3}'), build $BUILD, $(nproc) cores"

pending() { # host user: the newest pending request id
        on "$1" "$BUILD/jitctl" --json list | python3 -c '
import json, sys
rs = [r for r in json.load(sys.stdin).get("requests", []) if r.get("state") == "pending" and r.get("user") == sys.argv[1]]
rs.sort(key=lambda r: r.get("created_us", 0))
print(rs[-1]["id"] if rs else "")' "$2"
}
listed() { on hA runuser -u bob -- "$BUILD/jitctl" --fleet --json list | grep -q "\"$1\""; }

# ---- 1. cross-host approval latency ------------------------------------------------
: > "$R/lat.txt"
for i in $(seq 1 "$RUNS"); do
        on hB runuser -u alice -- script -qefc "sudo /bin/date +%s%N" /dev/null > "$R/sudo.out" 2>&1 &
        sp=$!
        req=
        for _ in $(seq 1 400); do req=$(pending hB alice); [ -n "$req" ] && break; sleep 0.025; done
        [ -n "$req" ] || die "run $i: no pending request on hB"
        wait_until 20 listed "$req" || die "run $i: $req not listed on hA"
        t0=$(now_ns)
        on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "$req" --passphrase-file "$BOBPASS" >/dev/null 2>&1 ||
                die "run $i: approve failed"
        wait "$sp" || die "run $i: sudo failed: $(tail -2 "$R/sudo.out")"
        ran=$(tr -d '\0\r' < "$R/sudo.out" | grep -o '[0-9]\{19\}$' | tail -1)
        signed=$(etc get "/jit/v1/hosts/hA/decisions/hB/$req/bob" --print-value-only |
                 python3 -c 'import json,sys; print(int(json.load(sys.stdin)["time_us"]))')
        [ -n "$ran" ] && [ -n "$signed" ] || die "run $i: no timestamps"
        echo "$(( ran / 1000 - signed )) $(( (ran - t0) / 1000 ))" >> "$R/lat.txt"
        for g in $(on hB "$BUILD/jitctl" --json list --active | python3 -c '
import json, sys
for g in json.load(sys.stdin).get("grants", []): print(g["id"])'); do
                on hB "$BUILD/jitctl" revoke "$g" >/dev/null 2>&1
        done
done

# ---- 2. many hosts, many requests ---------------------------------------------------
hosts=$(seq 1 "$HOSTS" | sed 's/^/h/')
# shellcheck disable=SC2086
fleet_net $hosts
t_setup=$(now_ns)
for h in $hosts; do fleet_enrol "$h" || die "enrolling $h failed: $(tail -3 "$R/enrol.log")"; done
batch=0
for h in $hosts; do
        fleet_host "$h"
        batch=$((batch + 1))
        if [ $((batch % 10)) = 0 ]; then
                for x in $hosts; do [ -e "$R/$x.upid" ] && { fleet_host_ready "$x" 60 || die "$x did not start"; }; done
        fi
done
for h in $hosts; do fleet_host_ready "$h" 60 || die "$h did not start"; done
for h in $hosts; do wait_until 30 grep -q 'fleet store answers' "$R/$h/fleet.log" || die "$h: no store"; done
t_up=$(now_ns)
t_req=$(now_ns)
pids=
for h in $hosts; do
        on "$h" sh -c "for i in \$(seq 1 $PER); do runuser -u u\$i -- '$BUILD/jitctl' request ops --reason \"bench \$i\" >/dev/null 2>&1; done" &
        pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
t_made=$(now_ns)
want=$((HOSTS * PER))
count_listed() {
        on hA runuser -u bob -- "$BUILD/jitctl" --fleet --json list | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin).get("requests", []) if r.get("host", "").startswith("h") and r["host"][1:].isdigit()))'
}
got=0
for _ in $(seq 1 600); do got=$(count_listed); [ "$got" -ge "$want" ] && break; sleep 0.1; done
t_listed=$(now_ns)
refs=$(on hA runuser -u bob -- "$BUILD/jitctl" --fleet --json list | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("requests", []):
        if r.get("host", "").startswith("h") and r["host"][1:].isdigit(): print(r["host"] + "/" + r["id"])')
t_ap=$(now_ns)
# shellcheck disable=SC2086
on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve $refs --passphrase-file "$BOBPASS" --timeout 300 \
        > "$R/bulk.out" 2>&1
ap_rc=$?
t_apd=$(now_ns)
applied=$(grep -c ' applied the decision' "$R/bulk.out")
approved=0 grants=0
for h in $hosts; do
        set -- $(on "$h" "$BUILD/jitctl" --json list --all | python3 -c '
import json, sys
a = json.load(sys.stdin)
print(sum(1 for r in a.get("requests", []) if r.get("user", "")[:1] == "u" and r.get("state") == "approved"),
      sum(1 for g in a.get("grants", []) if g.get("user", "")[:1] == "u"))')
        approved=$((approved + $1))
        grants=$((grants + $2))
done

# ---- 3. one request for every hN, one approval ---------------------------------------------
t_m=$(now_ns)
on h1 runuser -u u1 -- "$BUILD/jitctl" request ops --hosts 'h[0-9]*' --for 10m --reason "bench: all" > "$R/multi.out" 2>&1
t_mo=$(now_ns)
MID=$(grep -o 'm-[a-z0-9]\{10\}' "$R/multi.out" | head -1)
m_open=$(grep -c ' pending as ' "$R/multi.out")
t_ma=$(now_ns)
on hA runuser -u bob -- "$BUILD/jitctl" --fleet approve "${MID:-none}" --passphrase-file "$BOBPASS" --timeout 300 \
        > "$R/multi-ap.out" 2>&1
m_rc=$?
t_mad=$(now_ns)
m_applied=$(grep -c ' applied the decision' "$R/multi-ap.out")
[ "$m_rc" = 0 ] || { echo "jitctl --fleet approve $MID said:"; grep -v ' applied the decision' "$R/multi-ap.out" | head -5; }

python3 - "$R/lat.txt" <<PY
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
def line(name, v):
    v = [x / 1000 for x in v]
    print(f"  {name:<52} {pct(v, 50):8.1f} {pct(v, 90):8.1f} {pct(v, 99):8.1f} {max(v or [float('nan')]):8.1f}")
print(f"1. cross-host approval, {len(rows)} runs (ms)                    median      p90      p99      max")
line("(a) decision signed on hA -> sudo's command ran on hB", [int(r[0]) for r in rows])
line("(b) approve started on hA -> sudo's command ran on hB", [int(r[1]) for r in rows])
print("   goal: (a) p99 <= 100 ms")
ms = lambda a, b: (b - a) / 1e6
print(f"2. {$HOSTS} hosts x {$PER} requests ({$want} in all)")
print(f"   hosts enrolled and started                     {ms($t_setup, $t_up) / 1000:8.1f} s")
print(f"   requests made (jitctl request, hosts in parallel) {ms($t_req, $t_made) / 1000:6.1f} s")
print(f"   listed on hA: {$got}/{$want}, all listed after  {ms($t_req, $t_listed) / 1000:8.1f} s")
print(f"   one jitctl --fleet approve of all: exit {$ap_rc}, {ms($t_ap, $t_apd) / 1000:.1f} s, {$applied} confirmed applied")
print(f"   on the hosts: {$approved} approved, {$grants} grants (want {$want} each)")
print("   none lost" if $got == $want == $applied == $approved == $grants else "   LOST OR DUPLICATED: see above")
print(f"3. one request for all {$HOSTS} hosts (jitctl request ops --hosts 'h[0-9]*' on h1)")
print(f"   asked, and pending on {$m_open}/{$HOSTS} hosts after    {ms($t_m, $t_mo) / 1000:8.1f} s")
print(f"   one signed approval, a copy per host: exit {$m_rc}, {ms($t_ma, $t_mad) / 1000:.1f} s, {$m_applied}/{$HOSTS} applied")
PY
