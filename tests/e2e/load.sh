#!/bin/bash
# Concurrency, correctness only (no timings are asserted): many requests
# from many concurrent clients — template grants, approvals, denials,
# cancellations, early ends — while short grants expire and pending
# requests lapse under them, and while useradd/userdel/groupadd/gpasswd
# rewrite /etc/group and /etc/gshadow for users and groups jit does not
# manage. Real service, real gpasswd, real jitctl run as each user, on a
# private overlay of /etc inside a private mount + PID namespace.
#
#   tests/e2e/load.sh BUILD_DIR
#
#   JIT_LOAD_REQUESTS   requests in all (default 1000)
#   JIT_LOAD_CLIENTS    concurrent clients (default 50), one user each at a time
#   JIT_LOAD_DECISIONS  signed approve/deny decisions, shared by 3 approvers
#                       (default 60; each unlocks a key with Argon2id)
#   JIT_LOAD_SEED       the random mix (default 8)
# (Past about 3,000 requests `jitctl --json list --all`, which the checks
# read, no longer fits in one answer of the service: see bench/list-100k.sh.)
#
# What must hold, during and after the run:
#  - every request a client was told about is recorded exactly once, and
#    nothing else is (ineligible asks are not recorded);
#  - every decision is applied exactly once: a template or an approval
#    gives exactly one grant, a denial or a cancellation none, a request is
#    decided by one approver only (racing approvers get "already ..."), a
#    grant ends once; the audit log has one grant and one end line each;
#  - at every sample taken during the run, a member of a managed group has
#    a grant that was created before the sample and not ended before it;
#  - afterwards, with the TTLs gone and a reconcile pass: no active grant,
#    no member left in the managed groups, no request still pending;
#  - the standing members of an unrelated group (which the churn edits
#    all the time) are never lost; grpck -r is clean; the audit log
#    verifies; the service logged no failed gpasswd, no stray member, no
#    membership it had to restore.
set -u
BUILD=$(cd "${1:?usage: load.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in unshare gpasswd grpck useradd userdel groupadd python3; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-load.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
REQUESTS=${JIT_LOAD_REQUESTS:-1000}
CLIENTS=${JIT_LOAD_CLIENTS:-50}
DECISIONS=${JIT_LOAD_DECISIONS:-60}
SEED=${JIT_LOAD_SEED:-8}
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
# Lines "1|what" or "0|what" from a checker become ok / not ok; "#|text" a comment.
report() {
        while IFS='|' read -r res desc; do
                case $res in 1) ok "$desc" ;; '#') echo "# $desc" ;; *) notok "$desc" ;; esac
        done
}
PY=$(python3 -c 'import sys; print(sys.executable)')
t_start=$(date +%s)

trap 'sandbox_stop_service' EXIT
sandbox_setup

# --- users, groups, keys, policy ---------------------------------------------------
# 50 requesters (u01..u45, c01..c05 contractors), 3 approvers (bob and
# ap1, ap2), an unrelated group "standing" with standing members.
groupadd load; groupadd contractors; groupadd loadappr; groupadd standing
groupadd --system jit-quick; groupadd --system jit-change; groupadd --system jit-closed
users=()
for i in $(seq -w 1 45); do users+=("u$i"); done
for i in $(seq -w 1 5); do users+=("c$i"); done
for u in "${users[@]}"; do useradd -M -d /nonexistent -s /bin/bash -G load "$u"; done
for i in $(seq -w 1 5); do usermod -a -G contractors "c$i"; done
for u in st1 st2 st3 st4; do useradd -M -d /nonexistent -s /usr/sbin/nologin -G standing "$u"; done
usermod -a -G loadappr bob
for u in ap1 ap2; do
        useradd -m -d "$W/home/$u" -s /bin/bash -G loadappr "$u"
        echo "$u's passphrase, long enough" > "$W/home/$u/.pass"
        chown "$u": "$W/home/$u/.pass"; chmod 0600 "$W/home/$u/.pass"
        runuser -u "$u" -- "$JITCTL" keygen --passphrase-file "$W/home/$u/.pass" >/dev/null
        "$JITCTL" approver add "$u" "$W/home/$u/.config/jit/approver.pub" >/dev/null
