#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root: installs what is missing,
# builds, then runs unit, integration and end-to-end tests (node's test runner).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
node scripts/run-tests.mjs all
