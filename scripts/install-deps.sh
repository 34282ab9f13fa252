#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine of this kind.
# Each component has its own scripts/deps/<name>.sh (idempotent, fast when already installed).
# Node 24 (scripts/deps/node24.sh) always comes first: npm ci and everything after run on it.
# Usage: install-deps.sh [component ...]   (no component: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ ! -f /var/lib/apt/periodic/netbox-gate-updated ] || [ -n "$(find /var/lib/apt/periodic/netbox-gate-updated -mmin +720 2>/dev/null)" ]; then
  echo "[deps] apt-get update"
  apt-get update -qq
  mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/netbox-gate-updated
fi
echo "[deps] scripts/deps/node24.sh"
. scripts/lib/node24.sh
use_node24
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm ci"
  npm ci --no-audit --no-fund
fi
# With arguments, only those components (e.g. the demo needs only zz-netbox).
if [ $# -gt 0 ]; then list=(); for n in "$@"; do list+=("scripts/deps/$n.sh"); done; else list=(scripts/deps/*.sh); fi
for f in "${list[@]}"; do
  [ "$f" != scripts/deps/node24.sh ] || continue
  echo "[deps] $f"
  bash "$f"
done
