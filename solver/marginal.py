"""Marginal values of a plan: what one more unit of demand, site power, launch cadence or national cap is worth.

The MILP has no duals. :func:`marginal_values` fixes every integer decision at the plan's (rounded) value, re-solves
the remaining LP with HiGHS and reads its constraint duals, converted to USD:

* ``compute``: per workload and period, the cost of one more compute unit of demand (the dual of
  ``demand_balance``, with the unmet bound and orbit's inference share, which are shares of the demand, moved
  along), in USD per compute-unit-month, discounted to the horizon start (as in the objective) and in money of
  that period;
* ``site_power``: per site and period, the value of one more MW of grid connection (``build_site_power``,
  PUE x IT MW <= grid MW), in USD per grid-MW-month;
* ``launch``: per vehicle and period, the value of one more flight allowed in the period (``orbit_cadence``), USD;
* ``national_cap``: per calendar year, the value of one more MW of the cap on new MW online (``build_national_cap``);
* ``cost_ranging``: HiGHS cost ranging of the LP for the unmet-demand penalties and resale prices.

One more, not one less. At a kink of the LP's value (capacity exactly used, say) the dual is not unique: one more
unit of demand goes unmet (the penalty) while one unit less saves nothing. HiGHS returns one of the duals, so each
value here is computed as a right derivative: the LP is re-solved (warm, from the optimal basis) with the right-hand
side raised by a small step, and the duals are read there, where the slope in that direction is unique. The dual
HiGHS returned at the plan is kept in the ``lp_dual_*`` column. A value is +inf where one more unit is infeasible
with the plan fixed (a hard service floor with the capacity full).

Only continuous decisions can use a marginal unit of anything. With the integer decisions fixed, these are serving,
leaving demand unmet and resale; the MW online of every source and the satellite fleets follow from the fixed
integers through their state equations. So site power, launch cadence and the national cap are worth 0 here by
construction (see :data:`NOTE`). Contract ramps are variable bounds on ``contract_active`` (fixed by the fixed
commitments), not constraints, and are left out for the same reason.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from models.parts import COMPUTE, MONEY
from solver.instance import with_changes
from solver.results import Result, format_usd, write_atomic
from solver.schema import Instance
from solver.solve import Planner, max_violation, numbered_log
from solver.timegrid import TimeGrid
from solver.workers import spawn_pool, submit, terminate

TABLES = ("compute", "site_power", "launch", "national_cap", "cost_ranging", "one_more")
ONE_MORE_COLUMNS = ["resource", "name", "change", "amount", "unit", "status", "npc_usd", "bound_usd", "gap",
                    "value_usd", "value_low_usd", "value_high_usd", "value_usd_per_unit", "value_low_usd_per_unit",
                    "value_high_usd_per_unit", "decided", "seconds"]

NOTE = (
    "These marginal values hold for the fixed integer plan: every integer decision (contract blocks committed, "
    "lease signing and notice, modules built, satellites launched and flights) is fixed at the plan's value and "
    "only the continuous decisions (serving, unmet demand, resale) are re-optimised. With the integer decisions "
    "fixed, one more MW of site power, one more flight or one more MW of national cap is worth nothing unless a "
    "continuous decision can use it, and in this model none can: the MW online and the fleets follow from the "
    "fixed integers. "
    "So those values are 0 here even where the constraint binds; what more power, cadence or cap would be worth "
    "if the plan could change is one_more: a MILP re-solve with the integer decisions free per site, vehicle and "
    "the cap, with the bracket the two solves' gaps allow. Likewise contract ramps (variable "
    "bounds) are not reported: with the commitments fixed one more MW of ramp is worth 0. The value of compute is "
    "the cheapest way the fixed plan meets one more unit of demand: spare capacity (0), capacity taken back from "
    "resale (the resale price per unit), or leaving it unmet (the penalty). Values are for one MORE unit: where "
    "the capacity is exactly used, one more unit costs the penalty but one unit less saves nothing; lp_dual_* is "
    "the dual HiGHS returned at the plan, which at such a kink may be either. Discounted values are to the horizon "
    "start, as in the objective; the others are in money of that period (of that year for the national cap). "
    "cost_ranging moves one LP cost coefficient alone (one unmet penalty or resale price in one period) and gives "
    "the interval within which the LP's choice between serving, leaving unmet and reselling stays optimal; it says "
    "nothing about when the integer plan would change."
)


@dataclass
class MarginalValues:
    """Marginal values of one plan, as tidy tables (see the module docstring for each table)."""

    instance_name: str
    status: str  # status of the MILP solve whose integer plan was fixed
    objective_usd: float  # net present cost of that plan
    lp_objective_usd: float  # of the LP with the integer decisions fixed (equal, up to the LP re-optimising)
    compute_unit: str
    note: str
    compute: pd.DataFrame = field(default_factory=pd.DataFrame)
    site_power: pd.DataFrame = field(default_factory=pd.DataFrame)
    launch: pd.DataFrame = field(default_factory=pd.DataFrame)
    national_cap: pd.DataFrame = field(default_factory=pd.DataFrame)
    cost_ranging: pd.DataFrame = field(default_factory=pd.DataFrame)
    one_more: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ONE_MORE_COLUMNS))  # plan free
    lp_resolves: int = 0  # warm LP re-solves used to take the one-more values at kinks

    def summary(self) -> dict[str, Any]:
        return {
            "instance": self.instance_name,
            "status": self.status,
            "net_present_cost_usd": self.objective_usd,
            "fixed_plan_lp_cost_usd": self.lp_objective_usd,
            "compute_unit": self.compute_unit,
            "lp_resolves": self.lp_resolves,
            "tables": {name: f"{name}.csv" for name in TABLES},
            "note": self.note,
        }

    def to_csv(self, directory: str | Path) -> None:
        """One CSV per table and ``marginal.json`` (the note and the scalar facts) in ``directory``."""
        directory = Path(directory)
        for name in TABLES:
            write_atomic(directory / f"{name}.csv", getattr(self, name).to_csv(index=False))
        write_atomic(directory / "marginal.json",
                     json.dumps(self.summary(), indent=2, allow_nan=False))


@dataclass(frozen=True)
class _Family:
    """How a constraint family's dual becomes a value in USD."""

    component: str  # Pyomo constraint name
    keys: tuple[str, ...]  # names of the index columns; "period" and "year" are special
    unit: str  # column stem, e.g. "usd_per_unit_month"
    sign: float  # +1: a cost (more demand); -1: a saving (more of a resource, a <= right-hand side)
    per_period: bool  # divide by the months per period (a monthly rate)
    per_compute: bool = False  # divide by COMPUTE (the constraint is in model compute units)


