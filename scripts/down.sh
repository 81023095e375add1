#!/usr/bin/env bash
# Stop the local fleet scripts/up.sh started: every meter's schedule loop and agent, then
# Tempest, each through its supervisor script (which stops it by its pid file, never by name).
# The data stays in var/local/; scripts/up.sh brings the same fleet back.
set -uo pipefail
cd "$(dirname "$0")/.."
for ctl in var/local/meters/*/loop-ctl var/local/meters/*/agent-ctl var/local/tempest/tempest-ctl; do
  [ -x "$ctl" ] || continue
  "$ctl" stop >/dev/null && echo "stopped $(basename "$(dirname "$ctl")") $(basename "$ctl" -ctl)"
done
