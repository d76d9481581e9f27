#!/usr/bin/env bash
# Runs the dashboard end-to-end test with Debian's interpreter (see
# tests/e2e/run_py_test.sh).
set -euo pipefail
here="$TEST_SRCDIR/$TEST_WORKSPACE/tests/dashboard"
cd "$here"
exec /usr/bin/python3 -u "$here/dashboard_e2e_test.py" "$@"
