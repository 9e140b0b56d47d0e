#!/bin/bash
# How does the service cope with a long history? A spool with COUNT
# historic requests (default 100000) and a grant for each approved one,
# written as real sealed records, then the real service started on it.
#
#   bench/list-100k.sh BUILD_DIR [COUNT]
#
# Runs in the same throwaway sandbox as tests/e2e/sudo.sh (root; a private
# mount + PID namespace, an overlay over /etc, a tmpfs over /run; see
# tests/e2e/lib.sh). The records are made by a small generator here
# (python3): the envelope of common/record.c ("jit-record 1 <BLAKE2b-256
# hex of the body>\n" + the body + "\n"), bodies with the fields of
# jit_request_to_json / jit_grant_to_json. Every tenth request is alice's
# (role ops), the rest belong to 200 other users; created over the last 30
# days (the default history window is 7); 40 % approved (each with an
# ended grant), 30 % denied, 20 % lapsed, 10 % cancelled. alice also holds
# one active grant, so her sudo takes the fast path.
#
# Measured, for an empty spool (alice's grant only) and for the big one:
#  1. start-up: from exec to the "jit service ready" line, and the
#     service's resident memory once ready;
#  2. jitctl list --all and jitctl --json list --all as root (every
#     record), jitctl --json list --all as alice (her own), jitctl list
#     (pending) and --active: wall time of the whole command, its exit
#     code and how much it printed;
#  3. the fast path: an "access" request over the socket as root, connect
#     to the whole answer (the service counts the user's history on every
#     one: a scan of all requests), and `sudo -n /usr/bin/true` as alice
#     through pam_jit;
#  4. a new request (jitctl request ops --task, which escalates), then
#     its cancel.
# Prints figures in ms; asserts nothing (exits non-zero only if the
# set-up itself breaks). The machine may be shared: run it a few times.
set -u
export LC_ALL=C

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [COUNT]" >&2; exit 2; }
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "no directory $1" >&2; exit 2; }
COUNT=${2:-100000}
case $COUNT in ''|*[!0-9]*) echo "COUNT must be a number" >&2; exit 2 ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "needs root (namespaces, overlay mounts)" >&2; exit 1; fi
        for p in sudo unshare runuser gpasswd python3; do
                command -v "$p" >/dev/null || { echo "$p is not installed" >&2; exit 1; }
        done
        for f in jitctl pam_jit.so; do
                [ -e "$BUILD/$f" ] || { echo "no $BUILD/$f: build the project first" >&2; exit 1; }
        done
        W=$(mktemp -d /tmp/jit-bench-list.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        trap 'exit 130' INT TERM
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD" "$COUNT"
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
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

sandbox_setup
sandbox_pam
# The spool directories are made here; sandbox_start_service uses $W/state.
mkdir -p "$W/empty" "$W/big"; chmod 0700 "$W/empty" "$W/big"
ALICE_UID=$(id -u alice)

# gen DIR COUNT: sealed records; prints "requests grants"
gen() {
        "$PY" - "$1" "$2" "$ALICE_UID" <<'PY'
import hashlib, json, os, random, sys, time
d, count, alice_uid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(100)
alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
seen = set()
def new_id(p):
    while True:
        i = p + "-" + "".join(rng.choice(alphabet) for _ in range(10))
        if i not in seen:
            seen.add(i)
            return i
for sub in ("requests", "grants"):
    os.makedirs(os.path.join(d, sub), mode=0o700, exist_ok=True)
def put(sub, obj):
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    data = b"jit-record 1 " + hashlib.blake2b(body, digest_size=32).hexdigest().encode() + b"\n" + body + b"\n"
    fd = os.open(os.path.join(d, sub, obj["id"]), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.close(fd)
now = int(time.time() * 1e6)
CANON = ("jit-decision 1\nrequest=%s\nrequester=%s\nhost=jit-bench\nrole=ops\ngroup=jit-ops\nttl=900\n"
         "decision=approve\napprover=bob\ntime=%d\nnonce=" + "0123456789abcdef" * 2)
def signed(rid, user, t):
    return {"canonical": CANON % (rid, user, t), "signature": "ab" * 64, "key": "cd" * 32}
def request(rid, user, uid, state, t, gid=None):
    by = {"approved": rng.choice(["bob", "template:read-logs"]), "denied": rng.choice(["bob", "policy"])}.get(state)
    r = {"id": rid, "state": state, "kind": "request", "user": user, "uid": uid, "role": "ops", "group": "jit-ops",
         "ttl": 900, "reason": "INC-%d: restart the web tier after the deploy" % rng.randrange(10000),
         "service": "sudo", "tty": "/dev/pts/%d" % rng.randrange(20),
         "command": ["/usr/bin/systemctl", "restart", "nginx.service"], "command_mode": "exact",
         "has_tty": True, "hist_requests": rng.randrange(5), "hist_denials": 0, "hist_grants": rng.randrange(3),
         "hist_break_glass": 0, "created_us": t, "deadline_us": t + 3600 * 10**6, "policy_action": "escalate",
         "tier": "owner", "approvals_needed": 1, "risk": 10, "policy_reasons": [
             "a person asking without a terminal (+10)", "one approver of role ops must approve"],
         "policy_reason_ids": ["risk.no_tty", "tier.owner"]}
    if by:
        r["decided_by"] = by
    if state != "pending":
        r["decided_at_us"] = t + rng.randrange(1, 600) * 10**6
    if state == "denied" and by == "bob":
        r["comment"] = "not during the freeze"
    if gid:
        r["grant_id"] = gid
    if by == "bob":
        r["signed_decision"] = signed(rid, user, t)
    return r
def grant(gid, r, state, ended_by, expires):
    g = {"id": gid, "request_id": r["id"], "state": state, "user": r["user"], "uid": r["uid"], "role": "ops",
         "group": "jit-ops", "approved_by": r["decided_by"], "created_us": r["decided_at_us"],
         "expires_us": expires, "ended_us": 0 if state == "active" else min(expires, r["decided_at_us"] + 300 * 10**6),
         "tier": "owner", "end": "processes", "end_grace_s": 10}
    if ended_by:
        g["ended_by"] = ended_by
        g["swept_us"] = g["ended_us"] + 10 * 10**6     # as the service leaves an ended grant
    if r.get("signed_decision"):
        g["signed_decision"] = r["signed_decision"]
    return g
nreq = ngr = 0
for i in range(count):
    user, uid = ("alice", alice_uid) if i % 10 == 0 else ("h%03d" % (i % 200), 5000 + i % 200)
    t = now - rng.randrange(30 * 86400) * 10**6 - 3600 * 10**6
    x = rng.random()
    state = "approved" if x < 0.4 else "denied" if x < 0.7 else "lapsed" if x < 0.9 else "cancelled"
    rid = new_id("r")
    if state == "approved":
        gid = new_id("g")
        r = request(rid, user, uid, state, t, gid)
        put("grants", grant(gid, r, rng.choice(["expired", "revoked"]), rng.choice(["loop", "bob", "done"]),
                            r["decided_at_us"] + 900 * 10**6))
        ngr += 1
    else:
        r = request(rid, user, uid, state, t)
    put("requests", r)
    nreq += 1
# alice's active grant: her sudo takes the fast path.
rid, gid = new_id("r"), new_id("g")
r = request(rid, "alice", alice_uid, "approved", now - 60 * 10**6, gid)
r["decided_by"], r["decided_at_us"] = "bob", now - 30 * 10**6
r["signed_decision"] = signed(rid, "alice", now)
put("requests", r)
put("grants", grant(gid, r, "active", None, now + 3 * 3600 * 10**6))
print(nreq + 1, ngr + 1)
PY
}

t0=$(now_us); read -r base_r base_g < <(gen "$W/empty" 0) || die "the generator failed"
read -r big_r big_g < <(gen "$W/big" "$COUNT") || die "the generator failed"; t1=$(now_us)
du_big=$(du -sh "$W/big" | cut -f1)
echo "# list-100k: $big_r requests and $big_g grants generated in $(( (t1 - t0) / 1000 )) ms ($du_big on disk), build $BUILD"
echo "# kernel $(uname -r), $(nproc) CPU(s)"
gpasswd -a alice jit-ops >/dev/null        # her active grant's membership, as the service left it

: >"$W/figures.txt"
fig() { echo "$*" >>"$W/figures.txt"; }       # SETUP METRIC VALUE_MS [NOTE...]

measure() {     # SETUP: start the service on $W/SETUP, time and measure, stop it
        local setup=$1 t0 t1 rss pid
        # sandbox_start_service polls every 50 ms: time the ready line here instead.
        : >"$W/service.log"
        t0=$(now_us)
        "$JITCTL" serve --state-dir "$W/$setup" --foreground 2>>"$W/service.log" &
        SERVICE_PID=$!
        for _ in $(seq 1 60000); do
                grep -q 'jit service ready' "$W/service.log" && break
                kill -0 "$SERVICE_PID" 2>/dev/null || die "the service died while loading $setup"
                sleep 0.002
        done
        t1=$(now_us)
        grep -q 'jit service ready' "$W/service.log" || die "the service never got ready on $setup"
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVICE_PID/status")
        fig "$setup startup $(( (t1 - t0) / 1000 )) $(grep -o '([0-9]* requests, [0-9]* grants on record' "$W/service.log" | tr -d '(') ; RSS $((rss / 1024)) MiB"
        # 2. listing
        for what in "root list --all" "root --json list --all" "alice --json list --all" "root list" "root list --active"; do
                local who=${what%% *} args=${what#* } i rc t_a t_b bytes err
                for i in 1 2 3; do
                        t_a=$(now_us)
                        if [ "$who" = root ]; then "$JITCTL" $args >"$W/out" 2>"$W/err"; rc=$?
                        else runuser -u "$who" -- "$JITCTL" $args >"$W/out" 2>"$W/err"; rc=$?; fi
                        t_b=$(now_us)
                        bytes=$(wc -c <"$W/out"); err=$(head -c 100 "$W/err" | tr '\n' ' ')
                        fig "$setup list:$who:${args// /_} $(( (t_b - t_a) / 1000 )) exit $rc, $bytes bytes${err:+, $err}"
                done
        done
        # 3. the fast path over the socket, and through sudo
        "$PY" - 200 <<'PY' >>"$W/access.$setup" || die "access requests failed on $setup"
import json, socket, struct, sys, time
n = int(sys.argv[1])
body = json.dumps({"op": "access", "user": "alice", "role": "ops", "service": "sudo",
                   "command": ["/usr/bin/true"], "command_mode": "exact", "wait_s": 0}).encode()
msg = struct.pack(">I", len(body)) + body
def once():
    t0 = time.perf_counter_ns()
    s = socket.socket(socket.AF_UNIX); s.connect("/run/jit/jit.sock"); s.sendall(msg)
    hdr = b""
    while len(hdr) < 4:
        hdr += s.recv(4 - len(hdr))
    k = struct.unpack(">I", hdr)[0]; a = b""
    while len(a) < k:
        a += s.recv(k - len(a))
    t1 = time.perf_counter_ns(); s.close()
    if json.loads(a).get("decision") != "allow":
        sys.exit("unexpected answer: %s" % a[:200])
    return (t1 - t0) / 1e6
for _ in range(5):
    once()
for _ in range(n):
    print(once())
PY
        while read -r ms; do fig "$setup access $ms"; done <"$W/access.$setup"
        for i in $(seq 1 23); do
                t_a=$(now_us); runuser -u alice -- sudo -n /usr/bin/true >/dev/null 2>&1; rc=$?; t_b=$(now_us)
                [ "$rc" = 0 ] || die "alice's sudo on the fast path failed on $setup (exit $rc)"
                [ "$i" -gt 3 ] && fig "$setup sudo $(( (t_b - t_a) / 1000 ))"
        done
        # 4. a new request that escalates, and its cancel
        for i in $(seq 1 13); do
                t_a=$(now_us); out=$(runuser -u carol -- "$JITCTL" --json request ops --task "bench $i"); rc=$?; t_b=$(now_us)
                [ "$rc" = 4 ] || die "carol's request did not escalate on $setup (exit $rc): $out"
                id=$(grep -o '"request_id":[[:space:]]*"r-[0-9a-z]*"' <<<"$out" | grep -o 'r-[0-9a-z]*' | head -n1)
                t_c=$(now_us); runuser -u carol -- "$JITCTL" cancel "$id" >/dev/null; t_d=$(now_us)
                [ "$i" -gt 3 ] && { fig "$setup request $(( (t_b - t_a) / 1000 ))"; fig "$setup cancel $(( (t_d - t_c) / 1000 ))"; }
        done
        sandbox_stop_service
}
measure empty
measure big

"$PY" - "$W/figures.txt" "$big_r" "$big_g" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
notes = {}
for line in open(sys.argv[1]):
    setup, metric, value, *note = line.split(" ", 3)
    rows[(setup, metric)].append(float(value))
    if note:
        notes[(setup, metric)] = note[0].strip()
def pct(v, p):
    s = sorted(v); k = (len(s) - 1) * p / 100.0; lo = int(k); hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
label = {"startup": "start-up to ready", "access": "access over the socket (fast path)",
         "sudo": "sudo -n true as alice (fast path)", "request": "jitctl request (escalates)",
         "cancel": "jitctl cancel"}
print("%-44s %-6s %5s %9s %9s %9s %9s  %s" % ("ms", "spool", "n", "min", "median", "p90", "max", "notes"))
for metric in ["startup", "list:root:list_--all", "list:root:--json_list_--all", "list:alice:--json_list_--all",
               "list:root:list", "list:root:list_--active", "access", "sudo", "request", "cancel"]:
    for setup in ("empty", "big"):
        v = rows.get((setup, metric))
        if not v:
            continue
        name = label.get(metric) or "jitctl " + metric.split(":", 2)[2].replace("_", " ") + " as " + metric.split(":")[1]
        print("%-44s %-6s %5d %9.1f %9.1f %9.1f %9.1f  %s" % (name, setup, len(v), min(v), statistics.median(v),
              pct(v, 90), max(v), notes.get((setup, metric), "")))
print("# big: %s requests and %s grants on record" % (sys.argv[2], sys.argv[3]))
PY
