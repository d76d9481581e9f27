#!/usr/bin/env bash
# Runs a Python test of the test EHR with Debian's interpreter, like
# tests/e2e/run_py_test.sh; tests/e2e is on the path for harness.main().
set -euo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
here="$root/tests/ehr"
cd "$here"
script=$1
shift
export PYTHONPATH="$here:$root/tests/e2e${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -u "$here/$script" "$@"
