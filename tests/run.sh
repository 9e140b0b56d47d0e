#!/bin/sh
# The whole test suite, as CI runs it (.ci/run calls exactly this).
#
#   1. installs the build and test dependencies (Debian 12, root);
#   2. builds with the hardening flags and runs every test with ctest:
#      unit, PAM (real libpam), static checks, end-to-end with real sudo
#      in a private namespace, end-to-end with real systemd in nspawn;
#   3. rebuilds with ASan+UBSan and runs the unit and PAM tests again;
#   4. builds the libFuzzer targets with clang and runs each for
#      JIT_FUZZ_SECONDS (40), one per core at a time (2 cores: ~4 min).
#
# JIT_QUICK=1 skips steps 3 and 4.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the end-to-end tests need namespaces and overlay mounts" >&2; exit 1; }
sh tests/deps.sh
jobs=$(nproc)

echo "== build (hardened) and the whole suite"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

if [ "${JIT_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== ASan+UBSan: unit and PAM tests"
cmake -S . -B build-asan -DJIT_SANITIZE=ON -DJIT_E2E=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure

echo "== libFuzzer targets (clang), ${JIT_FUZZ_SECONDS:-40} s each, $jobs at a time"
CC=clang cmake -S . -B build-fuzz -DJIT_FUZZ=ON -DJIT_TESTS=OFF -DJIT_FUZZ_SECONDS="${JIT_FUZZ_SECONDS:-40}" >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz/fuzz --output-on-failure -j"$jobs"
