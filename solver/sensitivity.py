"""One-at-a-time what-ifs on a solved plan: the tornado and the break-even of a source.

:func:`tornado` re-solves the instance with each parameter at its low and at its high value (the others at the
instance's values), in one :class:`~solver.solve.Planner` changed in place, and ranks the parameters by the swing
of the net present cost, saying which sources enter, leave or change in each case.

:func:`breakeven` finds the value of a parameter at which a source (or a kind of source, such as ``orbital``)
enters or leaves the optimal plan. For a parameter that only moves costs, and moves them linearly (a price, a
scaled cost), each plan's cost is a line in the parameter and the optimal cost the lower envelope of those lines,
a concave piecewise-linear function: plans, not bisection steps, locate the break-even. The plans at the two ends
are costed along the range, the next solve is where their lines cross, and either no plan beats the two lines
there (then the envelope is those two lines on the whole range, by concavity, and the crossing is the
break-even) or a new plan does and replaces the end whose indicator it shares. That takes one solve per plan on
the envelope between the two ends, plus two, rather than log2(range / tolerance). Otherwise (the parameter moves
a bound, a coefficient or the model's shape) ``scipy.optimize.bisect`` on the plan indicator brackets the
break-even to the tolerance, then the two plans either side are costed with the decisions fixed and
``scipy.optimize.brentq`` finds where their costs cross. Near the break-even the two plans cost nearly the
same, so the MILP gap decides which one a solve returns: the result states the width of the parameter band
within which the gap leaves the indicator undecided (``noise_band``), so a tolerance finer than that band is
known to be solver noise.

With a screening grid (``screen_grid``, a coarser time resolution) the break-even is first found on that grid,
solves that take seconds; the search on the instance's own grid then starts from the screen's crossing plus and
minus twice its band or the tolerance, whichever is wider. Where the indicator is the same at both ends of that
range (a coarse grid's crossing is biased, by an amount not known before), the search goes on from the end
nearer the crossing to the end of the parameter's range.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from solver.instance import InstanceError, with_changes
from solver.params import Parameter, apply, check
from solver.results import result_words, write_atomic
from solver.schema import MONTH_PATTERN, SOURCE_KINDS, Instance, month_index
from solver.solve import Planner, Progress, Result, numbered_log
from solver.sweep import IN_PLAN_MW, point_outputs
from solver.timegrid import grid_text

CHANGE_SHARE = 0.01  # a source "changes" when its MW-months move by more than 1%


@dataclass
class Tornado:
    """One row per parameter, sorted by swing (its column ``grid``: the grid of every solve, in words);
    ``base_usd`` is the net present cost with no parameter moved."""

    base_usd: float
    table: pd.DataFrame

    def to_csv(self, path: str | Path) -> None:
        write_atomic(Path(path), self.table.to_csv(index=False))

    def plot(self, path: str | Path) -> None:
        """A tornado chart (PNG, or SVG by the suffix): the change of the net present cost at each parameter's
        low and high value. (:func:`solver.plots.plot_tornado` writes it atomically, as PNG and SVG.)"""
        from matplotlib.figure import Figure  # not pyplot: no global backend or figure state

        rows = self.table.iloc[::-1]  # largest swing at the top
        fig = Figure(figsize=(9, 0.55 * len(rows) + 1.6))
        ax = fig.subplots()
        y = np.arange(len(rows))
        ax.barh(y, rows["delta_low_usd"] / 1e9, color="#4878a8", label="at low value")
        ax.barh(y, rows["delta_high_usd"] / 1e9, color="#d1803a", label="at high value")
        ax.set_yticks(y, [f"{p}\n[{lo:g} .. {hi:g}]" for p, lo, hi in zip(rows["parameter"], rows["low"],
                                                                            rows["high"], strict=True)], fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"change of net present cost, USD billion (base {self.base_usd / 1e9:,.2f})")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)


def tornado(instance: Instance, parameters: list[Parameter], *, fixed: dict[str, Any] | None = None,
            mip_gap: float = 1e-4, time_limit: float | None = None, threads: int | None = None,
            report: Callable[[str], None] | None = None,
            progress: Callable[[Progress], None] | None = None, log: bool = False,
            log_file: str | None = None) -> Tornado:
    """Re-solve with each parameter at its low and high value in turn; rank by the swing of the net present cost.

    ``fixed`` changes (path -> content) apply to every solve, the base included; ``report`` gets a line after
    each solve, ``progress`` the running solve's :class:`~solver.solve.Progress`; ``log`` prints HiGHS's log,
    ``log_file`` writes solve k's to ``<log_file stem>-k.log``."""
    check(instance, parameters, fixed)
    # Every case is built (and so validated) before the first solve.
    cases = {(parameter, end): apply(instance, {parameter: getattr(parameter, end)}, fixed)
             for parameter in parameters for end in ("low", "high")}
    planner = Planner(apply(instance, {}, fixed))
    options = {"mip_gap": mip_gap, "time_limit": time_limit, "threads": threads, "progress": progress, "log": log}
    base = _solved(planner.solve(**options, log_file=numbered_log(log_file, 1)), "the base case", optimal=False)
    total = 1 + 2 * len(parameters)
    if report:
        report(f"solve 1 of {total}, the base case: {result_words(base)}")
    base_sources = _sources(planner, base)
    rows = []
    grid = grid_text(instance.horizon.period)
    for parameter in parameters:
        row: dict[str, Any] = {"parameter": parameter.label, "low": parameter.low, "high": parameter.high,
                               "grid": grid}
        for end in ("low", "high"):
            planner.update(cases[parameter, end])
            k = 2 + 2 * len(rows) + (end == "high")
            result = planner.solve(**options, log_file=numbered_log(log_file, k))
            if report:
                report(f"solve {k} of {total}, {parameter.label}="
                       f"{getattr(parameter, end):g}: {result_words(result)}")
            row[f"status_{end}"] = result.status
            row[f"npc_{end}_usd"] = result.objective_usd if result.has_plan else math.nan
            row[f"delta_{end}_usd"] = row[f"npc_{end}_usd"] - base.objective_usd
            row[f"plan_change_{end}"] = plan_change(base_sources, _sources(planner, result)) if result.has_plan \
                else f"no plan ({result.status})"
        costs = [base.objective_usd, row["npc_low_usd"], row["npc_high_usd"]]
        row["swing_usd"] = max(costs) - min(costs) if all(map(math.isfinite, costs)) else math.nan
        rows.append(row)
    # An end without a plan has no swing: such rows come first, for they need a look.
    table = pd.DataFrame(rows).sort_values("swing_usd", ascending=False, kind="stable", ignore_index=True,
                                           na_position="first")
    return Tornado(base_usd=base.objective_usd, table=table)


