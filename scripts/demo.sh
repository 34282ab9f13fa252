#!/usr/bin/env bash
# Quick start, part 1: install what the demo needs (Node 24, NetBox's environment), build, and run
# the demo (NetBox + IdP + gateway) on Node 24. Arguments go to the demo (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "npm run demo: run it as root (the demo's NetBox runs in a chroot: mount, chroot and apt-get need root)" >&2; exit 1; }
need=(zz-netbox)
for a in "$@"; do case "$a" in --netbox-url|--netbox-url=*|--help|-h) need=() ;; esac; done
if [ ${#need[@]} -gt 0 ] && ! bash scripts/netbox-env.sh built; then
  echo "[demo] First run: building NetBox's environment (a Debian trixie root with PostgreSQL 17, Redis and"
  echo "[demo] NetBox 4.7 from PyPI). This takes about 10 minutes, once; later runs start in seconds."
fi
bash scripts/install-deps.sh node24 "${need[@]}"
. scripts/lib/node24.sh
use_node24
npx tsc -p tsconfig.json
exec node build/demo/run.js "$@"
