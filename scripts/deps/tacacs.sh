#!/usr/bin/env bash
# Builds the TACACS+ test peer (test/support/tacacs-server, on facebookincubator/tacquito) that the
# integration tests run. Idempotent: skips the build when the binary is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=test/support/tacacs-server
out_dir=${NETBOX_GATE_BIN_DIR:-/var/cache/netbox-gate/bin}
out=$out_dir/tacacs-test-server
if [ -x "$out" ] && [ -z "$(find "$src" -newer "$out" -type f 2>/dev/null)" ]; then
  exit 0
fi

# go.mod says go 1.26.
. scripts/lib/go-toolchain.sh
ensure_go 1.26

mkdir -p "$out_dir"
(cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" .)
mv -f "$out.tmp" "$out"
echo "built $out"
