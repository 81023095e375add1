"""Click options and helpers every `tempest` subcommand shares.

A module of its own so the subcommand modules (tempest/cli_meters.py, tempest/sinks/cli.py,
tempest/exports/cli.py) import it and never tempest/cli.py, which imports them: no cycle.
Bad values exit with status 2 and a message naming the option, as click does.
"""

from __future__ import annotations

from pathlib import Path

import click

from tempest import create_app, names
from tempest.settings import DEFAULT_DATA_DIR, SettingsError

DATA_DIR_HELP = ("Folder for the store, drop, archive and quarantine folders "
                 f"(default {DEFAULT_DATA_DIR}).")


def data_dir_option(f):
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="TEMPEST_DATA_DIR", default=DEFAULT_DATA_DIR,
                        show_default=False, help=DATA_DIR_HELP)(f)


def app_for(data_dir: Path, **overrides):
    """The app on `data_dir` with its settings checked (a bad setting is a usage error)."""
    try:
        return create_app(overrides={"DATA_DIR": str(data_dir), **overrides})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


def day_option(name: str, help_text: str):
    """A required date option (`--from` -> `from_day`), checked as YYYY-MM-DD."""
    def check(ctx, param, value):
        if not names.valid_day(value):
            raise click.BadParameter("a date YYYY-MM-DD", ctx=ctx, param=param)
        return value

    return click.option(name, name.lstrip("-").replace("-", "_") + "_day", required=True,
                        callback=check, help=help_text)


quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="No progress bar (it shows only on a terminal anyway).")


def serial_option(f):
    """`--serial` (repeatable, into `serials`): only these meters."""
    def check(ctx, param, values):
        for v in values:
            if not names.valid_serial(v):
                raise click.BadParameter(f"{v!r} is not a serial", ctx=ctx, param=param)
        return values

    return click.option("--serial", "serials", multiple=True, callback=check,
                        help="Only this meter (repeat for several; default: every meter).")(f)
