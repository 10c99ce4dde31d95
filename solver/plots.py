"""Charts of a plan and of its what-ifs, each written as PNG and SVG from tidy tables.

Every ``plot_*`` function takes the tables it draws (as written by ``dcopt solve``, ``marginal``, ``tornado``,
``breakeven``, ``sweep`` and ``economics``) and a path stem, writes ``stem.png`` and ``stem.svg`` and returns
the two paths. Figures are drawn on ``matplotlib.figure.Figure`` objects rendered by the Agg canvas, not through
``pyplot``: no global backend is switched and no figure is left open, so these can run in worker threads or
inside a notebook without side effects. SVG text is kept as text (``svg.fonttype: none``), which keeps the
files small and their labels searchable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import matplotlib
import matplotlib.colors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from models.parts import COST_CATEGORIES, END_CATEGORIES
from solver.results import replace_atomic
from solver.sensitivity import Tornado
from solver.sweep import IN_PLAN_MW, OK_STATUSES

FORMATS = ("png", "svg")
DPI = 110
# One distinct colour per source the plan uses, colour-blind safe for up to nine: Paul Tol's "muted" scheme (nine
# colours that stay apart under the common colour-vision deficiencies, https://personal.sron.nl/~pault/); past
# nine, tab20's, which are distinct but not all safe. Shades of one hue per kind (the earlier rule) made four
# contracts four similar blues.
SOURCE_COLORS = ("#332288", "#88CCEE", "#117733", "#DDCC77", "#CC6677", "#44AA99", "#882255", "#999933", "#AA4499")
# One fixed colour per cost category, shared by the cost and levelized-cost charts so that a category reads the same
# in both; the two negative ones (resale revenue, salvage) get colours no cost uses.
CATEGORY_COLORS = dict(zip(COST_CATEGORIES, (
    "#4878a8",  # contracts
    "#e08a3c",  # leases
    "#2e6b34",  # build_facility
    "#5fa35a",  # build_gpus
    "#9ccc8c",  # build_other_it
    "#c9e6b4",  # build_refresh
    "#d4b820",  # energy
    "#8c8c8c",  # opex
    "#4a3a2a",  # programme
    "#7a5aa8",  # launch
    "#5b3f86",  # launch_flights
    "#a98fcf",  # satellite_hardware
    "#d2c4ea",  # satellite_gpus
    "#b8a0d8",  # satellite_ops
    "#c23b3b",  # unmet_demand
    "#17a2b8",  # resale_revenue
    "#2b4f75",  # take_or_pay_after_horizon
    "#8b5a2b",  # salvage
), strict=True))
SALVAGE_LABEL = "value left at the horizon end (salvage, net of take-or-pay still owed)"
# Workload demand lines, first to last: a wide light line under narrower dark ones, so that equal lines stay visible.
WORKLOAD_STYLES = (("#e03c3c", 4.0, "-", 0.7), ("black", 1.3, "--", 1.0), ("black", 1.3, ":", 1.0))


def _paths(stem: str | Path) -> list[Path]:
    stem = Path(stem)
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in FORMATS]


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` atomically; returns the paths."""
    paths = _paths(stem)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for path in paths:
            replace_atomic(path, lambda tmp, fmt=path.suffix[1:]: fig.savefig(tmp, format=fmt, dpi=DPI))
    return paths


def _dates(periods: Sequence[str] | pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(periods), format="%Y-%m"))


def _with_end(dates: pd.DatetimeIndex, last_months: int | None = None) -> pd.DatetimeIndex:
    """The period starts plus the end of the last period, so that step plots show the last period too. Its length
    is ``last_months`` if known, else the gap before it (periods of a segmented grid differ in length)."""
    if last_months is None and len(dates) > 1:
        last_months = (dates[-1].year - dates[-2].year) * 12 + dates[-1].month - dates[-2].month
    last_months = last_months or 1
    return dates.append(pd.DatetimeIndex([dates[-1] + pd.DateOffset(months=int(last_months))]))


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


def _source_colors(plan: pd.DataFrame) -> dict[str, str | tuple]:
    """A colour per source, the sources the plan uses first (so that they get the distinct ones), in plan order;
    past the palette, tab20's."""
    peaks = plan.groupby("source", sort=False)["mw_online"].max()
    order = [*peaks.index[peaks > IN_PLAN_MW], *peaks.index[peaks <= IN_PLAN_MW]]
    return {source: SOURCE_COLORS[i] if i < len(SOURCE_COLORS) else matplotlib.colormaps["tab20"](i % 20)
            for i, source in enumerate(order)}


