#!/usr/bin/env bash
# Makes sure the Docker daemon has an image `busybox:latest` without asking a registry: when
# there is none, imports one built from this machine's static busybox (Debian's busybox-static),
# /bin/busybox with a symlink per applet, as the tests do (test/support/busybox-image.ts).
# Nuage sites are often air-gapped: the README's quick start must not need Docker Hub.
#   scripts/import-busybox.sh [TAG]        (default busybox:latest; DOCKER=... picks the client)
set -euo pipefail
tag=${1:-busybox:latest}
docker=${DOCKER:-docker}
if "$docker" image inspect --format '{{.Id}}' "$tag" >/dev/null 2>&1; then
  echo "image $tag: present"
  exit 0
fi
busybox=/bin/busybox
if [ ! -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
  echo "import-busybox: $busybox is missing or not a multi-call busybox: install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,run,var,usr/bin,sbin}
cp "$busybox" "$root/bin/busybox"
"$busybox" --list | while read -r applet; do
  case "$applet" in busybox | */* | "") ;; *) ln -s busybox "$root/bin/$applet" ;; esac
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
  "$docker" import --change 'CMD ["sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$tag" >/dev/null
echo "image $tag: imported from $busybox (no registry needed)"
