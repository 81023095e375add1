"""The meter's installer (roles/wheelhouse's build_wheelhouse.py) run as the meter role runs it,
without Ansible: its gzip kind and its zstd kind give the same site-packages tree, and the
`meter` program works from that tree (config check, backfill, tick, the agent's imports), so
what the builder leaves out of a meter's tree (METER_UNUSED) is nothing a meter runs. A host
without zstd must fail loudly on the zstd kind, not get an empty tree.

The wheels are built from a snapshot of the sources into a wheelhouse of this test's own,
seeded with the dependency wheels the fleet tests' build holds (no download when it has them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.fleet import Lab
from tests.meter.configs import family
from tests.support import ci_guard

from .fleet import Fleet

BUILDER = Path(__file__).resolve().parents[2] / "roles/wheelhouse/files/build_wheelhouse.py"
PYTHON = "/usr/bin/python3"  # the meter role's meter_python


@pytest.fixture(scope="module")
def bundle(lab: Lab) -> dict:
    ci_guard.require_binary("zstd", PYTHON, why="apt-get install zstd python3")
    fleet = Fleet(lab, root=lab.dir / "ansible-installer")
    fleet.seed_wheelhouse()
    fleet.snapshot()
    done = subprocess.run([sys.executable, str(BUILDER), "--source", str(fleet.src),
                           "--wheelhouse", str(fleet.wheelhouse)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["bundles"]["meter"]


def install(installer: str, venv: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    folders = [venv.parent / f"{venv.name}-data", venv.parent / f"{venv.name}-log"]
    return subprocess.run(["sh", installer, str(venv), PYTHON, "marker1", *map(str, folders)],
                          capture_output=True, text=True, env=env, timeout=300)


def tree_of(venv: Path) -> dict[str, bytes]:
    site = next((venv / "lib").glob("python3.*/site-packages"))
    return {p.relative_to(site).as_posix(): p.read_bytes()
            for p in sorted(site.rglob("*")) if p.is_file()}


def test_both_installers_give_the_same_tree_and_a_working_meter(bundle, tmp_path):
    assert "installer_zstd" in bundle  # the controller has zstd (the fixture checked)
    gz, zst = tmp_path / "gz", tmp_path / "zst"
    for installer, venv in ((bundle["installer"]["path"], gz),
                            (bundle["installer_zstd"]["path"], zst)):
        done = install(installer, venv)
        assert done.returncode == 0 and done.stdout.strip() == "installed", done.stderr
        assert (venv / ".installed-marker1").is_file()
        assert oct((venv.parent / f"{venv.name}-data").stat().st_mode & 0o777) == "0o750"
    tree = tree_of(gz)
    assert tree == tree_of(zst)
    # What the builder left out is out; the compiled modules came with it.
    assert not any(name.startswith(("numpy/f2py/", "numpy/fft/", "numpy/ma/", "tempest/"))
                   for name in tree)
    assert any(name.startswith("numpy/__pycache__/") for name in tree)

    meter = str(zst / "bin" / "meter")
    config = tmp_path / "m" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps(family(serial="inst-1")))
    checked = subprocess.run([meter, "check-config", "--config", str(config)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and "inst-1" in checked.stdout, checked.stderr
    # numpy (and numpy.random) at work: a backfilled day and a tick, at fixed dates.
    for args in (["backfill", "--from", "2024-06-01", "--to", "2024-06-02", "--quiet"],
                 ["tick", "--at", "2024-06-03T10:07:00+02:00"]):
        done = subprocess.run([meter, *args, "--config", str(config)], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, (args, done.stderr)
    sealed = sorted(p.name for p in (config.parent / "outbox").glob("*.json"))
    assert len(sealed) >= 2, sealed
    # The agent's app, with Flask and jsonschema, imports from the tree as it is.
    imported = subprocess.run(
        [str(zst / "bin" / "python"), "-c",
         "import numpy, numpy.random, flask, jsonschema, requests, meter.agent.serve; print('ok')"],
        capture_output=True, text=True, timeout=120)
    assert imported.stdout.strip() == "ok", imported.stderr


def test_the_zstd_installer_refuses_a_host_without_zstd(bundle, tmp_path):
    # Every program of the PATH but zstd (the rest of what the installer runs stays).
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for program in Path("/usr/bin").iterdir():
        if not program.name.startswith("zstd") and not (bin_ / program.name).exists():
            (bin_ / program.name).symlink_to(program)
    env = {**os.environ, "PATH": str(bin_)}
    venv = tmp_path / "v"
    done = install(bundle["installer_zstd"]["path"], venv, env)
    assert done.returncode == 3 and "zstd is missing" in done.stderr, (done.stdout, done.stderr)
    assert not venv.exists()
    # The gzip kind, for such a host, installs without it.
    done = install(bundle["installer"]["path"], venv, env)
    assert done.returncode == 0 and (venv / "bin" / "meter").is_file(), done.stderr
