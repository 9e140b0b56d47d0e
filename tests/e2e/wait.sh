#!/bin/bash
# End-to-end: what a requester and an approver see on a real terminal.
# Real sudo with pam_jit (progress=1s) and jitctl driven through a
# pseudo-terminal (python3's pty), the real service in a private mount +
# PID namespace with an overlay over /etc (tests/e2e/lib.sh):
#   - the first message, the progress lines, then bob's approval with his
#     comment, at once;
#   - Ctrl-C (0x03 typed on the terminal) withdraws the request;
#   - jitctl wait's progress line, rewritten in place, and its exit codes;
#   - a reason carrying ESC [2J and U+202E reaches no terminal raw: not
#     through the real service, and not through jitctl from a service that
#     sends them (a fake on another socket), which shows them escaped;
#   - colour in jitctl list on a terminal only, never with NO_COLOR or
#     TERM=dumb;
#   - a sudo waiting on its own request goes on once another request of
#     the same user for the role is granted, unless that grant is
#     single-use.
#
#   tests/e2e/wait.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: wait.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare gpasswd python3; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-wait.XXXXXX)
        trap 'rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
fails=0 n=0
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
has() { grep -aq -- "$1" "$2"; }
# has_bytes FILE PYTHON-BYTES: the file holds these bytes (b"\x1b[2J")
has_bytes() { python3 -c 'import sys; sys.exit(eval(sys.argv[2]) not in open(sys.argv[1], "rb").read())' "$1" "$2"; }
no_bytes() { [ -s "$1" ] && ! has_bytes "$@"; }
# none of ESC [2J, U+202E, a C1 CSI (U+009B) or BEL, raw
raw_free() { python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(any(x in d for x in (b"\x1b[2J", b"\xe2\x80\xae", b"\xc2\x9b", b"\x07")))' "$1"; }
# wait_for FILE PATTERN [COUNT]: until PATTERN is on COUNT lines (10 s at most)
wait_for() {
        for _ in $(seq 1 200); do
                c=$(grep -ac -- "$2" "$1" 2>/dev/null)
                [ "${c:-0}" -ge "${3:-1}" ] && return 0
                sleep 0.05
        done
        return 1
}

# A command on a pseudo-terminal of its own (it is the session leader, the
# terminal its controlling one), everything it writes logged raw. With
# --on PATTERN --send BYTES, BYTES are typed once PATTERN has been seen.
# Exits with the command's status, 128+N for signal N.
cat > "$W/ptyrun.py" <<'PY'
import os, pty, select, sys, time
args = sys.argv[1:]
log, on, send = args.pop(0), None, None
while args[0] != "--":
    k, v = args.pop(0), args.pop(0)
    if k == "--on": on = v.encode()
    elif k == "--send": send = v.encode().decode("unicode_escape").encode("latin-1")
args.pop(0)
pid, fd = pty.fork()
if pid == 0:
    os.execvp(args[0], args)
out, end = open(log, "wb"), time.time() + 90
seen = b""
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            b = os.read(fd, 4096)
        except OSError:
            break
        if not b:
            break
        out.write(b); out.flush(); seen += b
        if on and send and on in seen:
            os.write(fd, send); send = None
_, st = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
PY
on_pty() { log=$1; shift; python3 "$W/ptyrun.py" "$log" "$@"; }

trap 'sandbox_stop_service; [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null' EXIT
sandbox_setup
sandbox_pam wait=60s progress=1s
sandbox_start_service || exit 1
export TERM=xterm-256color
unset NO_COLOR

# 1. alice's sudo waits: the first message, a line a second, then bob's
#    approval with his comment, at once.
on_pty "$W/s1.log" -- runuser -u alice -- sudo /usr/bin/id -un &
spid=$!
wait_for "$W/s1.log" 'jit: still waiting for an approver of ops' 2
req=$(grep -ao 'request r-[0-9a-z]*' "$W/s1.log" | head -n1 | awk '{print $2}')
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req" --comment "ticket 42, go ahead" >/dev/null; rc=$?
wait $spid; src=$?
tr -d '\r' < "$W/s1.log" > "$W/s1.txt"
check "sudo on a terminal: the first message names the request ($req), role, length and approvers" \
        has "jit: request $req for role ops (15m; .*) needs approval by: members of sre" "$W/s1.txt"
check "... and how long it waits, and that Ctrl-C withdraws it" \
        bash -c 'grep -q "Waiting up to 1m\." "$1" && grep -q "jit: Ctrl-C stops waiting and withdraws request $2\." "$1"' _ "$W/s1.txt" "$req"
np=$(grep -c "^jit: still waiting for an approver of ops ($req): [0-9]*s left$" "$W/s1.txt")
check "progress=1s: $np progress lines with the time left (at least 2)" [ "$np" -ge 2 ]
check "the time left counts down (59s, then 58s)" \
        bash -c 'grep -q "($1): 59s left" "$2" && grep -q "($1): 58s left" "$2"' _ "$req" "$W/s1.txt"
check "bob approves (exit $rc)" [ $rc = 0 ]
check "alice is told at once: approved by bob, with his comment" \
        has 'jit: approved by bob: role ops (group jit-ops) until .*: "ticket 42, go ahead"' "$W/s1.txt"
check "no progress line after the decision, and her command ran (exit $src)" \
        bash -c '[ "$1" = 0 ] && sed -n "/approved by bob/,\$p" "$2" | grep -qx root && ! sed -n "/approved by bob/,\$p" "$2" | grep -q "still waiting"' _ "$src" "$W/s1.txt"
check "the terminal got no raw control character but CR/LF from the messages" \
        python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(any(c < 0x20 and c not in (10, 13) for c in d))' "$W/s1.log"
as bob "$JITCTL" revoke "$(as alice "$JITCTL" --json show "$req" | field 'd["request"]["grant_id"]')" >/dev/null

# 2. Ctrl-C typed on the terminal while waiting withdraws the request.
on_pty "$W/s2.log" --on 'still waiting for an approver' --send '\x03' -- runuser -u alice -- sudo /usr/bin/id -u; src=$?
tr -d '\r' < "$W/s2.log" > "$W/s2.txt"
req2=$(grep -ao 'request r-[0-9a-z]*' "$W/s2.txt" | head -n1 | awk '{print $2}')
check "Ctrl-C: sudo is refused (exit $src) and says the request $req2 is withdrawn" \
        bash -c '[ "$1" != 0 ] && grep -q "jit: interrupted: request $2 withdrawn" "$3"' _ "$src" "$req2" "$W/s2.txt"
sleep 0.2
out=$(as alice "$JITCTL" show "$req2")
check "jitctl show says cancelled, interrupted while waiting" \
        bash -c 'grep -q "^State: *cancelled$" <<<"$1" && grep -q "interrupted by the requester while waiting" <<<"$1"' _ "$out"

# 3. jitctl wait on a terminal: a progress line rewritten in place.
out=$(as alice "$JITCTL" --json request ops --for 10m --reason "wait on a tty"); req3=$(field 'd["request_id"]' <<<"$out")
on_pty "$W/w1.log" -- runuser -u alice -- "$JITCTL" wait "$req3" --timeout 1m &
wpid=$!
wait_for "$W/w1.log" 'waiting for an approver' 1
sleep 2.5
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req3" --comment "ok from bob" >/dev/null
wait $wpid; wrc=$?
check "jitctl wait: approved (exit $wrc = 0), bob's comment printed" \
        bash -c '[ "$1" = 0 ] && grep -aq "approved by bob: .*\"ok from bob\"" "$2"' _ $wrc "$W/w1.log"
counts_down() { for t in 1m 59s 58s; do has_bytes "$1" "b'\\rwaiting for an approver of ops ($2): $t left'" || return 1; done; }
check "jitctl wait: the line is rewritten in place with \\r, the time left counting down (1m, 59s, 58s)" \
        counts_down "$W/w1.log" "$req3"
check "jitctl wait: no escape sequence on the terminal (the line is blanked with spaces)" no_bytes "$W/w1.log" 'b"\x1b"'
check "jitctl wait: the outcome is on a line of its own, after the progress" \
        bash -c 'tr "\r" "\n" < "$1" | grep -a "jit: approved by bob" | grep -aqv "waiting for"' _ "$W/w1.log"
as bob "$JITCTL" revoke "$(as alice "$JITCTL" --json show "$req3" | field 'd["request"]["grant_id"]')" >/dev/null
out=$(as alice "$JITCTL" --json request ops --for 5m --reason "no one answers"); req4=$(field 'd["request_id"]' <<<"$out")
on_pty "$W/w2.log" -- runuser -u alice -- "$JITCTL" wait "$req4" --timeout 2s; wrc=$?
check "jitctl wait --timeout 2s: still pending (exit $wrc = 4), says so" \
        bash -c '[ "$1" = 4 ] && grep -aq "still waiting for an approver" "$2"' _ $wrc "$W/w2.log"
out=$(as alice "$JITCTL" wait "$req4" --timeout 1s 2>&1); wrc=$?
quiet_wait() { [ "$1" = 4 ] && [[ $2 != *"waiting for an approver of"* && $2 != *$'\r'* ]]; }
check "jitctl wait with no terminal: no progress line, no \\r (exit $wrc = 4)" quiet_wait $wrc "$out"
as carol "$JITCTL" wait "$req4" --timeout 1s >/dev/null 2>&1; wrc=$?
check "jitctl wait for a request one may not see (exit $wrc = 5)" [ $wrc = 5 ]
as alice "$JITCTL" wait r-0000000000 --timeout 1s >/dev/null 2>&1; wrc=$?
check "jitctl wait for no such request (exit $wrc = 6)" [ $wrc = 6 ]
as alice "$JITCTL" wait "$req4" --timeout 1s --socket /nonexistent >/dev/null 2>&1; wrc=$?
check "jitctl wait with no service (exit $wrc = 7)" [ $wrc = 7 ]
as alice "$JITCTL" wait not-an-id >/dev/null 2>&1; wrc=$?
check "jitctl wait with a bad id (exit $wrc = 2)" [ $wrc = 2 ]

# 4. A reason made to repaint an approver's terminal and reverse a line
#    reaches it with neither: the service already stores it cleaned.
as alice "$JITCTL" cancel "$req4" >/dev/null     # else the next request would be this one again
evil=$(printf 'deploy \033[2J now \342\200\256gnp.exe')
out=$(as alice "$JITCTL" --json request ops --for 5m --reason "$evil"); req5=$(field 'd["request_id"]' <<<"$out")
on_pty "$W/e1.log" -- runuser -u bob -- env NO_COLOR=1 "$JITCTL" show "$req5"
on_pty "$W/e2.log" -- runuser -u bob -- env NO_COLOR=1 "$JITCTL" list
clean_of() { for f in "$@"; do no_bytes "$f" 'b"\x1b"' && no_bytes "$f" 'b"\xe2\x80\xae"' || return 1; done; }
check "real service: bob's jitctl show and list of $req5 carry no ESC and no U+202E" clean_of "$W/e1.log" "$W/e2.log"
check "... and show the reason (as the service kept it)" has "^Reason: *deploy .*now .*gnp.exe" <(tr -d '\r' < "$W/e1.log")

# 5. jitctl itself escapes what a service sends it: a fake on its own
#    socket answers show, list, review list and wait with ESC [2J, U+202E,
#    a C1 CSI and a BEL in reasons, comments, commands, tasks and names.
cat > "$W/fake.py" <<'PY'
import json, os, socket, struct, sys, time
path = sys.argv[1]
E = "\x1b[2J\u202e\x9b\x07"
now = int(time.time() * 1e6)
req = {"id": "r-2345678923", "kind": "request", "state": "pending", "user": "mal" + E, "role": "ops",
       "group": "jit-ops", "ttl": 900, "service": "sudo", "command": ["/usr/bin/id", "-un" + E],
       "reason": "reason" + E, "task": "task" + E, "comment": "comment" + E, "created_us": now - 60e6,
       "deadline_us": now + 600e6, "review_state": "open", "policy_reasons": ["why" + E], "policy_reason_ids": ["id" + E]}
grant = {"id": "g-2345678923", "state": "active", "user": "mal" + E, "role": "ops", "group": "jit-ops",
         "approved_by": "bob" + E, "created_us": now, "expires_us": now + 600e6, "task": "task" + E}
def answer(q):
    op = q.get("op")
    if op == "show":
        return {"ok": True, "now_us": now, "request": req, "grant": grant, "approvers": ["bob" + E, "%sre"]}
    if op == "list":
        return {"ok": True, "now_us": now, "requests": [req], "grants": [grant]}
    if op == "wait":
        return {"ok": True, "decision": "deny", "request_id": req["id"], "request": req,
                "message": "jit: denied by bob" + E + ": comment" + E}
    return {"ok": False, "code": "invalid", "error": "no" + E}
s = socket.socket(socket.AF_UNIX); s.bind(path); os.chmod(path, 0o666); s.listen(8)
while True:
    c, _ = s.accept()
    try:
        n = struct.unpack(">I", c.recv(4))[0]; d = b""
        while len(d) < n: d += c.recv(n - len(d))
        b = json.dumps(answer(json.loads(d)), ensure_ascii=False).encode()
        c.sendall(struct.pack(">I", len(b)) + b)
    except Exception:
        pass
    c.close()
PY
python3 "$W/fake.py" "$W/fake.sock" & FAKE_PID=$!
for _ in $(seq 1 100); do [ -S "$W/fake.sock" ] && break; sleep 0.05; done
F="--socket=$W/fake.sock"
for v in "show r-2345678923" "list" "review list" "wait r-2345678923 --timeout 5s"; do
        name=${v%% *}; [ "$v" = "review list" ] && name=review
        on_pty "$W/f-$name.log" -- runuser -u bob -- "$JITCTL" "$F" $v
done
for name in show list review wait; do
        check "jitctl $name: no raw ESC [2J, U+202E, CSI or BEL reaches the terminal" raw_free "$W/f-$name.log"
        check "jitctl $name: they are shown escaped (\\x1b[2J\\u{202E}\\u{009B}\\x07)" \
                has_bytes "$W/f-$name.log" 'b"\\x1b[2J\\u{202E}\\u{009B}\\x07"'
done
for k in Reason Comment Command Task User Why Approvers; do
        check "jitctl show: $k: escaped" has "^$k: .*\\\\x1b\\[2J\\\\u{202E}" <(tr -d '\r' < "$W/f-show.log")
done
tr -d '\r' < "$W/f-list.log" > "$W/f-list.txt"
check "jitctl list: the requester's name escaped" has 'mal\\x1b\[2J' "$W/f-list.txt"
check "jitctl list: the command escaped" has 'sudo: /usr/bin/id -un\\x1b\[2J' "$W/f-list.txt"
check "jitctl list: the approver's name in BY escaped" has 'bob\\x1b\[2J' "$W/f-list.txt"
on_pty "$W/f-json.log" -- runuser -u bob -- "$JITCTL" "$F" --json show r-2345678923
cat > "$W/jsoncheck.py" <<'PY'
import json, sys
d = open(sys.argv[1], "rb").read()
assert not any(x in d for x in (b"\x1b", b"\xe2\x80\xae", b"\xc2\x9b", b"\x07")), d
assert b"\\u202e" in d and b"\\u009b" in d, d
j = json.loads(d.replace(b"\r", b""))
assert j["request"]["reason"] == "reason\x1b[2J\u202e\x9b\x07", j["request"]["reason"]
PY
check "jitctl --json show: the same JSON, U+202E and the C1 as \\u escapes, nothing raw" python3 "$W/jsoncheck.py" "$W/f-json.log"

# 6. Colour: state colours in jitctl list on a terminal; none with
#    NO_COLOR (any value, even empty), with TERM=dumb, or into a pipe.
on_pty "$W/c1.log" -- runuser -u bob -- env TERM=xterm "$JITCTL" list
on_pty "$W/c2.log" -- runuser -u bob -- env TERM=xterm NO_COLOR=1 "$JITCTL" list
on_pty "$W/c3.log" -- runuser -u bob -- env TERM=xterm NO_COLOR= "$JITCTL" list
on_pty "$W/c4.log" -- runuser -u bob -- env TERM=dumb "$JITCTL" list
as bob env TERM=xterm "$JITCTL" list > "$W/c5.log"
check "jitctl list on a terminal: pending in yellow" has_bytes "$W/c1.log" 'b"\x1b[33mpending\x1b[0m"'
check "jitctl list with NO_COLOR=1: no escape sequence at all" no_bytes "$W/c2.log" 'b"\x1b["'
check "jitctl list with NO_COLOR empty: none either" no_bytes "$W/c3.log" 'b"\x1b["'
check "jitctl list with TERM=dumb: none" no_bytes "$W/c4.log" 'b"\x1b["'
check "jitctl list into a pipe: none" no_bytes "$W/c5.log" 'b"\x1b["'
check "the same rows either way" \
        bash -c '[ -s "$1" ] && diff <(tr -d "\r" < "$1" | sed "s/\x1b\[[0-9;]*m//g" | cut -c1-40) <(tr -d "\r" < "$2" | cut -c1-40)' _ "$W/c1.log" "$W/c2.log"
on_pty "$W/c6.log" -- runuser -u bob -- env TERM=xterm "$JITCTL" show "$req5"
check "jitctl show on a terminal: State: in yellow" has_bytes "$W/c6.log" 'b"State:       \x1b[33mpending\x1b[0m"'
check "jitctl list: columns aligned (each row's STATE starts under its header)" \
        python3 -c '
import sys
rows = [l for l in open(sys.argv[1], encoding="utf-8").read().replace("\r", "").splitlines() if l.startswith(("REQUEST", "r-"))]
col = rows[0].index("STATE")
sys.exit(not (len(rows) > 1 and all(r[col - 2:col] == "  " and r[col] != " " for r in rows[1:])))' "$W/c2.log"

# 7. A sudo waiting on its own request goes on as soon as another request
#    of alice's for the role is granted (that grant covers it: her own
#    request is withdrawn, as "covered"); a single-use grant covers only
#    the use it was asked for.
revoke_all() {
        for g in $("$JITCTL" --json list --active | python3 -c 'import json,sys; [print(g["id"]) for g in json.load(sys.stdin).get("grants", [])]'); do
                "$JITCTL" revoke "$g" >/dev/null
        done
}
newest_other() { # the newest pending request of alice that is not $1
        "$JITCTL" --json list | python3 -c '
import json, sys
rs = [r for r in json.load(sys.stdin).get("requests", []) if r.get("user") == "alice" and r.get("state") == "pending" and r["id"] != sys.argv[1]]
rs.sort(key=lambda r: r.get("created_us", 0))
print(rs[-1]["id"] if rs else "")' "$1"
}
revoke_all
on_pty "$W/s7.log" -- runuser -u alice -- sudo /usr/bin/id -un &
spid=$!
wait_for "$W/s7.log" 'jit: still waiting for an approver of ops' 1
req7=$(grep -ao 'request r-[0-9a-z]*' "$W/s7.log" | head -n1 | awk '{print $2}')
as alice "$JITCTL" request ops --reason "the whole role" >/dev/null 2>&1
rr=$(newest_other "$req7")
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$rr" >/dev/null; rc=$?
wait $spid; src=$?
tr -d '\r' < "$W/s7.log" > "$W/s7.txt"
check "alice's other request $rr approved (exit $rc): her sudo waiting on $req7 goes on and runs (exit $src)" \
        bash -c '[ "$1" = 0 ] && [ "$2" = 0 ] && grep -qx root "$3"' _ "$rc" "$src" "$W/s7.txt"
check "... told which grant covers it" has "jit: role ops active until .* (grant g-[0-9a-z]*, request $rr)" "$W/s7.txt"
st=$("$JITCTL" --json show "$req7" | field 'd["request"]["state"] + " " + d["request"].get("comment", "")')
check "... and $req7 is withdrawn as covered ($st)" bash -c '[[ "$1" == "cancelled covered by grant g-"*" (request $2)" ]]' _ "$st" "$rr"
revoke_all
on_pty "$W/s8.log" -- runuser -u alice -- sudo /usr/bin/id -un &
spid=$!
wait_for "$W/s8.log" 'jit: still waiting for an approver of ops' 1
req8=$(grep -ao 'request r-[0-9a-z]*' "$W/s8.log" | head -n1 | awk '{print $2}')
as alice "$JITCTL" request ops --single-use --reason "one use" >/dev/null 2>&1
su=$(newest_other "$req8")
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$su" >/dev/null
sleep 1.5
check "a single-use grant for another request ($su) does not release the waiting sudo" kill -0 "$spid"
st=$("$JITCTL" --json show "$req8" | field 'd["request"]["state"]')
check "... whose own request $req8 is still pending ($st)" [ "$st" = pending ]
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$req8" >/dev/null
wait $spid; src=$?
check "... until it is approved itself (exit $src)" [ "$src" = 0 ]

echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
