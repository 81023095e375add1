"""`meter dlms-serve`: serve the meters' DLMS/COSEM until SIGTERM (docs/dlms.md)."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import click

from meter.cli_options import Meters, fail, meter_options


@click.command("dlms-serve")
@meter_options
@click.option("--host", default=None, help="Listen on this address (default: the config's "
              "dlms.host, else every address).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Listen on this port (default: the config's dlms.port, else 4059; 0: any "
                   "free port, printed). One meter only.")
@click.option("--pidfile", type=click.Path(path_type=Path),
              help="Write this process's pid here once listening; removed on exit.")
def dlms_serve(meters: Meters, host: str | None, port: int | None,
               pidfile: Path | None) -> None:
    """Serve each meter over DLMS/COSEM (TCP, wrapper) from its model and registers.

    The meter's config switches it on with a `dlms` section (port, password). With --at the
    meters' clocks start at that time and run on from there. Prints one JSON line per meter
    once it listens, then serves until SIGTERM or Ctrl-C.
    """
    from meter.dlms.server import DlmsServer
    from meter.dlms.source import MeterSource, settings_of

    items = meters.items
    if port is not None and len(items) > 1:
        fail("--port: serves one meter only (give each meter its dlms.port)")
    servers = []
    for cfg, root in items:
        settings = settings_of(cfg)
        if settings is None:
            fail(f"dlms: {cfg.serial}'s config has no dlms section (or dlms.enabled is false)")
        src = MeterSource(cfg, root, meters.at, settings.profile_days)
        try:
            srv = DlmsServer(src, host or settings.host,
                             settings.port if port is None else port, settings.password)
        except OSError as exc:
            fail(f"dlms.port: cannot listen on {settings.port} for {cfg.serial}: "
                 f"{exc.strerror or exc}")
        servers.append(srv)
        bound = srv.server_address
        click.echo(json.dumps({"serial": cfg.serial, "host": bound[0], "port": bound[1]}))
    if pidfile:
        pidfile.write_text(f"{os.getpid()}\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [srv.serve_in_thread() for srv in servers]
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()
        for t in threads:
            t.join(5)
        if pidfile and pidfile.exists():
            pidfile.unlink()
