#!/usr/bin/env bash
# Node heartbeat ingest benchmark (docs/benchmarks.md § node heartbeats): N registered nodes send
# authenticated heartbeats through the api-gateway's group commit (bench/heartbeat_loadgen.cpp, one
# loopback source address per connection, keep-alive); beside it, in the same run and on the same
# server and connections, GET /health (no authentication, no database) as this machine's ceiling.
# Afterwards the heartbeats the database holds (sum of nodes.heartbeats) are compared with the
# answered ones: an answered heartbeat is a stored one.
#
#   bench/heartbeat_bench.sh [build-dir] [duration-seconds] [nodes] [connections] [gateway-threads (the gateway's default when left out)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${2:-10}
nodes=${3:-10000}
connections=${4:-400}
threads=${5:-0}  # 0: the gateway's default (twice the usable CPUs, 4 to 16)
bin=$build/bin
for b in pg-harness api-gateway heartbeat_loadgen; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fleet-heartbeat-bench.XXXXXX)
gw_pid=""
cleanup() {
  [[ -n $gw_pid ]] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[[ -n ${KEEP_LOG:-} ]] && trap 'cp "$work/gateway.log" "$KEEP_LOG"; cleanup' EXIT

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/bench"
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }

# N nodes as registration leaves them (inserted directly: registration is not what is measured),
# each with a credential of the real shape whose SHA-256 is stored.
sql "INSERT INTO workers (kind, name, status, managed, site)
     SELECT 'node', 'node-' || g, 'online', true, 'site-' || (g % 10) FROM generate_series(1, $nodes) g"
sql "CREATE TABLE bench_credentials AS
     SELECT id, 'fwn_' || id || '_' || substr(md5(random()::text) || md5(random()::text), 1, 43) AS credential
       FROM workers WHERE kind = 'node'"
sql "INSERT INTO nodes (worker_id, hostname, cpu_cores, memory_mb, disk_gb, credential_hash)
     SELECT id, 'node-' || id, 8, 32768, 500, encode(sha256(convert_to(credential, 'UTF8')), 'hex')
       FROM bench_credentials"
sql "SELECT id || ' ' || credential FROM bench_credentials" >"$work/credentials"
sql "VACUUM ANALYZE"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/api-gateway" --port "$port" --set gateway.address=127.0.0.1 \
  --set "gateway.token_secret=$(openssl rand -hex 32)" --set "gateway.threads=$threads" \
  --set gateway.max_connections_per_client=0 --set log.level=warn ${GATEWAY_ARGS:-} \
  >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/ready" >/dev/null

pg_dir=$(sed -n 1p "$work/pg/server.state")
pg_pid=$(head -1 "$pg_dir/data/postmaster.pid" 2>/dev/null || head -1 "$pg_dir/postmaster.pid")
pg_ticks() {  # CPU ticks of PostgreSQL's server processes (the postmaster's children)
  local total=0 p
  for p in $(ps -o pid= --ppid "$pg_pid"); do
    [[ -r /proc/$p/stat ]] && total=$(( total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
load() {  # load <label> <loadgen args...>: prints a Markdown row, leaves the JSON in $work/last
  local label=$1
  shift
  local cpu0 cpu1 pg0 pg1 out
  cpu0=$(awk '{print $14 + $15}' "/proc/$gw_pid/stat")
  pg0=$(pg_ticks)
  out=$("$bin/heartbeat_loadgen" --port "$port" --connections "$connections" --duration "$duration" "$@")
  cpu1=$(awk '{print $14 + $15}' "/proc/$gw_pid/stat")
  pg1=$(pg_ticks)
  echo "$out" >"$work/last"
  python3 - "$label" "$out" "$(( cpu1 - cpu0 ))" "$(( pg1 - pg0 ))" "$duration" <<'PY'
import json, sys
label, r, ticks, pg, duration = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
print(f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | "
      f"{ticks / 100 / duration:.2f} | {pg / 100 / duration:.2f} | {r['errors']} |")
PY
}

echo "### node heartbeats: $nodes nodes, $connections connections, ${duration}s each, on the same 2-core machine"
echo
echo "| load | req/s | p50 | p99 | gateway cores | PostgreSQL cores | errors |"
echo "|---|---|---|---|---|---|---|"
# Warm-up (not measured): every node's first heartbeat inserts its metrics_latest rows and its
# first readings, which a running fleet does once per node, not per heartbeat.
"$bin/heartbeat_loadgen" --port "$port" --connections "$connections" --duration 5 \
  --credentials "$work/credentials" >/dev/null
sql "UPDATE nodes SET heartbeats = 0"
load "GET /health (no auth, no database): ceiling" --path /health
health_rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$work/last")
# PERF=<file>: also records the gateway's profile during the heartbeat load (perf report -i <file>).
[[ -n ${PERF:-} ]] && { perf record -g -o "$PERF" -p "$gw_pid" -- sleep "$duration" >/dev/null 2>&1 & }
load "POST /api/nodes/{id}/heartbeat (node credential, group commit)" --credentials "$work/credentials"
read -r ok hb_rps hb_seconds < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["ok"], r["rps"], r["seconds"])' "$work/last")
stored=$(sql "SELECT sum(heartbeats) FROM nodes")
readings=$(sql "SELECT count(*) FROM readings")
echo
python3 - "$ok" "$stored" "$hb_seconds" "$hb_rps" "$health_rps" "$readings" <<'PY'
import sys
ok, stored, seconds, rps, health, readings = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print(f"Answered 200: {ok}; stored (sum of nodes.heartbeats): {stored} "
      f"({stored / seconds:.0f} persisted heartbeats/s); readings rows: {readings}.")
print(f"Heartbeats/s ÷ /health req/s in the same run: {rps / health:.2f}.")
if stored < ok:
    print("ERROR: fewer heartbeats stored than answered"); sys.exit(1)
PY
grep -E '\[(error|warning)\]' "$work/gateway.log" | head -5 || true
