#include "node_install_script.h"

#include <algorithm>

namespace fleet::gateway {
namespace {

// The script's fixed part. @GATEWAY@ and @TOKEN@ are replaced by shell-quoted words; every other
// value it uses comes from its own variables, always double-quoted.
constexpr std::string_view kScript = R"SH(#!/usr/bin/env bash
# fleetward node installer, made by the api-gateway for one registration token: downloads the
# node-agent, registers this host with the token and runs the agent as a systemd service.
# Environment: FLEET_PREFIX=DIR installs every file under DIR (no root needed),
# FLEET_SYSTEMD_DIR=DIR puts the unit there, FLEET_NO_SYSTEMD=1 does not call systemctl.
set -euo pipefail

GATEWAY=@GATEWAY@
TOKEN=@TOKEN@

PREFIX="${FLEET_PREFIX:-}"
BIN_DIR="$PREFIX/usr/local/bin"
CONFIG_DIR="$PREFIX/etc/fleetward"
SYSTEMD_DIR="${FLEET_SYSTEMD_DIR:-$PREFIX/etc/systemd/system}"
AGENT="$BIN_DIR/node-agent"
CONFIG="$CONFIG_DIR/node-agent.json"
UNIT_NAME="fleetward-node-agent.service"
UNIT="$SYSTEMD_DIR/$UNIT_NAME"
NO_SYSTEMD="${FLEET_NO_SYSTEMD:-0}"

fail() {
  echo "fleetward installer: $*" >&2
  exit 1
}
say() {
  echo "fleetward installer: $*"
}

# Everything is checked before the token is spent.
if [ -z "$PREFIX" ] && [ "$(id -u)" -ne 0 ]; then
  fail "run this as root (curl ... | sudo bash)"
fi
[ "$(uname -s)" = "Linux" ] || fail "a node must run Linux, this is $(uname -s)"
if [ "$NO_SYSTEMD" != "1" ] && ! command -v systemctl >/dev/null 2>&1; then
  fail "systemctl was not found (set FLEET_NO_SYSTEMD=1 to install without starting the service)"
fi
if command -v curl >/dev/null 2>&1; then
  download() { curl -fsSL --retry 3 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  download() { wget -q -O "$2" "$1"; }
else
  fail "curl or wget is needed to download the node-agent"
fi

umask 022
mkdir -p "$BIN_DIR" "$CONFIG_DIR" "$SYSTEMD_DIR"
chmod 700 "$CONFIG_DIR"

say "downloading the node-agent from $GATEWAY"
TMP="$(mktemp "$BIN_DIR/.node-agent.XXXXXX")"
trap 'rm -f "$TMP"' EXIT
download "$GATEWAY/api/nodes/agent-binary?token=$TOKEN" "$TMP" ||
  fail "could not download the node-agent (is the token still valid?)"
[ -s "$TMP" ] || fail "the downloaded node-agent is empty"
chmod 755 "$TMP"
mv -f "$TMP" "$AGENT"
trap - EXIT

say "registering $(uname -n)"
"$AGENT" register --gateway "$GATEWAY" --token "$TOKEN" --config "$CONFIG" ||
  fail "registration failed"
if [ -f "$CONFIG" ]; then
  chmod 600 "$CONFIG"
fi

say "writing $UNIT"
cat >"$UNIT" <<UNIT_EOF
[Unit]
Description=fleetward node agent (heartbeats and container commands)
Wants=network-online.target
After=network-online.target docker.service podman.socket

[Service]
Type=simple
ExecStart=$AGENT --config $CONFIG
Restart=always
RestartSec=5
UMask=0077
NoNewPrivileges=yes
ProtectSystem=full
ReadWritePaths=$CONFIG_DIR
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
UNIT_EOF
chmod 644 "$UNIT"

if [ "$NO_SYSTEMD" = "1" ]; then
  say "FLEET_NO_SYSTEMD=1: $UNIT_NAME is written but not started"
else
  systemctl daemon-reload && systemctl enable --now "$UNIT_NAME"
  # A reinstall replaced the binary: run the new one.
  systemctl restart "$UNIT_NAME"
  say "$UNIT_NAME is running (journalctl -u $UNIT_NAME)"
fi
say "done"
)SH";

void replace_all(std::string& text, std::string_view what, const std::string& with) {
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

}  // namespace

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool is_installer_base_url(std::string_view url) {
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || url.size() > 500 || url.back() == '/') return false;
  return std::all_of(rest.begin(), rest.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '~' || c == ':' || c == '/' || c == '[' || c == ']' ||
           c == '%';
  });
}

std::string node_install_command(std::string_view base_url, std::string_view token) {
  std::string url(base_url);
  url += "/api/nodes/install-script?token=";
  url += token;
  return "curl -fsSL " + shell_quote(url) + " | sudo bash";
}

std::string node_install_script(std::string_view base_url, std::string_view token) {
  std::string script(kScript);
  // The token first: a quoted URL cannot contain "@TOKEN@" that would then be replaced, and
  // tokens are [A-Za-z0-9_-] only.
  replace_all(script, "@TOKEN@", shell_quote(token));
  replace_all(script, "@GATEWAY@", shell_quote(base_url));
  return script;
}

}  // namespace fleet::gateway
