#!/usr/bin/env bash
# Copies the built plugin with only what it needs at run time into DEST:
#   DEST/bin/nuage-libnetwork, DEST/dist/src/ (no tests, benchmarks or sandbox),
#   DEST/package.json, DEST/node_modules/ (the production dependencies, scripts/runtime-deps.mjs).
# With --bundle: DEST/dist/bundle/ (the one-file build of scripts/bundle.mjs, with its licence
# notices) instead of dist/src, and of node_modules only pino-pretty (LogFormat = "pretty" loads
# it from there): ~1 MB of plugin instead of ~16, one file to load at start.
# Offline: copies from this checkout's node_modules (scripts/setup.sh installs and builds).
# Used by scripts/build-plugin.sh (managed plugin rootfs, --bundle) and scripts/install-systemd.sh.
#   scripts/stage-plugin.sh [--bundle] DEST
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
bundle=0
if [ "${1:-}" = "--bundle" ]; then bundle=1; shift; fi
dest="${1:?usage: stage-plugin.sh [--bundle] DEST}"
cd "$repo"

mkdir -p "$dest/bin" "$dest/dist" "$dest/node_modules"
cp bin/nuage-libnetwork "$dest/bin/"
rm -rf "$dest/dist/src" "$dest/dist/bundle"
if [ "$bundle" = 1 ]; then
  [ -f dist/bundle/nuage-libnetwork.mjs ] || { echo "stage-plugin: dist/bundle/nuage-libnetwork.mjs missing: run npm run build (scripts/setup.sh; it needs esbuild, a dev dependency)" >&2; exit 1; }
  mkdir -p "$dest/dist/bundle"
  cp dist/bundle/nuage-libnetwork.mjs dist/bundle/nuage-libnetwork.mjs.LEGAL.txt "$dest/dist/bundle/"
else
  [ -f dist/src/main.js ] || { echo "stage-plugin: dist/src/main.js missing: run npm run build (scripts/setup.sh)" >&2; exit 1; }
  cp -r dist/src "$dest/dist/src"
  find "$dest/dist/src" -name '*.map' -delete
fi
cp package.json "$dest/"

# Production dependencies only: the closure of package.json's dependencies (no dev
# dependencies, no workspace packages such as the sandbox); the bundle holds all but pino-pretty.
roots=()
[ "$bundle" = 1 ] && roots=(pino-pretty)
mapfile -t deps < <(node scripts/runtime-deps.mjs "$repo" "${roots[@]}")
[ "${#deps[@]}" -gt 0 ] || { echo "stage-plugin: no runtime dependencies found (node_modules missing?)" >&2; exit 1; }
for rel in "${deps[@]}"; do
  mkdir -p "$dest/node_modules/$(dirname "$rel")"
  rm -rf "$dest/node_modules/$rel"
  cp -rL "node_modules/$rel" "$dest/node_modules/$rel"
done
echo "stage-plugin: $(du -sh "$dest" | cut -f1) in $dest (${#deps[@]} packages)"
