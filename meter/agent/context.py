"""The meter an agent request acts on: its config (re-read when the file changes, so cron,
Ansible and POST /config all take effect without a restart), its folder and its clock."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, request

from meter import clock, config
from meter.agent.errors import AgentError
from meter.config import Config, ConfigError

_cache: dict[str, tuple[tuple, Config]] = {}
_lock = threading.Lock()
LAST_GOOD_SUFFIX = ".last-good"


@dataclass
class Meter:
    cfg: Config
    root: Path
    config_path: Path


def _stamp(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_config(path: Path) -> Config:
    """config.read, cached while the file is unchanged (a household config takes ~60 ms to
    load because of its calibration; an agent answers many requests per minute)."""
    key = str(path)
    try:
        stamp = _stamp(path)
    except OSError:
        stamp = None
    with _lock:
        hit = _cache.get(key)
        if hit is not None and stamp is not None and hit[0] == stamp:
            return hit[1]
    cfg = config.read(path)
    if stamp is not None:
        with _lock:
            _cache[key] = (stamp, cfg)
    return cfg


def config_path() -> Path:
    return Path(current_app.config["CONFIG_PATH"]).absolute()


def data_dir(path: Path) -> Path:
    d = current_app.config.get("DATA_DIR")
    return Path(d).absolute() if d else path.parent


def meter() -> Meter:
    """The current config, or 503 naming the problem (cron ticks would fail on it too)."""
    path = config_path()
    try:
        cfg = read_config(path)
    except ConfigError as exc:
        raise AgentError(503, "config_unusable", f"{path.name}: {exc}", field=exc.field) from exc
    return Meter(cfg, data_dir(path), path)


def key_config() -> Config | None:
    """The config whose agent key guards the agent: config.json, or its last good version
    when config.json is broken (so POST /config can still repair it)."""
    path = config_path()
    for candidate in (path, path.with_name(path.name + LAST_GOOD_SUFFIX)):
        try:
            return read_config(candidate)
        except ConfigError:
            continue
    return None


def now_seconds(cfg: Config, allow_override: bool = False) -> float:
    """The meter's clock: the agent's fixed --at, the config's demo time scale, or real time.
    `?at=` moves it for one request, only on authenticated calls (tests and demos)."""
    at = current_app.config.get("AT")
    if allow_override and request.args.get("at"):
        at = request.args["at"]
    try:
        return clock.now_seconds(at, cfg.raw)
    except clock.ClockError as exc:
        raise AgentError(400, "bad_request", str(exc), field="at") from exc
