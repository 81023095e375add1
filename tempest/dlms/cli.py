"""`tempest dlms-collect`: read yesterday's (or a given day's) load profile from each DLMS
meter, redial missing days, and drop the day files for ingest (docs/dlms.md)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from tempest import db
from tempest.cli_options import app_for, data_dir_option, serial_option
from tempest.settings import layout


@click.command("dlms-collect")
@data_dir_option
@click.option("--meters", "meters_file",
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read these meters instead of the registry's: a JSON list of {serial, host, "
                   "port, password_file or password, timezone, channels?} (password_file "
                   "relative to it).")
@serial_option
@click.option("--day", metavar="DAY", help="Collect this reading day only, YYYY-MM-DD "
              "(default: yesterday in each meter's zone, and the missing days before it).")
@click.option("--redial-days", type=click.IntRange(0, 400), default=7, show_default=True,
              help="Also collect each of this many days before yesterday that has no stored "
                   "day (nor a day file waiting in the drop folder).")
@click.option("--every", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Collect again every SECONDS until stopped (SIGTERM): yesterday is due "
                   "again after each meter's local midnight.")
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Read this many meters at once (each meter's days one after another).")
@click.option("--at", metavar="ISO-TIME", help="Pretend it is this time at the start (tests, "
              "demos); with --every the pretended clock runs on from it.")
def dlms_collect(data_dir: Path, meters_file: Path | None, serials: tuple[str, ...],
                 day: str | None, redial_days: int, every: float | None, workers: int,
                 at: str | None) -> None:
    """Collect each DLMS meter's due days into the drop folder, one JSON line per meter-day
    (with its clock skew, which the registry keeps, as it keeps the meter's logged events).
    A meter that cannot be read is reported and the others go on (exit 1 at the end)."""
    from core import civil
    from tempest.dlms import endpoints, schedule
    from tempest.dlms.collect import read_endpoints

    try:
        wanted = civil.parse_day(day) if day else None
        start = datetime.fromisoformat(at).timestamp() if at else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--day/--at") from exc
    app = app_for(data_dir)
    lay = layout(app.config)
    conn = db.connect(lay.database)
    began = time.monotonic()
    try:
        while True:
            now = time.time() if start is None else start + time.monotonic() - began
            if meters_file is not None:
                try:
                    eps = read_endpoints(meters_file)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    raise click.BadParameter(f"cannot read it: {exc}",
                                             param_hint="--meters") from exc
                eps = [e for e in eps if not serials or e.serial in serials]
            else:
                eps, problems = endpoints.every(conn, lay.secrets, serials)
                for problem in problems:
                    click.echo(problem, err=True)
            failed = schedule.collect_round(
                conn, eps, lay.drop, now, redial_days, wanted,
                report=lambda line: click.echo(json.dumps(line)), workers=workers)
            if every is None:
                break
            time.sleep(every)
    finally:
        conn.close()
    if failed:
        sys.exit(1)
