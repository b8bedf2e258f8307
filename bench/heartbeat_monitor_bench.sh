#!/usr/bin/env bash
# heartbeat-monitor (issue 13): one cycle over 100,000 workers (40,000 nodes, 40,000 ASICs,
# 10,000 rigs, 10,000 devices in 50 sites, 5 % of them long dead), timed by the monitor's own
# "cycle N completed in X s" line (database + process time of the cycle). Three cases, each run
# RUNS times, beside a baseline measured in the same run: one plain scan of the same rows
# (SELECT count(*) over workers joined to nodes and devices).
#   steady       nothing changes (the common cycle)
#   transitions  300 nodes silent, 100 nodes over a limit, 200 ASICs stale: 600 changes, their
#                history rows and node notifications
#   partition    1,333 of the 2,000 nodes of one site silent at once: one hold, 1,333 unreachable,
#                one notification
#
#   bench/heartbeat_monitor_bench.sh [build-dir] [runs]     (default: build 5)
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-5}
bin=$build/bin
state=$(mktemp -d /tmp/fleet-bench-XXXXXX)
cleanup() {
  "$bin/pg-harness" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

"$bin/pg-harness" start "$state" >/dev/null
port=$(sed -n 2p "$state/server.state")
admin="postgresql://postgres@127.0.0.1:$port/postgres"
psql -q "$admin" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/bench"
sql() { printf '%s\n' "$1" | psql -qAt -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null; }

sql "
INSERT INTO workers (id, kind, name, site, status, last_seen_at)
SELECT i, CASE WHEN i % 10 < 4 THEN 'node' WHEN i % 10 < 8 THEN 'asic'
               WHEN i % 10 = 8 THEN 'rig' ELSE 'device' END,
       'w' || i, 'site-' || (i % 50), 'online', now() - interval '5 seconds'
  FROM generate_series(1, 100000) i;
SELECT setval('workers_id_seq', 100000);
INSERT INTO nodes (worker_id, hostname, cpu_cores, memory_mb, disk_gb, credential_hash,
                   last_heartbeat_at, streak_since, healthy_since, cpu_percent, memory_percent,
                   disk_percent)
SELECT id, name, 8, 32768, 500, repeat('c', 64), now() - interval '5 seconds',
       now() - interval '1 hour', now() - interval '1 hour', 20, 40, 50
  FROM workers WHERE kind = 'node';
INSERT INTO devices (worker_id, device_type) SELECT id, 'thermo' FROM workers WHERE kind = 'device';
-- 5 % long dead (offline for days): candidates every cycle that stay as they are.
UPDATE workers SET status = 'offline', status_reason = 'seeded', last_seen_at = now() - interval '3 days'
 WHERE id % 20 = 7;
UPDATE nodes SET last_heartbeat_at = now() - interval '3 days' WHERE worker_id % 20 = 7;
VACUUM ANALYZE;"

# Everyone alive is seen again "now" before each run, as the pollers and the ingest would; a
# VACUUM (not timed) then stands in for autovacuum, so no run pays for the previous run's reset.
fresh="UPDATE workers SET last_seen_at = now() - interval '5 seconds' WHERE id % 20 <> 7 AND last_seen_at > now() - interval '10 minutes';
UPDATE nodes SET last_heartbeat_at = now() - interval '5 seconds' WHERE worker_id % 20 <> 7 AND last_heartbeat_at > now() - interval '10 minutes';
VACUUM workers, nodes;"
reset="UPDATE workers SET status = 'online', status_reason = 'bench reset', last_seen_at = now() - interval '5 seconds' WHERE id % 20 <> 7 AND status <> 'online';
UPDATE nodes SET last_heartbeat_at = now() - interval '5 seconds', over_limit_streak = 0 WHERE worker_id % 20 <> 7;
UPDATE site_holds SET cleared_at = now() WHERE cleared_at IS NULL;
DELETE FROM watches;  -- each run is a monitor that has been watching all along (no gap)
VACUUM ANALYZE workers, nodes, worker_status_history;"
transitions="UPDATE nodes SET last_heartbeat_at = now() - interval '10 minutes' WHERE worker_id IN (SELECT id FROM workers WHERE kind = 'node' AND id % 20 <> 7 AND id % 131 = 0 LIMIT 300);
UPDATE nodes SET over_limit_streak = 5, over_limit = '{disk}', disk_percent = 95 WHERE worker_id IN (SELECT id FROM workers WHERE kind = 'node' AND id % 20 <> 7 AND id % 337 = 1 LIMIT 100);
UPDATE workers SET last_seen_at = now() - interval '20 minutes' WHERE id IN (SELECT id FROM workers WHERE kind = 'asic' AND id % 20 <> 7 AND id % 149 = 4 LIMIT 200);"
partition="UPDATE nodes SET last_heartbeat_at = now() - interval '10 minutes' WHERE worker_id IN (SELECT id FROM workers WHERE site = 'site-3' AND (id % 100 = 3 OR id % 300 = 53));"

cycle_ms() {  # one --once run; prints the cycle's own duration in ms, and its counts on stderr
  local log
  log=$("$bin/heartbeat-monitor" --once 2>&1 >/dev/null)
  echo "$log" | sed -n 's/.*cycle 1 completed in \([0-9.]*\)s: \(.*\)/\2/p' | tail -1 >&2
  echo "$log" | sed -n 's/.*cycle 1 completed in \([0-9.]*\)s.*/\1/p' | tail -1 | awk '{printf "%.1f", $1 * 1000}'
}
baseline_ms() {
  psql -qAt "$DATABASE_URL" <<'SQL' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
\timing on
SELECT count(*) FROM workers w LEFT JOIN nodes n ON n.worker_id = w.id LEFT JOIN devices d ON d.worker_id = w.id WHERE w.status <> 'removed';
SQL
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

sql "$reset" >/dev/null
cycle_ms >/dev/null 2>&1  # warm-up (and the first history retention pass)
steady=() changes=() parts=() base=()
for _ in $(seq "$runs"); do
  sql "$fresh"; base+=("$(baseline_ms)")
  sql "$fresh"; steady+=("$(cycle_ms 2>/tmp/hbm_bench_counts_steady)")
  sql "$reset"; sql "$fresh"; sql "$transitions"
  changes+=("$(cycle_ms 2>/tmp/hbm_bench_counts_changes)")
  sql "$reset"; sql "$fresh"; sql "$partition"
  parts+=("$(cycle_ms 2>/tmp/hbm_bench_counts_partition)")
  sql "$reset"
done
b=$(echo "${base[@]}" | median)
s=$(echo "${steady[@]}" | median)
c=$(echo "${changes[@]}" | median)
p=$(echo "${parts[@]}" | median)
ratio() { awk -v x="$1" -v y="$b" 'BEGIN {printf "%.1f", x / y}'; }
echo "| case (100,000 workers, median of $runs) | cycle | ratio to baseline | what the cycle did |"
echo "|---|---|---|---|"
echo "| baseline: SELECT count(*) over workers ⋈ nodes ⋈ devices | $b ms | 1.0 | |"
echo "| steady: nothing changes | $s ms | $(ratio "$s") | $(cat /tmp/hbm_bench_counts_steady) |"
echo "| 600 transitions (300 nodes silent, 100 over a limit, 200 ASICs stale) | $c ms | $(ratio "$c") | $(cat /tmp/hbm_bench_counts_changes) |"
echo "| partition: 1,333 of the 2,000 nodes of one site silent | $p ms | $(ratio "$p") | $(cat /tmp/hbm_bench_counts_partition) |"
rm -f /tmp/hbm_bench_counts_*
