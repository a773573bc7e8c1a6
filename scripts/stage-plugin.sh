#!/usr/bin/env bash
# Copies the built plugin with only what it needs at run time into DEST:
#   DEST/bin/nuage-libnetwork, DEST/dist/src/ (no tests, benchmarks or sandbox),
#   DEST/package.json, DEST/node_modules/ (the production dependencies, scripts/runtime-deps.mjs).
# Offline: copies from this checkout's node_modules (scripts/setup.sh installs and builds).
# Used by scripts/build-plugin.sh (managed plugin rootfs) and scripts/install-systemd.sh.
#   scripts/stage-plugin.sh DEST
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
dest="${1:?usage: stage-plugin.sh DEST}"
cd "$repo"
[ -f dist/src/main.js ] || { echo "stage-plugin: dist/src/main.js missing: run npm run build (scripts/setup.sh)" >&2; exit 1; }

mkdir -p "$dest/bin" "$dest/dist" "$dest/node_modules"
cp bin/nuage-libnetwork "$dest/bin/"
rm -rf "$dest/dist/src"
cp -r dist/src "$dest/dist/src"
find "$dest/dist/src" -name '*.map' -delete
cp package.json "$dest/"

# Production dependencies only: the closure of package.json's dependencies (no dev
# dependencies, no workspace packages such as the sandbox).
mapfile -t deps < <(node scripts/runtime-deps.mjs "$repo")
[ "${#deps[@]}" -gt 0 ] || { echo "stage-plugin: no runtime dependencies found (node_modules missing?)" >&2; exit 1; }
for rel in "${deps[@]}"; do
  mkdir -p "$dest/node_modules/$(dirname "$rel")"
  rm -rf "$dest/node_modules/$rel"
  cp -rL "node_modules/$rel" "$dest/node_modules/$rel"
done
echo "stage-plugin: $(du -sh "$dest" | cut -f1) in $dest (${#deps[@]} packages)"
