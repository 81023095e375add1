"""Deploy site.yml to a 20-meter lab fleet (plus Tempest): first run and second (no-change) run,
in seconds, with the settings from ansible.cfg against forks=5 without pipelining, measured in
the same run on the same fleet. Each first run starts from wiped hosts (fresh homes, no
crontabs, no processes), cold SSH connections (its own ControlPersist folder) and no cached
facts; its second run reuses what the first left, as it would in use.

The lab is one machine, so other work on it shows up in the timings: --rounds N repeats both
settings N times, alternating which goes first, and reports each one's fastest run.

Needs root (the lab fleet: docs/lab.md). The wheels are built once before timing: both
settings install the same bundles.
Usage: sudo .venv/bin/python bench/bench_ansible_deploy.py [--meters 20] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ansible.fleet import Fleet  # noqa: E402  (the repository is the import root)
from tests.lab.fleet import Lab, LabConfig, missing  # noqa: E402

SETTINGS = {
    # What ansible.cfg sets: forks 20, pipelining, ControlPersist.
    "ansible.cfg": {},
    # Ansible's own defaults for forks and pipelining (ControlPersist is on by default too).
    "forks=5, no pipelining": {"ANSIBLE_FORKS": "5", "ANSIBLE_PIPELINING": "False"},
}


def deploy_twice(lab: Lab, fleet: Fleet, inventory: Path, env: dict, scratch: Path) -> dict:
    lab.wipe_homes()
    env = {**env, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(scratch / "cp"),
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(scratch / "facts")}
    out = {}
    for label in ("first", "second"):
        run = fleet.playbook("site.yml", inventory=inventory, env=env).check()
        out[label] = round(run.seconds, 1)
        out[f"{label}_changed"] = sum(run.changed().values())
    assert out["second_changed"] == 0, "the second run changed something"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meters", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1,
                    help="Repeat both settings, alternating which goes first; keep the fastest.")
    args = ap.parse_args()
    reasons = missing()
    if reasons:
        sys.exit("bench_ansible_deploy: " + "; ".join(reasons))
    lab = Lab(LabConfig.from_env(meters=args.meters))
    started = lab.up()
    fleet = Fleet(lab, root=lab.dir / "bench-ansible")
    fleet.wheelhouse = lab.dir / "ansible" / "wheelhouse"  # shared with the tests: no downloads
    source = fleet.snapshot()
    build = subprocess.run([sys.executable, str(REPO / "roles/wheelhouse/files/build_wheelhouse.py"),
                            "--source", str(source), "--wheelhouse", str(fleet.wheelhouse)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        sys.exit(f"building the wheels failed:\n{build.stderr}")
    inventory = fleet.write_inventory(lab.meters)
    results: dict[str, dict] = {name: {} for name in SETTINGS}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ansible-") as tmp:
            for r in range(args.rounds):
                names = list(SETTINGS) if r % 2 == 0 else list(reversed(SETTINGS))
                for name in names:
                    got = deploy_twice(lab, fleet, inventory, SETTINGS[name],
                                       Path(tmp) / f"{r}-{len(results[name])}-{name[:5]}")
                    print(f"round {r + 1}  {name:24} first {got['first']:7.1f} s   "
                          f"second {got['second']:6.1f} s", flush=True)
                    for k in ("first", "second"):
                        results[name][k] = min(results[name].get(k, got[k]), got[k])
    finally:
        if started:
            lab.down()
    ours, base = results["ansible.cfg"], results["forks=5, no pipelining"]
    ratio = {k: round(base[k] / ours[k], 2) for k in ("first", "second")}
    print(f"{args.meters} meters + Tempest; speed-up of ansible.cfg over forks=5 without "
          f"pipelining: first run x{ratio['first']}, second run x{ratio['second']}")
    # The seconds are the machine's as it was: other work on it shows in the load average.
    load = round(os.getloadavg()[1], 1)
    print(f"load average over the last 5 minutes at the end: {load} on {os.cpu_count()} cores")
    out = REPO / "bench" / "out" / "ansible_deploy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meters": args.meters, "rounds": args.rounds, "fastest": results,
                               "ratio": ratio, "load_average_5min": load}, indent=1))


if __name__ == "__main__":
    main()
