#!/bin/bash
# The demo's deployment (issue 14), run by demo-nodes.sh once its nodes run: through the API, the
# organisation "demo" (automatic migrations) and the deployment "web" — a busybox httpd with two
# replicas serving its own hostname (the container id), so a request shows which container
# answered. migration-planner places it; the routes to curl are printed. Made once: a later start
# finds both. Needs FLEET_DEMO_HTTP_PORT (or FLEET_API_URL) and FLEET_DEMO_PASSWORD (the admin's);
# FLEET_DEMO_WAIT_S bounds the wait for the routes (default 180).
set -euo pipefail
api=${FLEET_API_URL:-http://127.0.0.1:${FLEET_DEMO_HTTP_PORT}}

# A JSON field of stdin (python3 is among the packages scripts/install-deps.sh installs).
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)'"$1"')'; }

demo_deployment() {
  local auth org dep routes
  auth=$(curl -fsS -H 'Content-Type: application/json' -X POST "$api/api/auth/login" \
           -d "{\"username\":\"admin\",\"password\":\"$FLEET_DEMO_PASSWORD\"}" |
         field "['token']") || return 1
  auth="Authorization: Bearer $auth"
  org=$(curl -fsS -H "$auth" "$api/api/organizations?limit=200" | python3 -c '
import json, sys
print(next((o["id"] for o in json.load(sys.stdin)["items"] if o["name"] == "demo"), ""))')
  if [[ -z $org ]]; then
    org=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' -X POST \
            "$api/api/organizations" \
            -d '{"name":"demo","display_name":"Demo","migration_policy":"automatic"}' |
          field "['id']") || return 1
  fi
  dep=$(curl -fsS -H "$auth" "$api/api/deployments?organization_id=$org&q=web" | python3 -c '
import json, sys
print(next((d["id"] for d in json.load(sys.stdin)["items"] if d["name"] == "web" and d["state"] == "active"), ""))')
  if [[ -z $dep ]]; then
    dep=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' -X POST \
            "$api/api/deployments" -d '{"organization_id":'"$org"',"name":"web",
              "image":"localhost/bb:1",
              "command":["/bin/busybox","sh","-c","/bin/busybox mkdir -p /www && /bin/busybox hostname > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"],
              "ports":[{"container_port":8080}],
              "resources":{"cpu_cores":0.1,"memory_mb":64},"replicas":2}' |
          field "['id']") || return 1
  fi
  # The planner places the replicas within a cycle of the nodes coming online.
  for _ in $(seq $(( ${FLEET_DEMO_WAIT_S:-180} / 2 ))); do
    routes=$(curl -fsS -H "$auth" "$api/api/routes?deployment_id=$dep" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["items"]:
    print("  replica %d on %s: curl http://%s:%d/" % (r["replica"], r["node_name"], r["address"], r["host_port"]))') || true
    if [[ $(grep -c curl <<<"$routes") -ge 2 ]]; then
      echo "demo deployment web.demo (busybox httpd, 2 replicas) runs; its routes:"
      echo "$routes"
      return 0
    fi
    sleep 2
  done
  echo "demo deployment web.demo: not running yet (see the dashboard's Deployments page)" >&2
  return 1
}
demo_deployment || { echo "demo deployment: the API did not answer as expected (see above)" >&2; exit 1; }
