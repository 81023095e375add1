#!/usr/bin/env bash
# Stop the local fleet scripts/up.sh started: every meter's schedule loop, agent and DLMS
# server, then Tempest's DLMS collector and MQTT subscriber, Tempest, and last the fleet's
# Mosquitto, each through its supervisor script (which stops it by its pid file, never by
# name). The meters stop all at once (each waits only for its own process), then Tempest's
# side, so that the last uploads and publications still find it. The data stays in var/local/; scripts/up.sh brings the same
# fleet back.
set -uo pipefail
cd "$(dirname "$0")/.."
stop_one() {
  "$1" stop >/dev/null && echo "stopped $(basename "$(dirname "$1")") $(basename "$1" -ctl)"
}
for ctl in var/local/meters/*/loop-ctl var/local/meters/*/agent-ctl var/local/meters/*/dlms-ctl; do
  [ -x "$ctl" ] && stop_one "$ctl" &
done
wait
for ctl in var/local/tempest/dlms-collect-ctl var/local/tempest/mqtt-subscribe-ctl; do
  [ -x "$ctl" ] && stop_one "$ctl" &
done
wait
for ctl in var/local/tempest/tempest-ctl var/local/tempest/mosquitto-ctl; do
  [ -x "$ctl" ] && stop_one "$ctl"
done
exit 0
