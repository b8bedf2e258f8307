#!/usr/bin/env python3
"""Runs the shipped relay broker configuration in a real mosquitto and checks what it promises
(deploy/README.md § The relay broker):

- nobody connects without a user and password (anonymous and a wrong password are refused);
- the action-dispatcher's user reaches every controller's command topics and reads their states;
- a controller (user = its topic) reaches only its own topics: it receives no other controller's
  commands, and cannot publish another controller's state or last will, nor commands;
- the controllers' listener speaks TLS and verifies with the certificate; plain MQTT there fails.

deploy/mosquitto/mosquitto.conf and deploy/mosquitto/acl are used as shipped; only the paths of
the files an operator creates, the two listeners' ports (free loopback ports) and the user the
broker runs as are replaced. Needs mosquitto, mosquitto_pub/sub and openssl (install-deps.sh).

    check_mosquitto.py --source-dir .
"""
import argparse
import getpass
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CONF = "deploy/mosquitto/mosquitto.conf"
ACL = "deploy/mosquitto/acl"
DISPATCHER = ("fleetward-dispatcher", "dispatcher-test-pw-7Qx")
RACK_A = ("rack-a", "rack-a-test-pw-9Lm")
WAIT = "3"  # seconds a subscriber listens for retained messages


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rewrite(text, tmp, plain, tls):
    """The shipped configuration with the operator's paths and the test's ports."""
    replacements = [
        (r"^password_file /etc/mosquitto/private/passwd$", f"password_file {tmp}/passwd"),
        (r"^acl_file /etc/mosquitto/fleetward/acl$", f"acl_file {tmp}/acl"),
        (r"^persistence_location /var/lib/mosquitto/$", f"persistence_location {tmp}/data/"),
        (r"^listener 1883$", f"listener {plain} 127.0.0.1"),
        (r"^listener 8883$", f"listener {tls} 127.0.0.1"),
        (r"^certfile /etc/mosquitto/private/fullchain.pem$", f"certfile {tmp}/fullchain.pem"),
        (r"^keyfile /etc/mosquitto/private/privkey.pem$", f"keyfile {tmp}/privkey.pem"),
    ]
    for pattern, new in replacements:
        text, n = re.subn(pattern, new, text, flags=re.M)
        if n != 1:
            raise SystemExit(f"{CONF}: expected one line matching {pattern!r}, found {n} "
                             "(update this test with the file)")
    # The broker drops privileges to `user` when started as root; stay who we are.
    return text + f"\nuser {getpass.getuser()}\n"


def pub(port, user, topic, message, extra=()):
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", message,
            "-r", "-q", "1"] + list(extra)
    if user:
        args += ["-u", user[0], "-P", user[1]]
    return subprocess.run(args, capture_output=True, text=True, timeout=20)


def sub(port, user, topics):
    """The retained messages `user` may read on `topics`, as 'topic payload' lines."""
    args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-u", user[0], "-P", user[1],
            "-v", "-W", WAIT]
    for t in topics:
        args += ["-t", t]
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return set(r.stdout.splitlines())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    src = ap.parse_args().source_dir
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_sub", "mosquitto_passwd", "openssl"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"{tool} is missing: run scripts/install-deps.sh")
            return 1
    broker = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        os.makedirs(f"{tmp}/data")
        shutil.copy(os.path.join(src, ACL), f"{tmp}/acl")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "2",
                        "-nodes", "-keyout", f"{tmp}/privkey.pem", "-out", f"{tmp}/fullchain.pem",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        for i, (user, password) in enumerate((DISPATCHER, RACK_A)):
            subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) +
                           [f"{tmp}/passwd", user, password], check=True, capture_output=True,
                           timeout=20)
        plain, tls = free_port(), free_port()
        with open(os.path.join(src, CONF)) as f:
            conf = rewrite(f.read(), tmp, plain, tls)
        with open(f"{tmp}/mosquitto.conf", "w") as f:
            f.write(conf)
        log = open(f"{tmp}/broker.log", "w")
        proc = subprocess.Popen([broker, "-c", f"{tmp}/mosquitto.conf"], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", plain), timeout=1).close()
                    socket.create_connection(("127.0.0.1", tls), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        print("the broker did not start with the shipped configuration:")
                        print(open(f"{tmp}/broker.log").read())
                        return 1
                    time.sleep(0.1)

            # No user, or a wrong password: refused.
            r = pub(plain, None, "fleetward/relay/rack-a/1/cmd", "anonymous")
            if r.returncode == 0:
                problems.append("an anonymous client could publish")
            r = pub(plain, (DISPATCHER[0], "wrong-password"), "fleetward/relay/rack-a/1/cmd", "x")
            if r.returncode == 0:
                problems.append("a wrong password was accepted")

            # The dispatcher commands two controllers (fleetward and Tasmota layouts).
            for topic in ("fleetward/relay/rack-a/1/cmd", "fleetward/relay/rack-b/1/cmd",
                          "cmnd/rack-a/POWER1", "cmnd/rack-b/POWER1"):
                r = pub(plain, DISPATCHER, topic, "from-dispatcher")
                if r.returncode != 0:
                    problems.append(f"the dispatcher could not publish {topic}: {r.stderr.strip()}")
            # rack-a answers on its own topics, and tries other controllers' ones.
            for topic in ("fleetward/relay/rack-a/1/state", "fleetward/relay/rack-a/status",
                          "stat/rack-a/POWER1", "tele/rack-a/LWT",
                          "fleetward/relay/rack-b/1/state", "fleetward/relay/rack-b/status",
                          "fleetward/relay/rack-b/2/cmd", "stat/rack-b/POWER1", "tele/rack-b/LWT",
                          "cmnd/rack-b/POWER2"):
                pub(plain, RACK_A, topic, "from-rack-a")

            got = sub(plain, RACK_A, ["fleetward/relay/#", "cmnd/#", "stat/#", "tele/#"])
            want = {"fleetward/relay/rack-a/1/cmd from-dispatcher", "cmnd/rack-a/POWER1 from-dispatcher"}
            if not want <= got:
                problems.append(f"rack-a did not receive its commands: {sorted(want - got)}")
            if any("rack-b" in line for line in got):
                problems.append(f"rack-a read another controller's topics: "
                                f"{sorted(l for l in got if 'rack-b' in l)}")

            got = sub(plain, DISPATCHER, ["fleetward/relay/#", "stat/#", "tele/#"])
            want = {"fleetward/relay/rack-a/1/state from-rack-a",
                    "fleetward/relay/rack-a/status from-rack-a",
                    "stat/rack-a/POWER1 from-rack-a", "tele/rack-a/LWT from-rack-a"}
            if not want <= got:
                problems.append(f"the dispatcher did not read rack-a's states: {sorted(want - got)}")
            forged = sorted(l for l in got if "rack-b" in l and l.endswith("from-rack-a"))
            if forged:
                problems.append(f"rack-a published on another controller's topics: {forged}")

            # The controllers' listener: TLS, verified against the certificate.
            r = pub(tls, RACK_A, "stat/rack-a/POWER2", "over-tls",
                    ["--cafile", f"{tmp}/fullchain.pem"])
            if r.returncode != 0:
                problems.append(f"TLS on the controllers' listener failed: {r.stderr.strip()}")
            r = pub(tls, RACK_A, "stat/rack-a/POWER3", "in-clear")
            if r.returncode == 0:
                problems.append("the controllers' listener accepted plain MQTT")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()

    for p in problems:
        print("relay broker:", p)
    print(f"checked {CONF} and {ACL} in a real broker: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
