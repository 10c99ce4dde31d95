"""What every capacity-source module contributes to the shared model.

Modules add their own variables and constraints to the Pyomo model and register, here:

* capacity slices: MW online per period with a fixed compute-per-MW, in a pool (``ground`` or ``orbit``); the core
  turns these into the compute that serves demand, and resale can lease a slice's MW out;
* cost terms per category and period (nominal, in model money units) and values at the horizon end (salvage);
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

# Cost categories, in report order. Negative ones (resale, salvage) reduce the net present cost.
COST_CATEGORIES = (
    "contracts",
    "leases",
    "build_facility",
    "build_gpus",
    "build_other_it",
    "build_refresh",
    "energy",
    "opex",
    "launch",
    "satellite_hardware",
    "satellite_gpus",
    "unmet_demand",
    "resale_revenue",
    "salvage",
)

# Categories paid month by month through a period (discounted by TimeGrid.discount_accruing); the others are lump
# sums paid at the period's first month (TimeGrid.discount): capital of builds, refreshes and satellites, launches.
ACCRUING_CATEGORIES = frozenset({"contracts", "leases", "energy", "opex", "unmet_demand", "resale_revenue"})

PeriodExpr = Callable[[int], Any]  # t -> Pyomo expression (or number)


def discount_factors(grid: TimeGrid, category: str) -> np.ndarray:
    """The discount factor of each period for costs of ``category`` (not salvage, which is valued at the end)."""
    return grid.discount_accruing if category in ACCRUING_CATEGORIES else grid.discount


@dataclass
class CapacitySlice:
    """MW of one source (one hardware generation of it) online per period."""

    source: str
    pool: str
    mw: PeriodExpr
    compute_per_mw: float  # model compute units per MW (sunlight share included for orbit)


@dataclass
class Parts:
    instance: Instance
    grid: TimeGrid
    slices: list[CapacitySlice] = field(default_factory=list)
    period_costs: dict[str, list[PeriodExpr]] = field(default_factory=lambda: defaultdict(list))
    end_values: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    capital_spend: list[PeriodExpr] = field(default_factory=list)
    reports: list[Callable[[Any], Report]] = field(default_factory=list)

    def add_cost(self, category: str, term: PeriodExpr) -> None:
        assert category in COST_CATEGORIES, category
        self.period_costs[category].append(term)


@dataclass
class Report:
    """What a module says about the solved model: plan rows (one per period and source) and binding notes."""

    plan: pd.DataFrame | None = None
    binding: list[dict] = field(default_factory=list)


def plan_frame(grid: TimeGrid, source: str, kind: str, **columns: Any) -> pd.DataFrame:
    """Plan rows of one source; columns not given are filled with 0 (numbers) so all modules share a shape."""
    frame = pd.DataFrame({"period": grid.labels, "year": grid.year, "source": source, "kind": kind})
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
