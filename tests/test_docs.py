"""The docs stay true: the CLI reference matches the commands' --help, the README opens with
exactly the two set-up commands, and every relative link in the README and docs/ resolves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_cli_reference_is_generated_from_the_current_help():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), "--check"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_reference_covers_every_command():
    text = (ROOT / "docs" / "cli.md").read_text()
    for command in ("meter tick", "meter backfill", "meter redial", "meter run", "meter truth",
                    "tempest serve", "tempest ingest", "tempest sinks replay", "tempest export"):
        assert f"`{command}`" in text, command


def test_readme_opens_with_exactly_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block and text.index(first_block.group(0)) < text.index("\n## ")
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()
                if line.strip()]
    assert commands == ["scripts/up.sh", "scripts/test.sh"]
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("exec scripts/test.sh")
    for script in commands:
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is not executable"


def test_every_relative_link_in_the_docs_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "roles").glob("*/README.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            path = target.split("#")[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_docs_a_newcomer_needs_exist():
    for name in ("quickstart", "day-file", "api", "deploy", "add-a-meter", "pico", "load-model",
                 "faults", "sinks", "exports", "operations", "cli", "security", "reliability"):
        page = ROOT / "docs" / f"{name}.md"
        assert page.exists() and len(page.read_text()) > 1500, name
        assert f"(docs/{name}.md)" in (ROOT / "README.md").read_text(), f"README lacks {name}"
