"""CI cannot pass by skipping: dependency skips, and what each suite ran (docs/reliability.md).

A test that cannot run because something it needs is missing here (a binary, a Python package,
root, a kernel capability, a server) skips through this module, never through a bare
`pytest.skip`:

    ci_guard.require_binary("micropython", "mpy-cross", why="...")   # names or paths
    ci_guard.require_root("a small tmpfs needs root to mount")
    ci_guard.require_module("playwright", "the dev extra has it")
    ci_guard.skip_missing("CAP_SYS_ADMIN", "cannot mount a tmpfs: ...")  # any other check
    pytestmark = ci_guard.skip_unless(LIBFAKETIME.exists(), str(LIBFAKETIME), "...")
    ci_guard.left_out("a full disk", why)   # a test that runs, but without one of its parts

Each gives the skip a reason starting with `missing dependency: `. Loaded as a plugin
(pyproject's addopts: `-p tests.support.ci_guard`), this module turns such a skip into a
failure when the environment says CI (CI=true or CI=1): the report names the suite and what
is missing. Developers without CI still get skips. Any other skip (a platform, a setting that
deliberately leaves a test out) stays an ordinary `pytest.skip` with a reason, and never fails.

At the end of the session the plugin prints one line per suite (a top-level folder under
tests/, or a test file directly in it): tests that ran, passed, failed, skipped, and every
distinct skip reason.
"""

from __future__ import annotations

import importlib
import os
import shutil
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import NoReturn

import pytest

PREFIX = "missing dependency: "
CI_VALUES = {"true", "1", "yes"}
# Kept on a converted report (user_properties survive report serialisation).
PROPERTY = "ci_guard_missing_dependency"


