"""No checked name, date, hash or pattern accepts a trailing newline (security finding 5).

Python's `$` matches before a final "\\n", and jsonschema runs JSON Schema patterns with
`re.search`: "A\\n" passed the serial check, was issued a key, archived under `archive/A\\n/`
and split log lines and export rows. Every validator in tempest/, meter/, pico/ and the roles
is swept here with "\\n" and "\\r\\n" after a value it accepts; a scan of the sources fails
when a new end-anchored pattern appears that does not say "end of string" exactly, and every
JSON Schema pattern must have a sample in PATTERN_SAMPLES.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import requests
import yaml

from core import dayfile_reader, tzdb
from meter import config as meter_config
from meter.delivery import folders
from tempest import codec, keys, names, registry, settings
from tempest.exports import settings as export_settings
from tempest.fleetconfig import desired
from tests.hardening import corpus
from tests.pico_harness.harnessdir import micropython_env, tool
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

REPO = Path(__file__).resolve().parents[2]
ENDINGS = ("\n", "\r\n")
ID = "0123456789abcdef0123"


def _ok(fn, *args) -> bool:
    """Accepted: no exception of the kinds validators raise."""
    try:
        fn(*args)
    except (ValueError, LookupError, settings.SettingsError, registry.BadHeartbeat,
            desired.BadDesiredConfig):
        return False
    return True


def _setting(name: str):
    def check(value) -> bool:
        config = dict(settings.DEFAULTS)
        config[name] = value
        return _ok(settings.check, config)
    return check


def _nem12_meter(entry: dict, serial: str = "kili"):
    """NEM12_METERS with VALUE (or SERIAL) in `entry` replaced by the value tried."""
    def fill(node):
        if isinstance(node, dict):
            return {fill(k): fill(v) for k, v in node.items()}
        return node.replace("VALUE", fill.value)

    def check(value) -> bool:
        fill.value = value
        return export_settings.meters_problem(
            {serial.replace("SERIAL", value): fill(entry)}) is None
    return check


def _heartbeat(field: str):
    def check(value) -> bool:
        body = {k: v for k, v in corpus.heartbeat().items() if k != "serial"}
        body[field] = value
        return _ok(registry.check, body)
    return check


def _config(mutate):
    def check(value) -> bool:
        raw = corpus.meter_config()
        mutate(raw, value)
        return _ok(meter_config.from_dict, raw)
    return check


def _set(path: str):
    """Set a dotted path of a config or a day file to the value under test."""
    def mutate(raw, value):
        *parents, last = path.split(".")
        for p in parents:
            raw = raw[p]
        raw[last] = value
    return mutate


def _rename_channel(raw, value):
    raw["channels"] = {value: 1.0}


def _channel_list(field: str):
    def mutate(raw, value):
        entry = {"name": "Total", "nem12_suffix": "E1"}
        entry[field] = value
        raw["channels"] = [entry]
    return mutate


def _day(mutate, base: bytes | None = None):
    def check(value) -> bool:
        doc = json.loads(base or make_day(corpus.SERIAL, "2024-05-26", interval=60, channels=2,
                                          zone="Europe/Berlin"))
        mutate(doc, value)
        return _ok(dayfile_reader.parse, json.dumps(doc).encode(), "Pacific/Auckland")
    return check


def _day_channel(doc, value):
    name = [c for c in doc["channels"] if c != "Total"][0]
    for part in ("channels", "snapshots", "closing_snapshots", "datastreams", "quality"):
        if name in doc[part]:
            doc[part][value] = doc[part].pop(name)


def _day_label(doc, value):
    for part in ("datastreams", "quality"):
        for stream in doc[part].values():
            if "2024-05-26T05:00:00+02:00" in stream:
                stream[value] = stream.pop("2024-05-26T05:00:00+02:00")


def _seed_label(doc, value):
    stream = next(iter(doc["datastreams"].values()))
    label = next(iter(stream))
    stream[value] = stream.pop(label)


# (what, a value it accepts, accepted(value) -> bool)
VALIDATORS = [
    # tempest/names.py: every serial, channel, day and id that reaches a path or a query
    ("names.valid_serial", "kili", names.valid_serial),
    ("names.valid_channel", "Total", names.valid_channel),
    ("names.valid_day", "2024-05-01", names.valid_day),
    ("names.valid_id", ID, names.valid_id),
    ("names.marked", f"kili_2024-05-01.up-{ID}.json", lambda v: names.marked(v) is not None),
    ("names.is_rsync_temp", ".kili_2024-05-01.json.AbC123", names.is_rsync_temp),
    # tempest/codec.py: a seed file's fixed-offset zone name
    ("codec.zone_for", "UTC+12:00", lambda v: _ok(codec.zone_for, v)),
    # tempest/registry.py: heartbeat fields
    *[(f"heartbeat {f}", corpus.heartbeat()[f], _heartbeat(f))
      for f in ("config_hash", "kind", "address", "agent_url", "version", "timestamp",
                "last_tick")],
    ("heartbeat ip", "127.0.0.11", _heartbeat("ip")),
    # tempest/fleetconfig/desired.py: a desired config's given hash
    ("desired config_hash", "sha256:" + "a" * 64,
     lambda v: _ok(desired.check, corpus.SERIAL, corpus.meter_config(), v)),
    # tempest/keys.py: a key set by the operator
    ("keys.valid_key", "k" * 20, lambda v: keys.valid_key(v)),
    # tempest/settings.py and tempest/exports/settings.py
    ("LEGACY_TIMEZONE", "UTC", _setting("LEGACY_TIMEZONE")),
    ("NEM12_UTC_OFFSET", "+10:00", _setting("NEM12_UTC_OFFSET")),
    ("NEM12_FROM_PARTICIPANT", "TEMPEST", _setting("NEM12_FROM_PARTICIPANT")),
    ("NEM12_TO_PARTICIPANT", "MDMS", _setting("NEM12_TO_PARTICIPANT")),
    ("NEM12_ESTIMATED_QUALITY", "S17", _setting("NEM12_ESTIMATED_QUALITY")),
    ("NEM12_METERS serial", "kili", _nem12_meter({"nmi": "NCDE001111"}, "SERIAL")),
    ("NEM12_METERS nmi", "NCDE001111", _nem12_meter({"nmi": "VALUE"})),
    ("NEM12_METERS suffix", "E1", _nem12_meter({"suffixes": {"Total": "VALUE"}})),
    ("NEM12_METERS channel", "Total", _nem12_meter({"suffixes": {"VALUE": "E1"}})),
    ("export_settings.offset_minutes", "+10:00",
     lambda v: _ok(export_settings.offset_minutes, v)),
    # core/tzdb.py: every IANA zone Tempest or a meter is told
    ("tzdb.valid_zone", "Pacific/Auckland", tzdb.valid_zone),
    # meter/config.py (the config schema): what a meter, Ansible and a desired config give
    ("config serial", "kili", _config(_set("serial"))),
    ("config location.country", "NZ", _config(_set("location.country"))),
    ("config channel name", "Total", _config(_rename_channel)),
    ("config channels[].name", "Total", _config(_channel_list("name"))),
    ("config channels[].nem12_suffix", "E1", _config(_channel_list("nem12_suffix"))),
    ("config commissioned", "2024-01-01", _config(_set("commissioned"))),
    ("config nmi", "NCDE001111", _config(_set("nmi"))),
    ("config holidays_extra", "2024-12-27",
     _config(lambda raw, v: raw.__setitem__("holidays_extra", [v]))),
    ("config timezone", "Pacific/Auckland", _config(_set("timezone"))),
    # core/dayfile_reader.py and core/dayschema.py (the day-file schema): every delivered file
    ("day serial", corpus.SERIAL, _day(_set("serial"))),
    ("day reading_day", "2024-05-26", _day(_set("reading_day"))),
    ("day timezone", "Europe/Berlin", _day(_set("timezone"))),
    ("day channel name", "Main", _day(_day_channel)),
    ("day timestamp", "2024-05-26T05:00:00+02:00", _day(_day_label)),
    ("day data_model_version", "2.0.0", _day(_set("metadata.data_model_version"))),
    ("seed day timestamp", "2023-05-26T00:05:00+12:00",
     _day(_seed_label, corpus.day_texts()[4])),
    # meter/delivery/folders.py: outbox names
    ("folders.parse_name", "kili_2024-05-01.json", lambda v: folders.parse_name(v).day is not None),
]


@pytest.mark.parametrize("what, good, accepted", VALIDATORS, ids=[v[0] for v in VALIDATORS])
def test_every_validator_refuses_a_trailing_newline(what, good, accepted):
    assert accepted(good), f"{what} must accept {good!r} (else this case proves nothing)"
    for ending in ENDINGS:
        assert not accepted(good + ending), f"{what} accepted {good + ending!r}"


# Every `pattern` in the JSON Schemas (meter/schema/, core/schema/), with a value it must match. JSON Schema
# patterns are ECMA 262 regular expressions, where `$` is the very end of the string.
PATTERN_SAMPLES = {
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$": "kili",
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$": "Total",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "2024-05-01",
    "^[A-Z]{2}$": "NZ",
    "^[A-Z][A-Z0-9]$": "E1",
    "^[A-Z0-9]{10,11}$": "NCDE001111",
    "^([0-9]|1[0-9]|2[0-3])$": "23",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$":
        "2024-05-26T05:00:00+02:00",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$":
        "2024-05-26T05:00:00",
    "^[A-Za-z0-9_+/-]+$": "Pacific/Auckland",
    "^2\\.[0-9]+\\.[0-9]+$": "2.0.0",
    "^1\\.[0-9]+\\.[0-9]+$": "1.0.0",
    "^[!-~]{16,256}$": "concentrator-key-0123456789",  # concentrator.key
    "^[!-~]{1,32}$": "s3cret-pw",  # dlms.password
    "^[a-z0-9_]{1,32}$": "dht11",  # a day file's measurements.<name>.sensor
    "^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$": "meters/site-1",  # mqtt.topic_prefix
    "^[A-Za-z0-9_.-]{1,64}$": "meter-m01",  # mqtt.client_id
}
# Patterns that are not end-anchored on purpose: a prefix and a forbidden substring.
UNANCHORED = {"^https?://": "http://x\n", "\\.\\.": "a..b\n"}


def _schema_patterns() -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    paths = [*(REPO / "meter" / "schema").glob("*.json"), *(REPO / "core" / "schema").glob("*.json")]
    assert {p.name for p in paths} >= {"config.schema.json", "day-file.schema.json"}
    for path in paths:
        walk(json.loads(path.read_text()))
    return found


def test_every_json_schema_pattern_refuses_a_trailing_newline():
    from core.jsonschemas import Validator

    patterns = _schema_patterns()
    assert patterns - set(UNANCHORED) == set(PATTERN_SAMPLES), "a pattern without a sample"
    for pattern, good in PATTERN_SAMPLES.items():
        check = Validator({"type": "string", "pattern": pattern})
        assert check.is_valid(good), pattern
        for ending in ENDINGS:
            assert not check.is_valid(good + ending), (pattern, good + ending)
    for pattern, sample in UNANCHORED.items():  # still searched, as JSON Schema says
        assert Validator({"pattern": pattern}).is_valid(sample)


# `re.compile("...$")`, `re.match(r"...$", ...)` and the like: in Python, `$` lets "\n" through.
_PY_DOLLAR = re.compile(r"""re\.(?:compile|match|search|fullmatch)\(\s*r?(["'])(?:(?!\1).)*\$\1""")
# A quoted pattern ending in `$` in the roles and playbooks (Ansible's match/search/regex tests
# and regex_* filters run Python's re).
_YAML_DOLLAR = re.compile(r"""(["'])[^"'\n]*\$\1""")
# Matchers, not checks: a single authorized_keys line (already split, so no "\n" in it), and a
# day taken out of a found file's name to compare with.
NOT_ANSIBLE_CHECKS = {
    ("roles/tempest/vars/main.yml",
     "' meters-drop:(?!\\S*\\.\\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'"),
    ("roles/meter/tasks/collect.yml", "'^.*_([0-9-]{10})[.]json$'"),
}


def _sources() -> list[Path]:
    out = []
    for top in ("tempest", "meter", "pico"):
        out += sorted((REPO / top).rglob("*.py"))
    out += sorted(REPO.glob("roles/*/library/*.py"))
    return out


# Matchers, not input checks, where a `$` before a final "\n" can only err on the safe side.
NOT_CHECKS = {
    # a config field named like a secret is masked: "api_key\n" is masked too
    ("core/masking.py", 're.compile(r"(key|token|password|passphrase|secret)$"'),
}


def test_no_python_pattern_ends_in_a_dollar():
    offenders = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in _sources()
                 for m in _PY_DOLLAR.finditer(p.read_text())
                 if (str(p.relative_to(REPO)), m.group(0)) not in NOT_CHECKS]
    assert offenders == [], "use re.fullmatch (or \\Z) for input checks:\n" + "\n".join(offenders)


def test_no_ansible_check_ends_in_a_dollar():
    files = [*REPO.glob("roles/**/*.yml"), *REPO.glob("roles/**/*.j2"),
             *REPO.glob("playbooks/**/*.yml")]
    offenders = [f"{p.relative_to(REPO)}: {m.group(0)}" for p in sorted(files)
                 for line in p.read_text().splitlines() if not line.lstrip().startswith("#")
                 for m in _YAML_DOLLAR.finditer(line)
                 if (str(p.relative_to(REPO)), m.group(0)) not in NOT_ANSIBLE_CHECKS]
    assert offenders == [], "\n".join(offenders)


def _asserts(node):
    """Every expression of every ansible.builtin.assert in a tasks file or playbook."""
    if isinstance(node, dict):
        if "ansible.builtin.assert" in node:
            yield from node["ansible.builtin.assert"]["that"]
        for value in node.values():
            yield from _asserts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _asserts(value)


def _ansible_check(path: str, start: str):
    """One assert expression, evaluated with Ansible's own test and filter plugins."""
    from ansible.plugins.filter.core import FilterModule
    from ansible.plugins.test.core import TestModule

    doc = yaml.safe_load((REPO / path).read_text())
    expr = next((e for e in _asserts(doc) if e.startswith(start)), None)
    assert expr is not None, f"{path}: no assert starting {start!r} (moved? update this sweep)"
    env = jinja2.Environment()
    env.tests.update(TestModule().tests())
    env.filters.update(FilterModule().filters())
    return env.compile_expression(expr)


ANSIBLE_CHECKS = [
    ("roles/meter/tasks/preflight.yml", "meter_serial is", "meter_serial", "kili", str),
    ("roles/tempest_registration/tasks/preflight.yml", "tempest_registration_serial is",
     "tempest_registration_serial", "kili", str),
    ("roles/tempest/tasks/drop.yml", "tempest_drop_authorized_keys | map(attribute='name')",
     "tempest_drop_authorized_keys", "kili", lambda v: [{"name": v, "key": "ssh-ed25519 AAAA"}]),
    ("playbooks/collect.yml", "meter_collect_from is", "meter_collect_from", "2024-05-01", str),
    ("playbooks/collect.yml", "meter_collect_to is", "meter_collect_to", "2024-05-01", str),
]


@pytest.mark.parametrize("path, start, var, good, wrap", ANSIBLE_CHECKS,
                         ids=[f"{c[0]}:{c[2]}" for c in ANSIBLE_CHECKS])
def test_the_ansible_checks_refuse_a_trailing_newline(path, start, var, good, wrap):
    check = _ansible_check(path, start)
    assert check(**{var: wrap(good)})
    for ending in ENDINGS:
        assert not check(**{var: wrap(good + ending)})


def test_the_pico_outbox_refuses_a_trailing_newline_under_micropython(tmp_path):
    """pico/ has no regular expressions; its one name check runs on real MicroPython."""
    micropython = tool("micropython")
    assert micropython is not None, "micropython comes with the dev extra"
    code = ("from picometer.upload import _valid_name\n"
            "for n in ('kili_2024-05-01.json', 'kili_2024-05-01.json\\n',"
            " 'kili_2024-05-01.json\\r\\n', 'kili\\n_2024-05-01.json'):\n"
            " print(_valid_name(n, 'kili'))\n")
    env = {**micropython_env(), "MICROPYPATH": str(REPO / "pico")}
    out = subprocess.run([str(micropython), "-c", code], capture_output=True, text=True,
                         env=env, timeout=30, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "False", "False"]


# -- end to end: the admin API and the CLI of a real Tempest ----------------------------------

@pytest.fixture
def tempest(tmp_path):
    t = Tempest(tmp_path / "data", tmp_path / "tempest.log").start()
    yield t
    t.stop()


@pytest.mark.parametrize("ending", ENDINGS, ids=["lf", "crlf"])
def test_a_serial_with_a_trailing_newline_is_refused_by_the_api_the_cli_and_ingest(
        tempest, ending):
    serial = "A" + ending
    r = tempest.admin("POST", "/api/v1/meters", json={"serial": serial})
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/json"
    assert r.json()["field"] == "serial" and r.json()["reason"]
    r = tempest.admin("POST", "/api/v1/meters", json={"serial": "A", "key": "k" * 20 + ending})
    assert r.status_code == 400 and r.json()["field"] == "key"

    out = subprocess.run([sys.executable, "-m", "tempest", "meters", "add", serial,
                          "--data-dir", str(tempest.data_dir)],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 2 and "SERIAL" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr

    # A day file naming such a serial, dropped in by rsync: quarantined with a reason.
    doc = json.loads(make_day("A", "2024-05-26", interval=60, channels=1, zone="Europe/Berlin"))
    doc["serial"] = serial
    drop = tempest.data_dir / "drop"
    (drop / ".A.json.tmp").write_text(json.dumps(doc))
    os.replace(drop / ".A.json.tmp", drop / "A_2024-05-26.json")
    items = wait_for(lambda: requests.get(tempest.url + "/api/v1/quarantine", timeout=10)
                     .json()["items"], what="quarantined")
    # Refused by the day file's own serial check (not merely as a meter nobody registered).
    assert items[0]["field"] == "serial" and "does not match" in items[0]["reason"], items
    meters = requests.get(tempest.url + "/api/v1/meters", timeout=10).json()["items"]
    assert meters == []
    archive = tempest.data_dir / "archive"
    assert not archive.exists() or list(archive.iterdir()) == []
