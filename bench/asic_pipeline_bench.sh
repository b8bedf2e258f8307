#!/usr/bin/env bash
# ASIC pipeline benchmarks (docs/benchmarks.md § ASIC pipeline), against miner-sim and a private
# PostgreSQL 15 started by pg-harness:
#   1. discovery of a /16 with 1,000 simulated miners (sweep + identification + key provisioning +
#      upsert), beside `nmap -sT -Pn -n -p <port> --open` on the same range in the same run;
#   2. one status-poller cycle over 10,000 miners (fetch + persist): wall, CPU, peak RSS; then
#      with 10% of the miners timing out;
#   3. one telemetry-worker cycle over 10,000 miners x 3 chains x 126 chips, and the disk bytes per
#      chip sample (table + indexes) beside a row-per-chip table holding the same data.
#
#   bench/asic_pipeline_bench.sh [build-dir] [sections]     sections: any of "discovery status telemetry"
#
# Prints a Markdown table per section. Needs nmap, psql, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
sections=${2:-"discovery status telemetry"}
bin=$build/bin
for b in pg-harness miner-sim discovery-worker status-poller telemetry-worker; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fleet-asic-bench.XXXXXX)
sim_pid=""
cleanup() {
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
admin="postgresql://postgres@127.0.0.1:$pg_port/postgres"
export FLEET_SECRET_KEY
FLEET_SECRET_KEY=$(openssl rand -hex 32)
export FLEET_LOG_LEVEL=info

fresh_db() {  # fresh_db <name>: a migrated database, exported as DATABASE_URL
  psql -q "$admin" -c "CREATE DATABASE $1 TEMPLATE fleet_template"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/$1"
}
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_sim() {  # start_sim <count> <base-ip> <port> [extra args]
  local count=$1 base=$2 port=$3
  shift 3
  rm -f "$work/sim.ready"
  "$bin/miner-sim" --count "$count" --base-ip "$base" --port "$port" --threads 2 --seed 11 \
    --init-seconds 0 --ready-file "$work/sim.ready" "$@" >"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 600); do [[ -s $work/sim.ready ]] && break; sleep 0.1; done
  [[ -s $work/sim.ready ]] || { cat "$work/sim.log" >&2; exit 1; }
  control=$(tr -d '\n' <"$work/sim.ready")
}
stop_sim() { kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""; }

# measure <label> <log> cmd...: runs cmd under /usr/bin/time; sets wall cpu rss_mb cycle_s.
measure() {
  local label=$1 log=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$log.out" 2>"$log" || {
    echo "$label failed:" >&2; tail -5 "$log" >&2; exit 1; }
  read -r wall user sys rss_kb <"$work/time"
  cpu=$(python3 -c "print(round($user + $sys, 2))")
  rss_mb=$(python3 -c "print(round($rss_kb / 1024, 1))")
  cycle_s=$(grep -o 'completed in [0-9.]*s' "$log" | tail -1 | grep -o '[0-9.]*' || echo "-")
  counts=$(grep -o 'completed in .*' "$log" | tail -1 | cut -d: -f2- || true)
}

# FLEET_BENCH_CONCURRENCY=<n>: HTTP requests in flight for discovery and the poller (default: the
# workers' own, 4096). The simulated miners share this machine's cores, unlike real ones.
conc_args=()
[[ -n ${FLEET_BENCH_CONCURRENCY:-} ]] && conc_args=(--set "firmware.max_concurrency=$FLEET_BENCH_CONCURRENCY")

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

if [[ $sections == *discovery* ]]; then
  fresh_db bench_discovery
  port=$(free_port)
  start_sim 1000 127.40.0.1 "$port"
  net=127.40.0.0/16
  measure discovery "$work/disc1.log" "$bin/discovery-worker" --once \
    --set "discovery.networks=$net" --set "discovery.port=$port"
  d1_wall=$wall d1_cpu=$cpu d1_cycle=$cycle_s d1_counts=$counts
  measure discovery2 "$work/disc2.log" "$bin/discovery-worker" --once \
    --set "discovery.networks=$net" --set "discovery.port=$port"
  d2_wall=$wall d2_cpu=$cpu d2_cycle=$cycle_s
  measure nmap "$work/nmap.log" nmap -sT -Pn -n -p "$port" --open -oG - "$net"
  n_wall=$wall n_cpu=$cpu
  n_found=$(grep -c "Ports: $port/open" "$work/nmap.log.out" || true)
  stop_sim
  found=$(sql "SELECT count(*) FROM miners WHERE api_key_state = 'active'")
  echo
  echo "### Discovery of a /16 (65,536 addresses, 1,000 miners) vs nmap"
  echo
  echo "| run | wall s | cycle s | CPU s | found | ratio to nmap |"
  echo "|---|---|---|---|---|---|"
  echo "| discovery-worker, first cycle (sweep, /info, 1,000 keys provisioned, upsert) | $d1_wall | $d1_cycle | $d1_cpu | $found | $(ratio "$d1_wall" "$n_wall") |"
  echo "| discovery-worker, next cycle (sweep, /info, upsert) | $d2_wall | $d2_cycle | $d2_cpu | $found | $(ratio "$d2_wall" "$n_wall") |"
  echo "| nmap -sT -Pn -n -p $port --open $net | $n_wall | - | $n_cpu | $n_found | 1.00 |"
  echo
  echo "first cycle:$d1_counts"
  echo "first cycle $(grep -o 'discovery phases: .*' "$work/disc1.log")"
  echo "next cycle $(grep -o 'discovery phases: .*' "$work/disc2.log")"
fi

