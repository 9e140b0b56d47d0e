#!/bin/bash
# Files tampered with where jit expects its own (issue 8): a symbolic link,
# a hard link, a FIFO, a directory, a device node, a socket, another
# owner or a loose mode in the place of a record, a key or the policy.
# Each is refused with a line that names the file and says why, nothing is
# followed or opened blocking, no membership comes of it, and the service
# keeps serving (or, for its own spool directories and audit log, refuses
# to start at once, which denies everything). The real service, real sudo
# and gpasswd, on a private overlay of /etc inside a private mount + PID
# namespace (lib.sh's sandbox).
#
#   tests/e2e/tamper.sh BUILD_DIR       (JIT_KEEP_W=1 keeps the work directory)
#
# "Nothing followed" is proved with traps outside the spool that a check
# can see fire: a FIFO whose writer waits in open() until anyone opens it
# for reading (even non-blocking), a file whose atime is set in the past
# (relatime updates it on a read), and valid records of active grants that
# would put their user back in the group if they were read.
#
#  1. the spool at start: requests/ and grants/ holding a symlink to a valid
#     active grant, a hard link to one owned by alice, a copy owned by
#     alice, symlinks to a trap FIFO and to a trap file, a FIFO, a char
#     device (1:3), a directory, a socket; then a reconcile;
#  2. refused at start, at once: requests/ or grants/ a symlink, audit.log a
#     symlink (to a trap file, to a trap FIFO), a FIFO, a hard link, a
#     directory, a device; outbox/ a symlink (the service starts without
#     notifications);
#  3. while the service runs: a grant record swapped for a symlink, a
#     request record for a symlink to a trap FIFO, then a reconcile, a
#     revoke and a cancel (the record is replaced, never written through);
#     records planted and reconciled; requests/ swapped for a symlink;
#  4. jitctl approver add reading a FIFO or a symlink from bob's home;
#     /etc/jit/approvers/bob.pub a symlink (to a valid copy, to a trap
#     FIFO), a hard link, a FIFO, bob's, mode 0664/0646, a directory, a
#     device; approvers/ a symlink or mode 0777: bob's signed approval is
#     refused, the request stays pending;
#  5. bob's ~/.config/jit/approver.key a symlink (to a valid copy, to a trap
#     FIFO), a FIFO, a hard link, a directory, ~/.config/jit a symlink:
#     jitctl refuses at once and says why;
#  6. /etc/jit/jit.conf a symlink (to a valid copy, to a trap FIFO), a
#     FIFO, mode 0646/0664, alice's, a hard link, a directory;
#     templates.d/x.json a symlink, a FIFO, mode 0666: the policy is
#     refused and, as documented (jitctl(8), jit.conf(5)), every request
#     and approval is denied until it is fixed; fixed, it loads again;
#  7. jit-notify's outbox holding a symlink to a trap FIFO, a FIFO, a hard
#     link, a device: each moved aside, nothing opened;
#  8. the traps fire when opened or read (the checks above can fail), the
#     audit log verifies, grpck -r is clean.
set -u
BUILD=$(cd "${1:?usage: tamper.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${JIT_IN_SANDBOX:-}" ]; then
        if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, overlay mounts)"; exit 77; fi
        for p in sudo unshare gpasswd grpck python3 mknod mkfifo timeout stat; do
                command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
        done
        W=$(mktemp -d /tmp/jit-e2e-tamper.XXXXXX)
        trap '[ -n "${JIT_KEEP_W:-}" ] && echo "# kept $W" || rm -rf "$W"' EXIT
        JIT_IN_SANDBOX=1 W=$W unshare -m -p -f --mount-proc --propagation private "$0" "$BUILD"
        exit $?
fi

