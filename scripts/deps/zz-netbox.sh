#!/usr/bin/env bash
# NetBox 4.7 for the tests and the demo: a Debian trixie root with PostgreSQL 17, Redis and
# NetBox from PyPI, migrated once into a template (about 7 minutes the first time; then instant).
set -euo pipefail
exec bash "$(dirname "$0")/../netbox-env.sh" build
