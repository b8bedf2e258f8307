#!/bin/sh
# One-shot set-up of the local demo (deploy/local/services.json), idempotent: the admin user, two
# example rules, and — once discovery has found the simulated miners — a max preset for every model,
# which is what starts status polling (seed 003). Needs FLEET_BIN, DATABASE_URL, FLEET_DEMO_PASSWORD.
set -eu
fleetctl="$FLEET_BIN/fleetctl"
if ! "$fleetctl" users list | grep -qw admin; then
  printf '%s\n' "$FLEET_DEMO_PASSWORD" | "$fleetctl" users add admin --role admin --password-stdin
fi
if ! "$fleetctl" rules list | grep -qw asic-hot; then
  "$fleetctl" rules add --name asic-hot --kind asic --condition 'chip_temp_max > 80' \
    --clear 'chip_temp_max < 75' --for 1m --severity critical --action restart_mining --action reboot@15m
fi
if ! "$fleetctl" rules list | grep -qw asic-low-hashrate; then
  "$fleetctl" rules add --name asic-low-hashrate --kind asic --condition 'hashrate_ratio < 0.8' \
    --for 2m --severity warning
fi
for _ in $(seq 120); do
  models=$(psql -qAt "$DATABASE_URL" -c "SELECT count(*) FROM models")
  if [ "$models" -gt 0 ]; then
    psql -qAt "$DATABASE_URL" -c "UPDATE models SET max_preset = presets->0->>'name'
                                   WHERE max_preset IS NULL AND jsonb_array_length(presets) > 0"
    echo "demo set-up done: $models models have a max preset; polling starts"
    exit 0
  fi
  sleep 2
done
echo "no models discovered within 4 minutes; set a max preset on the dashboard's Models page" >&2
exit 1
