"""The `meter` command: the simulated meter's cron entry point and tools (docs/cli.md)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from pathlib import Path

import click

from core import __version__
from meter.cli_options import (
    EXIT_BAD_INPUT,
    Meters,
    fail,
    meter_options,
    parse_day_option,
    quiet_option,
)

log = logging.getLogger("meter")


# The commands that live in modules of their own, imported only when that command runs (or
# `meter --help` lists them): every agent start, config check and cron tick would otherwise
# pay for all of them (numpy, jsonschema's and Flask's start-up, the conformance kit, ...).
# name -> "module:attribute"
LAZY_COMMANDS = {
    # The delivery commands.
    "upload": "meter.cli_delivery:upload",
    "sync": "meter.cli_delivery:sync",
    "deliver": "meter.cli_delivery:deliver",
    "heartbeat": "meter.cli_delivery:heartbeat",
    "redial": "meter.cli_delivery:redial",
    "agent": "meter.cli_delivery:agent",
    # The Pico image builder, the seed fleet's migration, the population report, the replay
    # slicer, the conformance kit, the DLMS/COSEM server.
    "pico-config": "meter.pico_config:pico_config",
    "migrate-seed": "meter.cli_migrate:migrate_seed",
    "population": "meter.population_report:population_command",
    "replay-slice": "meter.replay:replay_slice",
    "scenario": "meter.conformance.cli:scenario",
    "grade": "meter.conformance.cli:grade",
    "dlms-serve": "meter.dlms.cli:dlms_serve",
}


class LazyGroup(click.Group):
    """A group whose LAZY_COMMANDS are imported when first asked for (click's documented
    lazy-loading pattern): a command pays only for its own modules."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            if command.name != cmd_name:  # a renamed command must not vanish from the group
                raise RuntimeError(f"{self.lazy[cmd_name]} is `meter {command.name}`, "
                                   f"not `meter {cmd_name}`")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="meter")
