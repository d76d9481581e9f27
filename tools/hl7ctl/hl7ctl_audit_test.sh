#!/usr/bin/env bash
# Black-box: hl7d stores a few messages; `hl7ctl audit verify` says OK; after
# one byte of one audit record is flipped in the LMDB file it names that record.
set -uo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
HL7CTL="$root/tools/hl7ctl/hl7ctl"
work="$TEST_TMPDIR/w"
mkdir -p "$work"
/usr/bin/python3 - "$root" "$work" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/e2e")
import harness as h
d = h.Hl7d(sys.argv[2]).start()
for i in range(5):
    assert h.msa(h.send_one(d.port, h.message("AUD-%d" % i)))[0] == "AA"
assert d.stop() == 0
PY
fail=0
out=$("$HL7CTL" audit verify --data_dir="$work/data"); rc=$?
[[ $rc == 0 && "$out" == "OK: 13 audit records"* ]] || { echo "FAIL intact: rc=$rc $out"; fail=1; }

# Tamper: change "answered AA" to "answered AR" in the stored audit records.
/usr/bin/python3 - "$work/data/data.mdb" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
# Every copy: LMDB keeps stale copies of rewritten pages in its free list,
# and which copy is live depends on the page reuse order.
i = b.find(b"answered AA")
assert i >= 0
while i >= 0:
    b[i + 10] = ord("R")
    i = b.find(b"answered AA", i + 1)
open(p, "wb").write(bytes(b))
PY
out=$("$HL7CTL" audit verify --data_dir="$work/data"); rc=$?
[[ $rc == 1 && "$out" == "TAMPERED at audit record "* ]] || { echo "FAIL tampered: rc=$rc $out"; fail=1; }
echo "$out"

"$HL7CTL" audit verify --data_dir="$work/data" --key_file=/nonexistent.key >/dev/null 2>&1
rc=$?; [[ $rc == 2 ]] || { echo "FAIL missing key: rc=$rc"; fail=1; }
"$HL7CTL" audit verify >/dev/null 2>&1
rc=$?; [[ $rc == 64 ]] || { echo "FAIL usage: rc=$rc"; fail=1; }
exit $fail
