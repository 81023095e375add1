#!/usr/bin/env bash
# Stop what scripts/up.sh started (by its pid files; nothing is killed by name).
set -euo pipefail
cd "$(dirname "$0")/.."
for pidfile in var/local-meter/tick.pid; do
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && echo "stopped pid $pid" || true
    rm -f "$pidfile"
  fi
done
