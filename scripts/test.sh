#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root: installs what is missing, builds,
# fetches the Docker engines the tests run beside Debian 12's 20.10 (28; 26 too with
# NUAGE_TEST_ENGINE=26), checks formatting and lint (Biome), then runs unit, integration and
# end-to-end tests (node's test runner).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
# Test-only engines, fetched here rather than in setup.sh: the demo and the install never need them.
bash scripts/fetch-docker.sh 28
if [ "${NUAGE_TEST_ENGINE:-}" = "26" ]; then bash scripts/fetch-docker.sh 26; fi
# Formatting and lint first: a tree that does not pass them fails before the tests run.
npm run lint
node scripts/run-tests.mjs all
