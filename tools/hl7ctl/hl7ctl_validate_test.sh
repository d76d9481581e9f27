#!/usr/bin/env bash
# Black-box test of `hl7ctl validate`: exit statuses 0/1/2 and the printed ACK
# codes for every file of the corpus (tests/data/hl7/expected.txt).
set -uo pipefail
HL7CTL="$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7ctl/hl7ctl"
CORPUS="$TEST_SRCDIR/$TEST_WORKSPACE/tests/data/hl7"
fail=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1: expected [$2], got [$3]"
    fail=1
  else
    echo "ok: $1"
  fi
}

# Each corpus file: the codes printed per message, and the exit status.
while read -r name codes; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  out=$("$HL7CTL" validate "$CORPUS/$name")
  rc=$?
  printed=$(printf '%s\n' "$out" | sed -n 's/^.*: message [0-9]* of [0-9]*.*: \([AC][AER]\)\( (not sent.*)\)\{0,1\}$/\1/p' | tr '\n' ' ' | sed 's/ $//')
  check "$name codes" "$codes" "$printed"
  expected_rc=0
  for c in $codes; do [[ "$c" == AA || "$c" == CA ]] || expected_rc=1; done
  check "$name exit status" "$expected_rc" "$rc"
  # Every message prints its ACK, whose MSA-1 is the code.
  n_acks=$(printf '%s\n' "$out" | grep -c '^       MSA.')
  check "$name ACK count" "$(wc -w <<<"$codes" | tr -d ' ')" "$n_acks"
done < "$CORPUS/expected.txt"

# Findings are explained in plain words with their location.
out=$("$HL7CTL" validate "$CORPUS/oru_r01_bad_numeric.hl7")
grep -q '^  error 102 at OBX-5(1): observation value (OBX-5) is not a number (NM)$' <<<"$out"
check "finding line" 0 $?
# No PHI from the message in the findings (the ACK echoes only MSH fields).
grep -q 'TESTPATIENT' <<<"$out"
check "no patient name printed" 1 $?

# Several files: 1 when any is not accepted, 0 when all are.
"$HL7CTL" validate "$CORPUS/adt_a01_v25.hl7" "$CORPUS/orm_o01_v24.hl7" >/dev/null
check "all accepted" 0 $?
"$HL7CTL" validate "$CORPUS/adt_a01_v25.hl7" "$CORPUS/unsupported_type_mdm.hl7" >/dev/null
check "one rejected" 1 $?

# Unreadable input: 2, with a readable line on stderr, even next to good files.
err=$("$HL7CTL" validate "$CORPUS/adt_a01_v25.hl7" /nonexistent/file.hl7 2>&1 >/dev/null)
rc=$?
check "unreadable exit" 2 "$rc"
grep -q '^/nonexistent/file.hl7: cannot read: No such file or directory$' <<<"$err"
check "unreadable message" 0 $?
"$HL7CTL" validate "$CORPUS" >/dev/null 2>&1
check "directory is unreadable as a file" 2 $?

# Usage errors.
"$HL7CTL" validate >/dev/null 2>&1
check "no files" 64 $?
"$HL7CTL" frobnicate >/dev/null 2>&1
check "unknown command" 64 $?
"$HL7CTL" --help | grep -q 'validate FILE'
check "help" 0 $?

exit $fail
