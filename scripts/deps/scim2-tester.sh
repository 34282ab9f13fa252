#!/usr/bin/env bash
# scim2-tester (PyPI, the python-scim SCIM compliance checker) in its own venv, for
# test/integration/scim.test.ts, which runs it against the gateway's SCIM endpoint.
# Idempotent: exits at once when the pinned version is installed.
set -euo pipefail
version=0.5.2
venv=${NETBOX_GATE_SCIM2_TESTER_VENV:-/var/cache/netbox-gate/scim2-tester}
stamp=$venv/.version

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

# A fresh Debian has python3 but not always the venv module (python3-venv).
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "scim2-tester[httpx2]==$version"
echo "$version" >"$stamp"
