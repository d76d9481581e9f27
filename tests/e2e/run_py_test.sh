#!/usr/bin/env bash
# Runs a Python end-to-end test with Debian's interpreter (python3-hl7 is
# installed for /usr/bin/python3, not for other python3s on PATH).
set -euo pipefail
here="$TEST_SRCDIR/$TEST_WORKSPACE/tests/e2e"
cd "$here"
script=$1
shift
exec /usr/bin/python3 -u "$here/$script" "$@"
