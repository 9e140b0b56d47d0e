#!/bin/bash
# Throughput and latency of the service under many concurrent clients.
#
#   bench/load.sh BUILD_DIR [N] [CLIENTS]
#
# Runs in the same throwaway sandbox as tests/e2e/sudo.sh (root; a private
# mount + PID namespace, an overlay over /etc, a tmpfs over /run; see
# tests/e2e/lib.sh), with the service in the foreground and the expiry by
# its own loop. 50 users in group "load"; roles q1..q4 are granted at once
# by a template for 1 s (a durable request and grant record, an audit line
# with fdatasync, gpasswd -a; then gpasswd -d at expiry), role "change"
# needs an approver (a durable request record; nobody approves here).
# N requests (default 1000) from CLIENTS concurrent clients (default 50),
# 60 % q1..q4 in turn and 40 % change (--task, so each is a new request),
# users taken in turn, twice, each time on an empty spool:
#
#  A. jitctl: `jitctl --json request ROLE` run as the user (python starts
#     it with the user's uid and groups: no runuser, no PAM session), timed
#     from fork to exit — what a script calling jitctl sees;
#  B. socket: the same requests sent by CLIENTS processes (each setuid to
#     its users in turn) straight over /run/jit/jit.sock, one connection
#     each, timed from connect to the whole answer — the service alone.
#
# For each: wall time, requests per second, the CPU time of the service
# and of its gpasswd children (from /proc/PID/stat; the ends of the grants
# that expire during the run included), and latency percentiles by outcome:
# "granted" (a template grant made now), "held" (quick while the user's
# grant is still active: the fast path, nothing recorded), "pending".
# Prints figures in ms; asserts nothing (exits non-zero only if the flow
# breaks: an answer that is none of these). The machine may be shared.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [N] [CLIENTS]" >&2; exit 2; }
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "no directory $1" >&2; exit 2; }
N=${2:-1000}
CLIENTS=${3:-50}
case $N$CLIENTS in *[!0-9]*) echo "N and CLIENTS must be numbers" >&2; exit 2 ;; esac
# 40 % of N over 50 users must stay under the 16 pending requests a user may have.
if [ "$N" -lt 1 ] || [ "$N" -gt 1500 ] || [ "$CLIENTS" -lt 1 ] || [ "$CLIENTS" -gt 150 ]; then
        echo "N must be 1..1500, CLIENTS 1..150" >&2; exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "needs root (namespaces, overlay mounts)" >&2; exit 1; fi
        for p in unshare gpasswd useradd python3; do
                command -v "$p" >/dev/null || { echo "$p is not installed" >&2; exit 1; }
        done
        [ -e "$BUILD/jitctl" ] || { echo "no $BUILD/jitctl: build the project first" >&2; exit 1; }
        W=$(mktemp -d /tmp/jit-bench-load.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        trap 'exit 130' INT TERM
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD" "$N" "$CLIENTS"
        exit $?
fi

# --- inside the sandbox -----------------------------------------------------------
. "$SRC/tests/e2e/lib.sh"
JITCTL=$BUILD/jitctl
PY=$(python3 -c 'import sys; print(sys.executable)')
trap 'sandbox_stop_service' EXIT
trap 'exit 130' INT TERM
die() {
        echo "bench: $*" >&2
        tail -n 20 "$W/service.log" 2>/dev/null | sed 's/^/#   /' >&2
        exit 1
}

sandbox_setup
groupadd load
for g in jit-q1 jit-q2 jit-q3 jit-q4 jit-change; do groupadd --system "$g"; done
users=()
for i in $(seq -w 1 50); do users+=("u$i"); useradd -M -d /nonexistent -s /bin/bash -G load "u$i"; done
python3 - <<'PY'
import json
roles = {"change": {"group": "jit-change", "default_ttl": "3s", "max_ttl": "5s",
                    "requesters": {"groups": ["load"]}, "approvers": {"groups": ["sre"]}}}
templates = {}
for k in range(1, 5):
    roles["q%d" % k] = {"group": "jit-q%d" % k, "default_ttl": "1s", "max_ttl": "5s",
                        "requesters": {"groups": ["load"]}, "approvers": {"groups": ["sre"]}}
    templates["q%d-tmpl" % k] = {"role": "q%d" % k, "groups": ["load"], "max_ttl": "1s"}
json.dump({"version": 1, "settings": {"expiry": "loop", "request_ttl": "1h", "reconcile_interval": "1m"},
           "roles": roles, "templates": templates}, open("/etc/jit/jit.conf", "w"), indent=2)
PY
chmod 0644 /etc/jit/jit.conf
"$JITCTL" policy check >/dev/null || die "the bench policy does not check"
echo "# load: N=$N requests, $CLIENTS clients, build $BUILD"
echo "# kernel $(uname -r), $(nproc) CPU(s)"

# The service's own CPU, and its waited-for children's (gpasswd), in ticks.
cpu_ticks() { awk '{print $14 + $15, $16 + $17}' "/proc/$SERVICE_PID/stat"; }

phase() {       # KIND (jitctl|socket): a fresh spool, one run, figures to $W/KIND.json
        local kind=$1 c0 c1 k0 k1 hz
        sandbox_stop_service
        rm -rf "$W/state"; mkdir -m 0700 "$W/state"
        sandbox_start_service || die "the service did not start"
        read -r c0 k0 < <(cpu_ticks)
        "$PY" - "$kind" "$JITCTL" "$N" "$CLIENTS" "$W/$kind.json" "${users[@]}" <<'PY' || die "the $kind run broke"
import json, multiprocessing as mp, os, pwd, queue, socket, struct, subprocess, sys, threading, time
kind, JITCTL, N, CLIENTS, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
USERS = sys.argv[6:]
ids = {u: (pwd.getpwnam(u).pw_uid, pwd.getpwnam(u).pw_gid, os.getgrouplist(u, pwd.getpwnam(u).pw_gid)) for u in USERS}
jobs = [(i, USERS[i % len(USERS)], "q%d" % (1 + (i // len(USERS)) % 4) if (i // len(USERS)) % 5 < 3 else "change")
        for i in range(N)]

def outcome(a):
    d = a.get("decision")
    if d == "allow":
        return "granted" if a.get("request_id") else "held"
    if d == "pending":
        return "pending"
    return "other: %s" % (a.get("error") or a.get("message") or d)

def ask_socket(role, i):
    body = {"op": "request", "role": role}
    if role == "change":
        body["task"] = "bench %d" % i
    b = json.dumps(body).encode()
    t0 = time.perf_counter_ns()
    s = socket.socket(socket.AF_UNIX); s.connect("/run/jit/jit.sock"); s.sendall(struct.pack(">I", len(b)) + b)
    hdr = b""
    while len(hdr) < 4:
        c = s.recv(4 - len(hdr))
        if not c:
            raise EOFError("closed")
        hdr += c
    n = struct.unpack(">I", hdr)[0]; a = b""
    while len(a) < n:
        a += s.recv(n - len(a))
    t1 = time.perf_counter_ns(); s.close()
    return (t1 - t0) / 1e6, json.loads(a)

def socket_worker(mine, q):
    # SO_PEERCRED reports the effective uid at connect: take on each user's
    # uid for its request, keeping root as the saved one to come back to.
    res = []
    for i, u, role in mine:
        uid, gid, groups = ids[u]
        os.setgroups(groups); os.setegid(gid); os.seteuid(uid)
        try:
            ms, a = ask_socket(role, i)
        finally:
            os.seteuid(0); os.setegid(0)
        res.append((i, role, ms, outcome(a)))
    q.put(res)

t0 = time.time()
results = []
if kind == "jitctl":
    jq = queue.Queue()
    for j in jobs:
        jq.put(j)
    lock = threading.Lock()
    def client():
        while True:
            try:
                i, u, role = jq.get_nowait()
            except queue.Empty:
                return
            uid, gid, groups = ids[u]
            args = [JITCTL, "--json", "request", role] + (["--task", "bench %d" % i] if role == "change" else [])
            t = time.perf_counter_ns()
            p = subprocess.run(args, capture_output=True, user=uid, group=gid, extra_groups=groups,
                               env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
            ms = (time.perf_counter_ns() - t) / 1e6
            try:
                o = outcome(json.loads(p.stdout))
            except ValueError:
                o = "other: exit %d %s" % (p.returncode, p.stderr.decode(errors="replace").strip()[:80])
            with lock:
                results.append((i, role, ms, o))
    ts = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in ts: t.start()
    for t in ts: t.join()
else:
    q = mp.Queue()
    per = [jobs[k::CLIENTS] for k in range(CLIENTS)]
    ps = [mp.Process(target=socket_worker, args=(per[k], q)) for k in range(CLIENTS)]
    for p in ps: p.start()
    for _ in ps:
        results.extend(q.get())
    for p in ps: p.join()
wall = time.time() - t0
json.dump({"wall": wall, "results": results}, open(out, "w"))
bad = [r for r in results if r[3].startswith("other")]
if bad or len(results) != N:
    sys.exit("%d of %d answers unexpected, e.g. %s" % (len(bad) + N - len(results), N, bad[:2]))
PY
        read -r c1 k1 < <(cpu_ticks)
        hz=$(getconf CLK_TCK)
        echo "$(( (c1 - c0) * 1000 / hz )) $(( (k1 - k0) * 1000 / hz ))" >"$W/$kind.cpu"
}
phase jitctl
phase socket
sandbox_stop_service

"$PY" - "$W" "$N" "$CLIENTS" <<'PY'
import collections, json, statistics, sys
W, N, C = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def pct(v, p):
    s = sorted(v); k = (len(s) - 1) * p / 100.0; lo = int(k); hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
print("%-30s %6s %9s %9s %9s %9s %9s" % ("latency, ms", "n", "min", "median", "p90", "p99", "max"))
summary = []
for kind, label in (("jitctl", "A. jitctl request"), ("socket", "B. socket request")):
    d = json.load(open("%s/%s.json" % (W, kind)))
    cpu, kids = (int(x) for x in open("%s/%s.cpu" % (W, kind)).read().split())
    by = collections.defaultdict(list)
    for i, role, ms, o in d["results"]:
        by[o].append(ms)
        by["all"].append(ms)
    print(label)
    for o in ("all", "granted", "held", "pending"):
        v = by.get(o)
        if v:
            print("   %-27s %6d %9.2f %9.2f %9.2f %9.2f %9.2f" % (o, len(v), min(v), statistics.median(v),
                  pct(v, 90), pct(v, 99), max(v)))
    summary.append("%s: %d requests in %.2f s = %.0f requests/s; CPU: service %d ms (%.2f ms a request), "
                   "its gpasswd children %d ms" % (label, len(d["results"]), d["wall"], len(d["results"]) / d["wall"],
                                                   cpu, cpu / len(d["results"]), kids))
for s in summary:
    print(s)
PY
