#!/bin/bash
# Golden tests of the policy evaluator, through the policy author's tools:
#
#   run.sh JITCTL            run every case in ./cases, diff against ./expected
#   run.sh --update JITCTL   write ./expected from what JITCTL prints now
#
# Each line of ./cases is: NAME VERB ARGS...
#   test  ARGS   jitctl --json policy test ARGS; expected/NAME.json holds
#                {"exit": N, "decision": <the exact --json output>}
#   check FILE   jitctl policy check FILE; expected/NAME.txt holds
#                "exit: N", then stdout and stderr, with this directory's
#                path taken out of the file names
# ARGS are read as shell words (quote a command with spaces). Every test
# case gives --groups (no name-service lookups) and --time (no clock), so
# the output depends on nothing but the policy and the arguments.
#
# --update blesses whatever the evaluator prints, bugs included: read every
# changed file (git diff tests/golden/expected) and check each decision by
# hand against the policy before committing it.
set -u

update=0
if [ "${1:-}" = "--update" ]; then
        update=1
        shift
fi
jitctl=${1:?usage: run.sh [--update] PATH/TO/jitctl}
case $jitctl in /*) ;; *) jitctl=$PWD/$jitctl ;; esac
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 1
export LC_ALL=C

n=0
fail=0
declare -A seen=()

# The output of one case, as it is stored in expected/.
run_case() {
        local verb=$1 out err rc
        shift
        err=$(mktemp)
        case $verb in
        test)
                out=$("$jitctl" --json policy test "$@" 2>"$err")
                rc=$?
                if [ -s "$err" ]; then
                        sed 's/^/# stderr: /' "$err" >&2
                        rm -f "$err"
                        return 1
                fi
                printf '{"exit": %d, "decision":\n%s\n}\n' "$rc" "$out"
                ;;
        check)
                out=$("$jitctl" policy check "$@" 2>"$err")
                rc=$?
                out=$(printf 'exit: %d\n%s' "$rc" "$out"; [ -n "$out" ] && echo; cat "$err")
                printf '%s\n' "${out//"$here/"/}"
                ;;
        *)
                echo "# unknown verb \"$verb\"" >&2
                rm -f "$err"
                return 1
                ;;
        esac
        rm -f "$err"
}

while IFS= read -r line; do
        case $line in '' | '#'*) continue ;; esac
        eval "set -- $line"
        name=$1 verb=$2
        shift 2
        n=$((n + 1))
        ext=json
        [ "$verb" = check ] && ext=txt
        exp=expected/$name.$ext
        if ! [[ $name =~ ^[a-z0-9-]+$ ]] || [ -n "${seen[$name]:-}" ]; then
                echo "not ok $n - $name: bad or repeated case name"
                fail=1
                continue
        fi
        seen[$name]=$ext
        if [ "$verb" = test ] && ! { [[ " $* " == *" --groups "* ]] && [[ " $* " == *" --time "* ]]; }; then
                echo "not ok $n - $name: a test case must give --groups and --time"
                fail=1
                continue
        fi
        if ! actual=$(run_case "$verb" "$@"); then
                echo "not ok $n - $name: jitctl wrote to stderr"
                fail=1
                continue
        fi
        if [ $update = 1 ]; then
                if [ -f "$exp" ] && [ "$(cat "$exp")" = "$actual" ]; then
                        echo "ok $n - $name (unchanged)"
                else
                        printf '%s\n' "$actual" >"$exp"
                        echo "ok $n - $name (written: review $exp)"
                fi
        elif [ ! -f "$exp" ]; then
                echo "not ok $n - $name: no $exp (run.sh --update, then review it)"
                fail=1
        elif d=$(diff -u "$exp" - <<<"$actual"); then
                echo "ok $n - $name"
        else
                echo "not ok $n - $name"
                printf '%s\n' "$d" | sed 's/^/# /'
                fail=1
        fi
done <cases

# An expected file no case writes is a case lost from ./cases.
n=$((n + 1))
stale=0
for f in expected/*; do
        [ -e "$f" ] || continue
        b=${f#expected/}
        if [ "${seen[${b%.*}]:-}" != "${b##*.}" ]; then
                stale=1
                if [ $update = 1 ]; then
                        rm -f "$f"
                        echo "# removed $f: no case writes it"
                else
                        echo "# $f: no case writes it (run.sh --update removes it)"
                fi
        fi
done
if [ $stale = 1 ] && [ $update = 0 ]; then
        echo "not ok $n - expected/ holds only what the cases write"
        fail=1
else
        echo "ok $n - expected/ holds only what the cases write"
fi
echo "1..$n"
exit $fail
