#!/usr/bin/env bash
# redis-server for the shared-store tests (test/support/redis.ts starts its own instance in a
# temp dir on a free port); the packaged system service is stopped so it holds no ports.
set -euo pipefail
. "$(dirname "$0")/../lib/apt-quiet-install.sh"
if ! dpkg -s redis-server >/dev/null 2>&1; then
  # policy-rc.d 101 keeps the package's postinst from starting the daemon at all.
  apt_install_no_start redis-server
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
elif [ -x /etc/init.d/redis-server ]; then
  /etc/init.d/redis-server stop >/dev/null 2>&1 || true
fi
command -v redis-server >/dev/null
