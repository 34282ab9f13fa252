#!/usr/bin/env bash
# Builds the TACACS+ test peer (test/support/tacacs-server, on facebookincubator/tacquito) that the
# integration tests run. Idempotent: skips the build when the binary is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=test/support/tacacs-server
out_dir=${NETBOX_GATE_BIN_DIR:-/var/cache/netbox-gate/bin}
out=$out_dir/tacacs-test-server
# Go toolchain the module needs (go.mod says go 1.26); fetched as the golang.org/toolchain module
# from the Go module proxy when the machine's Go is older (Debian 12 ships 1.19).
want=go1.26.8
toolchain_dir=/var/cache/netbox-gate/go-toolchain

if [ -x "$out" ] && [ -z "$(find "$src" -newer "$out" -type f 2>/dev/null)" ]; then
  exit 0
fi

export PATH=$PATH:/usr/local/go/bin:$toolchain_dir/bin
go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ "$(printf '%s\n' 1.26 "$v" | sort -V | head -1)" = 1.26 ]
}
if ! go_ok; then
  if ! command -v go >/dev/null 2>&1; then
    apt-get install -y -qq golang-go >/dev/null
  fi
  # `go mod download` of the toolchain module works with any Go, also 1.19.
  tmp=$(mktemp -d)
  arch=$(dpkg --print-architecture)
  (cd "$tmp" && go mod init tcfetch >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod go mod download -json "golang.org/toolchain@v0.0.1-$want.linux-$arch" >dl.json)
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
  rm -rf "$toolchain_dir" "$tmp"
  mkdir -p "$(dirname "$toolchain_dir")"
  cp -r "$dir" "$toolchain_dir"
  chmod -R u+w "$toolchain_dir"
  # Module zips carry no file modes; make the toolchain's binaries runnable again.
  chmod +x "$toolchain_dir"/bin/* "$toolchain_dir"/pkg/tool/*/*
  hash -r
  go_ok || { echo "tacacs.sh: no Go >= 1.26 after fetching $want" >&2; exit 1; }
fi

mkdir -p "$out_dir"
(cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" .)
mv -f "$out.tmp" "$out"
echo "built $out"
