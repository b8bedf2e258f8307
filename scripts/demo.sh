#!/usr/bin/env bash
# Runs fleetward locally on a fresh Debian 12 machine: installs the packages, builds, creates a
# PostgreSQL cluster in ./var/pg (as the postgres user: initdb refuses root), then starts under
# fleetward's own supervisor (`fleetctl up`, deploy/local/services.json): PostgreSQL, the
# migrations, miner-sim with a few hundred simulated miners on 127.50.x.y, discovery-worker,
# status-poller, telemetry-worker, alert-evaluator, maintenance-worker, a mosquitto broker with
# relay-sim (two simulated relay controllers), hiveos-sim (a few farms of HiveOS rigs, added as an
# account through the API) with hiveos-sync, the action-dispatcher, heartbeat-monitor, three
# container host nodes (each a Podman API service with a node-agent installed through the
# gateway's install script: deploy/local/demo-nodes.sh) and the api-gateway with the dashboard;
# an admin user and two example rules are created. It prints the dashboard URL and the
# login, then `fleetctl status` until Ctrl-C stops everything.
#
#   scripts/demo.sh     FLEET_DEMO_MINERS=300, FLEET_DEMO_HTTP_PORT=8080, FLEET_DEMO_PG_PORT=55432
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
build=${FLEET_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja >/dev/null
ninja -C "$build"

export FLEET_BIN=$root/$build/bin
export FLEET_VAR=$root/var
export FLEET_PG_PORT=${FLEET_DEMO_PG_PORT:-55432}
export FLEET_PG_USER=""
export DATABASE_URL="postgresql://postgres@127.0.0.1:$FLEET_PG_PORT/fleetward"
export FLEET_ROOT=$root
export FLEET_DEMO_MINERS=${FLEET_DEMO_MINERS:-300}
export FLEET_DEMO_HTTP_PORT=${FLEET_DEMO_HTTP_PORT:-8080}
export FLEET_SIM_PORT=${FLEET_SIM_PORT:-8081}
export FLEET_SIM_CONTROL_PORT=${FLEET_SIM_CONTROL_PORT:-9190}
export FLEET_MQTT_PORT=${FLEET_MQTT_PORT:-1884}
export FLEET_RELAY_CONTROL_PORT=${FLEET_RELAY_CONTROL_PORT:-9191}
export FLEET_HIVEOS_SIM_PORT=${FLEET_HIVEOS_SIM_PORT:-8082}
mkdir -p "$FLEET_VAR/log" "$FLEET_VAR/run" "$FLEET_VAR/pg"
# Secrets of this demo, made once and kept in var/ (mode 600) so a restart keeps the miners' sealed
# API keys, the sessions and the admin password.
secret() {  # secret <file> <command printing a new value>
  if [[ ! -s $FLEET_VAR/$1 ]]; then (umask 077; eval "$2" >"$FLEET_VAR/$1"); fi
  cat "$FLEET_VAR/$1"
}
FLEET_SECRET_KEY=$(secret secret.key "openssl rand -hex 32")
FLEET_GATEWAY_TOKEN_SECRET=$(secret token.secret "openssl rand -hex 32")
FLEET_DEMO_PASSWORD=$(secret admin.password "openssl rand -base64 12 | tr -d '/+='")
# hiveos-sim's personal token: the demo's HiveOS account is added with it through the API.
FLEET_HIVEOS_DEMO_TOKEN=$(secret hiveos.token "openssl rand -hex 24")
export FLEET_SECRET_KEY FLEET_GATEWAY_TOKEN_SECRET FLEET_DEMO_PASSWORD FLEET_HIVEOS_DEMO_TOKEN
if [[ $(id -u) -eq 0 ]]; then
  FLEET_PG_USER=postgres
  chown postgres:postgres "$FLEET_VAR/pg"
fi
if [[ ! -d $FLEET_VAR/pg/data ]]; then
  if [[ -n $FLEET_PG_USER ]]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$FLEET_VAR/pg/data" -U postgres \
      --auth=trust -E UTF8 --locale=C >/dev/null
  else
    /usr/lib/postgresql/15/bin/initdb -D "$FLEET_VAR/pg/data" -U postgres --auth=trust -E UTF8 \
      --locale=C >/dev/null
  fi
fi

"$FLEET_BIN/fleetctl" up --services deploy/local/services.json --status-every 0 &
supervisor=$!
stop() {
  trap - INT TERM
  kill -INT "$supervisor" 2>/dev/null || true
  wait "$supervisor" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

cat <<MSG

fleetward is starting (logs: $FLEET_VAR/log).

  Dashboard:  http://127.0.0.1:$FLEET_DEMO_HTTP_PORT/dashboard/
  Login:      admin / $FLEET_DEMO_PASSWORD      (kept in $FLEET_VAR/admin.password)
  API:        http://127.0.0.1:$FLEET_DEMO_HTTP_PORT/api/openapi.json
  Nodes:      ${FLEET_DEMO_NODES:-3} container hosts (Podman + node-agent, in $FLEET_VAR/nodes), on the Nodes page
  Miners:     $FLEET_DEMO_MINERS simulated on 127.50.0.1.. port $FLEET_SIM_PORT (control API 127.0.0.1:$FLEET_SIM_CONTROL_PORT)
  HiveOS:     hiveos-sim with 3 farms of 8 rigs/ASICs on 127.0.0.1:$FLEET_HIVEOS_SIM_PORT (account demo-hiveos, synced by hiveos-sync; Rigs page)

Useful commands, with DATABASE_URL=$DATABASE_URL:
  $FLEET_BIN/fleetctl status                          worker processes (from the database)
  FLEET_API_URL=http://127.0.0.1:$FLEET_DEMO_HTTP_PORT FLEET_API_USER=admin FLEET_API_PASSWORD=... \\
    $FLEET_BIN/fleetctl api miners list               the fleet through the REST API
  $FLEET_BIN/fleetctl watch -s deploy/local/services.json   supervised services and their health
  $FLEET_BIN/fleetctl logs tail -f --dir $FLEET_VAR/log
  curl localhost:9102/health   curl localhost:9102/ready   curl localhost:9102/metrics
Press Ctrl-C to stop everything.

MSG
sleep 5
while kill -0 "$supervisor" 2>/dev/null; do
  "$FLEET_BIN/fleetctl" status 2>/dev/null || echo "(database not ready yet)"
  sleep 15 &
  wait $! || true
done
