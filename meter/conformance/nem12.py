"""The NEM12 route: what a meter data provider sends an MDMS in AEMO's NEM12 format, one file per
send, beside the JSON files (`delivery/nem12/NNNN_<serial>_<day>.nem12.csv`).

A 300 record is a whole market day of NEM time (`+10:00` all year, as Tempest's export writes,
docs/exports.md), never a local day; so each file holds, for every market day the send
reaches into, the whole day as the provider knows it once the send has arrived (its own rows
and those of every earlier send), with `N` where nothing is known yet, and the send's arrival
as the update time. A later file's 300 record for a market day replaces the earlier one.

The data quirks travel this route; the clock conventions do not (NEM12 has no timestamps: the
provider has placed every interval on its instant), so its time trap is the market day itself:
a 23- or 25-hour local day spread over 24-hour market days.
"""

from __future__ import annotations

from core import civil, tz
from meter.conformance.quirks import ACTUAL_Q, ESTIMATED_Q, Send

MARKET_OFFSET = 600  # NEM time, minutes east of UTC
ESTIMATE = ("S17", "0", "estimated by the meter")  # as Tempest's export flags a meter's estimate
_FLAGS = {ACTUAL_Q: ("A", "", ""), ESTIMATED_Q: ESTIMATE}
_NULL = ("N", "", "")


def _stamp(utc_min: int, digits: int) -> str:
    text = tz.format_local(utc_min, MARKET_OFFSET)  # YYYY-MM-DDTHH:MM:00+10:00
    return (text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + "00")[:digits]


def files(sends: list[Send], sites: dict[str, str], interval: dict[str, int]) -> list[str]:
    """One NEM12 text per send, in the sends' (arrival) order. `sites`: serial -> NMI."""
    known: dict[str, dict[int, tuple[int | None, str]]] = {}
    out = []
    for send in sends:
        state = known.setdefault(send.serial, {})
        for r in send.rows:
            state[r.end] = (r.wh, r.quality)
        n = interval[send.serial]
        days = sorted({(r.end + MARKET_OFFSET - 1) // 1440 for r in send.rows})
        lines = [f"100,NEM12,{_stamp(send.arrives, 12)},MTRSIM,MDMS",
                 f"200,{sites[send.serial]},E1,1,E1,N1,{send.serial},kWh,{n},"]
        for day in days:
            start = day * 1440 - MARKET_OFFSET
            slots = [state.get(start + (i + 1) * n, (None, "")) for i in range(1440 // n)]
            lines.extend(_day(day, slots, _stamp(send.arrives, 14)))
        lines.append("900")
        out.append("\n".join(lines) + "\n")
    return out


def _day(day: int, slots: list[tuple[int | None, str]], updated: str) -> list[str]:
    flags = [_FLAGS.get(q, _NULL) if wh is not None else _NULL for wh, q in slots]
    values = ",".join("0.000" if wh is None else f"{wh // 1000}.{wh % 1000:03d}"
                      for wh, _ in slots)
    date = civil.format_day(day).replace("-", "")
    if len(set(flags)) == 1:
        return [f"300,{date},{values},{','.join(flags[0])},{updated},"]
    lines = [f"300,{date},{values},V,,,{updated},"]
    first = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[first]:
            lines.append(f"400,{first + 1},{i},{','.join(flags[first])}")
            first = i
    return lines
