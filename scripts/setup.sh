#!/usr/bin/env bash
# Set up everything Meters needs on a fresh Debian/Raspberry Pi OS machine, idempotently.
#   scripts/setup.sh          the Python environment (.venv): meter, Tempest and Ansible
#   scripts/setup.sh --test   also the test tools, and the system packages the test suite's
#                             real servers need (sshd, rsync, cron, chromium, victoria-metrics,
#                             nginx, libfaketime for the any-date runs, postgresql for
#                             tests/tempest on PostgreSQL, haproxy for the cluster test;
#                             those need root)
# Everything it writes stays in this folder (pip's cache too).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

APT_PACKAGES=(rsync openssh-server openssh-client cron chromium victoria-metrics wrk sqlite3 util-linux nginx openssl faketime strace
  postgresql haproxy)
# mosquitto: the MQTT route's tests start a real broker (tests/support/mosquitto.py).
APT_PACKAGES+=(mosquitto)

if [ "$want_test" = 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: installing ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: not root, so not installing ${missing[*]}; the tests that need them say so and" \
           "skip (under CI=true they fail: tests/support/ci_guard.py)" >&2
    fi
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extra=fleet
[ "$want_test" = 1 ] && extra=dev
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PWD/.venv/pip-cache}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
stamp=.venv/.meters-installed-$extra
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # pip's own output (build warnings and all) goes to a log: a new user sees what is happening
  # and how long it takes, and the log's tail if it fails.
  log=.venv/pip-install.log
  echo "setup: installing the Python packages ($extra) into .venv/: a minute or two the first time"
  started=$SECONDS
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e ".[$extra]"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: pip failed; its whole output is in $log" >&2
    exit 1
  fi
  echo "setup: installed in $((SECONDS - started)) s (pip's output: $log)"
  touch "$stamp"
  # dev includes fleet: a later plain setup needs nothing more.
  if [ "$extra" = dev ]; then touch .venv/.meters-installed-fleet; fi
fi

# Commits say what in a short subject and why in a body (.githooks/commit-msg checks it).
if [ -d .git ] && command -v git >/dev/null && [ -z "$(git config --get core.hooksPath || true)" ]; then
  git config core.hooksPath .githooks
fi
