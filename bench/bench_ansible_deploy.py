"""Deploy site.yml to a 20-meter lab fleet (plus Tempest): first run and second (no-change) run,
in seconds, with the settings from ansible.cfg against forks=5 without pipelining, measured in
the same run on the same fleet. Each first run starts from wiped hosts (fresh homes, no
crontabs, no processes) and cold SSH connections (its own ControlPersist folder).

Needs root (the lab fleet: docs/lab.md). The wheels are built once before timing: both
settings install the same bundles.
Usage: sudo .venv/bin/python bench/bench_ansible_deploy.py [--meters 20] [--order ours-first]
"""

from __future__ import annotations

import argparse
import json
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


def deploy_twice(lab: Lab, fleet: Fleet, inventory: Path, env: dict, cp_dir: Path) -> dict:
    lab.wipe_homes()
    env = {**env, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp_dir)}
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
    ap.add_argument("--order", choices=["ours-first", "baseline-first"], default="baseline-first",
                    help="Which settings run first (the other runs on a machine that is warm).")
    args = ap.parse_args()
    reasons = missing()
    if reasons:
        sys.exit("bench_ansible_deploy: " + "; ".join(reasons))
    lab = Lab(LabConfig.from_env(meters=args.meters))
    started = lab.up()
    fleet = Fleet(lab, root=lab.dir / "bench-ansible")
    fleet.wheelhouse = lab.dir / "ansible" / "wheelhouse"  # shared with the tests: no downloads
    source = fleet.snapshot()
    build = subprocess.run([sys.executable, str(REPO / "roles/meter/files/build_wheelhouse.py"),
                            "--source", str(source), "--wheelhouse", str(fleet.wheelhouse)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        sys.exit(f"building the wheels failed:\n{build.stderr}")
    inventory = fleet.write_inventory(lab.meters)
    names = list(SETTINGS)
    if args.order == "ours-first":
        names.reverse()
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ansible-cp-") as cp:
            for i, name in enumerate(names):
                results[name] = deploy_twice(lab, fleet, inventory, SETTINGS[name],
                                             Path(cp) / str(i))
                print(f"{name:24} first {results[name]['first']:7.1f} s   "
                      f"second {results[name]['second']:6.1f} s", flush=True)
    finally:
        if started:
            lab.down()
    ours, base = results["ansible.cfg"], results["forks=5, no pipelining"]
    ratio = {k: round(base[k] / ours[k], 2) for k in ("first", "second")}
    print(f"{args.meters} meters + Tempest; speed-up of ansible.cfg over forks=5 without "
          f"pipelining: first run x{ratio['first']}, second run x{ratio['second']}")
    out = REPO / "bench" / "out" / "ansible_deploy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meters": args.meters, "results": results, "ratio": ratio},
                              indent=1))


if __name__ == "__main__":
    main()
