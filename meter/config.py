"""A meter's config: load, check (naming the field), and normalise for the load model.

The user writes `config.json` (docs/config.md; the seed's fields still work). `load()` checks it
against `meter/schema/config.schema.json` and then turns it into the integer-only dict the
model reads (`Config.model`), which is also what the Pico receives, so both run the same
numbers.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema

from core import DATA_MODEL_VERSION, __version__, civil, masking, tzdb
from core.configdoc import (
    canonical_json,
    config_hash,
    metadata_config,
)
from core.jsonschemas import Validator as SchemaValidator
from loadmodel import MODEL_VERSION, holidays, sensors

DEFAULT_COMMISSIONED = "2024-01-01"
DEFAULT_TIMEZONE = "UTC"
# Where a config gives no place: Kassel, near the middle of Germany (the BDEW profiles' home).
DEFAULT_LOCATION = {"latitude": 51.3, "longitude": 9.5, "country": "DE"}
_HEATING_DEFAULTS = {
    "heat_pump": {"kw": 2.5, "kwh_per_degree_day": 1.6},
    "resistive": {"kw": 4.0, "kwh_per_degree_day": 4.5},
    "ac": {"kw": 2.5, "kwh_per_degree_day": 1.5},
}
_EV_DEFAULTS = {"kw": 7.2, "kwh_per_session": 18, "sessions_per_week": 3, "offpeak": False}


class ConfigError(ValueError):
    """A config that cannot be used. `field` is a dotted path, e.g. `faults.spikes`."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field or '(config)'}: {reason}")


@dataclass
class Config:
    raw: dict  # what the user wrote
    model: dict  # the normalised, integer-only form the engines read
    path: Path | None = None

    @property
    def serial(self) -> str:
        return self.model["serial"]

    @property
    def channel_names(self) -> list[str]:
        return [c[0] for c in self.model["channels"]]

    def metadata_config(self) -> dict:
        """The config as it goes into every day file: what shapes the readings, no secrets."""
        return metadata_config(self.raw)

    def hash(self) -> str:
        return config_hash(self.raw)


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files("meter.schema").joinpath("config.schema.json").read_text())


