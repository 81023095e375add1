"""A running meter's own quirks (`quirks` in its config.json, docs/config.md#quirks).

The meter records and seals its day as always (data/, its registers, `meter truth`'s recorded
values stay the truth); only what it delivers changes. When a day is sealed, the quirks in
force that day turn the sealed file into the files a meter with them sends, through the same
pure functions the scenarios use (meter/conformance/quirks.py), and each file goes to the
outbox, or to held/ until it is due (the Ticker's own release rule), so the upload, rsync and
MQTT passes deliver them as they are.

Which days a quirk hits, and which block a revised day estimates, is drawn from the meter's
seed and the day: the same config sends the same files on any host, and `meter truth` says
what it sent and what a correct MDMS should conclude (`labels`).

A day file must keep the day-file contract, or Tempest quarantines it (docs/day-file.md):
- its closing register is always the opening plus its intervals, so a register that rolls
  over shows it between days (the next opening is below this closing), and a revised day's
  estimates move the closing with them;
- its timestamps are local time with the zone's offset, each once, so a clock convention
  (`clock`) cannot be written into it: the meter keeps the contract's timestamps and `meter
  truth` shows what its clock would have written (`stamped`); the scenarios' files carry them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from core import civil, dayfile_reader, dayfile_writer, tz
from core.dayfile_common import ESTIMATED, MISSING, parse_ts
from loadmodel import sealer
from loadmodel.ticker import Ticker
from meter.conformance import quirks

DEFAULT_REVISE_AFTER_DAYS = 3
DUPLICATE_MISSING_TAIL = 4
_QUALITY_OUT = {quirks.ESTIMATED_Q: dayfile_writer.QUALITY_ESTIMATED,
                quirks.MISSING_Q: dayfile_writer.QUALITY_MISSING, quirks.ACTUAL_Q: None}


def _draw(seed: int, day: int, what: str) -> int:
    """A 32-bit number from the meter's seed, the day and the quirk: the same on every host
    (sha256, not crc32: neighbouring days' draws must not move together)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{day}:{what}".encode()).digest()[:4], "big")


def _hits(p: float, seed: int, day: int, what: str) -> bool:
    return p > 0 and _draw(seed, day, what) < p * (1 << 32)


@dataclass(frozen=True)
class MeterQuirks:
    """One meter's quirks, as its config gives them (schema: meter/schema/config.schema.json)."""

    seed: int
    clock: str = "local_dst"
    zeros_for_missing: bool = False
    multiplier: int = 1
    rollover_wh: int = 0  # 0: the register never rolls over
    revised_p: float = 0.0
    revise_after_days: int = DEFAULT_REVISE_AFTER_DAYS
    out_of_order_p: float = 0.0
    duplicate_p: float = 0.0

    @classmethod
    def of(cls, cfg) -> MeterQuirks | None:
        """The quirks of a meter's config (meter.config.Config), or None if it has none."""
        q = cfg.raw.get("quirks")
        if not q:
            return None
        return cls(seed=cfg.model["seed"], clock=q.get("clock", "local_dst"),
                   zeros_for_missing=q.get("zeros_for_missing", False),
                   multiplier=q.get("multiplier", 1),
                   rollover_wh=q.get("register_rollover_kwh", 0) * 1000,
                   revised_p=q.get("revised_days", 0.0),
                   revise_after_days=q.get("revise_estimates_after_days",
                                           DEFAULT_REVISE_AFTER_DAYS),
                   out_of_order_p=q.get("out_of_order_days", 0.0),
                   duplicate_p=q.get("duplicate_different_days", 0.0))

    def on_day(self, day: int, intervals: int) -> list[tuple[str, dict]]:
        """The data quirks in force on `day` (a day of `intervals` intervals), with their
        parameters, in the order they apply: the content first, then how it is sent."""
        out: list[tuple[str, dict]] = []
        if self.zeros_for_missing:
            out.append(("zeros_for_missing", {}))
        if self.multiplier > 1:
            out.append(("multiplier", {"factor": self.multiplier}))
        if self.rollover_wh:
            out.append(("register_rollover", {"wrap_wh": self.rollover_wh}))
        if _hits(self.revised_p, self.seed, day, "revised"):
            # A block of a quarter of the day at most, somewhere in it.
            length = 1 + _draw(self.seed, day, "revised-length") % max(1, intervals // 4)
            first = _draw(self.seed, day, "revised-first") % (intervals - length + 1)
            out.append(("revised", {"first": first, "last": first + length - 1,
                                    "after_days": self.revise_after_days}))
        if _hits(self.duplicate_p, self.seed, day, "duplicate_different"):
            out.append(("duplicate_different",
                        {"missing_tail": min(DUPLICATE_MISSING_TAIL, intervals - 1)}))
        if _hits(self.out_of_order_p, self.seed, day, "out_of_order"):
            out.append(("out_of_order", {}))
        return out

    def labels(self, day: int, intervals: int) -> list[dict]:
        """`meter truth`'s list: every quirk in force on the day, with what a correct MDMS
        concludes from it (quirks.CONCLUSIONS)."""
        found = [(self.clock, {})] if self.clock != "local_dst" else []
        found += self.on_day(day, intervals)
        out = []
        for name, params in found:
            shown = {k: v for k, v in params.items() if k != "wrap_wh"}
            if name == "register_rollover":
                shown["rolls_over_at_kwh"] = self.rollover_wh // 1000
            out.append({"quirk": name, "params": shown,
                        "conclusion": self._conclusion(name)})
        return out

    def _conclusion(self, name: str) -> str:
        """quirks.CONCLUSIONS, said for a day file where it differs (module docstring)."""
        if name == "register_rollover":
            kwh = f"{self.rollover_wh // 1000:,}"
            return (f"The register rolls over at {kwh} kWh: an opening below the day "
                    f"before's closing is a rollover (add {kwh} kWh), never negative "
                    "consumption; a day's energy is its intervals.")
        if name == "zeros_for_missing":
            return ("Zeros flagged actual where the meter recorded nothing (a day file's "
                    "register counts only what was recorded, so it cannot tell): question a "
                    "run of exact zeros from a household that always draws something; flag "
                    "them missing and estimate them.")
        return quirks.CONCLUSIONS[name]

    def stamp(self, end: int, zone: tz.Zone, interval: int) -> str:
        """The timestamp this meter's clock writes for the interval ending at UTC minute end."""
        return quirks.CLOCKS[self.clock](end, zone, interval)


# -- a sealed day file into the files the meter sends ------------------------------------------

def sends_of(text: str, day_end: int, mq: MeterQuirks, cfg: dict) -> list[tuple[str, int]]:
    """(file text, minutes after the usual send) for each file the meter sends of this sealed
    day file; the first is sent as usual (0), unless its quirks hold it back. cfg: the
    normalised config (its serial, channels, generator and metadata)."""
    serial = cfg["serial"]
    parsed = dayfile_reader.parse(text)
    day = civil.parse_day(parsed.reading_day)
    applied = mq.on_day(day, len(parsed.ends))
    if not applied:
        return [(text, 0)]
    due = day_end + quirks.HOUR  # quirks.as_recorded's arrival
    per_channel = []
    for name in parsed.channels:
        rows = rows_of(parsed, name)
        sends = [quirks.Send(serial, day, rows, parsed.opening[name], parsed.closing[name],
                             due)]
        for quirk, params in applied:
            sends = quirks.DATA[quirk](sends, None, **params)
        per_channel.append(sends)
    labels = dict(zip(parsed.ends, parsed.labels, strict=True))
    head = (serial, parsed.reading_day, parsed.interval, parsed.timezone)
    out = []
    for k, first in enumerate(per_channel[0]):
        same = all(c[k].rows == rows_of(parsed, n) and c[k].opening_wh == parsed.opening[n]
                   and c[k].closing_wh == parsed.closing[n]
                   for c, n in zip(per_channel, parsed.channels, strict=True))
        body = text if same else render([c[k] for c in per_channel], head, labels,
                                        [(c[0], c[1], c[3]) for c in cfg["channels"]],
                                        cfg["generator_json"], cfg["metadata_json"])
        out.append((body, first.arrives - due))
    return out


def rows_of(parsed, name: str) -> tuple:
    return tuple(quirks.Row(end, wh, quirks.MISSING_Q if q == MISSING else
                            quirks.ESTIMATED_Q if q == ESTIMATED else quirks.ACTUAL_Q)
                 for end, wh, q in zip(parsed.ends, parsed.values[name], parsed.quality,
                                       strict=True))


def render(channel_sends: list[quirks.Send], head: tuple, labels: dict[int, str],
           channels: list[tuple], generator_json: str, metadata_json: str) -> str:
    """One send (one Send per channel, same rows) as a day file, with the day-file writer.
    The closing register is the opening plus the intervals, as the contract demands."""
    first = channel_sends[0]
    opening = [s.opening_wh for s in channel_sends]
    closing = [s.opening_wh + sum(r.wh or 0 for r in s.rows) for s in channel_sends]

    def rows():
        for i, r in enumerate(first.rows):
            q = _QUALITY_OUT[r.quality]
            values = None if r.quality == quirks.MISSING_Q else [s.rows[i].wh
                                                                 for s in channel_sends]
            yield labels[r.end], values, q

    out = io.StringIO()
    dayfile_writer.write(out, (*head, first.status), channels, opening, closing, rows,
                         generator_json, metadata_json)
    return out.getvalue()


class QuirkyTicker(Ticker):
    """The Ticker of a meter with quirks: a sealed day goes out as the files its quirks make
    (the Pico's Ticker, which has none, is untouched)."""

    def __init__(self, *args, quirks: MeterQuirks, **kwargs):
        super().__init__(*args, **kwargs)
        self.quirks = quirks

    def place_sealed(self, day, day_end, write, force=False):
        name = self.sealed_name(day)
        if not force and self.fs.exists(self.path("sent", name)):
            return False
        # Hidden, and a .tmp the next run's lock clears (meter/operations.py) after a crash.
        scratch = self.path("held", "." + name + ".sealing.tmp")
        write(scratch)
        text = self.fs.read_text(scratch)
        self.fs.remove(scratch)
        late = 0 if force else self.model.late_days(day)
        sends = sends_of(text, day_end, self.quirks, self.cfg)
        for k, (body, after) in enumerate(sends):
            release = day_end + late * 1440 + after

            def put(target, body=body):
                self.fs.write_atomic(target, lambda out: out.write(body))
            if k == 0 and release <= day_end:
                put(self.path("outbox", name))
                continue
            held = f"{name[:-5]}.q{k}.json"
            put(self.path("held", held))
            sealer.hold(self, held, name, release)
        return True


def add_to_truth(doc: dict, mq: MeterQuirks, model: dict) -> dict:
    """`meter truth`'s day (meter/daybuild.py) with the meter's quirks on it: `quirks`, each
    with what a correct MDMS concludes, and, for a clock convention other than the
    contract's, the timestamp its clock writes for each interval (`stamped`)."""
    day = civil.parse_day(doc["reading_day"])
    doc["quirks"] = mq.labels(day, len(doc["intervals"]))
    if mq.clock != "local_dst":
        zone = tz.Zone(model["timezone"], model["tz_rules"])
        for iv in doc["intervals"]:
            local, off = parse_ts(iv["end"])
            iv["stamped"] = mq.stamp(local - off, zone, model["interval"])
    return doc