FAMILIES = {
    "compute": _Family("demand_balance", ("workload", "period"), "usd_per_unit_month", +1.0, True, True),
    "site_power": _Family("build_site_power", ("site", "period"), "usd_per_grid_mw_month", -1.0, True),
    "launch": _Family("orbit_cadence", ("vehicle", "period"), "usd_per_flight", -1.0, False),
    "national_cap": _Family("build_national_cap", ("year",), "usd_per_mw", -1.0, False),
}


@contextmanager
def integers_fixed(model) -> Iterator[list]:
    """Fix every free integer variable at its rounded value; unfix exactly those afterwards."""
    fixed = []
    try:
        for var in model.component_data_objects(pyo.Var, active=True):
            if not var.is_continuous() and not var.fixed and var.value is not None:
                var.fix(round(var.value))
                fixed.append(var)
        yield fixed
    finally:
        for var in fixed:
            var.unfix()


def marginal_values(planner: Planner, result: Result | None = None, *, time_limit: float | None = None,
                    mip_gap: float = 1e-4, threads: int | None = None) -> MarginalValues:
    """Marginal values of the plan of ``result`` (solved now, with the options given, if ``result`` is None).

    ``result`` must be the planner's latest solve (its values are the ones in ``planner.model``). Raises
    ``ValueError`` if there is no plan to fix (infeasible, no solution at the time limit...) and ``RuntimeError``
    if the LP with the plan fixed cannot be solved to optimality.
    """
    model = planner.model
    if result is None:
        result = planner.solve(time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    if not result.has_plan:
        raise ValueError(f"{planner.instance.name}: no plan to take marginal values of: {result.status}"
                         + (f" ({result.message})" if result.message else ""))
    if not _model_holds(planner, result):
        raise ValueError(f"{planner.instance.name}: the result given is not the planner's latest solve "
                         "(pass result=None to solve again)")

    with integers_fixed(model):
        lp = Highs()
        lp.set_instance(model)
        highs = lp._solver_model
        n_cols = highs.getNumCol()
        # Fixed integer columns keep their integrality in HiGHS, which would then solve a MIP and give no duals.
        highs.changeColsIntegrality(n_cols, np.arange(n_cols, dtype=np.int32), np.zeros(n_cols, dtype=np.uint8))
        answer = lp.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False, tee=False,
                          threads=threads)
        if answer.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            raise RuntimeError(f"{planner.instance.name}: the LP with the integer plan fixed ended "
                               f"{answer.termination_condition.name}")
        highs.setOptionValue("output_flag", False)
        duals = answer.solution_loader.get_duals()
        ranging = _cost_ranging(planner, lp)  # before the re-solves below move the basis
        one_more, resolves = _one_more(planner, lp)

    out = MarginalValues(instance_name=planner.instance.name, status=result.status,
                         objective_usd=float(result.objective_usd),
                         lp_objective_usd=float(answer.incumbent_objective) * MONEY,
                         compute_unit=planner.instance.demand.compute_unit, note=_note(result),
                         cost_ranging=ranging, lp_resolves=resolves)
    for name, family in FAMILIES.items():
        setattr(out, name, _table(planner, family, duals, one_more))
    return out


