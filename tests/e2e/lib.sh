# Shared by the sudo end-to-end test and the demo: a throwaway sandbox.
# Source it from a script already running inside
#   unshare -m -p -f --mount-proc --propagation private
# It puts an overlay over /etc and a tmpfs over /run, so nothing outside
# the namespace changes, then creates the demo users and policy.
#
# Needs: BUILD (the build directory), W (an empty work directory).

sandbox_setup() {
        mkdir -p "$W/upper" "$W/work" "$W/state" "$W/home"
        chmod 0700 "$W/state"
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$W/upper,workdir=$W/work" /etc
        mount -t tmpfs -o mode=0755 tmpfs /run
        mkdir -p /run/sudo && chmod 0711 /run/sudo
        # The policy and sudoers live in the overlay; sudo and PAM read them.
        groupadd -f eng
        groupadd -f sre
        groupadd -f --system jit-ops
        for u in alice bob carol; do
                id "$u" >/dev/null 2>&1 || useradd -m -d "$W/home/$u" -s /bin/bash "$u"
                usermod -p '*' "$u"
        done
        usermod -a -G eng alice
        usermod -a -G eng carol
        usermod -a -G sre bob
        # Everyone in eng may run sudo; pam_jit decides whether it may now.
        echo '%eng ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/jit
        chmod 0440 /etc/sudoers.d/jit
        mkdir -p /etc/jit
        chmod 0755 /etc/jit
        cat > /etc/jit/jit.conf <<'CONF'
{
  "version": 1,
  "settings": { "expiry": "loop", "request_ttl": "1h" },
  "roles": {
    "ops": {
      "description": "Restart and inspect services",
      "group": "jit-ops",
      "default_ttl": "15m",
      "max_ttl": "1h",
      "requesters": { "groups": ["eng"] },
      "approvers": { "groups": ["sre"] },
      "deny": [
        { "id": "no-shells", "commands": ["/usr/bin/bash*", "/bin/bash*", "/usr/bin/sh *"],
          "reason": "interactive shells are never granted through jit" }
      ]
    }
  },
  "templates": {
    "read-logs": {
      "role": "ops",
      "description": "Reading the journal is routine",
      "groups": ["eng"],
      "commands": ["/usr/bin/journalctl *", "/usr/bin/journalctl"],
      "max_ttl": "5m"
    }
  }
}
CONF
        chmod 0644 /etc/jit/jit.conf
        chmod 0711 "$W"
        # bob signs his decisions: a key sealed by a passphrase, registered by root.
        BOBPASS=$W/home/bob/.jit-passphrase
        echo "correct horse battery staple" > "$BOBPASS"
        chown bob: "$BOBPASS"; chmod 0600 "$BOBPASS"
        runuser -u bob -- "$BUILD/jitctl" keygen --passphrase-file "$BOBPASS" >/dev/null
        "$BUILD/jitctl" approver add bob "$W/home/bob/.config/jit/approver.pub" >/dev/null
}

# pam_jit options for the sudo stack; the line goes first in the account phase.
# Both sudo stacks: Debian's sudo runs `sudo -i` through sudo-i.
sandbox_pam() {
        for stack in sudo sudo-i; do
                [ -e "/etc/pam.d/$stack" ] || continue
                sed -i '/pam_jit.so/d' "/etc/pam.d/$stack"
                sed -i "0,/^@include common-account/s||account required $BUILD/pam_jit.so role=ops $*\n@include common-account|" "/etc/pam.d/$stack"
        done
}

sandbox_start_service() {
        ready=$(grep -c 'jit service ready' "$W/service.log" 2>/dev/null || :)
        "$BUILD/jitctl" serve --state-dir "$W/state" --foreground ${1:+"$@"} 2>>"$W/service.log" &
        SERVICE_PID=$!
        for _ in $(seq 1 100); do
                [ "$(grep -c 'jit service ready' "$W/service.log" 2>/dev/null)" -gt "${ready:-0}" ] && return 0
                kill -0 "$SERVICE_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "the jit service did not start:" >&2
        cat "$W/service.log" >&2
        return 1
}

sandbox_stop_service() {
        [ -n "${SERVICE_PID:-}" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
        SERVICE_PID=
}

# Run a command as a user with a pseudo-terminal (so sudo has a tty).
as_user_tty() {
        u=$1; shift
        runuser -u "$u" -- script -qefc "$*" /dev/null
}

is_member() {
        getent group "$2" | cut -d: -f4 | tr ',' '\n' | grep -qx "$1"
}
