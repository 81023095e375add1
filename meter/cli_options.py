"""What every `meter` command shares: the meters it acts on (`--config`, `--data-dir`, `--at`,
`--count`, `--mix`), day options, and how a bad input ends the command (exit 2, a message
naming the option).

A module of its own so the command modules (meter/cli.py, meter/cli_delivery.py) import it
and never each other: meter/cli.py builds the group and registers their commands.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from core import civil
from meter import clock, config
from meter.bulk import derive_all
from meter.config import Config, ConfigError

EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    click.echo(f"meter: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


class Meters:
    """The meters one command acts on: (config, folder) pairs, read when first asked for (a
    ledger host of 100,000 meters never builds them all, meter/bulkhost.py)."""

    def __init__(self, items: list[tuple[Config, Path]] | None, at: str | None, reload=None,
                 bulk: tuple | None = None):
        self._items = items
        self.at = at
        self.reload = reload  # re-read the same configs (meter run picks up edits)
        self.bulk = bulk  # with --count: (config path, data dir, count, mix)

    @property
    def items(self) -> list[tuple[Config, Path]]:
        if self._items is None:
            self._items = self.reload()
        return self._items

    def bulk_host(self, workers: int | None = None):
        """The --count meters as one ledger host (exit 2 on a bad config or without --count)."""
        from meter.bulkhost import BulkHost

        if self.bulk is None:
            fail("--ledger: needs --count (and one --config)")
        path, data_dir, count, mix = self.bulk
        try:
            cfg = config.read(path)
            config_dir = Path(path).resolve().parent
            return BulkHost(cfg, count, mix, config_dir,
                            Path(data_dir) if data_dir else config_dir, workers)
        except ConfigError as exc:
            fail(f"bad config {path}: {exc}")

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
    @click.option("--count", type=click.IntRange(1, 1000000), default=None,
                  help="Bulk mode: simulate N meters derived from the config (serials "
                       "SERIAL-0001...), each in its own folder.")
    @click.option("--mix", is_flag=True,
                  help="With --count: draw each meter's household from the config country's mix.")
    @functools.wraps(f)
    def wrapper(config_paths, data_dir, at, count, mix, **kwargs):
        if count and len(config_paths) == 1:
            return f(Meters(None, at, lambda: load_meters(config_paths, data_dir, at, count,
                                                          mix).items,
                            (config_paths[0], data_dir, count, mix)), **kwargs)
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
                    derived = config.from_dict(raw, Path(path).resolve().parent)
                except ConfigError as exc:
                    fail(f"bad derived config {raw['serial']}: {exc}")
                items.append((derived, base_dir / raw["serial"]))
        elif len(paths) > 1 and data_dir:
            items.append((cfg, base_dir / cfg.serial))
        else:
            items.append((cfg, base_dir))
    return Meters(items, at, lambda: load_meters(paths, data_dir, at, count, mix).items)


quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="No progress bar (it shows only on a terminal anyway).")


def parse_day_option(value: str, name: str) -> int:
    try:
        return civil.parse_day(value)
    except ValueError as exc:
        fail(f"{name}: {exc}")
