"""Charts of a plan and of its what-ifs, each written as PNG and SVG from tidy tables.

Every ``plot_*`` function takes the tables it draws (as written by ``dcopt solve``, ``marginal``, ``tornado``,
``breakeven``, ``sweep`` and ``economics``) and a path stem, writes ``stem.png`` and ``stem.svg`` and returns
the two paths. Figures are drawn on ``matplotlib.figure.Figure`` objects rendered by the Agg canvas, not through
``pyplot``: no global backend is switched and no figure is left open, so these can run in worker threads or
inside a notebook without side effects. SVG text is kept as text (``svg.fonttype: none``), which keeps the
files small and their labels searchable.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from solver.sensitivity import Tornado
from solver.sweep import IN_PLAN_MW, OK_STATUSES

FORMATS = ("png", "svg")
DPI = 110
# One colour family per kind of source, a shade per source, so that the kinds read as groups.
KIND_COLORMAPS = {"hyperscaler_contract": "Blues", "fixed_block_lease": "Oranges", "own_build": "Greens",
                  "orbital": "Purples"}


def _replace_atomic(path: Path, render: Callable[[Path], None]) -> None:
    """Render to a temporary file beside ``path`` (same suffix, so the format is known), then rename.

    ``solver.results.write_atomic`` does this for text; figures are binary and some renderers (``Tornado.plot``)
    only take a path, so this takes a function that writes to a path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        render(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _paths(stem: str | Path) -> list[Path]:
    stem = Path(stem)
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in FORMATS]


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` atomically; returns the paths."""
    paths = _paths(stem)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for path in paths:
            _replace_atomic(path, lambda tmp, fmt=path.suffix[1:]: fig.savefig(tmp, format=fmt, dpi=DPI))
    return paths


def _dates(periods: Sequence[str] | pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(periods), format="%Y-%m"))


def _with_end(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The period starts plus the end of the last period, so that step plots show the last period too."""
    months = (dates[1:].year - dates[:-1].year) * 12 + (dates[1:].month - dates[:-1].month)
    length = int(months.min()) if len(months) else 1
    return dates.append(pd.DatetimeIndex([dates[-1] + pd.DateOffset(months=length)]))


def _repeat_last(values: np.ndarray) -> np.ndarray:
    return np.append(values, values[-1:], axis=0)


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _scale(peak: float, unit: str, steps: Sequence[tuple[float, str]]) -> tuple[float, str]:
    """A divisor and its axis label for numbers up to ``peak``: e.g. (1e6, 'million H100e')."""
    for divisor, prefix in steps:
        if peak >= 2 * divisor:
            return divisor, f"{prefix} {unit}".strip()
    return 1.0, unit


def _source_colors(plan: pd.DataFrame) -> dict[str, tuple]:
    kinds = plan.drop_duplicates("source").set_index("source")["kind"]
    colors = {}
    for kind, members in kinds.groupby(kinds, sort=False):
        cmap = matplotlib.colormaps[KIND_COLORMAPS.get(kind, "Greys")]
        for i, source in enumerate(members.index):
            colors[source] = cmap(0.75 - 0.4 * i / max(len(members) - 1, 1))
    return colors


def _stacked_bars(ax, x: np.ndarray, table: pd.DataFrame, total_label: str) -> None:
    """Bars of ``table``'s columns stacked at ``x``, positive parts up and negative parts down, with the net total
    of each bar as a diamond."""
    cmap = matplotlib.colormaps["tab20"]
    up, down = np.zeros(len(x)), np.zeros(len(x))
    for i, column in enumerate(table.columns):
        values = table[column].fillna(0.0).to_numpy()
        ax.bar(x, values, bottom=np.where(values >= 0, up, down), color=cmap(i % 20),
               label=str(column).replace("_", " "), width=0.7)
        up, down = up + np.clip(values, 0, None), down + np.clip(values, None, 0)
    ax.plot(x, table.sum(axis=1).to_numpy(), "D", color="black", markersize=5, label=total_label)
    ax.axhline(0, color="black", linewidth=0.8)
    # Explicit limits: a zero-height bar on top of a stack is a sticky edge that would cut the margin off.
    pad = 0.06 * max(up.max() - down.min(), 1e-9)
    ax.set_ylim(down.min() - (pad if down.min() < 0 else 0), up.max() + pad)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def plot_capacity(plan: pd.DataFrame, demand: pd.DataFrame, stem: str | Path, *, compute_unit: str = "compute units",
                  title: str | None = None) -> list[Path]:
    """Capacity online by source (stacked) against demand per workload, in compute units; MW online below.

    ``plan`` and ``demand`` are ``Result.plan`` and ``Result.demand`` (or plan.csv and demand.csv). Capacity
    resold to others is hatched at the top of the stack: it is held but does not serve the lab's demand."""
    periods = sorted(plan["period"].unique())
    dates = _with_end(_dates(periods))
    compute = plan.pivot_table(index="period", columns="source", values="compute_online_units", sort=False,
                               aggfunc="sum").reindex(periods).fillna(0.0)
    mw = plan.pivot_table(index="period", columns="source", values="mw_online", sort=False,
                          aggfunc="sum").reindex(periods).fillna(0.0)
    resold_mw = plan.pivot_table(index="period", columns="source", values="mw_resold", sort=False,
                                 aggfunc="sum").reindex(periods).fillna(0.0)
    # Resale is in MW; at each source's own compute per MW it is this much compute not serving the lab.
    resold_share = (resold_mw / mw.where(mw > 0)).fillna(0.0)
    used = [s for s in compute.columns if mw[s].max() > IN_PLAN_MW]
    colors = _source_colors(plan)
    by_workload = demand.pivot_table(index="period", columns="workload", values="demand_units", sort=False,
                                     aggfunc="sum").reindex(periods).fillna(0.0)

    fig = Figure(figsize=(11, 8.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    peak = max(float(compute.sum(axis=1).max()), float(by_workload.sum(axis=1).max()), 1.0)
    divisor, unit_label = _scale(peak, compute_unit, [(1e9, "billion"), (1e6, "million"), (1e3, "thousand")])
    base = np.zeros(len(dates))
    for source in used:
        held = _repeat_last(compute[source].to_numpy() / divisor)
        top.fill_between(dates, base, base + held, step="post", color=colors[source], linewidth=0, label=source)
        base = base + held
    # Hatched over the top of the stack, so that what is left below the hatching is what serves the lab.
    resold = _repeat_last((compute[used] * resold_share[used]).sum(axis=1).to_numpy() / divisor)
    if resold.max() > 0:
        top.fill_between(dates, base - resold, base, step="post", facecolor="none", edgecolor="#444444",
                         hatch="///", linewidth=0, label="of which resold to others")
    total = _repeat_last(by_workload.sum(axis=1).to_numpy() / divisor)
    top.step(dates, total, where="post", color="black", linewidth=1.8, label="total demand")
    for workload, style in zip(by_workload.columns, ("--", ":", "-."), strict=False):
        top.step(dates, _repeat_last(by_workload[workload].to_numpy() / divisor), where="post", color="black",
                 linewidth=1.2, linestyle=style, label=f"{workload} demand")
    top.set_ylabel(f"compute online, {unit_label}")
    top.set_title(title or f"Capacity online by source against demand ({compute_unit})", loc="left")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _date_axis(top)

    mw_divisor, mw_label = (1e3, "GW") if float(mw.sum(axis=1).max()) >= 2000 else (1.0, "MW")
    base = np.zeros(len(dates))
    for source in used:
        values = _repeat_last(mw[source].to_numpy() / mw_divisor)
        bottom.fill_between(dates, base, base + values, step="post", color=colors[source], linewidth=0,
                            label=source)
        base = base + values
    bottom.set_ylabel(f"IT power online, {mw_label}")
    bottom.set_xlabel("period start")
    _date_axis(bottom)
    return save_figure(fig, stem)


def plot_costs(costs: pd.DataFrame, stem: str | Path, *, discounted: bool = True,
               start: str | None = None) -> list[Path]:
    """Cost by category per year, stacked bars (revenue and salvage below zero), with the net cost per year.

    ``costs`` is ``Result.costs``: ``discounted_usd`` (to the horizon start, as in the objective; ``start``
    names it on the axis) or ``nominal_usd``."""
    column = "discounted_usd" if discounted else "nominal_usd"
    table = costs.pivot_table(index="year", columns="category", values=column, aggfunc="sum", sort=False) / 1e9
    table = table.loc[:, table.abs().max() > 5e-4].sort_index()
    years = table.index.to_numpy()
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.subplots()
    _stacked_bars(ax, years, table, "net cost of the year")
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_xlabel("year")
    money = f"discounted to {start}" if discounted and start else ("discounted" if discounted else "nominal")
    ax.set_ylabel(f"USD billion, {money}")
    ax.set_title(f"Cost by category and year ({money}; the bars add up to the "
                 f"{'net present cost' if discounted else 'nominal cost'})", loc="left")
    return save_figure(fig, stem)


def plot_marginal_compute(compute: pd.DataFrame, stem: str | Path, *, compute_unit: str = "compute unit",
                          discounted: bool = False) -> list[Path]:
    """The value of one more compute unit of demand per month, per workload, over time.

    ``compute`` is ``MarginalValues.compute`` (marginal/compute.csv): money of the period, or discounted to the
    horizon start. Values are +inf where one more unit is infeasible; those are left out of the lines."""
    column = "usd_per_unit_month_discounted" if discounted else "usd_per_unit_month"
    periods = sorted(compute["period"].unique())
    dates = _with_end(_dates(periods))
    table = compute.pivot_table(index="period", columns="workload", values=column, sort=False,
                                aggfunc="mean").reindex(periods)
    table = table.replace([np.inf, -np.inf], np.nan)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax = fig.subplots()
    # Wide then narrower lines: workloads with the same value (the same penalty, say) stay visible.
    styles = (("#4878a8", 4.0), ("#d1803a", 1.6), ("#6a9a4a", 0.8))
    for workload, (color, width) in zip(table.columns, styles, strict=False):
        ax.step(dates, _repeat_last(table[workload].to_numpy()), where="post", color=color, linewidth=width,
                label=workload)
    money = "discounted to the horizon start" if discounted else "money of the period"
    ax.set_ylabel(f"USD per {compute_unit}-month ({money})")
    ax.set_xlabel("period start")
    ax.set_title(f"Value of one more {compute_unit} of demand, with the integer plan fixed", loc="left")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize=8)
    _date_axis(ax)
    return save_figure(fig, stem)


def plot_tornado(table: pd.DataFrame, stem: str | Path, *, base_usd: float | None = None) -> list[Path]:
    """The tornado chart of :meth:`solver.sensitivity.Tornado.plot`, from its table (tornado.csv).

    ``base_usd`` defaults to what the table implies (the cost at an end less its change)."""
    if base_usd is None:
        base_usd = float((table["npc_low_usd"] - table["delta_low_usd"]).dropna().iloc[0])
    chart = Tornado(base_usd=base_usd, table=table)
    paths = _paths(stem)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for path in paths:
            _replace_atomic(path, chart.plot)
    return paths


def plot_sweep_costs(points: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Histogram of the net present cost over a sweep's points with a plan (points.csv), with its percentiles."""
    ok = points[points["status"].isin(OK_STATUSES)]
    cost = ok["objective_usd"].to_numpy(float) / 1e9
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.hist(cost, bins=min(30, max(5, len(cost) // 4)), color="#4878a8", edgecolor="white")
    for q, style in ((0.05, ":"), (0.5, "-"), (0.95, ":")):
        value = float(np.quantile(cost, q)) if len(cost) else np.nan
        ax.axvline(value, color="black", linestyle=style, linewidth=1.2, label=f"p{round(q * 100)} ${value:,.2f}B")
    ax.set_xlabel("net present cost, USD billion")
    ax.set_ylabel("points")
    ax.set_title(f"Net present cost over {len(cost)} sweep points with a plan"
                 + (f" ({len(points) - len(ok)} without)" if len(points) > len(ok) else ""), loc="left")
    ax.legend(loc="upper right", fontsize=8)
    return save_figure(fig, stem)


def plot_sweep_sources(sources: pd.DataFrame, stem: str | Path) -> list[Path]:
    """How often each source is in the plan over a sweep (sources.csv), labelled with its median peak MW."""
    table = sources.sort_values("share_of_points_in_plan")
    fig = Figure(figsize=(9, 0.4 * len(table) + 1.6), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))
    ax.barh(y, table["share_of_points_in_plan"] * 100, color="#6a9a4a")
    for i, (share, peak) in enumerate(zip(table["share_of_points_in_plan"], table["median_peak_mw_when_in"],
                                          strict=True)):
        if share > 0:
            ax.text(share * 100 + 1, i, f"median peak {peak:,.0f} MW", va="center", fontsize=8)
    ax.set_yticks(y, table["source"])
    ax.set_xlim(0, 130)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("share of sweep points with the source in the plan, %")
    ax.set_title("Share of plans using each source", loc="left")
    return save_figure(fig, stem)


def plot_breakeven(evaluations: pd.DataFrame, stem: str | Path, *, parameter: str = "parameter value",
                   source: str = "the source", value: float | None = None) -> list[Path]:
    """The break-even search (breakeven.csv): the source's peak MW and the net present cost at each value tried.

    ``value`` (the break-even found) is marked with a vertical line."""
    table = evaluations.sort_values("value")
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["value"], table["peak_mw"], color="#7a5aa8", linewidth=1.2)
    inside = table["in_plan"].astype(bool)
    ax.plot(table.loc[inside, "value"], table.loc[inside, "peak_mw"], "o", color="#7a5aa8", label="in the plan")
    ax.plot(table.loc[~inside, "value"], table.loc[~inside, "peak_mw"], "o", markerfacecolor="white",
            color="#7a5aa8", label="not in the plan")
    ax.set_xlabel(parameter)
    ax.set_ylabel(f"peak MW of {source}")
    cost_ax = ax.twinx()
    cost_ax.plot(table["value"], table["npc_usd"] / 1e9, "s--", color="#888888", markersize=4,
                 label="net present cost")
    cost_ax.set_ylabel("net present cost, USD billion")
    if value is not None:
        ax.axvline(value, color="black", linestyle=":", linewidth=1.2, label=f"break-even {value:,.4g}")
    handles = ax.get_legend_handles_labels()
    more = cost_ax.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="center right", fontsize=8)
    ax.set_title(f"Break-even of {source}: {len(table)} solves", loc="left")
    return save_figure(fig, stem)


def plot_levelized_costs(table: pd.DataFrame, stem: str | Path, *, compute_unit: str = "compute unit",
                         per: Literal["unit", "mw"] = "unit") -> list[Path]:
    """Levelized cost per source, stacked by component (the table of ``solver.economics.levelized_costs``).

    ``per="unit"`` compares sources per compute unit-year (they differ in compute per MW), ``per="mw"`` per
    MW-year. A source costed for several start years is shown at its first one, named in its label."""
    column = "usd_per_unit_year" if per == "unit" else "usd_per_mw_year"
    first = table.groupby("source", sort=False)["start_year"].transform("min")
    table = table[table["start_year"] == first]
    labels = {s: f"{s} ({y})" for s, y in table.groupby("source", sort=False)["start_year"].first().items()}
    pivot = table.pivot_table(index="source", columns="component", values=column, aggfunc="sum", sort=False)
    pivot = pivot.fillna(0.0)
    divisor, unit = (1e6, "USD million per MW-year") if per == "mw" else (1.0, f"USD per {compute_unit}-year")
    pivot = pivot / divisor
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(pivot))
    _stacked_bars(ax, x, pivot, "total")
    ax.set_xticks(x, [labels[s] for s in pivot.index], fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlabel("source (first start year costed)")
    ax.set_ylabel(unit)
    ax.set_title("Levelized cost by source and component", loc="left")
    return save_figure(fig, stem)
