#!/usr/bin/env bash
# Converts the whole HL7 corpus with `hl7ctl convert` and validates every
# produced resource (and the golden Bundles); also proves the validator
# rejects what it must (a bogus status, a missing required element).
set -uo pipefail
root="$TEST_SRCDIR/$TEST_WORKSPACE"
# Run the validator from the source tree so Node finds node_modules beside it.
validator=$(readlink -f "$root/tests/fhir_validate/validate.mjs")
[[ -d "$(dirname "$validator")/node_modules/@medplum/core" ]] || {
  echo "FAIL: @medplum packages missing; run tools/install-deps"; exit 1; }
out="$TEST_TMPDIR/converted"
mkdir -p "$out"
for f in "$root"/tests/data/hl7/*.hl7; do
  "$root/tools/hl7ctl/hl7ctl" convert --ndjson "$f" > "$out/$(basename "$f").ndjson" 2>/dev/null
done
n=$(cat "$out"/*.ndjson | grep -c resourceType)
[[ "$n" -ge 10 ]] || { echo "FAIL: only $n bundles converted"; exit 1; }
node "$validator" "$out"/*.ndjson || { echo "FAIL: converted output invalid"; exit 1; }
node "$validator" "$root"/tests/data/fhir/*.json || { echo "FAIL: golden bundles invalid"; exit 1; }

# The validator itself must catch errors (else this test could not fail).
sed 's/"status":"final"/"status":"bogus"/' "$out/oru_r01_v23_hematology.hl7.ndjson" > "$TEST_TMPDIR/bogus.ndjson"
if node "$validator" "$TEST_TMPDIR/bogus.ndjson" > "$TEST_TMPDIR/bogus.out"; then
  echo "FAIL: bogus status accepted"; exit 1
fi
grep -q 'not in required value set' "$TEST_TMPDIR/bogus.out" || { echo "FAIL: no value-set finding"; exit 1; }
echo '{"resourceType":"Observation","status":"final"}' > "$TEST_TMPDIR/nocode.json"
if node "$validator" "$TEST_TMPDIR/nocode.json"; then
  echo "FAIL: Observation without code accepted"; exit 1
fi
echo "PASS"