done
# Standing members in gshadow too (gpasswd -M writes both files).
gpasswd -M st1,st2,st3,st4 standing >/dev/null
cat > /etc/jit/jit.conf <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "loop", "request_ttl": "1h", "reconcile_interval": "2s" },
  "roles": {
    "quick": {
      "description": "Granted at once by a template, for a few seconds",
      "group": "jit-quick",
      "default_ttl": "3s",
      "max_ttl": "5s",
      "requesters": { "groups": ["load"] },
      "approvers": { "groups": ["loadappr"] },
      "deny": [
        { "id": "no-contractors", "groups": ["contractors"],
          "reason": "contractors ask someone else to act for them" }
      ]
    },
    "change": {
      "description": "Needs an approver; lapses if nobody decides",
      "group": "jit-change",
      "default_ttl": "3s",
      "max_ttl": "5s",
      "request_ttl": "8s",
      "requesters": { "groups": ["load"] },
      "approvers": { "groups": ["loadappr"] }
    },
    "closed": {
      "description": "Nobody in the load may ask for it",
      "group": "jit-closed",
      "max_ttl": "5s",
      "requesters": { "users": ["alice"] },
      "approvers": { "groups": ["loadappr"] }
    }
  },
  "templates": {
    "quick-tmpl": {
      "role": "quick",
      "description": "the load's routine grant",
      "groups": ["load"],
      "max_ttl": "3s"
    }
  }
}
CONF
chmod 0644 /etc/jit/jit.conf
"$JITCTL" policy check >/dev/null || { echo "the load policy does not check:"; "$JITCTL" policy check; exit 1; }
sandbox_start_service || exit 1
echo "# $REQUESTS requests from $CLIENTS clients, $DECISIONS signed decisions, seed $SEED"

# --- the run -------------------------------------------------------------------------
"$PY" - "$JITCTL" "$W" "$REQUESTS" "$CLIENTS" "$DECISIONS" "$SEED" "$BOBPASS" "${users[@]}" <<'PY' || { notok "the load driver ran to its end"; }
import grp, json, os, pwd, queue, random, subprocess, sys, threading, time

JITCTL, W = sys.argv[1], sys.argv[2]
N, CLIENTS, DECISIONS, SEED = (int(x) for x in sys.argv[3:7])
BOBPASS = sys.argv[7]
USERS = sys.argv[8:]
rng = random.Random(SEED)
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
ids = {}
def ident(user):
    if user not in ids:
        pw = pwd.getpwnam(user)
        ids[user] = (pw.pw_uid, pw.pw_gid, os.getgrouplist(user, pw.pw_gid))
    return ids[user]

def jitctl(user, *args, timeout=60):
    """Run jitctl --json as user (root: as is); (rc, answer or None, stderr)."""
    kw = {}
    if user != "root":
        uid, gid, groups = ident(user)
        kw = dict(user=uid, group=gid, extra_groups=groups)
    try:
        p = subprocess.run([JITCTL, "--json", *args], capture_output=True, timeout=timeout, env=ENV, **kw)
    except subprocess.TimeoutExpired:
        return 124, None, "timeout"
    try:
        ans = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        ans = None
    return p.returncode, ans, p.stderr.decode(errors="replace").strip()

for u in USERS + ["bob", "ap1", "ap2"]:
    ident(u)

# The mix: contractors ask for quick (a deny rule: recorded, denied);
# the others mostly quick (template), then change (an approver or a lapse
# decides; half with --task, which is never folded into a pending one),
# change-then-cancel, quick-then-done, and a few asks for a role they may
# not request (denied, not recorded).
jobs = queue.Queue()
for i in range(N):
    u = USERS[i % len(USERS)]
    if u.startswith("c"):
        kind = "deny"
    else:
        x = rng.random()
        kind = ("quick" if x < 0.40 else "quick-done" if x < 0.50 else "change" if x < 0.80
                else "change-cancel" if x < 0.95 else "ineligible")
    jobs.put((i, u, kind))

