#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (in build-fuzz) and runs each for a while.
#   scripts/fuzz.sh            20 s per target (what CI runs)
#   scripts/fuzz.sh 600        10 minutes per target, by hand
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build=${FLEET_FUZZ_BUILD_DIR:-build-fuzz}
CXX=clang++ cmake -S . -B "$build" -G Ninja -DFLEET_FUZZ=ON -DFLEET_USE_PCH=OFF \
  -DFLEET_BUILD_TESTS=OFF -DFLEET_BUILD_BENCH=OFF -DFLEET_FUZZ_SECONDS="$seconds" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" fuzz
ctest --test-dir "$build" -L fuzz --output-on-failure
