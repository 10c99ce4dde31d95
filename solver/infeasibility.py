"""Why an instance has no plan: elastic re-solves that say which limits must give, where, and by how much.

In this model every source can be left unused and surplus capacity is allowed, so a plan can only be impossible
when demand must be served (``max_unmet_share`` below 1) beyond what the sources can deliver under their limits.
For each family of limits below, one elastic re-solve adds a slack to each of its rows, in the direction that
relieves it, keeps every other constraint (and the integrality) hard, and minimises the total slack. The demand
family always suffices on its own: it says how much demand is out of reach and when. Each other family either
suffices alone (how much more budget, power, flights... would make a plan possible) or does not.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
import pandas as pd

from models.orbital import class_arrays
from models.parts import COMPUTE, MONEY
from solver.highs import new_highs
from solver.results import format_usd

if TYPE_CHECKING:
    from solver.solve import Planner

SLACK_TOLERANCE = 1e-6  # model units: slack below this is solver noise
# Verdicts of one family's elastic re-solve (others: "not decided: <why>").
SUFFICES, SUFFICES_AT_MOST, DOES_NOT = "suffices", "suffices (slack not minimal: time limit)", "does not suffice"

# One row per run of consecutive periods in which a row of a family needs the same slack.
CONFLICT_COLUMNS = ["family", "name", "first_period", "last_period", "slack_per_period", "unit",
                    "sufficient_alone", "text"]


@dataclass(frozen=True)
class _Family:
    """How to read the slack of one constraint family in the user's terms."""

    title: str
    unit: Callable[[str], str]  # compute unit name -> unit of the slack
    scale: float  # slack per model unit
    text: Callable[[tuple, str, float, str], str]  # (index, period label, amount, unit) -> sentence
    # The columns whose upper bounds the model derives from this limit (to tighten it), lifted with it.
    lifted: Callable[[Planner], Callable[[Any], bool]] | None = None


def _buildable_modules(planner: Planner) -> Callable[[Any], bool]:
    # build_modules' upper bound is the modules the grid allows, or 0 where the site cannot build then (no power
    # or hardware yet): the schema guarantees room for one module, so a positive bound is the power limit.
    return lambda var: var.parent_component().local_name == "build_modules" and (var.ub or 0) > 0


def _launchable_flights(planner: Planner) -> Callable[[Any], bool]:
    # Flights and launches are bounded by the cadence from a class's first launch period (0 before it, which is a
    # date, not the cadence: a cadence that rounds to 0 flights in a period is a cadence, and is lifted).
    first = {k: class_arrays(planner.parts, k)["first"] for k in planner.instance.orbital.satellite_classes}
    return lambda var: var.parent_component().local_name in ("orbit_flights", "orbit_launch") \
        and var.index()[1] >= first[var.index()[0]]


# The limits a user can change, in the order they are reported. Structural rows (state equations, the link of
# launches to flights, a lease's notice rules) stay hard: relaxing them would describe no real decision.
FAMILIES: dict[str, _Family] = {
    "demand_balance": _Family(
        "demand", lambda unit: unit, COMPUTE,
        lambda i, p, x, u: f"{i[0]} demand in {p} exceeds what the sources can serve, beyond the unmet share "
                           f"allowed, by {x:,.0f} {u}"),
    "capital_budget": _Family(
        "capital budget", lambda unit: "USD", MONEY,
        lambda i, p, x, u: f"the {p} capital budget would need {format_usd(x)} more"),
    "build_site_power": _Family(
        "site power", lambda unit: "MW", 1.0,
        lambda i, p, x, u: f"site {i[0]} would need {x:,.1f} MW more grid power in {p}", _buildable_modules),
    "build_national_cap": _Family(
        "national cap on new builds", lambda unit: "MW", 1.0,
        lambda i, p, x, u: f"the national cap on new build MW in {p} would need to be {x:,.1f} MW higher"),
    "orbit_cadence": _Family(
        "launch cadence", lambda unit: "flights", 1.0,
        lambda i, p, x, u: f"{i[0]} would need {x:,.2f} more flights in {p}", _launchable_flights),
    "orbit_inference_share": _Family(
        "orbital inference share", lambda unit: unit, COMPUTE,
        lambda i, p, x, u: f"orbit would need to serve {x:,.0f} {u} of inference in {p} beyond its allowed share"),
}


YEARLY = ("capital_budget", "build_national_cap")  # families indexed by calendar year, not period


@dataclass
class Explanation:
    """The conflicts found (:data:`CONFLICT_COLUMNS`), and the verdict of each family's elastic re-solve."""

    conflicts: pd.DataFrame  # CONFLICT_COLUMNS
    families_tried: dict[str, str]  # family title -> SUFFICES, SUFFICES_AT_MOST, DOES_NOT or "not decided: ..."

    @property
    def headline(self) -> str:
        """One sentence: the largest shortfall of demand, and which other limits could each make a plan possible."""
        found = self.conflicts[self.conflicts["slack_per_period"].notna()]
        demand = found[found["family"] == "demand"]
        rows = demand if not demand.empty else found
        if rows.empty:
            text = "no plan satisfies the constraints, and no elastic re-solve could say which limit gives"
        else:
            worst = rows.loc[rows["slack_per_period"].idxmax()]
            text = worst["text"] + (f" (and {len(rows) - 1} more shortfall(s))" if len(rows) > 1 else "")
        others = [family for family, verdict in self.families_tried.items()
                  if verdict in (SUFFICES, SUFFICES_AT_MOST) and family != "demand"]
        if others:
            text += "; raising any one of these alone would also make a plan possible: " + ", ".join(others)
        undecided = [family for family, verdict in self.families_tried.items() if verdict.startswith("not decided")]
        if undecided:
            text += "; not decided within the time limit: " + ", ".join(undecided)
        return text


