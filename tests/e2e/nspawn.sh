# Boot a throwaway Debian container with systemd-nspawn and run commands in it.
# Sourced (bash) by tests/e2e/systemd.sh, tests/e2e/lifecycle.sh and
# bench/expiry-lateness.sh.
#
#   ns_check                  exit 77 with a reason when nspawn cannot run here
#   ns_boot BUILD             unpack (once) and boot the rootfs, BUILD bound
#                             read-only at /opt/jit; sets NS_LEADER; installs
#                             an EXIT trap that always stops the container
#   ns_run CMD...             run CMD inside (all namespaces of the leader)
#   ns_sh 'SCRIPT' [ARGS]     run a sh script inside
#   ns_put FILE DEST MODE     copy a host file into the container
#   ns_stop                   clean poweroff (RTMIN+4), bounded, SIGKILL last
#   ns_boot_persistent BUILD  like ns_boot, but what the machine writes
#                             survives ns_stop: call it again to reboot it
#
# Recipe: /work/shared/TESTING.md, "Real systemd". --register=no and
# --keep-unit because there is no systemd on the host; --volatile=overlay
# keeps the unpacked rootfs clean for the next run; --private-network so
# nothing inside binds host ports. machinectl cannot work without a host
# systemd, so commands go in with nsenter.

NS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_BOOT_TIMEOUT=${NS_BOOT_TIMEOUT:-60}   # seconds until is-system-running answers
NS_STOP_TIMEOUT=${NS_STOP_TIMEOUT:-20}   # seconds for a clean poweroff
NS_PID=             # the systemd-nspawn process (our child)
NS_LEADER=          # PID 1 of the container, as the host sees it
NS_TMP=             # per-run scratch (nspawn's log)
NS_MACHINE=         # unique per run
NS_ROOT=            # the unpacked rootfs (shared, read-only in use)
NS_INNER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ns_log() { echo "# $*"; }

ns_skip() {
        echo "SKIP: $*"
        exit 77
}

# Everything the container needs from the host; a reason and exit 77 if not.
ns_check() {
        [ "$(id -u)" = 0 ] || ns_skip "needs root (systemd-nspawn, nsenter)"
        for t in systemd-nspawn nsenter setsid zstd tar flock python3; do
                command -v "$t" >/dev/null 2>&1 || ns_skip "$t is not installed (apt-get install systemd-container util-linux zstd python3)"
        done
        [ -e /proc/self/ns/pid ] || ns_skip "no PID namespaces here"
}

# Print the unpacked rootfs directory, unpacking the cached tarball once.
# Concurrent runs serialise on a lock; the unpack goes to a temporary name
# and is renamed into place, so a half-unpacked tree is never used.
ns_rootfs() {
        local tarball dir lock tmp
        tarball=$("$NS_HERE/mkrootfs.sh") || return 1
        [ -s "$tarball" ] || return 1
        dir=${tarball%.tar.zst}
        lock="$dir.lock"
        (
                flock -w 300 9 || { echo "cannot lock $lock" >&2; exit 1; }
                if [ -d "$dir" ] && [ -e "$dir.stamp" ] && [ ! "$tarball" -nt "$dir.stamp" ]; then
                        exit 0
                fi
                tmp="$dir.tmp.$$"
                rm -rf "$tmp" "$dir.old.$$"
                mkdir -p "$tmp"
                if ! zstd -dcq "$tarball" | tar -C "$tmp" --numeric-owner --xattrs --xattrs-include='*' -xpf -; then
                        rm -rf "$tmp"
                        echo "cannot unpack $tarball" >&2
                        exit 1
                fi
                [ -d "$dir" ] && mv -T "$dir" "$dir.old.$$"
                mv -T "$tmp" "$dir"
                rm -rf "$dir.old.$$"
                touch -r "$tarball" "$dir.stamp"
        ) 9>"$lock" || return 1
        echo "$dir"
}

