"""A meter config's public form and its hash: what every part agrees a config *is*.

The meter writes `metadata_config()` into every day file and reports `config_hash()` in its
heartbeat; Tempest compares the inventory's desired config with the meter's by the same hash
and shows `public_config()` (never a secret). The checks and the model's normal form stay in
the meter (`meter.config`).
"""

from __future__ import annotations

import hashlib
import json

SECRET_FIELDS = ("tempest_api_key",)
SECRET_NESTED = {"agent": ("key",), "delivery": ("ssh_key",), "concentrator": ("key",),
                 "dlms": ("password",)}
# Fields that never go into a day file's metadata.config: the seed's 24-value profile, and how
# and where the meter delivers (changing a URL must not change the bytes of a regenerated day),
# and its quirks (a real meter's files do not confess them; `meter truth` does).
_NOT_IN_METADATA = ("profile", "tempest_url", "tempest_api_keys_file", "delivery", "heartbeat",
                    "agent", "concentrator", "dlms", "time_scale",
                    "time_origin", "ip", "demo", "display", "quirks")


def public_config(raw: dict) -> dict:
    """The config without its secrets (what the agent's GET /config shows)."""
    out = {}
    for key, value in raw.items():
        if key in SECRET_FIELDS:
            continue
        if key in SECRET_NESTED and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in SECRET_NESTED[key]}
        out[key] = value
    return out


def metadata_config(raw: dict) -> dict:
    out = {k: v for k, v in public_config(raw).items() if k not in _NOT_IN_METADATA}
    replay = out.get("replay")
    if isinstance(replay, dict) and isinstance(replay.get("file"), str):
        # Only the replayed file's name: where it sits differs from the controller to the Pi,
        # and a day file's bytes must not (nor show a host's folders).
        out["replay"] = {**replay, "file": replay["file"].replace("\\", "/").rsplit("/", 1)[-1]}
    return out


def canonical_json(obj) -> str:
    """Sorted keys and fixed separators: the same text on every host (and in every day file)."""
    return json.dumps(obj, sort_keys=True, separators=(", ", ": "), ensure_ascii=True)


def _plain_numbers(obj):
    """1.0 and 1 are the same setting: hash them the same (a browser or YAML may rewrite one
    as the other)."""
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    if isinstance(obj, dict):
        return {k: _plain_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain_numbers(v) for v in obj]
    return obj


def config_hash(raw: dict) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(_plain_numbers(raw)).encode()).hexdigest()
