#!/usr/bin/env bash
# Samba's Active Directory domain controller for the AD integration tests (test/support/samba-ad.ts
# provisions and runs its own domain in a temp dir). Without recommends a DC also needs the DSDB
# modules, the provisioning data and the VFS modules. No packaged service may keep running.
set -euo pipefail
. "$(dirname "$0")/../lib/apt-quiet-install.sh"
pkgs=(samba samba-dsdb-modules samba-ad-provision samba-vfs-modules)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  # policy-rc.d 101 keeps the postinst from starting smbd, nmbd or samba-ad-dc.
  apt_install_no_start "${missing[@]}"
fi
for svc in samba-ad-dc smbd nmbd winbind; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$svc" ]; then
    "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
done
command -v samba >/dev/null
command -v samba-tool >/dev/null
