#!/usr/bin/env bash
# End-to-end delivery benchmark (MLLP in -> EHR stored); see
# e2e_delivery_bench.py. Usage: tools/bench/e2e_delivery_bench.sh [--messages=N ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bazel build -c opt --jobs=2 //appliance:hl7d //tools/hl7load >&2
bin=bazel-out/k8-opt/bin
exec /usr/bin/python3 tools/bench/e2e_delivery_bench.py \
  --hl7d="$bin/appliance/hl7d" --hl7load="$bin/tools/hl7load/hl7load" "$@"
