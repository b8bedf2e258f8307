#!/bin/sh
# ctest entry of the browser tests: skips (77) with a clear message when Node.js is missing,
# otherwise hands over to run.mjs (which checks for Chromium and runs npm ci).
if ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED: browser tests need Node.js (node) and npm; scripts/install-deps.sh installs them"
  exit 77
fi
exec node "$(dirname "$0")/run.mjs" "$@"