def _model_holds(planner: Planner, result: Result) -> bool:
    """Whether the model's variable values are the solution ``result`` reports (so the plan to fix is its plan)."""
    try:
        cost = pyo.value(planner.model.net_present_cost) * MONEY
    except ValueError:  # a variable without a value: never solved
        return False
    return math.isclose(cost, result.objective_usd, rel_tol=1e-9, abs_tol=1e-3)


def _note(result: Result) -> str:
    note = NOTE
    if result.status == "time_limit":
        gap = f"{result.gap:.2e}" if result.gap is not None else "unknown"
        note = (f"The plan is the best found at the time limit (gap {gap}), not a proven optimum; its marginal "
                "values are those of that plan. ") + note
    elif result.status == "suspect":
        note = f"The plan failed the audit ({result.message}): do not trust it or these values. " + note
    return note


def _one_more(planner: Planner, lp: Highs) -> tuple[dict, int]:
    """Right derivatives of the LP value (model money per unit) for the reported constraints, by constraint.

    "One more" means raising the right-hand side of the constraint; for demand it means raising the demand
    parameter, which enters the model in three places (``models/core.py``): the right-hand side of
    ``demand_balance[w,t]``, the bound ``unmet[w,t] <= max_unmet_share x demand`` and, for inference,
    ``orbit_inference_share[t]`` (orbit may serve a share of the demand). The three move together.

    A ``<=`` row with slack, or a row without a free variable, has derivative 0 in the direction that relaxes it.
    Otherwise the right-hand sides (and bound) are raised by a small step and the LP re-solved warm from the
    current basis. There, strictly inside a linear piece of the LP value along that direction, every optimal dual
    gives the same directional derivative: the slope just to the right of the plan, unique even where the dual at
    the plan is not (a kink). Infeasible at the step (a hard service floor with no capacity left): +inf.
    """
    highs = lp._solver_model
    model_lp = highs.getLp()
    lower, upper = np.asarray(model_lp.row_lower_), np.asarray(model_lp.row_upper_)
    col_lower, col_upper = np.asarray(model_lp.col_lower_), np.asarray(model_lp.col_upper_)
    activity = np.asarray(highs.getSolution().row_value)
    nonzeros = _row_nonzeros(model_lp)
    rows, cols = lp._pyomo_con_to_solver_con_map, lp._pyomo_var_to_solver_var_map
    m, inst = planner.model, planner.instance
    slopes, resolves = {}, 0
    for family in FAMILIES.values():
        component = getattr(m, family.component, None)
        if component is None:
            continue
        for key, con in component.items():
            i = rows[con]
            moves = [("row", i, 1.0)]  # (row or column upper bound, its index, change per unit)
            if family.component == "demand_balance":
                w, t = key
                moves.append(("col", cols[id(m.unmet[w, t])], getattr(inst.demand, w).max_unmet_share))
                if w == "inference" and hasattr(m, "orbit_inference_share"):
                    moves.append(("row", rows[m.orbit_inference_share[t]], inst.orbital.max_inference_share))
            elif nonzeros[i] == 0 or upper[i] - activity[i] > 1e-6 * max(1.0, abs(upper[i])):
                slopes[con] = 0.0
                continue
            step = max(1e-4, 1e-6 * abs(upper[i]))
            for kind, j, per_unit in moves:
                if kind == "row":
                    equality = lower[j] == upper[j]
                    highs.changeRowBounds(j, lower[j] + per_unit * step if equality else lower[j],
                                          upper[j] + per_unit * step)
                else:
                    highs.changeColBounds(j, col_lower[j], col_upper[j] + per_unit * step)
            highs.run()
            resolves += 1
            if highs.getModelStatus().name == "kOptimal":
                solution = highs.getSolution()
                # A row dual is d(cost)/d(right-hand side); a column's reduced cost is d(cost)/d(bound) for the
                # bound it sits at: below 0 only at its upper bound, so min(d, 0) is the slope in the upper bound.
                slopes[con] = sum(per_unit * (solution.row_dual[j] if kind == "row" else min(solution.col_dual[j], 0))
                                  for kind, j, per_unit in moves)
            else:
                slopes[con] = math.inf
            for kind, j, _ in moves:
                if kind == "row":
                    highs.changeRowBounds(j, lower[j], upper[j])
                else:
                    highs.changeColBounds(j, col_lower[j], col_upper[j])
    return slopes, resolves


