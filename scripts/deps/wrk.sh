#!/usr/bin/env bash
# wrk from Debian: the neutral load generator of `npm run bench` and its CI smoke run
# (test/integration/bench-smoke.test.ts).
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
command -v wrk >/dev/null
