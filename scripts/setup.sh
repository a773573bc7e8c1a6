#!/usr/bin/env bash
# Set-up for a fresh Debian 12 machine, as root; safe to run again (does only what is missing):
#  1. installs the Debian packages the plugin and its tests need, without starting their
#     services (a temporary policy-rc.d refuses service starts during the install; the tests
#     start private daemons of their own and never rely on system ones);
#  2. installs the npm packages (npm ci from the lock file) unless node_modules already matches;
#  3. builds (npm run build).
# The Docker engines only the tests use (28, 26) are fetched by scripts/test.sh
# (scripts/fetch-docker.sh), not here: the demo and the install do not need them.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

PACKAGES=(docker.io openvswitch-switch etcd-server busybox-static iproute2 iptables)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (installs Debian packages; the tests use namespaces and mounts)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep package scripts from starting dockerd, containerd, ovs or etcd (Debian's policy-rc.d
  # mechanism; exit 101 = "action forbidden"). Only if no policy is in place already.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi
  cleanup_policy() { if [ -n "$made_policy" ]; then rm -f "$policy"; fi; }
  trap cleanup_policy EXIT
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
  cleanup_policy
  made_policy=""
  trap - EXIT
else
  echo "setup: Debian packages present: ${PACKAGES[*]}"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: Node.js 20 (node and npm) is required and was not found in PATH" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 required, found $(node --version)" >&2
  exit 1
fi

# npm ls exits non-zero when something in package.json is missing or does not match.
if [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
  echo "setup: npm packages up to date"
elif [ -f package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
else
  echo "setup: npm install"
  npm install --no-audit --no-fund
fi

echo "setup: npm run build"
npm run build
