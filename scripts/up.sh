#!/usr/bin/env bash
# Set everything up and bring up the main job: a local simulated meter that backfills the last
# 14 days and then keeps ticking (every 60 s) in the background. Idempotent: running it again
# leaves one meter running. Stop it with scripts/down.sh. Touches nothing outside this folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
home=var/local-meter
mkdir -p "$home"
if [ ! -f "$home/config.json" ]; then
  cat > "$home/config.json" <<'JSON'
{"serial": "local-0001", "archetype": "family", "timezone": "Europe/Berlin",
 "location": {"latitude": 52.52, "longitude": 13.40, "country": "DE"},
 "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4}, "pv": {"kwp": 5},
 "faults": {"missing_intervals": 0.002, "spikes": 0.0005},
 "commissioned": "2025-01-01", "delivery": {"mode": "none"}}
JSON
fi
meter=.venv/bin/meter
first=$(date -u -d '14 days ago' +%F)
last=$(date -u -d 'yesterday' +%F)
"$meter" backfill --config "$home/config.json" --from "$first" --to "$last" >/dev/null
pidfile="$home/tick.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "the meter is already ticking (pid $(cat "$pidfile"))"
else
  nohup bash -c "while true; do '$meter' tick --config '$home/config.json' >>'$home/tick.log' 2>&1; sleep 60; done" \
    >/dev/null 2>&1 &
  echo $! > "$pidfile"
  echo "the meter is ticking (pid $!)"
fi
echo "sealed days: $home/outbox/   open day: $home/data/   ground truth: $meter truth --config $home/config.json --day $last"
