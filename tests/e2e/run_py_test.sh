#!/usr/bin/env bash
# Runs a Python end-to-end test with Debian's interpreter (python3-hl7 is
# installed for /usr/bin/python3, not for other python3s on PATH). The test
# EHR's helper (tests/ehr/ehr.py) is importable.
set -euo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
here="$root/tests/e2e"
cd "$here"
script=$1
shift
export PYTHONPATH="$here:$root/tests/ehr${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -u "$here/$script" "$@"
