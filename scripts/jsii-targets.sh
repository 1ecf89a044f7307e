#!/usr/bin/env bash
# Generates the code of each jsii target (Python, .NET, Java, Go) from the compiled assembly
# (.jsii) with jsii-pacmak --code-only: no language toolchain and no package registry needed.
# A target whose code cannot be generated fails the test command. The code goes to a temp folder
# that is removed afterwards; `npm run package-all` builds the real packages (needs the toolchains).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d "${TMPDIR:-/tmp}/ipa-jsii-targets-XXXXXX")"
trap 'rm -rf "$out"' EXIT
targets=(python dotnet java go)
start=$SECONDS
npx jsii-pacmak --code-only --no-npmignore --outdir "$out" --targets "$(IFS=,; echo "${targets[*]}")" >&2
for target in "${targets[@]}"; do
  files=$(find "$out/$target" -type f 2>/dev/null | wc -l)
  if [ "$files" -eq 0 ]; then
    echo "jsii-targets: no $target code was generated" >&2
    exit 1
  fi
  echo "jsii-targets: $target: $files files"
done
echo "jsii-targets: generated in $((SECONDS - start)) s"
