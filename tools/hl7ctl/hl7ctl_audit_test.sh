#!/usr/bin/env bash
# Black-box: hl7d stores a few messages; `hl7ctl audit verify` says OK; after
# one byte of a message's audited control id is flipped in the LMDB file it
# names that message's first record.
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
# Records: start, configuration, per message received and acknowledged, stop
# (13), plus mapped/delivered ones for what the pipeline finished before the
# SIGTERM.
[[ $rc == 0 && "$out" =~ ^OK:\ ([0-9]+)\ audit\ records\ \(1\.\. && ${BASH_REMATCH[1]} -ge 13 &&
   "$out" == *"checkpoint authentic" ]] || { echo "FAIL intact: rc=$rc $out"; fail=1; }

# Export: JSON lines (one per record), filters, FHIR AuditEvents that validate.
total=${BASH_REMATCH[1]:-0}
lines=$("$HL7CTL" audit export --data_dir="$work/data" 2>/dev/null | wc -l)
[[ $lines == "$total" ]] || { echo "FAIL export: $lines lines for $total records"; fail=1; }
n=$("$HL7CTL" audit export --data_dir="$work/data" --type=AUDIT_MESSAGE_RECEIVED 2>/dev/null | grep -c '"type":"AUDIT_MESSAGE_RECEIVED"')
[[ $n == 5 ]] || { echo "FAIL export --type: $n"; fail=1; }
n=$("$HL7CTL" audit export --data_dir="$work/data" --to=2000-01-01 2>/dev/null | wc -l)
[[ $n == 0 ]] || { echo "FAIL export --to: $n"; fail=1; }
"$HL7CTL" audit export --data_dir="$work/data" --format=fhir --out="$work/audit.ndjson" 2>/dev/null ||
  { echo "FAIL export fhir"; fail=1; }
n=$(grep -c '"resourceType":"AuditEvent"' "$work/audit.ndjson")
[[ $n == "$total" ]] || { echo "FAIL fhir export: $n events"; fail=1; }
validator=$(readlink -f "$root/tests/fhir_validate/validate.mjs")
if [[ -d "$(dirname "$validator")/node_modules/@medplum/core" ]]; then
  node "$validator" "$work/audit.ndjson" > "$work/validate.out" ||
    { echo "FAIL AuditEvents invalid:"; head -5 "$work/validate.out"; fail=1; }
else
  echo "FAIL: @medplum packages missing; run tools/install-deps"; fail=1
fi
"$HL7CTL" audit export --data_dir="$work/data" --format=xml >/dev/null 2>&1
rc=$?; [[ $rc == 64 ]] || { echo "FAIL export usage: rc=$rc"; fail=1; }

# Where AUD-2 (message 3) was received: the record the tampering must be found at.
want=$("$HL7CTL" audit export --data_dir="$work/data" --type=AUDIT_MESSAGE_RECEIVED --message_seq=3 2>/dev/null |
  /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["seq"])')
# Tamper: change message AUD-2's control id where its audit records keep it
# (its MessageMeta holds the intake's two records; mapping and delivery
# records in the audit sub-database repeat it).
/usr/bin/python3 - "$work/data/data.mdb" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
# Every copy: LMDB keeps stale copies of rewritten pages in its free list,
# and which copy is live depends on the page reuse order.
i = b.find(b"AUD-2")
assert i >= 0
while i >= 0:
    b[i + 4] = ord("X")
    i = b.find(b"AUD-2", i + 1)
open(p, "wb").write(bytes(b))
PY
out=$("$HL7CTL" audit verify --data_dir="$work/data"); rc=$?
[[ $rc == 1 && "$out" == "TAMPERED at audit record $want: "* ]] ||
  { echo "FAIL tampered (want record $want): rc=$rc $out"; fail=1; }
echo "$out"

"$HL7CTL" audit verify --data_dir="$work/data" --key_file=/nonexistent.key >/dev/null 2>&1
rc=$?; [[ $rc == 2 ]] || { echo "FAIL missing key: rc=$rc"; fail=1; }
"$HL7CTL" audit verify >/dev/null 2>&1
rc=$?; [[ $rc == 64 ]] || { echo "FAIL usage: rc=$rc"; fail=1; }
exit $fail
