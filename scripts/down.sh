#!/usr/bin/env bash
# Stop the local fleet scripts/up.sh started: every meter's schedule loop and agent, then
# Tempest, each through its supervisor script (which stops it by its pid file, never by name).
# The meters stop all at once (each waits only for its own process), then Tempest, so that
# the last uploads still find it. The data stays in var/local/; scripts/up.sh brings the same
# fleet back.
set -uo pipefail
cd "$(dirname "$0")/.."
stop_one() {
  "$1" stop >/dev/null && echo "stopped $(basename "$(dirname "$1")") $(basename "$1" -ctl)"
}
for ctl in var/local/meters/*/loop-ctl var/local/meters/*/agent-ctl; do
  [ -x "$ctl" ] && stop_one "$ctl" &
done
wait
ctl=var/local/tempest/tempest-ctl
[ -x "$ctl" ] && stop_one "$ctl"
exit 0