def plan_change(before: dict[str, dict], after: dict[str, dict]) -> str:
    """Which sources enter, leave or change scale between two plans, e.g. ``+suncatcher (244 MW peak); -colossus_1``."""
    changes = []
    for source in sorted(set(before) | set(after)):
        old = before.get(source, {"peak_mw": 0.0, "mw_months": 0.0})
        new = after.get(source, {"peak_mw": 0.0, "mw_months": 0.0})
        was, now = old["peak_mw"] > IN_PLAN_MW, new["peak_mw"] > IN_PLAN_MW
        if now and not was:
            changes.append(f"+{source} ({new['peak_mw']:,.0f} MW peak)")
        elif was and not now:
            changes.append(f"-{source}")
        elif was and abs(new["mw_months"] - old["mw_months"]) > CHANGE_SHARE * old["mw_months"]:
            changes.append(f"{source} {old['mw_months']:,.0f}->{new['mw_months']:,.0f} MW-months")
    return "; ".join(changes) or "same sources"


def plain(number: float) -> str:
    """A parameter value for a person: digits with separators (3,333,333), not 3.33333e+06."""
    if number != 0 and abs(number) < 1e-3 or abs(number) >= 1e15:
        return f"{number:.4g}"
    return f"{number:,.6f}".rstrip("0").rstrip(".") if abs(number) < 1e5 else f"{number:,.0f}"


