#!/usr/bin/env bash
# Runs fleetward locally on a fresh Debian 12 machine: installs the packages, builds, creates a
# PostgreSQL cluster in ./var/pg (as the postgres user: initdb refuses root), then starts
# PostgreSQL, the migrations and every worker under fleetward's own supervisor (`fleetctl up`,
# deploy/local/services.json), and shows `fleetctl status` until Ctrl-C stops everything.
#
#   scripts/demo.sh           (FLEET_DEMO_PG_PORT=55432 by default)
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
mkdir -p "$FLEET_VAR/log" "$FLEET_VAR/run" "$FLEET_VAR/pg"
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

fleetward is starting (logs: $FLEET_VAR/log). Useful commands, with DATABASE_URL=$DATABASE_URL:
  $FLEET_BIN/fleetctl status                          worker processes (from the database)
  $FLEET_BIN/fleetctl watch -s deploy/local/services.json   supervised services and their health
  $FLEET_BIN/fleetctl logs tail -f --dir $FLEET_VAR/log
  curl localhost:9105/health   curl localhost:9105/ready   curl localhost:9105/metrics
Press Ctrl-C to stop everything.

MSG
sleep 5
while kill -0 "$supervisor" 2>/dev/null; do
  "$FLEET_BIN/fleetctl" status 2>/dev/null || echo "(database not ready yet)"
  sleep 15 &
  wait $! || true
done
