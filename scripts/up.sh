#!/usr/bin/env bash
# The main job: set everything up and bring up a whole working fleet on this machine —
# Tempest and 12 simulated meters, deployed by the project's own playbooks against
# inventory/local/, with 14 days of history, ticking live — then print the UI's address.
#
#   scripts/up.sh           real time (a 5-minute interval every 5 minutes)
#   scripts/up.sh --fast    demo time: five simulated minutes per real second
#
# Idempotent: running it again leaves one fleet (the playbooks report what changed).
# No root, no SSH, no InfluxDB: only the package registries. Everything it writes stays in
# this folder (var/local/, .venv/). Stop it with scripts/down.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh
# Ports first: a collision would otherwise surface as a deploy waiting a minute in vain.
.venv/bin/python scripts/check_ports.py

local_dir=$root/var/local
mkdir -p "$local_dir/ansible/tmp" "$local_dir/ansible/facts"
secrets=$local_dir/secrets.yml
# Random keys and DLMS passwords, made here and never committed (a real fleet keeps them in
# Ansible Vault); a fleet made before the DLMS meters gets their passwords added, nothing else
# changes.
(umask 077 && .venv/bin/python - "$secrets" <<'PY'
import json, os, secrets, sys
hosts = [f"m{i:02d}" for i in range(1, 13)]
doc = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else {"local_secrets": {}}
s = doc["local_secrets"]
before = json.dumps(doc)
s.setdefault("admin_token", secrets.token_urlsafe(24))
for name in ("meter_keys", "agent_keys", "dlms_passwords"):
    s.setdefault(name, {})
    for h in hosts:
        s[name].setdefault(h, secrets.token_urlsafe(24))
if json.dumps(doc) != before:
    open(sys.argv[1], "w").write(json.dumps(doc, indent=1) + "\n")
PY
)

# The MQTT meters need Debian's Mosquitto (scripts/setup.sh --test installs it, as root).
# Without it the fleet still comes up: those meters upload over HTTP instead.
mosquitto=$(command -v mosquitto || true)
[ -z "$mosquitto" ] && [ -x /usr/sbin/mosquitto ] && mosquitto=/usr/sbin/mosquitto
if [ -z "$mosquitto" ]; then
  echo "up: Mosquitto is not installed (as root: apt-get install mosquitto), so the MQTT" \
       "meters (m05, m10) upload over HTTP this time; run scripts/up.sh again once it is" >&2
fi

extra=(-e "@$secrets" -e "local_mosquitto=$mosquitto")
if [ "${1:-}" = "--fast" ]; then
  # The demo clock's origin is fixed on the first --fast run, so a second run changes nothing.
  origin_file=$local_dir/fast-origin
  [ -f "$origin_file" ] || date -u +%Y-%m-%dT%H:%M:%S+00:00 > "$origin_file"
  extra+=(-e local_time_scale=300 -e "local_time_origin=$(cat "$origin_file")")
fi

# Ansible's own files (temporary modules, the fact cache) go under var/local/ too.
export ANSIBLE_CONFIG=$root/ansible.cfg
export ANSIBLE_HOME=$local_dir/ansible
export ANSIBLE_LOCAL_TEMP=$local_dir/ansible/tmp
export ANSIBLE_REMOTE_TEMP=$local_dir/ansible/tmp
export ANSIBLE_CACHE_PLUGIN_CONNECTION=$local_dir/ansible/facts
export ANSIBLE_NOCOLOR=1
echo "deploy: Tempest and 12 meters with playbooks/site.yml (about a minute and a half the" \
     "first time; the whole run goes to $local_dir/deploy.log)"
.venv/bin/ansible-playbook -i inventory/local/hosts.yml playbooks/site.yml "${extra[@]}" \
  | .venv/bin/python scripts/deploy_progress.py "$local_dir/deploy.log" || {
    echo "the deploy failed; see $local_dir/deploy.log" >&2; exit 1; }

port=${METERS_TEMPEST_PORT:-8002}
dlms_base=${METERS_DLMS_PORT_BASE:-18400}
if [ -n "$mosquitto" ]; then
  mqtt_line="m05, m10 publish to Mosquitto on 127.0.0.1:${METERS_MQTT_PORT:-18883} (topics meters/#)"
else
  mqtt_line="none this time (Mosquitto is not installed): m05, m10 upload over HTTP"
fi
cat <<TXT

The fleet is up: Tempest and 12 meters.
  Web UI:       http://127.0.0.1:$port/ui/
  REST API:     http://127.0.0.1:$port/api/v1/meters
  Admin token:  in $secrets (admin_token), for the UI's admin sign-in
  Meters:       var/local/meters/m01 ... m12 (config.json, var/outbox, log/)
  DLMS meters:  m04, m08 on 127.0.0.1:$dlms_base+NN (TCP wrapper, LLS password in
                $secrets, dlms_passwords); Tempest's collector reads them every 30 s
  MQTT meters:  $mqtt_line
  Stop:         scripts/down.sh
TXT
