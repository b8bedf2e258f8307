#!/usr/bin/env python3
"""Fails when a deployment sends the API in clear (issue 16.3).

The api-gateway speaks plain HTTP; passwords, session tokens, API keys and miner unlock passwords
must reach it only through a TLS-terminating proxy. This checks, without running anything (the
proxy itself runs in tests/e2e/tls_proxy_e2e_test.cpp):

- docker-compose: the gateway publishes no port; whatever is published belongs to the proxy,
  which mounts deploy/nginx/fleetward.conf and a certificate directory, and the gateway trusts
  exactly the proxy's address — or to the relay broker (mounting deploy/mosquitto/mosquitto.conf),
  whose published ports must be TLS listeners of that file, with no anonymous clients (relay
  controllers on the farm network send their passwords there);
- deploy/nginx/fleetward.conf: a server without TLS never proxies (it only redirects to https),
  TLS 1.2/1.3 only, HSTS;
- Kubernetes: no Service is LoadBalancer or NodePort; an Ingress with TLS and forced redirect
  routes to the api-gateway Service; the gateway trusts the ingress controller's forwarding;
- systemd: the gateway listens on loopback only (a local proxy in front).

    check_tls.py --source-dir .
"""
import argparse
import os
import re
import sys

import yaml

GATEWAY = "api-gateway"
PROXY_CONF = "deploy/nginx/fleetward.conf"
BROKER_CONF = "deploy/mosquitto/mosquitto.conf"


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env if "=" in e)
    return {k: str(v) for k, v in env.items()}


def mosquitto_config(path):
    """(options outside any listener, {port: options of that listener}) of a mosquitto.conf."""
    general, listeners, current = {}, {}, None
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, _, value = line.partition(" ")
            value = value.strip()
            if key == "listener":
                current = listeners.setdefault(value.split()[0], {})
            elif current is None:
                general[key] = value
            else:
                current[key] = value
    return general, listeners


def check_broker(src, name, svc):
    """A published MQTT broker: every published port is a TLS listener; no anonymous clients."""
    out = []
    general, listeners = mosquitto_config(os.path.join(src, BROKER_CONF))
    everywhere = dict(general)
    for options in listeners.values():
        everywhere.update(options)
    if everywhere.get("per_listener_settings", "false") != "false":
        out.append(f"{BROKER_CONF}: per_listener_settings must be false (one password file and "
                   "ACL for every listener)")
    if general.get("allow_anonymous") != "false":
        out.append(f"{BROKER_CONF}: allow_anonymous must be false")
    if not general.get("password_file"):
        out.append(f"{BROKER_CONF}: no password_file")
    for port in svc.get("ports") or []:
        container = str(port).rsplit(":", 1)[-1].split("/")[0]
        options = listeners.get(container)
        if options is None:
            out.append(f"compose: {name} publishes {port}, which is no listener of {BROKER_CONF}")
        elif not (options.get("certfile") and options.get("keyfile")):
            out.append(f"compose: {name} publishes {port} in clear: its listener in "
                       f"{BROKER_CONF} has no certfile/keyfile (TLS)")
        elif options.get("tls_version") in ("tlsv1", "tlsv1.1"):
            out.append(f"{BROKER_CONF}: listener {container} allows {options['tls_version']}")
    return out


