"""Write docs/cli.md from the `meter` and `tempest` commands' own --help texts.

Usage: .venv/bin/python scripts/gen_cli_docs.py [--check]
--check exits 1 if docs/cli.md is not what this would write (tests/test_docs.py runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "cli.md"

HEADER = """# Command-line reference

Generated from each command's `--help` by `scripts/gen_cli_docs.py`; a test fails when this
file and the commands disagree, so it is always current. Run
`.venv/bin/python scripts/gen_cli_docs.py` after changing a command.

**Progress.** Every command that can run for more than a couple of seconds (`meter backfill`,
`meter redial`, `meter population`, `tempest ingest`, `tempest export`, `tempest meters add` for
many serials) draws one bar on stderr when stderr is a terminal: counts, rate, time left, then a
one-line summary. Piped or redirected, or with `--quiet`, it writes nothing; the result on
stdout is the same either way.
"""


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(click.Context(cmd))):
            sub = cmd.get_command(click.Context(cmd), name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name])


def _help(cmd: click.Command, path: list[str]) -> str:
    ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100)
    return cmd.get_help(ctx)


def render() -> str:
    from meter.cli import main as meter_main
    from tempest.cli import main as tempest_main

    parts = [HEADER]
    for prog, group in (("meter", meter_main), ("tempest", tempest_main)):
        parts.append(f"\n## `{prog}`\n")
        for path, cmd in _walk(group, [prog]):
            title = " ".join(path)
            level = "###" if len(path) > 1 else "####"
            if len(path) > 1:
                parts.append(f"\n{level} `{title}`\n")
            parts.append("\n```text\n" + _help(cmd, path).rstrip() + "\n```\n")
    return "".join(parts)


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print("docs/cli.md is out of date: run .venv/bin/python scripts/gen_cli_docs.py",
                  file=sys.stderr)
            sys.exit(1)
        return
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
