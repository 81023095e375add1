"""The `tempest` command (click): serve, ingest, init-db, status; and the groups meters,
sinks and export from their own modules.

Every command takes `--data-dir` (or TEMPEST_DATA_DIR). Bad arguments exit with status 2 and a
message naming the option or argument, as click does.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import click

from core.progress import Progress
from tempest import db, names
from tempest.cli_concentrators import concentrators_group
from tempest.cli_meters import meters
from tempest.cli_options import app_for, data_dir_option, quiet_option
from tempest.dlms.cli import dlms_collect
from tempest.exports.cli import export
from tempest.mqtt.cli import mqtt_subscribe
from tempest.sinks.cli import sinks


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meters", prog_name="tempest")
def main():
    """Tempest, the Meters head-end: collect, store and serve meter day files."""


# Subcommand groups live in modules of their own; they share tempest/cli_options.py.
main.add_command(meters)
main.add_command(concentrators_group)
main.add_command(sinks)
main.add_command(export)
main.add_command(mqtt_subscribe)  # tempest/mqtt/cli.py
main.add_command(dlms_collect)  # tempest/dlms/cli.py


@main.command("init-db")
@data_dir_option
def init_db_command(data_dir: Path):
    """Create the store and the folders (safe to run again)."""
    from tempest.settings import layout

    app = app_for(data_dir)  # the factory creates the tables and folders
    click.echo(f"initialised {db.describe(layout(app.config).database)}")


@main.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on.")
@click.option("--port", default=8002, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on (8002 is the seed's).")
@click.option("--no-ingest", is_flag=True,
              help="Serve the web side only (run `tempest ingest --watch` elsewhere).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log every request.")
def serve(data_dir: Path, host: str, port: int, no_ingest: bool, access_log: bool):
    """Serve the web UI and API and run the ingest worker, in one process.

    For production, run the web side under gunicorn (`tempest.wsgi:app`) and one
    `tempest ingest --watch` beside it; see docs/operations.md.
    """
    from tempest.ingest.service import IngestBusy
    from tempest.server import run

    _logging()
    app = app_for(data_dir)
    try:
        run(app, host, port, ingest=not no_ingest, access_log=access_log)
    except IngestBusy as exc:
        raise click.ClickException(f"{exc}; use --no-ingest to serve beside it") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    from core.stopping import exit_now

    exit_now()  # stopped by a signal, the workers joined: skip the interpreter's teardown


def _place(paths: tuple[Path, ...], drop: Path) -> list[Path]:
    """Copy files (or the *.json in folders) into the drop folder atomically."""
    from tempest.ingest.dropbox import write_atomic

    placed = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for f in files:
            name = names.safe(f.name)
            if names.ignored(name):
                continue
            if (drop / name).exists():
                name = f"{Path(name).stem}.{names.new_id()[:8]}{Path(name).suffix}"
            placed.append(write_atomic(drop, name, f.read_bytes(), durable=False))
    return placed


@main.command()
@data_dir_option
@click.option("--watch", is_flag=True,
              help="Keep running: watch the drop folder and ingest files as they arrive.")
@quiet_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def ingest(data_dir: Path, watch: bool, quiet: bool, paths: tuple[Path, ...]):
    """Ingest day files: PATHS (files or folders of *.json, copied into the drop folder)
    and whatever waits in the drop folder."""
    from tempest.ingest.service import IngestBusy, IngestService
    from tempest.settings import layout

    _logging()
    app = app_for(data_dir)
    service = IngestService(app.config)
    placed = _place(paths, layout(app.config).drop)
    if watch:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            service.start()
        except IngestBusy as exc:
            raise click.ClickException(str(exc)) from exc
        from tempest.sinks.service import SinkService

        sinks = SinkService(app.config)  # the sinks deliver beside the ingest worker
        sinks.start()
        click.echo(f"watching {layout(app.config).drop}", err=True)
        stop.wait()
        service.stop()
        sinks.stop()
        return
    from tempest.ingest.scope import pending

    total = pending(layout(app.config).drop)
    try:
        with Progress(total, "ingest", unit="files", quiet=quiet) as bar:
            done = service.run_once(placed, progress=bar.update)
    except IngestBusy as exc:
        raise click.ClickException(f"{exc}; stop it or let it ingest these files") from exc
    outcomes: dict[str, int] = {}
    for item in done:
        outcomes[item.outcome or "skipped"] = outcomes.get(item.outcome or "skipped", 0) + 1
    click.echo(json.dumps({"files": len(done), **outcomes}))


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def status(data_dir: Path, as_json: bool):
    """Show the fleet, the store and the ingest worker at a glance."""
    from tempest import db
    from tempest.read.ingest import summary
    from tempest.settings import layout

    app = app_for(data_dir)
    lay = layout(app.config)
    conn = db.connect(lay.database)
    try:
        info = summary(conn, app.config, time.time())
    finally:
        conn.close()
    info["data_dir"] = str(lay.data_dir)
    info["disk_free_bytes"] = shutil.disk_usage(lay.data_dir).free
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    st = info["status"]
    ing = info["ingest"]
    click.echo(f"data dir      {info['data_dir']}")
    click.echo(f"meters        {info['meters']} (online {st['online']}, stale {st['stale']}, "
               f"offline {st['offline']}, never seen {st['never_seen']})")
    click.echo(f"days stored   {info['days_stored']}")
    click.echo(f"files         {info['files_archived']} archived, {info['quarantined']} in "
               f"quarantine, {info['drop_pending']} waiting in drop")
    click.echo(f"ingest worker {'running' if ing['running'] else 'not running'}"
               f" (last report {ing['last_report'] or 'never'})")