def check_compose(src):
    out = []
    with open(os.path.join(src, "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    gateway = services.get(GATEWAY)
    if gateway is None:
        return [f"compose: no {GATEWAY} service"]
    if gateway.get("ports"):
        out.append(f"compose: {GATEWAY} publishes {gateway['ports']} in clear; publish the proxy's "
                   "443 instead and only `expose` the gateway's port")
    proxies = []
    for name, svc in services.items():
        mounts = " ".join(map(str, svc.get("volumes") or []))
        is_proxy = PROXY_CONF in mounts
        is_broker = BROKER_CONF in mounts
        if is_proxy:
            proxies.append((name, svc))
        if is_broker and svc.get("ports"):
            out += check_broker(src, name, svc)
        if svc.get("ports") and not is_proxy and not is_broker and name != GATEWAY:
            out.append(f"compose: {name} publishes {svc['ports']} but is not the TLS proxy "
                       f"(mounting {PROXY_CONF}) or the relay broker (mounting {BROKER_CONF})")
    if len(proxies) != 1:
        out.append(f"compose: expected one proxy service mounting {PROXY_CONF}, found "
                   f"{[n for n, _ in proxies]}")
        return out
    name, proxy = proxies[0]
    published = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in proxy.get("ports") or []}
    if "443" not in published:
        out.append(f"compose: {name} does not publish 443")
    if published - {"443", "80"}:
        out.append(f"compose: {name} publishes {sorted(published - {'443', '80'})}; only 443 "
                   "(TLS) and 80 (redirect) are expected")
    if not any(":/etc/nginx/tls" in str(v) for v in proxy.get("volumes") or []):
        out.append(f"compose: {name} mounts no certificate directory at /etc/nginx/tls")
    address = (((proxy.get("networks") or {}).get("default") or {}).get("ipv4_address"))
    env = env_of(gateway)
    trusted = env.get("FLEET_GATEWAY_TRUSTED_PROXIES", "").split(",")
    if not address:
        out.append(f"compose: {name} has no fixed ipv4_address for the gateway to trust")
    elif trusted != [address]:
        out.append(f"compose: {GATEWAY} FLEET_GATEWAY_TRUSTED_PROXIES is {trusted}, expected "
                   f"exactly the proxy's address {address}")
    if env.get("FLEET_GATEWAY_MAX_CONNECTIONS_PER_CLIENT") != "0":
        out.append(f"compose: {GATEWAY} behind the proxy needs "
                   "FLEET_GATEWAY_MAX_CONNECTIONS_PER_CLIENT=0 (every client shares its address)")
    return out


def server_blocks(text):
    """The bodies of the top-level `server { ... }` blocks (comments removed)."""
    text = re.sub(r"#[^\n]*", "", text)
    blocks = []
    for m in re.finditer(r"\bserver\s*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        blocks.append(text[m.end():i - 1])
    return blocks


def check_nginx(src):
    out = []
    with open(os.path.join(src, PROXY_CONF)) as f:
        blocks = server_blocks(f.read())
    tls_servers = 0
    for body in blocks:
        listens = re.findall(r"^\s*listen\s+([^;]+);", body, re.M)
        if not listens:
            out.append(f"{PROXY_CONF}: a server block without listen")
            continue
        tls = [l for l in listens if re.search(r"\bssl\b", l)]
        if tls and len(tls) != len(listens):
            out.append(f"{PROXY_CONF}: a server listens with and without TLS: {listens}")
        if not tls:
            if re.search(r"\b(proxy_pass|fastcgi_pass|uwsgi_pass|grpc_pass)\b", body):
                out.append(f"{PROXY_CONF}: the plain-HTTP server ({listens}) proxies requests; "
                           "it must only redirect to https")
            if not re.search(r"return\s+30[18]\s+https://", body):
                out.append(f"{PROXY_CONF}: the plain-HTTP server ({listens}) does not redirect "
                           "to https")
            continue
        tls_servers += 1
        protocols = re.findall(r"^\s*ssl_protocols\s+([^;]+);", body, re.M)
        if not protocols or set(protocols[0].split()) - {"TLSv1.2", "TLSv1.3"}:
            out.append(f"{PROXY_CONF}: ssl_protocols must be TLSv1.2 TLSv1.3 only, is {protocols}")
        if "Strict-Transport-Security" not in body:
            out.append(f"{PROXY_CONF}: the TLS server sends no Strict-Transport-Security")
        if not re.search(r"proxy_set_header\s+X-Forwarded-For\s", body):
            out.append(f"{PROXY_CONF}: the TLS server does not set X-Forwarded-For")
    if tls_servers == 0:
        out.append(f"{PROXY_CONF}: no TLS server")
    return out


def check_k8s(src):
    out = []
    docs = []
    folder = os.path.join(src, "deploy/k8s")
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(folder, name)) as f:
                docs += [(name, d) for d in yaml.safe_load_all(f) if d]
    ingresses = []
    for name, doc in docs:
        kind, meta = doc.get("kind"), doc.get("metadata", {}).get("name")
        if kind == "Service" and doc.get("spec", {}).get("type", "ClusterIP") != "ClusterIP":
            out.append(f"k8s {name}: Service/{meta} is {doc['spec']['type']}: plain HTTP outside "
                       "the cluster; expose the API through the TLS Ingress")
        if kind == "Ingress":
            ingresses.append((name, doc))
        if kind == "Deployment" and meta == GATEWAY:
            containers = doc["spec"]["template"]["spec"]["containers"]
            env = {e["name"]: e.get("value") for c in containers for e in c.get("env") or []}
            if not env.get("FLEET_GATEWAY_TRUSTED_PROXIES"):
                out.append(f"k8s {name}: the {GATEWAY} Deployment does not set "
                           "FLEET_GATEWAY_TRUSTED_PROXIES (every client would be the ingress "
                           "controller)")
            if env.get("FLEET_GATEWAY_MAX_CONNECTIONS_PER_CLIENT") != "0":
                out.append(f"k8s {name}: the {GATEWAY} Deployment behind the Ingress needs "
                           "FLEET_GATEWAY_MAX_CONNECTIONS_PER_CLIENT=0")
    routed = []
    for name, ing in ingresses:
        spec = ing.get("spec", {})
        backends = [p.get("backend", {}).get("service", {}).get("name")
                    for r in spec.get("rules") or [] for p in (r.get("http") or {}).get("paths", [])]
        if GATEWAY not in backends:
            continue
        routed.append(name)
        tls = spec.get("tls") or []
        tls_hosts = {h for t in tls for h in t.get("hosts") or []}
        if not tls or not all(t.get("secretName") for t in tls):
            out.append(f"k8s {name}: the Ingress to {GATEWAY} has no spec.tls with a secretName")
        for rule in spec.get("rules") or []:
            if rule.get("host") not in tls_hosts:
                out.append(f"k8s {name}: Ingress host {rule.get('host')} is not covered by TLS")
        notes = (ing.get("metadata") or {}).get("annotations") or {}
        for key in ("nginx.ingress.kubernetes.io/ssl-redirect",
                    "nginx.ingress.kubernetes.io/force-ssl-redirect"):
            if str(notes.get(key)).lower() != "true":
                out.append(f"k8s {name}: Ingress annotation {key} is not \"true\"")
    if not routed:
        out.append(f"k8s: no Ingress routes to the {GATEWAY} Service")
    return out


def check_systemd(src):
    with open(os.path.join(src, f"deploy/systemd/fleetward-{GATEWAY}.service")) as f:
        unit = f.read()
    if not re.search(r"^Environment=FLEET_GATEWAY_ADDRESS=127\.0\.0\.1\s*$", unit, re.M):
        return [f"systemd: fleetward-{GATEWAY}.service does not listen on 127.0.0.1 only "
                "(Environment=FLEET_GATEWAY_ADDRESS=127.0.0.1; a local proxy serves TLS)"]
    return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    src = ap.parse_args().source_dir
    problems = check_compose(src) + check_nginx(src) + check_k8s(src) + check_systemd(src)
    for p in problems:
        print("clear text:", p)
    print(f"checked that the API is served only over TLS: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
