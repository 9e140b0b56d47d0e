#!/bin/bash
# The man pages are clean and complete:
#   - `mandoc -T lint -W warning` has nothing to say about any man/*.[0-9];
#   - every verb of jitctl's dispatch table (jitctl/main.c) has an entry
#     in the VERBS section of jitctl(8), and every long option of a getopt
#     table in jitctl/*.c appears in jitctl(8);
#   - every key that common/config.c accepts (its keys[] arrays) is named
#     in jit.conf(5), in bold (.B key, \fBkey\fR) or quoted (\(dqkey\(dq).
#
#   manlint.sh SOURCE_DIR
set -u

cd "${1:?usage: manlint.sh SOURCE_DIR}" || exit 1
export LC_ALL=C
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

# --- mandoc -------------------------------------------------------------
if ! command -v mandoc >/dev/null; then
        not_ok "mandoc is not installed (tests/deps.sh installs it)"
else
        for page in man/*.[0-9]; do
                out=$(mandoc -T lint -W warning "$page" 2>&1)
                rc=$?
                if [ "$rc" = 0 ] && [ -z "$out" ]; then
                        ok "mandoc -T lint -W warning $page: clean"
                else
                        not_ok "mandoc -T lint -W warning $page (exit $rc)"
                        sed 's/^/# /' <<<"$out"
                fi
        done
fi

# --- jitctl(8): verbs and options -----------------------------------------
verbs=$(sed -n '/verbs\[\] = {/,/^};/p' jitctl/main.c | sed -nE 's/^[[:space:]]*\{ *"([a-z-]+)".*/\1/p')
# The first word of each tag (.TP/.TQ line) of the VERBS section, \- as -.
tags=$(awk '/^\.SH VERBS/ { f = 1; next } /^\.SH/ { f = 0 } f && p ~ /^\.T[PQ]/ { print } { p = $0 }' man/jitctl.8 |
        sed -E 's/\\-/-/g; s/^\.[A-Z]+[[:space:]]+"?//; s/[ "].*//' | sort -u)
missing=
for v in $verbs; do
        grep -qxF -- "$v" <<<"$tags" || missing+=" $v"
done
if [ -z "$verbs" ]; then
        not_ok "no verbs found in jitctl/main.c's dispatch table"
elif [ -z "$missing" ]; then
        ok "every verb of the dispatch table ($(wc -w <<<"$verbs")) has an entry under VERBS in jitctl(8)"
else
        not_ok "verbs without an entry under VERBS in jitctl(8):$missing"
fi

opts=$(grep -ohE '\{ *"[a-z][a-z-]*", *(required|no)_argument' jitctl/*.c | sed -E 's/\{ *"([a-z-]+)".*/\1/' | sort -u)
page=$(sed 's/\\-/-/g' man/jitctl.8)
missing=
for o in $opts; do
        grep -qF -- "--$o" <<<"$page" || missing+=" --$o"
done
if [ -z "$missing" ]; then
        ok "every long option of jitctl/*.c ($(wc -w <<<"$opts")) appears in jitctl(8)"
else
        not_ok "options of jitctl/*.c missing from jitctl(8):$missing"
fi

# --- jit.conf(5): keys ----------------------------------------------------
keys=$(awk '/static const char \*const keys\[\] = \{/ { f = 1 } f { print } f && /NULL/ { f = 0 }' common/config.c |
        grep -oE '"[a-z_]+"' | tr -d '"' | sort -u)
missing=
for k in $keys; do
        grep -qE "^\.(B|BR|BI|IB|RB)[[:space:]]+\"?(\\\\\(dq)?$k(\\\\\(dq)?\"?([[:space:],.:;)]|$)|\\\\fB$k\\\\f|\\\\\(dq$k\\\\\(dq" man/jit.conf.5 ||
                missing+=" $k"
done
if [ -z "$keys" ]; then
        not_ok "no keys[] arrays found in common/config.c"
elif [ -z "$missing" ]; then
        ok "every key of common/config.c's keys[] arrays ($(wc -w <<<"$keys")) is named in jit.conf(5)"
else
        not_ok "keys of common/config.c not named in jit.conf(5):$missing"
fi

echo "1..$n"
exit $fail
