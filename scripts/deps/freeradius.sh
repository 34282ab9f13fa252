#!/usr/bin/env bash
# FreeRADIUS for the RADIUS integration tests (test/support/freeradius.ts starts its own
# instance with a generated config dir); the packaged system service is stopped so it holds no ports.
set -euo pipefail
. "$(dirname "$0")/../lib/apt-quiet-install.sh"
if ! dpkg -s freeradius >/dev/null 2>&1; then
  # policy-rc.d 101 keeps the package's postinst from starting the daemon at all.
  apt_install_no_start freeradius freeradius-utils
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now freeradius >/dev/null 2>&1 || true
elif [ -x /etc/init.d/freeradius ]; then
  /etc/init.d/freeradius stop >/dev/null 2>&1 || true
fi
command -v freeradius >/dev/null