results = []            # one per request made
events = []             # done / cancel / approver actions
lock = threading.Lock()
stop = threading.Event()
problems = []

def note(lst, item):
    with lock:
        lst.append(item)

def client():
    while True:
        try:
            i, u, kind = jobs.get_nowait()
        except queue.Empty:
            return
        if kind in ("quick", "quick-done", "deny"):
            rc, a, err = jitctl(u, "request", "quick", "--reason", "load %d" % i)
        elif kind == "ineligible":
            rc, a, err = jitctl(u, "request", "closed")
        else:
            extra = ["--task", "load %d" % i] if i % 2 else ["--reason", "load %d" % i]
            rc, a, err = jitctl(u, "request", "change", *extra)
        a = a or {}
        res = {"i": i, "user": u, "kind": kind, "rc": rc, "err": err,
               "id": a.get("request_id"), "decision": a.get("decision"),
               "reused": "(already pending)" in (a.get("message") or ""),
               "grant": (a.get("grant") or {}).get("id"), "code": a.get("code"),
               "msg": a.get("message") or a.get("error") or ""}
        note(results, res)
        if kind == "quick-done" and res["grant"]:
            rc2, a2, err2 = jitctl(u, "done", res["grant"])
            note(events, {"what": "done", "by": u, "id": res["grant"], "rc": rc2, "err": err2,
                          "already": (a2 or {}).get("already")})
        if kind == "change-cancel" and res["id"]:
            rc2, a2, err2 = jitctl(u, "cancel", res["id"])
            note(events, {"what": "cancel", "by": u, "id": res["id"], "rc": rc2, "err": err2})

decisions_left = [DECISIONS]
def approver(name, passfile, seed):
    r = random.Random(seed)
    while not stop.is_set():
        rc, a, err = jitctl(name, "list")
        pend = [q for q in (a or {}).get("requests", []) if q["state"] == "pending" and q["role"] == "change"]
        if not pend:
            time.sleep(0.05)
            continue
        with lock:
            if decisions_left[0] <= 0:
                return
            decisions_left[0] -= 1
        # Often the oldest, so that approvers race for the same one.
        q = min(pend, key=lambda q: q["created_us"]) if r.random() < 0.5 else r.choice(pend)
        if r.random() < 0.25:
            rc, a, err = jitctl(name, "deny", "--passphrase-file", passfile, q["id"], "--reason", "not now")
            what = "deny"
        else:
            rc, a, err = jitctl(name, "approve", "--passphrase-file", passfile, q["id"])
            what = "approve"
        note(events, {"what": what, "by": name, "id": q["id"], "rc": rc, "err": err,
                      "grant": ((a or {}).get("grant") or {}).get("id")})

def members(path, group):
    for line in open(path):
        f = line.rstrip("\n").split(":")
        if f[0] == group:
            return set(m for m in f[3].split(",") if m)
    return None

