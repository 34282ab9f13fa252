# Sourced by scripts/deps/*.sh: makes `go` >= $1 available. The machine image has a recent Go in
# /usr/local/go; where it has not (Debian 12 ships 1.19), the Go toolchain is fetched as the
# golang.org/toolchain module from the Go module proxy, which any Go (also 1.19) can download.
GO_TOOLCHAIN_VERSION=go1.26.8
GO_TOOLCHAIN_DIR=/var/cache/netbox-gate/go-toolchain
export PATH=$PATH:/usr/local/go/bin:$GO_TOOLCHAIN_DIR/bin

go_at_least() {
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ "$(printf '%s\n' "$1" "$v" | sort -V | head -1)" = "$1" ]
}

ensure_go() {
  local min=$1
  go_at_least "$min" && return 0
  command -v go >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends golang-go >/dev/null
  local tmp arch dir
  tmp=$(mktemp -d)
  arch=$(dpkg --print-architecture)
  (cd "$tmp" && go mod init tcfetch >/dev/null 2>&1 &&
    GOFLAGS=-mod=mod go mod download -json "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN_VERSION.linux-$arch" >dl.json)
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
  rm -rf "$GO_TOOLCHAIN_DIR"
  mkdir -p "$(dirname "$GO_TOOLCHAIN_DIR")"
  cp -r "$dir" "$GO_TOOLCHAIN_DIR"
  rm -rf "$tmp"
  chmod -R u+w "$GO_TOOLCHAIN_DIR"
  # Module zips carry no file modes; make the toolchain's binaries runnable again.
  chmod +x "$GO_TOOLCHAIN_DIR"/bin/* "$GO_TOOLCHAIN_DIR"/pkg/tool/*/*
  hash -r
  go_at_least "$min" || { echo "no Go >= $min after fetching $GO_TOOLCHAIN_VERSION" >&2; return 1; }
}
