#!/usr/bin/env bash
# Copies the built plugin with only what it needs at run time into DEST:
#   DEST/bin/nuage-libnetwork, DEST/dist/src/ (no tests, benchmarks or sandbox),
#   DEST/package.json, DEST/node_modules/ (the production dependencies, as `npm ls --omit=dev` lists them).
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
# The sandbox (VSD simulator, VRS emulator) is never part of an installed plugin.
rm -rf "$dest/dist/src/sandbox"
find "$dest/dist/src" -name '*.map' -delete
cp package.json "$dest/"

# Production dependencies only; workspace packages (npm links them: symlinks) are left out.
real_modules="$(readlink -f node_modules)"
mapfile -t deps < <(npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2)
[ "${#deps[@]}" -gt 0 ] || { echo "stage-plugin: npm ls listed no production dependencies (node_modules missing?)" >&2; exit 1; }
for d in "${deps[@]}"; do
  [ -L "$d" ] && continue   # a workspace package (e.g. the sandbox)
  real="$(readlink -f "$d")"
  case "$real" in
    "$real_modules"/*) rel="${real#"$real_modules"/}" ;;
    *) echo "stage-plugin: $d is outside node_modules" >&2; exit 1 ;;
  esac
  mkdir -p "$dest/node_modules/$(dirname "$rel")"
  rm -rf "$dest/node_modules/$rel"
  cp -r "$real" "$dest/node_modules/$rel"
done
echo "stage-plugin: $(du -sh "$dest" | cut -f1) in $dest (${#deps[@]} packages)"
