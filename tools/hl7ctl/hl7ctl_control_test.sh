#!/usr/bin/env bash
# hl7ctl's online commands against a real hl7d (hl7ctl_control_test.py), with
# Debian's interpreter and the e2e / test EHR helpers importable.
set -euo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
export PYTHONPATH="$root/tests/e2e:$root/tests/ehr${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -u "$root/tools/hl7ctl/hl7ctl_control_test.py" "$@"