def in_ci() -> bool:
    """Whether this run is CI's: there a missing dependency fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def reason(what: str, why: str = "") -> str:
    """The skip reason of a dependency skip: 'missing dependency: <what> (<why>)'."""
    return PREFIX + what + (f" ({why})" if why else "")


def is_dependency_skip(text: str) -> bool:
    return text.startswith(PREFIX)


def skip_missing(what: str, why: str = "") -> NoReturn:
    """Skip (fail under CI) because `what` is missing here; `why` says how to get it."""
    raise pytest.skip.Exception(reason(what, why), allow_module_level=True)


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        skip_missing("root", why)


def require_binary(*names: str, why: str = "",
                   find: Callable[[str], object] | None = None) -> None:
    """Every program in `names` must exist: a path (checked as is) or a name (on PATH, or
    whatever `find(name)` returns, e.g. a lookup in the venv's bin folder first)."""
    def present(name: str) -> bool:
        if "/" in name:
            return os.access(name, os.X_OK)
        return bool((find or shutil.which)(name))
    missing = [n for n in names if not present(n)]
    if missing:
        skip_missing(", ".join(missing), why)


def require_module(name: str, why: str = "") -> ModuleType:
    """The imported module `name`; a dependency skip if it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        skip_missing(f"the Python package {name}", why or str(e))


def skip_unless(present: bool, what: str, why: str = "") -> pytest.MarkDecorator:
    """A `pytestmark`/decorator form: a dependency skip unless `present`."""
    return pytest.mark.skipif(not present, reason=reason(what, why))


def left_out(what: str, why: str) -> None:
    """A test runs without one of its parts because `what` is missing: under CI that fails
    the test (CI must run all of it); otherwise a warning says what was left out."""
    text = f"ran without {what}: {reason(what, why)}"
    if in_ci():
        pytest.fail(f"CI=true: {text}", pytrace=False)
    warnings.warn(text, stacklevel=2)


# -- the plugin ------------------------------------------------------------------------------


def suite_of(nodeid: str) -> str:
    """'tests/pico/test_x.py::t' -> 'tests/pico'; 'tests/test_docs.py::t' -> itself."""
    parts = nodeid.split("::")[0].split("/")
    if parts[0] == "tests" and len(parts) > 1:
        return "/".join(parts[:2])
    return parts[0]


def skip_text(report) -> str:
    """The reason of a skipped report ('Skipped: ' taken off)."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


@dataclass
class _Crash:
    path: str
    lineno: int
    message: str


class CiFailure:
    """The longrepr of a dependency skip turned into a failure: one message, shown in the
    failure section and on the short summary line (reprcrash)."""

    def __init__(self, message: str, path: str, lineno: int):
        self.message = message
        self.reprcrash = _Crash(path, lineno, message)

    def toterminal(self, tw) -> None:
        tw.line(self.message, red=True)

    def __str__(self) -> str:
        return self.message


def ci_message(suite: str, text: str) -> str:
    return (f"CI=true: {suite} skipped for a {text}. CI must not pass by skipping: install it "
            "(scripts/setup.sh --test, as root) or run the suite where it can run.")


def _convert(report, suite: str) -> None:
    """Turn a dependency skip into a failure in place (only under CI)."""
    if not (report.skipped and in_ci() and not hasattr(report, "wasxfail")):
        return
    text = skip_text(report)
    if not is_dependency_skip(text):
        return
    path, lineno = ((report.longrepr[0], report.longrepr[1])
                    if isinstance(report.longrepr, tuple) else (suite, 0))
    report.outcome = "failed"
    report.longrepr = CiFailure(ci_message(suite, text), str(path), lineno or 0)
    report.user_properties.append((PROPERTY, text))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _convert(report, suite_of(report.nodeid))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped and in_ci() and not hasattr(report, "user_properties"):
        report.user_properties = []
    _convert(report, suite_of(report.nodeid or "."))
    return report


class SuiteSummary:
    """Per suite: each test's outcome, and the reason of each skip (the end-of-session table)."""

    RANK = {"passed": 0, "skipped": 1, "failed": 2}

    def __init__(self):
        self.outcomes: dict[str, tuple[str, str]] = {}  # nodeid -> (outcome, skip reason)
        self.ci_failed: dict[str, str] = {}  # nodeid -> the dependency skip CI failed

    def record(self, nodeid: str, outcome: str, why: str = "") -> None:
        old = self.outcomes.get(nodeid)
        if old is None or self.RANK[outcome] > self.RANK[old[0]]:
            self.outcomes[nodeid] = (outcome, why)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report) -> None:
        for name, value in getattr(report, "user_properties", ()):
            if name == PROPERTY:
                self.ci_failed[report.nodeid] = value
        if report.skipped and hasattr(report, "wasxfail"):
            self.record(report.nodeid, "passed")  # an expected failure, as expected
        elif report.skipped:
            self.record(report.nodeid, "skipped", skip_text(report))
        elif report.failed:
            self.record(report.nodeid, "failed")
        elif report.when == "call":
            self.record(report.nodeid, "passed")

    @pytest.hookimpl
    def pytest_collectreport(self, report) -> None:
        # A whole module skipped (e.g. a module-level dependency skip) counts as one skip.
        if report.skipped:
            self.record(report.nodeid, "skipped", skip_text(report))
        elif report.failed and report.nodeid:
            self.record(report.nodeid, "failed")
        for name, value in getattr(report, "user_properties", ()):
            if name == PROPERTY:
                self.ci_failed[report.nodeid] = value

    def rows(self) -> list[tuple[str, Counter]]:
        counts: dict[str, Counter] = defaultdict(Counter)
        for nodeid, (outcome, _) in self.outcomes.items():
            counts[suite_of(nodeid)][outcome] += 1
        return sorted(counts.items())

    def reasons(self) -> list[tuple[str, str, int]]:
        seen: Counter = Counter()
        for nodeid, (outcome, why) in self.outcomes.items():
            if outcome == "skipped":
                seen[(suite_of(nodeid), why)] += 1
        for nodeid, why in self.ci_failed.items():
            seen[(suite_of(nodeid), f"failed under CI=true: {why}")] += 1
        return sorted((suite, why, n) for (suite, why), n in seen.items())

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        rows = self.rows()
        if not rows:
            return
        tr = terminalreporter
        tr.write_sep("=", "suites: what ran, what was skipped and why")
        width = max(len("suite"), *(len(s) for s, _ in rows))
        tr.write_line(f"{'suite':<{width}}  {'ran':>5}  {'passed':>6}  {'failed':>6}  "
                      f"{'skipped':>7}  status")
        for suite, c in rows:
            ran = c["passed"] + c["failed"]
            status = ("failed" if c["failed"] else "skipped" if not ran
                      else "partly skipped" if c["skipped"] else "ran")
            tr.write_line(f"{suite:<{width}}  {ran:>5}  {c['passed']:>6}  {c['failed']:>6}  "
                          f"{c['skipped']:>7}  {status}")
        reasons = self.reasons()
        if reasons:
            tr.write_line("skip reasons (a 'missing dependency' fails under CI=true):")
            for suite, why, n in reasons:
                tr.write_line(f"  {suite}: {n} x {why}")
        if self.ci_failed:
            tr.write_line(f"CI=true: {len(self.ci_failed)} test(s) failed because a dependency "
                          "is missing (above)", red=True, bold=True)


def pytest_configure(config) -> None:
    config.pluginmanager.register(SuiteSummary(), "ci_guard_summary")
