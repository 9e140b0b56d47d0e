#!/bin/bash
# Bash completion of jitctl (completion/jitctl.bash), sourced into bash and
# driven as bash drives it (COMP_WORDS, COMP_CWORD, _jitctl):
#   - its verb list is exactly the verbs `jitctl --help` prints, and each
#     verb completes, from its full name and from its first two letters;
#   - every option in a verb's --help synopsis is offered after "VERB --",
#     and every option it offers is one that jitctl's getopt tables accept;
#     the same after --fleet for the fleet's verbs (--fleet list ...);
#   - request ids (r-) go to approve/deny/cancel/wait/review, grant ids
#     (g-) to revoke/done/expire/extend, both to show/verify, read from
#     `jitctl --json list` through the --socket on the command line (a stub
#     jitctl, and, as root, the real service with a real pending request);
#   - file names after --passphrase-file, --config, --file; fixed values
#     after --bind and --tty;
#   - after --fleet approve/deny/show, HOST/REQUEST and REQUEST from
#     `jitctl --fleet list` through the --fleet-socket on the command line.
#
#   completion.sh JITCTL COMPLETION_FILE SOURCE_DIR
set -u

jitctl=${1:?usage: completion.sh JITCTL COMPLETION_FILE SOURCE_DIR}
file=${2:?}
src=${3:?}
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

