#!/usr/bin/env bash
# Coverage-guided fuzzing of the HL7 engine with libFuzzer (Debian clang-14),
# under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tests/fuzz/run_fuzzer.sh [SECONDS] [WORKDIR]
#
# Builds the fuzzer from the sources (outside Bazel: Bazel's toolchain is gcc),
# seeds it with tests/data/hl7 and runs it for SECONDS (default 60; the
# documented long run is 600). Exits non-zero on any crash or sanitizer report.
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work/corpus"
CXX=${CXX:-clang++-14}

srcs=()
for f in delimiters escape message datatypes findings structure validator ack engine; do
  srcs+=("$root/appliance/hl7/$f.cc")
done
absl_libs=$(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format)
"$CXX" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root" \
  "${srcs[@]}" "$root/tests/fuzz/hl7_fuzz.cc" $absl_libs -o "$work/hl7_fuzzer"

cp "$root"/tests/data/hl7/*.hl7 "$work/corpus/"
cd "$work"
./hl7_fuzzer -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 \
  -dict="$root/tests/fuzz/hl7.dict" corpus 2>&1 | tail -25