def _row_nonzeros(model_lp) -> np.ndarray:
    matrix = model_lp.a_matrix_
    n_rows = model_lp.num_row_
    if matrix.format_.name == "kRowwise":
        return np.diff(np.asarray(matrix.start_))
    return np.bincount(np.asarray(matrix.index_, dtype=np.int64), minlength=n_rows)[:n_rows]


def _table(planner: Planner, family: _Family, duals: dict, slopes: dict) -> pd.DataFrame:
    grid = planner.parts.grid
    value_col, discounted_col = family.unit, f"{family.unit}_discounted"
    columns = [*family.keys, *([] if family.keys == ("year",) else ["year"]), value_col, discounted_col,
               f"lp_dual_{discounted_col}"]
    component = getattr(planner.model, family.component, None)
    if component is None:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, con in component.items():
        key = key if isinstance(key, tuple) else (key,)
        if family.keys == ("year",):
            first = int(np.flatnonzero(grid.year == key[0])[0])
            row = {"year": int(key[0])}
        else:
            first = int(key[-1])
            row = {family.keys[0]: key[0], "period": grid.labels[first], "year": int(grid.year[first])}
        # A row of a period prices the period's months: per month, the price over them.
        scale = MONEY / (COMPUTE if family.per_compute else 1.0) / (grid.months[first] if family.per_period else 1)
        discounted = family.sign * slopes[con] * scale + 0.0
        # A monthly rate (compute, site power) accrues through its period; a flight or a cap is used at its start.
        factor = grid.discount_accruing if family.per_period else grid.discount
        row[value_col] = discounted / factor[first]
        row[discounted_col] = discounted
        row[f"lp_dual_{discounted_col}"] = family.sign * duals[con] * scale + 0.0
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _cost_ranging(planner: Planner, lp: Highs) -> pd.DataFrame:
    """HiGHS cost ranging of the unmet penalties and resale prices, per period, in USD of that period.

    ``lower``..``upper`` is the interval over which the coefficient, moved alone, leaves the LP's optimal basis
    unchanged. Prices (resale) are negated costs, so their interval is the negated cost interval.
    """
    columns = ["coefficient", "name", "period", "year", "unit", "current", "lower", "upper", "lp_value",
               "lp_value_unit"]
    m, grid, parts = planner.model, planner.parts.grid, planner.parts
    status, ranging = lp._solver_model.getRanging()
    if status.name != "kOk" or not ranging.valid:
        return pd.DataFrame(columns=columns)
    highs = lp._solver_model
    cost = np.asarray(highs.getLp().col_cost_)
    low, high = np.asarray(ranging.col_cost_dn.value_), np.asarray(ranging.col_cost_up.value_)
    primal = np.asarray(highs.getSolution().col_value)
    where = lp._pyomo_var_to_solver_var_map
    rows = []

    def add(coefficient, name, t, var, scale, unit, value_scale, value_unit):
        j = where.get(id(var))
        if j is None:
            return
        to_usd = scale / grid.discount_accruing[t]  # penalties and resale prices accrue month by month
        ends = sorted((low[j] * to_usd, high[j] * to_usd))
        rows.append({"coefficient": coefficient, "name": name, "period": grid.labels[t], "year": int(grid.year[t]),
                     "unit": unit, "current": cost[j] * to_usd + 0.0, "lower": ends[0] + 0.0,
                     "upper": ends[1] + 0.0, "lp_value": primal[j] * value_scale + 0.0, "lp_value_unit": value_unit})

    for (w, t), var in m.unmet.items():
        add("unmet_penalty", w, t, var, MONEY / COMPUTE / grid.months[t], "usd_per_unit_month", COMPUTE,
            "unmet_units")
    if hasattr(m, "resale_mw"):
        for (i, t), var in m.resale_mw.items():
            add("resale_price", parts.slices[i].source, t, var, -MONEY / grid.months[t], "usd_per_mw_month", 1.0,
                "mw_resold")
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------------------------------
# One more unit with the plan free: a MILP re-solve per resource

