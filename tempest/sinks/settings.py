"""The sinks' settings (TEMPEST_SINK_*), merged into tempest.settings and documented in
docs/operations.md and docs/sinks.md. A sink is on when its URL is set."""

from __future__ import annotations

from urllib.parse import urlsplit

FORMATS = ("tempest", "picos", "processing")

DEFAULTS: dict[str, object] = {
    "SINK_INFLUX_URL": None,  # e.g. http://127.0.0.1:8086; unset: no InfluxDB sink
    "SINK_INFLUX_TOKEN": None,
    "SINK_INFLUX_ORG": None,  # InfluxDB 2 needs it; InfluxDB 3 and VictoriaMetrics ignore it
    "SINK_INFLUX_BUCKET": "meters",
    "SINK_INFLUX_BATCH_POINTS": 50_000,  # points per write (days are never split)
    "SINK_MDMS_URL": None,  # the MDMS base URL; unset: no MDMS push
    "SINK_MDMS_API_KEY": None,  # sent as x-api-key
    "SINK_MDMS_FORMAT": "tempest",  # tempest | picos | processing
    "SINK_TIMEOUT_SECONDS": 30.0,  # one request to a sink
    "SINK_MAX_ATTEMPTS": 10,  # failed attempts (5xx, 429, timeouts) before an item is dead
    "SINK_BACKOFF_SECONDS": 1.0,  # first retry delay; doubles per attempt, with jitter
    "SINK_BACKOFF_MAX_SECONDS": 300.0,  # the cap on a retry delay
    "SINK_POLL_SECONDS": 1.0,  # how often an idle sink worker looks for new items
}

TEXT = ("SINK_INFLUX_URL", "SINK_INFLUX_TOKEN", "SINK_INFLUX_ORG", "SINK_INFLUX_BUCKET",
        "SINK_MDMS_URL", "SINK_MDMS_API_KEY", "SINK_MDMS_FORMAT")

NUMBERS = {
    "SINK_INFLUX_BATCH_POINTS": (int, 100, 10_000_000),
    "SINK_TIMEOUT_SECONDS": (float, 0.1, 3600),
    "SINK_MAX_ATTEMPTS": (int, 1, 1000),
    "SINK_BACKOFF_SECONDS": (float, 0.001, 3600),
    "SINK_BACKOFF_MAX_SECONDS": (float, 0.001, 86400),
    "SINK_POLL_SECONDS": (float, 0.01, 60),
}


def _url(config, name: str, error) -> None:
    value = config.get(name)
    if value is None:
        return
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise error(name, "must be an http(s) URL such as http://127.0.0.1:8086")


def check(config, error) -> None:
    """Refuse settings a sink could not run with (`error(name, reason)` builds the exception)."""
    _url(config, "SINK_INFLUX_URL", error)
    _url(config, "SINK_MDMS_URL", error)
    if config.get("SINK_INFLUX_URL") and not config.get("SINK_INFLUX_BUCKET"):
        raise error("SINK_INFLUX_BUCKET", "must be set when TEMPEST_SINK_INFLUX_URL is")
    if config.get("SINK_MDMS_FORMAT") not in FORMATS:
        raise error("SINK_MDMS_FORMAT", f"must be one of {', '.join(FORMATS)}")
    if config["SINK_BACKOFF_MAX_SECONDS"] < config["SINK_BACKOFF_SECONDS"]:
        raise error("SINK_BACKOFF_MAX_SECONDS", "must not be less than TEMPEST_SINK_BACKOFF_SECONDS")
