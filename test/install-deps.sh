#!/usr/bin/env bash
# install-deps.sh PKG... installs the Debian packages the tests drive that
# are missing, and only them: no recommended packages (Prometheus alone
# would pull in node-exporter and some thirty more), no service started
# while installing (policy-rc.d), and no service left enabled afterwards:
# the tests start what they need themselves. A machine that has every
# package needs neither root nor the network.
set -euo pipefail

missing=()
for p in "$@"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}"
sudo=$([ "$(id -u)" -eq 0 ] || echo sudo)

# policy-rc.d answering 101 keeps maintainer scripts from starting
# services; one the machine already has is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The units the new packages brought, enabled by their postinst: disabled
# (and stopped, where systemd runs), so that nothing of the tests' stays
# running or starts at the next boot.
for p in "${missing[@]}"; do
	dpkg -L "$p" | grep -E '^/(usr/)?lib/systemd/system/[^/]+\.(service|socket|timer)$' || true
done | xargs -r -n1 basename | sort -u | while read -r unit; do
	if systemctl is-enabled --quiet "$unit" 2>/dev/null; then
		echo "disabling $unit"
		$sudo systemctl disable --quiet "$unit" 2>/dev/null || true
		$sudo systemctl stop "$unit" 2>/dev/null || true
	fi
done
