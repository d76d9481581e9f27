#!/usr/bin/env bash
# Black-box test of hl7send against a Python MLLP test server
# (test_mllp_server.py): printed lines, summary, exit statuses 0/1/2/64,
# directory recursion, batch splitting, CR terminators on the wire, timeouts,
# connection errors and TLS (server verification, SNI name, client
# certificates).
set -uo pipefail
HL7SEND="$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7send/hl7send"
CORPUS="$TEST_SRCDIR/$TEST_WORKSPACE/tests/data/hl7"
TMP="$TEST_TMPDIR"
# shellcheck source=tools/hl7send/test_lib.sh
source "$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7send/test_lib.sh"

# Lines without the round-trip time, which varies.
strip_ms() { sed -E 's/ [0-9]+\.[0-9]{3}$//'; }

start_server plain
PLAIN=$PORT

# One message, a batch of two, CRLF and LF files.
out=$("$HL7SEND" --port="$PLAIN" "$CORPUS/adt_a01_v25.hl7" \
  "$CORPUS/batch_two_oru.hl7" "$CORPUS/oru_r01_v24_crlf.hl7" \
  "$CORPUS/oru_r01_v23_hematology.hl7")
rc=$?
check "all accepted exit" 0 "$rc"
check "lines" "$CORPUS/adt_a01_v25.hl7#1 AA ADT-A01-1
$CORPUS/batch_two_oru.hl7#1 AA BATCH-1
$CORPUS/batch_two_oru.hl7#2 AA BATCH-2
$CORPUS/oru_r01_v24_crlf.hl7#1 AA IMM-77
$CORPUS/oru_r01_v23_hematology.hl7#1 AA HEM20261102-0042
sent 5, AA 5, AE 0, AR 0, timeouts 0" "$(strip_ms <<<"$out")"
grep -Eq '^.*adt_a01_v25.hl7#1 AA ADT-A01-1 [0-9]+\.[0-9]{3}$' <<<"$out"
check "round trip ms with 3 decimals" 0 $?

# What arrived: batch headers dropped, every segment ended by one CR, no LF,
# same segments as the files.
/usr/bin/python3 - "$TMP/plain.jsonl" "$CORPUS" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["control_id"] for r in recs] == [
    "ADT-A01-1", "BATCH-1", "BATCH-2", "IMM-77", "HEM20261102-0042"], recs
for r in recs:
    p = r["payload"]
    assert p.startswith("MSH") and p.endswith("\r"), repr(p[-20:])
    assert "\n" not in p and "\r\r" not in p, repr(p)
    assert not re.search(r"(^|\r)(FHS|BHS|BTS|FTS)", p), repr(p)
def segments(name):
    text = open(sys.argv[2] + "/" + name, "rb").read().decode("latin-1")
    return [s for s in re.split(r"\r\n|\r|\n", text) if s]
assert recs[3]["payload"].split("\r")[:-1] == segments("oru_r01_v24_crlf.hl7")
assert recs[4]["payload"].split("\r")[:-1] == segments(
    "oru_r01_v23_hematology.hl7")
assert len({r["conn"] for r in recs}) == 1, "one connection"
PY
check "received with CR terminators, batch split, one connection" 0 $?

# Directories: recursive, sorted by path, hidden and non-HL7 files skipped;
# AE and AR answers make the exit status 1.
mkdir -p "$TMP/in/b/c" "$TMP/in/.hidden"
sed 's/|ADT-A01-1|/|AE-0001|/' "$CORPUS/adt_a01_v25.hl7" >"$TMP/in/b/c/z.hl7"
sed 's/|ORM-1|/|AR-0002|/' "$CORPUS/orm_o01_v24.hl7" >"$TMP/in/b/a.hl7"
cp "$CORPUS/oru_r01_v24_crlf.hl7" "$TMP/in/a.hl7"
cp "$CORPUS/oru_r01_utf8.hl7" "$TMP/in/.hidden/x.hl7"
cp "$CORPUS/oru_r01_utf8.hl7" "$TMP/in/.x.hl7"
echo "notes" >"$TMP/in/README"
out=$("$HL7SEND" --port="$PLAIN" "$TMP/in" 2>"$TMP/err")
rc=$?
check "directory exit" 1 "$rc"
check "directory lines" "$TMP/in/a.hl7#1 AA IMM-77
$TMP/in/b/a.hl7#1 AR AR-0002
$TMP/in/b/c/z.hl7#1 AE AE-0001
sent 3, AA 1, AE 1, AR 1, timeouts 0" "$(strip_ms <<<"$out")"
check "non-HL7 file in a directory skipped" \
  "$TMP/in/README: skipped, no HL7 message found" "$(cat "$TMP/err")"

# Timeout: no ACK for SLOW...; the next message goes on a new connection.
sed 's/|BATCH-1|/|SLOW-1|/' "$CORPUS/batch_two_oru.hl7" >"$TMP/slow.hl7"
: >"$TMP/plain.jsonl"
out=$("$HL7SEND" --port="$PLAIN" --timeout_ms=300 "$TMP/slow.hl7")
rc=$?
check "timeout exit" 1 "$rc"
check "timeout lines" "$TMP/slow.hl7#1 TIMEOUT -
$TMP/slow.hl7#2 AA BATCH-2
sent 2, AA 1, AE 0, AR 0, timeouts 1" "$(strip_ms <<<"$out")"
grep -Eq '#1 TIMEOUT - (3[0-9]{2}|[4-9][0-9]{2}|[0-9]{4})\.[0-9]{3}$' <<<"$out"
check "timeout waited about timeout_ms" 0 $?
conns=$(/usr/bin/python3 -c 'import json,sys; print(len({json.loads(l)["conn"] for l in open(sys.argv[1])}))' "$TMP/plain.jsonl")
check "reconnected after timeout" 2 "$conns"

