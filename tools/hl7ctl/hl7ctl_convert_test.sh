#!/usr/bin/env bash
# Black-box test of `hl7ctl convert`: output equals the golden Bundles, NDJSON
# has one Bundle per line, findings go to stderr, exit statuses 0/1/2/64.
set -uo pipefail
HL7CTL="$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7ctl/hl7ctl"
CORPUS="$TEST_SRCDIR/$TEST_WORKSPACE/tests/data/hl7"
GOLDEN="$TEST_SRCDIR/$TEST_WORKSPACE/tests/data/fhir"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1: expected [$2], got [$3]"
    fail=1
  else
    echo "ok: $1"
  fi
}

# Every corpus file with golden Bundles converts to exactly those bytes.
for golden in "$GOLDEN"/*.json; do
  name=$(basename "$golden" .json)
  "$HL7CTL" convert --site_tz=Europe/Zurich "$CORPUS/$name.hl7" >"$TMP/out.json" 2>/dev/null
  if cmp -s "$golden" "$TMP/out.json"; then
    check "$name matches golden" same same
  else
    check "$name matches golden" same different
  fi
done

# Exit statuses.
"$HL7CTL" convert --site_tz=Europe/Zurich "$CORPUS/oru_r01_v251_chemistry.hl7" "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>&1
check "all mapped" 0 $?
err=$("$HL7CTL" convert "$CORPUS/oru_r01_bad_numeric.hl7" 2>&1 >/dev/null)
check "unmappable value exits 1" 1 $?
grep -q 'error invalid-value at OBX-5(1): value is not a number' <<<"$err"
check "finding on stderr" 0 $?
grep -q '1,5\|TESTPATIENT' <<<"$err"
check "no values or names in findings" 1 $?
"$HL7CTL" convert "$CORPUS/unsupported_type_mdm.hl7" >/dev/null 2>&1
check "unsupported type exits 1" 1 $?
"$HL7CTL" convert "$CORPUS/adt_a01_v25.hl7" /nonexistent.hl7 >/dev/null 2>&1
check "unreadable exits 2" 2 $?
"$HL7CTL" convert --site_tz=Mars/Base "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>&1
check "bad zone exits 2" 2 $?
"$HL7CTL" convert >/dev/null 2>&1
check "no files" 64 $?
"$HL7CTL" convert --frob "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>&1
check "unknown flag" 64 $?

# NDJSON: one line per message (the batch holds two).
lines=$("$HL7CTL" convert --ndjson "$CORPUS/batch_two_oru.hl7" "$CORPUS/adt_a01_v25.hl7" | wc -l | tr -d ' ')
check "ndjson lines" 3 "$lines"
first=$("$HL7CTL" convert --ndjson "$CORPUS/adt_a01_v25.hl7" | head -c 47)
check "ndjson is compact" '{"resourceType":"Bundle","type":"transaction","' "$first"

# Terminology CSV: a local code gets its LOINC coding; strict mode holds
# unmapped codes.
cat >"$TMP/msg.hl7" <<'MSG'
MSH|^~\&|LIS|LAB|EHR|HOSP|20260301101500||ORU^R01^ORU_R01|C1|P|2.5.1
PID|1||MRN7^^^HOSP^MR||DOE^JANE||19800101|F
OBR|1||FI1^LIS|PANEL^Panel^99LAB|||202603011000||||||||||||||||||F
OBX|1|NM|GLU^Glucose^99LAB||5.1|mmol/L|||||F
MSG
tr '\n' '\r' <"$TMP/msg.hl7" >"$TMP/msg_cr.hl7"
printf 'kind,source_system,source_code,facility,target_system,target_code,target_display\ncode,99LAB,GLU,,http://loinc.org,2345-7,Glucose\ncode,99LAB,PANEL,,http://loinc.org,24323-8,Panel\n' >"$TMP/map.csv"
out=$("$HL7CTL" convert --ndjson --terminology="$TMP/map.csv" --strict "$TMP/msg_cr.hl7")
check "mapped with terminology (strict)" 0 $?
grep -q '"system":"http://loinc.org","code":"2345-7"' <<<"$out"
check "local code mapped to LOINC" 0 $?
"$HL7CTL" convert --strict "$TMP/msg_cr.hl7" >/dev/null 2>&1
check "strict holds unmapped" 1 $?
"$HL7CTL" convert "$TMP/msg_cr.hl7" >/dev/null 2>&1
check "default keeps and flags unmapped" 0 $?
printf 'code,99LAB\n' >"$TMP/bad.csv"
"$HL7CTL" convert --terminology="$TMP/bad.csv" "$TMP/msg_cr.hl7" >/dev/null 2>&1
check "bad terminology exits 2" 2 $?

# `validate` is untouched and help lists convert.
"$HL7CTL" --help | grep -q 'convert FILE'
check "help lists convert" 0 $?

exit $fail
