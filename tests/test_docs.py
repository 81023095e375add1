"""The docs stay true: the CLI reference matches the commands' --help, the README opens with
exactly the two set-up commands, and every relative link and every repository path written in
backticks in the README and docs/ resolves (the docs stand on their own)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"```.*?```", re.S)
# A backticked path that starts with one of these names a file of this repository.
REPO_TOPS = {"core", "loadmodel", "meter", "tempest", "pico", "roles", "playbooks", "inventory",
             "tests", "bench", "docs", "scripts", ".ci", ".githooks"}
# Paths the docs name on purpose that are not in the repository, and why.
NOT_IN_REPO = {
    "inventory/production/host_vars/kibo.yml": "the file a user writes to add a meter",
    "bench/out/nem12.json": "written by a benchmark run",
    "bench/out/load-meter.json": "written by a benchmark run",
    "bench/out/load-concentrator.json": "written by a benchmark run",
    "bench/out/bulk_host.json": "written by a benchmark run",
    "../x": "a hostile serial Tempest refuses",
}


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
    broken = []
    for page in doc_pages():
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            path = target.split("#")[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            *sorted((ROOT / "roles").glob("*/README.md"))]


def backticked_paths(text: str) -> list[str]:
    """Repository paths written in backticks outside code blocks: `core/tz.py`, `../foo.md`
    (a line number or a `::name` after the path is dropped)."""
    found = []
    for token in CODE.findall(FENCE.sub("", text)):
        path = re.sub(r"(:\d.*|::.*)$", "", token.strip())
        if not re.fullmatch(r"[\w./-]+", path) or "/" not in path:
            continue  # placeholders (<day>), globs, URLs' routes, prose
        if path.startswith("../") or path.split("/")[0] in REPO_TOPS:
            found.append(path)
    return found


def test_every_path_in_backticks_names_a_file_of_the_repository():
    broken = []
    for page in doc_pages():
        for path in backticked_paths(page.read_text()):
            if path in NOT_IN_REPO:
                continue
            base = page.parent if path.startswith("../") else ROOT
            if not (base / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: `{path}`")
    assert broken == []


def test_the_path_check_sees_what_it_must():
    text = "See `core/no_such.py:12`, `../shared/x.md`, not `data/<day>.json` or `/api/v1`.\n" \
           "```\nmeter/in_a_fence.py\n```\n"
    assert backticked_paths(text) == ["core/no_such.py", "../shared/x.md"]


def test_the_docs_a_newcomer_needs_exist():
    for name in ("quickstart", "day-file", "api", "deploy", "add-a-meter", "pico", "load-model",
                 "faults", "sinks", "exports", "operations", "cli", "security", "reliability",
                 "architecture", "seed"):
        page = ROOT / "docs" / f"{name}.md"
        assert page.exists() and len(page.read_text()) > 1500, name
        assert f"(docs/{name}.md)" in (ROOT / "README.md").read_text(), f"README lacks {name}"
