#!/usr/bin/env bash
# Starts the appliance on a fresh Debian 12 machine with embedded defaults:
# installs the Debian packages, builds hl7d optimised and runs it in the
# foreground (MLLP on 127.0.0.1:2575, store in ./var/hl7d, key file
# ./var/hl7d.key). Extra arguments are passed to hl7d, e.g.
#   tools/run.sh --mllp_port=3575 --data_dir=/srv/hl7d
# Stop with Ctrl-C or SIGTERM: it drains in-flight messages and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps
bazel build -c opt //appliance:hl7d
mkdir -p var
exec bazel-bin/appliance/hl7d "$@"
