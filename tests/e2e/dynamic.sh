#!/bin/bash
# End-to-end for the dynamic policy: working hours, known sources, risk
# signals and the tiers they raise, deny rules and allowed commands, the
# rate anomaly, M-of-N approval, break-glass and its review, extension,
# policy replay, templates added and removed at run time, and
# `jitctl policy test` agreeing with the service. Real sudo with pam_jit,
# the real service in the foreground, real gpasswd on a private overlay of
# /etc, inside a private mount + PID namespace. Nothing outside changes.
#
# The time of day: the policy's windows are computed from the current UTC
# time (settings.timezone "UTC"): one covers now +-2h, one is 2h to 4h
# ahead and so excludes now.
#
#   tests/e2e/dynamic.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: dynamic.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare script gpasswd grpck python3; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-dynamic.XXXXXX)
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
not_member() { ! is_member "$@"; }
has() { grep -q -- "$1" <<<"$2"; }           # has PATTERN TEXT
hasnt() { ! grep -q -- "$1" <<<"$2"; }
# The request's JSON record, as root sees it: req_json ID
req_json() { "$JITCTL" --json show "$1"; }
# One field of a request record: req ID 'expression over r'
req() { req_json "$1" 2>/dev/null | field "(lambda r: $2)(d['request'])" 2>/dev/null; }
# The newest recorded request of USER for ROLE.
latest_req() {
        "$JITCTL" --json list --all | python3 -c '
import json, sys
d = json.load(sys.stdin)
rs = [r for r in d.get("requests", []) if r["user"] == sys.argv[1] and r["role"] == sys.argv[2]]
print(max(rs, key=lambda r: r["created_us"])["id"] if rs else "")' "$1" "$2"
}
# The request's policy_reason_ids, one a line.
reason_ids() { req "$1" '"\n".join(r.get("policy_reason_ids", []))'; }
# sudo's pam_jit asks for this role (one role= per PAM line).
pam_role() { sed -i "s|pam_jit.so role=[a-z-]*|pam_jit.so role=$1|" /etc/pam.d/sudo; }
# An audit log line of EVENT whose text contains WORDS.
audit_has() {
        python3 - "$W/state/audit.log" "$1" "$2" <<'PY'
import json, sys
path, ev, words = sys.argv[1:4]
for line in open(path, encoding="utf-8", errors="replace"):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("event") == ev and words in line:
        sys.exit(0)
sys.exit(1)
PY
}

trap 'sandbox_stop_service' EXIT
sandbox_setup

# --- users, groups, keys, and the policy ------------------------------------
for g in jit-ops-night jit-ops-remote jit-deploy jit-db jit-prod jit-web; do groupadd -f --system "$g"; done
groupadd -f secops
groupadd -f oncall
useradd -m -d "$W/home/dave" -s /bin/bash dave
usermod -p '*' dave
usermod -a -G secops dave
usermod -a -G oncall alice
# dave (security) and alice (on call) sign with their own registered keys.
for u in dave alice; do
        echo "$u's own passphrase" > "$W/home/$u/.jit-pass"
        chown "$u": "$W/home/$u/.jit-pass"; chmod 0600 "$W/home/$u/.jit-pass"
        as "$u" "$JITCTL" keygen --passphrase-file "$W/home/$u/.jit-pass" >/dev/null
        "$JITCTL" approver add "$u" "$W/home/$u/.config/jit/approver.pub" >/dev/null
done
DAVEPASS=$W/home/dave/.jit-pass
ALICEPASS=$W/home/alice/.jit-pass

