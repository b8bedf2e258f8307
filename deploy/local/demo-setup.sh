#!/bin/sh
# One-shot set-up of the local demo (deploy/local/services.json), idempotent: the admin user, two
# example rules (asic-hot walks restart mining -> reboot -> relay power cycle), the two relay
# controllers relay-sim simulates, and — once discovery has found the simulated miners — a max
# preset for every model, which is what starts status polling (seed 003), and the first twelve
# miners wired to relay channels. Needs FLEET_BIN, DATABASE_URL, FLEET_DEMO_PASSWORD.
set -eu
fleetctl="$FLEET_BIN/fleetctl"
if ! "$fleetctl" users list | grep -qw admin; then
  printf '%s\n' "$FLEET_DEMO_PASSWORD" | "$fleetctl" users add admin --role admin --password-stdin
fi
if ! "$fleetctl" rules list | grep -qw asic-hot; then
  "$fleetctl" rules add --name asic-hot --kind asic --condition 'chip_temp_max > 80' \
    --clear 'chip_temp_max < 75' --for 1m --severity critical --action restart_mining --action reboot@15m \
    --action power_cycle@30m
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
    # relay-sim's controllers: rack-a (8 mains relays, fleetward layout), plug-1 (Tasmota, wired
    # to 4 power buttons). The first twelve miners by address hang on them.
    psql -qAt "$DATABASE_URL" <<'SQL'
INSERT INTO relay_controllers (name, driver, topic, channels, description) VALUES
  ('rack-a', 'fleetward', 'rack-a', 8, 'demo: relay-sim, mains relays'),
  ('plug-1', 'tasmota', 'plug-1', 4, 'demo: relay-sim, power buttons')
ON CONFLICT (name) DO NOTHING;
INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring)
SELECT w.id, c.id, w.n - c.first + 1, c.wiring
  FROM (SELECT id, row_number() OVER (ORDER BY ip) AS n FROM workers WHERE kind = 'asic') w
  JOIN (SELECT id, CASE name WHEN 'rack-a' THEN 1 ELSE 9 END AS first,
               CASE name WHEN 'rack-a' THEN 8 ELSE 12 END AS last,
               CASE name WHEN 'rack-a' THEN 'mains' ELSE 'power_button' END AS wiring
          FROM relay_controllers WHERE name IN ('rack-a', 'plug-1')) c
    ON w.n BETWEEN c.first AND c.last
ON CONFLICT DO NOTHING;
SQL
    echo "demo set-up done: $models models have a max preset; polling starts"
    exit 0
  fi
  sleep 2
done
echo "no models discovered within 4 minutes; set a max preset on the dashboard's Models page" >&2
exit 1
