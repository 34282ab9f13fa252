# Sourced by scripts/deps/*.sh: installs Debian packages whose postinst would start a system
# daemon (freeradius, slapd). policy-rc.d exit 101 keeps the daemon from starting at all, so it
# never holds the ports the tests' private instances use. Usage: apt_install_no_start PKG...
apt_install_no_start() {
  local prc=/usr/sbin/policy-rc.d made=0
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; made=1; fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  if [ "$made" = 1 ]; then rm -f "$prc"; fi
  return $rc
}
