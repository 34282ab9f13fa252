#!/usr/bin/env bash
# OpenLDAP slapd + ldap-utils for the LDAP integration tests (test/support/slapd.ts starts its own
# instance from a generated slapd.conf); the packaged system service is stopped so it holds no ports.
set -euo pipefail
. "$(dirname "$0")/../lib/apt-quiet-install.sh"
if ! dpkg -s slapd >/dev/null 2>&1 || ! dpkg -s ldap-utils >/dev/null 2>&1; then
  # Preseeding "nodatabase" keeps the postinst from asking questions and from creating a database
  # we would only have to throw away; policy-rc.d 101 keeps it from starting the daemon at all.
  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
  apt_install_no_start slapd ldap-utils
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now slapd >/dev/null 2>&1 || true
elif [ -x /etc/init.d/slapd ]; then
  /etc/init.d/slapd stop >/dev/null 2>&1 || true
fi
# AppArmor (where enabled) confines /usr/sbin/slapd to its packaged paths; our test instance
# lives in a temp dir, so the profile is put in complain mode when one is loaded.
if [ -e /etc/apparmor.d/usr.sbin.slapd ] && command -v aa-complain >/dev/null 2>&1; then
  aa-complain /usr/sbin/slapd >/dev/null 2>&1 || true
fi
test -x /usr/sbin/slapd
command -v ldapadd >/dev/null
