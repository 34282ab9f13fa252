#!/usr/bin/env bash
# Builds oauth2-proxy (the real reverse proxy the upstream-source integration tests put in front
# of netbox-gate) from the Go module proxy. Idempotent: skips when the pinned version is present.
set -euo pipefail
# Pinned to an exact release: the module proxy here refuses v7.12.0 and v7.13.0, and a bare @latest.
version=v7.9.0
out_dir=${NETBOX_GATE_BIN_DIR:-/var/cache/netbox-gate/bin}
out=$out_dir/oauth2-proxy
stamp=$out_dir/.oauth2-proxy-version

if [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

# scripts/deps/tacacs.sh may already have put a newer Go toolchain here; otherwise use the
# machine's Go and let GOTOOLCHAIN fetch the one go.mod asks for from the module proxy.
export PATH=$PATH:/usr/local/go/bin:/var/cache/netbox-gate/go-toolchain/bin
if ! command -v go >/dev/null 2>&1; then
  apt-get install -y -qq golang-go >/dev/null
fi
mkdir -p "$out_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOTOOLCHAIN=auto GOFLAGS=-mod=mod GOBIN="$tmp" go install -trimpath "github.com/oauth2-proxy/oauth2-proxy/v7@$version"
mv -f "$tmp/oauth2-proxy" "$out"
echo "$version" >"$stamp"
echo "built $out ($version)"
