"""The commit-msg hook (.githooks/commit-msg, installed by scripts/setup.sh) holds commits to a
subject of at most 72 characters, a blank line, and a body that says why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parent.parent / ".githooks" / "commit-msg"
GOOD = "store: keep the newest day\n\nA redial used to replace a fuller day with a shorter one.\n"


def run_hook(tmp_path: Path, message: str) -> subprocess.CompletedProcess:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(message)
    return subprocess.run([str(HOOK), str(path)], capture_output=True, text=True, timeout=30)


def test_a_short_subject_and_a_body_pass(tmp_path):
    res = run_hook(tmp_path, GOOD + "# Please enter the commit message...\n")
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(("message", "says"), [
    ("x" * 73 + "\n\nwhy\n", "73 characters"),
    ("store: keep the newest day\n", "no body"),
    ("store: keep the newest day\n\n# only a comment\n", "no body"),
    ("store: keep the newest day\nwhy, with no blank line\n", "second line must be blank"),
    ("\n\nwhy\n", "subject"),
])
def test_a_long_subject_or_a_missing_body_is_refused(tmp_path, message, says):
    res = run_hook(tmp_path, message)
    assert res.returncode == 1
    assert says in res.stderr


def test_setup_installs_the_hook():
    setup = (HOOK.parent.parent / "scripts" / "setup.sh").read_text()
    assert "git config core.hooksPath .githooks" in setup
