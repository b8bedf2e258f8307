#!/usr/bin/python3
"""Checks that every worker binary is deployable in every supported form (deploy/README.md).

For each directory under services/ (one binary each) it requires: a docker-compose service with a
/health healthcheck, a systemd unit that systemd-analyze accepts, a Kubernetes Deployment with
liveness -> /health and readiness -> /ready listed in the kustomization, a cron --once entry (unless
the binary is a server), a docs/services page, and a binary that answers --help. Host agents
(HOST_AGENTS: node-agent runs on the managed container hosts, installed by the node installer) need
only their systemd unit, a docs page and --help. Exits 1 listing every problem.

    check_deploy.py --source-dir . --bin-dir build/bin
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SERVERS = {"api-gateway", "node-agent"}  # long-running servers: no cron form
# Binaries that run on the container hosts a fleet manages, not in the fleetward deployment: no
# compose service, Kubernetes workload, cron entry or probe port of the server's table. Each has the
# systemd unit the node installer (GET /api/nodes/install-script) writes, a docs page and --help.
HOST_AGENTS = {
    "node-agent": ("ExecStart=/usr/local/bin/node-agent --config /etc/fleetward/node-agent.json",
                   "RestartPreventExitStatus=2", "WantedBy=multi-user.target"),
}


def port_table(source):
    ports = {}
    with open(os.path.join(source, "deploy/README.md")) as f:
        for line in f:
            m = re.match(r"\|\s*([a-z-]+)\s*\|\s*(\d+)", line)
            if m:
                ports[m.group(1)] = int(m.group(2))
    return ports


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--bin-dir")
    args = ap.parse_args()
    src = args.source_dir
    problems = []

    services = sorted(d for d in os.listdir(os.path.join(src, "services"))
                      if os.path.isdir(os.path.join(src, "services", d)))
    if not services:
        problems.append("no services found")
    ports = port_table(src)

    with open(os.path.join(src, "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    compose_services = compose.get("services", {})
    for name, svc in compose_services.items():
        for dep in (svc.get("depends_on") or {}):
            if dep not in compose_services:
                problems.append(f"compose: {name} depends on unknown service {dep}")

    with open(os.path.join(src, "deploy/k8s/kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    k8s_resources = set(kustomization.get("resources", []))
    with open(os.path.join(src, "deploy/cron/fleetward.cron")) as f:
        cron = f.read()

    for name in services:
        if name in HOST_AGENTS:
            unit = os.path.join(src, f"deploy/systemd/fleetward-{name}.service")
            if not os.path.exists(unit):
                problems.append(f"{name}: no deploy/systemd/fleetward-{name}.service")
            else:
                text = open(unit).read()
                for needle in HOST_AGENTS[name]:
                    if needle not in text:
                        problems.append(f"{name}: systemd unit lacks '{needle}'")
            for compose_name in compose_services:
                if compose_name == name:
                    problems.append(f"{name}: a host agent has no docker-compose service")
            if not os.path.exists(os.path.join(src, f"docs/services/{name}.md")):
                problems.append(f"{name}: no docs/services/{name}.md")
            if args.bin_dir:
                exe = os.path.join(args.bin_dir, name)
                if not os.path.exists(exe):
                    problems.append(f"{name}: binary {exe} not built")
                else:
                    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
                    if r.returncode != 0 or "--health-port" not in r.stdout:
                        problems.append(f"{name}: --help failed or lacks --health-port")
            continue
        port = ports.get(name)
        if port is None:
            problems.append(f"{name}: no health port in deploy/README.md")
            continue
        # docker-compose
        svc = compose_services.get(name)
        if svc is None:
            problems.append(f"{name}: no service in docker-compose.yml")
        else:
            command = svc.get("command") or []
            if not command or command[0] != name:
                problems.append(f"{name}: compose command does not run {name}")
            if str(port) not in " ".join(map(str, command)):
                problems.append(f"{name}: compose command does not set --health-port {port}")
            test = " ".join(map(str, (svc.get("healthcheck") or {}).get("test", [])))
            if f":{port}/health" not in test:
                problems.append(f"{name}: compose healthcheck does not probe :{port}/health")
            if "migrate" not in (svc.get("depends_on") or {}):
                problems.append(f"{name}: compose service does not wait for migrate")
        # systemd
        unit = os.path.join(src, f"deploy/systemd/fleetward-{name}.service")
        if not os.path.exists(unit):
            problems.append(f"{name}: no deploy/systemd/fleetward-{name}.service")
        else:
            text = open(unit).read()
            for needle in (f"ExecStart=/opt/fleetward/bin/{name} ", f"--health-port {port}",
                           "RestartPreventExitStatus=2", "WantedBy=fleetward.target"):
                if needle not in text:
                    problems.append(f"{name}: systemd unit lacks '{needle}'")
        # Kubernetes
        manifest = f"{name}.yaml"
        if manifest not in k8s_resources:
            problems.append(f"{name}: {manifest} not listed in deploy/k8s/kustomization.yaml")
        path = os.path.join(src, "deploy/k8s", manifest)
        if not os.path.exists(path):
            problems.append(f"{name}: no deploy/k8s/{manifest}")
        else:
            docs = [d for d in yaml.safe_load_all(open(path)) if d]
            deployments = [d for d in docs if d.get("kind") in ("Deployment", "StatefulSet", "DaemonSet")]
            containers = [c for d in deployments
                          for c in d["spec"]["template"]["spec"]["containers"]
                          if (c.get("command") or [None])[0] == name]
            if not containers:
                problems.append(f"{name}: k8s manifest has no workload running {name}")
            for c in containers:
                live = (c.get("livenessProbe") or {}).get("httpGet", {})
                ready = (c.get("readinessProbe") or {}).get("httpGet", {})
                if live.get("path") != "/health":
                    problems.append(f"{name}: k8s livenessProbe is not /health")
                if ready.get("path") != "/ready":
                    problems.append(f"{name}: k8s readinessProbe is not /ready")
                declared = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
                for probe in (live, ready):
                    p = probe.get("port")
                    if declared.get(p, p) != port:
                        problems.append(f"{name}: k8s probe port {p} is not {port}")
        # cron
        if name not in SERVERS and f"fleetward-run-once {name}" not in cron:
            problems.append(f"{name}: no --once entry in deploy/cron/fleetward.cron")
        # docs
        if not os.path.exists(os.path.join(src, f"docs/services/{name}.md")):
            problems.append(f"{name}: no docs/services/{name}.md")
        # binary
        if args.bin_dir:
            exe = os.path.join(args.bin_dir, name)
            if not os.path.exists(exe):
                problems.append(f"{name}: binary {exe} not built")
            else:
                r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
                if r.returncode != 0 or "--health-port" not in r.stdout:
                    problems.append(f"{name}: --help failed or lacks --health-port")

    # systemd-analyze on every unit, in a scratch root holding the built binaries.
    if shutil.which("systemd-analyze") and args.bin_dir and os.path.isdir("/lib/systemd/system"):
        with tempfile.TemporaryDirectory() as root:
            shutil.copytree("/lib/systemd/system", os.path.join(root, "lib/systemd/system"))
            os.makedirs(os.path.join(root, "opt/fleetward/bin"))
            os.makedirs(os.path.join(root, "usr/local/bin"))
            for exe in os.listdir(args.bin_dir):
                shutil.copy(os.path.join(args.bin_dir, exe), os.path.join(root, "opt/fleetward/bin"))
                if exe in HOST_AGENTS:  # installed by the node installer, not under /opt
                    shutil.copy(os.path.join(args.bin_dir, exe), os.path.join(root, "usr/local/bin"))
            units = os.path.join(root, "etc/systemd/system")
            os.makedirs(units)
            names = []
            for unit in os.listdir(os.path.join(src, "deploy/systemd")):
                if unit.endswith((".service", ".target")):
                    shutil.copy(os.path.join(src, "deploy/systemd", unit), units)
                    names.append("/etc/systemd/system/" + unit)
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}"] + sorted(names),
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                problems.append("systemd-analyze verify: " + (r.stderr or r.stdout).strip())
    else:
        print("note: systemd-analyze or --bin-dir missing; units not verified")

    if shutil.which("kubectl"):
        r = subprocess.run(["kubectl", "kustomize", os.path.join(src, "deploy/k8s")],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            problems.append("kubectl kustomize: " + r.stderr.strip())
    else:
        print("note: kubectl missing; kustomization not rendered")

    if problems:
        print("deployment problems:")
        for p in problems:
            print("  - " + p)
        return 1
    print(f"deployment files complete for {len(services)} services: {', '.join(services)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
