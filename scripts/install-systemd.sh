#!/usr/bin/env bash
# Installs the plugin as a legacy Docker plugin run by systemd:
#   PREFIX (default /opt/nuage-libnetwork): the plugin with its runtime dependencies (scripts/stage-plugin.sh)
#   /etc/systemd/system/nuage-libnetwork.service (packaging/systemd/, ExecStart under PREFIX)
#   /etc/nuage-libnetwork/nuage.cfg, 0600, only when there is none (from --config FILE, else the sample)
# then, if systemd runs, `systemctl daemon-reload` and `systemctl enable --now` (unless --no-start).
#   scripts/install-systemd.sh [--prefix DIR] [--config FILE] [--destdir DIR] [--no-start]
# --destdir DIR installs below DIR (a staging root for packages and tests) and never calls systemctl.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
prefix=/opt/nuage-libnetwork
config=""
destdir=""
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --config) config="${2:?--config needs a file}"; shift 2 ;;
    --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "install-systemd: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "install-systemd: --prefix must be absolute: $prefix" >&2; exit 2 ;;
esac
# The prefix goes into the unit file: keep it to characters that need no quoting there.
if ! [[ "$prefix" =~ ^/[A-Za-z0-9._/-]+$ ]]; then
  echo "install-systemd: --prefix may hold only letters, digits and . _ - /: $prefix" >&2; exit 2
fi
if [ -n "$config" ] && [ ! -f "$config" ]; then echo "install-systemd: --config $config: no such file" >&2; exit 2; fi
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then echo "install-systemd: run as root (or give --destdir)" >&2; exit 1; fi

root="${destdir%/}"
bash "$repo/scripts/stage-plugin.sh" "$root$prefix"

unit_dir="$root/etc/systemd/system"
mkdir -p "$unit_dir"
sed "s|/opt/nuage-libnetwork|$prefix|g" "$repo/packaging/systemd/nuage-libnetwork.service" >"$unit_dir/nuage-libnetwork.service.tmp"
chmod 0644 "$unit_dir/nuage-libnetwork.service.tmp"
mv "$unit_dir/nuage-libnetwork.service.tmp" "$unit_dir/nuage-libnetwork.service"

cfg_dir="$root/etc/nuage-libnetwork"
mkdir -p "$cfg_dir"
chmod 0700 "$cfg_dir"
if [ -e "$cfg_dir/nuage.cfg" ]; then
  echo "install-systemd: keeping the existing $cfg_dir/nuage.cfg"
else
  install -m 0600 "${config:-$repo/packaging/nuage.cfg.sample}" "$cfg_dir/nuage.cfg"
  echo "install-systemd: wrote $cfg_dir/nuage.cfg"
fi
mkdir -p "$root/var/lib/nuage-libnetwork"
chmod 0700 "$root/var/lib/nuage-libnetwork"

echo "install-systemd: unit $unit_dir/nuage-libnetwork.service, plugin in $root$prefix"
if [ -n "$destdir" ]; then exit 0; fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$start" -eq 1 ]; then
    systemctl enable --now nuage-libnetwork.service
    echo "install-systemd: nuage-libnetwork.service enabled and started (restart docker.service once if it was already running and should use the plugin)"
  else
    systemctl enable nuage-libnetwork.service
  fi
else
  echo "install-systemd: systemd is not running here; start it later with: systemctl daemon-reload && systemctl enable --now nuage-libnetwork"
fi
