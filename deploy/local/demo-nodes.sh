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
  # A node installed by an earlier demo runs this build's agent (an upgrade; on a real host, run
  # the install script again): an old agent may not know today's settings.
  if ! cmp -s "$FLEET_BIN/node-agent" "$dir/usr/local/bin/node-agent"; then
    install -m 0755 "$FLEET_BIN/node-agent" "$dir/usr/local/bin/node-agent"
  fi
  "$dir/usr/local/bin/node-agent" --config "$dir/etc/fleetward/node-agent.json" \
    --set heartbeat_interval_s=10 --set "docker_socket=$dir/podman.sock" \
    --set "publish_address=$address" --set "addresses=$address" --set "hostname=demo-node-$n" \
    --set machine_id=none \
    --log-file "$dir/node-agent.log" &
  children+=($!)
done
echo "demo nodes: $nodes node-agents heartbeating (logs in $base/node-*/)"

# The demo deployment (organisation demo, web: busybox httpd, 2 replicas) and its routes.
"$(dirname "$0")/demo-deployment.sh" || true
wait -n || true
stop