tmp=$(mktemp -d /tmp/jit-completion.XXXXXX)
svc_pid=
cleanup() {
        [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=/dev/null
if ! source "$file"; then
        echo "not ok 1 - $file does not source"
        exit 1
fi
check "sourcing it registers _jitctl for jitctl" bash -c "source '$file' && complete -p jitctl | grep -q -- '-F _jitctl jitctl'"

# complete WORD... : run _jitctl with the cursor on the last word; the
# candidates, one a line, in $reply.
complete_words() {
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _jitctl
        reply=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}
has() { grep -qxF -- "$1" <<<"$reply"; }
has_all() { local w; for w in "$@"; do has "$w" || { echo "# missing: $w (got: $(echo "$reply" | tr "\n" " "))"; return 1; }; done; }
has_none() { local w; for w in "$@"; do ! has "$w" || { echo "# unexpected: $w"; return 1; }; done; }
only() { [ "$reply" = "$(printf '%s\n' "$@" | sort)" ] || { echo "# got: $(echo "$reply" | tr "\n" " ")"; return 1; }; }

# --- verbs --------------------------------------------------------------
help=$("$jitctl" --help) || { echo "not ok - jitctl --help failed"; exit 1; }
help_verbs=$(sed -n '/^Verbs:/,/^$/{/^  /p}' <<<"$help" | awk '{print $1}' | sort -u)
# shellcheck disable=SC2154 # set by the sourced file
ours=$(tr ' ' '\n' <<<"$_jitctl_verbs" | sed '/^$/d' | sort -u)
if [ -n "$help_verbs" ] && [ "$help_verbs" = "$ours" ]; then
        ok "the completion's verbs are exactly jitctl --help's ($(wc -w <<<"$help_verbs"))"
else
        not_ok "the completion's verbs differ from jitctl --help's: $(diff <(echo "$help_verbs") <(echo "$ours") | grep '^[<>]' | tr '\n' ' ')"
fi

complete_words jitctl ap
check "\"jitctl ap\" offers approve and approver, nothing else" only approve approver

bad=
for v in $help_verbs; do
        complete_words jitctl "$v"
        has "$v" || bad+=" $v"
        complete_words jitctl "${v:0:2}"
        has "$v" || bad+=" ${v:0:2}→$v"
        complete_words jitctl --json "${v:0:2}"
        has "$v" || bad+=" --json ${v:0:2}→$v"
done
check "every verb of jitctl --help completes (whole, from two letters, after --json)${bad:+: not$bad}" test -z "$bad"

complete_words jitctl --
check "global options before the verb" has_all --json --socket --fleet --fleet-socket --help --version

# --- options ------------------------------------------------------------
complete_words jitctl request --
check "\"jitctl request --\" offers --for --reason --task --single-use --bind --wait --timeout" \
        has_all --for --reason --task --single-use --bind --wait --timeout
complete_words jitctl request ops --reason "x y" --
check "options after a role and an option with its value" has_all --for --task --bind
complete_words jitctl approve --
check "\"jitctl approve --\" offers --for --comment --passphrase-file --key" has_all --for --comment --passphrase-file --key
check "... and not request's options" has_none --task --single-use --bind
complete_words jitctl policy test --
check "\"jitctl policy test --\" offers the context options" \
        has_all --user --role --groups --rhost --tty --time --command --unit --service --target-user \
        --for --requests --denials --grants --break-glass --break-glass-count --config

# The options a verb's completion offers: after "VERB --" and, for verbs
# with sub-verbs, after "VERB SUB --" for each.
offered() {
        local v=$1 s all
        complete_words jitctl "$v" --
        all=$reply
        complete_words jitctl "$v" ""
        for s in $reply; do
                [[ $s == -* || $s == [rg]-* ]] && continue
                complete_words jitctl "$v" "$s" --
                all+=$'\n'$reply
        done
        reply=$(sort -u <<<"$all")
}

# Every option in a verb's --help synopsis is offered for it.
bad=
while read -r v rest; do
        [ -n "$v" ] || continue
        offered "$v"
        for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$rest" | sort -u); do
                has "$o" || bad+=" $v:$o"
        done
done < <(sed -n '/^Verbs:/,/^$/{/^  /p}' <<<"$help")
check "every option in jitctl --help's synopses is offered for its verb${bad:+: not$bad}" test -z "$bad"

# Every option offered is one that jitctl accepts: a getopt table entry in
# jitctl/*.c, or a global option of main.c.
accepted=$(grep -ohE '\{ *"[a-z][a-z-]*", *(required|no)_argument' "$src"/jitctl/*.c |
        sed -E 's/\{ *"([a-z-]+)".*/--\1/'; printf '%s\n' --json --socket --fleet --fleet-socket --help --version)
bad=
for v in $help_verbs; do
        offered "$v"
        for o in $(grep -- '^--' <<<"$reply"); do
                grep -qxF -- "$o" <<<"$accepted" || bad+=" $v:$o"
        done
done
check "every option offered is in a getopt table of jitctl/*.c${bad:+: not$bad}" test -z "$bad"

# --- the fleet (jitctl --fleet VERB) ----------------------------------------
# --help's lines "  --fleet VERB [SUB] [OPTIONS]" after "The fleet's queue".
fleet_help=$(sed -n "/^The fleet's queue/,/^\$/{/^  --fleet /p}" <<<"$help")
fleet_verbs=$(awk '{print $2}' <<<"$fleet_help" | sort -u)
complete_words jitctl --fleet ""
check "\"jitctl --fleet\" offers exactly the fleet's verbs of jitctl --help ($(echo $fleet_verbs))" \
        only $fleet_verbs
bad=
while read -r _ v rest; do
        [ -n "$v" ] || continue
        s=
        [[ $rest == [a-z]* ]] && s=${rest%% *}
        complete_words jitctl --fleet "$v" $s --
        for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$rest" | sort -u); do
                has "$o" || bad+=" $v:$o"
        done
        for o in $(grep -- '^--' <<<"$reply"); do
                grep -qxF -- "$o" <<<"$accepted" || bad+=" $v:$o(unknown)"
        done
done <<<"$fleet_help"
check "every option of the --fleet synopses is offered after --fleet VERB, and only options jitctl accepts${bad:+: not$bad}" \
        test -z "$bad"
complete_words jitctl --fleet approve --
check "... and not the local approve's --for" has_none --for --socket

# --- option values --------------------------------------------------------
touch "$tmp/pass.txt" "$tmp/policy.json" "$tmp/audit.log"
complete_words jitctl approve r-x --passphrase-file "$tmp/pa"
check "--passphrase-file completes a file name" only "$tmp/pass.txt"
complete_words jitctl policy test --config "$tmp/po"
check "--config completes a file name" only "$tmp/policy.json"
complete_words jitctl audit verify --file "$tmp/au"
check "--file completes a file name" only "$tmp/audit.log"
complete_words jitctl policy check "$tmp/po"
check "policy check completes a file name" only "$tmp/policy.json"
complete_words jitctl request ops --bind ""
check "--bind offers session and unit" only session unit
complete_words jitctl policy test --tty ""
check "--tty offers yes and no" only yes no
# bash splits "--for=1" into "--for" "=" "1" (COMP_WORDBREAKS).
complete_words jitctl request --for =
check "--for= offers durations, not options" has_all 15m 1h
complete_words jitctl request --for = 1
check "--for=1 offers the durations that start with 1" only 15m 1d 1h
complete_words jitctl request --for = 1h ""
check "after --for=1h, a role" has_none 1h --for
complete_words jitctl policy ""
check "policy offers check, test, replay" only check replay test
complete_words jitctl template ""
check "template offers its sub-verbs" only add list remove show validate

# --- ids, from a stub jitctl ----------------------------------------------
# The stub prints what `jitctl --json list [--all]` prints (cJSON_Print:
# tab-indented, one key a line) and notes the arguments it was run with.
cat >"$tmp/jitctl" <<'EOF'
#!/bin/bash
echo "$*" >>"${0%/*}/calls"
case " $* " in
*" list --all "*) extra=', {
			"id":	"r-old0000000",
			"state":	"denied",
			"role":	"ops"
		}' ;;
*" list "*) extra= ;;
*) exit 7 ;;
esac
cat <<JSON
{
	"ok":	true,
	"requests":	[{
			"id":	"r-pend000001",
			"state":	"pending",
			"kind":	"request",
			"role":	"ops",
			"extends":	"g-xtnd000001"
		}$extra],
	"grants":	[{
			"id":	"g-actv000001",
			"state":	"active",
			"request_id":	"r-done000001",
			"role":	"dba"
		}],
	"now_us":	1795375568458447
}
JSON
EOF
chmod 755 "$tmp/jitctl"
stub=$tmp/jitctl
for v in approve deny cancel wait; do
        complete_words "$stub" "$v" ""
        check "$v offers the pending request's id, no grant ids" only r-pend000001
