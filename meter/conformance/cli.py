"""`meter scenario` and `meter grade`: write a conformance scenario, grade an MDMS's output
against its truth (docs/conformance.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from core.durable import write_atomic
from meter.cli_options import fail
from meter.conformance import delivery, grader, scorecard, via_tempest
from meter.conformance.mdms_output import OutputError
from meter.conformance.scenarios import SCENARIOS

_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


@click.group("scenario")
def scenario() -> None:
    """MDMS conformance scenarios: real meters' quirks with their ground truth."""


@scenario.command("list")
def list_scenarios() -> None:
    """List the ready scenarios, one a line: name, then what it holds."""
    for sc in SCENARIOS.values():
        click.echo(f"{sc.name}\t{sc.summary}")


@scenario.command("write")
@click.argument("name")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--via", type=click.Choice(["files", "tempest"]), default="files",
              show_default=True,
              help="files: only the folder. tempest: also send the files, as day files in "
                   "arrival order, to the Tempest at --tempest-url, whose MDMS push forwards "
                   "them to its MDMS.")
@click.option("--tempest-url", metavar="URL", help="Tempest's base URL (with --via tempest).")
@click.option("--concentrator-key", envvar="METER_CONCENTRATOR_KEY", metavar="KEY",
              help="The key of a Tempest concentrator the scenario's serials are assigned to "
                   "(with --via tempest).")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=120, show_default=True,
              help="Seconds to wait for Tempest to answer and to ingest every file.")
def write_scenario(name: str, out: Path, via: str, tempest_url: str | None,
                   concentrator_key: str | None, timeout: float) -> None:
    """Write scenario NAME into the folder OUT: the files the meters send (OUT/delivery/, in
    arrival order; as NEM12 in OUT/delivery/nem12/), the sites an MDMS is told about
    (OUT/sites.csv) and, apart, the truth (OUT/truth/). Same name, same bytes, on any host.
    With --via tempest the sends also go to a Tempest (docs/conformance.md)."""
    sc = SCENARIOS.get(name)
    if sc is None:
        fail(f"NAME: no scenario {name!r} (one of {', '.join(SCENARIOS)})")
    if out.exists() and any(out.iterdir()):
        fail(f"OUT: {out} is not empty")
    if via == "tempest" and not tempest_url:
        fail("--tempest-url: needed with --via tempest")
    if via == "tempest" and not concentrator_key:
        fail("--concentrator-key: needed with --via tempest (or METER_CONCENTRATOR_KEY)")
    result = delivery.write(sc, out)
    if via == "tempest":
        _, sends = delivery.build(sc)
        try:
            result["tempest"] = via_tempest.deliver(via_tempest.day_files(sc, sends),
                                                    tempest_url, concentrator_key, timeout)
        except via_tempest.DeliveryError as exc:
            click.echo(f"meter: {exc}", err=True)
            raise SystemExit(1) from exc
    click.echo(json.dumps(result))


@click.command("grade")
@click.argument("scenario_dir", type=click.Path(path_type=Path))
@click.argument("mdms_output", type=click.Path(path_type=Path))
@click.option("--nem12-offset", default="+10:00", show_default=True, metavar="+HH:MM",
              help="The fixed UTC offset of the NEM12 file's days (NEM time).")
@click.option("--json", "json_out", type=click.Path(path_type=Path),
              help="Also write the scorecard as JSON to this file.")
@click.option("--html", "html_out", type=click.Path(path_type=Path),
              help="Also write the scorecard as an HTML page, failing days drawn against the truth.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="Exit 1 if the score (0 to 1) is below this.")
def grade(scenario_dir: Path, mdms_output: Path, nem12_offset: str, json_out: Path | None,
          html_out: Path | None, min_score: float | None) -> None:
    """Score an MDMS's validated readings of a scenario (CSV or NEM12, with quality flags, or
    what Tempest's MDMS push delivered, as JSON lines) against the scenario's truth; print the
    scorecard."""
    m = _OFFSET.fullmatch(nem12_offset)
    if not m:
        fail(f"--nem12-offset: {nem12_offset!r} is not +HH:MM")
    offset = (int(m[2]) * 60 + int(m[3])) * (-1 if m[1] == "-" else 1)
    try:
        card = grader.grade(scenario_dir, mdms_output, offset)
    except OutputError as exc:
        fail(str(exc))
    click.echo(scorecard.table(card), nl=False)
    if json_out:
        write_atomic(json_out, scorecard.to_json(card).encode())
    if html_out:
        write_atomic(html_out, scorecard.to_html(card).encode())
    if min_score is not None and card["score"] < min_score:
        raise SystemExit(1)