@dataclass
class Breakeven:
    """Where ``source`` enters or leaves the plan as ``parameter`` moves over ``[low, high]``."""

    parameter: str
    source: str
    value: float  # the crossing of the two bracketing plans' costs (the bracket's midpoint if they do not cross)
    bracket: tuple[float, float]  # the source is in the plan at one end and not at the other
    tolerance: float
    in_plan_below: bool  # True: the source is in the plan for values below the break-even
    by: str | None  # only MW online in periods starting by this month counts (None: the whole horizon)
    noise_band: float  # width of parameter values within which the MILP gap cannot tell the two plans apart
    mip_gap: float
    grid: str  # the grid of the answer, in words
    evaluations: pd.DataFrame = field(repr=False)  # one row per solve, the screen's first (column "stage")
    method: str = "bisection"  # or "plan lines" (a parameter that moves costs linearly)
    screen: Breakeven | None = None  # the search on a screening grid that gave the range searched
    searched: tuple[float, float] | None = None  # the range searched on this grid (None: the parameter's)

    def summary(self) -> str:
        side = "below" if self.in_plan_below else "above"
        when = f" (online by {self.by})" if self.by else ""
        how = (f"bracket {plain(self.bracket[0])} .. {plain(self.bracket[1])}, tolerance {plain(self.tolerance)}"
               if self.method == "bisection" else "located by the plans' cost lines")
        own = int((self.evaluations["stage"] == "search").sum())
        lines = [f"{self.source} is in the plan{when} for {self.parameter} {side} {plain(self.value)} "
                 f"({how}; {own} MILP solves at gap {self.mip_gap:g} on {self.grid})"]
        if self.screen is not None:
            lines.append(f"  screened on {self.screen.grid}: {plain(self.screen.value)} in "
                         f"{len(self.screen.evaluations)} solves; searched on {self.grid} over "
                         f"{plain(self.searched[0])} .. {plain(self.searched[1])}")
        if math.isfinite(self.noise_band):
            verdict = ("within the tolerance" if self.noise_band <= self.tolerance
                       else "WIDER than the tolerance: tighten --gap for an answer that is not solver noise")
            band = f"{self.noise_band:,.0f}" if self.noise_band >= 100 else f"{self.noise_band:,.3g}"
            lines.append(f"  the MILP gap leaves the plan undecided over a band of {band} "
                         f"around it, {verdict}")
        return "\n".join(lines)