def _paler(color: str | tuple, share: float = 0.55) -> tuple:
    """``color`` mixed with ``share`` of white: the ground of a hatched band, so that it reads as its source's."""
    red, green, blue = matplotlib.colors.to_rgb(color)
    return (red + (1 - red) * share, green + (1 - green) * share, blue + (1 - blue) * share)


def _category_color(category: str, i: int) -> tuple | str:
    """The category's fixed colour; a category the model does not know (a new one) falls back to tab20."""
    return CATEGORY_COLORS.get(category) or matplotlib.colormaps["tab20"](i % 20)


def _stacked_bars(ax, x: np.ndarray, table: pd.DataFrame, total_label: str,
                  extra: tuple[float, float, str] | None = None) -> None:
    """Bars of ``table``'s columns (cost categories) stacked at ``x``, positive parts up and negative parts down,
    with the net total of each bar as a diamond. ``extra`` = (x, value, label) is one more bar apart from the
    stacks (the salvage), not in any total."""
    up, down = np.zeros(len(x)), np.zeros(len(x))
    for i, column in enumerate(table.columns):
        values = table[column].fillna(0.0).to_numpy()
        ax.bar(x, values, bottom=np.where(values >= 0, up, down), color=_category_color(str(column), i),
               label=str(column).replace("_", " "), width=0.7)
        up, down = up + np.clip(values, 0, None), down + np.clip(values, None, 0)
    ax.plot(x, table.sum(axis=1).to_numpy(), "D", color="black", markersize=5, label=total_label)
    if extra is not None:
        extra_x, value, label = extra
        ax.bar([extra_x], [value], color=CATEGORY_COLORS["salvage"], hatch="..", edgecolor="white", width=0.7,
               label=label)
        up, down = np.append(up, max(value, 0.0)), np.append(down, min(value, 0.0))
    ax.axhline(0, color="black", linewidth=0.8)
    # Explicit limits: a zero-height bar on top of a stack is a sticky edge that would cut the margin off.
    pad = 0.06 * max(up.max() - down.min(), 1e-9)
    ax.set_ylim(down.min() - (pad if down.min() < 0 else 0), up.max() + pad)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _source_bands(ax, dates: pd.DatetimeIndex, held: pd.DataFrame, resold: pd.DataFrame, used: list[str],
                  colors: dict[str, tuple]) -> None:
    """Each source's band, stacked: the part serving the lab solid, then the part resold to others hatched in the
    source's own colour, inside the source's band (resale is per source: hatching the top of the stack would put
    it on whatever source happens to be drawn last)."""
    base = np.zeros(len(dates))
    for source in used:
        total = _repeat_last(held[source].to_numpy())
        sold = np.minimum(_repeat_last(resold[source].to_numpy()), total)
        ax.fill_between(dates, base, base + total - sold, step="post", color=colors[source], linewidth=0,
                        label=source)
        if sold.max() > 0:
            # On a pale ground of the source's colour, not white: a thin white stripe reads as a hole in the chart.
            ax.fill_between(dates, base + total - sold, base + total, step="post", facecolor=_paler(colors[source]),
                            edgecolor=colors[source], hatch="////", linewidth=0)
        base = base + total


def plot_capacity(plan: pd.DataFrame, demand: pd.DataFrame, stem: str | Path, *, compute_unit: str = "compute units",
                  title: str | None = None) -> list[Path]:
    """Capacity online by source (stacked) against demand per workload, in compute units; MW online below.

    ``plan`` and ``demand`` are ``Result.plan`` and ``Result.demand`` (or plan.csv and demand.csv). Capacity
    resold to others (plan.csv's per-source ``mw_resold``) is hatched in its source's colour at the top of that
    source's band: it is held but does not serve the lab's demand."""
    periods = sorted(demand["period"].unique())  # the plan has no rows when the instance has no sources
    dates = _with_end(_dates(periods), int(demand.loc[demand["period"] == periods[-1], "months"].iloc[0]))
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
    _source_bands(top, dates, compute / divisor, compute * resold_share / divisor, used, colors)
    total = _repeat_last(by_workload.sum(axis=1).to_numpy() / divisor)
    top.step(dates, total, where="post", color="black", linewidth=1.8, label="total demand")
    drawn: list[str] = []
    for workload, (color, width, style, alpha) in zip(by_workload.columns, WORKLOAD_STYLES, strict=False):
        values = by_workload[workload].to_numpy()
        # A line on top of another one is hidden: the legend says so.
        same = [w for w in drawn if np.allclose(by_workload[w].to_numpy(), values, rtol=1e-9, atol=1e-9)]
        label = f"{workload} demand" + (f" (= {', '.join(same)})" if same else "")
        top.step(dates, _repeat_last(values / divisor), where="post", color=color, linewidth=width, linestyle=style,
                 alpha=alpha, label=label)
        drawn.append(workload)
    handles, labels = top.get_legend_handles_labels()
    if (resold_mw[used] > 0).any().any():
        handles.append(Patch(facecolor=_paler("#555555"), edgecolor="#555555", hatch="////"))
        labels.append("resold to others (hatched, in the source's colour)")
    top.set_ylabel(f"compute online, {unit_label}")
    top.set_title(title or f"Capacity online by source against demand ({compute_unit})", loc="left")
    top.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _date_axis(top)

    mw_divisor, mw_label = (1e3, "GW") if float(mw.sum(axis=1).max()) >= 2000 else (1.0, "MW")
    _source_bands(bottom, dates, mw / mw_divisor, resold_mw / mw_divisor, used, colors)
    bottom.set_ylabel(f"IT power online, {mw_label}")
    bottom.set_xlabel("period start")
    _date_axis(bottom)
    return save_figure(fig, stem)


