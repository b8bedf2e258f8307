#!/usr/bin/env bash
# action-dispatcher throughput (docs/benchmarks.md § action-dispatcher): "restart mining" queued on
# 10,000 simulated miners at once, the safety limits opened, carried out by one dispatcher with
# --once; commands/s carried out and recorded, and the dispatcher's CPU (cores = CPU time / wall
# time). The floor, measured in the same run: the same POST /api/v1/mining/restart sent straight
# to the simulator by wrk (no database, no bookkeeping) on the same machine.
#
#   bench/dispatch_bench.sh [build-dir] [miners] [firmware-threads]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
miners=${2:-10000}
threads=${3:-32}
bin=$build/bin
for b in pg-harness miner-sim discovery-worker action-dispatcher; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/fleet-dispatch-bench.XXXXXX)
sim_pid=""
cleanup() {
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/bench"
export FLEET_SECRET_KEY
FLEET_SECRET_KEY=$(openssl rand -hex 32)
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Every simulated miner already carries our key, so discovery reuses it (no provisioning burst).
key=$(openssl rand -hex 16)
port=$(free_port)
"$bin/miner-sim" --count "$miners" --base-ip 127.80.0.1 --port "$port" --threads 2 --seed 5 \
  --init-seconds 0 --api-key "$key" --api-key-description fleetward \
  --ready-file "$work/sim.ready" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 600); do [[ -s $work/sim.ready ]] && break; sleep 0.1; done
[[ -s $work/sim.ready ]] || { cat "$work/sim.log" >&2; exit 1; }

# Every miner gets its key in the set-up; more passes pick up those that timed out under load.
for _ in 1 2 3; do
  "$bin/discovery-worker" --once --health-port 0 --set discovery.networks=127.80.0.0/18 \
    --set "discovery.port=$port" --set discovery.max_provisions=20000 \
    >"$work/discovery.log" 2>&1 || { tail -5 "$work/discovery.log"; exit 1; }
  found=$(sql "SELECT count(*) FROM miners WHERE api_key_enc IS NOT NULL")
  [[ $found -ge $miners ]] && break
done
echo "discovered $found miners with keys"
sql "UPDATE workers SET managed = true"

# Floor: the simulator's own rate for the same call (2 threads, 64 connections, 10 s).
cat >"$work/restart.lua" <<LUA
wrk.method = "POST"
wrk.headers["x-api-key"] = "$key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = "{}"
LUA
floor=$(wrk -t2 -c64 -d10s -s "$work/restart.lua" "http://127.80.0.1:$port/api/v1/mining/restart" |
        awk '/Requests\/sec/ {print $2}')

sql "INSERT INTO commands (worker_id, action, channel, origin, requested_by, idempotency_key)
     SELECT worker_id, 'restart_mining', 'firmware', 'user', 'bench', 'bench:' || worker_id FROM miners"
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin/action-dispatcher" --once --health-port 0 \
  --set "dispatch.firmware_threads=$threads" --set dispatch.batch=1000 \
  --set dispatch.fleet_rate_limit=10000000 --set dispatch.site_rate_limit=10000000 \
  --set dispatch.worker_min_interval=0 --set dispatch.worker_daily_cap=100000 \
  --set dispatch.max_in_flight=5000 --verbose >"$work/dispatch.log" 2>&1 || { tail -5 "$work/dispatch.log"; exit 1; }
cp "$work/dispatch.log" /tmp/dispatch-bench.log 2>/dev/null || true
read -r wall user sys rss_kb <"$work/time"
ok=$(sql "SELECT count(*) FROM commands WHERE state = 'succeeded' AND attempts = 1")
rate=$(python3 -c "print(round($ok / $wall))")
cores=$(python3 -c "print(round(($user + $sys) / $wall, 2))")
echo "| miners | firmware threads | succeeded | wall s | commands/s | dispatcher cores | RSS MB | floor: wrk req/s | ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
echo "| $miners | $threads | $ok | $wall | $rate | $cores | $(python3 -c "print(round($rss_kb/1024))") | ${floor%.*} | $(python3 -c "print(round($rate / float('$floor'), 2))") |"