samples = [0]
candidates = []
def sampler():
    """Membership implies a grant created before the look and not ended before it."""
    while not stop.is_set():
        # Each file is read at some moment between its t1 and t2 (this
        # thread may wait for the interpreter lock in between): a grant
        # made after t1 may already be seen, none made after t2.
        seen = {}
        for g in ("jit-quick", "jit-change", "standing"):
            for f in ("/etc/group", "/etc/gshadow"):
                t1 = time.time_ns() // 1000
                m = members(f, g)
                seen[(g, f)] = (m, t1, time.time_ns() // 1000)
        rc, a, err = jitctl("root", "list", "--all")
        if rc != 0 or not a:
            note(problems, "sampler: list --all failed (exit %d): %s" % (rc, err))
            time.sleep(0.5)
            continue
        for (g, f), (m, t1, t2) in seen.items():
            if m is None:
                note(problems, "sampler: group %s missing from %s" % (g, f))
                continue
            if g == "standing":
                if not {"st1", "st2", "st3", "st4"} <= m:
                    note(problems, "sampler: standing members lost from %s: %s" % (f, sorted(m)))
                continue
            for u in m:
                # ended_us is taken as the end begins, before gpasswd -d:
                # a member seen just after it is judged at the end, against
                # the audit log's end line (written once the member is gone).
                ok = any(x["user"] == u and x["group"] == g and x["created_us"] <= t2 and
                         (x["state"] == "active" or x.get("ended_us", 0) >= t1) for x in a["grants"])
                if not ok:
                    note(candidates, {"t1": t1, "t2": t2, "user": u, "group": g, "file": f})
        samples[0] += 1
        time.sleep(0.3)

churn_runs, churn_fail = [0], []
def churn():
    """Users and groups jit does not manage, created, edited, deleted; each
    edit is read back at once (only this thread touches them)."""
    k = 0
    while not stop.is_set():
        k += 1
        u, g = "tmp%d" % k, "tmpg%d" % k
        for cmd, after in ((["useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", u], None),
                           (["gpasswd", "-a", u, "standing"], ("standing", True)),
                           (["groupadd", g], None),
                           (["usermod", "-a", "-G", g, u], (g, True)),
                           (["gpasswd", "-d", u, "standing"], ("standing", False)),
                           (["userdel", u], None), (["groupdel", g], None)):
            p = subprocess.run(cmd, capture_output=True, env=ENV)
            churn_runs[0] += 1
            if p.returncode != 0:
                note(churn_fail, "%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode().strip()))
            elif after:
                for f in ("/etc/group", "/etc/gshadow"):
                    m = members(f, after[0])
                    if m is None or (u in m) != after[1]:
                        note(problems, "churn: after %s, %s %s in %s (%s)" % (" ".join(cmd), u,
                             "missing" if after[1] else "still", after[0], f))

t0 = time.time()
bg = [threading.Thread(target=sampler), threading.Thread(target=churn)]
apprs = [threading.Thread(target=approver, args=a) for a in
         (("bob", BOBPASS, SEED + 1), ("ap1", W + "/home/ap1/.pass", SEED + 2), ("ap2", W + "/home/ap2/.pass", SEED + 3))]
clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
for t in bg + apprs + clients:
    t.start()
for t in clients:
    t.join()
t_clients = time.time() - t0
# Let the approvers use what is left of their budget on what is still pending.
deadline = time.time() + 20
while decisions_left[0] > 0 and time.time() < deadline and any(t.is_alive() for t in apprs):
    time.sleep(0.1)
stop.set()
for t in bg + apprs:
    t.join()
json.dump({"results": results, "events": events, "problems": problems, "samples": samples[0],
           "candidates": candidates,
           "churn_runs": churn_runs[0], "churn_fail": churn_fail, "t_clients": t_clients,
           "t_total": time.time() - t0}, open(W + "/run.json", "w"))
print("# clients done in %.1f s; %d samples; %d churn commands (%d failed); %d decisions left unused"
      % (t_clients, samples[0], churn_runs[0], len(churn_fail), max(decisions_left[0], 0)))
PY

# --- after: TTLs and request deadlines pass, then one reconcile pass --------------
# change requests lapse 8 s after they were made; grants last at most 5 s.
# Nothing new starts now: wait for the last deadline, then a little more.
wait_s=$("$JITCTL" --json list --all | "$PY" -c '
import json, math, sys
d = json.load(sys.stdin); now = d["now_us"]
due = [r["deadline_us"] for r in d["requests"] if r["state"] == "pending"]
due += [g["expires_us"] for g in d["grants"] if g["state"] == "active"]
print(max([0] + [math.ceil((t - now) / 1e6) for t in due]))')
echo "# waiting ${wait_s:-?} s for the last lapse or expiry"
sleep "${wait_s:-10}"
sleep 1.5
"$JITCTL" reconcile >/dev/null
"$JITCTL" --json list --all >"$W/final.json"
cp /etc/group "$W/group.final"; cp /etc/gshadow "$W/gshadow.final"

# --- checks ----------------------------------------------------------------------------
report < <("$PY" - "$W" <<'PY'
import collections, json, sys
W = sys.argv[1]
run = json.load(open(W + "/run.json"))
final = json.load(open(W + "/final.json"))
R, E = run["results"], run["events"]
reqs, grants = final["requests"], final["grants"]
by_id = {r["id"]: r for r in reqs}
g_by_id = {g["id"]: g for g in grants}
def say(ok, what):
    print("%d|%s" % (1 if ok else 0, what.replace("|", "/")))
def some(xs, k=3):
    xs = list(xs)
    return "" if not xs else " (e.g. %s)" % ", ".join(str(x) for x in xs[:k])

# The clients: every call answered, as its kind says.
bad = [r for r in R if r["rc"] not in (0, 3, 4, 8)]
say(not bad, "all %d requests were answered (no unreachable service, no timeout, no internal error)%s"
    % (len(R), some("%s %s exit %s %s" % (r["user"], r["kind"], r["rc"], (r["err"] or r["msg"])[:80]) for r in bad)))
# change: pending; or, holding an approved change grant already, allowed
# by it (no --task) or told a task needs a new grant (--task: conflict).
def as_expected(r):
    if r["kind"] in ("quick", "quick-done"):
        return r["rc"] == 0 and r["grant"]
    if r["kind"] in ("deny", "ineligible"):
        return r["rc"] == 3
    return (r["rc"] == 4 and r["id"]) or (r["rc"] == 0 and r["grant"] and not r["id"]) or \
        (r["rc"] == 8 and r["code"] == "conflict" and "already hold grant" in r["msg"])
wrong = [r for r in R if not as_expected(r)]
say(not wrong, "each answer is what its kind must get (template allow, deny rule, pending, or the grant held)%s"
    % some("%s %s exit %s: %s" % (r["user"], r["kind"], r["rc"], (r["err"] or r["msg"])[:80]) for r in wrong))
held = [r for r in R if r["kind"].startswith("change") and r["rc"] in (0, 8)]
say(all(r["grant"] in g_by_id and g_by_id[r["grant"]]["user"] == r["user"] and g_by_id[r["grant"]]["role"] == "change"
        for r in held if r["rc"] == 0),
    "the %d change asks made while holding a change grant were answered by that user's grant" % len(held))

# Recorded exactly once.
new = [r for r in R if r["id"] and not r["reused"]]
new_ids = [r["id"] for r in new]
dup = [i for i, c in collections.Counter(new_ids).items() if c > 1]
say(not dup, "no two clients were told they made the same new request%s" % some(dup))
rec_ids = [r["id"] for r in reqs]
say(len(rec_ids) == len(set(rec_ids)), "list --all names each request once (%d records)" % len(rec_ids))
say(set(rec_ids) == set(new_ids),
    "the records are exactly the %d requests the clients were told about (%d records; missing %d, extra %d)"
    % (len(set(new_ids)), len(rec_ids), len(set(new_ids) - set(rec_ids)), len(set(rec_ids) - set(new_ids))))
reused = [r for r in R if r["reused"]]
say(all(r["id"] in by_id and by_id[r["id"]]["user"] == r["user"] and "task" not in by_id[r["id"]] for r in reused),
    "the %d answers that reused a pending request name one of the same user's, never a --task one" % len(reused))
fast = [r for r in R if r["kind"] in ("quick", "quick-done") and r["rc"] == 0 and not r["id"]]
say(all(r["grant"] in g_by_id and g_by_id[r["grant"]]["user"] == r["user"] for r in fast),
    "the %d template asks answered by an active grant (not recorded) name a grant of that user" % len(fast))
inel = [r for r in R if r["kind"] == "ineligible"]
say(all(not r["id"] for r in inel) and not any(q["role"] == "closed" for q in reqs),
    "the %d asks for a role the user may not request were denied and not recorded" % len(inel))
mine = [r for r in new if by_id.get(r["id"], {}).get("user") != r["user"]]
say(not mine, "every record belongs to the user who made it%s" % some(r["id"] for r in mine))

# Decisions applied exactly once.
st = collections.Counter(q["state"] for q in reqs)
print("#|request states: %s" % dict(st))
grants_of = collections.defaultdict(list)
for g in grants:
    grants_of[g["request_id"]].append(g)
appr = [q for q in reqs if q["state"] == "approved"]
say(all(len(grants_of[q["id"]]) == 1 and q.get("grant_id") == grants_of[q["id"]][0]["id"] for q in appr),
    "each of the %d approved requests has exactly one grant, and names it%s" % (len(appr),
    some(q["id"] for q in appr if len(grants_of[q["id"]]) != 1)))
orphan = [g for g in grants if by_id.get(g["request_id"], {}).get("state") != "approved"]
say(not orphan and len(grants) == len(appr),
    "no grant rests on a request that is not approved (%d grants)%s" % (len(grants), some(g["id"] for g in orphan)))
tmpl = [q for q in reqs if q["role"] == "quick" and q["state"] == "approved"]
say(all(q.get("decided_by") == "template:quick-tmpl" for q in tmpl),
    "the %d quick grants were made by the template" % len(tmpl))
den = [r for r in R if r["kind"] == "deny"]
say(all(r["id"] and by_id[r["id"]]["state"] == "denied" and by_id[r["id"]]["decided_by"] == "policy" and
        not grants_of[r["id"]] for r in den),
    "the %d contractor requests are recorded, denied by the deny rule, with no grant" % len(den))
ok_dec = collections.defaultdict(list)
for e in E:
    if e["what"] in ("approve", "deny", "cancel") and e["rc"] == 0:
        ok_dec[e["id"]].append(e)
twice = [i for i, es in ok_dec.items() if len(es) > 1]
say(not twice, "no request was decided or cancelled twice (%d decided by a person or cancelled)%s"
    % (len(ok_dec), some(twice)))
def matches(e):
    q = by_id.get(e["id"], {})
    if e["what"] == "approve":
        return q.get("state") == "approved" and q.get("decided_by") == e["by"] and len(grants_of[e["id"]]) == 1 \
            and grants_of[e["id"]][0]["approved_by"] == e["by"]
    if e["what"] == "deny":
        return q.get("state") == "denied" and q.get("decided_by") == e["by"] and not grants_of[e["id"]]
    return q.get("state") == "cancelled" and not grants_of[e["id"]]
mism = [e for es in ok_dec.values() for e in es if not matches(e)]
say(not mism, "each successful approve, deny and cancel is the one the record shows%s"
    % some("%s %s %s" % (e["by"], e["what"], e["id"]) for e in mism))
counts = collections.Counter((e["what"], e["rc"]) for e in E)
print("#|actions (what, exit): %s" % dict(counts))
lost = [e for e in E if e["what"] in ("approve", "deny", "cancel") and e["rc"] not in (0, 8)]
say(not lost, "the approve/deny/cancel calls that lost a race were told so (exit 8), nothing else%s"
    % some("%s %s %s exit %s: %s" % (e["by"], e["what"], e["id"], e["rc"], e["err"][:60]) for e in lost))
raced = [e for e in E if e["what"] in ("approve", "deny") and e["rc"] == 8]
def too_late_ok(e):
    q = by_id.get(e["id"], {})
    return q.get("state") not in (None, "pending") and (q.get("decided_by") != e["by"] or
                                                        any(x["by"] == e["by"] for x in ok_dec[e["id"]]))
say(all(too_late_ok(e) for e in raced), "the %d decisions that came too late changed nothing" % len(raced))
dones = [e for e in E if e["what"] == "done"]
say(all(e["rc"] == 0 for e in dones), "the %d jitctl done calls succeeded (%d found the grant ended already)"
    % (len(dones), sum(1 for e in dones if e["already"])))
say(all(g_by_id[e["id"]]["ended_by"] in ("done", "loop") for e in dones if e["id"] in g_by_id),
    "a grant ended by done was ended once, by done or by its expiry")

# Nothing left behind.
say(not [q for q in reqs if q["state"] == "pending"], "no request is still pending (the rest lapsed: %d)"
    % st.get("lapsed", 0))
act = [g for g in grants if g["state"] == "active"]
say(not act, "no grant is active after the TTLs and a reconcile%s" % some(g["id"] for g in act))
ended = collections.Counter(g.get("ended_by") for g in grants)
print("#|grants ended by: %s" % dict(ended))
say("error" not in ended, "no grant failed to be applied (ended_by error: %d)" % ended.get("error", 0))
def members(path, group):
    for line in open(path):
        f = line.rstrip("\n").split(":")
        if f[0] == group:
            return set(m for m in f[3].split(",") if m)
    return None
for g in ("jit-quick", "jit-change"):
    for f in ("group", "gshadow"):
        m = members(W + "/" + f + ".final", g)
        say(m == set(), "no member left in %s in /etc/%s%s" % (g, f, some(sorted(m or []))))
for f in ("group", "gshadow"):
    m = members(W + "/" + f + ".final", "standing")
    say(m is not None and {"st1", "st2", "st3", "st4"} <= m, "the standing members of 'standing' survived in /etc/%s" % f)

# During the run.
say(not run["problems"], "%d samples during the run: the standing members were always there, every look "
    "worked%s" % (run["samples"], some(run["problems"])))
say(run["samples"] >= 3, "the sampler looked at least 3 times (%d)" % run["samples"])
say(run["churn_runs"] > 0 and not run["churn_fail"], "%d useradd/gpasswd/groupadd/usermod/userdel/groupdel "
    "commands ran beside the service, none failed%s" % (run["churn_runs"], some(run["churn_fail"], 2)))
print("#|clients %.1f s, run %.1f s" % (run["t_clients"], run["t_total"]))
PY
)

# The group files, and what the service wrote.
check "grpck -r is clean" grpck -r
check "pwck -r is clean" pwck -qr
for pat in "cannot add" "cannot remove" "cannot write" "without an active grant" "restored by reconcile" "is active but"; do
        c=$(grep -c -- "$pat" "$W/service.log")
        check "the service log has no \"$pat\" line ($c)" [ "$c" = 0 ]
done
sandbox_stop_service
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "jitctl audit verify: the log holds ($out)" [ $rc = 0 ]
report < <("$PY" - "$W/state/audit.log" "$W/final.json" "$W/run.json" <<'PY'

import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
final = json.load(open(sys.argv[2]))
gids = {g["id"] for g in final["grants"]}
grant_lines = collections.Counter(l.get("grant_id") for l in lines if l.get("event") == "grant")
end_lines = collections.Counter(l.get("grant_id") for l in lines if l.get("event") in ("expire", "revoke"))
print("%d|the audit log has one grant line for each of the %d grants%s" % (
    set(grant_lines) == gids and all(c == 1 for c in grant_lines.values()), len(gids),
    "" if set(grant_lines) == gids else " (%d lines)" % sum(grant_lines.values())))
print("%d|the audit log has one expire or revoke line for each grant" % (
    set(end_lines) == gids and all(c == 1 for c in end_lines.values())))
# Members seen during the run: each had a grant created before the look
# and not ended (its end line, written once gpasswd -d is done) before it.
run = json.load(open(sys.argv[3]))
end_at = {l.get("grant_id"): l["time_us"] for l in lines if l.get("event") in ("expire", "revoke")}
unexplained = [c for c in run["candidates"] if not any(
    g["user"] == c["user"] and g["group"] == c["group"] and g["created_us"] <= c["t2"] and
    end_at.get(g["id"], 1 << 62) >= c["t1"] for g in final["grants"])]
print("%d|in %d samples during the run, every member of a managed group had a grant made before the look "
      "and not ended before it (%d looked closer at)%s" % (not unexplained, run["samples"], len(run["candidates"]),
      "" if not unexplained else " (e.g. %s)" % unexplained[:2]))
rids = {r["id"] for r in final["requests"]}
req_lines = collections.Counter(l.get("request_id") for l in lines if l.get("event") == "request")
print("%d|the audit log has one request line for each of the %d recorded requests" % (
    set(req_lines) == rids and all(c == 1 for c in req_lines.values()), len(rids)))
PY
)

echo "# $(( $(date +%s) - t_start )) s in all"
echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
