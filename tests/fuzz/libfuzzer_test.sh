#!/usr/bin/env bash
# Bazel wrapper for run_fuzzer.sh: builds and runs libFuzzer for $1 seconds in
# the test's temporary directory; fails on any crash or sanitizer report.
set -euo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
out=$("$root/tests/fuzz/run_fuzzer.sh" "$1" "$TEST_TMPDIR/fuzz" 2>&1) || {
  echo "$out"
  echo "FAIL: fuzzer found a problem or did not build"
  exit 1
}
echo "$out"
grep -q 'Done [0-9]* runs' <<<"$out" || { echo "FAIL: fuzzer did not finish"; exit 1; }
