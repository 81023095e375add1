"""The open day's file, built from its journal when someone asks for it.

The tick appends each interval to `data/<day>.journal` and nothing else: the journal is the
open day's only durable record, and rebuilding the whole day file after every tick cost several
times the tick itself. The agent's `GET /day`, `POST /day`, redials with the open day and
`delivery.upload_open_day` call `render()` instead, which builds the same bytes the tick would
have written (status "open") from the journal as it is now. It only reads, so it never waits
for or disturbs a tick running at the same moment (docs/delivery.md, "The meter's folder").
"""

from __future__ import annotations

import io
from pathlib import Path

from core import civil
from loadmodel import sealer
from loadmodel.engine import MeterModel
from loadmodel.ticker import Ticker
from meter.config import Config
from meter.storage import DiskFS


class _ReadOnlyFS(DiskFS):
    """A reader must not make the tick's folders (Ticker() would create missing ones)."""

    def makedirs(self, d: str) -> None:
        pass


def render(cfg: Config, root: Path, day: int | None = None) -> tuple[int, bytes] | None:
    """(day number, day-file bytes) of the open day, or None when no day is open (or the open
    day is not `day`)."""
    root = Path(root)
    if not (root / "data").is_dir():
        return None
    t = Ticker(MeterModel(cfg.model), cfg.model, _ReadOnlyFS(), str(root), None,
               buffer_rows=True)
    out = io.StringIO()
    got = sealer.render_open(t, out, day)
    if got is None:
        return None
    return got, out.getvalue().encode("utf-8")


def file_name(day: int) -> str:
    """The name the open day is sent under: `<day>.json`, as it was kept in data/."""
    return civil.format_day(day) + ".json"
