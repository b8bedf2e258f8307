#!/usr/bin/env bash
# Heartbeat soak (issue 13, docs/benchmarks.md § heartbeat soak): N registered nodes heartbeat at the
# real rate (one heartbeat per node every 30 s, spread over the connections of
# bench/heartbeat_loadgen) for M minutes through the api-gateway, while heartbeat-monitor runs its
# cycles (every 10 s) on the same database. Every minute it samples the size on disk
# (pg_total_relation_size) of nodes, workers, metrics_latest, the readings partitions,
# worker_status_history and notifications, and the monitor's cycle times of that minute; at the
# end, the answered and failed heartbeats. Unbounded growth shows as a size that keeps climbing.
#
#   bench/heartbeat_soak.sh [build-dir] [minutes] [nodes] [seconds-between-heartbeats]
#   (default: build 10 10000 30)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
minutes=${2:-10}
nodes=${3:-10000}
every=${4:-30}
connections=400
bin=$build/bin
for b in pg-harness api-gateway heartbeat-monitor heartbeat_loadgen; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fleet-heartbeat-soak.XXXXXX)
gw_pid="" mon_pid="" lg_pid=""
cleanup() {
  for p in $lg_pid $mon_pid $gw_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE soak TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/soak"
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }

sql "INSERT INTO workers (kind, name, status, managed, site)
     SELECT 'node', 'node-' || g, 'pending', true, 'site-' || (g % 10) FROM generate_series(1, $nodes) g"
sql "CREATE TABLE soak_credentials AS
     SELECT id, 'fwn_' || id || '_' || substr(md5(random()::text) || md5(random()::text), 1, 43) AS credential
       FROM workers WHERE kind = 'node'"
sql "INSERT INTO nodes (worker_id, hostname, cpu_cores, memory_mb, disk_gb, credential_hash)
     SELECT id, 'node-' || id, 8, 32768, 500, encode(sha256(convert_to(credential, 'UTF8')), 'hex')
       FROM soak_credentials"
sql "SELECT id || ' ' || credential FROM soak_credentials" >"$work/credentials"
sql "VACUUM ANALYZE"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/api-gateway" --port "$port" --set gateway.address=127.0.0.1 \
  --set "gateway.token_secret=$(openssl rand -hex 32)" --set gateway.threads=64 \
  --set gateway.max_connections_per_client=0 --set log.level=warn >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/ready" >/dev/null
"$bin/heartbeat-monitor" --interval 10 >"$work/monitor.log" 2>&1 &
mon_pid=$!

seconds=$(( minutes * 60 ))
rate=$(python3 -c "print($nodes / $every)")
"$bin/heartbeat_loadgen" --port "$port" --connections "$connections" --duration "$seconds" \
  --rate "$rate" --credentials "$work/credentials" >"$work/loadgen.json" &
lg_pid=$!

echo "### heartbeat soak: $nodes nodes, one heartbeat each every ${every}s ($rate/s), $minutes min, heartbeat-monitor every 10 s"
echo
echo "| minute | nodes | workers | metrics_latest | readings (partitions) | worker_status_history | notifications | readings rows | online nodes | monitor cycles: n, median, max |"
echo "|---|---|---|---|---|---|---|---|---|---|"
mb() { awk '{printf "%.1f MB", $1 / 1048576}'; }
seen=0
for minute in $(seq 1 "$minutes"); do
  sleep 60
  sizes=$(sql "SELECT pg_total_relation_size('nodes'), pg_total_relation_size('workers'),
                      pg_total_relation_size('metrics_latest'),
                      (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits
                        WHERE inhparent = 'readings'::regclass),
                      pg_total_relation_size('worker_status_history'),
                      pg_total_relation_size('notifications'),
                      (SELECT count(*) FROM readings),
                      (SELECT count(*) FROM workers WHERE kind = 'node' AND status = 'online')")
  IFS='|' read -r n w m r h no rows online <<<"$sizes"
  # Cycle times of this minute from the monitor's log ("cycle N completed in X s").
  times=$(sed -n 's/.*cycle [0-9]* completed in \([0-9.]*\)s.*/\1/p' "$work/monitor.log" | tail -n +"$(( seen + 1 ))")
  count=$(printf '%s\n' "$times" | grep -c . || true)
  seen=$(( seen + count ))
  cycles=$(printf '%s\n' "$times" | grep . | sort -n | awk '{a[NR]=$1*1000} END {if (NR) printf "%d, %.0f ms, %.0f ms", NR, (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2, a[NR]; else print "0"}')
  echo "| $minute | $(echo "$n" | mb) | $(echo "$w" | mb) | $(echo "$m" | mb) | $(echo "$r" | mb) | $(echo "$h" | mb) | $(echo "$no" | mb) | $rows | $online | $cycles |"
done
wait "$lg_pid" || true
lg_pid=""
echo
python3 - "$work/loadgen.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"Heartbeats answered 200: {r['ok']} ({r['rps']:.0f}/s), errors: {r['errors']}, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms.")
PY
echo "Stored (sum of nodes.heartbeats): $(sql 'SELECT sum(heartbeats) FROM nodes'); status history rows: $(sql 'SELECT count(*) FROM worker_status_history'); notifications: $(sql 'SELECT count(*) FROM notifications')."
grep -E '\[(error|warning)\]|ERROR|WARN' "$work/gateway.log" "$work/monitor.log" | head -5 || true
