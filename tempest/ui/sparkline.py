"""The Fleet page's 7-day completeness sparkline as inline SVG (built in Python: as a Jinja
macro it was most of the page's render time at 200 rows)."""

from __future__ import annotations

from markupsafe import Markup, escape


def _kind(coverage: float, status: str | None) -> str:
    kind = "full" if coverage >= 0.9995 else ("part" if coverage >= 0.75 else "low")
    return f"sp-{kind}" + (" sp-open" if status == "open" else "")


def svg(cells: list[tuple[str, float | None, str | None]]) -> Markup:
    """Seven bars: each day's share of intervals recorded; a flat grey mark for no file."""
    labels, bars = [], []
    for i, (day, cov, status) in enumerate(cells):
        x = i * 10 + 1
        if cov is None:
            labels.append(f"{day[5:]} no file")
            bars.append(f'<rect class="sp-none" x="{x}" y="16" width="8" height="3">'
                        f"<title>{day}: no file</title></rect>")
            continue
        labels.append(f"{day[5:]} {int(cov * 100)}%")
        h = max(2, round(cov * 18))
        bars.append(f'<rect class="{_kind(cov, status)}" x="{x}" y="{19 - h}" width="8" '
                    f'height="{h}"><title>{day}: {cov * 100:.1f}% recorded ({escape(status)})'
                    "</title></rect>")
    label = escape("Last 7 days, share of intervals recorded: " + ", ".join(labels))
    return Markup(f'<svg class="spark" width="70" height="20" viewBox="0 0 70 20" role="img" '
                  f'aria-label="{label}">{"".join(bars)}</svg>')


_LABELS = {"never_seen": "never seen", "in_sync": "in sync"}


def badge(prefix: str, value: str) -> Markup:
    """A status (`st`) or drift (`dr`) badge."""
    return Markup(f'<span class="badge {prefix}-{escape(value)}">'
                  f"{escape(_LABELS.get(value, value))}</span>")
