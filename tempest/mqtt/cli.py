"""`tempest mqtt-subscribe`: take the sealed days meters publish over MQTT into the drop folder
(docs/protocol.md, "MQTT"; tempest/mqtt/subscriber.py)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from tempest.cli_options import app_for, data_dir_option
from tempest.settings import layout


@click.command("mqtt-subscribe")
@data_dir_option
@click.option("--host", required=True, envvar="TEMPEST_MQTT_HOST", help="The broker's address.")
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535),
              envvar="TEMPEST_MQTT_PORT", help="The broker's port.")
@click.option("--topic-prefix", default="meters", show_default=True,
              help="The meters' `mqtt.topic_prefix`: days arrive on <prefix>/<serial>/day/<day>.")
@click.option("--client-id", default="tempest", show_default=True,
              help="This subscriber's client id: the broker keeps its session (and the days "
                   "published while it is away) under this name. One per Tempest.")
@click.option("--username", envvar="TEMPEST_MQTT_USERNAME", help="Broker user, if it wants one.")
@click.option("--password", envvar="TEMPEST_MQTT_PASSWORD",
              help="Broker password (better from the environment: TEMPEST_MQTT_PASSWORD).")
def mqtt_subscribe(data_dir: Path, host: str, port: int, topic_prefix: str, client_id: str,
                   username: str | None, password: str | None) -> None:
    """Subscribe to the meters' sealed days and write each into the drop folder, where ingest
    takes it like any other delivery; record their heartbeats and last gasps (Last Will) in
    the registry as HTTP heartbeats are. Runs until SIGTERM or Ctrl-C."""
    from tempest.mqtt.subscriber import BrokerSettings, Subscriber

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    prefix = topic_prefix.strip("/")
    if not prefix or "+" in prefix or "#" in prefix:
        raise click.BadParameter("a topic prefix without wildcards", param_hint="--topic-prefix")
    app = app_for(data_dir)
    where = layout(app.config)
    drop = where.drop
    sub = Subscriber(BrokerSettings(host, port, prefix, client_id, username, password), drop,
                     int(app.config["MAX_CONTENT_LENGTH"]), where.database)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"subscribing on {host}:{port} to {prefix}/+/day/+ (into {drop}), "
               f"{prefix}/+/heartbeat and {prefix}/+/state (into the registry)", err=True)
    sub.run(stop)
    from core.stopping import exit_now

    exit_now()  # stopped by a signal, paho's thread joined: skip the interpreter's teardown