@dataclass(frozen=True)
class OneMoreCase:
    """One resource raised by one unit of what a planner would add: a module's grid power at a site, a flight a
    month on a vehicle, a module's MW a year on the national cap."""

    resource: str  # "site power", "launch cadence" or "national cap"
    name: str  # the site, the vehicle, or "terrestrial"
    change: str  # in words, with the old and new values
    amount: float  # units added, in ``unit``
    unit: str
    changes: dict[str, Any]  # dotted path -> new content, as solver.instance.with_changes takes them


def _plus(schedule: float | dict, amount: float, years: list[int]) -> float | dict:
    """A year schedule with ``amount`` added in every year of ``years`` where it is above 0 (a vehicle not flying
    yet stays grounded, a year the cap forbids builds stays forbidden). A mapping is interpolated between its
    years, as the model reads it, so it is written out year by year: adding at its given years only would raise
    the years between by less."""
    if not isinstance(schedule, dict):
        return schedule + amount if schedule > 0 else schedule
    given = sorted(schedule)
    values = np.interp(years, given, [schedule[y] for y in given])
    return {year: float(v) + amount if v > 0 else float(v) for year, v in zip(years, values, strict=True)}


def one_more_cases(instance: Instance) -> list[OneMoreCase]:
    """The re-solves that price one more unit of each resource a plan could use more of."""
    cases = []
    years = sorted({int(y) for y in TimeGrid(instance.horizon).year})
    if instance.terrestrial is not None:
        sites = instance.terrestrial.sites
        for name, site in sites.items():
            extra = site.module_mw * site.pue  # one more module at the meter
            cases.append(OneMoreCase("site power", name, f"grid power {site.grid_power_mw:,.0f} -> "
                                     f"{site.grid_power_mw + extra:,.0f} MW (one {site.module_mw:,.0f} MW module "
                                     f"at PUE {site.pue:g})", extra, "grid MW",
                                     {f"terrestrial.sites.{name}.grid_power_mw": site.grid_power_mw + extra}))
        cap = instance.terrestrial.new_mw_cap_per_year
        if cap is not None and sites:
            extra = max(site.module_mw for site in sites.values())
            cases.append(OneMoreCase("national cap", "terrestrial", f"new MW a year +{extra:,.0f} MW (one module) "
                                     "in every year it allows builds", extra, "MW a year",
                                     {"terrestrial.new_mw_cap_per_year": _plus(cap, extra, years)}))
    if instance.orbital is not None:
        for name, vehicle in instance.orbital.launch_vehicles.items():
            flights = vehicle.flights_per_month
            raised = _plus(flights, 1.0, years)
            if raised == flights or (isinstance(raised, dict) and not any(v > 0 for v in raised.values())):
                continue  # never flies: one more flight a month would be a new vehicle
            cases.append(OneMoreCase("launch cadence", name, "+1 flight a month in every year it flies", 1.0,
                                     "flight a month", {f"orbital.launch_vehicles.{name}.flights_per_month": raised}))
    return cases


