#!/usr/bin/env bash
# Docker 26 for the tests, without touching the machine's apt sources: downloads Debian 13
# (trixie)'s docker.io and containerd through a private apt folder under .cache/docker26/
# and unpacks them there with dpkg -x. Debian 12's runc stays in use (Debian 13's needs a
# newer glibc). Safe to run again: does nothing when the unpacked dockerd is present.
#   scripts/fetch-docker26.sh [CACHE_DIR]     (default: <repo>/.cache/docker26)
# Result: CACHE_DIR/root/usr/sbin/dockerd, CACHE_DIR/root/usr/bin/{docker,containerd,containerd-shim-runc-v2,...}.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cache="${1:-$repo/.cache/docker26}"
root="$cache/root"
PACKAGES=(docker.io docker-cli containerd)

if [ -x "$root/usr/sbin/dockerd" ] && [ -x "$root/usr/bin/containerd" ] && [ -x "$root/usr/bin/docker" ]; then
  echo "fetch-docker26: present in $root ($("$root/usr/sbin/dockerd" --version))"
  exit 0
fi

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "fetch-docker26: $keyring missing (package debian-archive-keyring)" >&2; exit 1; }
cat >"$apt_dir/sources.list" <<SRC
deb [signed-by=$keyring] http://deb.debian.org/debian trixie main
SRC

# Only this private folder's sources list, lists and cache; the system's sources are not read.
APT_OPTS=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Get::List-Cleanup=0"
  -o "APT::Sandbox::User=root"
)
echo "fetch-docker26: apt-get update (trixie, private lists in $apt_dir)"
apt-get "${APT_OPTS[@]}" update -qq
cd "$cache/debs"
rm -f ./*.deb
echo "fetch-docker26: apt-get download ${PACKAGES[*]}"
apt-get "${APT_OPTS[@]}" download "${PACKAGES[@]}"
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
for deb in ./*.deb; do dpkg -x "$deb" "$root.tmp"; done
rm -rf "$root"
mv "$root.tmp" "$root"
echo "fetch-docker26: $("$root/usr/sbin/dockerd" --version) in $root"
