#!/usr/bin/env bash
# Quick start, part 2: every test (unit, integration with real servers, end to end in Chromium
# against a real NetBox). Installs what is missing first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf build
npx tsc -p tsconfig.json
# The unit suite also runs on Node 24 (npm's node@24 package), the newest runtime we support.
NODE24=/var/cache/netbox-gate/node24/node_modules/node/bin/node
echo "[test] unit tests on $("$NODE24" --version)"
"$NODE24" --test --test-concurrency=1 $(find build/test/unit -name '*.test.js' | sort)
echo "[test] all tests on $(node --version)"
# One file at a time: the integration and e2e suites start real servers on a 2-core machine.
exec node --test --test-concurrency=1 --test-timeout=900000 $(find build/test -name '*.test.js' | sort)
