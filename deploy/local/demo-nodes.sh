#!/bin/bash
# The demo's container host nodes (issue 13): FLEET_DEMO_NODES nodes on this machine, each a Podman
# API service with its own storage and socket (runc: crun refuses hybrid cgroups; see
# docs/services/node-agent.md) and a node-agent installed through the real install path — an admin
# makes a registration token with fleetctl, the gateway's installer script is run into
# var/nodes/<n> (no systemd: this supervisor runs the agents), and the agent registers with it.
# Each node has its own loopback address, 127.61.0.<n>: it registers with it and publishes its
# containers' ports there (publish_address), so the nodes' equal host ports never collide.
# Once the nodes run, an organisation "demo" and a deployment "web" (busybox httpd, 2 replicas)
# are created through the API (issue 14): migration-planner places them, and the routes to curl
# are printed. Kill a node's agent and Podman service to watch the replica move.
# Runs in the foreground under `fleetctl up`; SIGTERM stops the agents and the Podman services.
# Needs FLEET_BIN, FLEET_VAR, FLEET_DEMO_HTTP_PORT, FLEET_DEMO_PASSWORD.
set -euo pipefail
nodes=${FLEET_DEMO_NODES:-3}
api=http://127.0.0.1:$FLEET_DEMO_HTTP_PORT
base=$FLEET_VAR/nodes
mkdir -p "$base"
children=()
stop() {
  trap - INT TERM
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  exit 0
}
trap stop INT TERM

# A tiny image for containers on the nodes: a static busybox, no registry needed.
image_tar=$base/busybox.tar
if [[ ! -s $image_tar ]]; then
  rm -rf "$base/img" && mkdir -p "$base/img/bin"
  cp /bin/busybox "$base/img/bin/"
  tar -C "$base/img" -cf "$image_tar" .
fi

export FLEET_API_URL=$api FLEET_API_USER=admin FLEET_API_PASSWORD=$FLEET_DEMO_PASSWORD
token=""
for n in $(seq "$nodes"); do
  dir=$base/node-$n
  address=127.61.0.$n
  mkdir -p "$dir"
  podman=(podman --root "$dir/storage" --runroot "$dir/run" --tmpdir "$dir/tmp")
  if ! "${podman[@]}" image exists localhost/bb:1 2>/dev/null; then
    "${podman[@]}" import "$image_tar" localhost/bb:1 >/dev/null
  fi
  "${podman[@]}" --runtime /usr/sbin/runc system service --time=0 "unix://$dir/podman.sock" \
    >"$dir/podman.log" 2>&1 &
  children+=($!)
  if [[ ! -s $dir/etc/fleetward/node-agent.json ]]; then
    if [[ -z $token ]]; then
      # The admin user is made by the demo's set-up; the gateway may still be starting.
      for _ in $(seq 150); do
        if token=$("$FLEET_BIN/fleetctl" api nodes tokens create --max-uses "$nodes" \
                     --site demo --description "demo nodes" --json 2>/dev/null |
                   sed -n 's/.*"token": *"\(fwr_[A-Za-z0-9_-]*\)".*/\1/p') && [[ -n $token ]]; then
          break
        fi
        sleep 2
      done
      [[ -n $token ]] || { echo "could not make a registration token" >&2; exit 1; }
    fi
    # The installer as an operator runs it (curl ... | sudo bash), into this node's directory.
    curl -fsS "$api/api/nodes/install-script?token=$token" |
      FLEET_PREFIX="$dir" FLEET_NO_SYSTEMD=1 FLEET_HOSTNAME="demo-node-$n" FLEET_MACHINE_ID=none \
        FLEET_ADDRESSES="$address" FLEET_DOCKER_SOCKET="$dir/podman.sock" bash >"$dir/install.log" 2>&1 ||
      { echo "node $n: the installer failed (see $dir/install.log)" >&2; exit 1; }
  fi
  "$dir/usr/local/bin/node-agent" --config "$dir/etc/fleetward/node-agent.json" \
    --set heartbeat_interval_s=10 --set "docker_socket=$dir/podman.sock" \
    --set "publish_address=$address" \
    --log-file "$dir/node-agent.log" &
  children+=($!)
done
echo "demo nodes: $nodes node-agents heartbeating (logs in $base/node-*/)"

# A JSON field of stdin (python3 is among the packages scripts/install-deps.sh installs).
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)'"$1"')'; }

# The demo deployment: organisation "demo" (automatic migrations) and "web", a busybox httpd with
# two replicas that serves its own hostname (the container id), so a request shows which
# container answered. Made once; a later start finds them.
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
  for _ in $(seq 90); do
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
}
demo_deployment || echo "demo deployment: the API did not answer as expected (see above)" >&2
wait -n || true
stop
