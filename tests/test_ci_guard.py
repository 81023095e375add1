"""The CI guard (tests/support/ci_guard.py): under CI=true a skip for a missing dependency fails
the run and names what is missing and the suite; without CI it is a skip; an ordinary skip
never fails; the end-of-session table lists every suite and each skip reason.

Each test runs an inner pytest session (pytester) on test files written here, with the
guard loaded as the test command loads it (`-p tests.support.ci_guard`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ci_guard

pytest_plugins = ["pytester"]

MISSING = "/nonexistent/meters-tool"
ROOT = Path(__file__).resolve().parents[1]
BARE_SKIP = re.compile(r"pytest\.skip\(|mark\.skipif\(|mark\.skip\(|importorskip\(")
# The skips that are not for a missing dependency, so stay ordinary (they never fail CI): file
# -> (how many, why). A dependency skip goes through ci_guard instead.
ORDINARY_SKIPS = {
    "tests/lab/fixtures.py": (1, "METERS_LAB_NAMESPACE=0 turned the lab's namespace off"),
    "tests/ansible/conftest.py": (1, "METERS_LAB_METERS set below what the fleet tests deploy"),
    "tests/ansible/test_roles.py": (1, "METERS_LAB_METERS set below what the role tests use"),
    "tests/ansible/test_cluster_deploy.py": (1, "METERS_LAB_METERS set below what the cluster "
                                                "test's hosts need"),
}

DEPENDENCY_SKIP = f"""
from tests.support import ci_guard

def test_needs_a_tool():
    ci_guard.require_binary({MISSING!r}, why="apt-get install meters-tool")
"""

ORDINARY_SKIP = """
import pytest

def test_only_somewhere_else():
    pytest.skip("only meaningful on a Pico W")

def test_runs():
    assert 1 + 1 == 2
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None,
        files: dict[str, str]) -> pytest.RunResult:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    for path, text in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return pytester.runpytest("-p", "tests.support.ci_guard", "-p", "no:cacheprovider", "-rA")


def test_under_ci_a_dependency_skip_fails_and_names_the_dependency_and_the_suite(
        pytester, monkeypatch):
    result = run(pytester, monkeypatch, "true", {"tests/pico/test_tool.py": DEPENDENCY_SKIP})
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert f"CI=true: tests/pico skipped for a missing dependency: {MISSING}" in out
    assert "apt-get install meters-tool" in out
    # On the short summary line too, where a CI log is read first.
    result.stdout.fnmatch_lines([f"FAILED tests/pico/test_tool.py::test_needs_a_tool - CI=true*"
                                 f"{MISSING}*"])


def test_without_ci_a_dependency_skip_is_a_skip(pytester, monkeypatch):
    for ci in (None, "false", "0", ""):
        result = run(pytester, monkeypatch, ci, {"tests/pico/test_tool.py": DEPENDENCY_SKIP})
        result.assert_outcomes(skipped=1)
        assert result.ret == pytest.ExitCode.OK, ci
        result.stdout.fnmatch_lines([f"SKIPPED*missing dependency: {MISSING} (apt-get*"])


def test_an_ordinary_skip_never_fails_even_under_ci(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "true", {"tests/pico/test_platform.py": ORDINARY_SKIP})
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.OK


def test_every_form_of_dependency_skip_fails_under_ci(pytester, monkeypatch):
    """Root, a Python package, a skipif mark, a session fixture shared by two tests (as the
    lab's is) and a whole module: each is one failure or error naming what is missing."""
    files = {
        "tests/lab/test_forms.py": """
import pytest
from tests.support import ci_guard

@pytest.fixture(scope="session")
def fleet():
    ci_guard.skip_missing("a lab fleet", "sshd is missing")

def test_one(fleet):
    pass

def test_two(fleet):
    pass

def test_package():
    ci_guard.require_module("no_such_package_for_meters", "the dev extra has it")

@ci_guard.skip_unless(False, "/usr/lib/libnothing.so", "apt-get install nothing")
def test_marked():
    pass
""",
    }
    result = run(pytester, monkeypatch, "true", files)
    result.assert_outcomes(errors=3, failed=1)  # the fixture's two and the mark's at setup
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    for text in ("tests/lab skipped for a missing dependency: a lab fleet (sshd is missing)",
                 "missing dependency: the Python package no_such_package_for_meters",
                 "missing dependency: /usr/lib/libnothing.so (apt-get install nothing)"):
        assert text in out, text


