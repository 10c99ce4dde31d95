"""What every capacity-source module contributes to the shared model.

Modules add their own variables and constraints to the Pyomo model and register, here:

* capacity slices: MW online per period with a fixed compute-per-MW, in a pool (``ground`` or ``orbit``); the core
  turns these into the compute that serves demand, and resale can lease a slice's MW out;
* cost terms per category and period (nominal, in model money units), and costs at the horizon end: take-or-pay
  still owed after it, and the value of what outlives it (salvage, negative; :func:`remaining_service_share`);
* capital spend per period (for the optional annual budget);
* a report function that turns the solved model into plan rows and "what binds" notes.

Scaling: the coefficients HiGHS sees are in millions of USD (:data:`MONEY`), MW, and thousands of compute units
(:data:`COMPUTE`), so a block of 100 MW, a price of 1.25 $M per MW-month and a demand of 2,000 k-units all sit
within a few orders of magnitude.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pyomo.environ import value

from solver.schema import Instance
from solver.timegrid import TimeGrid

MONEY = 1e6  # model money unit: USD per unit
COMPUTE = 1e3  # model compute unit: compute units per unit

POOLS = ("ground", "orbit")
WORKLOADS = ("training", "inference")

# Cost categories, in report order. Negative ones (resale, salvage) reduce the net present cost. The last two are
# valued at the horizon end (``Parts.end_costs``), the others paid in a period (``Parts.period_costs``).
COST_CATEGORIES = (
    "contracts",
    "leases",
    "build_facility",
    "build_gpus",
    "build_other_it",
    "build_refresh",
    "energy",
    "opex",
    "programme",
    "launch",
    "launch_flights",
    "satellite_hardware",
    "satellite_gpus",
    "satellite_ops",
    "unmet_demand",
    "resale_revenue",
    "take_or_pay_after_horizon",
    "salvage",
)
END_CATEGORIES = ("take_or_pay_after_horizon", "salvage")

# Categories paid month by month through a period (discounted by TimeGrid.discount_accruing); the others are lump
# sums paid at the period's first month (TimeGrid.discount): capital of builds, refreshes and satellites, launches.
ACCRUING_CATEGORIES = frozenset({"contracts", "leases", "energy", "opex", "satellite_ops", "unmet_demand",
                                 "resale_revenue"})

PeriodExpr = Callable[[int], Any]  # t -> Pyomo expression (or number)


def discount_factors(grid: TimeGrid, category: str) -> np.ndarray:
    """The discount factor of each period for costs of ``category`` (not the :data:`END_CATEGORIES`, valued at the
    horizon end with ``grid.discount_end``)."""
    return grid.discount_accruing if category in ACCRUING_CATEGORIES else grid.discount


@dataclass
class CapacitySlice:
    """MW of one source (one hardware generation of it) online per period."""

    source: str
    hardware: str
    pool: str
    mw: PeriodExpr
    compute_per_mw: float  # model compute units per MW (sunlight share included for orbit)


@dataclass
class Parts:
    instance: Instance
    grid: TimeGrid
    slices: list[CapacitySlice] = field(default_factory=list)
    period_costs: dict[str, list[PeriodExpr]] = field(default_factory=lambda: defaultdict(list))
    end_costs: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    capital_spend: list[PeriodExpr] = field(default_factory=list)
    reports: list[Callable[[Any], Report]] = field(default_factory=list)

    def add_cost(self, category: str, term: PeriodExpr) -> None:
        assert category in COST_CATEGORIES and category not in END_CATEGORIES, category
        self.period_costs[category].append(term)

    def add_end_cost(self, category: str, amount: Any) -> None:
        """A cost at the horizon end (model money units, an expression or a number; a value left is negative)."""
        assert category in END_CATEGORIES, category
        self.end_costs[category].append(amount)


def remaining_service_share(periods_left: int, life: int, discount_per_period: float, survival_per_period: float = 1.0,
                            output_now: float = 1.0) -> float:
    """What an asset with ``periods_left`` periods of service after the horizon end is worth then, as a share of
    what a new one (``life`` periods of service) costs then; periods are the last segment's (past the horizon end).

    The end-of-horizon rule (docs/formulation.md section 8): an asset is worth the service it has left, valued at
    what the same service costs new. A new asset's price buys its whole discounted output, sum_a q_a d^a over its
    ages a < life (q_a = s^a: 1 for a facility, decaying for a satellite), so one unit of output at age 0 is worth
    price / that sum, and the asset holds ``output_now`` (its decay so far) x sum_{j < periods_left} (s d)^j of
    them. Book value on the price paid (straight-line) would value an asset bought dear above a new one, and a
    decaying one as if it kept its output."""
    if periods_left <= 0 or life <= 0:
        return 0.0
    x = survival_per_period * discount_per_period
    new = float(np.sum(x ** np.arange(life)))
    return output_now * float(np.sum(x ** np.arange(periods_left))) / new


@dataclass
class Report:
    """What a module says about the solved model: plan rows (one per period and source), binding notes, and costs
    at the horizon end that the objective leaves out because they cancel (model money units, by category)."""

    plan: pd.DataFrame | None = None
    binding: list[dict] = field(default_factory=list)
    end_costs: dict[str, float] = field(default_factory=dict)


def plan_frame(grid: TimeGrid, source: str, kind: str, **columns: Any) -> pd.DataFrame:
    """Plan rows of one source; columns not given are filled with 0 (numbers) so all modules share a shape."""
    frame = pd.DataFrame({"period": grid.labels, "months": grid.months, "year": grid.year, "source": source,
                          "kind": kind})
    for name in PLAN_COLUMNS:
        default = "" if name == "event" else 0.0
        value = columns.get(name, default)
        frame[name] = np.round(value, 6) + 0.0 if name != "event" else value  # + 0.0 turns -0.0 into 0.0
    return frame


PLAN_COLUMNS = (
    "mw_online",
    "compute_online_units",
    "mw_resold",
    "new_units",  # blocks committed, modules decided, satellites launched, 1 at a lease signing
    "new_mw",
    "event",  # "signed" or "notice" for leases
)


def runs(periods: list[int], labels: list[str]) -> str:
    """Periods as readable runs: ``2027-03..2027-08, 2029-01``."""
    out, start, prev = [], None, None
    for p in periods:
        if start is None:
            start = prev = p
        elif p == prev + 1:
            prev = p
        else:
            out.append(labels[start] if start == prev else f"{labels[start]}..{labels[prev]}")
            start = prev = p
    if start is not None:
        out.append(labels[start] if start == prev else f"{labels[start]}..{labels[prev]}")
    return ", ".join(out)


def series(component: Any, *key: Any, n: int) -> np.ndarray:
    """Values of an indexed Var or Expression at ``(*key, t)`` for ``t`` in ``0..n-1``, as a numpy array."""
    return np.array([value(component[(*key, t)]) for t in range(n)], dtype=float)
