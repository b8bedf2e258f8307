#!/bin/sh
# The demo's notification channels (issue 12), idempotent: a webhook channel to the
# webhook-receiver (it logs every delivery as a JSON line to $FLEET_VAR/log/webhook-receiver.jsonl)
# and an MQTT channel on the demo broker (topic fleetward/notifications: `mosquitto_sub -p
# $FLEET_MQTT_PORT -t fleetward/notifications -v`), each with a route for every event (alerts,
# workers, sites, nodes, commands, migrations). The notifier starts after this (services.json), so
# nothing produced at start-up is routed before the routes exist.
# Written with SQL; the webhook channel has no signing secret here (sealing one needs the API,
# docs/notifications.md), so the receiver runs without --secret. Needs DATABASE_URL and
# FLEET_MQTT_PORT.
set -eu
psql -qAt -v ON_ERROR_STOP=1 -v mqtt_port="$FLEET_MQTT_PORT" "$DATABASE_URL" <<'SQL'
INSERT INTO notification_channels (name, kind, config, group_wait_ms, group_interval_ms, created_by)
VALUES ('demo-webhook', 'webhook',
        '{"url": "http://127.0.0.1:9180/fleetward", "timeout_ms": 5000}', 5000, 60000, 'demo'),
       ('demo-mqtt', 'mqtt',
        jsonb_build_object('host', '127.0.0.1', 'port', :'mqtt_port'::int,
                           'topic', 'fleetward/notifications', 'timeout_ms', 5000),
        5000, 60000, 'demo')
ON CONFLICT (name) DO NOTHING;
-- Demos made before routes covered every event had narrower ones.
DELETE FROM notification_routes WHERE name IN ('demo-webhook-alerts-and-workers',
                                               'demo-mqtt-alerts-and-workers');
INSERT INTO notification_routes (name, channel_id, events, created_by)
SELECT 'demo-' || c.kind || '-everything', c.id, '{}', 'demo'
  FROM notification_channels c WHERE c.name IN ('demo-webhook', 'demo-mqtt')
ON CONFLICT (name) DO NOTHING;
SQL
echo "demo notification channels ready: demo-webhook (log: webhook-receiver.jsonl), demo-mqtt"
