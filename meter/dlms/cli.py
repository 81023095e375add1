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
@click.option("--base-port", type=click.IntRange(1, 65535), default=None,
              help="With --count: meter i listens on BASE-PORT + i - 1 (default: the config's "
                   "dlms.port).")
@click.option("--endpoints", "endpoints_file", type=click.Path(dir_okay=False, path_type=Path),
              help="With --count: write every meter's endpoint and password here (JSON, mode "
                   "0600) for `tempest meters dlms --from`.")
@click.option("--advertise", metavar="HOST",
              help="The host name written to --endpoints (default: the listen address).")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="With --count: serve from this many processes (one per core), each a share "
                   "of the meters' ports.")
@click.option("--pidfile", type=click.Path(path_type=Path),
              help="Write this process's pid here once listening; removed on exit.")
def dlms_serve(meters: Meters, host: str | None, port: int | None, base_port: int | None,
               endpoints_file: Path | None, advertise: str | None, processes: int,
               pidfile: Path | None) -> None:
    """Serve each meter over DLMS/COSEM (TCP, wrapper) from its model and registers.

    The meter's config switches it on with a `dlms` section (port, password). With --at the
    meters' clocks start at that time and run on from there. Prints one JSON line per meter
    once it listens, then serves until SIGTERM or Ctrl-C.

    With --count N (a bulk host) every meter it simulates is served on a port of its own from
    --base-port, with its own password (derived from dlms.password, or from
    dlms.passwords_file), and one JSON line says which ports.
    """
    from meter.dlms.server import DlmsServer
    from meter.dlms.source import MeterSource, settings_of

    if meters.bulk is not None:
        if port is not None:
            fail("--port: with --count every meter has its own port (--base-port)")
        servers = [_bulk_server(meters, host, base_port, endpoints_file, advertise, processes)]
        return _serve(servers, pidfile)
    if base_port is not None or endpoints_file is not None:
        fail("--base-port/--endpoints: need --count (a bulk host)")
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
    _serve(servers, pidfile)


def _bulk_server(meters: Meters, host: str | None, base_port: int | None,
                 endpoints_file: Path | None, advertise: str | None, processes: int):
    from meter.config import ConfigError
    from meter.dlms.bulkserve import BulkDlms, passwords_of
    from meter.dlms.source import settings_of

    bulk = meters.bulk_host(workers=1)
    settings = settings_of(bulk.base_cfg)
    if settings is None:
        fail("dlms: the base config has no dlms section (or dlms.enabled is false)")
    try:
        passwords = passwords_of(bulk, settings, bulk.config_dir)
    except ConfigError as exc:
        fail(str(exc))
    first = base_port or settings.port
    if first + bulk.count - 1 > 65535:
        fail(f"--base-port: {bulk.count} meters from port {first} run past 65535")
    srv = BulkDlms(bulk, host or settings.host, first, passwords, meters.at,
                   settings.profile_days)
    try:
        srv.bind()
    except OSError as exc:
        fail(f"--base-port: cannot listen on ports {first}-{first + bulk.count - 1}: "
             f"{exc.strerror or exc}")
    if endpoints_file:
        fd = os.open(endpoints_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(srv.endpoints(advertise or srv.listen), f, indent=1)
    srv.fork_workers(processes)
    click.echo(json.dumps({"meters": bulk.count, "host": srv.listen, "first_port": first,
                           "last_port": srv.port(bulk.count)}))
    return srv


def _serve(servers: list, pidfile: Path | None) -> None:
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
    from core.stopping import exit_now

    exit_now()  # the servers shut down, the pid file removed: skip the interpreter's teardown
