"""A bulk meter host as a data concentrator: its settings, and its meters' heartbeats in batches.

With a `concentrator` section in the base config (docs/concentrator.md) every meter the host
derives sends through the concentrator routes, with the concentrator's key: heartbeats here,
sealed days in meter/delivery/batchpass.py. The meters keep their own folders, outboxes and
backoff exactly as when each delivers alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from meter.config import Config, ConfigError
from meter.delivery import heartbeat, settings
from meter.delivery.transport import SENT, Outcome, Tempest

log = logging.getLogger("meter.delivery")

DAYS_ROUTE = "api/v1/concentrator/days"
HEARTBEATS_ROUTE = "api/v1/concentrator/heartbeats"
# Tempest's defaults are 2000 items and 32 MiB a batch; smaller keeps one failed request cheap
# and a host's open files (one lock per meter in a batch) well under the usual 1024.
DEFAULT_BATCH_FILES = 200
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024
DEFAULT_BATCH_HEARTBEATS = 1000


@dataclass(frozen=True)
class Concentrator:
    id: str
    key: str
    tempest_url: str
    timeout_s: float
    backoff_max_s: int
    batch_files: int
    batch_bytes: int
    batch_heartbeats: int

    def client(self) -> Tempest:
        return Tempest(self.tempest_url, self.key, self.timeout_s)


def _key(section: dict, base: Path | None) -> str:
    key, key_file = section.get("key"), section.get("key_file")
    if (key is None) == (key_file is None):
        raise ConfigError("concentrator.key", "give the concentrator's key either as key or "
                          "as key_file (a file holding it), not both")
    if key is not None:
        return key
    path = Path(key_file) if base is None else Path(base) / key_file
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError("concentrator.key_file", f"cannot read {path}: "
                          f"{exc.strerror or exc}") from exc
    if not 16 <= len(text) <= 256 or any(not "!" <= c <= "~" for c in text):
        raise ConfigError("concentrator.key_file", f"{path} does not hold a key (16 to 256 "
                          "visible ASCII characters)")
    return text


def with_key(raw: dict, config_dir: Path | None) -> dict:
    """A base config with its concentrator's `key_file` read into `key` (a bulk host's derived
    meters have no folder of their own to find a relative key file from)."""
    section = raw.get("concentrator")
    if not isinstance(section, dict) or "key_file" not in section:
        return raw
    key = _key(section, config_dir)
    rest = {k: v for k, v in section.items() if k != "key_file"}
    return {**raw, "concentrator": {**rest, "key": key}}


def of(cfg: Config) -> Concentrator | None:
    """The meter's concentrator, or None when it delivers alone. ConfigError names the field."""
    section = cfg.raw.get("concentrator")
    if not section:
        return None
    s = settings.delivery(cfg)
    if s.mode != "http":  # demo meters, rsync and none deliver as they would alone
        return None
    if not s.tempest_url:
        raise ConfigError("tempest_url", "a concentrator needs Tempest's address")
    base = cfg.path.parent if cfg.path is not None else None
    return Concentrator(
        id=section["id"], key=_key(section, base), tempest_url=s.tempest_url,
        timeout_s=max(s.timeout_s, 30.0), backoff_max_s=s.backoff_max_s,
        batch_files=section.get("batch_files", DEFAULT_BATCH_FILES),
        batch_bytes=section.get("batch_bytes", DEFAULT_BATCH_BYTES),
        batch_heartbeats=section.get("batch_heartbeats", DEFAULT_BATCH_HEARTBEATS))


Items = list[tuple[Config, Path]]


def split(items: Items) -> tuple[dict[Concentrator, Items], Items]:
    """The meters by concentrator, and those that deliver alone (ConfigError on a bad one)."""
    grouped: dict[Concentrator, Items] = {}
    alone: Items = []
    for cfg, root in items:
        c = of(cfg)
        if c is None:
            alone.append((cfg, root))
        else:
            grouped.setdefault(c, []).append((cfg, root))
    return grouped, alone


def chunks(seq: list, size: int) -> Iterable[list]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def item_reason(verdict: dict) -> str:
    """A verdict as one line, like transport's reasons for a single request."""
    text = verdict.get("reason") or verdict.get("error") or "no reason given"
    if verdict.get("field"):
        text = f"{text} (field {verdict['field']})"
    return f"HTTP {verdict.get('http')}: {text}"


def verdicts(out: Outcome, count: int) -> list[dict] | None:
    """The answer's per-item verdicts, or None when it is not a full answer for `count` items
    (then nothing is known of any item, and every one is kept to be sent again)."""
    items = out.body.get("items") if isinstance(out.body, dict) else None
    if not isinstance(items, list) or len(items) != count or not all(
            isinstance(v, dict) and isinstance(v.get("http"), int) for v in items):
        return None
    return items


def send_heartbeats(c: Concentrator, items: Items, now_of: Callable[[Config], float],
                    client: Tempest | None = None) -> list[dict]:
    """One heartbeat per meter, in batches; never raises (as heartbeat.send). One result per
    meter, in order: {"serial", "sent", "status"?, "reason"?}."""
    docs = []
    for cfg, root in items:
        try:
            docs.append(heartbeat.payload(cfg, root, now_of(cfg)))
        except Exception as exc:  # noqa: BLE001 - as heartbeat.send: it still goes
            docs.append({"serial": cfg.serial, "kind": "pi",
                         "last_error": f"status failed: {exc}"})
    return send_heartbeat_docs(c, docs, client)


def send_heartbeat_docs(c: Concentrator, docs: list[dict],
                        client: Tempest | None = None) -> list[dict]:
    """Heartbeat payloads already built (a ledger host builds them from its ledger:
    meter/bulkbeat.py), in batches; never raises. One result per payload, in order."""
    own = client is None
    client = client or c.client()
    results = []
    try:
        for part in chunks(docs, c.batch_heartbeats):
            try:
                out = client.post(HEARTBEATS_ROUTE, json.dumps({"heartbeats": part}).encode())
            except Exception as exc:  # noqa: BLE001 - never raises: see heartbeat.py
                out = Outcome("retry", None, f"heartbeat batch failed: {exc}")
            results.extend(_heartbeat_results(c, out, part))
    finally:
        if own:
            client.close()
    return results


def _heartbeat_results(c: Concentrator, out: Outcome, docs: list[dict]) -> list[dict]:
    found = verdicts(out, len(docs)) if out.kind == SENT else None
    if found is None:
        reason = out.reason if out.kind != SENT else "Tempest's answer had no verdict per item"
        log.warning("concentrator %s: %d heartbeats not sent: %s", c.id, len(docs), reason)
        return [{"serial": d["serial"], "sent": False, "status": out.status, "reason": reason}
                for d in docs]
    results = []
    for doc, v in zip(docs, found, strict=True):
        if v.get("verdict") == "accepted":
            results.append({"serial": doc["serial"], "sent": True, "status": v["http"]})
        else:
            reason = item_reason(v)
            log.warning("%s: heartbeat not taken: %s", doc["serial"], reason)
            results.append({"serial": doc["serial"], "sent": False, "status": v["http"],
                            "reason": reason})
    return results
