"""`tempest export nem12|csv`: write stored days to a file (docs/exports.md).

The file is written under a temporary name beside the target and renamed into place when
complete, so a folder another system collects from never shows half a file.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from core.progress import Progress
from tempest import db
from tempest.cli_options import (
    app_for,
    data_dir_option,
    day_option,
    quiet_option,
    serial_option,
)
from tempest.exports import csv_rows, nem12
from tempest.exports.market import ExportError
from tempest.settings import layout


def _counted(chunks, bar: Progress):
    """The chunks, each added to the bar in KiB (the size of an export is not known ahead)."""
    for chunk in chunks:
        yield chunk
        bar.update(len(chunk))


def _write(chunks, output: str) -> tuple[int, float]:
    started = time.perf_counter()
    size = 0
    if output == "-":
        for chunk in chunks:
            sys.stdout.write(chunk)
            size += len(chunk)
        return size, time.perf_counter() - started
    target = Path(output)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="ascii", newline="") as f:
            for chunk in chunks:
                f.write(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return size, time.perf_counter() - started


def _run(data_dir: Path, make, output: str, quiet: bool = False) -> None:
    app = app_for(data_dir)
    lay = layout(app.config)
    conn = db.connect(lay.database)
    try:
        # On standard output the export is the terminal's text: no bar across it.
        with Progress(None, "export", unit="bytes", quiet=quiet or output == "-") as bar:
            size, seconds = _write(_counted(make(conn, app.config), bar), output)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()
    if output != "-":
        click.echo(f"wrote {output}: {size} bytes in {seconds:.2f} s", err=True)


def _range(first: str, last: str) -> None:
    if first > last:
        raise click.BadParameter("--from is after --to", param_hint="'--from'")


output_option = click.option("-o", "--output", required=True,
                             help="The file to write ('-' for standard output).")


@click.group()
def export():
    """Export stored days as NEM12 or CSV files."""


@export.command("nem12")
@data_dir_option
@day_option("--from", "First NEM12 (market-time) day, YYYY-MM-DD.")
@day_option("--to", "Last NEM12 (market-time) day, inclusive.")
@serial_option
@output_option
@quiet_option
def nem12_command(data_dir: Path, from_day: str, to_day: str, serials: tuple[str],
                  output: str, quiet: bool):
    """NEM12: 100, 200 per meter channel, 300 per market day, 400 where quality varies,
    900. Days are NEM time (TEMPEST_NEM12_UTC_OFFSET, +10:00 by default)."""
    _range(from_day, to_day)
    _run(data_dir, lambda conn, config: nem12.export(
        conn, config, from_day, to_day, serials or None), output, quiet)


@export.command("csv")
@data_dir_option
@day_option("--from", "First reading day (the meters' local days), YYYY-MM-DD.")
@day_option("--to", "Last reading day, inclusive.")
@serial_option
@output_option
@quiet_option
def csv_command(data_dir: Path, from_day: str, to_day: str, serials: tuple[str], output: str,
                quiet: bool):
    """CSV: one row per interval and channel (serial, channel, role, start, end, kWh,
    quality)."""
    _range(from_day, to_day)
    _run(data_dir, lambda conn, config: csv_rows.export(
        conn, from_day, to_day, serials or None), output, quiet)