# The container's PID 1: a child of nspawn in another PID namespace.
ns_find_leader() {
        local c mine
        mine=$(readlink /proc/self/ns/pid)
        for c in $(cat /proc/"$NS_PID"/task/*/children 2>/dev/null || pgrep -P "$NS_PID"); do
                if [ "$(readlink /proc/"$c"/ns/pid 2>/dev/null)" != "$mine" ] &&
                   [ "$(cat /proc/"$c"/comm 2>/dev/null)" = systemd ]; then
                        echo "$c"
                        return 0
                fi
        done
        return 1
}

ns_alive() { [ -n "$NS_PID" ] && kill -0 "$NS_PID" 2>/dev/null; }

# Processes that nsenter put into the container. systemd-shutdown freezes
# every process inside with SIGSTOP before it sends SIGTERM; nsenter, outside,
# mirrors its child's stop and never gets the SIGCONT, so the child stays an
# unreaped zombie and the poweroff hangs (10 s and more). Kill these children
# first, while nsenter can still reap them; their own children go to the
# container's PID 1.
ns_kill_clients() { # LEADER
        local ns p pid line st
        ns=$(readlink /proc/"$1"/ns/pid 2>/dev/null) || return 0
        for p in /proc/[0-9]*; do
                pid=${p#/proc/}
                [ "$pid" != "$1" ] || continue
                [ "$(readlink "$p"/ns/pid 2>/dev/null)" = "$ns" ] || continue
                read -r line <"$p"/stat 2>/dev/null || continue
                read -r -a st <<<"${line##*) }"   # state ppid ...
                [ "$(readlink /proc/"${st[1]}"/ns/pid 2>/dev/null)" = "$ns" ] && continue
                kill -s KILL "$pid" 2>/dev/null
        done
        sleep 0.2
}

# If this script dies without running its traps (SIGKILL, e.g. a ctest
# timeout), a detached watchdog powers the container off and removes the
# scratch directory.
ns_watchdog() {
        local start
        start=$(awk '{print $22}' /proc/"$NS_LEADER"/stat 2>/dev/null) || return 0
        setsid -f bash -c "$(declare -f ns_kill_clients)"'
                parent=$1 leader=$2 nspid=$3 start=$4 stop=$5 tmp=$6
                same() { [ "$(awk "{print \$22}" /proc/$leader/stat 2>/dev/null)" = "$start" ]; }
                while kill -0 "$parent" 2>/dev/null && same; do sleep 1; done
                kill -0 "$parent" 2>/dev/null && exit 0   # the script stops it itself
                if same; then
                        ns_kill_clients "$leader"
                        kill -s RTMIN+4 "$leader" 2>/dev/null
                        for _ in $(seq 1 $((stop * 10))); do same || break; sleep 0.1; done
                        same && kill -s KILL "$leader" "$nspid" 2>/dev/null
                fi
                case $tmp in /tmp/jit-nspawn.*) rm -rf "$tmp" ;; esac
        ' ns-watchdog "$$" "$NS_LEADER" "$NS_PID" "$start" "$NS_STOP_TIMEOUT" "$NS_TMP" </dev/null >/dev/null 2>&1
}

ns_boot() {
        local build=$1 t0 state
        build=$(realpath -e "$build") || { echo "no build directory $1" >&2; return 1; }
        NS_ROOT=$(ns_rootfs) || ns_skip "no rootfs: tests/e2e/mkrootfs.sh failed (needs mmdebstrap and a Debian mirror)"
        NS_TMP=$(mktemp -d /tmp/jit-nspawn.XXXXXX)
        NS_MACHINE="jit-$$-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        trap ns_cleanup EXIT
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
        t0=$(date +%s%N)
        setsid systemd-nspawn -D "$NS_ROOT" -M "$NS_MACHINE" --boot --register=no --keep-unit \
                --private-network --volatile=overlay --bind-ro="$build":/opt/jit --console=pipe \
                </dev/null >"$NS_TMP/console.log" 2>&1 &
        NS_PID=$!
        for _ in $(seq 1 $((NS_BOOT_TIMEOUT * 10))); do
                NS_LEADER=$(ns_find_leader) && break
                ns_alive || break
                sleep 0.1
        done
        if [ -z "$NS_LEADER" ]; then
                echo "systemd-nspawn did not start a container:" >&2
                sed 's/^/  | /' "$NS_TMP/console.log" >&2
                return 1
        fi
        ns_watchdog
        state=
        for _ in $(seq 1 $((NS_BOOT_TIMEOUT * 10))); do
                state=$(ns_run systemctl is-system-running 2>/dev/null)
                case $state in running|degraded) break ;; esac
                ns_alive || break
                sleep 0.1
        done
        case $state in
        running|degraded)
                ns_log "container $NS_MACHINE booted ($state) in $(( ($(date +%s%N) - t0) / 1000000 )) ms, leader pid $NS_LEADER"
                [ "$state" = degraded ] && ns_run systemctl --failed --no-legend --plain | sed 's/^/#   failed: /'
                return 0 ;;
        esac
        echo "the container did not finish booting in ${NS_BOOT_TIMEOUT}s (state: ${state:-none}):" >&2
        tail -n 30 "$NS_TMP/console.log" | sed 's/^/  | /' >&2
        return 1
}

# Run a command inside, with a clean environment (nothing leaks from the host).
# In the background and waited for, so that a signal to this script runs its
# trap at once instead of after the command.
ns_run() {
        nsenter -t "$NS_LEADER" -a env -i PATH="$NS_INNER_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb "$@" <&0 &
        wait "$!"
}

ns_sh() {
        local script=$1; shift
        ns_run /bin/sh -c "$script" sh "$@"
}

ns_put() {
        ns_sh 'cat > "$1" && chmod "$2" "$1"' "$2" "$3" <"$1"
}

ns_stop() {
        [ -n "$NS_PID" ] || return 0
        if ns_alive; then
                [ -n "$NS_LEADER" ] && ns_kill_clients "$NS_LEADER"
                [ -n "$NS_LEADER" ] && kill -s RTMIN+4 "$NS_LEADER" 2>/dev/null
                for _ in $(seq 1 $((NS_STOP_TIMEOUT * 10))); do
                        ns_alive || break
                        sleep 0.1
                done
                if ns_alive; then
                        echo "# the container did not power off in ${NS_STOP_TIMEOUT}s: killing it" >&2
                        [ -n "$NS_LEADER" ] && kill -s KILL "$NS_LEADER" 2>/dev/null
                        sleep 0.5
                        kill -s KILL "$NS_PID" 2>/dev/null
                fi
        fi
        wait "$NS_PID" 2>/dev/null
        NS_PID=''
        NS_LEADER=''
}

ns_cleanup() {
        local rc=$?
        trap - EXIT HUP INT TERM
        ns_stop
        if [ -n "$NS_TMP" ]; then
                if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$NS_TMP/console.log" ]; then
                        echo "# last lines of the container console:" >&2
                        tail -n 15 "$NS_TMP/console.log" | sed 's/^/#   | /' >&2
                fi
                rm -rf "$NS_TMP"
        fi
        exit "$rc"
}

# --- a container whose writes survive a reboot --------------------------------
#
#   ns_boot_persistent BUILD  like ns_boot, but the root is an overlay of the
#                             cached rootfs whose upper dir ($NS_TMP/persist)
#                             is kept: after ns_stop, call it again to boot
#                             the same machine with what it wrote (groups,
#                             /var/lib, enabled units) still there.
#
# nspawn's --volatile=overlay puts the upper dir on a tmpfs of its own, gone
# at poweroff, and --overlay= cannot replace the root. So the overlay is
# mounted by hand, in a private mount namespace (unshare -m) that nspawn is
# then exec'd in: the mount dies with nspawn, nothing on the host needs
# unmounting, and the upper dir goes with $NS_TMP at cleanup. The cached
# rootfs is only the lower dir: it stays clean.
ns_boot_persistent() {
        local build=$1 t0 p
        build=$(realpath -e "$build") || { echo "no build directory $1" >&2; return 1; }
        command -v unshare >/dev/null 2>&1 || ns_skip "unshare is not installed (util-linux)"
        if [ -z "$NS_TMP" ]; then
                NS_ROOT=$(ns_rootfs) || ns_skip "no rootfs: tests/e2e/mkrootfs.sh failed (needs mmdebstrap and a Debian mirror)"
                NS_TMP=$(mktemp -d /tmp/jit-nspawn.XXXXXX)
                NS_MACHINE="jit-$$-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
                trap ns_cleanup EXIT
                trap 'exit 129' HUP
                trap 'exit 130' INT
                trap 'exit 143' TERM
        fi
        p=$NS_TMP/persist
        mkdir -p "$p/upper" "$p/work" "$p/root"
        t0=$(date +%s%N)
        setsid unshare -m --propagation private /bin/sh -c '
                mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/root" || exit 1
                shift 2
                exec "$@"' ns-overlay "$NS_ROOT" "$p" \
                systemd-nspawn -D "$p/root" -M "$NS_MACHINE" --boot --register=no --keep-unit \
                --private-network --bind-ro="$build":/opt/jit --console=pipe \
                </dev/null >"$NS_TMP/console.log" 2>&1 &
        NS_PID=$!
        ns_wait_booted "$t0"
}

# Wait (bounded) for the container NS_PID started to boot; as in ns_boot.
ns_wait_booted() { # T0_NS
        local state
        NS_LEADER=
        for _ in $(seq 1 $((NS_BOOT_TIMEOUT * 10))); do
                NS_LEADER=$(ns_find_leader) && break
                ns_alive || break
                sleep 0.1
        done
        if [ -z "$NS_LEADER" ]; then
                echo "systemd-nspawn did not start a container:" >&2
                sed 's/^/  | /' "$NS_TMP/console.log" >&2
                return 1
        fi
        ns_watchdog
        state=
        for _ in $(seq 1 $((NS_BOOT_TIMEOUT * 10))); do
                state=$(ns_run systemctl is-system-running 2>/dev/null)
                case $state in running|degraded) break ;; esac
                ns_alive || break
                sleep 0.1
        done
        case $state in
        running|degraded)
                ns_log "container $NS_MACHINE booted ($state) in $(( ($(date +%s%N) - $1) / 1000000 )) ms, leader pid $NS_LEADER"
                [ "$state" = degraded ] && ns_run systemctl --failed --no-legend --plain | sed 's/^/#   failed: /'
                return 0 ;;
        esac
        echo "the container did not finish booting in ${NS_BOOT_TIMEOUT}s (state: ${state:-none}):" >&2
        tail -n 30 "$NS_TMP/console.log" | sed 's/^/  | /' >&2
        return 1
}
