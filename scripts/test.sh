#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine: installs the packages, builds, and runs ctest —
# unit tests, integration tests against a real PostgreSQL 15 that the tests start themselves,
# end-to-end tests of the built binaries, and deployment checks.
#
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         only unit tests (any ctest arguments pass through)
#   FLEET_BUILD_DIR=build-asan FLEET_SANITIZE=address,undefined scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${FLEET_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DFLEET_WERROR=ON -DFLEET_SANITIZE="${FLEET_SANITIZE:-}" >/dev/null
ninja -C "$build"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 600 "$@"

# libFuzzer targets, built with clang, a short run each (scripts/fuzz.sh 600 for a long run).
scripts/fuzz.sh "${FLEET_FUZZ_SECONDS:-20}"
