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
if [ ! -f "$secrets" ]; then
  # Random keys, made here and never committed (a real fleet keeps them in Ansible Vault).
  (umask 077 && .venv/bin/python - "$secrets" <<'PY'
import json, secrets, sys
hosts = [f"m{i:02d}" for i in range(1, 13)]
doc = {"local_secrets": {
    "admin_token": secrets.token_urlsafe(24),
    "meter_keys": {h: secrets.token_urlsafe(24) for h in hosts},
    "agent_keys": {h: secrets.token_urlsafe(24) for h in hosts}}}
open(sys.argv[1], "w").write(json.dumps(doc, indent=1) + "\n")
PY
  )
fi

extra=(-e "@$secrets")
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
cat <<TXT

The fleet is up: Tempest and 12 meters.
  Web UI:       http://127.0.0.1:$port/ui/
  REST API:     http://127.0.0.1:$port/api/v1/meters
  Admin token:  in $secrets (admin_token), for the UI's admin sign-in
  Meters:       var/local/meters/m01 ... m12 (config.json, var/outbox, log/)
  Stop:         scripts/down.sh
TXT