@click.option("-v", "--verbose", is_flag=True, help="Log what each step does.")
def main(verbose: bool) -> None:
    """A simulated smart electricity meter (or thousands of them)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


ledger_option = click.option(
    "--ledger", is_flag=True,
    help="With --count: keep the meters in one shared ledger (a tick is one durable write; "
         "finished days are sealed in batches by worker processes). For 100,000 meters a "
         "host: docs/scaling.md.")
workers_option = click.option(
    "--workers", type=click.IntRange(1, 64), default=None,
    help="With --ledger: processes that seal days (default: one per core).")
budget_option = click.option(
    "--budget", type=click.FloatRange(1, 3600), default=None, metavar="SECONDS",
    help="With --ledger: stop sealing after about this long; the next tick goes on "
         "(default: seal everything due; `meter run` uses 40 s).")


@main.command()
@meter_options
@ledger_option
@workers_option
@budget_option
def tick(meters: Meters, ledger: bool, workers: int | None, budget: float | None) -> None:
    """Record the intervals that ended since the last tick; seal finished days.

    The cron entry point. Catches up after downtime, never writes an interval twice, and
    moves each finished day into outbox/ (sealed) when the local day rolls over.
    """
    from meter import operations

    if ledger:
        host = meters.bulk_host(workers)
        try:
            summary = host.tick(meters.now(host.base_cfg), budget)
        except operations.Busy as exc:
            click.echo(f"meter: {exc}; nothing done", err=True)
            return
        except OSError as exc:  # a full or read-only disk: nothing is lost, the next tick goes on
            click.echo(f"meter: cannot write in {host.data_dir}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(json.dumps(summary))
        return
    busy = failed = 0
    for cfg, root in meters.items:
        try:
            summary = operations.tick(cfg, root, meters.now(cfg))
        except operations.Busy as exc:
            log.warning("%s", exc)
            busy += 1
            continue
        except OSError as exc:
            # A full or read-only disk: say so and go on with the other meters; nothing
            # sealed is lost (writes are atomic) and the next tick catches up.
            click.echo(f"meter: {cfg.serial}: cannot write in {root}: {exc.strerror or exc}",
                       err=True)
            failed += 1
            continue
        if len(meters.items) == 1:
            click.echo(json.dumps(summary))
    if busy == len(meters.items):
        click.echo("meter: every meter was busy with another tick; nothing done", err=True)
    if failed:
        sys.exit(1)


@main.command()
@meter_options
@click.option("--from", "first", required=True, metavar="DAY", help="First day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, metavar="DAY", help="Last day, YYYY-MM-DD.")
@click.option("--force", is_flag=True, help="Also rewrite days already sent.")
@quiet_option
def backfill(meters: Meters, first: str, last: str, force: bool, quiet: bool) -> None:
    """Write sealed day files for past days into outbox/."""
    from core.progress import Progress
    from meter import operations, registers

    d0 = parse_day_option(first, "--from")
    d1 = parse_day_option(last, "--to")
    if d1 < d0:
        fail("--to: is before --from")
    total = (d1 - d0 + 1) * len(meters.items)
    written = 0
    with Progress(total, "backfill", unit="days", quiet=quiet) as bar:
        for cfg, root in meters.items:
            try:
                result = operations.backfill(cfg, root, d0, d1, meters.now(cfg),
                                             progress=bar.update, force=force)
            except (operations.DayNotOver, registers.BeforeCommissioning,
                    registers.NegativeRegisters, operations.Busy) as exc:
                fail(f"{cfg.serial}: {exc}")
            written += len(result["written"])
    click.echo(json.dumps({"meters": len(meters.items), "days_written": written}))


@main.command()
@meter_options
@click.option("--day", required=True, metavar="DAY", help="The reading day, YYYY-MM-DD.")
def truth(meters: Meters, day: str) -> None:
    """Print the ground truth of a day: true and recorded values, every fault, and the meter's
    quirks with what a correct MDMS concludes (docs/conformance.md)."""
    from meter import operations

    d = parse_day_option(day, "--day")
    out = [operations.truth(cfg, d) for cfg, _ in meters.items]
    click.echo(json.dumps(out[0] if len(out) == 1 else out, indent=1))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--legacy-timezone", default="UTC", show_default=True,
              help="IANA zone for seed-era files whose timestamps have no offset.")
def validate(files: tuple[Path, ...], legacy_timezone: str) -> None:
    """Check day files against the schema and the day-file rules, naming each problem."""
    from core import dayfile_reader

    bad = 0
    for path in files:
        try:
            day = dayfile_reader.parse(path.read_bytes(), legacy_timezone=legacy_timezone)
        except OSError as exc:
            click.echo(f"{path}: cannot read: {exc.strerror}")
            bad += 1
            continue
        except dayfile_reader.DayFileError as exc:
            click.echo(f"{path}: INVALID {exc}")
            bad += 1
            continue
        notes = f" ({'; '.join(day.notes)})" if day.notes else ""
        click.echo(f"{path}: ok {day.serial} {day.reading_day} {day.status} "
                   f"{day.accounted()}/{day.expected} intervals{notes}")
    if bad:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@meter_options
@click.option("--heartbeat-every", type=click.FloatRange(1, 3600), default=60, show_default=True,
              help="Seconds of wall-clock time between heartbeats (with --ledger: between "
                   "each meter's, in whole minutes, spread evenly over them).")
@click.option("--no-deliver", is_flag=True, help="Only tick; leave delivery to cron.")
@click.option("--pidfile", type=click.Path(path_type=Path),
              help="Write this process's pid here (and refuse to start if it is running).")
@click.option("--cycles", type=click.IntRange(1), hidden=True, help="Stop after N cycles (tests).")
@ledger_option
@workers_option
@budget_option
def run(meters: Meters, heartbeat_every: float, no_deliver: bool, pidfile: Path | None,
        cycles: int | None, ledger: bool, workers: int | None, budget: float | None) -> None:
    """Run the meters' schedule in one long-running process instead of cron: tick on every
    interval boundary (of the scaled clock, if time_scale is set), deliver, heartbeat.
    Stops cleanly on SIGTERM."""
    from core.durable import write_atomic
    from meter.runloop import Loop

    if pidfile:
        if pidfile.exists():
            try:
                old = int(pidfile.read_text().strip())
                os.kill(old, 0)
                fail(f"--pidfile: pid {old} in {pidfile} is still running")
            except (ValueError, ProcessLookupError):
                pass
        write_atomic(pidfile, f"{os.getpid()}\n".encode())
    if ledger:
        from meter.bulkrun import LedgerLoop

        loop = LedgerLoop(meters.bulk_host(workers), meters.at, not no_deliver, budget or 40.0,
                          heartbeat_s=heartbeat_every)
    else:
        loop = Loop(meters.reload, meters.at, heartbeat_every, not no_deliver)
        loop.meters = meters.items
    try:
        loop.run(cycles)
    finally:
        if pidfile and pidfile.exists() and pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()
    if loop.stopping and not ledger:  # SIGTERM: all is written (a ledger host has workers)
        from core.stopping import exit_now

        exit_now()


@main.command("check-config")
@meter_options
def check_config(meters: Meters) -> None:
    """Check the config(s) and print each meter's serial, model and config hash."""
    for cfg, root in meters.items:
        m = cfg.model
        click.echo(json.dumps({"serial": cfg.serial, "model": m["load_model"],
                               "archetype": m["archetype"], "timezone": m["timezone"],
                               "channels": cfg.channel_names, "data_dir": str(root),
                               "config_hash": cfg.hash()}))


if __name__ == "__main__":
    main()
