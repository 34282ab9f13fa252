#!/usr/bin/env bash
# systemd's tools (systemd-analyze) so test/unit/deploy/systemd.test.ts can verify
# examples/netbox-gate.service. Only the package: nothing is started.
set -euo pipefail
. "$(dirname "$0")/../lib/apt-quiet-install.sh"
command -v systemd-analyze >/dev/null 2>&1 || apt_install_no_start systemd
command -v systemd-analyze >/dev/null