def explain_infeasibility(planner: Planner, *, time_limit: float = 60.0, threads: int = 0) -> Explanation:
    """One elastic re-solve per family of user limits present in the planner's model (within ``time_limit`` s)."""
    compiled = planner.compiled
    labels, unit = planner.parts.grid.labels, planner.instance.demand.compute_unit
    family_rows: dict[str, list[int]] = {}
    for row, constraint in enumerate(compiled.rows):
        name = constraint.parent_component().local_name
        if name in FAMILIES:
            family_rows.setdefault(name, []).append(row)

    deadline = time.perf_counter() + time_limit
    rows_out: list[dict] = []
    tried: dict[str, str] = {}
    for name, family in FAMILIES.items():
        if name not in family_rows:
            continue
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            slack, verdict = None, "not decided: out of time"
        else:
            liftable = family.lifted(planner) if family.lifted is not None else None
            lifted = [j for j, var in enumerate(compiled.columns) if liftable is not None and liftable(var)]
            slack, verdict = _elastic(compiled.lp, family_rows[name], lifted, remaining, threads)
        tried[family.title] = verdict
        if verdict.startswith("not decided"):  # said, not left out: this limit alone might make a plan possible
            rows_out.append({"family": family.title, "name": "", "first_period": "", "last_period": "",
                             "slack_per_period": math.nan, "unit": family.unit(unit), "sufficient_alone": None,
                             "text": f"whether the {family.title} alone could make a plan possible was not decided "
                                     f"({verdict.removeprefix('not decided: ')})"})
        if slack is None:
            continue
        short = [(compiled.rows[row].index(), float(amount) * family.scale)
                 for row, amount in zip(family_rows[name], slack, strict=True) if amount > SLACK_TOLERANCE]
        for index, first, last, value in _runs(short):
            period = _label(name, first, labels) if first == last else \
                f"each {'year' if name in YEARLY else 'period'} from {_label(name, first, labels)} to " \
                f"{_label(name, last, labels)}"
            rows_out.append({"family": family.title, "name": str(index[0]) if len(index) > 1 else "",
                             "first_period": _label(name, first, labels), "last_period": _label(name, last, labels),
                             "slack_per_period": value, "unit": family.unit(unit),
                             "sufficient_alone": True,
                             "text": family.text(index, period, value, family.unit(unit))
                             + (" (at most: the re-solve stopped at its time limit)" if verdict == SUFFICES_AT_MOST
                                else "")})
    return Explanation(conflicts=pd.DataFrame(rows_out, columns=CONFLICT_COLUMNS), families_tried=tried)


def _label(family: str, position: int, labels: list[str]) -> str:
    """A family's last index is a period, or a calendar year for the yearly limits."""
    return str(position) if family in YEARLY else labels[position]


def _runs(short: list[tuple[tuple | object, float]]) -> list[tuple[tuple, int, int, float]]:
    """Merge consecutive periods of the same row name that need the same slack: (index, first, last, slack)."""
    merged: list[tuple[tuple, int, int, float]] = []
    for index, value in short:
        index = index if isinstance(index, tuple) else (index,)
        if merged:
            first_index, first, last, previous = merged[-1]
            if first_index[:-1] == index[:-1] and index[-1] == last + 1 and math.isclose(value, previous,
                                                                                          rel_tol=1e-9):
                merged[-1] = (first_index, first, index[-1], previous)
                continue
        merged.append((index, index[-1], index[-1], value))
    return merged


def _elastic(lp: highspy.HighsLp, rows: list[int], lifted: list[int], time_limit: float, threads: int
             ) -> tuple[np.ndarray | None, str]:
    """Minimise the total slack on ``rows`` (each relieved in its binding direction), with the upper bounds of
    the ``lifted`` columns removed; all else hard. Returns the slack per row (None if there is none) and the
    verdict."""
    h = new_highs()
    for option, setting in {"time_limit": time_limit, "threads": threads,
                            "mip_rel_gap": 1e-6}.items():
        h.setOptionValue(option, setting)
    h.passModel(lp)
    n = lp.num_col_
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
    h.changeObjectiveOffset(0.0)
    if lifted:
        columns = np.asarray(lifted, dtype=np.int32)
        h.changeColsBounds(columns.size, columns, np.asarray(lp.col_lower_)[columns], np.full(columns.size, math.inf))
    lower = np.asarray(lp.row_lower_)
    # A row with only an upper side is relieved by taking activity off it; otherwise by adding to it.
    sign = np.array([-1.0 if math.isinf(lower[r]) else 1.0 for r in rows])
    k = len(rows)
    h.addCols(k, np.ones(k), np.zeros(k), np.full(k, highspy.kHighsInf), k, np.arange(k, dtype=np.int32),
              np.asarray(rows, dtype=np.int32), sign)
    h.run()
    status = h.getModelStatus()
    has_plan = h.getInfo().primal_solution_status == 2
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, DOES_NOT
    if not has_plan:
        return None, f"not decided: {h.modelStatusToString(status)}"
    slack = np.asarray(h.getSolution().col_value[n:])
    return slack, SUFFICES if status == highspy.HighsModelStatus.kOptimal else SUFFICES_AT_MOST
