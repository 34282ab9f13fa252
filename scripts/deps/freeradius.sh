#!/usr/bin/env bash
# FreeRADIUS for the RADIUS integration tests (test/support/freeradius.ts starts its own
# instance with a generated config dir); the packaged system service is stopped so it holds no ports.
set -euo pipefail
if ! dpkg -s freeradius >/dev/null 2>&1; then
  # policy-rc.d 101 keeps the package's postinst from starting the daemon at all.
  prc=/usr/sbin/policy-rc.d
  made_prc=0
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; made_prc=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends freeradius freeradius-utils >/dev/null
  if [ "$made_prc" = 1 ]; then rm -f "$prc"; fi
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now freeradius >/dev/null 2>&1 || true
elif [ -x /etc/init.d/freeradius ]; then
  /etc/init.d/freeradius stop >/dev/null 2>&1 || true
fi
command -v freeradius >/dev/null
