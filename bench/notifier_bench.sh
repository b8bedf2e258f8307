#!/usr/bin/env bash
# Notifier throughput and latency (docs/benchmarks.md § notifier), against a local webhook-receiver.
#  1. deliveries/s with grouping off (group_by worker, group_wait 0): N notifications written
#     while the notifier is stopped, then the time from its start until the receiver has all N
#     (routing, grouping, rendering, signing, POST, recording). Baseline in the same run: the
#     receiver's raw rate for the same body, curl --parallel (16 connections, keep-alive).
#  2. latency from a notification INSERT (its created_at) to its arrival at the receiver, one
#     notification every 50 ms, group_wait 0, written from one open session as producers do
#     (and, for comparison with the first figures, from a new psql connection each: a new
#     backend's first INSERT spends 10-20 ms loading its caches after created_at was taken).
#     Floor: curl's time_total for one POST.
#
#   bench/notifier_bench.sh [build-dir] [notifications] [latency-samples]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-10000}
samples=${3:-200}
bin=$build/bin
for b in pg-harness notifier webhook-receiver; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fleet-notifier-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  [[ -n ${KEEP:-} ]] && cp "$work/notifier.log" /tmp/notifier-bench.log
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/bench"
export FLEET_SECRET_KEY
FLEET_SECRET_KEY=$(openssl rand -hex 32)
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }

port=$(free_port)
"$bin/webhook-receiver" --port "$port" --log-file "$work/received.jsonl" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/control/count" >/dev/null 2>&1 && break; sleep 0.1; done
count() { curl -fsS "http://127.0.0.1:$port/control/count"; }
# Waits (one process, one kept-alive connection, every 10 ms) until the receiver has $1 requests.
wait_count() {
  python3 - "$port" "$1" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
while True:
    c.request("GET", "/control/count")
    if int(c.getresponse().read()) >= int(sys.argv[2]):
        break
    time.sleep(0.01)
PY
}

# --- baseline: the receiver's raw rate for a document-sized body -------------------------------
body=$(python3 -c 'import json; print(json.dumps({"version": 1, "notifications": [{"title": "x" * 400}]}))')
{
  for i in $(seq "$n"); do
    (( i > 1 )) && echo next
    printf 'url = "http://127.0.0.1:%s/raw"\ndata = "@%s/body.json"\noutput = "/dev/null"\n' "$port" "$work"
  done
} >"$work/curl.cfg"
printf '%s' "$body" >"$work/body.json"
t0=$(now_ms)
curl -sS --parallel --parallel-max 16 -H 'Content-Type: application/json' -K "$work/curl.cfg"
t1=$(now_ms)
raw_ms=$((t1 - t0))

# --- throughput ---------------------------------------------------------------------------------
sql "INSERT INTO notification_channels (name, kind, config, group_by, group_wait_ms, group_interval_ms, created_by)
     VALUES ('bench', 'webhook', '{\"url\": \"http://127.0.0.1:$port/hook\", \"timeout_ms\": 5000}', '{worker}', 0, 0, 'bench')"
sql "INSERT INTO notification_routes (name, channel_id, created_by) SELECT 'all', id, 'bench' FROM notification_channels"
sql "INSERT INTO workers (kind, name, site) SELECT 'asic', 'm-' || g, 'hall-' || (g % 10) FROM generate_series(1, $n) g"
sql "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key)
     SELECT 'bench', 'worker.offline', 'warning', name || ' is offline', id, 'off:' || id FROM workers"
before=$(count)
t0=$(now_ms)
"$bin/notifier" --health-port 0 --interval 1 ${NOTIFIER_FLAGS:-} >"$work/notifier.log" 2>&1 &
pids+=($!)
wait_count $((before + n))
t1=$(now_ms)
notifier_ms=$((t1 - t0))
delivered=$(sql "SELECT count(*) FROM notification_messages WHERE state = 'delivered'")
while [[ $delivered -lt $n ]]; do sleep 0.1; delivered=$(sql "SELECT count(*) FROM notification_messages WHERE state = 'delivered'"); done

# --- latency ------------------------------------------------------------------------------------
{
  for i in $(seq "$samples"); do
    echo "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key)
          VALUES ('bench', 'worker.offline', 'warning', 'latency $i', $(( (i % n) + 1 )), 'lat:$i');
          SELECT pg_sleep(0.05);"
  done
} | psql -qAt "$DATABASE_URL" >/dev/null
for i in $(seq "$samples"); do
  sql "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key)
       VALUES ('bench', 'worker.offline', 'warning', 'coldlatency $i', $(( (i % n) + 1 )), 'cold:$i')"
  sleep 0.05
done
floor=()
for i in $(seq "$samples"); do
  floor+=("$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
             --data-binary "@$work/body.json" "http://127.0.0.1:$port/floor")")
done
sleep 1
python3 - "$work/received.jsonl" "$n" "$raw_ms" "$notifier_ms" "${floor[*]}" <<'PY'
import json, sys, datetime
path, n, raw_ms, notifier_ms, floor = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lat, cold = [], []
for line in open(path):
    e = json.loads(line)
    if e["path"] != "/hook" or not isinstance(e["body"], dict):
        continue
    for item in e["body"]["notifications"]:
        if item["title"].startswith(("latency ", "coldlatency ")):
            created = datetime.datetime.strptime(item["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
            created = created.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
            (lat if item["title"].startswith("latency ") else cold).append(e["received_ms"] - created)
floor_ms = [float(x) * 1000 for x in floor.split()]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
raw_rate = n / (raw_ms / 1000)
rate = n / (notifier_ms / 1000)
print("| measure | count | result | baseline (same run) | ratio |")
print("|---|---|---|---|---|")
print(f"| deliveries/s, grouping off | {n} | {rate:.0f}/s ({notifier_ms} ms) | receiver raw {raw_rate:.0f}/s (curl --parallel 16) | {rate / raw_rate:.2f} |")
print(f"| INSERT -> receiver p50 ms | {len(lat)} | {pct(lat, 50):.1f} | POST floor {pct(floor_ms, 50):.2f} | {pct(lat, 50) / pct(floor_ms, 50):.1f}x |")
print(f"| INSERT -> receiver p99 ms | {len(lat)} | {pct(lat, 99):.1f} | POST floor {pct(floor_ms, 99):.2f} | {pct(lat, 99) / pct(floor_ms, 99):.1f}x |")
print(f"| same, a new psql connection per INSERT, p50 ms | {len(cold)} | {pct(cold, 50):.1f} | POST floor {pct(floor_ms, 50):.2f} | {pct(cold, 50) / pct(floor_ms, 50):.1f}x |")
PY
