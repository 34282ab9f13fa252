#!/usr/bin/env bash
# Builds the real oauth2-proxy (v7.6.0, from the Go module proxy) that test/e2e/upstream-proxies.test.ts
# runs in front of the gateway. Idempotent: exits at once when the binary of that version is present.
#
# Why a throwaway module instead of `go install …@v7.x`: go install looks up the module's version
# list for deprecation notices, and the module proxy reachable here refuses that lookup (and the
# newest releases); requiring the exact version from a module of our own skips the lookup.
# v7.6.0 is the newest release the proxy serves here.
set -euo pipefail
version=v7.6.0
out_dir=${NETBOX_GATE_BIN_DIR:-/var/cache/netbox-gate/bin}
out=$out_dir/oauth2-proxy
stamp=$out.version

if [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi

# oauth2-proxy v7.6.0 needs Go >= 1.21.
. "$(dirname "$0")/../lib/go-toolchain.sh"
ensure_go 1.22

# The module that requires oauth2-proxy lives only in a temp dir; nothing is written to the repo.
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cat >"$build/go.mod" <<EOF
module o2pbuild

go 1.22

require github.com/oauth2-proxy/oauth2-proxy/v7 $version
EOF
cat >"$build/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/oauth2-proxy/oauth2-proxy/v7"
EOF
mkdir -p "$out_dir"
(cd "$build" && GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" github.com/oauth2-proxy/oauth2-proxy/v7)
mv -f "$out.tmp" "$out"
echo "$version" >"$stamp"
echo "built $out ($version)"