def breakeven(instance: Instance, parameter: Parameter, source: str, *, tolerance: float | None = None,
              by: str | None = None, fixed: dict[str, Any] | None = None, mip_gap: float = 1e-4,
              time_limit: float | None = None, threads: int | None = None,
              report: Callable[[str], None] | None = None,
              progress: Callable[[Progress], None] | None = None, log: bool = False,
              log_file: str | None = None, method: str = "auto", screen_grid: str | list | None = None) -> Breakeven:
    """The value of ``parameter`` in ``[parameter.low, parameter.high]`` at which ``source`` enters the plan.

    ``source`` is a source name or a kind of source (``orbital``, ``build``...): the indicator is whether any
    matching source has MW online in the plan (``by="YYYY-MM"``: in a period starting by that month, for the
    price at which a source enters by a date). ``tolerance`` (default 1%
    of the range) is the bracket width at which bisection stops; ``report`` gets a line after each solve,
    ``progress`` the running solve's :class:`~solver.solve.Progress`; ``log`` prints HiGHS's log, ``log_file``
    writes solve k's to ``<log_file stem>-k.log``. ``method``: ``"auto"`` (plan lines where the parameter moves
    costs linearly, else bisection), ``"bisection"`` or ``"lines"`` (an error where it does not apply).
    ``screen_grid`` (a ``horizon.period``: ``"quarter"``, or segments): find the break-even on that grid first,
    then search the instance's own grid from there (module docstring). Raises ``ValueError`` if the indicator is
    the same at both ends (on the screening grid, if one is given)."""
    if method not in ("auto", "bisection", "lines"):
        raise InstanceError(f"method {method!r}: expected auto, bisection or lines")
    check_source(instance, source)
    if not parameter.low < parameter.high:
        raise InstanceError(f"{parameter.label}: expected a range LOW < HIGH to search, got "
                            f"{parameter.low:g} and {parameter.high:g}")
    check(instance, [parameter], fixed)
    if by is not None:
        check_month_in_horizon(instance, by)
    low, high = parameter.low, parameter.high
    tolerance = tolerance if tolerance is not None else (high - low) / 100
    if not tolerance > 0:
        raise InstanceError(f"tolerance: expected a positive width in the parameter's unit (got {tolerance:g})")
    screen = None
    if screen_grid is not None:
        try:
            coarse = screening_instance(instance, screen_grid)
        except InstanceError as exc:
            raise InstanceError(f"screen_grid {screen_grid!r}: {exc}") from None
        screen_report = None if report is None else (lambda line: report(f"screen {line}"))
        try:
            screen = breakeven(coarse, parameter, source, tolerance=tolerance, by=by, fixed=fixed, mip_gap=mip_gap,
                               time_limit=time_limit, threads=threads, report=screen_report, progress=progress,
                               log=log, log_file=numbered_log(log_file, "screen"), method=method)
        except (ValueError, RuntimeError) as exc:  # no crossing on that grid, or a solve not proven optimal
            raise type(exc)(f"on the screening grid ({grid_text(coarse.horizon.period)}): {exc}") from None
    grid = grid_text(instance.horizon.period)
    planner: Planner | None = None
    evaluations: list[dict] = []
    plans: dict[float, tuple[np.ndarray, bool]] = {}
    # At each value solved, what the plan lines need of its compiled model: its costs and a fingerprint of the
    # rest (a whole compiled model would keep its Pyomo model alive, one per solve).
    models: dict[float, ModelCosts] = {}

    def in_plan(x: float) -> float:
        if x in plans:  # scipy's bisect evaluates the ends again
            return 1.0 if plans[x][1] else -1.0
        nonlocal planner
        changed = apply(instance, {parameter: x}, fixed)
        if planner is None:
            planner = Planner(changed)
        else:
            planner.update(changed)
        # Only a proven optimum says whether the source belongs in the plan.
        result = _solved(planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=threads, progress=progress,
                                       log=log, log_file=numbered_log(log_file, len(evaluations) + 1)),
                         f"{parameter.label}={x:g}", optimal=True)
        matching = _matching(result, source, by)
        peak = float(result.plan.loc[matching, "mw_online"].max()) if matching.any() else 0.0
        evaluations.append({"value": x, "in_plan": peak > IN_PLAN_MW, "peak_mw": peak, "status": result.status,
                            "npc_usd": result.objective_usd, "gap": result.gap, "stage": "search", "grid": grid})
        plans[x] = (planner.plan_vector(), peak > IN_PLAN_MW)
        if method != "bisection" and planner.compiled is not None:
            models[x] = ModelCosts.of(planner.compiled)
        if report:
            where = f"in the plan ({peak:,.1f} MW peak)" if peak > IN_PLAN_MW else "not in the plan"
            report(f"solve {len(evaluations)}, {parameter.label}={plain(x)}: {source} {where}; {result_words(result)}")
        return 1.0 if peak > IN_PLAN_MW else -1.0

    if screen is not None:
        low, high = _range_from_screen(in_plan, screen, low, high)
    at_low, at_high = in_plan(low), in_plan(high)
    if at_low == at_high:
        where = ("in the plan" if at_low > 0 else "not in the plan") + (f" by {by}" if by else "")
        raise ValueError(f"{source} is {where} at both {parameter.label}={low:g} and {high:g}"
                         + (f" on {grid}" if screen else "") + ": no break-even between them"
                         + (f" (on {screen.grid} it is at {plain(screen.value)})" if screen else ""))
    in_plan_below = bool(at_low > 0)
    searched = (low, high) if screen is not None else None

    def table() -> pd.DataFrame:
        ours = pd.DataFrame(evaluations).sort_values("value", ignore_index=True)
        return ours if screen is None else pd.concat([screen.evaluations.assign(stage="screen"), ours],
                                                     ignore_index=True)

    if method != "bisection":
        found = _by_plan_lines(in_plan, plans, models, low, high, mip_gap, tolerance)
        if found is not None:
            value, band = found
            half = band / 2 if math.isfinite(band) else 0.0
            return Breakeven(parameter=parameter.label, source=source, value=value,
                             bracket=(value - half, value + half), tolerance=tolerance, in_plan_below=in_plan_below,
                             by=by, noise_band=band, mip_gap=mip_gap, method="plan lines", evaluations=table(),
                             grid=grid, screen=screen, searched=searched)
        if method == "lines":
            raise ValueError(f"{parameter.label} does not move costs alone, or not linearly: its break-even cannot "
                             "be located by plan lines (use bisection)")
    optimize.bisect(in_plan, low, high, xtol=tolerance, rtol=4 * np.finfo(float).eps)
    ours = pd.DataFrame(evaluations)
    inside = ours[ours["in_plan"]]["value"]
    outside = ours[~ours["in_plan"]]["value"]
    bracket = (inside.max(), outside.min()) if in_plan_below else (outside.max(), inside.min())
    value, band = _crossing(instance, parameter, fixed, bracket, plans, mip_gap, planner)
    return Breakeven(parameter=parameter.label, source=source, value=value, bracket=bracket, tolerance=tolerance,
                     in_plan_below=in_plan_below, by=by, noise_band=band, mip_gap=mip_gap, evaluations=table(),
                     grid=grid, screen=screen, searched=searched)


