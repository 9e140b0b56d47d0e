# bash completion for jitctl(8)                            -*- shell-script -*-
#
# Installed as bash-completion/completions/jitctl; works without the
# bash-completion package too (source it). Request and grant ids come from
# the service (`jitctl --json list`), template names and role names from the
# live policy (`jitctl --json template list`), each bounded by a 2 s timeout
# so that a stuck service never hangs the shell. After --fleet, the verbs
# and ids are the fleet's (`jitctl --fleet list`, through jit-fleet).
# tests/static/completion.sh checks the verbs and options here against
# `jitctl --help`.

# The verbs of jitctl/main.c's dispatch table, in its order.
_jitctl_verbs="request wait list show approve deny cancel revoke done reconcile expire extend break-glass review policy template audit keygen approver verify doctor serve"

# The verbs after --fleet (jitctl/fleet.c).
_jitctl_fleet_verbs="list show approve deny audit"

# Options of each verb (for policy, template, audit: of each sub-verb; after
# --fleet, of "fleet VERB").
_jitctl_opts() {
        case $1 in
        "fleet list") echo "--host --role --user" ;;
        "fleet approve") echo "--comment --passphrase-file --key --timeout" ;;
        "fleet deny") echo "--reason --passphrase-file --key --timeout" ;;
        "fleet audit verify") echo "--file --host" ;;
        fleet*) ;;
        request) echo "--for --reason --task --single-use --bind --wait --timeout --hosts" ;;
        wait) echo "--timeout" ;;
        list) echo "--active --all" ;;
        approve) echo "--for --comment --passphrase-file --key" ;;
        deny) echo "--reason --passphrase-file --key" ;;
        extend) echo "--for --reason --wait --timeout" ;;
        break-glass) echo "--reason --for --passphrase-file --key" ;;
        review) echo "--comment" ;;
        "policy test") echo "--user --role --groups --rhost --tty --time --command --unit --service --target-user --for --requests --denials --grants --break-glass --break-glass-count --config" ;;
        "policy replay") echo "--since --state-dir" ;;
        "template validate" | "template add") echo "--name" ;;
        "audit verify") echo "--file --key" ;;
        "audit show" | "audit export") echo "--user --grant --since --file" ;;
        "audit setgid") echo "--grant" ;;
        keygen) echo "--passphrase-file --force" ;;
        doctor) echo "--pam-dir --config --state-dir" ;;
        serve) echo "--config --state-dir --socket --foreground" ;;
        esac
}

# Sub-verbs, for the verbs that have them.
_jitctl_subverbs() {
        case $1 in
        policy) echo "check test replay" ;;
        template) echo "list show validate add remove" ;;
        audit) echo "verify show export setgid" ;;
        approver) echo "add remove list" ;;
        review) echo "list" ;;
        esac
}

# Options that take an argument (as count_positional in jitctl/main.c,
# and --pam-dir).
_jitctl_takes_arg() {
        case $1 in
        --for | --reason | --comment | --timeout | --config | --state-dir | --socket | --file | --key | \
        --user | --grant | --since | --passphrase-file | --role | --rhost | --tty | --time | --command | \
        --unit | --service | --target-user | --name | --requests | --denials | --grants | \
        --break-glass-count | --session | --groups | --task | --bind | --pam-dir | --host | \
        --fleet-socket) return 0 ;;
        esac
        return 1
}

# jitctl as the command line being completed would run it (its --socket
# and --fleet-socket).
_jitctl_run() {
        timeout 2 "${_jitctl_cmd[@]}" "$@" 2>/dev/null
}

# Ids from `jitctl --json list [ARGS]`: $1 is the prefix, r or g (or r|g).
_jitctl_ids() {
        local kind=$1
        shift
        _jitctl_run --json list "$@" |
                sed -nE "s/^[[:space:]]*\"id\":[[:space:]]*\"(($kind)-[0-9a-z]+)\".*/\1/p"
}

# The values of one string key in `jitctl --json ...` output.
_jitctl_json_values() {
        local key=$1
        shift
        _jitctl_run --json "$@" |
                sed -nE "s/^[[:space:]]*\"$key\":[[:space:]]*\"([A-Za-z0-9_.@-]+)\".*/\1/p" | sort -u
}

# Role names: those of the live policy's templates, and of the requests and
# grants the caller may see (the service lists no roles as such).
_jitctl_roles() {
        { _jitctl_json_values role template list; _jitctl_json_values role list --all; } | sort -u
}

# Column $1 (1 HOST, 2 REQUEST, 3 USER, 4 ROLE) of `jitctl --fleet list`;
# "ids": HOST/REQUEST and REQUEST. Names there have no spaces.
_jitctl_fleet_col() {
        _jitctl_run --fleet list | awk -v c="$1" 'NR > 1 && NF >= 4 {
                if (c == "ids") { print $1 "/" $2; print $2 } else print $c }' | sort -u
}

_jitctl_files() {
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_jitctl_dirs() {
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
}

_jitctl_words() {
        mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# Complete the argument of option $1.
_jitctl_optarg() {
        case $1 in
        --passphrase-file | --config | --file | --key | --socket | --fleet-socket) _jitctl_files ;;
        --state-dir | --pam-dir) _jitctl_dirs ;;
        --bind) _jitctl_words "session unit" ;;
        --tty) _jitctl_words "yes no" ;;
        --user | --target-user) mapfile -t COMPREPLY < <(compgen -u -- "$cur") ;;
        --groups)
                # A comma-separated list: complete its last entry.
                local head=${cur%"${cur##*,}"}
                mapfile -t COMPREPLY < <(compgen -P "$head" -g -- "${cur##*,}")
                compopt -o nospace 2>/dev/null
                ;;
        --role)
                if [[ -n $fleet ]]; then _jitctl_words "$(_jitctl_fleet_col 4)"; else _jitctl_words "$(_jitctl_roles)"; fi
                ;;
        --host) _jitctl_words "$(_jitctl_fleet_col 1) $(hostname 2>/dev/null)" ;;
        --grant) _jitctl_words "$(_jitctl_ids g --all)" ;;
        --service) _jitctl_words "sudo sudo-i sshd jitctl" ;;
        --for | --timeout | --since) _jitctl_words "5m 15m 30m 1h 2h 1d" ;;
        *) COMPREPLY=() ;;
        esac
}