def plot_costs(costs: pd.DataFrame, stem: str | Path, *, discounted: bool = True,
               start: str | None = None) -> list[Path]:
    """Cost by category per year, stacked bars (resale revenue below zero), with the net cost per year; the
    salvage is a bar of its own right of the years.

    ``costs`` is ``Result.costs``: ``discounted_usd`` (to the horizon start, as in the objective; ``start``
    names it on the axis) or ``nominal_usd``. The salvage of assets that outlive the horizon is booked in the last
    year; inside that year's stack it would read as a profitable year, so it is drawn apart and left out of the
    net per year."""
    column = "discounted_usd" if discounted else "nominal_usd"
    table = costs.pivot_table(index="year", columns="category", values=column, aggfunc="sum", sort=False) / 1e9
    order = {c: i for i, c in enumerate(COST_CATEGORIES)}
    table = table[sorted(table.columns, key=lambda c: order.get(c, len(order)))]
    table = table.loc[:, table.abs().max() > 5e-4].sort_index()
    # Values at the horizon end: what is left (salvage) and take-or-pay owed after it (which buys part of it).
    salvage = sum(float(table.pop(c).sum()) for c in END_CATEGORIES if c in table)
    years = table.index.to_numpy()
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.subplots()
    extra = (years[-1] + 1.2, salvage, SALVAGE_LABEL) if salvage else None
    _stacked_bars(ax, years, table, "net cost of the year (without salvage)", extra)
    ticks, labels = list(years), [str(y) for y in years]
    if extra:
        ticks.append(extra[0])
        labels.append("salvage\n(horizon end)")
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("year")
    money = f"discounted to {start}" if discounted and start else ("discounted" if discounted else "nominal")
    ax.set_ylabel(f"USD billion, {money}")
    total = "net present cost" if discounted else "nominal cost"
    ax.set_title(f"Cost by category and year ({money}); the bars and the salvage add up to the {total}", loc="left")
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


