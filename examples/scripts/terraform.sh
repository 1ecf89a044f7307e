#!/usr/bin/env bash
# Deploys an example with terraform alone (no cdktf-cli): synthesize, then terraform init and
# plan / apply / destroy in the synthesized stack's folder, with the backend the example sets
# (local state in examples/terraform.<stack>.tfstate by default; existing-stack: azurerm).
#   npm run plan    [-- <example>] [terraform options]
#   npm run deploy  [-- <example>] [terraform options]   (terraform apply; asks before changing anything)
#   npm run destroy [-- <example>] [terraform options]   (asks too)
# <example>: full (default), byo, existing-stack, orders-api; or EXAMPLE=<example>.
set -euo pipefail
action="${1:-}"
case "$action" in plan|deploy|destroy) shift ;; *) echo "usage: terraform.sh plan|deploy|destroy [example] [terraform options]" >&2; exit 2 ;; esac
example="${EXAMPLE:-full}"
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then example="$1"; shift; fi
examples="$(cd "$(dirname "$0")/.." && pwd)"
cd "$examples/.."
source scripts/node24.sh

if ! command -v terraform >/dev/null; then
  echo "terraform.sh: terraform is not on PATH; install Terraform >= 1.9 (the Terraform JSON is in examples/cdktf.out after npm run synth)." >&2
  exit 1
fi

# 1. Synthesize: the service bundles first (the images are built in Azure from them).
node lib-services/build.mjs >&2
(cd examples && npx tsx main.ts "$example")
stack="$(node -p 'Object.keys(require("./examples/cdktf.out/manifest.json").stacks)[0]')"
dir="examples/cdktf.out/stacks/$stack"
providers="$(node -p 'Object.values(require("./'"$dir"'/cdk.tf.json").terraform.required_providers).map((p) => `${p.source} ${p.version ?? ""}`.trim()).join(", ")')"
echo "terraform.sh: example '$example', stack '$stack', terraform in $dir" >&2

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Runs terraform in the stack folder, keeping its output to explain a failure.
tf() { terraform -chdir="$dir" "$@" 2>&1 | tee "$log"; return "${PIPESTATUS[0]}"; }
why() {
  echo >&2
  if grep -qiE 'registry\.terraform\.io|Failed to query available provider packages|Failed to install provider|could not connect' "$log"; then
    echo "terraform.sh: stopped at 'terraform init': the providers ($providers) could not be downloaded, because this machine cannot reach registry.terraform.io. Allow that, or point Terraform at a provider mirror (TF_CLI_CONFIG_FILE with provider_installation, or TF_PLUGIN_CACHE_DIR), then rerun." >&2
  elif grep -qiE 'backend|storage account|Error loading state|Failed to get existing workspaces' "$log"; then
    echo "terraform.sh: stopped at 'terraform init': the backend could not be reached. For existing-stack set TFSTATE_RESOURCE_GROUP, TFSTATE_STORAGE_ACCOUNT and TFSTATE_CONTAINER to a storage container you may use, and sign in (az login)." >&2
  elif grep -qiE 'subscription ID could not be determined|building AzureRM Client|Azure CLI|az login|obtain.*token|credential' "$log"; then
    echo "terraform.sh: stopped at 'terraform $1': no Azure credentials. Sign in (az login; export ARM_SUBSCRIPTION_ID=\$(az account show --query id -o tsv)) or set ARM_CLIENT_ID, ARM_TENANT_ID and ARM_SUBSCRIPTION_ID for a workload identity, then rerun." >&2
  else
    echo "terraform.sh: 'terraform $1' failed (its output is above)." >&2
  fi
  exit 1
}

# 2. init (the backend and the providers), 3. the action.
tf init -input=false || why init
case "$action" in
  plan) tf plan -input=false "$@" || why plan ;;
  deploy) tf apply "$@" || why apply ;;
  destroy) tf destroy "$@" || why destroy ;;
esac
