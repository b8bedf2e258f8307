#!/usr/bin/env bash
# Installs every Debian 12 package fleetward needs to build, test and run. Idempotent: when everything
# is present it changes nothing and makes no network request.
#
#   scripts/install-deps.sh            # build + test + run
#   scripts/install-deps.sh --runtime  # what the binaries and the demo need at run time
#   scripts/install-deps.sh --build    # compile only (container build stage)
#   scripts/install-deps.sh --libs     # only the shared libraries (container image)
set -euo pipefail

# Shared libraries the binaries link (the container image installs only these: --libs).
libs=(
  libpqxx-6.4 libspdlog1.10 libfmt9 libcpp-httplib0.11 libmosquitto1 libsodium23 libssl3 libcurl4
  curl ca-certificates
)
# Servers the demo and the tests start themselves, in project directories.
runtime=("${libs[@]}" postgresql-15 postgresql-client-15 mosquitto procps util-linux
         openssl)  # the demo makes its secrets with openssl; demo-setup.sh uses psql
build=(
  build-essential cmake ninja-build ccache pkg-config git
  libpqxx-dev libcpp-httplib-dev libcli11-dev libspdlog-dev libfmt-dev catch2 nlohmann-json3-dev
  libmosquitto-dev libsodium-dev libssl-dev libcurl4-openssl-dev
  clang libclang-rt-14-dev clang-format
)
test_tools=(
  prometheus          # promtool, to check the /metrics exposition format
  mosquitto-clients   # mosquitto_pub/sub for MQTT tests
  wrk hyperfine nmap  # benchmarks
  iproute2 psmisc
  python3 python3-yaml  # tests/deploy/check_deploy.py validates the deployment files
  podman runc busybox-static  # tests/support/podman.h: a real Docker Engine API per test node
  nginx               # tests/e2e/tls_proxy_e2e_test.cpp runs deploy/nginx/fleetward.conf (TLS proxy)
  chromium            # tests/browser: the dashboard in headless Chromium (playwright-core never downloads a browser)
)
# tests/browser runs on Node.js (npm ci installs playwright-core). A node that is already there
# (e.g. nodesource's nodejs, which bundles npm) is used as it is: Debian's npm would conflict with it.
if ! command -v node >/dev/null 2>&1; then
  test_tools+=(nodejs npm)
fi

case "${1:-}" in
  --libs) want=("${libs[@]}") ;;
  --runtime) want=("${runtime[@]}") ;;
  --build) want=("${libs[@]}" "${build[@]}") ;;
  "") want=("${runtime[@]}" "${build[@]}" "${test_tools[@]}") ;;
  *) echo "usage: $0 [--runtime|--build|--libs]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Package post-install scripts must not start system services (a PostgreSQL cluster on 5432, a
# broker on 1883): fleetward starts its own, in project directories, on free ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod +x $policy
  created_policy=1
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [[ $created_policy -eq 1 ]]; then $sudo rm -f $policy; fi
echo "install-deps: done"
