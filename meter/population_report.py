"""`meter population`: simulate a country's household mix and write a small report.

    meter population --country DE --count 200 -o report/

writes report/population.md with four figures (PNG, matplotlib): the annual kWh of the homes
per archetype, the after-diversity maximum demand (ADMD) for groups of 1 to 1000 homes over a
winter, the aggregate's mean daily shape beside the BDEW profiles H0 and H25, and a winter week
of a few individual homes. The numbers come from meter/population.py, the same measures the
realism tests check (docs/load-model.md shows a run). Needs the `population` extra
(matplotlib, demandlib, pandas): `pip install 'meters[population]'`.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from core.progress import Progress
from meter import population

KINDS = ("single", "couple", "family", "retired", "home_office")
# The same homes again with a heat pump or an EV each (population defaults of the config).
VARIANTS = (("with a heat pump each", {"heating": {"type": "heat_pump"}}),
            ("with an EV each", {"ev": {"kw": 7.2}}))
VARIANT_HOMES = 300


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise click.ClickException("the population report draws with matplotlib: "
                                   "pip install 'meters[population]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _profiles(pop: population.Population) -> dict | None:
    try:
        return population.bdew_profiles(pop)
    except ImportError:
        return None  # demandlib missing: the report leaves the BDEW references out


def annual_figure(plt, pop: population.Population, path: Path) -> list[dict]:
    kwh = pop.annual_kwh()
    kinds = np.array(pop.archetypes)
    rows = []
    fig, ax = plt.subplots(figsize=(7.5, 4))
    bins = np.linspace(0, np.percentile(kwh, 99) * 1.05, 36)
    for name in KINDS:
        k = kwh[kinds == name]
        if not len(k):
            continue
        ax.hist(k, bins=bins, histtype="step", linewidth=1.8, label=f"{name} ({len(k)})")
        rows.append({"archetype": name, "homes": len(k), "min": k.min(), "median": np.median(k),
                     "max": k.max(), "cv": population.cv(k), "skew": population.skewness(k)})
    ax.set_xlabel("annual consumption (kWh)")
    ax.set_ylabel("homes")
    ax.set_title(f"{pop.country}: annual kWh of {len(kwh)} homes, per archetype")
    ax.legend(frameon=False)
    _save(fig, path)
    return rows


def admd_figure(plt, winter: population.Population, curve: dict, expected: dict | None,
                variants: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sizes = sorted(curve)
    ax.plot(sizes, [curve[n] for n in sizes], "o-", linewidth=2, label="simulated homes")
    for label, other in variants.items():
        ax.plot(sorted(other), [other[n] for n in sorted(other)], "s-", linewidth=1.4,
                label=f"the first {VARIANT_HOMES} {label}")
    for name, value in sorted((expected or {}).items()):
        ax.axhline(value, linestyle="--" if name == "H0" else ":", linewidth=1.2, color="black",
                   label=f"BDEW {name}: winter mean / load factor")
    ax.set_xscale("log")
    ax.set_xlabel("homes in the group (N)")
    ax.set_ylabel("ADMD (kW per home)")
    ax.set_title(f"{winter.country}: after-diversity maximum demand, "
                 f"{len(winter.days)} winter days")
    for n in sizes:
        ax.annotate(f"{curve[n]:.2f}", (n, curve[n]), textcoords="offset points", xytext=(4, 6))
    ax.legend(frameon=False)
    _save(fig, path)


def shape_figure(plt, pop: population.Population, aggregate: np.ndarray, profiles: dict | None,
                 path: Path) -> dict:
    per_day = 1440 // pop.interval
    hours = (np.arange(per_day) + 0.5) * pop.interval / 60
    shape = population.daily_shapes(aggregate, pop)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.plot(hours, shape / shape.mean(), linewidth=2.2, label="simulated aggregate")
    corr = {}
    for name, style in (("H0", "--"), ("H25", ":")):
        if profiles is None:
            break
        ref = population.daily_shapes(profiles[name], pop)
        corr[name] = population.correlation(shape, ref)
        ax.plot(hours, ref / ref.mean(), style, linewidth=1.8,
                label=f"BDEW {name} (r = {corr[name]:.3f})")
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("local time (h)")
    ax.set_ylabel("demand / daily mean")
    ax.set_title(f"{pop.country}: mean daily shape of {len(pop.wh)} homes over a year")
    ax.legend(frameon=False)
    _save(fig, path)
    return corr


def weeks_figure(plt, winter: population.Population, path: Path, homes: int = 4) -> None:
    per_day = 1440 // winter.interval
    first = int(np.argmax(population_weekday(winter) == 0))  # the first Monday
    span = slice(first * per_day, (first + 7) * per_day)
    kw = winter.kw()
    fig, axes = plt.subplots(homes, 1, figsize=(8, 1.6 * homes), sharex=True)
    x = np.arange(7 * per_day) * winter.interval / 1440
    for i, ax in enumerate(np.atleast_1d(axes)):
        t = winter.traits[i]
        ax.plot(x, kw[i, span], linewidth=0.9)
        ax.set_ylabel("kW")
        ax.set_title(f"{winter.archetypes[i]}, {t['occupants']} occupant(s), hot water "
                     f"{t['hot_water'] or 'not electric'}, {len(t['appliances'])} appliances",
                     fontsize=9, loc="left")
    np.atleast_1d(axes)[-1].set_xlabel("days from a winter Monday")
    _save(fig, path)


def population_weekday(pop: population.Population) -> np.ndarray:
    from core import civil

    return np.array([civil.weekday(int(d)) for d in pop.days])


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.clf()


def write_report(country: str, count: int, year: int, interval: int, admd_homes: int,
                 out: Path, progress=None, with_variants: bool = True) -> Path:
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    pop = population.simulate(country, count, f"{year}-01-01", f"{year}-12-31", interval,
                              progress=progress)
    half = population.hemisphere(country)
    first = f"{year - 1}-12-01" if half == "north" else f"{year}-06-01"
    last = f"{year}-02-28" if half == "north" else f"{year}-08-29"
    winter = population.simulate(country, admd_homes, first, last, interval,
                                 progress=progress)
    profiles = _profiles(pop) if country == "DE" else None
    aggregate = pop.kw().sum(axis=0)
    rows = annual_figure(plt, pop, out / "population-annual.png")
    curve = population.admd(winter, tuple(n for n in (1, 10, 100, 1000) if n <= len(winter.wh)))
    expected = None
    if country == "DE":
        wprof = _profiles(winter)
        if wprof is not None:
            mean = float(winter.kw().mean())
            expected = {n: mean / population.load_factor(wprof[n]) for n in ("H0", "H25")}
    variants = {}
    for label, extra in VARIANTS if with_variants else ():
        homes = min(VARIANT_HOMES, admd_homes)
        other = population.simulate(country, homes, first, last, interval, extra=extra,
                                    progress=progress)
        variants[label] = population.admd(other, tuple(n for n in (1, 10, 100) if n <= homes))
    admd_figure(plt, winter, curve, expected, variants, out / "population-admd.png")
    corr = shape_figure(plt, pop, aggregate, profiles, out / "population-shape.png")
    weeks_figure(plt, winter, out / "population-weeks.png")
    stats = population.per_meter(pop)
    shapes = population.daily_shapes(pop.kw(), pop)
    page = out / "population.md"
    page.write_text(_markdown(country, year, interval, pop, rows, curve, expected, corr, stats,
                              population.median_pairwise_correlation(shapes),
                              population.season_ratio(aggregate, pop), variants))
    return page


def _markdown(country, year, interval, pop, rows, curve, expected, corr, stats, pairwise,
              season, variants) -> str:
    kwh = pop.annual_kwh()
    p20, p50, p80 = np.percentile(kwh, [20, 50, 80])
    lines = [f"# Population report: {len(kwh)} homes, {country}, {year}, {interval} minutes", "",
             "Made by `meter population` (docs/load-model.md explains every measure).", "",
             "| archetype | homes | annual kWh min – max | median | CV | skewness |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['archetype']} | {r['homes']} | {r['min']:,.0f} – {r['max']:,.0f} | "
              f"{r['median']:,.0f} | {r['cv']:.2f} | {r['skew']:.2f} |" for r in rows]
    lines += ["", f"All homes: median {p50:,.0f} kWh, P80/P20 {p80 / p20:.2f}.", "",
              "![annual kWh per archetype](population-annual.png)", "",
              "| measure | value |", "|---|---|"]
    for name, label in (("cv", "per meter, coefficient of variation"),
                        ("lag1", "per meter, lag-1 autocorrelation"),
                        ("peak_mean", "per meter, peak / mean")):
        p5, p95 = np.percentile(stats[name], [5, 95])
        lines.append(f"| {label} (5th–95th percentile) | {p5:.2f} – {p95:.2f} |")
    lines.append(f"| median correlation of two homes' mean daily shapes | {pairwise:.3f} |")
    lines.append(f"| winter / summer demand of the aggregate | {season:.3f} |")
    for name, value in sorted(corr.items()):
        lines.append(f"| mean daily shape's correlation with BDEW {name} | {value:.3f} |")
    lines += ["", "![mean daily shape](population-shape.png)", "",
              "| homes (N) | ADMD, kW per home |", "|---|---|"]
    lines += [f"| {n} | {v:.2f} |" for n, v in sorted(curve.items())]
    for label, other in variants.items():
        lines += [f"| {n} {label} | {v:.2f} |" for n, v in sorted(other.items())]
    for name, value in sorted((expected or {}).items()):
        lines.append(f"| BDEW {name}'s load factor puts it at | {value:.2f} |")
    lines += ["", "![ADMD curve](population-admd.png)", "",
              "![a winter week of four homes](population-weeks.png)", ""]
    return "\n".join(lines)


@click.command("population")
@click.option("--country", type=click.Choice(sorted(population.TOWNS)), default="DE",
              show_default=True, help="Whose household mix, towns and time zone.")
@click.option("--count", type=click.IntRange(10, 20000), default=200, show_default=True,
              help="Homes simulated over the year.")
@click.option("--year", type=click.IntRange(2001, 2099), default=2023, show_default=True)
@click.option("--interval", type=click.Choice(["15", "30", "60"]), default="30",
              show_default=True, help="Interval length in minutes.")
@click.option("--admd-homes", type=click.IntRange(10, 20000), default=1000, show_default=True,
              help="Homes simulated over a winter for the ADMD curve.")
@click.option("--variants/--no-variants", default=True, show_default=True,
              help="Also the ADMD of 300 of the homes with a heat pump, and with an EV, each.")
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("population-report"), show_default=True,
              help="Folder for population.md and its PNG figures.")
def population_command(country, count, year, interval, admd_homes, variants, out):
    """Simulate a country's household mix and write a report with plots (PNG + markdown)."""
    total = count + admd_homes + (2 * min(VARIANT_HOMES, admd_homes) if variants else 0)
    with Progress(total, "population", unit="homes") as bar:
        page = write_report(country, count, year, int(interval), admd_homes, out,
                            progress=bar.update, with_variants=variants)
    click.echo(str(page))
