#!/usr/bin/env bash
# Keycloak (Quarkus distribution) from Maven Central for the Keycloak integration and e2e tests;
# test/support/keycloak.ts starts it in dev mode. Needs Java 21+ (Keycloak 26), so a JDK is installed if none is.
set -euo pipefail
KC_VERSION="${KC_VERSION:-26.5.6}"
DEST="/var/cache/netbox-gate/keycloak-${KC_VERSION}"

# A Java 21+ runtime: any present one will do (temurin on CI images); otherwise Debian's.
java_ok() {
  local j="$1"
  [ -x "$j" ] || return 1
  local v
  v="$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [ -n "$v" ] && [ "${v%%.*}" -ge 21 ]
}
found=""
for j in /usr/lib/jvm/*/bin/java; do
  if java_ok "$j"; then found="$j"; break; fi
done
if [ -z "$found" ]; then
  # Debian 12 ships 17 only; bookworm-backports is not enabled by default, so try the plain
  # package names first and fail with a clear message instead of half-installing.
  apt-get install -y -qq --no-install-recommends openjdk-21-jre-headless >/dev/null 2>&1 \
    || { echo "keycloak.sh: need a Java 21+ JDK (e.g. temurin-21 or openjdk-21) under /usr/lib/jvm" >&2; exit 1; }
fi

if [ -x "$DEST/bin/kc.sh" ]; then exit 0; fi

command -v mvn >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends maven unzip >/dev/null
command -v unzip >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends unzip >/dev/null

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B dependency:copy \
  -Dartifact="org.keycloak:keycloak-quarkus-dist:${KC_VERSION}:zip" \
  -DoutputDirectory="$tmp" -Dmdep.stripVersion=false
unzip -q "$tmp/keycloak-quarkus-dist-${KC_VERSION}.zip" -d "$tmp/x"
mkdir -p "$(dirname "$DEST")"
# Move into place last, so an interrupted run leaves nothing that looks installed.
rm -rf "$DEST.partial"
mv "$tmp/x/keycloak-${KC_VERSION}" "$DEST.partial"
mv "$DEST.partial" "$DEST"
test -x "$DEST/bin/kc.sh"
