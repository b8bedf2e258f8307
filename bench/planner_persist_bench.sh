#!/usr/bin/env bash
# migration-planner persistence benchmark (docs/benchmarks.md § migration-planner): starts a
# scratch PostgreSQL, makes a migrated database and runs bench/planner_persist_bench.cpp against it.
#
#   bench/planner_persist_bench.sh [build-dir] [-- --failed 100 --per-node 100 --targets 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
[[ "${1:-}" == "--" ]] && shift
state=$(mktemp -d /tmp/fleet-bench-XXXXXX)
cleanup() {
  "$build/bin/pg-harness" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
"$build/bin/pg-harness" start "$state" >/dev/null
port=$(sed -n 2p "$state/server.state")
psql -q "postgresql://postgres@127.0.0.1:$port/postgres" -c "CREATE DATABASE bench TEMPLATE fleet_template"
DATABASE_URL="postgresql://postgres@127.0.0.1:$port/bench" "$build/bin/planner_persist_bench" "$@"
