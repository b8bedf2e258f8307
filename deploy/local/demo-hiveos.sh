#!/usr/bin/env bash
# One-shot HiveOS part of the local demo (deploy/local/services.json, issue 11), idempotent: adds
# the account of the demo's hiveos-sim (a few farms of GPU rigs and ASICs) through the API, as an
# operator would — the gateway checks the token with GET /auth/check and seals it; hiveos-sync
# then syncs the farms, and the rigs appear on the dashboard's Rigs page beside the miners.
# Needs FLEET_DEMO_HTTP_PORT, FLEET_DEMO_PASSWORD, FLEET_HIVEOS_SIM_PORT, FLEET_HIVEOS_DEMO_TOKEN
# (the gateway runs with FLEET_HIVEOS_ALLOW_HTTP=true: the simulator speaks plain http).
set -euo pipefail
api=http://127.0.0.1:$FLEET_DEMO_HTTP_PORT
json() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }

# The admin user is made by the demo's set-up; the gateway may still be starting.
token=""
for _ in $(seq 150); do
  token=$(curl -fsS -X POST "$api/api/auth/login" -H 'Content-Type: application/json' \
            -d "$(json username admin password "$FLEET_DEMO_PASSWORD")" 2>/dev/null |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' 2>/dev/null) && break
  sleep 2
done
[[ -n $token ]] || { echo "demo-hiveos: could not log in to $api" >&2; exit 1; }

body=$(json name demo-hiveos base_url "http://127.0.0.1:$FLEET_HIVEOS_SIM_PORT/api/v2" \
            token "$FLEET_HIVEOS_DEMO_TOKEN")
status=$(curl -sS -o /tmp/demo-hiveos.$$ -w '%{http_code}' -X POST "$api/api/hiveos/accounts" \
           -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body")
answer=$(cat /tmp/demo-hiveos.$$); rm -f /tmp/demo-hiveos.$$
case $status in
  201) echo "demo-hiveos: account added; hiveos-sync reads its farms within 30 s" ;;
  409) echo "demo-hiveos: account already there" ;;
  *) echo "demo-hiveos: adding the account answered $status: $answer" >&2; exit 1 ;;
esac
