"""The `meter` command: the simulated meter's cron entry point and tools (docs/cli.md)."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path

import click

from core import __version__, civil, dayfile_reader
from meter import clock, config, operations, registers
from meter.bulk import derive_all
from meter.config import Config, ConfigError

log = logging.getLogger("meter")
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    click.echo(f"meter: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


class Meters:
    """The meters one command acts on: (config, folder) pairs."""

    def __init__(self, items: list[tuple[Config, Path]], at: str | None, reload=None):
        self.items = items
        self.at = at
        self.reload = reload  # re-read the same configs (meter run picks up edits)

    def now(self, cfg: Config) -> int:
        try:
            return clock.now_minute(self.at, cfg.raw)
        except clock.ClockError as exc:
            fail(f"--at: {exc}")


def meter_options(f):
    """--config, --data-dir, --at, --count and --mix, on every command."""

    @click.option("--config", "config_paths", multiple=True, type=click.Path(path_type=Path),
                  envvar="METER_CONFIG", default=("config.json",), show_default=True,
                  help="The meter's config.json. Repeat it for several meters on one host.")
    @click.option("--data-dir", type=click.Path(path_type=Path), envvar="METER_DATA_DIR",
                  help="Where the open day, outbox/, sent/ and the state live. Default: beside "
                       "the config; with several meters, one folder per serial inside it.")
    @click.option("--at", metavar="ISO-TIME", envvar="METER_AT",
                  help="Pretend it is this time (ISO 8601 with offset); for tests and demos.")
    @click.option("--count", type=click.IntRange(1, 100000), default=None,
                  help="Bulk mode: simulate N meters derived from the config (serials "
                       "SERIAL-0001...), each in its own folder.")
    @click.option("--mix", is_flag=True,
                  help="With --count: draw each meter's archetype from a typical household mix.")
    @functools.wraps(f)
    def wrapper(config_paths, data_dir, at, count, mix, **kwargs):
        return f(load_meters(config_paths, data_dir, at, count, mix), **kwargs)

    return wrapper


def load_meters(paths, data_dir, at, count, mix) -> Meters:
    items = []
    for path in paths:
        try:
            cfg = config.read(path)
        except ConfigError as exc:
            fail(f"bad config {path}: {exc}")
        base_dir = Path(data_dir) if data_dir else Path(path).resolve().parent
        if count:
            try:
                derived_raws = derive_all(cfg.raw, count, mix, Path(path).resolve().parent)
            except ConfigError as exc:
                fail(f"bad config {path}: {exc}")
            for raw in derived_raws:
                try:
                    derived = config.from_dict(raw)
                except ConfigError as exc:
                    fail(f"bad derived config {raw['serial']}: {exc}")
                items.append((derived, base_dir / raw["serial"]))
        elif len(paths) > 1 and data_dir:
            items.append((cfg, base_dir / cfg.serial))
        else:
            items.append((cfg, base_dir))
    return Meters(items, at, lambda: load_meters(paths, data_dir, at, count, mix).items)


def parse_day_option(value: str, name: str) -> int:
    try:
        return civil.parse_day(value)
    except ValueError as exc:
        fail(f"{name}: {exc}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="meter")
@click.option("-v", "--verbose", is_flag=True, help="Log what each step does.")
def main(verbose: bool) -> None:
    """A simulated smart electricity meter (or thousands of them)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@meter_options
def tick(meters: Meters) -> None:
    """Record the intervals that ended since the last tick; seal finished days.

    The cron entry point. Catches up after downtime, never writes an interval twice, and
    moves each finished day into outbox/ (sealed) when the local day rolls over.
    """
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
def backfill(meters: Meters, first: str, last: str, force: bool) -> None:
    """Write sealed day files for past days into outbox/."""
    d0 = parse_day_option(first, "--from")
    d1 = parse_day_option(last, "--to")
    if d1 < d0:
        fail("--to: is before --from")
    total = (d1 - d0 + 1) * len(meters.items)
    written = 0
    with click.progressbar(length=total, label="backfill", file=sys.stderr,
                           show_pos=True) as bar:
        for cfg, root in meters.items:
            try:
                result = operations.backfill(cfg, root, d0, d1, meters.now(cfg),
                                             progress=bar.update, force=force)
            except (operations.DayNotOver, registers.BeforeCommissioning, operations.Busy) as exc:
                fail(f"{cfg.serial}: {exc}")
            written += len(result["written"])
    click.echo(json.dumps({"meters": len(meters.items), "days_written": written}))


@main.command()
@meter_options
@click.option("--day", required=True, metavar="DAY", help="The reading day, YYYY-MM-DD.")
def truth(meters: Meters, day: str) -> None:
    """Print the ground truth of a day: true and recorded values, and every fault."""
    d = parse_day_option(day, "--day")
    out = [operations.truth(cfg, d) for cfg, _ in meters.items]
    click.echo(json.dumps(out[0] if len(out) == 1 else out, indent=1))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--legacy-timezone", default="UTC", show_default=True,
              help="IANA zone for seed-era files whose timestamps have no offset.")
def validate(files: tuple[Path, ...], legacy_timezone: str) -> None:
    """Check day files against the schema and the day-file rules, naming each problem."""
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
              help="Seconds of wall-clock time between heartbeats.")
@click.option("--no-deliver", is_flag=True, help="Only tick; leave delivery to cron.")
@click.option("--pidfile", type=click.Path(path_type=Path),
              help="Write this process's pid here (and refuse to start if it is running).")
@click.option("--cycles", type=click.IntRange(1), hidden=True, help="Stop after N cycles (tests).")
def run(meters: Meters, heartbeat_every: float, no_deliver: bool, pidfile: Path | None,
        cycles: int | None) -> None:
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
    loop = Loop(meters.reload, meters.at, heartbeat_every, not no_deliver)
    loop.meters = meters.items
    try:
        loop.run(cycles)
    finally:
        if pidfile and pidfile.exists() and pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()


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


def _register_delivery() -> None:
    # Delivery commands (upload, sync, heartbeat, redial, agent) live in their own module.
    try:
        from meter.cli_delivery import register
    except ImportError:
        return
    register(main, meter_options, fail)


_register_delivery()


def _register_pico() -> None:
    from meter.pico_config import pico_config

    main.add_command(pico_config)


_register_pico()

if __name__ == "__main__":
    main()
