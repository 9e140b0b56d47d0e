#!/bin/bash
# End-to-end: the service's side of the fleet, driven as jit-fleet drives
# it (root, on the service's socket), without a store: the real service in
# a private mount + PID namespace with an overlay over /etc (lib.sh).
#   - requests for several hosts carried from one origin count apart from
#     the user's own: 16 pending per user from each origin, 128 in all from
#     one origin; beyond that the part is refused, and the user's own
#     requests, and other origins', are still taken;
#   - what the service hands jit-fleet to publish (op fleet-sync) names the
#     list of hosts once (sign_host), and stays under 3 MiB however many
#     requests are pending: the rest are counted (left_out), the oldest go
#     first, and are published as those ahead of them are decided.
#
#   tests/e2e/fleetparts.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: fleetparts.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in unshare gpasswd python3; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-fleetparts.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
report() {
        while IFS='|' read -r res desc; do
                case $res in 1) ok "$desc" ;; '#') echo "# $desc" ;; *) notok "$desc" ;; esac
        done
}

trap 'sandbox_stop_service' EXIT
sandbox_setup
# nine more requesters of ops, for one origin's share of all users
for i in 1 2 3 4 5 6 7 8 9; do
        useradd -M -d /nonexistent -s /usr/sbin/nologin -G eng "u$i"
done
sandbox_start_service || exit 1