def screening_instance(instance: Instance, period: str | list) -> Instance:
    """``instance`` on the screening grid ``period`` (a ``horizon.period``); :class:`InstanceError` if the grid
    does not fit the horizon or is the instance's own (nothing to screen)."""
    coarse = with_changes(instance, {"horizon.period": period})
    if grid_text(coarse.horizon.period) == grid_text(instance.horizon.period):
        raise InstanceError(f"expected a grid other than the one searched ({grid_text(instance.horizon.period)})")
    return coarse


def _range_from_screen(in_plan: Callable[[float], float], screen: Breakeven, low: float,
                       high: float) -> tuple[float, float]:
    """The range to search on the instance's own grid: the screen's crossing plus and minus twice its band or
    the tolerance, whichever is wider (the own grid's band, not known before its solves, may be the wider), within
    [low, high]. Where the indicator is the same at both its ends, the crossing lies beyond one of them: the range
    becomes that end to the parameter's ``low`` or ``high`` (one more solve; the plan lines, or the bisection,
    then search it as they would the whole range). Past ``low`` or ``high`` there is nothing to search: the
    range is returned as it is, for the caller to say so."""
    band = screen.noise_band if math.isfinite(screen.noise_band) else 0.0
    width = 2 * max(band, screen.tolerance)
    a, b = max(low, screen.value - width), min(high, screen.value + width)
    if (flag := in_plan(a)) != in_plan(b):
        return a, b
    above = (flag > 0) == screen.in_plan_below  # in the plan at both ends, as below the crossing: it is above them
    if above and b < high:
        return b, high
    if not above and low < a:
        return low, a
    return a, b


MAX_LINE_STEPS = 30  # plans on the envelope between the two ends; more means the costs are not what they seem


