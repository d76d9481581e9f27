#!/usr/bin/env bash
# Black-box test of hl7load against hl7send's Python MLLP test server
# (tools/hl7send/test_mllp_server.py, which records what it receives): all AA,
# unique control ids really unique, percentiles, JSON, pipelining, rate,
# duration, --dir round robin, exit statuses 0/1/2/64 and TLS.
set -uo pipefail
HL7LOAD="$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7load/hl7load"
CORPUS="$TEST_SRCDIR/$TEST_WORKSPACE/tests/data/hl7"
TMP="$TEST_TMPDIR"
PY=/usr/bin/python3
# shellcheck source=tools/hl7send/test_lib.sh
source "$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7send/test_lib.sh"

json_get() {  # json_get EXPRESSION [ARG...] < JSON  (r: the object; sys.argv[2:]: ARGs)
  "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(eval(sys.argv[1]))' "$@"
}

start_server plain
PLAIN=$PORT
REC="$TMP/plain.jsonl"

# 2 connections x 200 messages: all AA, text report with percentiles.
out=$("$HL7LOAD" --port="$PLAIN" --connections=2 --messages=400)
check "all accepted exit" 0 $?
grep -Eq '^acknowledged 400 of 400 messages in [0-9.]+ s on 2 connection\(s\), pipeline 1: [0-9.]+ messages/s$' <<<"$out"
check "throughput line" 0 $?
grep -Eq '^ACK latency ms: p50 [0-9]+\.[0-9]{3}, p95 [0-9]+\.[0-9]{3}, p99 [0-9]+\.[0-9]{3}, max [0-9]+\.[0-9]{3}$' <<<"$out"
check "percentiles line" 0 $?
grep -q '^ACK codes: AA 400, CA 0, AE 0, CE 0, AR 0, CR 0, other 0$' <<<"$out"
check "codes line" 0 $?
grep -q '^timeouts 0, errors 0, mismatched 0, connect failures 0, not sent 0$' <<<"$out"
check "errors line" 0 $?

# What the server got: 400 messages, 400 distinct LOAD-<pid>-<conn>-<seq>
# ids, each connection's ids on one server connection, numbered 1..n, the
# rest of the message untouched.
"$PY" - "$REC" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 400, len(recs)
ids = [r["control_id"] for r in recs]
assert len(set(ids)) == 400, "duplicate control ids"
by_conn = {}
for r in recs:
    m = re.fullmatch(r"LOAD-(\d+)-([01])-(\d+)", r["control_id"])
    assert m, r["control_id"]
    by_conn.setdefault(r["conn"], []).append((m.group(1), m.group(2), int(m.group(3))))
    assert r["payload"].startswith("MSH|^~\\&|HL7LOAD|LOADLAB|HL7APPLIANCE|GENHOSP|")
    assert r["payload"].replace(r["control_id"], "X") == recs[0]["payload"].replace(recs[0]["control_id"], "X")
assert len(by_conn) == 2, by_conn.keys()
assert len({pid for v in by_conn.values() for pid, _, _ in v}) == 1
for v in by_conn.values():
    assert len({c for _, c, _ in v}) == 1, "one client connection per server connection"
    assert [s for _, _, s in v] == list(range(1, len(v) + 1)), "sequential"
PY
check "control ids unique, per connection, message intact" 0 $?

# --json parses and agrees.
: >"$REC"
json=$("$HL7LOAD" --port="$PLAIN" --connections=2 --messages=400 --json)
check "json exit" 0 $?
"$PY" -c 'import json,sys; json.load(sys.stdin)' <<<"$json"
check "json parses" 0 $?
check "json counts" "400 400 400 0 0 True" \
  "$(json_get 'r["sent"], r["acknowledged"], r["ack_codes"]["AA"], r["timeouts"], r["errors"], r["all_accepted"]' <<<"$json" | tr -d '(),')"
check "json percentiles ordered" True \
  "$(json_get '0 <= r["latency_ms"]["p50"] <= r["latency_ms"]["p95"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]' <<<"$json")"

# Pipelining: 4 in flight per connection, still all AA and matched.
: >"$REC"
json=$("$HL7LOAD" --port="$PLAIN" --connections=2 --messages=400 --pipeline=4 --json)
check "pipeline exit" 0 $?
check "pipeline counts" "400 0" "$(json_get 'r["ack_codes"]["AA"], r["mismatched"]' <<<"$json" | tr -d '(),')"
check "pipeline unique ids" 400 "$("$PY" -c 'import json,sys; print(len({json.loads(l)["control_id"] for l in open(sys.argv[1])}))' "$REC")"

# --rate: 20 messages at 100/s take about 0.19 s.
json=$("$HL7LOAD" --port="$PLAIN" --connections=2 --messages=20 --rate=100 --json)
check "rate exit" 0 $?
check "rate paces the run" True "$(json_get '0.17 <= r["elapsed_s"] < 5 and r["sent"] == 20' <<<"$json")"

# --duration_s without --messages: no message limit, stops in time.
json=$("$HL7LOAD" --port="$PLAIN" --connections=2 --duration_s=0.3 --json)
check "duration exit" 0 $?
check "duration bounds the run" True "$(json_get '0.3 <= r["elapsed_s"] < 5 and r["sent"] > 0 and r["not_sent"] == 0' <<<"$json")"

