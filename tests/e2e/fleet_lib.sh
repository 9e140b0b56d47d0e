# The fleet harness, shared by tests/e2e/fleet.sh and bench/fleet.sh.
#
# Every etcd member and every host is its own network namespace on a
# private bridge (10.231.0.0/24, inside namespaces only); each host also
# has its own mount, UTS and pid namespaces with the overlay /etc sandbox of
# tests/e2e/lib.sh and runs the real service, jit-fleet and sudo with
# pam_jit (tests/e2e/fleet_host.sh). etcd members' certificates carry
# clientAuth as well as serverAuth: its JSON gateway dials the member with
# them. Hosts are enrolled by fleet/jit-fleet-enrol (client certificate
# without a Common Name, an etcd user and role per host).
#
# Source it from a script already running in a private mount namespace
# (unshare -m --propagation private), with BUILD and SRC set; it makes R.

NET=10.231.0
ENDPOINTS=https://$NET.11:2379,https://$NET.12:2379,https://$NET.13:2379
CLUSTER=jf-e1=http://$NET.11:2380,jf-e2=http://$NET.12:2380,jf-e3=http://$NET.13:2380
FLEET_NS="br"

fleet_addr() { # name -> last octet: e1-e3 .11-.13, hA hB hC .21-.23, hN (N = 1..150) .(100 + N)
        case $1 in
        e1) echo 11;; e2) echo 12;; e3) echo 13;; hA) echo 21;; hB) echo 22;; hC) echo 23;;
        h[0-9]*) echo $((100 + ${1#h}));;
        esac
}

fleet_cleanup() {
        # each host's pid namespace ends with its first process (the child of unshare)
        for p in $(cat "$R"/*.upid 2>/dev/null); do
                kill -KILL $(pgrep -P "$p") "$p" 2>/dev/null
        done
        for p in $(cat "$R"/*.epid 2>/dev/null); do kill "$p" 2>/dev/null; done
        sleep 0.3
        for x in $FLEET_NS; do ip netns del "jf-$x" 2>/dev/null; done
        umount /run/netns 2>/dev/null
        [ "${JIT_KEEP:-0}" = 1 ] || rm -rf "$R"
}

fleet_init() {
        R=$(mktemp -d /tmp/jit-fleet.XXXXXX)
        chmod 0711 "$R"
        mkdir -p /run/netns
        mount -t tmpfs -o mode=0755 tmpfs /run/netns
        trap fleet_cleanup EXIT
        ip netns add jf-br
        ip -n jf-br link add br0 type bridge
        ip -n jf-br link set br0 up
}

fleet_net() { # names...: a namespace each, on the bridge
        for x in "$@"; do
                ip netns add "jf-$x"
                ip -n jf-br link add "p-$x" type veth peer name eth0 netns "jf-$x"
                ip -n jf-br link set "p-$x" master br0 up
                ip -n "jf-$x" addr add "$NET.$(fleet_addr "$x")/24" dev eth0
                ip -n "jf-$x" link set eth0 up
                ip -n "jf-$x" link set lo up
                FLEET_NS="$FLEET_NS $x"
        done
}

fleet_pki() {
        P=$R/pki
        mkdir -p "$P"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/ca.key" -out "$P/ca.pem" \
                -days 2 -subj "/CN=jit fleet test CA" 2>/dev/null
        for x in e1 e2 e3; do
                openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$x.key" \
                        -out "$P/$x.csr" -subj "/CN=$x" 2>/dev/null
                printf 'subjectAltName=IP:%s.%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$NET" "$(fleet_addr $x)" \
                        > "$P/$x.ext"
                openssl x509 -req -in "$P/$x.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
                        -extfile "$P/$x.ext" -out "$P/$x.pem" 2>/dev/null
        done
}

fleet_member() { # x [new|existing]
        a=$NET.$(fleet_addr "$1")
        ip netns exec "jf-$1" etcd --name "jf-$1" --data-dir "$R/$1.data" \
                --listen-client-urls "https://$a:2379" --advertise-client-urls "https://$a:2379" \
                --listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
                --initial-cluster "$CLUSTER" --initial-cluster-state "${2:-new}" \
                --heartbeat-interval 50 --election-timeout 500 \
                --cert-file "$P/$1.pem" --key-file "$P/$1.key" --trusted-ca-file "$P/ca.pem" --client-cert-auth \
                >>"$R/$1.log" 2>&1 &
        echo $! > "$R/$1.epid"
}

# The cluster and its access control (jit-fleet-enrol init, from hA's namespace).
fleet_etcd() {
        fleet_pki
        for x in e1 e2 e3; do fleet_member "$x"; done
        echo "rootpw-$$-$RANDOM" > "$R/rootpw"
        chmod 0600 "$R/rootpw"
        E=$R/enrol
        for _ in $(seq 1 100); do
                ip netns exec jf-hA "$SRC/fleet/jit-fleet-enrol" init --endpoints "$ENDPOINTS" --ca-cert "$P/ca.pem" \
                        --ca-key "$P/ca.key" --root-password-file "$R/rootpw" --out "$E" >"$R/init.log" 2>&1 && return 0
                sleep 0.2
        done
        return 1
}

etc() { # etcdctl as etcd's root, from hA's namespace
        ip netns exec jf-hA env ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --cacert "$P/ca.pem" \
                --cert "$E/admin/client.pem" --key "$E/admin/client.key" --user "root:$(cat "$R/rootpw")" "$@"
}

fleet_enrol() { # host
        ip netns exec jf-hA "$SRC/fleet/jit-fleet-enrol" host "$1" --endpoints "$ENDPOINTS" --ca-cert "$P/ca.pem" \
                --ca-key "$P/ca.key" --root-password-file "$R/rootpw" --out "$E" >>"$R/enrol.log" 2>&1
}

fleet_host() { # host: start it (hA first: the others take bob's key from it)
        mkdir -p "$R/$1"
        ip netns exec "jf-$1" unshare -m -u -p -f --mount-proc --propagation private \
                bash "$SRC/tests/e2e/fleet_host.sh" "$BUILD" "$1" "$R" >>"$R/$1.out" 2>&1 &
        echo $! > "$R/$1.upid"
}

fleet_host_ready() { # host [seconds]
        for _ in $(seq 1 $((${2:-10} * 20))); do [ -e "$R/$1/ready" ] && return 0; sleep 0.05; done
        return 1
}

on() { # host cmd...: run in the host's namespaces
        h=$1; shift
        nsenter -t "$(pgrep -P "$(cat "$R/$h.upid")" | head -1)" -m -u -n -p -- "$@"
}

wait_until() { # seconds cmd...
        t=$1; shift
        for _ in $(seq 1 $((t * 20))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
        return 1
}
