#!/usr/bin/env bash
# Command latency (docs/benchmarks.md § action-dispatcher): from POST /api/workers/{id}/commands
# (power_on on a worker wired to a relay) to the MQTT command message arriving at a subscriber on
# the controller's topic — gateway, PostgreSQL (INSERT + NOTIFY), the dispatcher's wake-up, claim
# and publish. Floor in the same run: mosquitto_pub -> mosquitto -> the same subscriber.
#
#   bench/dispatch_latency_bench.sh [build-dir] [requests]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
requests=${2:-300}
bin=$build/bin
for b in pg-harness api-gateway action-dispatcher relay-sim fleetctl; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fleet-latency-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$bin/pg-harness" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin/pg-harness" start "$work/pg" >/dev/null
pg_port=$(sed -n 2p "$work/pg/server.state")
psql -q "postgresql://postgres@127.0.0.1:$pg_port/postgres" -c "CREATE DATABASE bench TEMPLATE fleet_template"
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/bench"
export FLEET_SECRET_KEY
FLEET_SECRET_KEY=$(openssl rand -hex 32)
sql() { psql -qAt "$DATABASE_URL" -c "$1"; }

mqtt=$(free_port)
/usr/sbin/mosquitto -p "$mqtt" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
control=$(free_port)
"$bin/relay-sim" --broker "127.0.0.1:$mqtt" --controller rack-a:fleetward:rack-a:64 \
  --min-cycle-interval 0s --control "127.0.0.1:$control" >"$work/relay-sim.log" 2>&1 &
pids+=($!)

# 64 workers on one controller's channels.
sql "INSERT INTO relay_controllers (id, name, driver, topic, channels) VALUES (1, 'rack-a', 'fleetward', 'rack-a', 64)"
sql "INSERT INTO workers (kind, name, status) SELECT 'asic', 'm' || g, 'online' FROM generate_series(1, 64) g"
sql "INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring) SELECT id, 1, id, 'mains' FROM workers"

key=$("$bin/fleetctl" users add bench --role operator --generate-password >/dev/null &&
      "$bin/fleetctl" keys create --user bench --name latency 2>/dev/null | grep -o 'fwk_[A-Za-z0-9_-]*' | head -1)
[[ -n $key ]] || { echo "could not create an API key" >&2; exit 1; }
http=$(free_port)
"$bin/api-gateway" --port "$http" --set gateway.address=127.0.0.1 \
  --set "gateway.token_secret=$(openssl rand -hex 32)" >"$work/gateway.log" 2>&1 &
pids+=($!)
"$bin/action-dispatcher" --health-port 0 --set "mqtt.port=$mqtt" --set dispatch.worker_min_interval=0 \
  --set dispatch.fleet_rate_limit=1000000 --set dispatch.site_rate_limit=1000000 \
  --set dispatch.worker_daily_cap=100000 --set dispatch.reboot_loop_count=0 \
  --set dispatch.firmware_threads=0 --interval 60 >"$work/dispatcher.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$http/ready" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do [[ $(sql "SELECT online FROM relay_controllers") == t ]] && break; sleep 0.1; done

mosquitto_sub -h 127.0.0.1 -p "$mqtt" -t 'fleetward/relay/+/+/cmd' -t 'bench/floor' -F '%U %t %p' \
  >"$work/arrivals" 2>/dev/null &
pids+=($!)
sleep 0.5

python3 - "$http" "$key" "$requests" "$mqtt" "$work" <<'PY'
import http.client, json, subprocess, sys, time
port, key, n, mqtt, work = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
sent = {}
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    worker = i % 64 + 1
    body = json.dumps({"action": "power_on", "confirm": True})
    t0 = time.time()
    conn.request("POST", f"/api/workers/{worker}/commands", body,
                 {"X-API-Key": key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read())
    if r.status != 201:
        sys.exit(f"POST answered {r.status}: {data}")
    sent[f"cmd-{data['id']}-1"] = t0
    time.sleep(0.02)
# Floor: one long-lived publisher, each line stamped with its send time.
pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", mqtt, "-t", "bench/floor", "-q", "1", "-l"],
                       stdin=subprocess.PIPE, text=True)
time.sleep(0.3)
for i in range(n):
    pub.stdin.write(f"{time.time()!r}\n")
    pub.stdin.flush()
    time.sleep(0.02)
pub.stdin.close(); pub.wait()
time.sleep(1.0)
api, floor = [], []
for line in open(f"{work}/arrivals"):
    at, topic, payload = line.rstrip("\n").split(" ", 2)
    if topic == "bench/floor":
        floor.append((float(at) - float(payload)) * 1000)
    else:
        req = json.loads(payload).get("req_id")
        if req in sent:
            api.append((float(at) - sent[req]) * 1000)
if not api:
    print(open(f"{work}/arrivals").read()[:600]); print(open(f"{work}/dispatcher.log").read()[-1500:])
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print("| path | messages | p50 ms | p99 ms | max ms |")
print("|---|---|---|---|---|")
for name, xs in (("POST /api/workers/{id}/commands -> MQTT subscriber", api),
                 ("floor: mosquitto_pub -> MQTT subscriber", floor)):
    print(f"| {name} | {len(xs)} | {pct(xs, 50):.2f} | {pct(xs, 99):.2f} | {max(xs):.2f} |")
print(f"ratio p50: {pct(api, 50) / pct(floor, 50):.1f}x, p99: {pct(api, 99) / pct(floor, 99):.1f}x")
PY
