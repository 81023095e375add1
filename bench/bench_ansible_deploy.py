"""Deploy site.yml to a 20-meter lab fleet (plus Tempest): first run and second (no-change) run,
in seconds, with the settings from ansible.cfg against forks=5 without pipelining, measured in
the same run on the same fleet. Each first run starts from wiped hosts (fresh homes, no
crontabs, no processes), cold SSH connections (its own ControlPersist folder) and no cached
facts; its second run reuses what the first left, as it would in use.

The lab is one machine, so other work on it shows up in the timings: --rounds N repeats both
settings N times, alternating which goes first, and reports each one's fastest run.

Needs root (the lab fleet: docs/lab.md). The wheels are built once before timing: both
settings install the same bundles.
--profile writes the time of every task of each run (bench/ansible_callbacks/task_times.py)
to bench/out/ansible_deploy_tasks/ and prints the slowest. --against CHECKOUT deploys an older
checkout too, alternating with this one: its playbooks, roles and ansible.cfg, and the meters
built from its own sources by its own wheelhouse builder (into a wheelhouse of its own), so
the speed-up of the whole deploy (roles, trees and the `meter` program alike) is a ratio
measured at the same load.
Usage: sudo .venv/bin/python bench/bench_ansible_deploy.py [--meters 20] [--rounds 1] [--profile]
       [--against /tmp/older-worktree]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ansible.fleet import SOURCE_PARTS, Fleet  # noqa: E402  (the repository is the import root)
from tests.lab.fleet import Lab, LabConfig, missing  # noqa: E402

SETTINGS = {
    # What ansible.cfg sets: forks 20, pipelining, ControlPersist.
    "ansible.cfg": {},
    # Ansible's own defaults for forks and pipelining (ControlPersist is on by default too).
    "forks=5, no pipelining": {"ANSIBLE_FORKS": "5", "ANSIBLE_PIPELINING": "False"},
}


PROFILE_DIR = REPO / "bench" / "out" / "ansible_deploy_tasks"


def profiled(env: dict, name: str) -> dict:
    """env with the task-timing callback on, writing to PROFILE_DIR/<name>.json."""
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    return {**env, "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "bench" / "ansible_callbacks"),
            "ANSIBLE_CALLBACKS_ENABLED": "task_times",
            "METERS_TASK_TIMES": str(PROFILE_DIR / f"{name}.json")}


def print_slowest(name: str, top: int = 15) -> None:
    tasks = json.loads((PROFILE_DIR / f"{name}.json").read_text())
    print(f"  slowest tasks of {name} (of {sum(t['seconds'] for t in tasks):.1f} s):")
    for t in sorted(tasks, key=lambda t: -t["seconds"])[:top]:
        print(f"  {t['seconds']:7.1f} s  ran {t['ran']:2} skipped {t['skipped']:2}  "
              f"{t['play'][:24]:24}  {t['task'][:70]}")


def build_wheels(builder: Path, source: Path, wheelhouse: Path) -> None:
    """The wheels and bundles built before timing, as the wheelhouse role would build them."""
    done = subprocess.run([sys.executable, str(builder), "--source", str(source),
                           "--wheelhouse", str(wheelhouse)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"building the wheels from {source} failed:\n{done.stderr}")


def against_fleet(lab: Lab, shared: Path, other: Path) -> tuple[Fleet, Path]:
    """A fleet deployed from another checkout: its sources, built by its own builder into a
    wheelhouse of its own (the dependency wheels linked from the shared one: no download).
    Returns the fleet and its inventory."""
    fleet = Fleet(lab, root=lab.dir / "bench-ansible-against")
    fleet.wheelhouse = fleet.root / "wheelhouse"
    fleet.wheelhouse.mkdir(parents=True, exist_ok=True)
    for wheel in shared.glob("*.whl"):
        target = fleet.wheelhouse / wheel.name
        if not wheel.name.startswith("meters-") and not target.exists():
            os.link(wheel, target)
    for part in SOURCE_PARTS:
        src, dst = other / part, fleet.src / part
        if dst.is_dir():
            shutil.rmtree(dst)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    build_wheels(other / "roles/wheelhouse/files/build_wheelhouse.py", fleet.src, fleet.wheelhouse)
    return fleet, fleet.write_inventory(lab.meters)


def deploy_twice(lab: Lab, fleet: Fleet, inventory: Path, env: dict, scratch: Path,
                 profile: str = "", playbook: str | Path = "site.yml") -> dict:
    lab.wipe_homes()
    env = {**env, "ANSIBLE_SSH_CONTROL_PATH_DIR": str(scratch / "cp"),
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(scratch / "facts")}
    out = {}
    for label in ("first", "second"):
        run_env = profiled(env, f"{profile}-{label}") if profile else env
        run = fleet.playbook(playbook, inventory=inventory, env=run_env).check()
        if profile:
            print_slowest(f"{profile}-{label}")
        out[label] = round(run.seconds, 1)
        out[f"{label}_changed"] = sum(run.changed().values())
    assert out["second_changed"] == 0, "the second run changed something"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meters", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1,
                    help="Repeat both settings, alternating which goes first; keep the fastest.")
    ap.add_argument("--profile", action="store_true",
                    help="Time every task (bench/out/ansible_deploy_tasks/) and print the slowest.")
    ap.add_argument("--against", type=Path, metavar="CHECKOUT",
                    help="Also deploy another checkout (e.g. a `git worktree` of an older "
                         "commit): its playbooks, roles, ansible.cfg and sources, built by its "
                         "own wheelhouse builder: the speed-up, measured in the same run.")
    ap.add_argument("--only", choices=list(SETTINGS),
                    help="Run one setting (no ratio, nothing written): a quick look while working.")
    args = ap.parse_args()
    reasons = missing()
    if reasons:
        sys.exit("bench_ansible_deploy: " + "; ".join(reasons))
    lab = Lab(LabConfig.from_env(meters=args.meters))
    started = lab.up()
    fleet = Fleet(lab, root=lab.dir / "bench-ansible")
    fleet.wheelhouse = lab.dir / "ansible" / "wheelhouse"  # shared with the tests: no downloads
    build_wheels(REPO / "roles/wheelhouse/files/build_wheelhouse.py", fleet.snapshot(),
                 fleet.wheelhouse)
    inventory = fleet.write_inventory(lab.meters)
    # name -> (environment, playbook, fleet, inventory)
    settings = {name: (SETTINGS[name], "site.yml", fleet, inventory)
                for name in ([args.only] if args.only else SETTINGS)}
    if args.against:
        other = args.against.resolve()
        settings[f"roles of {other.name}"] = ({"ANSIBLE_CONFIG": str(other / "ansible.cfg")},
                                              other / "playbooks" / "site.yml",
                                              *against_fleet(lab, fleet.wheelhouse, other))
    results: dict[str, dict] = {name: {} for name in settings}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ansible-") as tmp:
            for r in range(args.rounds):
                names = list(results) if r % 2 == 0 else list(reversed(results))
                for name in names:
                    tag = f"{r}-{len(results[name])}-{name[:5]}"
                    env, playbook, its_fleet, its_inventory = settings[name]
                    got = deploy_twice(lab, its_fleet, its_inventory, env, Path(tmp) / tag,
                                       profile=tag.replace(".", "") if args.profile else "",
                                       playbook=playbook)
                    print(f"round {r + 1}  {name:24} first {got['first']:7.1f} s   "
                          f"second {got['second']:6.1f} s", flush=True)
                    for k in ("first", "second"):
                        results[name][k] = min(results[name].get(k, got[k]), got[k])
    finally:
        if started:
            lab.down()
    roles_ratio = {}
    if args.against and "ansible.cfg" in results:
        older = results[f"roles of {args.against.resolve().name}"]
        roles_ratio = {k: round(older[k] / results["ansible.cfg"][k], 2) for k in ("first", "second")}
        print(f"speed-up of these roles over those of {args.against}: first run "
              f"x{roles_ratio['first']}, second run x{roles_ratio['second']}")
    if args.only:
        print(f"load average over the last 5 minutes at the end: {os.getloadavg()[1]:.1f}")
        return
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
                               "ratio": ratio, "roles_ratio": roles_ratio,
                               "load_average_5min": load}, indent=1))


if __name__ == "__main__":
    main()
