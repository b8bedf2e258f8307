#!/usr/bin/env bash
# Runs fleetward locally on a fresh Debian 12 machine: installs the packages, builds, starts a
# PostgreSQL server in ./var/pg (as the postgres user: initdb refuses root), applies the
# migrations, starts the workers, and shows `fleetctl status` until Ctrl-C, which stops everything.
#
#   scripts/demo.sh                 (FLEET_DEMO_PG_PORT=55432 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
build=${FLEET_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja >/dev/null
ninja -C "$build"
bin=$root/$build/bin

var=$root/var
pg_port=${FLEET_DEMO_PG_PORT:-55432}
pg_bin=/usr/lib/postgresql/15/bin
mkdir -p "$var/log" "$var/run"

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping workers"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "demo: stopping PostgreSQL"
  as_postgres "$pg_bin/pg_ctl" -D "$var/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  echo "demo: stopped (data kept in $var; remove it for a fresh start)"
}
trap stop_all INT TERM EXIT

# --- PostgreSQL in ./var/pg --------------------------------------------------------------------
if [[ ! -d $var/pg/data ]]; then
  mkdir -p "$var/pg"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$var/pg"
  as_postgres "$pg_bin/initdb" -D "$var/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
fi
if ! as_postgres "$pg_bin/pg_ctl" -D "$var/pg/data" status >/dev/null 2>&1; then
  if (echo >"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null; then
    echo "demo: port $pg_port is taken; set FLEET_DEMO_PG_PORT" >&2
    exit 1
  fi
  as_postgres "$pg_bin/pg_ctl" -D "$var/pg/data" -l "$var/pg/server.log" -w \
    -o "-p $pg_port -k $var/pg -c listen_addresses=127.0.0.1" start >/dev/null
fi
export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/fleetward"
if ! as_postgres psql -h 127.0.0.1 -p "$pg_port" -U postgres -Atqc \
     "SELECT 1 FROM pg_database WHERE datname = 'fleetward'" postgres | grep -q 1; then
  as_postgres psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE fleetward" postgres
fi
"$bin/fleetctl" migrate

# --- workers -----------------------------------------------------------------------------------
start() {  # start <binary> <args...>: runs a worker in the background, logging to var/log
  local name=$1
  shift
  "$bin/$name" --log-file "$var/log/$name.log" "$@" >"$var/log/$name.out" 2>&1 &
  pids+=($!)
  echo "demo: started $name (pid $!)"
}
start maintenance-worker --health-port 9105

cat <<MSG

fleetward is running.
  database   $DATABASE_URL
  status     DATABASE_URL=$DATABASE_URL $bin/fleetctl status
  logs       $bin/fleetctl logs tail -f --dir $var/log
  probes     curl localhost:9105/health   curl localhost:9105/ready   curl localhost:9105/metrics
Press Ctrl-C to stop everything.

MSG
sleep 2
while true; do
  "$bin/fleetctl" status || true
  sleep 10
done