def _by_plan_lines(in_plan: Callable[[float], float], plans: dict, models: dict, low: float, high: float,
                   mip_gap: float, tolerance: float) -> tuple[float, float] | None:
    """The break-even from the plans' cost lines, and its noise band; None where the parameter does not move the
    costs alone and linearly (the model's rows, bounds or matrix differ between values, or a cost off the line
    through the ends), which the bisection then handles from the evaluations made so far.

    Each plan x costs c(v)·x + offset(v) at value v (the compiled model's costs): a line in v when c is linear.
    Between ends a < b whose plans differ in the indicator, the next solve is at the crossing v of their lines.
    If the optimum there is not below the lines (by more than the gap allows), the envelope is the two lines on
    [a, b] (a concave function that meets a line at both ends of an interval and stays below it is that line)
    and v is the break-even; else the new plan replaces the end whose indicator it shares."""
    a, b = low, high
    if low not in models or high not in models or models[low].shape != models[high].shape:
        return None
    c_a, c_b = models[low], models[high]

    def line(plan: np.ndarray, v: float) -> float:  # the plan's cost at v, linear between the ends' costs
        w = (v - low) / (high - low)
        return float((1 - w) * (c_a.costs @ plan + c_a.offset) + w * (c_b.costs @ plan + c_b.offset))

    for _ in range(MAX_LINE_STEPS):
        plan_a, plan_b = plans[a][0], plans[b][0]
        if plan_a is None or plan_b is None:
            return None
        slope_a, slope_b = line(plan_a, high) - line(plan_a, low), line(plan_b, high) - line(plan_b, low)
        if slope_a == slope_b:
            return None
        v = low + (line(plan_b, low) - line(plan_a, low)) / (slope_a - slope_b) * (high - low)
        gap_money = mip_gap * max(abs(line(plan_a, v)), abs(line(plan_b, v)), 1e-9)
        band = 2 * gap_money * (high - low) / abs(slope_a - slope_b)
        if not a < v < b or b - a <= min(tolerance, band):  # the ends' plans cross at the edge: nothing between
            return (min(max(v, a), b), band)
        flag = in_plan(v)
        if v not in models or models[v].shape != c_a.shape or not models[v].on_line(c_a, c_b, (v - low) / (high - low)):
            return None
        plan_v = plans[v][0]
        if plan_v is None:
            return None
        if line(plan_v, v) >= min(line(plan_a, v), line(plan_b, v)) - gap_money:
            return v, band
        if flag == (1.0 if plans[a][1] else -1.0):
            a = v
        else:
            b = v
    return None


@dataclass(frozen=True)
class ModelCosts:
    """A compiled model's costs, and a fingerprint of everything else HiGHS sees (columns, rows, bounds,
    integrality, matrix): two models with the same ``shape`` differ at most in their costs."""

    costs: np.ndarray
    offset: float
    shape: str

    @classmethod
    def of(cls, compiled) -> ModelCosts:
        lp = compiled.lp
        digest = hashlib.sha256("\x1f".join(map(str, [*compiled.column_names, "|", *compiled.row_names])).encode())
        matrix = lp.a_matrix_
        for array in (lp.row_lower_, lp.row_upper_, lp.col_lower_, lp.col_upper_, matrix.start_, matrix.index_,
                      matrix.value_):
            digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        digest.update(bytes(int(v) for v in lp.integrality_))
        return cls(np.asarray(lp.col_cost_, dtype=float), float(lp.offset_), digest.hexdigest())

    def on_line(self, low: ModelCosts, high: ModelCosts, w: float) -> bool:
        """Whether these costs are the interpolation, at share ``w`` of the range, of the ends' costs."""
        scale = max(float(np.abs(low.costs).max(initial=0)), float(np.abs(high.costs).max(initial=0)), 1.0)
        return bool(np.allclose(self.costs, (1 - w) * low.costs + w * high.costs, rtol=1e-9, atol=1e-9 * scale)
                    and math.isclose(self.offset, (1 - w) * low.offset + w * high.offset, rel_tol=1e-9,
                                     abs_tol=1e-9 * scale))


