#!/usr/bin/env bash
# nginx from Debian for `npm run bench` (bench/compare.ts starts its own instance on a free
# loopback port serving a 2 KB body); the packaged system service is kept from starting.
set -euo pipefail
. "$(dirname "$0")/../lib/apt-quiet-install.sh"
if ! dpkg -s nginx-light >/dev/null 2>&1 && ! dpkg -s nginx >/dev/null 2>&1; then
  # policy-rc.d 101 keeps the package's postinst from starting the daemon on port 80.
  apt_install_no_start nginx
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now nginx >/dev/null 2>&1 || true
fi
command -v nginx >/dev/null || test -x /usr/sbin/nginx
