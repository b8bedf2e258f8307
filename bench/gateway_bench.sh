#!/usr/bin/env bash
# api-gateway benchmark (docs/benchmarks.md § api-gateway): GET /api/miners?limit=100 over 10,000
# miners, authenticated, with wrk on loopback; beside it, in the same run and on the same server,
# GET /health (no authentication, no database) as the ceiling of this machine.
#
#   bench/gateway_bench.sh [build-dir] [duration-seconds] [connections]
#   MINERS=100000 sets the fleet's size (default 10,000; the workers page is over the same rows).
#   GATEWAY_ARGS="--set gateway.threads=8" passes gateway flags; ONLY=uncached runs /health and the
#   uncached miners and workers pages only, then the miners pages again on a gateway that asks
#   PostgreSQL for every page (the same run's baseline; PERF=<file> records the gateway with perf
#   during the first miners load).
#
# Loads: /health; /api/miners?limit=100 as the dashboard asks it (the same page again: the
# gateway's one-second response cache answers most); the same route with a different keyset
# cursor on every request (never the response cache: the gateway's copy of the list in memory),
# idle and while a writer changes 1,000 miners a second; /api/workers the same way (PostgreSQL);
# then /api/summary with and without 1,000 idle or slow connections held open by a hostile client
# (issue 15.2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${2:-10}
connections=${3:-32}
miners=${MINERS:-10000}
bin=$build/bin
for b in pg-harness api-gateway fleetctl; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/fleet-gateway-bench.XXXXXX)
gw_pid=""
cleanup() {
  if [[ -n ${writer_pid:-} ]]; then pkill -P "$writer_pid" 2>/dev/null || true; kill "$writer_pid" 2>/dev/null || true; fi
  [[ -n $gw_pid ]] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/bench"
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }

# $miners miners as discovery and the poller leave them: worker, miner row, model, latest status.
sql "INSERT INTO models (alias, full_name, presets, max_preset) VALUES
       ('s19jpro', 'Antminer S19j Pro', '[{\"name\": \"disabled\"}, {\"name\": \"3000\"}]', '3000')"
sql "INSERT INTO workers (kind, name, ip, status, managed, last_seen_at)
     SELECT 'asic', 'miner-' || g, ('127.60.0.0'::inet + g), 'online', g % 10 <> 0, now()
       FROM generate_series(1, $miners) g"
sql "INSERT INTO miners (worker_id, mac, model_alias, fw_version, api_key_state)
     SELECT id, ('02:00:00:' || lpad(to_hex(id / 65536 % 256), 2, '0') || ':' || lpad(to_hex(id / 256 % 256), 2, '0')
                 || ':' || lpad(to_hex(id % 256), 2, '0'))::macaddr, 's19jpro', '1.2.6', 'active'
       FROM workers"
sql "INSERT INTO statuses (worker_id, observed_at, miner_state, hashrate_ths, hashrate_ratio, power_w,
                           efficiency_jth, chip_temp_max, pcb_temp_max, fan_rpm_min, chips_red, chips_orange)
     SELECT worker_id, now(), 'mining', 95 + random() * 10, 0.98, 3250, 31.5, 70 + random() * 15, 60, 4200, 0, 2
       FROM miners"
sql "UPDATE miners m SET latest_status_id = s.id, last_status_at = s.observed_at FROM statuses s WHERE s.worker_id = m.worker_id"
sql "VACUUM ANALYZE"

key=$("$bin/fleetctl" users add bench --role viewer --generate-password >/dev/null &&
      "$bin/fleetctl" keys create --user bench --name wrk 2>/dev/null | grep -o 'fwk_[A-Za-z0-9_-]*' | head -1)
[[ -n $key ]] || { echo "could not create an API key" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token_secret=$(openssl rand -hex 32)
start_gateway() {  # start_gateway [flags...]: (re)starts the gateway and waits for its copy of the list
  if [[ -n $gw_pid ]]; then kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true; fi
  # shellcheck disable=SC2086  # GATEWAY_ARGS: extra gateway flags, e.g. "--set gateway.threads=8"
  "$bin/api-gateway" --port "$port" --set gateway.address=127.0.0.1 --set "gateway.token_secret=$token_secret" \
    ${GATEWAY_ARGS:-} "$@" >>"$work/gateway.log" 2>&1 &
  gw_pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  for _ in $(seq 600); do
    grep -q "^fleet_gateway_miner_list_rows $miners\$" <(curl -fsS "http://127.0.0.1:$port/metrics") && break
    [[ " $* ${GATEWAY_ARGS:-} " == *miners_in_memory=false* ]] && break
    sleep 0.1
  done
}
start_gateway
items=$(curl -fsS -H "X-API-Key: $key" "http://127.0.0.1:$port/api/miners?limit=100" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]))')
[[ $items == 100 ]] || { echo "GET /api/miners?limit=100 answered $items items" >&2; exit 1; }
bytes=$(curl -fsS -H "X-API-Key: $key" "http://127.0.0.1:$port/api/miners?limit=100" | wc -c)

