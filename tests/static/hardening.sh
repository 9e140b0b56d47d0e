#!/bin/sh
# The binaries carry the hardening the build asks for: PIE (jitctl), full
# RELRO, a non-executable stack, stack protector and _FORTIFY_SOURCE.
set -u
fail=0
for bin in "$@"; do
        name=$(basename "$bin")
        case $name in
        *.so) ;;
        *) if readelf -h "$bin" | grep -q 'DYN (Position-Independent'; then echo "ok - $name is PIE"
           else echo "not ok - $name is not PIE"; fail=1; fi ;;
        esac
        if readelf -d "$bin" | grep -Eq 'BIND_NOW|FLAGS.*NOW' && readelf -lW "$bin" | grep -q GNU_RELRO; then
                echo "ok - $name has full RELRO"
        else
                echo "not ok - $name lacks full RELRO"; fail=1
        fi
        if readelf -lW "$bin" | grep GNU_STACK | grep -q RWE; then
                echo "not ok - $name has an executable stack"; fail=1
        else
                echo "ok - $name has a non-executable stack"
        fi
        syms=$(nm -D "$bin" 2>/dev/null; nm "$bin" 2>/dev/null)
        if printf '%s\n' "$syms" | grep -q '__stack_chk_fail'; then echo "ok - $name uses the stack protector"
        else echo "not ok - $name has no stack protector"; fail=1; fi
        if printf '%s\n' "$syms" | grep -q '__[a-z]*_chk'; then echo "ok - $name is built with _FORTIFY_SOURCE"
        else echo "not ok - $name is not fortified"; fail=1; fi
done
exit $fail
