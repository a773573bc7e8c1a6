#!/usr/bin/env bash
# Try the plugin on one machine with no Nuage installation: installs what is missing,
# starts dockerd if none answers, starts the sandbox (VSD simulator, Open vSwitch with
# the Nuage tables, VRS agent emulator), then runs the plugin in the foreground on it.
# Stop with Ctrl-C; `bin/nuage-libnetwork sandbox down` removes the sandbox. Needs no registry:
# the quick start's busybox image is imported from busybox-static (scripts/import-busybox.sh),
# and the Docker engines only the tests use are not fetched. Arguments go to `sandbox up`
# (e.g. --resolve-delay 500ms for a slower VRS).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
state=${NUAGE_SANDBOX_STATE:-/var/lib/nuage-libnetwork/sandbox}
if ! docker version >/dev/null 2>&1; then
  echo "starting dockerd (log: /var/log/nuage-sandbox-dockerd.log)"
  nohup dockerd >/var/log/nuage-sandbox-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
fi
# The quick start's image, from local files: no registry is asked (air-gapped sites).
bash scripts/import-busybox.sh busybox:latest
bin/nuage-libnetwork sandbox up --state "$state" "$@"
echo "plugin config: $state/nuage.cfg; now, in another shell:"
echo '  docker network create --driver=nuage -o organization=Enterprise -o domain=Domain -o zone=Zone -o subnet="Subnet 2" -o user=admin --subnet=10.21.59.0/24 MyNet'
exec bin/nuage-libnetwork -f "$state/nuage.cfg"
