"""scripts/lab.sh: bring a lab fleet up or down by hand (python -m tests.lab ...)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .fleet import Lab, LabConfig, LabError, cron_missing, missing
from .users import delete_account, lab_users


def _saved_meters(cfg: LabConfig) -> int | None:
    saved = cfg.dir / "state" / "config.json"
    return json.loads(saved.read_text())["meters"] if saved.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/lab.sh", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("up", help="bring the lab up (idempotent) and print the inventory path")
    up.add_argument("meters", nargs="?", type=int, help="number of meters (default: last, or 5)")
    up.add_argument("--wipe", action="store_true", help="wipe every host's home and crontab")
    up.add_argument("--no-cron", action="store_true", help="do not start the lab's cron")
    sub.add_parser("down", help="stop sshd, cron and every lab process (accounts stay)")
    sub.add_parser("status", help="show what runs and where")
    run = sub.add_parser("exec", help="run a command as root inside the lab's namespace")
    run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("purge", help="down, then delete the lab's accounts and homes")
    args = parser.parse_args(argv)

    meters = getattr(args, "meters", None)
    if meters is None and "METERS_LAB_METERS" not in os.environ:
        meters = _saved_meters(LabConfig.from_env())
    lab = Lab(LabConfig.from_env(meters=meters))
    try:
        if args.action == "up":
            lab.up(wipe_homes=args.wipe)
            if not args.no_cron and not cron_missing():
                lab.cron.start()
            first = lab.meters[0]
            print(f"lab up: {len(lab.meters)} meters + tempest, sshd on port {lab.config.port}")
            print(f"inventory: {lab.inventory}")
            print(f"try: {' '.join(lab.ssh_argv(first, 'hostname'))}")
        elif args.action == "down":
            lab.down()
            print("lab down")
        elif args.action == "status":
            status = lab.status()
            problems = missing()
            status["problems"] = problems
            print(json.dumps(status, indent=2))
            return 0 if status["sshd_pid"] else 3
        elif args.action == "exec":
            return lab.run(args.command, capture_output=False).returncode
        elif args.action == "purge":
            lab.down()
            for user in lab_users(lab.config.prefix):
                delete_account(user)
            print("lab accounts deleted")
    except LabError as error:
        print(f"lab: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
