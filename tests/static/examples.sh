#!/bin/bash
# The shipped examples work as documented, so a broken example fails CI:
#   - every policy in examples/ (jit.conf, policies/*.json, and the
#     templates.d next to jit.conf with it) passes `jitctl policy check`
#     with no error and no conflict;
#   - `jitctl policy test` gives each policy's meaningful cases the answer
#     the example is there to show: the action, the tier, and the reason id
#     that decided;
#   - the PAM snippets put pam_jit where pam_jit(8) says, with options it
#     knows; the sudoers snippet parses (visudo -c, where sudo is installed);
#   - fleet.conf is one JSON object (no key twice) with the keys jit-fleet
#     requires and no key that fleet/msg.c does not know (its keys[]).
#
#   examples.sh JITCTL SOURCE_DIR
set -u

jitctl=${1:?usage: examples.sh JITCTL SOURCE_DIR}
case $jitctl in /*) ;; *) jitctl=$PWD/$jitctl ;; esac
cd "${2:?}/examples" || exit 1
export LC_ALL=C
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

# --- every policy passes policy check --------------------------------------
policies=$(find . -name '*.json' -not -path '*/templates.d/*' | sort)
policies="./jit.conf $policies"
for p in $policies; do
        p=${p#./}
        out=$("$jitctl" policy check "$p" 2>&1)
        rc=$?
        if [ "$rc" = 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ $out == *": OK ("* ]]; then
                ok "policy check $p: ${out##*: }"
        else
                not_ok "policy check $p (exit $rc): $(tr '\n' ' ' <<<"$out")"
        fi
done
for t in templates.d/*.json; do
        [ -e "$t" ] || continue
        [ -f jit.conf ] && ok "$t is checked with jit.conf next to it" || not_ok "$t has no jit.conf next to it"
done

# --- policy test: NAME POLICY ACTION TIER REASONS ARGS... ------------------
# TIER is the tier of an allow or escalate ("-" for deny); REASONS the ids
# (comma-separated) that must be among the decision's reasons. Every case gives --groups and
# --time, so nothing depends on this host or the clock. 2026-11-23 is a
# Monday; 2026-11-28 a Saturday; 2026-11-27 a Friday.
cases=$(cat <<'EOF'
# jit.conf: the routine restart is pre-approved in hours; contractors never
jit-template      jit.conf allow auto template.restart-web --user alice --groups eng --role ops --time 2026-11-23T10:00 --command '/usr/bin/systemctl restart nginx.service'
jit-templates.d   jit.conf allow auto template.read-logs --user alice --groups eng --role ops --time 2026-11-23T10:00 --command '/usr/bin/journalctl -u nginx.service'
jit-contractors   jit.conf deny - deny.no-contractors --user carl --groups eng,contractors --role ops --time 2026-11-23T10:00
jit-backup-unit   jit.conf allow auto template.nightly-backup --user svc-backup --groups svc-backup --role backup --unit backup.service --tty no --time 2026-11-23T02:00 --command '/usr/local/sbin/backup-run --nightly'
# small-team: routine work at once, anything else by another member
small-restart     policies/small-team.json allow auto template.restart-app --user alice --groups team --role admin --time 2026-11-23T10:00 --command '/usr/bin/systemctl restart app.service'
small-restart-sat policies/small-team.json escalate owner risk.off_hours,tier.owner --user alice --groups team --role admin --time 2026-11-28T23:00 --command '/usr/bin/systemctl restart app.service'
small-logs-sat    policies/small-team.json allow auto template.read-logs --user alice --groups team --role admin --time 2026-11-28T23:00 --command '/usr/bin/journalctl -u app.service'
small-ask-ahead   policies/small-team.json escalate owner tier.owner --user alice --groups team --role admin --time 2026-11-23T10:00
small-outsider    policies/small-team.json deny - role.requesters --user mallory --groups staff --role admin --time 2026-11-23T10:00
small-break-glass policies/small-team.json allow break-glass break_glass.granted --user alice --groups team --role admin --time 2026-11-28T03:00 --break-glass
# agents: only from the declared unit, never from a terminal, only the listed commands
agent-restart     policies/agents.json allow auto template.agent-restart-app --user svc-agent --groups svc-agent --role agent-ops --unit ops-agent.service --tty no --time 2026-11-23T03:00 --command '/usr/bin/systemctl restart app.service'
agent-other-unit  policies/agents.json deny - account.unit --user svc-agent --groups svc-agent --role agent-ops --unit session-4.scope --tty no --time 2026-11-23T03:00 --command '/usr/bin/systemctl restart app.service'
agent-tty         policies/agents.json deny - deny.agent-no-tty --user svc-agent --groups svc-agent --role agent-ops --unit ops-agent.service --tty yes --time 2026-11-23T03:00 --command '/usr/bin/systemctl restart app.service'
agent-reload      policies/agents.json escalate owner tier.owner --user svc-agent --groups svc-agent --role agent-ops --unit ops-agent.service --tty no --time 2026-11-23T03:00 --command '/usr/bin/systemctl reload app.service'
agent-unlisted    policies/agents.json deny - role.commands --user svc-agent --groups svc-agent --role agent-ops --unit ops-agent.service --tty no --time 2026-11-23T03:00 --command '/usr/bin/systemctl restart nginx.service'
deploy-window     policies/agents.json allow auto template.deploy-in-hours --user svc-deploy --groups svc-deploy --role deploy --unit deploy@1.4.2.service --tty no --time 2026-11-24T10:00 --command '/usr/local/sbin/install-release 1.4.2'
deploy-friday     policies/agents.json escalate owner tier.owner --user svc-deploy --groups svc-deploy --role deploy --unit deploy@1.4.2.service --tty no --time 2026-11-27T10:00 --command '/usr/local/sbin/install-release 1.4.2'
backup-daytime    policies/agents.json deny - tier.auto --user svc-backup --groups svc-backup --role backup --unit backup.service --tty no --time 2026-11-23T14:00 --command '/usr/local/sbin/backup-run --nightly'
# high-security: root always needs 3 approvers, risk denies, break-glass once a day
hs-root           policies/high-security.json escalate security tier.security --user bob --groups sre --role root --rhost 10.50.1.2 --time 2026-11-23T10:00 --grants 2
hs-root-risky     policies/high-security.json deny - risk.off_hours,risk.unknown_source,risk.deny --user bob --groups sre --role root --rhost 203.0.113.9 --time 2026-11-28T03:00
hs-root-shell     policies/high-security.json deny - deny.no-shells --user bob --groups sre --role root --time 2026-11-23T10:00 --grants 2 --command '/usr/bin/bash -i'
hs-contractor     policies/high-security.json deny - deny.no-contractors --user dan --groups sre,contractors --role root --rhost 10.50.1.2 --time 2026-11-23T10:00 --grants 2
hs-window         policies/high-security.json escalate security window.CHG-3100,tier.security --user bob --groups sre --role root --rhost 10.50.1.2 --time 2026-12-05T23:00 --grants 2
hs-break-glass    policies/high-security.json allow break-glass break_glass.granted --user carol --groups sre,oncall --role root --time 2026-11-28T03:00 --break-glass
hs-break-glass-2  policies/high-security.json deny - break_glass.rate --user carol --groups sre,oncall --role root --time 2026-11-28T03:00 --break-glass --break-glass-count 1
hs-db-office      policies/high-security.json escalate owner tier.owner --user dora --groups dba --role db --service sshd --rhost 10.50.3.4 --time 2026-11-23T10:00 --grants 2
hs-db-home        policies/high-security.json escalate security tier.raised --user dora --groups dba --role db --service sshd --rhost 198.51.100.7 --time 2026-11-23T10:00 --grants 2
hs-db-home-night  policies/high-security.json deny - risk.off_hours,risk.unknown_source,risk.deny --user dora --groups dba --role db --service sshd --rhost 198.51.100.7 --time 2026-11-28T23:00
hs-audit-report   policies/high-security.json allow auto template.audit-report --user erin --groups auditors --role audit-read --time 2026-11-23T10:00 --command '/usr/bin/aureport --summary -ts today'
hs-audit-rm       policies/high-security.json deny - role.commands --user erin --groups auditors --role audit-read --time 2026-11-23T10:00 --command '/usr/bin/rm -rf /var/log/audit'
EOF
)

# The value of "key" in `policy test --json`'s output (cJSON_Print).
json_str() { sed -nE "s/^[[:space:]]*\"$1\":[[:space:]]*\"([^\"]*)\".*/\1/p" <<<"$2" | head -n 1; }

