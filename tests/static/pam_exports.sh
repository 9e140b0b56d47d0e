#!/bin/sh
# pam_jit.so exports only the PAM entry points, links no libcurl (nor
# libsystemd: the module does no D-Bus or journal work), and is built with
# full RELRO and a non-executable stack.
set -u
so=${1:?usage: pam_exports.sh PATH/TO/pam_jit.so}
fail=0
exports=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
bad=$(printf '%s\n' "$exports" | grep -v '^pam_sm_' || true)
if [ -n "$bad" ]; then
        echo "not ok - pam_jit.so exports more than pam_sm_*:"; printf '  %s\n' $bad; fail=1
else
        echo "ok - exports only: $(printf '%s ' $exports)"
fi
libs=$(ldd "$so")
if printf '%s\n' "$libs" | grep -Eq 'libcurl|libsystemd'; then
        echo "not ok - pam_jit.so links libcurl or libsystemd:"; printf '%s\n' "$libs"; fail=1
else
        echo "ok - links no libcurl, no libsystemd"
fi
if readelf -d "$so" | grep -q 'BIND_NOW\|FLAGS.*NOW' && readelf -l "$so" | grep -q GNU_RELRO; then
        echo "ok - full RELRO (relro + now)"
else
        echo "not ok - missing RELRO/BIND_NOW"; fail=1
fi
if readelf -lW "$so" | grep GNU_STACK | grep -q 'RWE'; then
        echo "not ok - executable stack"; fail=1
else
        echo "ok - non-executable stack"
fi
exit $fail