done
complete_words "$stub" review ""
check "review offers list and request ids" only list r-pend000001
for v in revoke "done" expire extend; do
        complete_words "$stub" "$v" ""
        check "$v offers the active grant's id, no request ids" only g-actv000001
done
complete_words "$stub" show ""
check "show offers requests and grants in every state (list --all)" only g-actv000001 r-old0000000 r-pend000001
complete_words "$stub" verify ""
check "verify offers requests and grants" only g-actv000001 r-old0000000 r-pend000001
complete_words "$stub" approve r-pend000001 ""
check "no second id after the first" only
complete_words "$stub" approve r-p
check "ids complete from a prefix" only r-pend000001
rm -f "$tmp/calls"
complete_words "$stub" --socket /run/other.sock approve ""
check "the command line's --socket is used to list ids" grep -q -- '--socket /run/other.sock --json list' "$tmp/calls"
complete_words "$stub" request ""
check "request offers the roles of visible requests and grants" only dba ops
complete_words "$stub" audit setgid --grant ""
check "audit --grant offers grant ids" only g-actv000001

# jitctl --fleet list (the table as jitctl prints it) from a stub.
cat >"$tmp/jitctl-fleet" <<'EOF'
#!/bin/bash
echo "$*" >>"${0%/*}/fleet-calls"
case " $* " in
*" --fleet list "*) ;;
*) exit 7 ;;
esac
cat <<TABLE
HOST  REQUEST       USER   ROLE  TIER   APPROVALS  LAPSES             REASON
hB    r-pend00000b  alice  ops   owner  0/1        16:40:12 (in 14m)  disk full on /var
hC    r-pend00000c  carol  dba   owner  0/1        16:41:02 (in 15m)  -
TABLE
EOF
chmod 755 "$tmp/jitctl-fleet"
for v in approve deny show; do
        complete_words "$tmp/jitctl-fleet" --fleet "$v" ""
        check "--fleet $v offers HOST/REQUEST and REQUEST of the fleet's list" \
                only hB/r-pend00000b r-pend00000b hC/r-pend00000c r-pend00000c
done
complete_words "$tmp/jitctl-fleet" --fleet approve hC/
check "--fleet approve completes HOST/ to that host's requests" only hC/r-pend00000c
complete_words "$tmp/jitctl-fleet" --fleet list --role ""
check "--fleet list --role offers the fleet's roles" only dba ops
rm -f "$tmp/fleet-calls"
complete_words "$tmp/jitctl-fleet" --fleet-socket /run/other-fleet.sock --fleet approve ""
check "the command line's --fleet-socket is used to list the fleet" \
        grep -q -- '--fleet-socket /run/other-fleet.sock --fleet list' "$tmp/fleet-calls"

# --- ids, from the real service (root) ------------------------------------
if [ "$(id -u)" != 0 ]; then
        echo "ok $((n + 1)) # SKIP the real service needs root"
        n=$((n + 1))
else
        mkdir -m 0755 "$tmp/etc" && mkdir -m 0700 "$tmp/state"
        chmod 0755 "$tmp"
        # A group that does not exist: nothing here can touch /etc/group.
        cat >"$tmp/etc/jit.conf" <<'EOF'
{ "version": 1,
  "roles": { "compl-test": { "group": "jit-no-such-group-compl", "max_ttl": "1h",
                             "requesters": { "users": ["root"] }, "approvers": { "users": ["nobody"] } } } }
EOF
        chmod 0644 "$tmp/etc/jit.conf"
        sock=$tmp/jit.sock
        "$jitctl" serve --config "$tmp/etc/jit.conf" --state-dir "$tmp/state" --socket "$sock" --foreground 2>"$tmp/service.log" &
        svc_pid=$!
        for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
        out=$("$jitctl" --socket "$sock" request compl-test --reason "completion test")
        id=$(grep -oE 'r-[0-9a-z]{10}' <<<"$out" | head -n 1)
        if [ -z "$id" ]; then
                not_ok "the real service records a pending request ($out; $(tail -n 3 "$tmp/service.log" | tr '\n' ' '))"
        else
                complete_words "$jitctl" --socket "$sock" approve ""
                check "approve offers the real pending request $id" only "$id"
                complete_words "$jitctl" --socket "$sock" revoke ""
                check "revoke offers no request id" only
                complete_words "$jitctl" --socket = "$sock" show "${id:0:4}"
                check "show completes $id from its prefix (--socket=PATH, split at = as bash does)" only "$id"
                complete_words "$jitctl" --socket "$sock" request ""
                check "request offers the role of the visible request" has compl-test
        fi
fi

echo "1..$n"
exit $fail
