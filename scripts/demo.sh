#!/usr/bin/env bash
# Quick start, part 1: install what is needed, build, and run the demo (NetBox + IdP + gateway).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh 00-base zz-netbox
npx tsc -p tsconfig.json
exec node build/demo/run.js "$@"
