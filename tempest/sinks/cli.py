"""`tempest sinks status|replay|retry-dead`.

These commands read and write the queue in the store; they never change which sinks exist
(the sink service registers them from its own settings when it starts), so running one from a
shell without the deployment's settings cannot switch a sink off.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from tempest import db
from tempest.cli_options import app_for, data_dir_option, day_option, serial_option
from tempest.settings import layout
from tempest.sinks import queue, registry, status


def _connect(data_dir: Path):
    app = app_for(data_dir)
    return db.connect(layout(app.config).database)


@click.group()
def sinks():
    """The InfluxDB and MDMS sinks: queue status, replays, dead items (docs/sinks.md)."""


@sinks.command("status")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def status_command(data_dir: Path, as_json: bool):
    """Each sink's queue depth, last success, last error and dead items."""
    conn = _connect(data_dir)
    try:
        info = status.all_sinks(conn)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps({"sinks": info}, indent=2))
        return
    if not info:
        click.echo("no sinks registered (set TEMPEST_SINK_INFLUX_URL or TEMPEST_SINK_MDMS_URL "
                   "and start `tempest serve` or `tempest ingest --watch`)")
        return
    for s in info:
        state = "enabled" if s["enabled"] else "disabled (no longer configured)"
        worker = "running" if s["worker"]["running"] else "not running"
        click.echo(f"{s['name']:<9} {state}, worker {worker}: {s['target']}")
        click.echo(f"  queued {s['queued']} (lag {s['lag_seconds']:.0f} s), dead {s['dead']}, "
                   f"delivered {s['delivered']}, already there {s['skipped']}, "
                   f"failures {s['failures']}")
        click.echo(f"  last success {s['last_success_at'] or 'never'}")
        if s["last_error"]:
            click.echo(f"  last error   {s['last_error_at']}: {s['last_error']}")
        for item in s["dead_items"]:
            click.echo(f"  dead #{item['id']} {item['serial']} {item['reading_day']}: "
                       f"{item['last_error']}")


@sinks.command()
@data_dir_option
@click.option("--sink", "sink_name", required=True, help="The sink to send to: influxdb or mdms.")
@day_option("--from", "First reading day (YYYY-MM-DD).")
@day_option("--to", "Last reading day (YYYY-MM-DD), inclusive.")
@serial_option
def replay(data_dir: Path, sink_name: str, from_day: str, to_day: str, serials: tuple[str]):
    """Queue stored days for a sink again (a backfill, or after data was lost downstream).
    Replayed days are sent even if the sink already has them."""
    if from_day > to_day:
        raise click.BadParameter("--from is after --to", param_hint="'--from'")
    conn = _connect(data_dir)
    try:
        known = registry.known(conn)
        if sink_name not in known:
            raise click.BadParameter(
                f"no sink {sink_name!r} registered (registered: {', '.join(known) or 'none'})",
                param_hint="'--sink'")
        n = queue.replay(conn, sink_name, from_day, to_day, serials or None, time.time())
    finally:
        conn.close()
    click.echo(json.dumps({"sink": sink_name, "queued": n}))


@sinks.command("retry-dead")
@data_dir_option
@click.option("--sink", "sink_name", default=None, help="Only this sink (default: every sink).")
def retry_dead(data_dir: Path, sink_name: str | None):
    """Put dead items back in the queue, in their original place, attempts reset."""
    conn = _connect(data_dir)
    try:
        if sink_name is not None and sink_name not in registry.known(conn):
            raise click.BadParameter(f"no sink {sink_name!r} registered", param_hint="'--sink'")
        n = queue.retry_dead(conn, sink_name)
    finally:
        conn.close()
    click.echo(json.dumps({"sink": sink_name, "requeued": n}))