def plot_one_more(table: pd.DataFrame, stem: str | Path) -> list[Path]:
    """What one more unit of each limit saves with the plan free (marginal/one_more.csv): a bar per re-solve, USD
    million, with the bracket the two solves' MILP gaps allow as its error bar. Cases without an answer are left
    out (the table says why)."""
    rows = table[table["value_usd"].notna()].iloc[::-1]
    fig = Figure(figsize=(9, 1.2 + 0.45 * max(len(rows), 1)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    value = rows["value_usd"].to_numpy(float) / 1e6
    low, high = rows["value_low_usd"].to_numpy(float) / 1e6, rows["value_high_usd"].to_numpy(float) / 1e6
    ax.barh(y, value, color=[SOURCE_COLORS[1] if d else "#DDDDDD" for d in rows["decided"].astype(bool)])
    ax.errorbar(value, y, xerr=[value - low, high - value], fmt="none", ecolor="black", capsize=3, linewidth=1)
    ax.set_yticks(y, [f"{r.resource}: {r.name} (+{r.amount:,.4g} {r.unit})" for r in rows.itertuples()], fontsize=8)
    ax.set_xlabel("saving in net present cost, USD million (bar: the re-solve; whiskers: the gaps' bracket)")
    ax.set_title("One more unit of each limit, the plan free to change (grey: undecided, the bracket holds 0)",
                 loc="left", fontsize=10)
    ax.set_xlim(left=0)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return save_figure(fig, stem)


def plot_tree_costs(scenarios: pd.DataFrame, stem: str | Path) -> list[Path]:
    """What not knowing the future costs in each scenario of a tree (scenarios.csv): the tree plan's net present
    cost in the scenario less that of the scenario's own plan with foresight (WS), USD billion; bar height ~ the
    scenario's probability. Without WS, the tree plan's cost itself."""
    rows = scenarios.iloc[::-1]
    regret = "ws_usd" in rows and rows["ws_usd"].notna().all()
    amount = (rows["npc_usd"] - rows["ws_usd"] if regret else rows["npc_usd"]).to_numpy(float) / 1e9
    fig = Figure(figsize=(9, 1.2 + 0.4 * max(len(rows), 1)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    probability = rows["probability"].to_numpy(float)
    ax.barh(y, amount, height=0.25 + 0.7 * probability / probability.max(), color=SOURCE_COLORS[0])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [f"{r.scenario} (p={r.probability:.3g})" for r in rows.itertuples()], fontsize=8)
    if regret:
        ax.set_xlabel("USD billion: the tree's plan in the scenario less the scenario's own plan with foresight "
                      "(bar height: probability)", fontsize=8)
        ax.set_title("What not knowing the future costs in each scenario (below 0: within the solves' gaps)",
                     loc="left", fontsize=10)
    else:
        ax.set_xlabel("net present cost of the tree's plan, USD billion (bar height: probability)")
        ax.set_title("Cost by scenario", loc="left", fontsize=10)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
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
            replace_atomic(path, chart.plot)
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

    ``value`` (the break-even found) is marked with a vertical line. The solves of a screening grid (stage
    ``screen``) are drawn as crosses of their peak MW only: their costs are of another grid."""
    stage = evaluations["stage"] if "stage" in evaluations else pd.Series("search", index=evaluations.index)
    screen = evaluations[stage == "screen"]
    table = evaluations[stage != "screen"].sort_values("value")
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    if not screen.empty:
        ax.plot(screen["value"], screen["peak_mw"], "x", color="#d08c2c",
                label=f"screen on {screen['grid'].iloc[0]}" if "grid" in screen else "screen")
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
    ax.set_title(f"Break-even of {source}: {len(table)} solves"
                 + (f" after {len(screen)} on a screening grid" if not screen.empty else ""), loc="left")
    return save_figure(fig, stem)


def levelized_year(table: pd.DataFrame) -> int:
    """The first start year in which the most sources can start (the default year of the levelized chart)."""
    counts = table.groupby("start_year")["source"].nunique()
    return int(counts[counts == counts.max()].index.min())


def levelized_missing(table: pd.DataFrame, year: int) -> list[str]:
    """The sources of the levelized table that cannot start in ``year`` (no row for it)."""
    starting = set(table.loc[table["start_year"] == year, "source"])
    return [s for s in table["source"].drop_duplicates() if s not in starting]


def plot_levelized_costs(table: pd.DataFrame, stem: str | Path, *, compute_unit: str = "compute unit",
                         per: Literal["unit", "mw"] = "unit", year: int | None = None) -> list[Path]:
    """Levelized cost per source, stacked by component (the table of ``solver.economics.levelized_costs``), of
    capacity started in one year.

    ``per="unit"`` compares sources per compute unit-year (they differ in compute per MW), ``per="mw"`` per
    MW-year. One start year for all (``year``, default :func:`levelized_year`): bars of different start years side
    by side would read as a same-year comparison. Sources that cannot start that year are named below the chart."""
    column = "usd_per_unit_year" if per == "unit" else "usd_per_mw_year"
    year = levelized_year(table) if year is None else year
    missing = levelized_missing(table, year)
    chosen = table[table["start_year"] == year]
    if chosen.empty:
        raise ValueError(f"no source can start in {year} (start years costed: "
                         f"{', '.join(map(str, sorted(table['start_year'].unique())))})")
    pivot = chosen.pivot_table(index="source", columns="component", values=column, aggfunc="sum", sort=False)
    order = {c: i for i, c in enumerate(COST_CATEGORIES)}
    pivot = pivot[sorted(pivot.columns, key=lambda c: order.get(c, len(order)))].fillna(0.0)
    divisor, unit = (1e6, "USD million per MW-year") if per == "mw" else (1.0, f"USD per {compute_unit}-year")
    pivot = pivot / divisor
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(pivot))
    _stacked_bars(ax, x, pivot, "total")
    ax.set_xticks(x, list(pivot.index), fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlabel("source" + (f" (cannot start in {year}: {', '.join(missing)})" if missing else ""))
    ax.set_ylabel(unit)
    ax.set_title(f"Levelized cost by source and component, capacity started in {year}", loc="left")
    return save_figure(fig, stem)
