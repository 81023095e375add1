"""Replay meters on the Pi side: the config's `replay` key, slice files for a Pico's flash.

A config with `"replay": {"file": "home.csv", "format": "mercury" | "plain"}` plays back a
real household's interval CSV (loadmodel/replay.py, loadmodel/replay_csv.py; docs/replay.md).
The file is resolved relative to the config and read when the config is loaded, so a bad
CSV is refused like any bad config: the field, the line and the column named, exit 2.

`meter replay-slice` (and the Pico image builder, meter/pico_config.py) turns the CSV into
slice files: one small text file per month (or per day) of integer Wh per source interval,
which a Pico W reads one day at a time (loadmodel.replay.SliceSource).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from core.tz import Zone
from loadmodel import replay, replay_csv
from meter.config import Config, ConfigError

DEFAULT_FORMAT = replay_csv.MERCURY
# Where a Pico's image keeps the slices, under the flash root.
PICO_FOLDER = "replay"
# What a replay meter cannot also be: the household model's own settings.
_CONFLICTS = ("archetype", "profile", "annual_kwh", "pv")


def normalised(raw: dict, base: Path | None, model: dict, read_file: bool = True) -> dict:
    """The model config's replay part (load_model, replay spec); ConfigError naming the field.
    read_file=False: the CSV is not checked (it lives on the meter, not where this runs)."""
    for key in _CONFLICTS:
        if key in raw:
            raise ConfigError(key, "a replay meter plays back its file; it takes no "
                              f"{key!r} (drop it, or drop 'replay')")
    spec = raw["replay"]
    fmt = spec.get("format", DEFAULT_FORMAT)
    path = Path(spec["file"])
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    zone = Zone(model["timezone"], model["tz_rules"])
    if read_file:
        try:
            replay_csv.load(str(path), fmt, zone)
        except replay.ReplayError as exc:
            raise ConfigError("replay.file", str(exc)) from exc
    return {"load_model": "replay", "archetype": None,
            "replay": {"path": str(path.resolve()), "format": fmt}}


def source(cfg: Config) -> replay.MemorySource:
    m = cfg.model
    return replay_csv.load(m["replay"]["path"], m["replay"]["format"],
                           Zone(m["timezone"], m["tz_rules"]))


def slice_files(src: replay.MemorySource, per: str = "month") -> dict[str, str]:
    """{file name: text}: `days.txt` (the index) and one slice per month or per day."""
    slices: dict[str, list[str]] = {}
    for day in sorted(src.days):
        n, whs = src.days[day]
        name = replay.month_name(day) if per == "month" else replay.civil.format_day(day)
        slices.setdefault(name + ".txt", []).append(replay.slice_line(day, n, whs))
    index = ["# replay slices (meter replay-slice): days held, as day numbers (days since "
             "1970-01-01), first and last of each run\n", f"per {per}\n"]
    index += [f"{a} {b}\n" for a, b in src.ranges]
    out = {replay.SLICE_INDEX: "".join(index)}
    out.update({name: "".join(lines) for name, lines in slices.items()})
    return out


def pico_spec() -> dict:
    return {"path": "/" + PICO_FOLDER, "format": replay.FORMAT_SLICES}


def image_files(cfg: Config) -> dict[str, bytes]:
    """The slices a replay Pico's flash image holds (none for another meter)."""
    if cfg.model["load_model"] != "replay":
        return {}
    return {f"{PICO_FOLDER}/{name}": text.encode()
            for name, text in slice_files(source(cfg)).items()}


@click.command("replay-slice")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(replay_csv.FORMATS), default=DEFAULT_FORMAT,
              show_default=True, help="The CSV's format (docs/replay.md).")
@click.option("--timezone", "zone_name", required=True,
              help="The IANA zone of the file's local times (the meter's timezone).")
@click.option("--per", type=click.Choice(["month", "day"]), default="month", show_default=True,
              help="One slice file per month or per day.")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder to write the slices into (days.txt and one file per slice).")
def replay_slice(csv_file: Path, fmt: str, zone_name: str, per: str, output: Path) -> None:
    """Split a household's interval CSV into slice files small enough for a Pico's flash."""
    from core import tzdb
    from meter.cli_options import fail

    try:
        zone = Zone(zone_name, [list(t) for t in tzdb.transitions(zone_name)])
    except tzdb.UnknownZone as exc:
        fail(f"--timezone: {exc}")
    try:
        src = replay_csv.load(str(csv_file), fmt, zone)
    except replay.ReplayError as exc:
        fail(f"bad replay file: {exc}")
    files = slice_files(src, per)
    output.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output / name).write_text(text)
    sizes = {name: len(text.encode()) for name, text in files.items()}
    click.echo(json.dumps({"output": str(output), "days": len(src.days), "files": len(files),
                           "bytes": sum(sizes.values()), "largest_bytes": max(sizes.values())}))
