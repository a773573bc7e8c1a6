#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root: installs what is missing,
# builds, checks formatting and lint (Biome), then runs unit, integration and end-to-end tests (node's test runner).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
# Formatting and lint first: a tree that does not pass them fails before the tests run.
npm run lint
node scripts/run-tests.mjs all
