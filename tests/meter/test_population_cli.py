"""`meter population` writes its report: four PNG figures and a markdown page with the
numbers; a bad option is refused with exit code 2 and nothing written."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "meter", "population", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_population_report_has_its_figures_and_numbers(tmp_path):
    out = tmp_path / "report"
    r = run("--country", "GB", "--count", "12", "--admd-homes", "12", "--no-variants",
            "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out / "population.md")
    for name in ("annual", "admd", "shape", "weeks"):
        png = out / f"population-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"(population-{name}.png)" in (out / "population.md").read_text()
    page = (out / "population.md").read_text()
    assert "12 homes, GB, 2023, 30 minutes" in page
    assert "| 10 | " in page  # the ADMD of groups of 10 homes


def test_a_bad_country_is_refused(tmp_path):
    r = run("--country", "XX", "-o", str(tmp_path / "report"), cwd=tmp_path)
    assert r.returncode == 2
    assert "--country" in r.stderr
    assert not (tmp_path / "report").exists()