# $1: the phase; prints res|description lines
fleet() {
        python3 - "$@" "$W" <<'PY'
import json, os, random, socket, struct, sys, time

phase, W = sys.argv[1], sys.argv[-1]
me = socket.gethostname()
alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

def call(msg):
    s = socket.socket(socket.AF_UNIX)
    s.connect("/run/jit/jit.sock")
    b = json.dumps(msg).encode()
    s.sendall(struct.pack(">I", len(b)) + b)
    hdr = b""
    while len(hdr) < 4:
        hdr += s.recv(4 - len(hdr))
    n = struct.unpack(">I", hdr)[0]
    d = b""
    while len(d) < n:
        d += s.recv(n - len(d))
    s.close()
    return json.loads(d), n

# a hundred hosts of 63 characters, this one among them, sorted
hosts = sorted([me] + ["web-%02d-" % i + "x" * 56 for i in range(99)])
# the pending requests, oldest first (this is the service's only client)
ids_file = W + "/pending.json"
pending = json.load(open(ids_file)) if os.path.exists(ids_file) else []
def open_part(origin, user):
    mid = "m-" + "".join(random.choice(alphabet) for _ in range(10))
    a, _ = call({"op": "fleet-open", "origin": origin, "id": mid, "user": user, "role": "ops", "ttl": 600,
                 "reason": "fleetparts", "hosts": hosts, "asked_us": int(time.time() * 1e6)})
    if a.get("decision") == "pending":
        pending.append(a["request_id"])
    return a

def outcome(a):
    return a.get("decision") or ("error: " + str(a.get("error")))

def say(good, desc):
    print("%d|%s" % (bool(good), desc))

if phase == "shares":
    outs = [outcome(open_part("o-a", "alice")) for _ in range(16)]
    say(outs == ["pending"] * 16, "16 parts for alice from origin o-a: all pending (%s)" % sorted(set(outs)))
    a = open_part("o-a", "alice")
    say(a.get("decision") == "deny" and "too many requests asked from that host" in (a.get("message") or ""),
        "the 17th from o-a for alice: refused, too many from that host (%s: %s)" % (outcome(a), a.get("message")))
    a = open_part("o-b", "alice")
    say(outcome(a) == "pending", "a part for alice from another origin, o-b: pending (%s)" % outcome(a))
    outs = [outcome(open_part("o-c", "u%d" % (i // 16 + 1))) for i in range(128)]
    say(outs == ["pending"] * 128, "128 parts from origin o-c for u1..u8: all pending (%s)" % sorted(set(outs)))
    a = open_part("o-c", "u9")
    say(a.get("decision") == "deny" and "too many requests asked from that host" in (a.get("message") or ""),
        "the 129th from o-c, for u9 who has none: refused, 128 in all from one origin (%s)" % outcome(a))
    a = open_part("o-d", "u9")
    say(outcome(a) == "pending", "u9's part from origin o-d: pending (%s)" % outcome(a))
    snap, size = call({"op": "fleet-sync"})
    parts = [r for r in snap.get("requests", []) if r.get("fleet_id")]
    say(snap.get("ok") and len(parts) == 146 and "left_out" not in snap,
        "fleet-sync hands over all 146 pending parts (%d, %d bytes, left_out %s)"
        % (len(parts), size, snap.get("left_out")))
    say(parts and all("fleet_hosts" not in r and r.get("sign_host") == ",".join(hosts) for r in parts),
        "each names its list of hosts once, as sign_host, the text an approval signs")

elif phase == "own":
    pending.append(sys.argv[2])

elif phase == "flood":
    # Fill past what one answer carries: about 8 KB each, 30 origins of 16.
    outs = [outcome(open_part("o-f%02d" % (i // 16), "carol")) for i in range(480)]
    say(outs == ["pending"] * 480, "480 more parts for carol from 30 origins: all pending (%s)" % sorted(set(outs)))
    snap, size = call({"op": "fleet-sync"})
    got = snap.get("requests", [])
    left = snap.get("left_out", 0)
    text = sum(len(json.dumps(r, separators=(",", ":"))) for r in got)
    say(snap.get("ok") and left > 0 and len(got) + left == len(pending),
        "fleet-sync with %d pending: %d handed over, %s left out (%d bytes in all)" % (len(pending), len(got), left, size))
    say(text <= 3 * 1024 * 1024 and size < 4 * 1024 * 1024,
        "the requests in it stay under 3 MiB (%d bytes), the answer under the 4 MiB a frame may hold" % text)
    ids = [r["id"] for r in got]
    say(ids == pending[:len(got)], "the oldest go first")
    json.dump({"first": ids[:40], "next": pending[len(got):len(got) + 40], "left": left}, open(W + "/flood.json", "w"))
    # what jitctl list is answered: the newest, under the same bound
    lst, size = call({"op": "list"})
    got = [r["id"] for r in lst.get("requests", [])]
    say(lst.get("ok") and lst.get("requests_left_out", 0) > 0 and got == pending[len(pending) - len(got):],
        "op list with %d pending: the newest %d, %s left out, in %d bytes"
        % (len(pending), len(got), lst.get("requests_left_out"), size))

elif phase == "after":
    f = json.load(open(W + "/flood.json"))
    pending = [x for x in pending if x not in f["first"]]
    snap, size = call({"op": "fleet-sync"})
    ids = [r["id"] for r in snap.get("requests", [])]
    say(not set(f["first"]) & set(ids) and set(f["next"]) <= set(ids) and snap.get("left_out", 0) == f["left"] - 40,
        "40 of the published ones withdrawn: the next 40 are published in their place (left_out %s)"
        % snap.get("left_out"))

json.dump(pending, open(ids_file, "w"))
PY
}

report < <(fleet shares)
out=$(runuser -u alice -- "$JITCTL" request ops --reason "her own" 2>&1); rc=$?
own=$("$JITCTL" --json list | python3 -c '
import json, sys
print(" ".join(r["id"] for r in json.load(sys.stdin)["requests"]
               if r["user"] == "alice" and r["state"] == "pending" and not r.get("origin")))')
[ -n "$own" ] && ok "alice's own request on this host is still taken: $own pending" ||
        notok "alice's own request after 16 from o-a (exit $rc): $out"
[ -n "$own" ] && fleet own "$own"
report < <(fleet flood)
# the first 40 published ones decided (withdrawn by their requester)
for id in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["first"]))' "$W/flood.json"); do
        u=$("$JITCTL" --json show "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["user"])')
        runuser -u "$u" -- "$JITCTL" cancel "$id" >/dev/null 2>&1 || notok "cancel $id as $u"
done
report < <(fleet after)
out=$("$JITCTL" list 2>&1); rc=$?
[ $rc = 0 ] && grep -q "left out" <<<"$out" && ok "jitctl list: the newest requests, and how many it left out" ||
        notok "jitctl list with $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$W/pending.json") pending (exit $rc): $(tail -2 <<<"$out")"
sandbox_stop_service
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
[ $rc = 0 ] && ok "jitctl audit verify: the log holds ($out)" || notok "audit verify (exit $rc): $out"

echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
