#!/usr/bin/env bash
# A newer Docker engine for the tests, without touching the machine's apt sources: downloads
# Debian's docker.io, docker-cli and containerd of a later Debian release through a private apt
# folder under .cache/docker<ENGINE>/ and unpacks them there with dpkg -x. Debian 12's runc stays
# in use (the later releases' runc needs a newer glibc). The Debian mirror is the one this
# machine's apt already uses (apt-get indextargets, read at run time). Safe to run again: does
# nothing when the unpacked dockerd of that engine is present.
#   scripts/fetch-docker.sh ENGINE [CACHE_DIR]   ENGINE: 28 (Debian unstable) or 26 (Debian 13)
#                                                (default CACHE_DIR: <repo>/.cache/docker<ENGINE>)
# Result: CACHE_DIR/root/usr/sbin/dockerd, CACHE_DIR/root/usr/bin/{docker,containerd,containerd-shim-runc-v2,...}.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
engine="${1:-}"
case "$engine" in
  26) suite=trixie ;;
  28) suite=unstable ;;
  *)
    echo "usage: fetch-docker.sh ENGINE [CACHE_DIR]   (ENGINE: 28 or 26, not '${engine}')" >&2
    exit 2
    ;;
esac
cache="${2:-$repo/.cache/docker$engine}"
root="$cache/root"
PACKAGES=(docker.io docker-cli containerd)
me="fetch-docker $engine"

if [ -x "$root/usr/sbin/dockerd" ] && [ -x "$root/usr/bin/containerd" ] && [ -x "$root/usr/bin/docker" ]; then
  echo "$me: present in $root ($("$root/usr/sbin/dockerd" --version))"
  exit 0
fi

# The machine's own Debian mirror: the archive that serves its release's main component.
. /etc/os-release
mirror="$(apt-get indextargets --format '$(RELEASE) $(COMPONENT) $(REPO_URI)' 2>/dev/null |
  awk -v rel="$VERSION_CODENAME" '$1 == rel && $2 == "main" { print $3; exit }')"
if [ -z "$mirror" ]; then
  echo "$me: no Debian mirror for '$VERSION_CODENAME main' in this machine's apt sources (/etc/apt/sources.list, sources.list.d)" >&2
  exit 1
fi

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/debs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "$me: $keyring missing (package debian-archive-keyring)" >&2; exit 1; }
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >"$apt_dir/sources.list"

# Only this private folder's sources list, lists and cache; the system's sources are not read.
APT_OPTS=(
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Get::List-Cleanup=0"
  -o "APT::Sandbox::User=root"
)
echo "$me: apt-get update ($suite, private lists in $apt_dir)"
apt-get "${APT_OPTS[@]}" update -qq
cd "$cache/debs"
rm -f ./*.deb
echo "$me: apt-get download ${PACKAGES[*]}"
apt-get "${APT_OPTS[@]}" download "${PACKAGES[@]}"
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
for deb in ./*.deb; do dpkg -x "$deb" "$root.tmp"; done
version="$("$root.tmp/usr/sbin/dockerd" --version)"
# The tests are written for this engine's behaviour: a release that moved on is an error, not a silent upgrade.
if [[ "$version" != "Docker version $engine."* ]]; then
  echo "$me: Debian $suite now ships '$version', not Docker $engine: update scripts/fetch-docker.sh and the tests" >&2
  rm -rf "$root.tmp"
  exit 1
fi
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$me: $version in $root"