declare -A tested=()
while IFS= read -r line; do
        case $line in '' | '#'*) continue ;; esac
        eval "set -- $line"
        name=$1 policy=$2 action=$3 tier=$4 reason=$5
        shift 5
        tested[$policy]=1
        out=$("$jitctl" --json policy test --config "$policy" "$@" 2>&1)
        rc=$?
        case $action in allow) want=0 ;; escalate) want=4 ;; *) want=3 ;; esac
        got_action=$(json_str action "$out")
        got_tier=$(json_str tier "$out")
        [ "$action" = deny ] && got_tier=-
        ids=$(grep -oE '"id":[[:space:]]*"[^"]*"' <<<"$out" | sed -E 's/.*"([^"]*)"$/\1/')
        missing=
        for r in ${reason//,/ }; do
                grep -qxF "$r" <<<"$ids" || missing+=" $r"
        done
        if [ "$rc" = "$want" ] && [ "$got_action" = "$action" ] && [ "$got_tier" = "$tier" ] && [ -z "$missing" ]; then
                label=$action
                [ "$tier" = - ] || label+=/$tier
                ok "$name: $policy: $label ($reason)"
        else
                not_ok "$name: $policy: want $action/$tier ($reason), exit $want; got ${got_action:-?}/${got_tier:-?} ($(echo $ids)), exit $rc${missing:+, missing$missing}"
        fi
done <<<"$cases"
for p in $policies; do
        p=${p#./}
        [ -n "${tested[$p]:-}" ] && ok "$p has policy test cases" || not_ok "$p has no policy test case here"
done

# --- fleet.conf ---------------------------------------------------------------
fkeys=$(awk '/^int fleet_config_parse\(/ { f = 1 } f && /keys\[\] = \{/ { k = 1 } k { print } k && /NULL/ { exit }' \
        ../fleet/msg.c | grep -oE '"[a-z_]+"' | tr -d '"')
if [ -z "$fkeys" ]; then
        not_ok "no keys[] found in fleet/msg.c's fleet_config_parse"
elif out=$(python3 - fleet.conf $fkeys 2>&1 <<'PY'
import json, sys

def once(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise SystemExit("key %s twice" % k)
        d[k] = v
    return d

c = json.load(open(sys.argv[1]), object_pairs_hook=once)
unknown = sorted(set(c) - set(sys.argv[2:]))
missing = [k for k in ("version", "endpoints", "ca_file", "cert_file", "key_file") if k not in c]
if unknown or missing:
    raise SystemExit("unknown keys %s, missing keys %s" % (unknown, missing))
print(" ".join(c))
PY
); then
        ok "fleet.conf: keys jit-fleet knows ($out)"
else
        not_ok "fleet.conf: $out"
fi

# --- PAM and sudoers snippets ----------------------------------------------
# pam_jit's options (pam_jit(8)): account takes them all, session only
# socket= and debug.
pam_ok() {
        local f=$1 type opts o
        while read -r type opts; do
                for o in $opts; do
                        case $type:$o in
                        account:role=* | account:wait=* | account:batch_wait=* | account:ttl=* | account:timeout=* | \
                        account:secure_path=* | account:quiet | *:socket=* | *:debug) ;;
                        *) echo "# $f: pam_jit $type: unknown option $o"; return 1 ;;
                        esac
                done
                [ "$type" = session ] || [[ " $opts " == *" role="* ]] || { echo "# $f: account line without role="; return 1; }
        done < <(sed -nE 's/^(account|session)[[:space:]]+[^[:space:]]+[[:space:]]+pam_jit\.so(.*)$/\1 \2/p' "$f")
}
# line_of FILE REGEX: the first line number that matches, or 0
line_of() { grep -nE -m 1 "$2" "$1" | cut -d: -f1 | grep . || echo 0; }

for f in pam.d-*; do
        if pam_ok "$f"; then ok "$f: pam_jit lines with known options"; else not_ok "$f: pam_jit options"; fi
        acct=$(line_of "$f" '^account[[:space:]].*pam_jit\.so')
        common=$(line_of "$f" '^@include[[:space:]]+common-account')
        first=$(line_of "$f" '^account')
        order=0
        # First in the account phase, or right after the pam_succeed_if line
        # that skips it ([success=1]) for users outside the role's group.
        if [ "$acct" -gt 0 ] && [ "$acct" -lt "$common" ]; then
                if [ "$acct" = "$first" ]; then
                        order=1
                elif [ "$acct" = $((first + 1)) ] && sed -n "${first}p" "$f" | grep -q 'success=1.*pam_succeed_if\.so'; then
                        order=1
                fi
        fi
        if [ "$order" = 1 ]; then
                ok "$f: the pam_jit account line comes first in the account phase, before common-account"
        else
                not_ok "$f: the pam_jit account line must come first in the account phase, before common-account"
        fi
        sess=$(line_of "$f" '^session[[:space:]].*pam_jit\.so')
        if [ "$sess" -gt 0 ]; then
                csess=$(line_of "$f" '^@include[[:space:]]+common-session$|pam_systemd\.so')
                if [ "$csess" -gt 0 ] && [ "$sess" -gt "$csess" ]; then
                        ok "$f: the pam_jit session line comes after pam_systemd (common-session)"
                else
                        not_ok "$f: the pam_jit session line must come after pam_systemd (common-session)"
                fi
        fi
done
if command -v visudo >/dev/null; then
        if out=$(visudo -c -f sudoers-jit 2>&1); then ok "sudoers-jit: $out"; else not_ok "sudoers-jit: $out"; fi
else
        echo "ok $((n + 1)) # SKIP sudoers-jit: no visudo here"
        n=$((n + 1))
fi

echo "1..$n"
exit $fail
