# Shared by tests/e2e/notify.sh and bench/notify-latency.sh: webhook
# receivers with a test CA, target keys, the policy's notify section, and
# jit-notify in the foreground. Source after lib.sh, inside the sandbox
# (which also has a private network namespace: `unshare -n`, lo brought
# up here, so the ports are the test's alone).
#
# Needs: BUILD, W, SRC (the source tree); PY (a python3).

# A CA and a server certificate for 127.0.0.1 signed by it, and a second
# CA with its own server certificate (the "wrong certificate").
notify_pki() {
        ip link set lo up
        mkdir -p "$W/pki"
        (
                cd "$W/pki" || exit 1
                for ca in ca other; do
                        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                                -subj "/CN=jit test $ca CA" -keyout "$ca-ca.key" -out "$ca-ca.pem" 2>/dev/null || exit 1
                        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
                                -keyout "$ca-srv.key" -out "$ca-srv.csr" 2>/dev/null || exit 1
                        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > san.ext
                        openssl x509 -req -in "$ca-srv.csr" -CA "$ca-ca.pem" -CAkey "$ca-ca.key" -CAcreateserial \
                                -days 2 -extfile san.ext -out "$ca-srv.pem" 2>/dev/null || exit 1
                done
        ) || { echo "openssl could not make the test certificates" >&2; return 1; }
        install -d -m 0700 -o root /etc/jit/notify
        install -m 0644 -o root "$W/pki/ca-ca.pem" /etc/jit/notify/ca.pem
}

# A target's HMAC key: /etc/jit/notify/NAME.key, root's, 0600.
notify_key() {
        (umask 077; head -c 32 /dev/urandom | base64 > "/etc/jit/notify/$1.key")
}

# notify_receiver NAME PORT MODE [CERTNAME] [args...]: a receiver logging to
# $W/recv-NAME.log, verifying signatures with NAME's key if there is one.
notify_receiver() {
        name=$1 port=$2 mode=$3 cert=${4:-ca}
        shift 4 2>/dev/null || shift $#
        set -- --port "$port" --mode "$mode" --log "$W/recv-$name.log" \
                --cert "$W/pki/$cert-srv.pem" --key "$W/pki/$cert-srv.key" "$@"
        [ -e "/etc/jit/notify/$name.key" ] && set -- "$@" --hmac-key "/etc/jit/notify/$name.key"
        : > "$W/recv-$name.log"
        "$PY" "$SRC/tests/e2e/notify_receiver.py" "$@" 2>>"$W/recv-$name.err" &
        RECEIVER_PIDS="${RECEIVER_PIDS:-} $!"
        for _ in $(seq 1 100); do
                [ -e "$W/recv-$name.log.ready" ] && return 0
                sleep 0.05
        done
        echo "receiver $name did not start:" >&2
        cat "$W/recv-$name.err" >&2
        return 1
}

notify_stop_receivers() {
        for p in ${RECEIVER_PIDS:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        RECEIVER_PIDS=
}

# notify_policy PYTHON-EXPR: set d["notify"] and the ops role's "notify"
# in /etc/jit/jit.conf from a Python snippet that edits the dict d.
notify_policy() {
        "$PY" - "$1" <<'PY' || return 1
import json, os, sys
W = os.environ.get("W", "")
p = "/etc/jit/jit.conf"
d = json.load(open(p))
exec(sys.argv[1])
open(p + ".new", "w").write(json.dumps(d, indent=2))
PY
        chmod 0644 /etc/jit/jit.conf.new && mv /etc/jit/jit.conf.new /etc/jit/jit.conf
        "$BUILD/jitctl" policy check /etc/jit/jit.conf >/dev/null || { "$BUILD/jitctl" policy check /etc/jit/jit.conf; return 1; }
}

notify_start() {
        ready=$(grep -c 'watching' "$W/notify.log" 2>/dev/null || :)
        "$BUILD/jit-notify" --outbox "$W/state/outbox" 2>>"$W/notify.log" &
        NOTIFY_PID=$!
        for _ in $(seq 1 100); do
                [ "$(grep -c 'watching' "$W/notify.log" 2>/dev/null)" -gt "${ready:-0}" ] && return 0
                kill -0 "$NOTIFY_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "jit-notify did not start:" >&2
        cat "$W/notify.log" >&2
        return 1
}

notify_stop() {
        [ -n "${NOTIFY_PID:-}" ] && kill "$NOTIFY_PID" 2>/dev/null && wait "$NOTIFY_PID" 2>/dev/null
        NOTIFY_PID=
}
