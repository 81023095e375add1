"""The `meter` and `tempest` CLIs have no import cycles.

Each group's module (meter/cli.py, tempest/cli.py) imports its command modules; those import
only the shared options module (meter/cli_options.py, tempest/cli_options.py), never the
group's module and never each other. Read from the sources (ast), so an import hidden inside
a function counts too.
"""

from __future__ import annotations

from pathlib import Path

import click

from tests.support.imports import imported

REPO = Path(__file__).resolve().parent.parent
GROUPS = {"meter": REPO / "meter" / "cli.py", "tempest": REPO / "tempest" / "cli.py"}
COMMAND_MODULES = {
    "meter.cli_delivery": REPO / "meter" / "cli_delivery.py",
    "meter.cli_migrate": REPO / "meter" / "cli_migrate.py",
    "tempest.cli_meters": REPO / "tempest" / "cli_meters.py",
    "tempest.cli_concentrators": REPO / "tempest" / "cli_concentrators.py",
    "tempest.sinks.cli": REPO / "tempest" / "sinks" / "cli.py",
    "tempest.exports.cli": REPO / "tempest" / "exports" / "cli.py",
}


def test_command_modules_import_neither_the_group_nor_each_other():
    forbidden = {"meter.cli", "tempest.cli", *COMMAND_MODULES}
    bad = []
    for name, path in COMMAND_MODULES.items():
        for module in sorted(imported(path) & (forbidden - {name})):
            bad.append(f"{path.relative_to(REPO)} imports {module}")
    assert bad == []


def test_groups_import_their_commands_at_the_top():
    for path in [*GROUPS.values(), *COMMAND_MODULES.values()]:
        assert "noqa: E402" not in path.read_text(), path


def test_the_delivery_commands_are_module_level_commands_on_the_group():
    from meter import cli, cli_delivery

    names = ("upload", "sync", "deliver", "heartbeat", "redial", "agent")
    for name in names:
        command = getattr(cli_delivery, name)
        assert isinstance(command, click.Command), name
        assert cli.main.commands[name] is command, name