# Risk weights are the defaults: off_hours 30, unknown_source 30, no_tty 10,
# first_use 20, rate 50, recent_denials 20. sudo -n and jitctl here have no
# terminal (+10) and a first request for a role is a first use (+20): 30,
# below risk.security 50, so templates apply; one more signal (off hours,
# unknown source: +30; rate: +50) reaches 50 and raises the security tier,
# where templates no longer pre-approve.
python3 - <<'PY'
import datetime, json, os
now = datetime.datetime.now(datetime.timezone.utc)
m = now.hour * 60 + now.minute
hm = lambda x: "%02d:%02d" % divmod(x % 1440, 60)
IN = [{"days": "*", "from": hm(m - 120), "to": hm(m + 120)}]      # covers now
OUT = [{"days": "*", "from": hm(m + 120), "to": hm(m + 240)}]     # excludes now
LOGS = ["/usr/bin/journalctl", "/usr/bin/journalctl *"]
ops = lambda group, hours, sources: {
    "group": group, "default_ttl": "15m", "max_ttl": "1h",
    "requesters": {"groups": ["eng"]}, "approvers": {"groups": ["sre"]},
    "commands": LOGS + ["/usr/bin/id", "/usr/bin/id *"],
    "hours": hours, "sources": sources, "risk": {"security": 50},
    "deny": [{"id": "no-follow", "commands": ["/usr/bin/journalctl -f*", "/usr/bin/journalctl --follow*"],
              "reason": "following the journal keeps a root shell open"}],
}
logs = lambda role: {"role": role, "description": "reading the journal is routine",
                     "groups": ["eng"], "commands": LOGS, "max_ttl": "5m"}
conf = {
    "version": 1,
    "settings": {"expiry": "loop", "request_ttl": "1h", "timezone": "UTC"},
    "security": {"groups": ["secops"], "approvals": 2},
    "roles": {
        "ops": ops("jit-ops", IN, ["local"]),
        "ops-night": ops("jit-ops-night", OUT, ["local"]),
        "ops-remote": ops("jit-ops-remote", IN, ["10.0.0.0/8"]),
        "deploy": {"group": "jit-deploy", "max_ttl": "1h", "requesters": {"groups": ["eng"]},
                   "approvers": {"groups": ["sre"]}, "rate": {"requests": 2, "per": "1h"},
                   "risk": {"security": 50}},
        "db": {"group": "jit-db", "max_ttl": "1h", "tier": "security", "requesters": {"users": ["alice"]},
               "approvers": {"groups": ["sre"]}},
        "prod": {"group": "jit-prod", "max_ttl": "1h", "requesters": {"groups": ["eng"]},
                 "approvers": {"groups": ["sre"]},
                 "break_glass": {"groups": ["oncall"], "max_ttl": "10m", "rate": {"requests": 1, "per": "24h"}}},
        "web": {"group": "jit-web", "max_ttl": "1h", "requesters": {"groups": ["eng"]},
                "approvers": {"groups": ["sre"]}},
    },
    "templates": {
        "read-logs": logs("ops"),
        "read-logs-night": logs("ops-night"),
        "read-logs-remote": logs("ops-remote"),
        "deploy-self": {"role": "deploy", "users": ["carol"], "services": ["jitctl"]},
        "web-self": {"role": "web", "users": ["carol"], "services": ["jitctl"]},
    },
}
with open("/etc/jit/jit.conf.new", "w") as f:
    json.dump(conf, f, indent=2)
os.chmod("/etc/jit/jit.conf.new", 0o644)
os.rename("/etc/jit/jit.conf.new", "/etc/jit/jit.conf")
PY
out=$("$JITCTL" policy check 2>&1); rc=$?
check "the test policy checks clean, no conflicts (exit $rc: $out)" [ $rc = 0 ]
sandbox_pam wait=60s
sandbox_start_service || exit 1
LOGCMD="/usr/bin/journalctl --version"

# 1. In hours, from a known source: the template grants carol's sudo at once.
out=$(timeout 60 runuser -u carol -- sudo -n $LOGCMD 2>&1); rc=$?
check "in hours, local: carol's sudo journalctl runs at once (rc=$rc)" [ $rc = 0 ]
check "in hours, local: carol is in jit-ops" is_member carol jit-ops
R1=$(latest_req carol ops)
ids=$(reason_ids "$R1")
check "in hours, local: $R1 was allowed by template read-logs" \
        bash -c '[ "$1" = "allow/read-logs/auto" ]' _ "$(req "$R1" 'r["policy_action"]+"/"+r["policy_rule"]+"/"+r["tier"]')"
