"""The `meter` commands that deliver: upload, sync, deliver, heartbeat, redial, agent
(docs/delivery.md, docs/agent-api.md). meter/cli.py adds them to the `meter` group.

Cron, on a Pi (one line each; heartbeats apart so Tempest being down never slows the tick):

    */5 * * * *  meter --config /home/pi/meter/config.json tick; meter ... deliver
    * * * * *    meter --config /home/pi/meter/config.json heartbeat
"""

from __future__ import annotations

import json
import sys

import click

from core.progress import Progress
from meter import clock
from meter.cli_options import Meters, fail, meter_options, parse_day_option, quiet_option
from meter.config import Config

EXIT_RETRY_LATER = 1  # a pass stopped on a problem that a later pass may not have


def _now_s(meters: Meters, cfg: Config) -> float:
    try:
        return clock.now_seconds(meters.at, cfg.raw)
    except clock.ClockError as exc:
        fail(f"--at: {exc}")


def _require(meters: Meters, route: str | None) -> None:
    """A route without its destination is a config mistake (exit 2), not a retry."""
    from meter.delivery import settings

    for cfg, _ in meters.items:
        s = settings.delivery(cfg)
        if s.demo and route is not None:
            fail(f"{cfg.serial}: {settings.DEMO_REASON}")
        mode = route or s.mode
        if mode == "http" and not s.tempest_url:
            fail(f"{cfg.serial}: tempest_url: not set, so there is nowhere to upload to")
        if mode == "rsync" and not s.rsync_target:
            fail(f"{cfg.serial}: delivery.rsync_target: not set, so there is nowhere to "
                 "sync to")


def _concentrated(meters: Meters):
    """The meters by concentrator (a bulk host acting as one: docs/concentrator.md), and
    those that deliver alone; exit 2 naming the field of a bad `concentrator` section."""
    from meter.config import ConfigError
    from meter.delivery.concentrator import split

    try:
        return split(meters.items)
    except ConfigError as exc:
        fail(f"bad config: {exc}")


def _run_passes(meters: Meters, one_pass, force: bool = False,
                concentrators: bool = True) -> None:
    """One pass per meter; with `concentrators`, the meters behind a concentrator go in
    batches through it instead (rsync has no batches: `sync` passes False)."""
    grouped, alone = _concentrated(meters) if concentrators else ({}, meters.items)
    results = []
    if grouped:
        from meter.delivery.batchpass import batch_pass

        for c, items in grouped.items():
            results.extend(batch_pass(c, items, lambda cfg: _now_s(meters, cfg),
                                      force=force))
    results += [r for r in (one_pass(cfg, root, _now_s(meters, cfg))
                            for cfg, root in alone) if r is not None]
    if len(meters.items) == 1:
        if results:
            click.echo(json.dumps(results[0].as_dict()))
        else:
            from meter.delivery import settings

            demo = settings.delivery(meters.items[0][0]).demo
            click.echo(json.dumps({"route": None, "reason": settings.DEMO_REASON if demo
                                   else "delivery.mode is 'none'"}))
    else:
        click.echo(json.dumps({
            "meters": len(meters.items),
            "sent": sum(len(r.sent) for r in results),
            "rejected": sum(len(r.rejected) for r in results),
            "pending": sum(r.pending for r in results),
            "failed": [r.serial for r in results if not r.ok]}))
    if any(not r.ok for r in results):
        sys.exit(EXIT_RETRY_LATER)


force_option = click.option(
    "--force", is_flag=True, help="Try now even if an earlier failure set a later time.")


@click.command()
@meter_options
@force_option
def upload(meters: Meters, force: bool) -> None:
    """POST sealed days from outbox/ to Tempest, oldest first (then the open day, if
    delivery.upload_open_day). Exit 1 if Tempest could not take them (they stay)."""
    from meter.delivery.upload import upload_pass

    _require(meters, "http")
    _run_passes(meters, lambda cfg, root, now: upload_pass(cfg, root, now, force), force)