# --quiet: only the summary.
out=$("$HL7SEND" --port "$PLAIN" --quiet "$CORPUS/batch_two_oru.hl7")
check "quiet" "sent 2, AA 2, AE 0, AR 0, timeouts 0" "$out"

# Connection error: exit 1 and a readable line on stderr.
free_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$("$HL7SEND" --port="$free_port" "$CORPUS/adt_a01_v25.hl7" 2>"$TMP/err")
rc=$?
check "connection refused exit" 1 "$rc"
check "connection refused message" \
  "hl7send: connect to 127.0.0.1:$free_port: Connection refused" \
  "$(head -1 "$TMP/err")"
check "connection refused summary" "sent 0, AA 0, AE 0, AR 0, timeouts 0" "$out"

# Unreadable input: 2 and nothing sent, even next to good files.
: >"$TMP/plain.jsonl"
"$HL7SEND" --port="$PLAIN" "$CORPUS/adt_a01_v25.hl7" /nonexistent/file.hl7 \
  >/dev/null 2>"$TMP/err"
check "unreadable exit" 2 $?
grep -q '^/nonexistent/file.hl7: cannot read: No such file or directory$' "$TMP/err"
check "unreadable message" 0 $?
check "nothing sent" 0 "$(wc -l <"$TMP/plain.jsonl" | tr -d ' ')"
"$HL7SEND" --port="$PLAIN" "$CORPUS/not_hl7.hl7" >/dev/null 2>"$TMP/err"
check "named non-HL7 file exit" 2 $?
grep -q 'not_hl7.hl7: no HL7 message found$' "$TMP/err"
check "named non-HL7 file message" 0 $?

# Usage errors: 64; --help: 0.
"$HL7SEND" >/dev/null 2>&1
check "no inputs" 64 $?
"$HL7SEND" --bogus "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>&1
check "unknown flag" 64 $?
"$HL7SEND" --port=http "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>&1
check "bad port" 64 $?
"$HL7SEND" --ca_file=x.pem "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>&1
check "TLS flag without --tls" 64 $?
"$HL7SEND" --help | grep -q '^usage: hl7send \[FLAGS\] PATH\.\.\.$'
check "help" 0 $?

# TLS: a self-signed server certificate for localhost / 127.0.0.1, and a
# client certificate the second server requires.
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$TMP/server.key" -out "$TMP/server.pem" >/dev/null 2>&1 &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 2 -subj /CN=hl7send-test-client \
    -keyout "$TMP/client.key" -out "$TMP/client.pem" >/dev/null 2>&1; then
  start_server tls --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key"
  TLS=$PORT
  out=$("$HL7SEND" --port="$TLS" --tls --ca_file="$TMP/server.pem" \
    "$CORPUS/batch_two_oru.hl7")
  check "TLS exit" 0 $?
  check "TLS lines" "$CORPUS/batch_two_oru.hl7#1 AA BATCH-1
$CORPUS/batch_two_oru.hl7#2 AA BATCH-2
sent 2, AA 2, AE 0, AR 0, timeouts 0" "$(strip_ms <<<"$out")"
  "$HL7SEND" --host=localhost --port="$TLS" --tls --ca_file="$TMP/server.pem" \
    --quiet "$CORPUS/adt_a01_v25.hl7" >/dev/null
  check "TLS by host name" 0 $?
  "$HL7SEND" --port="$TLS" --tls --ca_file="$TMP/server.pem" \
    --server_name=other.example "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>"$TMP/err"
  check "TLS wrong server name exit" 1 $?
  grep -q "^hl7send: TLS handshake with 127.0.0.1:$TLS: .*hostname mismatch" "$TMP/err"
  check "TLS wrong server name message" 0 $?
  "$HL7SEND" --port="$TLS" --tls "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>"$TMP/err"
  check "TLS untrusted certificate exit" 1 $?
  grep -q "^hl7send: TLS handshake with .*certificate verify failed" "$TMP/err"
  check "TLS untrusted certificate message" 0 $?
  "$HL7SEND" --port="$PLAIN" --tls --ca_file="$TMP/server.pem" \
    --timeout_ms=2000 "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>"$TMP/err"
  check "TLS to a plain server exit" 1 $?
  "$HL7SEND" --port="$TLS" --tls --ca_file=/nonexistent/ca.pem \
    "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>"$TMP/err"
  check "TLS unreadable CA file exit" 2 $?
  check "TLS unreadable CA file message" \
    "hl7send: cannot read CA file /nonexistent/ca.pem: No such file or directory" \
    "$(cat "$TMP/err")"

  start_server mtls --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" \
    --client-ca "$TMP/client.pem"
  MTLS=$PORT
  out=$("$HL7SEND" --port="$MTLS" --tls --ca_file="$TMP/server.pem" \
    --cert_file="$TMP/client.pem" --key_file="$TMP/client.key" \
    "$CORPUS/adt_a01_v25.hl7")
  check "client certificate exit" 0 $?
  check "client certificate summary" "sent 1, AA 1, AE 0, AR 0, timeouts 0" \
    "$(tail -1 <<<"$out")"
  "$HL7SEND" --port="$MTLS" --tls --ca_file="$TMP/server.pem" \
    "$CORPUS/adt_a01_v25.hl7" >/dev/null 2>"$TMP/err"
  check "missing client certificate exit" 1 $?
  grep -q "^hl7send: " "$TMP/err"
  check "missing client certificate message" 0 $?
else
  echo "FAIL: openssl could not make test certificates"
  fail=1
fi

exit $fail
