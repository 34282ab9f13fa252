#!/usr/bin/env bash
# NetBox 4.7 for the tests and the demo: a Debian trixie root with PostgreSQL 17, Redis and
# NetBox from PyPI, migrated once into a template (about 10 minutes the first time; then instant).
set -euo pipefail
# debootstrap builds the root; its recommends (gnupg, arch-test) are not needed for a native
# trixie root: apt's gpgv and the archive keyring verify the Release file.
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null
fi
exec bash "$(dirname "$0")/../netbox-env.sh" build
