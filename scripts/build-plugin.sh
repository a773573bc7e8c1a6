#!/usr/bin/env bash
# Builds the managed (v2) Docker plugin from this machine's files, offline (no registry, no image):
#   DIR/config.json   (dist/src/managed-plugin/manifest.js: interface types, socket, mounts, one env entry per config key)
#   DIR/rootfs/       node, iproute2, flock and cat with the libraries they load, the plugin's one-file bundle
#                     in /app (scripts/stage-plugin.sh --bundle), and the folders config.json mounts on.
# Then: docker plugin create nuage DIR && docker plugin enable nuage:latest   (README, "Install as a managed plugin")
# The VSD password is never baked in nor given with `docker plugin set` (docker plugin inspect shows those): it is a
# file on the config mount (/etc/nuage-libnetwork, read-only), named by VsdPasswordFile (docs/install.md).
#   scripts/build-plugin.sh DIR
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
dir="${1:?usage: build-plugin.sh DIR}"
[ -f "$repo/dist/src/managed-plugin/manifest.js" ] || { echo "build-plugin: not built: run npm run build (scripts/setup.sh)" >&2; exit 1; }
[ -f "$repo/dist/bundle/nuage-libnetwork.mjs" ] || { echo "build-plugin: dist/bundle/nuage-libnetwork.mjs missing: run npm run build (scripts/setup.sh; it needs esbuild, a dev dependency)" >&2; exit 1; }

mkdir -p "$dir"
rootfs="$dir/rootfs"
rm -rf "$rootfs" "$dir/config.json"
mkdir -p "$rootfs"

# Programs from this machine, and every shared library they load (ldd), at the same paths.
copy_program() {
  local src real dest
  src="$(command -v "$1")" || { echo "build-plugin: $1 not found on this machine" >&2; exit 1; }
  real="$(readlink -f "$src")"
  dest="$rootfs$2"
  mkdir -p "$(dirname "$dest")"
  cp "$real" "$dest"
  ldd "$real" | awk '/=>/ { print $3 } !/=>/ && $1 ~ /^\// { print $1 }' | while read -r lib; do
    [ -n "$lib" ] && [ -e "$lib" ] || continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}
copy_program node /usr/bin/node
copy_program ip /usr/sbin/ip
# The StateDir lock (src/store/state-dir-lock.ts) is util-linux's flock holding cat.
copy_program flock /usr/bin/flock
copy_program cat /usr/bin/cat
ln -s ../usr/sbin/ip "$rootfs/usr/bin/ip" 2>/dev/null || true
[ -d /etc/iproute2 ] && mkdir -p "$rootfs/etc" && cp -r /etc/iproute2 "$rootfs/etc/"

mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" \
  "$rootfs/run/docker/plugins" "$rootfs/var/run/openvswitch" "$rootfs/var/lib/nuage-libnetwork" \
  "$rootfs/etc/nuage-libnetwork" "$rootfs/host-run"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
# Docker bind-mounts the host's /etc/hosts and /etc/resolv.conf over these (network type host).
: >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"
# DockerEndpoint's default, unix:///var/run/docker.sock, reaches the host's socket through the "docker" mount.
ln -s /host-run/docker.sock "$rootfs/var/run/docker.sock"

bash "$repo/scripts/stage-plugin.sh" --bundle "$rootfs/app" >/dev/null
# The default config path (bin/nuage.cfg beside the executable) is the mounted file, when there is one.
ln -s /etc/nuage-libnetwork/nuage.cfg "$rootfs/app/bin/nuage.cfg"

node "$repo/dist/src/managed-plugin/manifest.js" >"$dir/config.json.tmp"
mv "$dir/config.json.tmp" "$dir/config.json"
echo "build-plugin: $dir/config.json and $dir/rootfs ($(du -sh "$rootfs" | cut -f1))"
