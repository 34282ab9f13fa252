#!/usr/bin/env bash
# Quick start, part 2: every test (unit, integration with real servers, end to end in Chromium
# against a real NetBox) on Node 24. Installs what is missing first (Node 24 included), so it
# works on a fresh machine whatever its own Node is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/lib/node24.sh
use_node24
rm -rf build
npx tsc -p tsconfig.json
echo "[test] every test on Node $(node --version), one file at a time"
# One file at a time: the integration and e2e suites start real servers on a 2-core machine.
# The spec reporter is named so that the output is readable also when it goes to a file or CI log.
exec node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 $(find build/test -name '*.test.js' | sort)