# Complete positional argument number $2 (1 = the one after the verb) of
# verb $1; $3 is the sub-verb, if any.
_jitctl_positional() {
        local verb=$1 n=$2 sub=$3
        case $verb in
        "fleet show" | "fleet approve" | "fleet deny") ((n == 1)) && _jitctl_words "$(_jitctl_fleet_col ids)" ;;
        "fleet audit") ((n == 1)) && _jitctl_words "verify" ;;
        fleet*) ;;
        request | break-glass) ((n == 1)) && _jitctl_words "$(_jitctl_roles)" ;;
        wait | approve | deny | cancel) ((n == 1)) && _jitctl_words "$(_jitctl_ids r)" ;;
        revoke | done | expire | extend) ((n == 1)) && _jitctl_words "$(_jitctl_ids g)" ;;
        show) ((n == 1)) && _jitctl_words "$(_jitctl_ids 'r|g' --all)" ;;
        verify)
                if ((n == 1)); then
                        if [[ $cur == /* ]]; then _jitctl_files; else _jitctl_words "$(_jitctl_ids 'r|g' --all)"; fi
                fi
                ;;
        review) ((n == 1)) && _jitctl_words "list $(_jitctl_ids r)" ;;
        policy | template | audit | approver)
                if ((n == 1)); then
                        _jitctl_words "$(_jitctl_subverbs "$verb")"
                        return
                fi
                case "$verb $sub" in
                "policy check" | "policy replay") ((n == 2)) && _jitctl_files ;;
                "template show" | "template remove") ((n == 2)) && _jitctl_words "$(_jitctl_json_values name template list)" ;;
                "template validate" | "template add") ((n == 2)) && _jitctl_files ;;
                "audit setgid") _jitctl_dirs ;;
                "approver add")
                        if ((n == 2)); then
                                mapfile -t COMPREPLY < <(compgen -u -- "$cur")
                        elif ((n == 3)); then
                                _jitctl_files
                        fi
                        ;;
                "approver remove") ((n == 2)) && mapfile -t COMPREPLY < <(compgen -u -- "$cur") ;;
                esac
                ;;
        esac
}

_jitctl() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=
        local -a _jitctl_cmd=("${COMP_WORDS[0]}") args=()
        local i w verb='' sub='' fleet=''

        COMPREPLY=()
        ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
        # --opt=value: bash splits it at "=" (COMP_WORDBREAKS).
        if [[ $cur == = ]]; then
                cur='' prev=${COMP_WORDS[COMP_CWORD - 1]}
        elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
                prev=${COMP_WORDS[COMP_CWORD - 2]}
        fi
        [[ ${_jitctl_cmd[0]} == jitctl || ! -x ${_jitctl_cmd[0]} ]] && _jitctl_cmd=(jitctl)

        # Walk the words before the cursor: global options, the verb, and
        # its positional arguments (options and their values skipped).
        for ((i = 1; i < COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                case $w in
                --json) continue ;;
                --fleet)
                        fleet=1
                        continue
                        ;;
                --socket | --fleet-socket)
                        ((i++))
                        [[ ${COMP_WORDS[i]:-} == = ]] && ((i++))
                        ((i < COMP_CWORD)) && _jitctl_cmd+=("$w" "${COMP_WORDS[i]}")
                        continue
                        ;;
                --socket=*)
                        _jitctl_cmd+=("$w")
                        continue
                        ;;
                = | --*=*) continue ;;
                -*)
                        if _jitctl_takes_arg "$w"; then
                                ((i++))
                                [[ ${COMP_WORDS[i]:-} == = ]] && ((i++))
                        fi
                        continue
                        ;;
                esac
                if [[ -z $verb ]]; then
                        verb=$w
                else
                        args+=("$w")
                fi
        done
        sub=${args[0]:-}
        [[ -n $fleet && -n $verb ]] && verb="fleet $verb"

        # The argument of an option.
        if [[ $prev == -* ]] && _jitctl_takes_arg "$prev"; then
                _jitctl_optarg "$prev"
                return 0
        fi

        if [[ -z $verb ]]; then
                if [[ $cur == -* ]]; then
                        _jitctl_words "--json --socket --fleet --fleet-socket --help --version"
                elif [[ -n $fleet ]]; then
                        _jitctl_words "$_jitctl_fleet_verbs"
                else
                        _jitctl_words "$_jitctl_verbs help"
                fi
                return 0
        fi

        if [[ $cur == -* ]]; then
                local opts
                opts=$(_jitctl_opts "$verb")
                [[ -n $sub ]] && opts+=" $(_jitctl_opts "$verb $sub")"
                if [[ -n $fleet ]]; then
                        _jitctl_words "$opts --json --fleet-socket"
                else
                        _jitctl_words "$opts --json --socket"
                fi
                return 0
        fi
        _jitctl_positional "$verb" $((${#args[@]} + 1)) "$sub"
        return 0
}

complete -F _jitctl jitctl
