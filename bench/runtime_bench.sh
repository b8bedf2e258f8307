#!/usr/bin/env bash
# Foundation benchmarks (issue 2): a worker's idle RSS, and /health latency under load while a
# slow cycle runs, beside the same load on an idle worker (the baseline of the same run).
#
#   bench/runtime_bench.sh [build-dir]        (default: build; needs wrk)
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
state=$(mktemp -d /tmp/fleet-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$bin/pg-harness" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

"$bin/pg-harness" start "$state" >/dev/null
port=$(sed -n 2p "$state/server.state")
admin="postgresql://postgres@127.0.0.1:$port/postgres"
psql -q "$admin" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/bench"
psql -q "$DATABASE_URL" -c "CREATE TABLE test_marks (id bigserial PRIMARY KEY, instance text NOT NULL, fenced boolean NOT NULL, at timestamptz NOT NULL DEFAULT now())"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# 1. Idle RSS: maintenance-worker with its probe server, after a few cycles' worth of idling.
mport=$(free_port)
"$bin/maintenance-worker" --health-port "$mport" --log-format json 2>/dev/null &
mpid=$!; pids+=("$mpid")
sleep 3
curl -fsS "127.0.0.1:$mport/ready" >/dev/null
curl -fsS "127.0.0.1:$mport/metrics" >/dev/null
sleep 1
idle_rss=$(rss_kb "$mpid")

# 2. /health latency: idle worker (baseline) and a worker inside a 60 s database cycle.
iport=$(free_port)
"$bin/test-worker" --interval 600 --health-port "$iport" 2>/dev/null &
pids+=($!)
sport=$(free_port)
"$bin/test-worker" --interval 600 --health-port "$sport" --set test.cycle_sleep=60s 2>/dev/null &
spid=$!; pids+=("$spid")
sleep 2
busy=$(psql -Atq "$DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND state = 'active' AND application_name = 'test-worker'")

measure() {  # measure <port> -> "req/s p50 p99"
  wrk -t2 -c4 -d10s --latency "http://127.0.0.1:$1/health" | awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    END {print rps, p50, p99}'
}
read -r idle_rps idle_p50 idle_p99 < <(measure "$iport")
read -r slow_rps slow_p50 slow_p99 < <(measure "$sport")

echo "| measurement | value |"
echo "|---|---|"
echo "| maintenance-worker idle RSS (probe server on, after /ready and /metrics) | $((idle_rss / 1024)).$(( (idle_rss % 1024) * 10 / 1024 )) MB |"
echo "| /health, idle worker (baseline): req/s, p50, p99 | $idle_rps, $idle_p50, $idle_p99 |"
echo "| /health, worker inside a 60 s cycle ($busy cycle running): req/s, p50, p99 | $slow_rps, $slow_p50, $slow_p99 |"
echo "| test-worker RSS inside its slow cycle | $(( $(rss_kb "$spid") / 1024 )) MB |"
