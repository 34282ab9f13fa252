#!/usr/bin/env bash
# Debian packages the gateway's own tests need: Chromium for the browser tests.
set -euo pipefail
need=()
for p in chromium openssl; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq "${need[@]}" >/dev/null; fi
