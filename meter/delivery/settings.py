"""The delivery, heartbeat and agent settings of a meter's config, with their defaults.

The schema (meter/schema/config.schema.json) has already checked types and ranges; this only
fills in what the user left out, in one place, so the CLI, cron and the agent agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from meter.config import Config

DEFAULT_AGENT_HOST = "127.0.0.1"
DEFAULT_AGENT_PORT = 8001  # the seed's agent port (docs/seed.md)
# The first retry waits about a minute: with cron ticking every 1-5 minutes that is "the next
# tick or the one after", then the wait doubles up to backoff_max_s.
BACKOFF_BASE_S = 60
DEMO_REASON = 'demo mode ("demo": true): this meter never touches the network'


@dataclass(frozen=True)
class DeliverySettings:
    mode: str  # "http", "rsync", "mqtt" or "none" (always "none" in demo mode)
    tempest_url: str | None  # always ends with "/" (the seed's convention)
    api_key: str | None
    upload_open_day: bool
    timeout_s: float
    backoff_max_s: int
    rsync_target: str | None
    ssh_key: str | None
    ssh_port: int
    ssh_known_hosts: str | None
    heartbeat_enabled: bool
    heartbeat_timeout_s: float
    demo: bool = False  # "demo": true: the meter never touches the network (meter/demo.py)


@dataclass(frozen=True)
class AgentSettings:
    host: str
    port: int
    key: str | None
    url: str | None  # how Tempest reaches the agent, when it is not http://host:port/


def _url(raw: dict) -> str | None:
    url = raw.get("tempest_url")
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


def delivery(cfg: Config) -> DeliverySettings:
    """A demo meter (`"demo": true`) delivers nothing and sends no heartbeat, whatever else its
    config says: every caller that would touch the network asks here first."""
    raw = cfg.raw
    d = raw.get("delivery") or {}
    hb = raw.get("heartbeat") or {}
    url = _url(raw)
    demo = raw.get("demo") is True
    return DeliverySettings(
        mode="none" if demo else d.get("mode", "http"),
        tempest_url=url,
        api_key=raw.get("tempest_api_key"),
        upload_open_day=bool(d.get("upload_open_day", False)),
        timeout_s=float(d.get("timeout_s", 10)),
        backoff_max_s=int(d.get("backoff_max_s", 3600)),
        rsync_target=d.get("rsync_target"),
        ssh_key=d.get("ssh_key"),
        ssh_port=int(d.get("ssh_port", 22)),
        ssh_known_hosts=d.get("ssh_known_hosts"),
        heartbeat_enabled=not demo and bool(hb.get("enabled", url is not None
                                                    or bool(raw.get("mqtt")))),
        heartbeat_timeout_s=float(hb.get("timeout_s", 5)),
        demo=demo,
    )


def agent(cfg: Config) -> AgentSettings:
    a = cfg.raw.get("agent") or {}
    return AgentSettings(host=a.get("host", DEFAULT_AGENT_HOST),
                         port=int(a.get("port", DEFAULT_AGENT_PORT)),
                         key=a.get("key") or None, url=a.get("url"))


def agent_url(cfg: Config) -> str:
    a = agent(cfg)
    if a.url:
        return a.url
    host = f"[{a.host}]" if ":" in a.host else a.host
    return f"http://{host}:{a.port}/"
