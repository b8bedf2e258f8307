#!/usr/bin/env python3
"""Fails when a deployment file or example ships a usable secret (issue 16.1).

A placeholder that the software accepts is a real secret everyone knows: the Kubernetes manifest
once shipped FLEET_GATEWAY_TOKEN_SECRET=CHANGE-ME-AT-LEAST-32-RANDOM-CHARACTERS, and a cluster
deployed as shipped accepted admin tokens anyone could sign. Deployment files must reference a
secret the operator creates, or demand one (${VAR:?...}), never carry a value or a default.

    check_secrets.py --source-dir .
"""
import argparse
import os
import re
import sys

import yaml

SECRET_KEY = re.compile(r"(TOKEN_SECRET|SECRET_KEY|PASSWORD|API_KEY|PASSWD)$", re.I)
# A compose value that only demands the variable, e.g. ${FLEET_SECRET_KEY:?set it}, or passes
# it through unchanged (${VAR}), carries no secret.
DEMANDED = re.compile(r"^\$\{[A-Z0-9_]+(:?\?[^}]*)?\}$")
# postgresql://user:password@host — a literal password or a ${VAR:-default} default.
URL_PASSWORD = re.compile(r"://[^:/@\s]+:(\$\{[^}]*\}|[^@\s]+)@")
# An instruction in angle brackets ("<openssl rand -hex 32>") is not a value.
INSTRUCTION = re.compile(r"^<[^>]*>$")


def url_problems(where, value):
    out = []
    for password in URL_PASSWORD.findall(str(value)):
        if not DEMANDED.match(password) and not INSTRUCTION.match(password):
            out.append(f"{where}: a connection URL carries a password ({password[:12]}…)")
    return out


def value_problems(where, key, value):
    out = url_problems(where, value)
    if SECRET_KEY.search(str(key)) and value not in (None, "") and not DEMANDED.match(str(value)):
        out.append(f"{where}: {key} has a value; ship none (the operator creates it)")
    return out


def check_k8s(path):
    out = []
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        name = f"{os.path.basename(path)} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") == "Secret" and (doc.get("stringData") or doc.get("data")):
            out.append(f"{name}: a Secret with values is shipped; reference one the operator "
                       "creates instead")
        for section in ("data", "stringData"):
            for key, value in (doc.get(section) or {}).items():
                out += value_problems(name, key, value)
        text = yaml.safe_dump(doc)
        for m in re.finditer(r"name: (\S+)\n\s*value: (.+)", text):
            out += value_problems(name, m.group(1), m.group(2).strip().strip("'\""))
    return out


def check_compose(path):
    out = []
    with open(path) as f:
        compose = yaml.safe_load(f)

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (str, int, float)) or value is None:
                    out.extend(value_problems(f"{where}.{key}", key, value))
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str) and "=" in value:
                    key, _, v = value.partition("=")
                    out.extend(value_problems(f"{where}[{i}]", key, v))
                else:
                    walk(value, f"{where}[{i}]")
    walk(compose, os.path.basename(path))
    return out


def check_env_example(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if "=" not in line:
                continue
            key, _, value = line.lstrip("#").strip().partition("=")
            if value.startswith("<") and value.endswith(">"):
                continue  # an instruction, e.g. <openssl rand -hex 32>
            out += value_problems(f"{os.path.basename(path)}:{n}", key.strip(), value.strip())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    src = ap.parse_args().source_dir
    problems = []
    k8s = os.path.join(src, "deploy/k8s")
    for name in sorted(os.listdir(k8s)):
        if name.endswith((".yaml", ".yml")):
            problems += check_k8s(os.path.join(k8s, name))
    problems += check_compose(os.path.join(src, "docker-compose.yml"))
    for folder in ("deploy/docker", "deploy/systemd"):
        for name in sorted(os.listdir(os.path.join(src, folder))):
            if name.endswith((".env.example", ".env")):
                problems += check_env_example(os.path.join(src, folder, name))
    for p in problems:
        print("shipped secret:", p)
    print(f"checked deployment files for shipped secrets: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