@dataclass(frozen=True)
class OneMoreTask:
    """A re-solve for a worker process (picklable): the base instance, the case and a MIP start."""

    instance: Instance
    case: OneMoreCase
    mip_gap: float
    time_limit_s: float | None
    start: np.ndarray | None  # the base plan, a feasible start: each case only relaxes a limit
    start_columns: tuple[str, ...] | None
    log_file: str | None = None  # HiGHS's log of this re-solve
    log: bool = False  # print HiGHS's log (one re-solve at a time)


def solve_one_more(task: OneMoreTask) -> dict[str, Any]:
    """Re-solve one case with one HiGHS thread; never raises (a failure is a row with its reason)."""
    began = time.perf_counter()
    row: dict[str, Any] = {"status": "failed", "npc_usd": None, "bound_usd": None, "gap": None, "message": None}
    try:
        planner = Planner(with_changes(task.instance, task.case.changes))
        if (task.start is not None and planner.compiled is not None
                and tuple(planner.compiled.column_names) == task.start_columns):
            planner.offer_start(task.start)
        result = planner.solve(mip_gap=task.mip_gap, time_limit=task.time_limit_s, threads=1, explain=False,
                               log=task.log, log_file=task.log_file)
        row.update(status=result.status, npc_usd=result.objective_usd, bound_usd=result.bound_usd, gap=result.gap,
                   message=result.message or None)
        if result.has_plan and tuple(planner.compiled.column_names) == task.start_columns:
            row["levels"] = planner.plan_vector()  # the caller checks whether it is also a plan of the base
    except Exception as exc:  # noqa: BLE001 - one case's failure is a row, the others go on
        row["message"] = f"{type(exc).__name__}: {exc}"
    row["seconds"] = time.perf_counter() - began
    return row


