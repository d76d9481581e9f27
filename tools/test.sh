#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine:
#   tools/test.sh            # installs deps, runs all tests but the long ones
#   tools/test.sh --long     # also the long ones (soak, crash loops, long fuzz)
# Extra arguments go to `bazel test`. Ends with one line "N passed, N failed"
# counting test cases (gtest cases, not just targets); exits non-zero on any
# failure.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/install-deps || { echo "0 passed, 1 failed"; exit 1; }

tag_filter="--test_tag_filters=-long"
args=()
for a in "$@"; do
  if [[ "$a" == "--long" ]]; then tag_filter=""; else args+=("$a"); fi
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test //... ${tag_filter:+"$tag_filter"} "${args[@]+"${args[@]}"}" 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}

/usr/bin/python3 tools/test_summary.py "$log" "$(bazel info bazel-testlogs 2>/dev/null)"
summary_rc=$?
if ((bazel_rc != 0 || summary_rc != 0)); then exit 1; fi
exit 0
