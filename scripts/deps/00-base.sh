#!/usr/bin/env bash
# Debian packages the gateway's own tests need: Chromium for the browser tests (headless: its
# recommends, and theirs, are desktop pieces the tests do not use).
set -euo pipefail
need=()
for p in chromium openssl; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; fi