def _crossing(instance: Instance, parameter: Parameter, fixed, bracket: tuple[float, float], plans: dict,
              mip_gap: float, planner: Planner) -> tuple[float, float]:
    """Where the costs of the two plans at the bracket's ends cross (decisions fixed), and the noise band there.

    The cost of a fixed plan at a parameter value is c(x)·v + offset(x) of the model compiled at x; the plans are
    only compared where both models have the same columns. Returns the midpoint and an infinite band when the two
    costs do not cross inside the bracket (the parameter also moved constraints, not only costs)."""
    a, b = bracket
    midpoint = (a + b) / 2
    compiled = {}
    for x in (a, b):
        planner.update(apply(instance, {parameter: x}, fixed))
        compiled[x] = planner.compiled
    if compiled[a] is None or compiled[b] is None or compiled[a].column_names != compiled[b].column_names:
        return midpoint, math.inf
    plan_a, plan_b = plans[a][0], plans[b][0]
    if plan_a is None or plan_b is None:
        return midpoint, math.inf

    def cost(plan: np.ndarray, x: float) -> float:  # linear interpolation between the ends: exact for prices
        lp = compiled[x].lp
        return float(np.dot(lp.col_cost_, plan) + lp.offset_)

    def difference(x: float) -> float:
        w = (x - a) / (b - a) if b != a else 0.0
        return ((1 - w) * (cost(plan_a, a) - cost(plan_b, a)) + w * (cost(plan_a, b) - cost(plan_b, b)))

    if not (_feasible(compiled[a], plan_b) and _feasible(compiled[b], plan_a)):
        return midpoint, math.inf  # the parameter moved constraints: a plan cannot be costed at the other end
    d_a, d_b = difference(a), difference(b)
    slope = abs(d_b - d_a) / (b - a) if b != a else 0.0
    # Either solve may return a plan up to the gap above the best: where the two plans' costs differ by less
    # than that, on both sides of the crossing, the indicator is undecided.
    gap_money = mip_gap * max(abs(cost(plan_a, a)), abs(cost(plan_b, b)))
    band = 2 * gap_money / slope if slope > 0 else math.inf
    if d_a * d_b >= 0:
        return midpoint, band
    return float(optimize.brentq(difference, a, b)), band


def _solved(result: Result, what: str, *, optimal: bool) -> Result:
    if not result.has_plan or (optimal and result.status != "optimal"):
        problem = "no plan" if not result.has_plan else "not proven optimal"
        raise RuntimeError(f"{what}: {problem} ({result.status}{': ' + result.message if result.message else ''})")
    return result


def _feasible(compiled, plan: np.ndarray, tolerance: float = 1e-6) -> bool:
    """Whether a plan (one value per column) meets every row and bound of a compiled model."""
    lp = compiled.lp
    activity = compiled.matrix() @ plan
    return bool(np.all(activity >= np.asarray(lp.row_lower_) - tolerance)
                and np.all(activity <= np.asarray(lp.row_upper_) + tolerance)
                and np.all(plan >= np.asarray(lp.col_lower_) - tolerance)
                and np.all(plan <= np.asarray(lp.col_upper_) + tolerance))


def _sources(planner: Planner, result: Result) -> dict[str, dict]:
    return point_outputs(result)["sources"]


def check_source(instance: Instance, source: str, argument: str = "source") -> None:
    """Raise :class:`InstanceError` unless ``source`` names a source of ``instance`` or a kind it has."""
    names = instance.sources()
    if source in names or source in names.values():
        return
    known = sorted(names) + sorted(set(names.values()))
    if source in SOURCE_KINDS:
        raise InstanceError(f"{argument} {source}: {instance.name} has no source of this kind (its sources: "
                            f"{', '.join(known) or 'none'})")
    guess = difflib.get_close_matches(source, known + list(SOURCE_KINDS), n=1)
    raise InstanceError(f"{argument} {source}: no source or kind of source of {instance.name} has this name"
                        + (f" (did you mean {guess[0]!r}?)" if guess else "")
                        + f"; known: {', '.join(known) or 'none'}")


def check_month_in_horizon(instance: Instance, month: str, argument: str = "by") -> None:
    """Raise :class:`InstanceError` unless ``month`` is a ``YYYY-MM`` month of ``instance``'s horizon."""
    horizon = instance.horizon
    if not MONTH_PATTERN.match(month):
        raise InstanceError(f"{argument} {month}: expected a month as YYYY-MM")
    if not month_index(horizon.start) <= month_index(month) <= month_index(horizon.end):
        raise InstanceError(f"{argument} {month}: expected a month in the horizon {horizon.start}..{horizon.end}")


def _matching(result: Result, source: str, by: str | None) -> pd.Series:
    plan = result.plan
    matching = (plan["source"] == source) | (plan["kind"] == source)
    return matching & (plan["period"] <= by) if by else matching  # period labels are YYYY-MM of the first month