def one_more_values(planner: Planner, result: Result, *, mip_gap: float = 1e-4, time_limit: float | None = None,
                    workers: int = 1, executor: cf.Executor | None = None,
                    report: Callable[[str], None] | None = None, log: bool = False,
                    log_file: str | None = None) -> pd.DataFrame:
    """What one more unit of site power, launch cadence or national cap saves with the integer plan free: one MILP
    re-solve per :func:`one_more_cases`, started from the plan of ``result`` (the planner's latest solve).

    ``value_usd`` is the fall of the net present cost (base minus re-solve); ``value_low_usd``..``value_high_usd``
    the bracket the two solves' gaps allow (the re-solve's bound and incumbent against the base's), never below 0,
    for more of a limit cannot cost more; ``decided`` says the bracket excludes 0. A re-solve's plan that is also a
    plan of the base (it does not use the unit added) lowers the base's incumbent for every case: the search found
    a better plan of the same problem, which is not a value of the limit. ``executor``: any
    ``concurrent.futures.Executor`` (a Dask ``client.get_executor()``, as for sweeps); else ``workers`` spawned
    processes (1: in this process). ``log_file``: HiGHS's log of each re-solve in ``<stem>-<limit>-<name>.log``;
    ``log``: printed (in this process only)."""
    if not result.has_plan:
        raise ValueError(f"{planner.instance.name}: no plan to re-solve from: {result.status}")
    cases = one_more_cases(planner.instance)
    start = planner.plan_vector()
    columns = tuple(planner.compiled.column_names) if start is not None else None
    serial = executor is None and workers <= 1
    tasks = [OneMoreTask(planner.instance, case, mip_gap, time_limit, start, columns,
                         numbered_log(log_file, f"{case.resource}-{case.name}".replace(" ", "_")), log and serial)
             for case in cases]
    rows: list[dict | None] = [None] * len(tasks)

    def done(i: int, row: dict) -> None:
        rows[i] = row
        if report:
            report(f"re-solve {sum(r is not None for r in rows)} of {len(tasks)}, {tasks[i].case.resource} "
                   f"{tasks[i].case.name}: {_row_words(row)}")

    if serial:
        for i, task in enumerate(tasks):
            done(i, solve_one_more(task))
    else:
        pool = executor or spawn_pool(min(workers, max(len(tasks), 1)))
        try:
            futures = {submit(pool, solve_one_more, task): i for i, task in enumerate(tasks)}
            for future in cf.as_completed(futures):
                done(futures[future], future.result())
        except BaseException:
            if executor is None:
                terminate(pool)
            raise
        if executor is None:
            pool.shutdown()
    base_usd = float(result.objective_usd)
    lp = planner.compiled.lp
    for row in rows:
        levels = row.pop("levels", None)
        if levels is not None and max_violation(planner.compiled, levels) <= BASE_PLAN_TOLERANCE:
            base_usd = min(base_usd, (float(np.dot(lp.col_cost_, levels)) + lp.offset_) * MONEY)
    return _one_more_table(result, base_usd, cases, rows)


BASE_PLAN_TOLERANCE = 1e-6  # model units: a re-solve's plan that misses no row of the base by more is the base's


def _row_words(row: dict) -> str:
    if row["npc_usd"] is None:
        return f"{row['status']}" + (f" ({row['message']})" if row.get("message") else "")
    gap = f", gap {row['gap']:.1e}" if row["gap"] is not None else ""
    return f"{format_usd(row['npc_usd'])} ({row['status']}{gap}), {row['seconds']:,.0f} s"


def _one_more_table(base: Result, base_high: float, cases: list[OneMoreCase], rows: list[dict]) -> pd.DataFrame:
    """The table of :func:`one_more_values`; ``base_high`` is the best plan of the base known (its incumbent, or
    a re-solve's plan that is also the base's)."""
    base_low = base.bound_usd if base.bound_usd is not None else -math.inf
    out = []
    for case, row in zip(cases, rows, strict=True):
        record = {"resource": case.resource, "name": case.name, "change": case.change, "amount": case.amount,
                  "unit": case.unit, "status": row["status"], "npc_usd": row["npc_usd"],
                  "bound_usd": row["bound_usd"], "gap": row["gap"], "seconds": row["seconds"]}
        if row["npc_usd"] is not None and row["status"] in ("optimal", "time_limit"):
            high = row["npc_usd"]
            low = row["bound_usd"] if row["bound_usd"] is not None else -math.inf
            # Base cost minus the re-solve's, bracketed by both gaps; more of a limit never costs more.
            value = max(base_high - high, 0.0)
            value_low, value_high = max(base_low - high, 0.0), max(base_high - low, 0.0)
            record.update(value_usd=value, value_low_usd=value_low, value_high_usd=value_high,
                          value_usd_per_unit=value / case.amount, value_low_usd_per_unit=value_low / case.amount,
                          value_high_usd_per_unit=value_high / case.amount,
                          decided=bool(value_low > max(1.0, 1e-9 * abs(base_high))))  # not rounding
        out.append(record)
    return pd.DataFrame(out, columns=ONE_MORE_COLUMNS)


