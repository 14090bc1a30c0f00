#!/usr/bin/env bash
# Installs the Debian packages of the real backends the end-to-end tests start (redis,
# etcd, nats, memcached, nutcracker, nginx, varnish, prometheus, ...) and the tools some
# generated crates build with. Each test in scripts/e2e/ names what it and its pattern's
# build need in a `# debian: PACKAGE...` line; this collects them, installs the missing ones (as root, as CI runs) and keeps the packaged daemons from
# starting as services: every test starts its own servers on loopback, on its own ports.
# Installed packages are left alone, so a second run costs a dpkg query.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mapfile -t wanted < <(sed -n 's/^# debian: //p' "$repo"/scripts/e2e/*.sh | tr ' ' '\n' | grep . | sort -u)
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-backends: not root, cannot install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  # exit 101 = "action not allowed": invoke-rc.d starts no daemon during the install
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  own_policy=yes
fi
status=0
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } || status=$?
[ -n "$own_policy" ] && rm -f "$policy"
exit "$status"