@click.command()
@meter_options
@force_option
def sync(meters: Meters, force: bool) -> None:
    """rsync sealed days from outbox/ into Tempest's drop folder over SSH."""
    from meter.delivery.rsync import sync_pass

    _require(meters, "rsync")
    _run_passes(meters, lambda cfg, root, now: sync_pass(cfg, root, now, force),
                concentrators=False)


@click.command()
@meter_options
@force_option
def deliver(meters: Meters, force: bool) -> None:
    """One delivery pass by delivery.mode (http: upload, rsync: sync, mqtt: publish,
    none: nothing).
    Run it after every tick."""
    from meter.delivery.route import deliver as deliver_pass

    _require(meters, None)
    _run_passes(meters, lambda cfg, root, now: deliver_pass(cfg, root, now, force), force)


@click.command()
@meter_options
def heartbeat(meters: Meters) -> None:
    """Tell Tempest the meter is alive (serial, address, version, config hash, backlog,
    last tick, free disk, clock). Never fails the caller: exit 0 even if Tempest is down
    (the reason is printed and logged)."""
    from meter.delivery.heartbeat import send

    grouped, alone = _concentrated(meters)
    out = []
    if grouped:
        from meter.delivery.concentrator import send_heartbeats

        for c, items in grouped.items():
            out.extend(send_heartbeats(c, items, lambda cfg: _now_s(meters, cfg)))
    out += [send(cfg, root, _now_s(meters, cfg)) for cfg, root in alone]
    if len(out) == 1:
        click.echo(json.dumps(out[0]))
    else:
        click.echo(json.dumps({"meters": len(out),
                               "sent": sum(1 for o in out if o["sent"])}))


@click.command()
@meter_options
@click.option("--from", "first", required=True, metavar="DAY", help="First day, YYYY-MM-DD.")
@click.option("--to", "last", metavar="DAY", help="Last day, YYYY-MM-DD (default: --from).")
@quiet_option
def redial(meters: Meters, first: str, last: str | None, quiet: bool) -> None:
    """Send past days again: from sent/ when kept there, else regenerated byte for byte.
    Prints how many days went out. Exit 1 if Tempest stopped answering."""
    from meter.delivery.redial import RedialError
    from meter.delivery.redial import redial as redial_days

    d0 = parse_day_option(first, "--from")
    d1 = parse_day_option(last, "--to") if last else d0
    if d1 < d0:
        fail("--to: is before --from")
    results = []
    with Progress(len(meters.items), "redial", unit="meters", quiet=quiet) as bar:
        for cfg, root in meters.items:
            try:
                results.append(redial_days(cfg, root, d0, d1, int(_now_s(meters, cfg) // 60)))
            except RedialError as exc:
                fail(f"{cfg.serial}: {exc}")
            bar.update(1)
    if len(results) == 1:
        click.echo(json.dumps(results[0]))
    else:
        click.echo(json.dumps({"meters": len(results),
                               "days_uploaded": sum(r["days_uploaded"] for r in results)}))
    if any(r["error"] for r in results):
        sys.exit(EXIT_RETRY_LATER)


@click.command()
@meter_options
@click.option("--host", help="Address to listen on (default: agent.host, else 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port to listen on (default: agent.port, else 8001, the seed's).")
def agent(meters: Meters, host: str | None, port: int | None) -> None:
    """Serve the meter agent (HTTP API: status, config, tick, day, redial) for one meter.
    For production run it under gunicorn; see docs/agent-api.md."""
    from meter.agent import create_app
    from meter.agent.serve import run
    from meter.delivery import settings

    if len(meters.items) != 1:
        fail("the agent serves one meter: start one agent per config (each on its own "
             "address or port)")
    cfg, root = meters.items[0]
    a = settings.agent(cfg)
    app = create_app({"CONFIG_PATH": str(cfg.path.resolve()), "DATA_DIR": str(root),
                      "AT": meters.at})
    try:
        run(app, host or a.host, port or a.port)
    except OSError as exc:
        fail(f"cannot listen on {host or a.host}:{port or a.port}: {exc.strerror or exc}")
    from core.stopping import exit_now

    exit_now()  # stopped by a signal, the socket closed: skip the interpreter's teardown