if [[ $sections == *status* || $sections == *telemetry* ]]; then
  fresh_db bench_10k
  port=$(free_port)
  key=$(openssl rand -hex 16)
  # Every miner starts with our key installed, so setting up 10,000 miners skips provisioning.
  start_sim 10000 127.41.0.1 "$port" --models s19jpro --api-key "$key"
  # Every miner gets its key in the setup (not at most max_provisions per cycle); a second pass picks
  # up any miner whose identification or key check timed out under the first pass's load.
  setup_args=(--set "discovery.networks=127.41.0.0/18" --set "discovery.port=$port"
              --set discovery.manage_new=true --set discovery.max_provisions=20000 "${conc_args[@]}")
  measure setup "$work/setup.log" "$bin/discovery-worker" --once "${setup_args[@]}"
  setup_wall=$wall setup_counts=$counts
  for pass in 2 3; do
    missing=$(sql "SELECT 10000 - count(*) FILTER (WHERE api_key_state = 'active') FROM miners")
    [[ $missing -gt 0 ]] || break
    measure setup$pass "$work/setup$pass.log" "$bin/discovery-worker" --once "${setup_args[@]}"
    setup_counts="$setup_counts; pass $pass:$counts"
  done
  sql "UPDATE models SET max_preset = 'disabled'"
  miners=$(sql "SELECT count(*) FROM miners")
fi

if [[ $sections == *status* ]]; then
  due="UPDATE miners SET next_poll_at = now()"
  measure status1 "$work/status1.log" "$bin/status-poller" --once "${conc_args[@]}"
  s1=("$wall" "$cycle_s" "$cpu" "$rss_mb") s1_counts=$counts
  sql "$due"
  measure status2 "$work/status2.log" "$bin/status-poller" --once "${conc_args[@]}"
  s2=("$wall" "$cycle_s" "$cpu" "$rss_mb")
  curl -fsS -X POST -d '{"selector":"10%","kind":"timeout"}' "$control/faults" >/dev/null
  sql "$due"
  measure status3 "$work/status3.log" "$bin/status-poller" --once "${conc_args[@]}"
  s3=("$wall" "$cycle_s" "$cpu" "$rss_mb") s3_counts=$counts
  curl -fsS -X DELETE "$control/faults" >/dev/null
  statuses=$(sql "SELECT count(*) FROM statuses")
  echo
  echo "### One status cycle over $miners miners (setup by discovery: ${setup_wall}s;$setup_counts)"
  echo
  echo "| run | process wall s | cycle s | CPU s | cores (CPU/wall) | peak RSS MB |"
  echo "|---|---|---|---|---|---|"
  core() { python3 -c "print(f'{$1 / $2:.2f}')"; }
  echo "| first cycle (cold) | ${s1[0]} | ${s1[1]} | ${s1[2]} | $(core "${s1[2]}" "${s1[0]}") | ${s1[3]} |"
  echo "| second cycle | ${s2[0]} | ${s2[1]} | ${s2[2]} | $(core "${s2[2]}" "${s2[0]}") | ${s2[3]} |"
  echo "| 10% of miners hang (adaptive deadlines, at most 3 s) | ${s3[0]} | ${s3[1]} | ${s3[2]} | $(core "${s3[2]}" "${s3[0]}") | ${s3[3]} |"
  echo
  echo "first:$s1_counts"
  echo "10% timeouts:$s3_counts"
  echo "statuses stored in total: $statuses"
fi

if [[ $sections == *telemetry* ]]; then
  sql "UPDATE miners SET next_telemetry_at = now()"
  measure telemetry "$work/telemetry.log" "$bin/telemetry-worker" --once "${conc_args[@]}"
  t=("$wall" "$cycle_s" "$cpu" "$rss_mb") t_counts=$counts
  sql "VACUUM ANALYZE chip_telemetry"
  chips=$(sql "SELECT sum(chip_count) FROM chip_telemetry")
  compact=$(sql "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'chip_telemetry'::regclass")
  # The same samples, one row per chip, in the narrowest sensible types, with the same index.
  sql "CREATE TABLE chip_rows_baseline (worker_id bigint NOT NULL, observed_at timestamptz NOT NULL,
         chain_id smallint NOT NULL, chip_id smallint NOT NULL, hr real, temp real, freq smallint,
         volt smallint, errs integer, grade \"char\", throttled boolean)"
  sql "CREATE INDEX ON chip_rows_baseline (worker_id, observed_at DESC)"
  measure baseline "$work/baseline.log" psql -qAt "$DATABASE_URL" -c \
    "INSERT INTO chip_rows_baseline SELECT worker_id, observed_at, chain_id, chip_id, hr, temp_c,
            freq_mhz, volt_mv, errs, left(grade, 1)::\"char\", throttled FROM chip_samples"
  sql "VACUUM ANALYZE chip_rows_baseline"
  rows=$(sql "SELECT count(*) FROM chip_rows_baseline")
  rowwise=$(sql "SELECT pg_total_relation_size('chip_rows_baseline')")
  echo
  echo "### One chip-telemetry cycle over $miners miners (x 3 chains x 126 chips)"
  echo
  echo "| process wall s | cycle s | CPU s | peak RSS MB | chip samples |"
  echo "|---|---|---|---|---|"
  echo "| ${t[0]} | ${t[1]} | ${t[2]} | ${t[3]} | $chips |"
  echo
  echo "counts:$t_counts"
  echo
  echo "| storage | bytes (table + indexes) | bytes per chip sample | ratio |"
  echo "|---|---|---|---|"
  echo "| chip_telemetry (row per chain, packed vectors) | $compact | $(python3 -c "print(f'{$compact / $chips:.2f}')") | 1 |"
  echo "| row per chip ($rows rows) | $rowwise | $(python3 -c "print(f'{$rowwise / $rows:.2f}')") | $(python3 -c "print(f'{($rowwise / $rows) / ($compact / $chips):.1f}x')") |"
fi
