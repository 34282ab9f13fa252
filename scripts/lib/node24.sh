# Sourced by scripts/*.sh: makes Node 24 LTS (npm's node@24 package, installed by
# scripts/deps/node24.sh) the `node` of this script and of everything it starts (npm, npx, tsc,
# the tests), whatever Node the machine has. Debian 12's own nodejs (18) is too old to run
# netbox-gate, and Node 20 is past its end of life. Usage: . scripts/lib/node24.sh; use_node24
NODE24_DIR=${NETBOX_GATE_NODE24_DIR:-/var/cache/netbox-gate/node24}
NODE24_BIN=$NODE24_DIR/node_modules/node/bin
use_node24() {
  bash "$(dirname "${BASH_SOURCE[0]}")/../deps/node24.sh" >&2
  export PATH="$NODE24_BIN:$PATH"
  hash -r
  case "$(node --version)" in v24.*) ;; *) echo "use_node24: node on PATH is $(node --version), not 24" >&2; return 1 ;; esac
}
