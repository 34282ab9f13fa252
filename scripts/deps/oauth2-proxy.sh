#!/usr/bin/env bash
# Installs the real header-injecting reverse proxy the upstream-source integration tests run in
# front of a recording server: Apache httpd with mod_auth_openidc, configured as oauth2-proxy.
#
# Why not oauth2-proxy itself: the Go module proxy reachable here refuses every exact release we
# asked for (v7.13.0, v7.12.0, v7.9.0: "This module version is not available") and a bare @latest
# lookup is refused too. mod_auth_openidc from Debian does the same job (OIDC code flow against
# an IdP, then identity headers to the upstream), and test/support/oauth2-proxy.ts makes it send
# exactly oauth2-proxy's header set. When a release becomes available, build it with
#   GOBIN=/var/cache/netbox-gate/bin go install github.com/oauth2-proxy/oauth2-proxy/v7@<exact version>
# and point test/support/oauth2-proxy.ts at it.
set -euo pipefail
if [ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_auth_openidc.so ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# apache2-bin only: the binary and modules, without the packaged service that would start on :80.
apt-get install -y -qq --no-install-recommends apache2-bin libapache2-mod-auth-openidc >/dev/null
echo "installed apache2-bin + mod_auth_openidc"
