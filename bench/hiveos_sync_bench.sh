#!/usr/bin/env bash
# hiveos-sync (issue 11): one sync + stats cycle (--once) against hiveos-sim with 5,000 workers in
# 50 farms (100 each, 10 % ASICs), with a request budget large enough never to wait. Measured per
# run: requests the simulator received in the cycle (from its /control/requests; the goal is
# O(farms): 1 + 50 = 51), the cycle's own duration (its "cycle 1 completed in X s" line), the
# process's wall time, CPU (user + system) and max RSS (/usr/bin/time -v), and the CPU PostgreSQL
# and the simulator spent meanwhile (/proc). Four cases per run,
# on one fresh database:
#   first       the first sync: 50 farms and 5,000 workers + rigs created, metrics written
#   steady      the next sync, 1 s later, with the default hiveos.readings_interval and
#               hiveos.latest_refresh (1m): every worker updated (stats moved), changed values
#               into metrics_latest, the few rigs whose minute just began into readings
#   steady 30s  a sync 30 s later (hiveos-sync's default interval): about half the rigs are due
#               for readings and for rewriting their unchanged values
#   every value the next sync with both set to 0: every value rewritten and appended (the cost
#               of every cycle before they existed)
# Baseline in the same run: the simulator's own answer time for the same 51 requests, fetched one
# after the other with curl (what reading HiveOS costs before anything is parsed or stored), with
# compression accepted as hiveos-sync's client does, and without. The cycle's counts split its time
# into http_ms (waiting for answers) and store_ms (writing them).
#
# With HIVEOS_SYNC_BEFORE=<an earlier hiveos-sync binary>, each run also measures its first and
# steady cycles on a fresh database of their own (the same schema: the before/after ratio in the
# same run); with HIVEOS_SIM_BEFORE=<an earlier hiveos-sim binary> as well, those "before" cycles
# read a simulator of that build (started beside this build's, with the same fleet).
#
#   bench/hiveos_sync_bench.sh [build-dir] [runs]     (default: build 5)
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-5}
bin=$build/bin
state=$(mktemp -d /tmp/fleet-bench-XXXXXX)
sim_pid= before_sim_pid=
cleanup() {
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null || true
  [[ -n $before_sim_pid ]] && kill "$before_sim_pid" 2>/dev/null || true
  "$bin/pg-harness" stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

"$bin/pg-harness" start "$state" >/dev/null
port=$(sed -n 2p "$state/server.state")
admin="postgresql://postgres@127.0.0.1:$port/postgres"
new_db() {
  psql -q "$admin" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench TEMPLATE fleet_template"
}
export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/bench"
export FLEET_SECRET_KEY=$(openssl rand -hex 32)
token=bench-$(openssl rand -hex 8)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
start_sim() {  # binary port log
  "$1" --listen "127.0.0.1:$2" --farms 50 --workers-per-farm 100 \
    --asic-share 0.1 --token "$token" --seed 11 --threads 4 >"$3" 2>&1 &
}
sim_port=$(free_port)
start_sim "$bin/hiveos-sim" "$sim_port" "$state/sim.log"
sim_pid=$!
sim_proc=$sim_pid
sim="http://127.0.0.1:$sim_port"
for _ in $(seq 100); do curl -fs "$sim/control/state" >/dev/null && break; sleep 0.1; done
after_sim=$sim
before_sim=$sim
if [[ -n ${HIVEOS_SIM_BEFORE:-} ]]; then
  before_port=$(free_port)
  start_sim "$HIVEOS_SIM_BEFORE" "$before_port" "$state/before_sim.log"
  before_sim_pid=$!
  before_sim="http://127.0.0.1:$before_port"
  for _ in $(seq 100); do curl -fs "$before_sim/control/state" >/dev/null && break; sleep 0.1; done
fi

account() {
  "$bin/hiveos_bench_account" bench "$sim/api/v2" "$token" 6000 1000 >/dev/null
}

baseline_ms() {  # the 51 requests of a cycle, one after the other, with curl [extra flags]
  local farms total=0 t
  farms=$(curl -fs -H "Authorization: Bearer $token" "$sim/api/v2/farms" | python3 -c \
    'import json,sys; print(" ".join(str(f["id"]) for f in json.load(sys.stdin)["data"]))')
  t=$(curl -fs "$@" -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$sim/api/v2/farms")
  total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
  for f in $farms; do
    t=$(curl -fs "$@" -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
      "$sim/api/v2/farms/$f/workers")
    total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
  done
  awk -v s="$total" 'BEGIN {printf "%.0f", s * 1000}'
}

# One --once cycle; prints "requests cycle_ms wall_ms cpu_ms rss_mb", its counts on stderr.
# PostgreSQL's CPU: the postmaster's reaped children (the cycle's backend exits with hiveos-sync)
# plus its live processes (autovacuum, checkpointer, ...); the simulator's own CPU. Both in clock
# ticks (10 ms).
pg_ticks() {
  local pm total=0 p
  pm=$(head -1 "$(sed -n 1p "$state/server.state")/data/postmaster.pid")
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
sim_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One --once cycle; prints "requests cycle_ms wall_ms cpu_ms rss_mb pg_cpu_ms sim_cpu_ms", its
# counts on stderr.
cycle() {
  curl -fs -X DELETE "$sim/control/requests" >/dev/null
  local log pg0 sim0 pg_ms sim_ms
  pg0=$(pg_ticks)
  sim0=$(sim_ticks "$sim_proc")
  log=$( { /usr/bin/time -v env "$@" "${sync_bin:-$bin/hiveos-sync}" --once 2>&1 >/dev/null; } 2>&1 )
  sleep 0.2  # the backend has exited and been reaped
  pg_ms=$((($(pg_ticks) - pg0) * 10))
  sim_ms=$((($(sim_ticks "$sim_proc") - sim0) * 10))
  echo "$log" | sed -n 's/.*cycle 1 completed in [0-9.]*s: \(.*\)/\1/p' | tail -1 >&2
  local requests cycle wall user sys rss
  requests=$(curl -fs "$sim/control/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
  cycle=$(echo "$log" | sed -n 's/.*cycle 1 completed in \([0-9.]*\)s.*/\1/p' | tail -1)
  wall=$(echo "$log" | sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): \(.*\)/\1/p' |
    awk -F: '{print ($1 * 60 + $2)}')
  user=$(echo "$log" | sed -n 's/.*User time (seconds): \(.*\)/\1/p')
  sys=$(echo "$log" | sed -n 's/.*System time (seconds): \(.*\)/\1/p')
  rss=$(echo "$log" | sed -n 's/.*Maximum resident set size (kbytes): \(.*\)/\1/p')
  awk -v r="$requests" -v c="$cycle" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" \
    -v pg="$pg_ms" -v sm="$sim_ms" \
    'BEGIN {printf "%d %.0f %.0f %.0f %.1f %d %d\n", r, c * 1000, w * 1000, (u + s) * 1000, m / 1024, pg, sm}'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
col() { echo "$1" | tr ';' '\n' | awk -v c="$2" 'NF {print $c}' | median; }

first=() steady=() late=() every=() base=() plain=() bfirst=() bsteady=()
for _ in $(seq "$runs"); do
  new_db >/dev/null; account
  # hiveos-sync's client accepts compressed bodies (as HiveOS serves them): so does the baseline.
  base+=("$(baseline_ms --compressed)")
  plain+=("$(baseline_ms)")
  first+=("$(cycle 2>"$state/counts_first")")
  sleep 1  # the simulator's stats move on
  steady+=("$(cycle 2>"$state/counts_steady")")
  sleep 30
  late+=("$(cycle 2>"$state/counts_late")")
  sleep 1
  every+=("$(cycle FLEET_HIVEOS_READINGS_INTERVAL=0 FLEET_HIVEOS_LATEST_REFRESH=0 \
    2>"$state/counts_every")")
  if [[ -n ${HIVEOS_SYNC_BEFORE:-} ]]; then
    sim=$before_sim sim_proc=${before_sim_pid:-$sim_pid}
    new_db >/dev/null; account
    bfirst+=("$(sync_bin=$HIVEOS_SYNC_BEFORE cycle 2>"$state/counts_bfirst")")
    sleep 1
    bsteady+=("$(sync_bin=$HIVEOS_SYNC_BEFORE cycle 2>"$state/counts_bsteady")")
    sim=$after_sim sim_proc=$sim_pid
  fi
done
F=$(printf '%s;' "${first[@]}")
S=$(printf '%s;' "${steady[@]}")
L=$(printf '%s;' "${late[@]}")
E=$(printf '%s;' "${every[@]}")
b=$(echo "${base[@]}" | median)
p=$(echo "${plain[@]}" | median)
ratio() { awk -v x="$1" -v y="$b" 'BEGIN {printf "%.1f", x / y}'; }
echo "| case (5,000 workers in 50 farms, median of $runs) | requests | cycle | wall | ratio (wall / baseline) | CPU | max RSS | PostgreSQL CPU | simulator CPU | cycle of each run |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| baseline: the 51 requests with curl --compressed, one after the other | 51 | | $b ms | 1.0 | | | | | |"
echo "| (the same without compression, for reference) | 51 | | $p ms | $(ratio "$p") | | | | | |"
cases="first steady late every"
[[ -n ${HIVEOS_SYNC_BEFORE:-} ]] && cases="bfirst bsteady $cases"
BF=$(printf '%s;' "${bfirst[@]}")
BS=$(printf '%s;' "${bsteady[@]}")
for c in $cases; do
  case $c in
    bfirst) v=$BF label="before: first sync" ;;
    bsteady) v=$BS label="before: steady, 1 s later" ;;
    first) v=$F label="first sync" ;;
    steady) v=$S label="steady, 1 s later" ;;
    late) v=$L label="steady, 30 s later" ;;
    every) v=$E label="steady, every value written (both intervals 0)" ;;
  esac
  w=$(col "$v" 3)
  echo "| $label: $(cat "$state/counts_$c") | $(col "$v" 1) | $(col "$v" 2) ms | $w ms | $(ratio "$w") | $(col "$v" 4) ms | $(col "$v" 5) MB | $(col "$v" 6) ms | $(col "$v" 7) ms | $(echo "$v" | tr ';' '\n' | awk 'NF {printf "%s%s", (n++ ? ", " : ""), $2}') |"
done