check "in hours, local: its risk is first use + no tty, below 50 ($(req "$R1" 'r["risk"]'))" \
        bash -c 'grep -qx risk.first_use <<<"$1" && grep -qx risk.no_tty <<<"$1" && [ "$2" -lt 50 ]' _ "$ids" "$(req "$R1" 'r["risk"]')"
check "in hours, local: no risk.off_hours, no risk.unknown_source" \
        bash -c '! grep -qx "risk.off_hours\|risk.unknown_source" <<<"$1"' _ "$ids"

# ... the same template, but the role's hours exclude now: escalated.
pam_role ops-night
out=$(timeout 60 runuser -u carol -- sudo -n $LOGCMD 2>&1); rc=$?
R1N=$(printf '%s\n' "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n1 | awk '{print $3}')
check "off hours: carol's sudo is refused for now (rc=$rc) and names a pending request ($R1N)" \
        bash -c '[ "$1" = 1 ] && [ -n "$2" ]' _ $rc "$R1N"
ids=$(reason_ids "$R1N")
check "off hours: $R1N is pending at the security tier, 2 approvals" \
        bash -c '[ "$1" = "pending/security/2" ]' _ "$(req "$R1N" 'r["state"]+"/"+r["tier"]+"/"+str(r["approvals_needed"])')"
check "off hours: its reasons include risk.off_hours and tier.raised" \
        bash -c 'grep -qx risk.off_hours <<<"$1" && grep -qx tier.raised <<<"$1"' _ "$ids"
check "off hours: template read-logs-night matched but did not pre-approve (risk too high)" \
        bash -c 'grep -qx template.read-logs-night <<<"$1" && [ "$2" = None ]' _ "$ids" "$(req "$R1N" 'r.get("decided_by")')"
check "off hours: carol is not in jit-ops-night" not_member carol jit-ops-night
check "the message says who must approve: security" has "security" "$out"

# ... the role's sources do not include "local": escalated.
pam_role ops-remote
out=$(timeout 60 runuser -u carol -- sudo -n $LOGCMD 2>&1); rc=$?
R1R=$(printf '%s\n' "$out" | grep -o 'jitctl wait r-[0-9a-z]*' | head -n1 | awk '{print $3}')
check "unknown source: carol's sudo is refused for now (rc=$rc), pending ($R1R)" \
        bash -c '[ "$1" = 1 ] && [ -n "$2" ] && [ "$3" = pending/security ]' _ $rc "$R1R" \
        "$([ -n "$R1R" ] && req "$R1R" 'r["state"]+"/"+r["tier"]')"
ids=$(reason_ids "$R1R")
check "unknown source: its reasons include risk.unknown_source, not risk.off_hours" \
        bash -c 'grep -qx risk.unknown_source <<<"$1" && ! grep -qx risk.off_hours <<<"$1"' _ "$ids"
check "unknown source: carol is not in jit-ops-remote" not_member carol jit-ops-remote
pam_role ops

# 2. Deny rules win over templates (and over an active grant); the role's
#    allowed commands bound what anyone may run.
out=$(timeout 60 runuser -u carol -- sudo -n /usr/bin/journalctl -f 2>&1); rc=$?
check "deny rule: journalctl -f is refused though template read-logs matches it (rc=$rc)" \
        bash -c '[ "$1" = 1 ] && grep -q "following the journal" <<<"$2"' _ $rc "$out"
R2=$(latest_req carol ops)
check "deny rule: the record says deny.no-follow" \
        bash -c '[ "$1" = deny ] && grep -qx deny.no-follow <<<"$2"' _ "$(req "$R2" 'r["policy_action"]')" "$(reason_ids "$R2")"
out=$(timeout 60 runuser -u alice -- sudo -n /usr/bin/journalctl --follow 2>&1); rc=$?
check "deny rule: alice (no grant) is refused journalctl --follow too (rc=$rc)" [ $rc = 1 ]
check "deny rule: alice got no membership" not_member alice jit-ops
out=$(timeout 60 runuser -u carol -- sudo -n /usr/bin/whoami 2>&1); rc=$?
R2C=$(latest_req carol ops)
check "allowed commands: whoami is not among ops's commands: refused (rc=$rc)" \
        bash -c '[ "$1" = 1 ] && grep -q "allowed commands" <<<"$2"' _ $rc "$out"
check "allowed commands: the record says role.commands" grep -qx role.commands <<<"$(reason_ids "$R2C")"
out=$(timeout 60 runuser -u carol -- sudo -n /usr/bin/id -un 2>&1); rc=$?
check "an allowed command still runs on carol's grant ($out)" [ "$rc/$out" = 0/root ]

# 3. Rate anomaly: deploy allows 2 requests an hour; the third is an anomaly.
for i in 1 2; do
        out=$(as carol "$JITCTL" --json request deploy --for 5m); rc=$?
        g=$(field 'd.get("grant",{}).get("id","")' <<<"$out")
        check "rate: carol's request $i for deploy is granted by template deploy-self (exit $rc)" \
                bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$g"
        "$JITCTL" revoke "$g" >/dev/null
done
out=$(as carol "$JITCTL" --json request deploy --for 5m); rc=$?
R3=$(field 'd.get("request_id","")' <<<"$out")
check "rate: the third request escalates (exit $rc = 4)" bash -c '[ "$1" = 4 ] && [ -n "$2" ]' _ $rc "$R3"
ids=$(reason_ids "$R3")
check "rate: its reasons include risk.rate (2 earlier requests) and tier.raised" \
        bash -c 'grep -qx risk.rate <<<"$1" && grep -qx tier.raised <<<"$1" && [ "$2" = 2 ]' _ "$ids" "$(req "$R3" 'r["hist_requests"]')"
check "rate: carol is not in jit-deploy" not_member carol jit-deploy
as carol "$JITCTL" cancel "$R3" >/dev/null

# 4. M-of-N: role db is at the security tier: 2 distinct approvers, one
#    from security (secops).
out=$(as alice "$JITCTL" --json request db --for 10m --reason "schema change"); rc=$?
R4=$(field 'd.get("request_id","")' <<<"$out")
check "M-of-N: alice's request for db is pending (exit $rc = 4), 2 approvals needed" \
        bash -c '[ "$1" = 4 ] && [ "$2" = security/2 ]' _ $rc "$(req "$R4" 'r["tier"]+"/"+str(r["approvals_needed"])')"
out=$(as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$R4" 2>&1); rc=$?
check "M-of-N: bob's approval is recorded, still pending (exit $rc = 4): approval 1 of 2" \
        bash -c '[ "$1" = 4 ] && grep -q "approval 1 of 2" <<<"$2"' _ $rc "$out"
check "M-of-N: after one approval alice is not in jit-db" not_member alice jit-db
out=$(as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$R4" 2>&1); rc=$?
check "M-of-N: bob approving again is refused (exit $rc = 8)" \
        bash -c '[ "$1" = 8 ] && grep -q "already" <<<"$2"' _ $rc "$out"
check "M-of-N: still one approval on record" [ "$(req "$R4" 'len(r.get("approvals",[]))')" = 1 ]
out=$(as carol "$JITCTL" approve "$R4" 2>&1); rc=$?
check "M-of-N: carol (not an approver) is refused (exit $rc = 5)" [ $rc = 5 ]
out=$(as dave "$JITCTL" approve --passphrase-file "$DAVEPASS" "$R4" 2>&1); rc=$?
check "M-of-N: dave (security) completes it (exit $rc = 0)" [ $rc = 0 ]
check "M-of-N: alice is in jit-db" is_member alice jit-db
check "M-of-N: the request lists 2 signed approvals, bob's and dave's (security)" \
        bash -c '[ "$1" = "approved bob:False:True dave:True:True" ]' _ \
        "$(req "$R4" 'r["state"]+" "+" ".join("%s:%s:%s" % (a["by"], a["security"], bool(a.get("signed_decision",{}).get("signature"))) for a in r["approvals"])')"

# 5. Break-glass: on call, at once, no approver; reviewed afterwards.
out=$(as alice "$JITCTL" --json break-glass prod --reason "db down" --passphrase-file "$ALICEPASS" 2>&1); rc=$?
R5=$(field 'd.get("request_id","")' <<<"$out" 2>/dev/null)
G5=$(field 'd.get("grant",{}).get("id","")' <<<"$out" 2>/dev/null)
check "break-glass: alice is granted prod at once (exit $rc, $G5)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$G5"
check "break-glass: alice is in jit-prod" is_member alice jit-prod
check "break-glass: the grant's tier is break-glass, by no approver" \
        [ "$("$JITCTL" --json show "$G5" | field 'd["grant"]["tier"]+"/"+d["grant"]["approved_by"]')" = break-glass/break-glass ]
ttl_s=$("$JITCTL" --json show "$G5" | field '(d["grant"]["expires_us"]-d["grant"]["created_us"])/1e6')
check "break-glass: it lasts at most the break-glass max_ttl of 10m (${ttl_s}s; request ttl $(req "$R5" 'r["ttl"]'))" \
        bash -c '[ "$2" -le 600 ] && python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= 601)" "$1"' _ "$ttl_s" "$(req "$R5" 'r["ttl"]')"
check "break-glass: the audit log has a break-glass event for $R5" audit_has break-glass "$R5"
out=$(as bob "$JITCTL" review list 2>&1); rc=$?
check "break-glass: bob's review list shows $R5 (exit $rc)" bash -c '[ "$1" = 0 ] && grep -q "$2 *alice *prod" <<<"$3"' _ $rc "$R5" "$out"
out=$(as alice "$JITCTL" review "$R5" --comment "all fine" 2>&1); rc=$?
check "break-glass: alice cannot review her own (exit $rc = 5)" [ $rc = 5 ]
out=$(as bob "$JITCTL" review "$R5" --comment "checked: the db was down" 2>&1); rc=$?
check "break-glass: bob closes the review (exit $rc)" bash -c '[ "$1" = 0 ] && [ "$2" = closed/bob ]' _ $rc \
        "$(req "$R5" 'r["review_state"]+"/"+r["review_by"]')"
out=$(as bob "$JITCTL" review list 2>&1)
check "break-glass: no open reviews left ($out)" has "No open break-glass reviews" "$out"
out=$(as carol "$JITCTL" break-glass prod --reason "db down" 2>&1); rc=$?
check "break-glass: carol (not on call) is refused (exit $rc = 3)" \
        bash -c '[ "$1" = 3 ] && grep -q "not on call" <<<"$2"' _ $rc "$out"
check "break-glass: carol got no membership" not_member carol jit-prod
out=$(as alice "$JITCTL" break-glass prod --reason "db down again" --passphrase-file "$ALICEPASS" 2>&1); rc=$?
check "break-glass: alice's second within 24h is refused by the rate (exit $rc = 3)" \
        bash -c '[ "$1" = 3 ] && grep -q "rate period" <<<"$2"' _ $rc "$out"

# 6. Extend: a fresh decision, a new grant replacing the old.
out=$(as carol "$JITCTL" --json request web --for 5m); rc=$?
G6=$(field 'd.get("grant",{}).get("id","")' <<<"$out")
check "extend: carol holds web by template web-self (exit $rc, $G6)" bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ $rc "$G6"
out=$(as alice "$JITCTL" extend "$G6" --for 10m 2>&1); rc=$?
check "extend: alice cannot extend carol's grant (exit $rc = 6)" [ $rc = 6 ]
out=$(as carol "$JITCTL" --json extend "$G6" --for 10m); rc=$?
G6B=$(field 'd.get("grant",{}).get("id","")' <<<"$out")
R6=$(field 'd.get("request_id","")' <<<"$out")
check "extend: carol's extension is granted at once (exit $rc, new grant $G6B)" \
        bash -c '[ "$1" = 0 ] && [ -n "$2" ] && [ "$2" != "$3" ]' _ $rc "$G6B" "$G6"
check "extend: a request of kind extend naming $G6" [ "$(req "$R6" 'r["kind"]+"/"+r.get("extends","")')" = "extend/$G6" ]
check "extend: the old grant ended, ended_by extended:$G6B" \
        [ "$("$JITCTL" --json show "$G6" | field 'd["grant"]["state"]+"/"+d["grant"]["ended_by"]')" = "expired/extended:$G6B" ]
check "extend: carol is still in jit-web" is_member carol jit-web
check "extend: the new grant is active for about 10m" \
        python3 -c 'import sys; d=eval(sys.argv[1]); sys.exit(not (d[0]=="active" and 590 <= d[1] <= 601))' \
        "$("$JITCTL" --json show "$G6B" | field '(d["grant"]["state"], (d["grant"]["expires_us"]-d["grant"]["created_us"])/1e6)')"

# 7. Replay: a candidate policy that denies role ops to everyone.
python3 - "$W/candidate.json" <<'PY'
import json, sys
c = json.load(open("/etc/jit/jit.conf"))
c["roles"]["ops"]["deny"].append({"id": "freeze", "reason": "change freeze"})
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
total=$(ls "$W/state/requests" | wc -l)
want=$("$JITCTL" --json list --all | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if r["role"] == "ops" and r["policy_action"] != "deny"))')
out=$("$JITCTL" policy replay --state-dir "$W/state" "$W/candidate.json" 2>&1); rc=$?
check "replay: the candidate changes $want of $total requests (exit $rc = 8)" \
        bash -c '[ "$1" = 8 ] && grep -q "^$2 of $3 recorded requests would be decided differently" <<<"$4"' _ $rc "$want" "$total" "$out"
check "replay: it lists carol's $R1 as allow/auto now deny, by deny.freeze" \
        grep -q "^$R1 *carol *ops *allow/auto *deny *deny.freeze" <<<"$out"
check "replay: requests of other roles are not listed" hasnt "$R4" "$out"
out=$("$JITCTL" policy replay --state-dir "$W/state" 2>&1); rc=$?
check "replay with the live policy: nothing changes (exit $rc): $(tail -n1 <<<"$out")" \
        bash -c '[ "$1" = 0 ] && grep -q "^0 of $2 recorded requests" <<<"$3"' _ $rc "$total" "$out"

# 8. Templates added and removed at run time (root, through the service).
out=$(as alice "$JITCTL" --json request web --for 5m); rc=$?
R8=$(field 'd.get("request_id","")' <<<"$out")
check "template: without one, alice's request for web waits for an approver (exit $rc = 4)" [ $rc = 4 ]
as alice "$JITCTL" cancel "$R8" >/dev/null
cat > "$W/web-alice.json" <<'T'
{ "role": "web", "description": "alice may take web from jitctl", "users": ["alice"], "services": ["jitctl"] }
T
out=$("$JITCTL" template add "$W/web-alice.json" 2>&1); rc=$?
check "template add web-alice (exit $rc)" [ $rc = 0 ]
out=$("$JITCTL" template list)
check "template list shows web-alice" grep -q "^web-alice *web " <<<"$out"
as alice "$JITCTL" template add "$W/web-alice.json" --name web-alice2 >/dev/null 2>&1; rc=$?
check "template add is root's (alice: exit $rc = 5)" [ $rc = 5 ]
out=$(as alice "$JITCTL" --json request web --for 5m); rc=$?
G8=$(field 'd.get("grant",{}).get("id","")' <<<"$out")
check "template: alice's request for web is now granted by web-alice (exit $rc)" \
        bash -c '[ "$1" = 0 ] && [ "$2" = template:web-alice ]' _ $rc "$(field 'd["request"]["decided_by"]' <<<"$out")"
check "template: alice is in jit-web" is_member alice jit-web
echo '{ "role": "nosuch", "users": ["alice"] }' > "$W/bad-role.json"
out=$("$JITCTL" template add "$W/bad-role.json" 2>&1); rc=$?
check "template add: one naming an unknown role is refused (exit $rc) with its error" \
        bash -c '[ "$1" != 0 ] && grep -q "no such role \"nosuch\"" <<<"$2"' _ $rc "$out"
check "template add: ... and nothing was written" bash -c '[ ! -e /etc/jit/templates.d/bad-role.json ] && ! "$1" template list | grep -q "^bad-role"' _ "$JITCTL"
out=$("$JITCTL" template remove web-alice 2>&1); rc=$?
check "template remove web-alice (exit $rc)" [ $rc = 0 ]
check "template remove: gone from the list and from templates.d" \
        bash -c '! "$1" template list | grep -q "^web-alice " && [ ! -e /etc/jit/templates.d/web-alice.json ]' _ "$JITCTL"
"$JITCTL" revoke "$G8" >/dev/null
out=$(as alice "$JITCTL" --json request web --for 5m); rc=$?
check "template removed: alice's request waits for an approver again (exit $rc = 4)" [ $rc = 4 ]
as alice "$JITCTL" cancel "$(field 'd["request_id"]' <<<"$out")" >/dev/null
check "audit log: a policy event for the template's addition" audit_has policy "template web-alice added"
check "audit log: a policy event for its removal" audit_has policy "template web-alice removed"
check "audit log: no policy event for the refused one" bash -c '! grep -q "template bad-role" "$1"' _ "$W/state/audit.log"

# 9. jitctl policy test says what the service did (same context: sudo, no tty, first use).
# carol's groups are given with --groups here; one call below looks them up.
CAROLGROUPS=$(id -Gn carol | tr ' ' ,)
for case in "ops:$R1" "ops-night:$R1N" "ops-remote:$R1R"; do
        role=${case%%:*} rid=${case#*:}
        out=$("$JITCTL" --json policy test --user carol --role "$role" --groups "$CAROLGROUPS" --command "$LOGCMD" --tty no); rc=$?
        got=$(field 'd["action"]+"/"+d.get("tier","-")+"/"+str(d["risk"])+"/"+",".join(r["id"] for r in d["reasons"])' <<<"$out")
        was=$(req "$rid" 'r["policy_action"]+"/"+r["tier"]+"/"+str(r["risk"])+"/"+",".join(r["policy_reason_ids"])')
        check "policy test agrees with the service on carol's $role ($got)" [ "$got" = "$was" ]
done
check "policy test exits 0 for an allow, 4 for an escalation" bash -c \
        '"$1" policy test --user carol --groups "$3" --role ops --command "$2" --tty no >/dev/null; a=$?
         "$1" policy test --user carol --groups "$3" --role ops-night --command "$2" --tty no >/dev/null; b=$?
         [ "$a/$b" = 0/4 ]' _ "$JITCTL" "$LOGCMD" "$CAROLGROUPS"
out=$("$JITCTL" --json policy test --user carol --role ops --command "$LOGCMD" --tty no); rc=$?
got=$(field 'd["action"]' <<<"$out" 2>/dev/null)
check "policy test looks carol's groups up itself when --groups is not given (rc=$rc, $got)" [ "$rc/$got" = 0/allow ]

check "grpck -r is clean" grpck -r
sandbox_stop_service
out=$("$JITCTL" audit verify --file "$W/state/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "jitctl audit verify: the log holds ($out)" [ $rc = 0 ]

echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