. "$HERE/lib.sh"
JITCTL=$BUILD/jitctl
S=$W/state
OUT=$W/outside
fails=0 n=0 t0=$(date +%s)
ok()    { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else notok "$desc"; fi; }
as() { u=$1; shift; runuser -u "$u" -- "$@"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
not_member() { ! is_member "$@"; }
log_mark() { wc -l <"$W/service.log"; }
log_since() { tail -n +"$(( $1 + 1 ))" "$W/service.log"; }
answers() { timeout -s KILL 5 "$JITCTL" list >/dev/null 2>&1; }
alive() { kill -0 "$SERVICE_PID" 2>/dev/null && answers; }

# --- traps -------------------------------------------------------------------------------
TRAP_PIDS=()
# A FIFO whose writer waits in open() until something opens it for reading.
trap_fifo() {  # PATH
        mkfifo -m 0666 "$1"
        python3 -c 'import os, sys
os.open(sys.argv[1], os.O_WRONLY)
open(sys.argv[1] + ".opened", "w").write("opened\n")' "$1" 2>/dev/null &
        TRAP_PIDS+=($!)
}
fifo_untouched() { [ ! -e "$1.opened" ]; }
# A file whose content and (past) access time are kept: a read shows.
OLD=978307200
# A directory opened O_DIRECTORY|O_NOFOLLOW that is a symlink: ENOTDIR, said so.
NOTDIR="not a directory (symbolic links are not followed)"
trap_file() {  # PATH [CONTENT-FROM]
        if [ -n "${2:-}" ]; then cp "$2" "$1"; else echo "trap file: nothing may read this" > "$1"; fi
        sha256sum <"$1" >"$1.sum"
        touch -a -d "@$OLD" "$1"
}
file_untouched() {  # the access time first: comparing the content reads it (then it is set back)
        local atime=$(stat -c %X "$1")
        [ "$(sha256sum <"$1")" = "$(cat "$1.sum")" ] || return 1
        touch -a -d "@$OLD" "$1"
        [ -z "$ATIME" ] || [ "$atime" = "$OLD" ]
}
cleanup() {
        [ ${#TRAP_PIDS[@]} -gt 0 ] && kill "${TRAP_PIDS[@]}" 2>/dev/null
        [ -n "${NOTIFY_PID:-}" ] && kill "$NOTIFY_PID" 2>/dev/null
        sandbox_stop_service
}
trap cleanup EXIT

sandbox_setup
sandbox_pam
mkdir -m 0700 "$OUT"
# Does this file system keep access times (relatime, not noatime)?
trap_file "$OUT/atime-probe"; cat "$OUT/atime-probe" >/dev/null
ATIME=; [ "$(stat -c %X "$OUT/atime-probe")" != "$OLD" ] && ATIME=1
[ -n "$ATIME" ] || echo "# this file system does not keep access times: trap files are checked by content only"

# A service that refuses to start must do so at once: run in the
# foreground under a KILL timeout (SIGTERM is blocked for its signalfd).
refused_start() {  # OUT-FILE: sets RC and SECS
        local s0=$(date +%s%N)
        timeout -s KILL 10 "$JITCTL" serve --state-dir "$S" --foreground 2>"$1"; RC=$?
        SECS=$(( ($(date +%s%N) - s0) / 1000000 ))
}

# --- 0. records to use as bait ----------------------------------------------------------
sandbox_start_service || exit 1
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1
G_C=$("$JITCTL" --json list --active | python3 -c '
import json, sys
print([g["id"] for g in json.load(sys.stdin)["grants"] if g["user"] == "carol"][0])')
R_A=$(as alice "$JITCTL" --json request ops --for 5m --reason "bait" | field 'd["request_id"]')
as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$R_A" >/dev/null
G_A=$("$JITCTL" --json show "$R_A" | field 'd["request"]["grant_id"]')
check "bait: carol's template grant $G_C and alice's approved grant $G_A are active, both in jit-ops" \
        bash -c '[ -n "$1" ] && [ -n "$2" ] && getent group jit-ops | grep -q carol && getent group jit-ops | grep -q alice' _ "$G_C" "$G_A"
sandbox_stop_service
cp -p "$S/grants/$G_C" "$OUT/$G_C.rec"
cp -p "$S/grants/$G_A" "$OUT/$G_A.rec"
cp -p "$S/requests/$R_A" "$OUT/$R_A.rec"
gpasswd -d carol jit-ops >/dev/null; gpasswd -d alice jit-ops >/dev/null

# --- 1. the spool at start, then a reconcile -------------------------------------------
rm -f "$S/grants/$G_C" "$S/grants/$G_A" "$S/requests/$R_A"
ln -s "$OUT/$G_C.rec" "$S/grants/$G_C"                  # a valid active grant, outside
ln "$OUT/$G_A.rec" "$S/grants/$G_A"                     # a hard link to a file ...
chown alice "$OUT/$G_A.rec"                             # ... that is alice's
cp "$OUT/$R_A.rec" "$S/requests/$R_A"; chown alice "$S/requests/$R_A"; chmod 0600 "$S/requests/$R_A"
trap_fifo "$OUT/spool.fifo"
ln -s "$OUT/spool.fifo" "$S/requests/r-aaaaaaaaaa"
trap_file "$OUT/spool.file" "$OUT/$G_C.rec"
ln -s "$OUT/spool.file" "$S/grants/g-bbbbbbbbbb"
mkfifo -m 0600 "$S/requests/r-cccccccccc"
mknod -m 0600 "$S/grants/g-dddddddddd" c 1 3
mkdir -m 0700 "$S/requests/r-eeeeeeeeee"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$S/grants/g-ffffffffff"
declare -A PLANT=(
        [grants/$G_C]="a symbolic link" [grants/$G_A]="more than one hard link"
        [requests/$R_A]="wrong owner or mode" [requests/r-aaaaaaaaaa]="a symbolic link"
        [grants/g-bbbbbbbbbb]="a symbolic link" [requests/r-cccccccccc]="not a regular file"
        [grants/g-dddddddddd]="not a regular file" [requests/r-eeeeeeeeee]="a directory"
        [grants/g-ffffffffff]="not a regular file"
)
declare -A WHAT=(
        [grants/$G_C]="a symlink to carol's active grant" [grants/$G_A]="a hard link to alice's grant, owned by alice"
        [requests/$R_A]="a request record owned by alice" [requests/r-aaaaaaaaaa]="a symlink to a trap FIFO"
        [grants/g-bbbbbbbbbb]="a symlink to a trap file" [requests/r-cccccccccc]="a FIFO"
        [grants/g-dddddddddd]="a char device 1:3" [requests/r-eeeeeeeeee]="a directory"
        [grants/g-ffffffffff]="a socket"
)
m=$(log_mark)
s0=$(date +%s%N)
if sandbox_start_service; then started=1; else started=; fi
ms=$(( ($(date +%s%N) - s0) / 1000000 ))
check "spool at start: the service starts (${ms} ms) and answers jitctl list within 5 s" bash -c '[ -n "$1" ] && timeout -s KILL 5 "$2" list >/dev/null' _ "$started" "$JITCTL"
[ -n "$started" ] || exit 1
for k in "${!PLANT[@]}"; do
        line=$(log_since "$m" | grep -F "spool record $k: ")
        check "spool at start: ${WHAT[$k]} as $k is refused and logged (${line#*jitd\[error\] })" \
                bash -c 'grep -qF -- "$2" <<<"$1" && grep -q "left in place, not used" <<<"$1"' _ "$line" "${PLANT[$k]}"
done
check "spool at start: every planted file is left in place as it was" bash -c '
        [ -L "$1/grants/$2" ] && [ -f "$1/grants/$3" ] && [ "$(stat -c %h "$1/grants/$3")" = 2 ] &&
        [ "$(stat -c %U "$1/requests/$4")" = alice ] && [ -p "$1/requests/r-cccccccccc" ] &&
        [ -c "$1/grants/g-dddddddddd" ] && [ -d "$1/requests/r-eeeeeeeeee" ] && [ -S "$1/grants/g-ffffffffff" ]' \
        _ "$S" "$G_C" "$G_A" "$R_A"
check "spool at start: the trap FIFO behind requests/r-aaaaaaaaaa was never opened" fifo_untouched "$OUT/spool.fifo"
check "spool at start: the trap file behind grants/g-bbbbbbbbbb was not read" file_untouched "$OUT/spool.file"
check "spool at start: no membership from them: carol and alice are not in jit-ops ($(getent group jit-ops))" \
        bash -c '! getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx -e carol -e alice'
for id in "$G_C" "$G_A" "$R_A" g-bbbbbbbbbb; do
        "$JITCTL" show "$id" >/dev/null 2>&1; rc=$?
        check "spool at start: $id is not on record (jitctl show exits $rc = 6)" [ $rc = 6 ]
done
"$JITCTL" reconcile >/dev/null 2>&1; rc=$?
check "spool, reconcile: jitctl reconcile succeeds (exit $rc), the service answers, still no membership" \
        bash -c '[ "$1" = 0 ] && timeout -s KILL 5 "$2" list >/dev/null && ! getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx -e carol -e alice' \
        _ $rc "$JITCTL"
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1; rc=$?
g=$("$JITCTL" --json list --active | python3 -c '
import json, sys
print(" ".join(g["id"] for g in json.load(sys.stdin)["grants"] if g["user"] == "carol"))')
check "spool: beside the refused files the service grants as before (carol's sudo exit $rc, grant $g on record)" \
        bash -c '[ "$1" = 0 ] && [ -f "$2/grants/$3" ] && [ ! -L "$2/grants/$3" ]' _ $rc "$S" "$g"
[ -n "$g" ] && "$JITCTL" revoke "$g" >/dev/null
check "spool: the trap FIFO is still unopened after the reconcile and the grant" fifo_untouched "$OUT/spool.fifo"
check "spool: the trap file is still unread after the reconcile and the grant" file_untouched "$OUT/spool.file"
sandbox_stop_service
for k in "${!PLANT[@]}"; do rm -rf "${S:?}/$k"; done

# --- 2. refused at start: the spool's own directories and the audit log ----------------
refuse_case() {  # WHAT WANT-IN-MESSAGE [CHECK...]
        local what=$1 want=$2; shift 2
        refused_start "$W/refused.log"
        msg=$(grep -m1 'serve:' "$W/refused.log")
        check "start with $what: refused at once (exit $RC in $SECS ms): ${msg#jitctl: }" \
                bash -c '[ "$1" != 0 ] && [ "$1" != 137 ] && grep -qF -- "$3" <<<"$2"' _ "$RC" "$msg" "$want"
        [ $# -gt 0 ] && check "start with $what: nothing was followed" "$@"
}
mkdir -m 0700 "$OUT/reqdir" "$OUT/grantdir"
mv "$S/requests" "$W/requests.saved"; ln -s "$OUT/reqdir" "$S/requests"
refuse_case "requests/ a symlink" "$NOTDIR" bash -c '[ -z "$(ls -A "$1")" ]' _ "$OUT/reqdir"
rm "$S/requests"; mv "$W/requests.saved" "$S/requests"
mv "$S/grants" "$W/grants.saved"; ln -s "$OUT/grantdir" "$S/grants"
cp "$OUT/$G_C.rec" "$OUT/grantdir/$G_C"
refuse_case "grants/ a symlink (to a directory holding carol's active grant)" "$NOTDIR" \
        bash -c '! getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx carol && [ "$(ls -A "$1")" = "$2" ]' _ "$OUT/grantdir" "$G_C"
rm "$S/grants"; mv "$W/grants.saved" "$S/grants"
mv "$S/audit.log" "$W/audit.log.saved"
trap_file "$OUT/audit.file"
ln -s "$OUT/audit.file" "$S/audit.log"
refuse_case "audit.log a symlink to a file" "a symbolic link" file_untouched "$OUT/audit.file"
rm "$S/audit.log"
trap_fifo "$OUT/audit.fifo"
ln -s "$OUT/audit.fifo" "$S/audit.log"
refuse_case "audit.log a symlink to a FIFO" "a symbolic link" fifo_untouched "$OUT/audit.fifo"
rm "$S/audit.log"; mkfifo -m 0600 "$S/audit.log"
refuse_case "audit.log a FIFO" "not a regular file"
rm "$S/audit.log"; mkdir -m 0700 "$S/audit.log"
refuse_case "audit.log a directory" "a directory"
rmdir "$S/audit.log"; mknod -m 0600 "$S/audit.log" c 1 3
refuse_case "audit.log a char device 1:3" "not a regular file"
rm "$S/audit.log"; mv "$W/audit.log.saved" "$S/audit.log"; ln "$S/audit.log" "$OUT/audit.hard"
refuse_case "audit.log with a second hard link" "more than one hard link"
rm "$OUT/audit.hard"
mv "$S/outbox" "$W/outbox.saved"; mkdir -m 0700 "$OUT/outboxdir"; ln -s "$OUT/outboxdir" "$S/outbox"
m=$(log_mark)
sandbox_start_service; rc=$?
line=$(log_since "$m" | grep -m1 'notification outbox')
check "start with outbox/ a symlink: the service starts (exit $rc), says so (${line#*jitd\[error\] }) and answers" \
        bash -c '[ "$1" = 0 ] && grep -qF -- "$4" <<<"$2" && timeout -s KILL 5 "$3" list >/dev/null' \
        _ $rc "$line" "$JITCTL" "$NOTDIR"
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1; rc=$?
check "start with outbox/ a symlink: a template grant still works (exit $rc) and nothing is written through the link" \
        bash -c '[ "$1" = 0 ] && [ -z "$(ls -A "$2")" ]' _ $rc "$OUT/outboxdir"
g=$("$JITCTL" --json list --active | field '" ".join(g["id"] for g in d["grants"])')
for x in $g; do "$JITCTL" revoke "$x" >/dev/null; done
sandbox_stop_service
rm "$S/outbox"; mv "$W/outbox.saved" "$S/outbox"
sandbox_start_service || exit 1

# --- 3. swapped while the service runs -------------------------------------------------
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1
G3=$("$JITCTL" --json list --active | field '[g["id"] for g in d["grants"] if g["user"] == "carol"][0]')
R3=$(as alice "$JITCTL" --json request ops --for 5m --reason "swap" | field 'd["request_id"]')
trap_file "$OUT/swap.file" "$S/grants/$G3"             # a copy of the active record
rm "$S/grants/$G3"; ln -s "$OUT/swap.file" "$S/grants/$G3"
trap_fifo "$OUT/swap.fifo"
rm "$S/requests/$R3"; ln -s "$OUT/swap.fifo" "$S/requests/$R3"
"$JITCTL" reconcile >/dev/null 2>&1; rc=$?
check "swapped while running: jitctl reconcile (exit $rc) reads nothing through the links, and the service answers" \
        bash -c '[ "$1" = 0 ] && [ ! -e "$2.opened" ] && timeout -s KILL 5 "$3" list >/dev/null' _ $rc "$OUT/swap.fifo" "$JITCTL"
check "swapped while running: the trap file behind grants/$G3 is untouched after the reconcile" file_untouched "$OUT/swap.file"
"$JITCTL" revoke "$G3" >/dev/null 2>&1; rc=$?
check "swapped while running: revoking $G3 (exit $rc) replaces the symlink with its record, never writes through it" \
        bash -c '[ "$1" = 0 ] && [ -f "$2" ] && [ ! -L "$2" ] && grep -q "\"state\":\"revoked\"" "$2"' _ $rc "$S/grants/$G3"
check "swapped while running: the trap file behind the old link is unchanged and unread" file_untouched "$OUT/swap.file"
check "swapped while running: carol is out of jit-ops after the revoke" not_member carol jit-ops
as alice "$JITCTL" cancel "$R3" >/dev/null 2>&1; rc=$?
check "swapped while running: cancelling $R3 (exit $rc) replaces the symlink to the trap FIFO, which is never opened" \
        bash -c '[ "$1" = 0 ] && [ -f "$2" ] && [ ! -L "$2" ] && [ ! -e "$3.opened" ]' _ $rc "$S/requests/$R3" "$OUT/swap.fifo"
# Planted while it runs: a reconcile takes none of it; a restart refuses it.
trap_fifo "$OUT/plant.fifo"
ln -s "$OUT/plant.fifo" "$S/requests/r-hhhhhhhhhh"
mkfifo -m 0600 "$S/grants/g-jjjjjjjjjj"
ln -s "$OUT/$G_C.rec" "$S/grants/$G_C"
"$JITCTL" reconcile >/dev/null 2>&1; rc=$?
check "planted while running: a reconcile (exit $rc) takes none of it: no membership, trap FIFO unopened, list answers" \
        bash -c '[ "$1" = 0 ] && ! getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx carol && [ ! -e "$2.opened" ] &&
                 timeout -s KILL 5 "$3" list >/dev/null' _ $rc "$OUT/plant.fifo" "$JITCTL"
sandbox_stop_service
m=$(log_mark)
sandbox_start_service; rc=$?
bad=$(log_since "$m" | grep -c -e "spool record requests/r-hhhhhhhhhh: a symbolic link" \
        -e "spool record grants/g-jjjjjjjjjj: not a regular file" -e "spool record grants/$G_C: a symbolic link")
check "planted while running: the restart (exit $rc) refuses and logs all three ($bad/3), takes none, and answers" \
        bash -c '[ "$1" = 0 ] && [ "$2" = 3 ] && ! getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx carol &&
                 [ ! -e "$3.opened" ] && timeout -s KILL 5 "$4" list >/dev/null' _ $rc "$bad" "$OUT/plant.fifo" "$JITCTL"
rm -f "$S/requests/r-hhhhhhhhhh" "$S/grants/g-jjjjjjjjjj" "$S/grants/$G_C"
# requests/ itself swapped for a symlink while the service runs: it keeps
# writing below the directory it verified; the next start refuses.
mkdir -m 0700 "$OUT/reqdir2"
mv "$S/requests" "$S/requests.moved"; ln -s "$OUT/reqdir2" "$S/requests"
R4=$(as alice "$JITCTL" --json request ops --for 5m --reason "dir swap" | field 'd["request_id"]')
"$JITCTL" reconcile >/dev/null 2>&1; rc=$?
check "requests/ swapped for a symlink while running: a new request ($R4) goes to the verified directory, none through the link; reconcile exit $rc" \
        bash -c '[ -n "$1" ] && [ -f "$2/requests.moved/$1" ] && [ -z "$(ls -A "$3")" ] && [ "$4" = 0 ]' _ "$R4" "$S" "$OUT/reqdir2" $rc
sandbox_stop_service
refuse_case "requests/ swapped for a symlink while it ran" "$NOTDIR" bash -c '[ -z "$(ls -A "$1")" ]' _ "$OUT/reqdir2"
rm "$S/requests"; mv "$S/requests.moved" "$S/requests"
sandbox_start_service || exit 1
st=$("$JITCTL" --json show "$R4" 2>/dev/null | field 'd["request"]["state"]' 2>/dev/null)
check "requests/ back in place: the request made meanwhile is on record ($st)" [ "$st" = pending ]
as alice "$JITCTL" cancel "$R4" >/dev/null 2>&1

# --- 4. the approvers' registry ---------------------------------------------------------
REG=/etc/jit/approvers
cp -p "$REG/bob.pub" "$OUT/bob.pub"
# root registers a key from the approver's home: what bob puts there must
# not hang root's jitctl nor be followed.
BP=$W/home/bob/.config/jit/approver.pub
cp -p "$BP" "$W/home/bob/pub.copy"
for kind in fifo symlink; do
        rm -f "$BP"
        if [ $kind = fifo ]; then mkfifo -m 0644 "$BP"; want="not a regular file"; else ln -s "$W/home/bob/pub.copy" "$BP"; want="a symbolic link"; fi
        chown -h bob: "$BP"
        s0=$(date +%s%N)
        out=$(timeout -s KILL 10 "$JITCTL" approver add bob "$BP" 2>&1); rc=$?
        ms=$(( ($(date +%s%N) - s0) / 1000000 ))
        check "jitctl approver add bob PUBFILE, PUBFILE a $kind in bob's home: refused at once (exit $rc, $ms ms): ${out#jitctl: }" \
                bash -c '[ "$1" != 0 ] && [ "$1" != 137 ] && grep -qF -- "$3" <<<"$2" && cmp -s "$4" "$5"' _ $rc "$out" "$want" "$OUT/bob.pub" "$REG/bob.pub"
done
rm -f "$BP"; cp -p "$W/home/bob/pub.copy" "$BP"
RX=$(as alice "$JITCTL" --json request ops --for 5m --reason "registry" | field 'd["request_id"]')
reg_restore() {
        rm -rf "${REG:?}/bob.pub"; [ -L "$REG" ] && { rm "$REG"; mv /etc/jit/approvers.real "$REG"; }
        chmod 0755 "$REG"; cp -p "$OUT/bob.pub" "$REG/bob.pub"
}
reg_case() {  # WHAT WANT-IN-MESSAGE [CHECK...]
        local what=$1 want=$2 s0 ms st out rc line m; shift 2
        m=$(log_mark); s0=$(date +%s%N)
        out=$(timeout -s KILL 20 runuser -u bob -- "$JITCTL" approve --passphrase-file "$BOBPASS" "$RX" 2>&1); rc=$?
        ms=$(( ($(date +%s%N) - s0) / 1000000 ))
        st=$("$JITCTL" --json show "$RX" | field 'd["request"]["state"]')
        line=$(log_since "$m" | grep -m1 "refused a approve of $RX by bob")
        check "approvers/bob.pub $what: bob's approval is refused (exit $rc, $ms ms, $st): ${out#jitctl: }" \
                bash -c '[ "$1" = 5 ] && [ "$2" = pending ] && grep -q "no usable registered signing key for bob" <<<"$3" &&
                         grep -qF -- "$4" <<<"$3"' _ $rc "$st" "$out" "$want"
        check "approvers/bob.pub $what: the service logs the file and why, and answers" \
                bash -c 'grep -q "/etc/jit/approvers/bob.pub" <<<"$1" && grep -qF -- "$2" <<<"$1" && timeout -s KILL 5 "$3" list >/dev/null' \
                _ "$line" "$want" "$JITCTL"
        [ $# -gt 0 ] && check "approvers/bob.pub $what: nothing was followed" "$@"
        reg_restore
}
cp -p "$OUT/bob.pub" /etc/jit/bob.pub.copy
rm "$REG/bob.pub"; ln -s /etc/jit/bob.pub.copy "$REG/bob.pub"
reg_case "a symlink to a valid copy" "a symbolic link"
trap_fifo "$OUT/reg.fifo"
rm "$REG/bob.pub"; ln -s "$OUT/reg.fifo" "$REG/bob.pub"
reg_case "a symlink to a trap FIFO" "a symbolic link" fifo_untouched "$OUT/reg.fifo"
ln "$REG/bob.pub" /etc/jit/bob.pub.hard
reg_case "with a second hard link" "more than one hard link"
rm /etc/jit/bob.pub.hard
rm "$REG/bob.pub"; mkfifo -m 0644 "$REG/bob.pub"
reg_case "a FIFO" "not a regular file"
chown bob "$REG/bob.pub"
reg_case "owned by bob" "wrong owner or mode"
chmod 0664 "$REG/bob.pub"
reg_case "mode 0664" "wrong owner or mode"
chmod 0646 "$REG/bob.pub"
reg_case "mode 0646" "wrong owner or mode"
rm "$REG/bob.pub"; mkdir -m 0755 "$REG/bob.pub"
reg_case "a directory" "a directory"
rm -rf "$REG/bob.pub"; mknod -m 0644 "$REG/bob.pub" c 1 3
reg_case "a char device 1:3" "not a regular file"
mv "$REG" /etc/jit/approvers.real; ln -s /etc/jit/approvers.real "$REG"
reg_case "(approvers/ a symlink to a directory holding a valid copy)" "$NOTDIR"
chmod 0777 "$REG"
reg_case "(approvers/ mode 0777)" "wrong owner or mode"
out=$(as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$RX" 2>&1); rc=$?
check "approvers/bob.pub restored: bob's approval of $RX goes through (exit $rc), alice is in jit-ops" \
        bash -c '[ "$1" = 0 ] && getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx alice' _ $rc
g=$("$JITCTL" --json show "$RX" | field 'd["request"]["grant_id"]')
"$JITCTL" revoke "$g" >/dev/null

# --- 5. bob's sealed key file -------------------------------------------------------------
KD=$W/home/bob/.config/jit
cp -p "$KD/approver.key" "$W/home/bob/key.copy"
RY=$(as alice "$JITCTL" --json request ops --for 5m --reason "key file" | field 'd["request_id"]')
key_restore() {
        [ -L "$KD" ] && { rm "$KD"; mv "$KD.real" "$KD"; }
        rm -rf "${KD:?}/approver.key"; cp -p "$W/home/bob/key.copy" "$KD/approver.key"
}
key_case() {  # WHAT WANT-IN-MESSAGE [CHECK...]
        local what=$1 want=$2 s0 ms st out rc; shift 2
        s0=$(date +%s%N)
        out=$(timeout -s KILL 20 runuser -u bob -- "$JITCTL" approve --passphrase-file "$BOBPASS" "$RY" 2>&1); rc=$?
        ms=$(( ($(date +%s%N) - s0) / 1000000 ))
        st=$("$JITCTL" --json show "$RY" | field 'd["request"]["state"]')
        check "approver.key $what: jitctl refuses at once (exit $rc, $ms ms, $st): ${out#jitctl: }" \
                bash -c '[ "$1" = 1 ] && [ "$2" = pending ] && grep -q "cannot unlock your approver key" <<<"$3" &&
                         grep -qF -- "$4" <<<"$3"' _ $rc "$st" "$out" "$want"
        [ $# -gt 0 ] && check "approver.key $what: nothing was followed" "$@"
        key_restore
}
rm "$KD/approver.key"; ln -s "$W/home/bob/key.copy" "$KD/approver.key"; chown -h bob: "$KD/approver.key"
reg_fifo=$W/home/bob/key.fifo
trap_fifo "$reg_fifo"; chown bob: "$reg_fifo"
key_case "a symlink to a valid copy of the key" "a symbolic link"
rm "$KD/approver.key"; ln -s "$reg_fifo" "$KD/approver.key"; chown -h bob: "$KD/approver.key"
key_case "a symlink to a trap FIFO" "a symbolic link" fifo_untouched "$reg_fifo"
rm "$KD/approver.key"; mkfifo -m 0600 "$KD/approver.key"; chown bob: "$KD/approver.key"
key_case "a FIFO" "not a regular file"
ln "$KD/approver.key" "$W/home/bob/key.hard"
key_case "with a second hard link" "more than one hard link"
rm "$W/home/bob/key.hard"
rm "$KD/approver.key"; mkdir -m 0700 "$KD/approver.key"; chown bob: "$KD/approver.key"
key_case "a directory" "a directory"
mv "$KD" "$KD.real"; ln -s "$KD.real" "$KD"; chown -h bob: "$KD"
key_case "(~/.config/jit a symlink)" "$NOTDIR"
out=$(as bob "$JITCTL" approve --passphrase-file "$BOBPASS" "$RY" 2>&1); rc=$?
check "approver.key restored: bob's approval of $RY goes through (exit $rc)" [ $rc = 0 ]
g=$("$JITCTL" --json show "$RY" | field 'd["request"]["grant_id"]')
"$JITCTL" revoke "$g" >/dev/null

# --- 6. the policy and templates.d -------------------------------------------------------
CONF=/etc/jit/jit.conf
cp -p "$CONF" "$OUT/jit.conf"
RZ=$(as alice "$JITCTL" --json request ops --for 5m --reason "policy" | field 'd["request_id"]')
reload() {  # SIGHUP, then wait for its "policy ..." line; prints that line
        local m=$(log_mark)
        kill -HUP "$SERVICE_PID"
        for _ in $(seq 1 100); do
                log_since "$m" | grep -q 'policy /etc/jit/jit.conf \(loaded\|refused\)' && break
                sleep 0.05
        done
        sleep 0.1       # the error lines that follow a "refused" one
        log_since "$m" | grep 'jitd\[service\]' | head -n 2 | tr '\n' ' '
}
pol_restore() {
        rm -rf "${CONF:?}" /etc/jit/templates.d; cp -p "$OUT/jit.conf" "$CONF"
}
pol_case() {  # WHAT WANT-IN-LOG [approve] [CHECK...]
        local what=$1 want=$2 line out rc chk s0 ms; shift 2
        s0=$(date +%s%N)
        line=$(reload)
        ms=$(( ($(date +%s%N) - s0) / 1000000 ))
        check "policy: $what: refused at reload ($ms ms), logged with why: ${line//*jitd\[service\] /}" \
                bash -c 'grep -q "policy /etc/jit/jit.conf refused" <<<"$1" && grep -qF -- "$2" <<<"$1"' _ "$line" "$want"
        out=$(as carol sudo -n /usr/bin/journalctl --version 2>&1); rc=$?
        check "policy: $what: carol's template sudo is denied (exit $rc), no membership, the service answers" \
                bash -c '[ "$1" != 0 ] && ! getent group jit-ops | cut -d: -f4 | tr , "\n" | grep -qx carol && timeout -s KILL 5 "$2" list >/dev/null' \
                _ $rc "$JITCTL"
        out=$("$JITCTL" policy check 2>&1); rc=$?
        check "policy: $what: jitctl policy check refuses it too (exit $rc): $(tr '\n' ' ' <<<"$out" | cut -c1-160)" \
                bash -c '[ "$1" = 9 ] && grep -qF -- "$2" <<<"$3"' _ $rc "$want" "$out"
        if [ "${1:-}" = approve ]; then
                shift
                out=$(timeout -s KILL 20 runuser -u bob -- "$JITCTL" approve --passphrase-file "$BOBPASS" "$RZ" 2>&1); rc=$?
                st=$("$JITCTL" --json show "$RZ" | field 'd["request"]["state"]')
                check "policy: $what: bob's approval is refused until it is fixed (exit $rc, $st)" \
                        bash -c '[ "$1" != 0 ] && [ "$2" = pending ]' _ $rc "$st"
        fi
        [ $# -gt 0 ] && check "policy: $what: nothing was followed" "$@"
        pol_restore
}
cp -p "$OUT/jit.conf" /etc/jit/jit.conf.copy
rm "$CONF"; ln -s /etc/jit/jit.conf.copy "$CONF"
pol_case "jit.conf a symlink to a valid copy" "a symbolic link" approve
trap_fifo "$OUT/pol.fifo"
rm "$CONF"; ln -s "$OUT/pol.fifo" "$CONF"
pol_case "jit.conf a symlink to a trap FIFO" "a symbolic link" fifo_untouched "$OUT/pol.fifo"
rm "$CONF"; mkfifo -m 0644 "$CONF"
pol_case "jit.conf a FIFO" "not a regular file"
chmod 0646 "$CONF"
pol_case "jit.conf mode 0646" "not writable by"
chmod 0664 "$CONF"
pol_case "jit.conf mode 0664" "not writable by"
chown alice "$CONF"
pol_case "jit.conf owned by alice" "owned by root"
ln "$CONF" /etc/jit/jit.conf.hard
pol_case "jit.conf with a second hard link" "more than one hard link"
rm /etc/jit/jit.conf.hard
rm "$CONF"; mkdir -m 0755 "$CONF"
pol_case "jit.conf a directory" "a directory"
TPL='{"role": "ops", "description": "tampered", "users": ["carol"]}'
mkdir -m 0755 /etc/jit/templates.d; echo "$TPL" > "$OUT/x.json"; chmod 0644 "$OUT/x.json"
ln -s "$OUT/x.json" /etc/jit/templates.d/x.json
pol_case "templates.d/x.json a symlink" "templates.d/x.json: refused: a symbolic link"
mkdir -m 0755 /etc/jit/templates.d; mkfifo -m 0644 /etc/jit/templates.d/x.json
pol_case "templates.d/x.json a FIFO" "templates.d/x.json: refused: not a regular file"
mkdir -m 0755 /etc/jit/templates.d; echo "$TPL" > /etc/jit/templates.d/x.json; chmod 0666 /etc/jit/templates.d/x.json
pol_case "templates.d/x.json mode 0666" "templates.d/x.json: refused: wrong owner or mode"
line=$(reload)
as carol sudo -n /usr/bin/journalctl --version >/dev/null 2>&1; rc=$?
check "policy fixed: it loads again (${line//*jitd\[service\] /}) and carol's template sudo runs (exit $rc)" \
        bash -c 'grep -q "policy /etc/jit/jit.conf loaded" <<<"$1" && [ "$2" = 0 ]' _ "$line" $rc
for x in $("$JITCTL" --json list --active | field '" ".join(g["id"] for g in d["grants"])'); do "$JITCTL" revoke "$x" >/dev/null; done
as alice "$JITCTL" cancel "$RZ" >/dev/null 2>&1

# --- 7. jit-notify and the outbox ----------------------------------------------------------
OB=$S/outbox
trap_fifo "$OUT/outbox.fifo"
ln -s "$OUT/outbox.fifo" "$OB/n-aaaaaaaaaa"
mkfifo -m 0600 "$OB/n-bbbbbbbbbb"
echo "not a record" > "$OUT/n.rec"; chmod 0600 "$OUT/n.rec"; ln "$OUT/n.rec" "$OB/n-cccccccccc"
mknod -m 0600 "$OB/n-dddddddddd" c 1 3
"$BUILD/jit-notify" --config "$CONF" --outbox "$OB" --socket /run/jit/jit.sock 2>"$W/notify.log" &
NOTIFY_PID=$!
for _ in $(seq 1 100); do [ "$(grep -c 'moved aside' "$W/notify.log")" -ge 4 ] && break; sleep 0.05; done
declare -A NB=([n-aaaaaaaaaa]="a symbolic link" [n-bbbbbbbbbb]="not a regular file"
               [n-cccccccccc]="more than one hard link" [n-dddddddddd]="not a regular file")
declare -A NW=([n-aaaaaaaaaa]="a symlink to a trap FIFO" [n-bbbbbbbbbb]="a FIFO"
               [n-cccccccccc]="a hard link to a file outside" [n-dddddddddd]="a char device 1:3")
for k in n-aaaaaaaaaa n-bbbbbbbbbb n-cccccccccc n-dddddddddd; do
        line=$(grep -m1 "record $k cannot be read" "$W/notify.log")
        check "jit-notify: ${NW[$k]} in the outbox is refused and moved aside ($line)" \
                bash -c 'grep -qF -- "$2" <<<"$1" && { [ -e "$3/.bad.$4" ] || [ -L "$3/.bad.$4" ]; }' _ "$line" "${NB[$k]}" "$OB" "$k"
done
check "jit-notify: the trap FIFO was never opened, the outside file is unchanged, jit-notify runs on" \
        bash -c '[ ! -e "$1.opened" ] && [ "$(cat "$2")" = "not a record" ] && kill -0 "$3"' _ "$OUT/outbox.fifo" "$OUT/n.rec" "$NOTIFY_PID"
kill "$NOTIFY_PID"; wait "$NOTIFY_PID" 2>/dev/null; NOTIFY_PID=
rm -rf "$OB"/.bad.*

# --- 8. the traps can fire; the service, the log and the group file hold ------------------
check "the service is still running and answers" alive
timeout 5 cat "$OUT/spool.fifo" >/dev/null 2>&1
for _ in $(seq 1 40); do [ -e "$OUT/spool.fifo.opened" ] && break; sleep 0.05; done
check "control: opening a trap FIFO for reading is noticed (so an open above would have been)" [ -e "$OUT/spool.fifo.opened" ]
cat "$OUT/spool.file" >/dev/null
if [ -z "$ATIME" ]; then
        echo "# control: access times are not kept here; trap files were compared by content only"
elif file_untouched "$OUT/spool.file"; then
        notok "control: reading a trap file is noticed (so a read above would have been)"
else
        ok "control: reading a trap file is noticed (so a read above would have been)"
fi
check "grpck -r is clean" grpck -r
check "no membership is left in jit-ops ($(getent group jit-ops))" bash -c '[ -z "$(getent group jit-ops | cut -d: -f4)" ]'
sandbox_stop_service
out=$("$JITCTL" audit verify --file "$S/audit.log" --key /etc/jit/host.pub 2>&1); rc=$?
check "jitctl audit verify: the log holds ($out)" [ $rc = 0 ]

echo "# $(( $(date +%s) - t0 )) s"
echo "$((n-fails)) passed, $fails failed"
[ $fails = 0 ]
