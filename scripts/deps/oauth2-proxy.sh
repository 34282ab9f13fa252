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

# oauth2-proxy v7.6.0 needs Go >= 1.21; Debian 12 ships 1.19, so fetch the same toolchain module
# tacacs.sh uses (golang.org/toolchain from the Go module proxy) when the machine's Go is older.
want=go1.26.8
toolchain_dir=/var/cache/netbox-gate/go-toolchain
export PATH=$PATH:/usr/local/go/bin:$toolchain_dir/bin
go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ "$(printf '%s\n' 1.22 "$v" | sort -V | head -1)" = 1.22 ]
}
if ! go_ok; then
  command -v go >/dev/null 2>&1 || apt-get install -y -qq golang-go >/dev/null
  tmp=$(mktemp -d)
  arch=$(dpkg --print-architecture)
  (cd "$tmp" && go mod init tcfetch >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod go mod download -json "golang.org/toolchain@v0.0.1-$want.linux-$arch" >dl.json)
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
  rm -rf "$toolchain_dir" "$tmp"
  mkdir -p "$(dirname "$toolchain_dir")"
  cp -r "$dir" "$toolchain_dir"
  chmod -R u+w "$toolchain_dir"
  chmod +x "$toolchain_dir"/bin/* "$toolchain_dir"/pkg/tool/*/*
  hash -r
  go_ok || { echo "oauth2-proxy.sh: no Go >= 1.22 after fetching $want" >&2; exit 1; }
fi

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
