#!/usr/bin/env bash
# Upgrades the managed plugin offline from a folder of scripts/build-plugin.sh, keeping every
# `docker plugin set` value; refuses while containers use it (scripts/upgrade-plugin.mjs says how).
#   sudo scripts/upgrade-plugin.sh [--name nuage:latest] [--docker CLI] DIR
set -euo pipefail
exec node "$(dirname "$(readlink -f "$0")")/upgrade-plugin.mjs" "$@"
