"""The `meter` and `tempest` CLIs have no import cycles, and `meter` starts light.

Each group's module (meter/cli.py, tempest/cli.py) imports its command modules (meter/cli.py
only when that command runs: every agent start, config check and cron tick of a deployed
meter pays for what its command imports); those import only the shared options module
(meter/cli_options.py, tempest/cli_options.py), never the group's module and never each
other. Read from the sources (ast), so an import hidden inside a function counts too.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
    ctx = click.Context(cli.main)
    for name in names:
        command = getattr(cli_delivery, name)
        assert isinstance(command, click.Command), name
        assert cli.main.get_command(ctx, name) is command, name


# -- the `meter` group imports a command's module only when that command runs -----------------

def test_every_lazy_command_is_listed_and_is_the_command_of_its_name():
    from meter import cli

    ctx = click.Context(cli.main)
    assert set(cli.LAZY_COMMANDS) <= set(cli.main.list_commands(ctx))
    for name in cli.LAZY_COMMANDS:
        command = cli.main.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name, name
    assert cli.main.get_command(ctx, "no-such-command") is None


def modules_after(code: str) -> set[str]:
    """The modules a fresh Python holds after running `code` (this one has imported them all)."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


# What no `meter` command needs just to start: each command that uses one imports it itself.
HEAVY = {"numpy", "flask", "requests", "jinja2", "matplotlib"}


def test_the_meter_group_imports_no_command_module_and_nothing_heavy():
    from meter import cli

    lazy = {target.split(":")[0] for target in cli.LAZY_COMMANDS.values()}
    loaded = modules_after("import meter.cli")
    assert "meter.cli" in loaded
    assert loaded & (lazy | HEAVY | {"meter.operations", "meter.registers"}) == set()


def test_a_command_loads_its_own_module_and_no_other_command_module():
    from meter import cli

    loaded = modules_after("from meter.cli import main\n"
                           "main(['heartbeat', '--help'], standalone_mode=False)")
    assert "meter.cli_delivery" in loaded
    others = {target.split(":")[0] for target in cli.LAZY_COMMANDS.values()} - {"meter.cli_delivery"}
    assert loaded & others == set()


def test_the_agent_starts_without_numpy_or_requests():
    # Its tick, delivery and redial routes import them when they run (meter/agent/actions.py).
    loaded = modules_after("from meter.agent import create_app\n"
                           "create_app({'CONFIG_PATH': '/nonexistent/config.json'})")
    assert "flask" in loaded
    assert loaded & {"numpy", "requests", "meter.operations", "meter.delivery.redial"} == set()