cat >"$work/cursor.lua" <<LUA
-- A different keyset page on every request: nothing is served from the response cache.
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/miners?limit=100&after=" .. math.random(0, $((miners - 101))))
end
LUA
sed 's|/api/miners|/api/workers|' "$work/cursor.lua" >"$work/workers_cursor.lua"

pg_dir=$(sed -n 1p "$work/pg/server.state")
pg_pid=$(head -1 "$pg_dir/data/postmaster.pid" 2>/dev/null || head -1 "$pg_dir/postmaster.pid")
pg_ticks() {  # CPU ticks of PostgreSQL's server processes (the postmaster's children)
  local total=0 p
  for p in $(ps -o pid= --ppid "$pg_pid"); do
    [[ -r /proc/$p/stat ]] && total=$(( total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}

run_wrk() {  # run_wrk <label> <args...>: prints a Markdown row
  local label=$1
  shift
  local out cpu0 cpu1 pg0 pg1
  cpu0=$(awk '{print $14 + $15}' "/proc/$gw_pid/stat")
  pg0=$(pg_ticks)
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$@")
  cpu1=$(awk '{print $14 + $15}' "/proc/$gw_pid/stat")
  pg1=$(pg_ticks)
  local rps p50 p99
  rps=$(grep 'Requests/sec' <<<"$out" | awk '{print $2}')
  p50=$(grep -E '^\s+50%' <<<"$out" | awk '{print $2}')
  p99=$(grep -E '^\s+99%' <<<"$out" | awk '{print $2}')
  local errors
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd ';' || true)
  local cores pg_us gw_us
  cores=$(python3 -c "print(f'{($cpu1 - $cpu0) / 100 / $duration:.2f}')")
  # CPU per request (µs): steadier than req/s on a machine shared with other work.
  total=$(grep -E '^\s+[0-9]+ requests in' <<<"$out" | awk '{print $1}')
  gw_us=$(python3 -c "print(f'{($cpu1 - $cpu0) * 10000 / max($total, 1):.0f}')")
  pg_us=$(python3 -c "print(f'{($pg1 - $pg0) * 10000 / max($total, 1):.0f}')")
  echo "| $label | $rps | $p50 | $p99 | $cores | $gw_us | $pg_us | ${errors:-none} |"
}

echo "### api-gateway: $connections connections, ${duration}s each, wrk -t2 on the same 2-core machine"
echo
echo "GET /api/miners?limit=100 answers $bytes bytes (100 miners with their latest status)."
echo
echo "| load | req/s | p50 | p99 | gateway cores | gateway µs/request | PostgreSQL µs/request | errors |"
echo "|---|---|---|---|---|---|---|---|"
url="http://127.0.0.1:$port"
pages() {  # pages answered from memory and from the database so far
  curl -fsS "$url/metrics" | awk '/^fleet_gateway_miner_pages_total\{from="memory"\}/ {m=$2}
    /^fleet_gateway_miner_pages_total\{from="database"\}/ {d=$2} END {printf "%d %d", m, d}'
}
# A writer elsewhere, as a poller's batches: 100 random miners' status every 0.1 s (1,000
# miners/s), one transaction each, through one psql session.
writer_pid=""
start_writer() {
  (while true; do
     echo "UPDATE workers SET last_seen_at = clock_timestamp() WHERE id IN (SELECT (random() * ($miners - 1))::int + 1 FROM generate_series(1, 100));"
     sleep 0.1
   done | psql -q "$DATABASE_URL" >/dev/null 2>&1) 2>/dev/null &
  writer_pid=$!
}
stop_writer() { pkill -P "$writer_pid" 2>/dev/null || true; kill "$writer_pid" 2>/dev/null || true; wait "$writer_pid" 2>/dev/null || true; }
miners_uncached() {  # the uncached miners loads: idle, then beside the writer
  local before after
  before=$(pages)
  run_wrk "GET /api/miners?limit=100&after=<random>, API key (a different page each time)$1" -H "X-API-Key: $key" -s "$work/cursor.lua" "$url"
  start_writer
  run_wrk "the same, while 1,000 miners/s change elsewhere$1" -H "X-API-Key: $key" -s "$work/cursor.lua" "$url"
  stop_writer
  after=$(pages)
  read -r m0 d0 <<<"$before"
  read -r m1 d1 <<<"$after"
  if (( m1 + d1 > 0 )); then
    notes+=("pages of these two loads$1: $((m1 - m0)) from memory, $((d1 - d0)) from the database")
  fi
}
notes=()
run_wrk "GET /health (no auth, no database): ceiling" "$url/health"
if [[ ${ONLY:-} == uncached ]]; then
  # PERF=<file>: also records the gateway's profile during this load (perf report -i <file>).
  [[ -n ${PERF:-} ]] && { perf record -F 2000 -g -o "$PERF" -p "$gw_pid" -- sleep "$duration" >/dev/null 2>&1 & }
  miners_uncached ""
  run_wrk "GET /api/workers?limit=100&after=<random>, API key (every request queries PostgreSQL)" -H "X-API-Key: $key" -s "$work/workers_cursor.lua" "$url"
  notes+=("gateway RSS: $(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$gw_pid/status") with $miners miners in memory (peak $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$gw_pid/status"))")
  notes+=("$(grep -o 'miners list in memory: [0-9]* miners loaded in [0-9]* ms' "$work/gateway.log" | head -1)")
  # The same run's baseline: every page from PostgreSQL.
  start_gateway --set gateway.miners_in_memory=false
  miners_uncached " [gateway.miners_in_memory=false]"
  notes+=("gateway RSS with every page from the database: $(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$gw_pid/status")")
  echo
  for n in "${notes[@]}"; do echo "- $n"; done
  exit 0
fi
run_wrk "GET /api/miners?limit=100, API key (same page: response cache)" -H "X-API-Key: $key" "$url/api/miners?limit=100"
miners_uncached ""
run_wrk "GET /api/workers?limit=100&after=<random>, API key (every request queries PostgreSQL)" -H "X-API-Key: $key" -s "$work/workers_cursor.lua" "$url"
run_wrk "GET /api/summary, API key (no attackers)" -H "X-API-Key: $key" "$url/api/summary"

# 1,000 hostile connections (issue 15.2): 500 that never send a byte and 500 that send their request
# head one byte every 0.5 s; each is reopened as soon as the gateway closes it (idle timeout, head
# deadline), so 1,000 stay open for the whole run.
cat >"$work/slow_clients.py" <<'PY'
import socket, sys, time, selectors
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = b"GET /api/summary HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"x" * 200 + b"\r\n"
conns = []  # [socket, bytes sent or None for idle]
def open_one(slow):
    s = socket.socket(); s.setblocking(True); s.connect((host, port)); s.setblocking(False)
    return [s, 0 if slow else None]
for i in range(n):
    conns.append(open_one(i % 2 == 1))
print("open", flush=True)
reopened = 0
while True:
    for c in conns:
        s, at = c
        try:
            if s.recv(4096, socket.MSG_DONTWAIT) == b"":
                raise ConnectionError
        except BlockingIOError:
            pass
        except OSError:
            s.close(); c[:] = open_one(at is not None); reopened += 1; continue
        if at is not None:
            try:
                s.send(head[at % len(head):at % len(head) + 1]); c[1] = at + 1
            except OSError:
                s.close(); c[:] = open_one(True); reopened += 1
    time.sleep(0.5)
PY
python3 "$work/slow_clients.py" 127.0.0.1 "$port" 1000 >"$work/slow.log" 2>&1 &
slow_pid=$!
for _ in $(seq 100); do grep -q open "$work/slow.log" 2>/dev/null && break; sleep 0.2; done
run_wrk "GET /health with 1,000 idle/slow connections open" "$url/health"
run_wrk "GET /api/summary, API key, with 1,000 idle/slow connections open" -H "X-API-Key: $key" "$url/api/summary"
kill "$slow_pid" 2>/dev/null || true
wait "$slow_pid" 2>/dev/null || true
echo
for n in "${notes[@]}"; do echo "- $n"; done
