# Shared helpers of the hl7send and hl7load black-box tests (sourced).
# Needs TMP set; defines check, start_server (sets PORT) and a cleanup trap
# that stops every test server started.
SERVER="$TEST_SRCDIR/$TEST_WORKSPACE/tools/hl7send/test_mllp_server.py"
fail=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1: expected [$2], got [$3]"
    fail=1
  else
    echo "ok: $1"
  fi
}

server_pids=()
cleanup() { for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT

start_server() {  # start_server NAME [server flags...]; sets PORT
  local name=$1
  shift
  rm -f "$TMP/$name.port" "$TMP/$name.jsonl"
  /usr/bin/python3 "$SERVER" --port-file "$TMP/$name.port" \
    --record "$TMP/$name.jsonl" "$@" 2>"$TMP/$name.err" &
  server_pids+=($!)
  for _ in $(seq 100); do
    [[ -s "$TMP/$name.port" ]] && break
    sleep 0.1
  done
  PORT=$(cat "$TMP/$name.port")
}