def test_a_module_level_dependency_skip_is_a_collection_error_under_ci(pytester, monkeypatch):
    files = {"tests/ui/test_module.py": """
from tests.support import ci_guard
ci_guard.skip_missing("chromium", "the browser tests drive it")

def test_never_collected():
    pass
"""}
    result = run(pytester, monkeypatch, "true", files)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "*CI=true: tests/ui skipped for a missing dependency: chromium (the browser tests*",
        "tests/ui * 1 * 0 * 1 * 0 * failed"])
    result = run(pytester, monkeypatch, None, files)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["tests/ui * 0 * 0 * 0 * 1 * skipped"])


def test_require_root_and_binaries_that_are_there_do_not_skip(pytester, monkeypatch):
    result = run(pytester, monkeypatch, "true", {"tests/pico/test_present.py": """
import os, sys
from tests.support import ci_guard

def test_present():
    ci_guard.require_binary(sys.executable, "sh", why="always there")
    assert ci_guard.require_module("json").dumps(1) == "1"
    if os.geteuid() == 0:
        ci_guard.require_root("root is there")
"""})
    result.assert_outcomes(passed=1)


def test_left_out_fails_under_ci_and_warns_otherwise(pytester, monkeypatch):
    files = {"tests/hardening/test_part.py": """
from tests.support import ci_guard

def test_most_of_it():
    ci_guard.left_out("a full disk", "not root: a small tmpfs needs root to mount")
"""}
    result = run(pytester, monkeypatch, "true", files)
    result.assert_outcomes(failed=1)
    assert "CI=true: ran without a full disk: missing dependency: a full disk" in \
        result.stdout.str()
    result = run(pytester, monkeypatch, None, files)
    result.assert_outcomes(passed=1, warnings=1)
    assert "ran without a full disk" in result.stdout.str()


def test_the_summary_lists_each_suite_and_each_skip_reason(pytester, monkeypatch):
    files = {"tests/pico/test_tool.py": DEPENDENCY_SKIP,
             "tests/ui/test_platform.py": ORDINARY_SKIP,
             "tests/test_top.py": "def test_a():\n    pass\n\ndef test_b():\n    assert False\n"}
    result = run(pytester, monkeypatch, None, files)
    result.stdout.fnmatch_lines([
        "*= suites: what ran, what was skipped and why =*",
        "suite * ran * passed * failed * skipped * status",
        "tests/pico * 0 * 0 * 0 * 1 * skipped",
        "tests/test_top.py * 2 * 1 * 1 * 0 * failed",
        "tests/ui * 1 * 1 * 0 * 1 * partly skipped",
        "skip reasons*",
        f"  tests/pico: 1 x missing dependency: {MISSING} (apt-get install meters-tool)",
        "  tests/ui: 1 x only meaningful on a Pico W",
    ])
    # Under CI the dependency skip is listed as the failure it became.
    result = run(pytester, monkeypatch, "true", files)
    result.stdout.fnmatch_lines([
        "tests/pico * 1 * 0 * 1 * 0 * failed",
        f"  tests/pico: 1 x failed under CI=true: missing dependency: {MISSING}*",
        "CI=true: 1 test(s) failed because a dependency is missing*",
    ])


@pytest.mark.parametrize(("nodeid", "suite"), [
    ("tests/pico/test_month.py::test_x", "tests/pico"),
    ("tests/ui/deep/test_y.py::test_z[1]", "tests/ui"),
    ("tests/test_docs.py::test_a", "tests/test_docs.py"),
    ("test_alone.py::test_b", "test_alone.py"),
])
def test_suite_is_the_top_level_folder_under_tests(nodeid, suite):
    assert ci_guard.suite_of(nodeid) == suite


def test_ci_is_true_or_1_or_yes(monkeypatch):
    for value, expected in (("true", True), ("TRUE", True), ("1", True), ("yes", True),
                            ("false", False), ("0", False), ("", False)):
        monkeypatch.setenv("CI", value)
        assert ci_guard.in_ci() is expected, value
    monkeypatch.delenv("CI")
    assert ci_guard.in_ci() is False


def test_every_bare_skip_in_the_suites_is_a_known_ordinary_skip():
    """A new `pytest.skip` for a missing dependency would let CI pass by skipping: each bare
    skip is listed above with why it is not one."""
    found = {}
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in ("tests/support/ci_guard.py", "tests/test_ci_guard.py"):
                continue
            n = len(BARE_SKIP.findall(path.read_text()))
            if n:
                found[name] = n
    assert found == {name: n for name, (n, _) in ORDINARY_SKIPS.items()}, (
        "a skip for a missing dependency goes through tests/support/ci_guard.py; an ordinary "
        "one is added to ORDINARY_SKIPS with why")