def read(path: Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("", f"no config file at {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"cannot read {path}: {exc}") from exc
    cfg = parse(text, path.parent)
    cfg.path = path
    return cfg


def parse(text: str, base: Path | None = None) -> Config:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"line {exc.lineno}", f"not JSON: {exc.msg}") from exc
    return from_dict(raw, base)


def from_dict(raw, base: Path | None = None, *, read_files: bool = True) -> Config:
    """base: the folder a relative `replay.file` is in (the config's; else the current one).
    read_files=False checks the config without reading the files it names (Tempest checks a
    desired config on a host that does not hold the meter's replay CSV)."""
    if not isinstance(raw, dict):
        raise ConfigError("", "a config is a JSON object")
    errors = sorted(SchemaValidator(schema()).iter_errors(raw),
                    key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        err = errors[0]
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            name = ".".join(p for p in [path, extra[0] if extra else ""] if p)
            raise ConfigError(name, "unknown field (check its spelling in docs/config.md)")
        raise ConfigError(path, _short(_message(err, raw)))
    model = normalise(raw, base, read_files=read_files)
    if model["load_model"] == "household" and "annual_kwh" in raw:
        # Without it, a household uses what its own traits make it use (loadmodel/individual.py).
        from meter import calibrate

        model["scale_permille"] = calibrate.scale_permille(model, raw["annual_kwh"])
    model["generator_json"] = canonical_json({
        "engine": "meters", "model": model["load_model"], "model_version": MODEL_VERSION,
        "seed": model["seed"], "archetype": model["archetype"]})
    model["metadata_json"] = canonical_json({
        "version": __version__, "data_model_version": DATA_MODEL_VERSION,
        "config": metadata_config(raw)})
    return Config(raw=raw, model=model)


_WANTS = {"type": "must be of type {}", "maxLength": "must be at most {} characters",
          "minLength": "must be at least {} characters", "pattern": "must match {}"}


def _message(err: jsonschema.ValidationError, raw: dict) -> str:
    """The schema's complaint, without any secret value: a secret field's error says what the
    schema wants instead of quoting what it got, and every other message is masked."""
    if masking.is_secret_path(err.absolute_path):
        rule = _WANTS.get(err.validator, "must pass the schema's {} check")
        return rule.format(err.validator_value if err.validator in _WANTS else err.validator) \
            + " (the value is secret, so it is not shown)"
    return masking.mask(err.message, raw)


def _short(message: str) -> str:
    return message if len(message) < 200 else message[:200] + "..."


def _e4(value) -> int:
    """Degrees to integer 1e-4 degrees, decided in decimal so every host agrees."""
    return int((Decimal(str(value)) * 10000).to_integral_value())


def _p32(value) -> int:
    """A probability as a threshold on a 32-bit draw."""
    p = Decimal(str(value))
    return min(int((p * (1 << 32)).to_integral_value()), (1 << 32) - 1) if p > 0 else 0


def _permille(value) -> int:
    return int((Decimal(str(value)) * 1000).to_integral_value())


def default_seed(serial: str) -> int:
    return zlib.crc32(serial.encode("utf-8"))


def normalise(raw: dict, base: Path | None = None, *, read_files: bool = True) -> dict:
    """The integer-only config the load model reads (see loadmodel/engine.py)."""
    serial = raw["serial"]
    interval = raw.get("interval_min", 5)
    zone_name = raw.get("timezone", DEFAULT_TIMEZONE)
    try:
        rules = [list(t) for t in tzdb.transitions(zone_name)]
    except tzdb.UnknownZone as exc:
        raise ConfigError("timezone", str(exc)) from exc
    for _, off in rules:
        if off % interval:
            raise ConfigError("interval_min", f"{interval} minutes does not divide the UTC "
                              f"offset {off} min of {zone_name}, so intervals cannot align "
                              "to local midnight")
    loc = {**DEFAULT_LOCATION, **raw.get("location", {})}
    if "location" in raw and "country" not in raw["location"]:
        loc["country"] = ""
    legacy = "profile" in raw and "archetype" not in raw
    model = {
        "serial": serial,
        "seed": raw.get("seed", default_seed(serial)),
        "interval": interval,
        "timezone": zone_name,
        "tz_rules": rules,
        "load_model": "legacy-profile" if legacy else "household",
        "archetype": None if legacy else raw.get("archetype", "couple"),
        "latitude_e4": _e4(loc["latitude"]),
        "longitude_e4": _e4(loc["longitude"]),
        "country": loc["country"] if loc["country"] in holidays.RULES else "",
        "holidays_extra": _days(raw.get("holidays_extra", []), "holidays_extra"),
        "away": raw.get("away", True),
        "weather_seed": raw.get("weather_seed", 0),
        "climate": None,
        "heating": _climate_load(raw.get("heating"), "heating"),
        "cooling": _climate_load(raw.get("cooling"), "cooling"),
        # Not given: drawn for the household at its country's rate (loadmodel/individual.py).
        "hot_water": "auto" if "hot_water" not in raw else
        None if raw["hot_water"] in (None, "none") else raw["hot_water"],
        "ev": _ev(raw.get("ev")),
        "pv": None,
        "profile_w": None,
        "variability_permille": _permille(raw.get("variability", 0.1)),
        "scale_permille": 1000,
        "faults": _faults(raw),
        "commissioned_day": _days([raw.get("commissioned", DEFAULT_COMMISSIONED)],
                                  "commissioned")[0],
    }
    if "climate" in raw:
        model["climate"] = [_permille(raw["climate"]["mean_c"]) // 100,
                            _permille(raw["climate"]["amplitude_c"]) // 100]
    if raw.get("pv"):
        model["pv"] = {"watts_peak": _permille(raw["pv"]["kwp"])}
    if legacy:
        # The seed's profile is kWh per interval at each hour; as mean watts it is interval-free.
        model["profile_w"] = [
            int((Decimal(str(raw["profile"][str(h)])) * 60000 / interval).to_integral_value())
            for h in range(24)]
    model["channels"] = _channels(raw, model["pv"] is not None)
    model["initial_registers_wh"] = _initial_registers(raw, model["channels"])
    if "replay" in raw:
        from meter import replay  # the CSV's reader, only for a meter that replays one

        model.update(replay.normalised(raw, base, model, read_file=read_files))
    if raw.get("sensors"):
        model.update(_sensors(raw["sensors"], model["channels"]))
    return model


def _sensors(spec: dict, channels: list[list]) -> dict:
    """The measurement channels (loadmodel/sensors.py), only for a meter that has sensors, so an
    energy meter's normalised config (and its Pico's config.json) stays as it was."""
    on = [kind for kind in ("dht11", "onboard") if spec.get(kind, False) is not False]
    out = [list(ch) for kind in on for ch in sensors.CHANNELS[kind]]
    if not out:
        raise ConfigError("sensors", "no sensor is switched on (give dht11 or onboard: true)")
    energy = {c[0] for c in channels}
    for ch in out:
        if ch[0] in energy:
            raise ConfigError("sensors", f"channel {ch[0]!r} is already an energy channel")
    dht = spec.get("dht11") or {}
    return {"sensors": out, "sensor_pin": dht.get("pin", 0),
            "sensor_placement": dht.get("placement", "indoor")}


def _days(values: list[str], field: str) -> list[int]:
    out = []
    for i, text in enumerate(values):
        try:
            out.append(civil.parse_day(text))
        except ValueError as exc:
            where = field if field == "commissioned" else f"{field}.{i}"
            raise ConfigError(where, str(exc)) from exc
    return out


def _climate_load(spec, field: str):
    if spec in (None, "none"):
        return None
    merged = {**_HEATING_DEFAULTS[spec["type"]], **spec}
    if field == "heating" and spec["type"] == "ac":
        raise ConfigError("heating.type", "'ac' is for cooling; heating takes heat_pump or "
                          "resistive")
    if field == "cooling" and spec["type"] != "ac":
        raise ConfigError("cooling.type", "cooling takes 'ac'")
    return {"watts": _permille(merged["kw"]),
            "wh_per_degree_day": _permille(merged["kwh_per_degree_day"])}


def _ev(spec):
    if not spec:
        return None
    merged = {**_EV_DEFAULTS, **spec}
    # What the config leaves open is the household's own habit (loadmodel/individual.py):
    # how often and how much it charges around the defaults, and whether on an off-peak timer.
    return {"watts": _permille(merged["kw"]),
            "wh_per_session": _permille(merged["kwh_per_session"]),
            "sessions_per_week_x100": int(Decimal(str(merged["sessions_per_week"])) * 100),
            "offpeak": bool(spec["offpeak"]) if "offpeak" in spec else None,
            "habits": "sessions_per_week" not in spec and "kwh_per_session" not in spec}


def _faults(raw: dict) -> dict:
    f = raw.get("faults", {})
    missing = f.get("missing_intervals", raw.get("missing_data", 0))
    spikes = f.get("spikes", raw.get("excessive_data", 0))
    return {
        "missing_p32": _p32(missing),
        "missing_run_max": f.get("missing_run_max", 1 if "missing_intervals" not in f else 6),
        "estimated_p32": _p32(f.get("estimated", 0)),
        "spike_p32": _p32(spikes),
        "outage_p32": _p32(f.get("outage_days", 0)),
        "drift_s_per_day": f.get("clock_drift_s_per_day", 0),
        "drift_resync_days": f.get("clock_resync_days", 30),
        "late_p32": _p32(f.get("late_days", 0)),
        "late_max_days": f.get("late_max_days", 3),
        "duplicate_p32": _p32(f.get("duplicate_days", 0)),
    }


def _channels(raw: dict, has_pv: bool) -> list[list]:
    """[[name, role, share permille, share text or None], ...] in file order."""
    spec = raw.get("channels", {"Total": 1.0})
    out: list[list] = []
    if isinstance(spec, dict):
        names = list(spec)
        first = "Total" if "Total" in spec else names[0]
        subs = [n for n in names if n != first]
        total = sum(Decimal(str(spec[n])) for n in subs)
        # The seed's factors: if they add up to 1 they are sub-circuits of the first channel;
        # otherwise each is the first channel times its factor, on its own.
        role = "sub" if subs and abs(total - 1) <= Decimal("0.005") else "independent"
        out.append([first, "import", 1000, None])
        for n in subs:
            out.append([n, role, _permille(spec[n]), _share_text(spec[n])])
    else:
        for i, ch in enumerate(spec):
            role = ch.get("role", "import" if i == 0 else "sub")
            share = ch.get("share", 1.0 if role in ("import", "export", "generation") else 0)
            out.append([ch["name"], role, _permille(share),
                        _share_text(share) if role in ("sub", "independent") else None])
    names = [c[0] for c in out]
    if len(set(names)) != len(names):
        raise ConfigError("channels", "channel names must be unique")
    roles = [c[1] for c in out]
    if roles.count("import") != 1:
        raise ConfigError("channels", "exactly one channel has role 'import' (the grid import "
                          "register, 'Total' in the seed)")
    subs = [c for c in out if c[1] == "sub"]
    if subs and sum(c[2] for c in subs) == 0:
        raise ConfigError("channels", "sub-circuit shares are all zero")
    if has_pv and "export" not in roles and isinstance(spec, dict):
        out.append(["Export", "export", 1000, None])
    if not has_pv and ("export" in roles or "generation" in roles):
        raise ConfigError("channels", "export and generation channels need a 'pv' section")
    return out


def _share_text(value) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def _initial_registers(raw: dict, channels: list[list]) -> list[int]:
    regs = raw.get("initial_registers", {})
    for name in regs:
        if name not in [c[0] for c in channels]:
            raise ConfigError(f"initial_registers.{name}", "not a channel of this meter")
    return [_permille(regs.get(c[0], 0)) for c in channels]