# --dir: files round robin (a batch counts as two messages); with
# --nounique_ids the control ids are the files' own.
mkdir -p "$TMP/mix/sub"
cp "$CORPUS/adt_a01_v25.hl7" "$TMP/mix/a.hl7"
cp "$CORPUS/batch_two_oru.hl7" "$TMP/mix/sub/b.hl7"
cp "$CORPUS/oru_r01_v24_crlf.hl7" "$TMP/mix/c.hl7"
: >"$REC"
"$HL7LOAD" --port="$PLAIN" --connections=1 --messages=8 --dir="$TMP/mix" \
  --nounique_ids >/dev/null
check "dir exit" 0 $?
check "dir round robin, own ids" \
  "ADT-A01-1 IMM-77 BATCH-1 BATCH-2 ADT-A01-1 IMM-77 BATCH-1 BATCH-2" \
  "$("$PY" -c 'import json,sys; print(" ".join(json.loads(l)["control_id"] for l in open(sys.argv[1])))' "$REC")"
check "dir payloads CR only" 0 "$(grep -c '\\n' "$REC")"
: >"$REC"
"$HL7LOAD" --port="$PLAIN" --connections=1 --messages=4 --dir="$TMP/mix" >/dev/null
check "dir unique ids" "ADT^A01^ADT_A01 ORU^R01^ORU_R01 ORU^R01^ORU_R01 ORU^R01^ORU_R01 4" \
  "$("$PY" -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print(" ".join(r["payload"].split("|")[8] for r in recs), len({r["control_id"] for r in recs if r["control_id"].startswith("LOAD-")}))' "$REC")"

# AE and AR answers: exit 1, counted.
mkdir -p "$TMP/bad"
sed 's/|ADT-A01-1|/|AE-1|/' "$CORPUS/adt_a01_v25.hl7" >"$TMP/bad/1.hl7"
sed 's/|ADT-A01-1|/|AR-1|/' "$CORPUS/adt_a01_v25.hl7" >"$TMP/bad/2.hl7"
cp "$CORPUS/adt_a01_v25.hl7" "$TMP/bad/3.hl7"
json=$("$HL7LOAD" --port="$PLAIN" --connections=2 --messages=30 --dir="$TMP/bad" --nounique_ids --json)
check "AE/AR exit" 1 $?
check "AE/AR counts" "10 10 10 False" \
  "$(json_get 'r["ack_codes"]["AA"], r["ack_codes"]["AE"], r["ack_codes"]["AR"], r["all_accepted"]' <<<"$json" | tr -d '(),')"

# Timeouts: no answer to SLOW...; each timeout closes the connection and the
# next message goes on a new one.
mkdir -p "$TMP/slow"
sed 's/|ADT-A01-1|/|SLOW-1|/' "$CORPUS/adt_a01_v25.hl7" >"$TMP/slow/1.hl7"
json=$("$HL7LOAD" --port="$PLAIN" --connections=1 --messages=2 --dir="$TMP/slow" \
  --nounique_ids --timeout_ms=200 --json)
check "timeout exit" 1 $?
check "timeout counts" "2 2 0" "$(json_get 'r["sent"], r["timeouts"], r["acknowledged"]' <<<"$json" | tr -d '(),')"

# Connection refused: exit 1, a readable line, nothing sent.
free_port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
json=$("$HL7LOAD" --port="$free_port" --connections=2 --messages=10 --json 2>"$TMP/err")
check "refused exit" 1 $?
grep -q "^hl7load: connection [01]: connect to 127.0.0.1:$free_port: Connection refused$" "$TMP/err"
check "refused message" 0 $?
check "refused counts" "2 10 0" "$(json_get 'r["connect_failures"], r["not_sent"], r["sent"]' <<<"$json" | tr -d '(),')"

# Unreadable input: 2. Usage errors: 64. --help: 0.
"$HL7LOAD" --port="$PLAIN" --dir=/nonexistent/dir >/dev/null 2>"$TMP/err"
check "unreadable dir exit" 2 $?
grep -q '^/nonexistent/dir: cannot read: No such file or directory$' "$TMP/err"
check "unreadable dir message" 0 $?
mkdir -p "$TMP/empty"
"$HL7LOAD" --port="$PLAIN" --dir="$TMP/empty" >/dev/null 2>&1
check "empty dir exit" 2 $?
"$HL7LOAD" --bogus >/dev/null 2>&1
check "unknown flag" 64 $?
"$HL7LOAD" extra >/dev/null 2>&1
check "positional argument" 64 $?
"$HL7LOAD" --messages=0 >/dev/null 2>&1
check "no limit at all" 64 $?
"$HL7LOAD" --connections=0 >/dev/null 2>&1
check "zero connections" 64 $?
"$HL7LOAD" --help | grep -q '^usage: hl7load \[FLAGS\]$'
check "help" 0 $?

# TLS.
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$TMP/server.key" -out "$TMP/server.pem" >/dev/null 2>&1; then
  start_server tls --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key"
  json=$("$HL7LOAD" --port="$PORT" --tls --ca_file="$TMP/server.pem" \
    --connections=2 --messages=100 --pipeline=2 --json)
  check "TLS exit" 0 $?
  check "TLS counts" "100 100" "$(json_get 'r["ack_codes"]["AA"], len({json.loads(l)["control_id"] for l in open(sys.argv[2])})' "$TMP/tls.jsonl" <<<"$json" 2>&1 | tr -d '(),')"
  "$HL7LOAD" --port="$PORT" --tls --connections=1 --messages=1 >/dev/null 2>"$TMP/err"
  check "TLS untrusted exit" 1 $?
  grep -q "certificate verify failed" "$TMP/err"
  check "TLS untrusted message" 0 $?
else
  echo "FAIL: openssl could not make a test certificate"
  fail=1
fi

exit $fail
