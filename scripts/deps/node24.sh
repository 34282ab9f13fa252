#!/usr/bin/env bash
# Node 24 from the npm registry (package node@24), so the unit suite also runs on it.
set -euo pipefail
dir=/var/cache/netbox-gate/node24
if [ -x "$dir/node_modules/node/bin/node" ] && "$dir/node_modules/node/bin/node" --version | grep -q '^v24\.'; then exit 0; fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --no-save node@24 >/dev/null
"$dir/node_modules/node/bin/node" --version