def format_marginal(values: MarginalValues) -> str:
    """A readable account: the value of compute by workload and year, where power, cadence or cap are worth
    something, and the note."""
    unit = values.compute_unit
    lines = [f"== {values.instance_name}: marginal values of the {values.status} plan "
             f"(net present cost ${values.objective_usd / 1e9:,.2f}B; LP with the integers fixed "
             f"${values.lp_objective_usd / 1e9:,.2f}B)"]
    if not values.compute.empty:
        lines.append(f"\nValue of one more {unit} of demand, USD per {unit}-month in money of the year "
                     "(mean over the year's periods [min-max]):")
        table = compute_by_year(values.compute)
        width = max([len(str(y)) for y in table.columns] + [len(c) for c in table.to_numpy().ravel()]) + 2
        lines.append("  " + "workload".ljust(12) + "".join(str(y).rjust(width) for y in table.columns))
        for w, row in table.iterrows():
            lines.append("  " + w.ljust(12) + "".join(c.rjust(width) for c in row))
    for name, label, key in (("site_power", "Site power (USD per grid-MW-month)", "site"),
                             ("launch", "Launch cadence (USD per extra flight)", "vehicle"),
                             ("national_cap", "National cap (USD per MW)", None)):
        table = getattr(values, name)
        if table.empty:
            continue
        value_col = FAMILIES[name].unit
        worth = table[table[value_col].abs() > 1e-6]
        if worth.empty:
            lines.append(f"\n{label}: worth 0 everywhere with the integer plan fixed.")
            continue
        lines.append(f"\n{label}, where worth more than 0:")
        groups = worth.groupby([key, "year"] if key else ["year"], sort=False)[value_col].mean()
        for group, amount in groups.items():
            where = " ".join(map(str, group)) if isinstance(group, tuple) else str(group)
            lines.append(f"  {where}: {amount:,.0f} (mean)")
    lines += format_one_more(values.one_more)
    lines.append("")
    lines.extend(textwrap.wrap("Note: " + values.note, width=116))
    return "\n".join(lines)


def format_one_more(table: pd.DataFrame) -> list[str]:
    """The one-more re-solves as lines: what was added, what it saves, per unit, and the bracket of the gaps."""
    if table.empty:
        return []
    lines = ["\nOne more unit with the integer plan free (a MILP re-solve each; saving in net present cost, "
             "[bracket of the two solves' gaps]):"]
    width = max(len(f"{r.resource} {r.name}") for r in table.itertuples()) + 2
    for r in table.itertuples():
        where = f"{r.resource} {r.name}".ljust(width)
        if pd.isna(r.value_usd):
            lines.append(f"  {where}no answer: {r.status}")
            continue
        high = format_usd(r.value_high_usd) if math.isfinite(r.value_high_usd) else "no bound"
        lines.append(f"  {where}{format_usd(r.value_usd)} [{format_usd(r.value_low_usd)}-{high}], "
                     f"{format_usd(r.value_usd_per_unit)} per {r.unit}"
                     + ("" if r.decided else " (undecided: the bracket holds 0)"))
        lines.append(f"  {''.ljust(width)}{r.change}")
    return lines


def compute_by_year(compute: pd.DataFrame) -> pd.DataFrame:
    """The value of one more compute unit (``MarginalValues.compute``) as text, a row per workload and a column
    per year: the mean over the year's periods in money of the year, with [min-max] where they differ."""
    table = compute.groupby(["workload", "year"], sort=False)["usd_per_unit_month"].agg(["mean", "min", "max"])
    years = sorted(compute["year"].unique())
    return pd.DataFrame({y: [_cell(table.loc[(w, y)]) for w in dict.fromkeys(compute["workload"])] for y in years},
                        index=list(dict.fromkeys(compute["workload"])))


def _cell(stats: pd.Series) -> str:
    if math.isclose(stats["min"], stats["max"], rel_tol=1e-9, abs_tol=0.5):
        return f"{stats['mean']:,.0f}"
    return f"{stats['mean']:,.0f} [{stats['min']:,.0f}-{stats['max']:,.0f}]"
