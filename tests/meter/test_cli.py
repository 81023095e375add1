"""The `meter` command as a user runs it: a real process, real files, exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.meter.configs import SEED_KILI, SEED_MACBOOK, family

ROOT = Path(__file__).resolve().parents[2]


def meter(*args, cwd=None, check=False):
    proc = subprocess.run([sys.executable, "-m", "meter", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if check and proc.returncode:
        raise AssertionError(proc.stderr)
    return proc


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("change,field", [
    ({"archetype": "hermit"}, "archetype"),
    ({"faults": {"spikes": 1.5}}, "faults.spikes"),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"anual_kwh": 3000}, "anual_kwh"),
    ({"interval_min": 30, "timezone": "Asia/Kathmandu"}, "interval_min"),
    ({"location": {"latitude": 123}}, "location.latitude"),
    ({"commissioned": "2024-13-01"}, "commissioned"),
    ({"channels": [{"name": "Total"}, {"name": "Export", "role": "export"}]}, "channels"),
    ({"channels": [{"name": "Total"}, {"name": "Total", "role": "sub", "share": 1}]},
     "channels"),
])
def test_bad_config_names_the_field_exits_2_and_touches_nothing(tmp_path, change, field):
    folder = tmp_path / "meter"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**family(), **change}))
    (folder / "outbox").mkdir()
    (folder / "outbox" / "keep.json").write_text("{}")
    before = snapshot(folder)
    for command in (["tick"], ["backfill", "--from", "2024-06-01", "--to", "2024-06-02"]):
        proc = meter(*command, "--config", str(folder / "config.json"))
        assert proc.returncode == 2, proc.stderr
        assert "bad config" in proc.stderr and field in proc.stderr
        assert "Traceback" not in proc.stderr
    assert snapshot(folder) == before


def test_not_json_config_gives_the_line(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"serial": "x",\n "archetype": family}')
    proc = meter("tick", "--config", str(path))
    assert proc.returncode == 2 and "line 2" in proc.stderr


@pytest.mark.parametrize("seed", [SEED_MACBOOK, SEED_KILI], ids=["macbook", "kili"])
def test_seed_configs_still_work_and_keep_secrets_out_of_files(tmp_path, seed):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(seed))
    meter("backfill", "--config", str(path), "--from", "2024-01-10", "--to", "2024-01-11",
          "--at", "2024-02-01T00:00:00+00:00", check=True)
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    text = files[0].read_text()
    assert "12345" not in text and "tempest_api_key" not in text and '"profile"' not in text
    proc = meter("validate", *map(str, files), check=True)
    assert proc.stdout.count(": ok ") == 2
    doc = json.loads(text)
    assert doc["generator"]["model"] == "legacy-profile"
    # smooth, not hourly steps: values change within an hour
    values = list(doc["datastreams"]["Total"].values())[:12]
    assert len(set(values)) > 6


def test_validate_names_problems_and_exits_2(tmp_path):
    good = tmp_path / "good.json"
    bad = tmp_path / "bad.json"
    good.write_text(json.dumps({"serial": "mac", "reading_day": "2023-04-02",
                                "2023-04-01T18:05:00": 4.3}))
    bad.write_text('{"serial": "x", "reading_day": "2023-04-02", "interval": 5, '
                   '"datastreams": {"Total": {"2023-04-02T00:07:00+12:00": 1}}}')
    proc = meter("validate", str(good), str(bad))
    assert proc.returncode == 2
    assert f"{good}: ok mac" in proc.stdout
    assert f"{bad}: INVALID datastreams.Total.2023-04-02T00:07:00+12:00" in proc.stdout


def test_truth_labels_faults(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(family(faults={"missing_intervals": 0.05, "spikes": 0.02})))
    proc = meter("truth", "--config", str(path), "--day", "2024-06-15", check=True)
    truth = json.loads(proc.stdout)
    faults = [i for i in truth["intervals"] if i["faults"]]
    assert any(i["faults"] == ["missing"] and i["recorded"] is None for i in faults)
    spikes = [i for i in faults if "spike" in i["faults"]]
    assert spikes and all(float(i["recorded"]["Total"]) > float(i["true"]["Total"])
                          for i in spikes if float(i["true"]["Total"]) > 0)
    assert len(truth["intervals"]) == 288


def test_bulk_mode_runs_many_meters_in_their_own_folders(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(family(serial="town")))
    proc = meter("tick", "--config", str(path), "--data-dir", str(tmp_path / "fleet"),
                 "--count", "25", "--mix", "--at", "2024-06-10T06:00:00+02:00", check=True)
    assert proc.returncode == 0
    folders = sorted(p.name for p in (tmp_path / "fleet").iterdir())
    assert folders[0] == "town-0001" and folders[-1] == "town-0025" and len(folders) == 25
    # Each meter's open day, built from its journal as the agent and uploads build it.
    from meter import openday
    from meter.bulk import derive_all
    from meter.config import from_dict

    docs = [json.loads(openday.render(from_dict(m), tmp_path / "fleet" / m["serial"])[1])
            for m in derive_all(family(serial="town"), 25, True)]
    assert len({d["generator"]["archetype"] for d in docs}) >= 3
    assert len({d["generator"]["seed"] for d in docs}) == 25


def test_python_dash_m_and_help(tmp_path):
    proc = meter("--help", check=True)
    for command in ("tick", "backfill", "truth", "validate", "check-config"):
        assert command in proc.stdout


def test_bulk_meters_take_their_keys_from_a_keys_file(tmp_path):
    from meter.bulk import derive_all

    keys = {f"town-{i:04d}": f"key-{i}" for i in range(1, 4)}
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    base = family(serial="town", tempest_api_keys_file="keys.json")
    derived = derive_all(base, 3, False, tmp_path)
    assert [d["tempest_api_key"] for d in derived] == ["key-1", "key-2", "key-3"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(base))
    proc = meter("tick", "--config", str(path), "--count", "4", "--at",
                 "2024-06-10T06:00:00+02:00")
    assert proc.returncode == 2 and "no key for town-0004" in proc.stderr
