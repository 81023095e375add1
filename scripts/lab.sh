#!/usr/bin/env bash
# Bring the lab fleet (real SSH hosts on loopback, see docs/lab.md) up or down by hand:
#   scripts/lab.sh up [N] [--wipe] [--no-cron]   N meters + Tempest; prints the inventory path
#   scripts/lab.sh down | status | purge
#   scripts/lab.sh exec CMD...                   run CMD as root inside the lab's namespace
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
exec .venv/bin/python -m tests.lab "$@"
