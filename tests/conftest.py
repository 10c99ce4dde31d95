"""Shared helpers for tests: a tiny base instance that tests extend with one source at a time.

The base has round numbers so optima can be worked out by hand: 12 monthly periods in 2026, no discounting,
one hardware generation with 1,000 compute units per MW (1 MW serves 1,000 units), and zero demand.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from solver import Instance, parse_instance, solve
from solver.results import Result

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"

BASE: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start": "2026-01", "end": "2026-12", "period": "month", "discount_rate_per_year": 0.0},
    "hardware": {"gen1": {"compute_units_per_mw": 1000, "available_from": "2020-01"}},
    "demand": {
        "compute_unit": "units",
        "training": {"series_units": {"2026-01": 0}, "unmet_penalty_usd_per_unit_month": 10_000},
        "inference": {"series_units": {"2026-01": 0}, "unmet_penalty_usd_per_unit_month": 10_000},
    },
}


def deep_merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` merged in recursively (a value of None deletes the key)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def make_instance(**changes: Any) -> Instance:
    """The tiny base instance with ``changes`` merged in (nested dicts merge; None deletes)."""
    return parse_instance(deep_merge(BASE, changes), "test")


def solve_optimal(instance: Instance, **options: Any) -> Result:
    """Solve and insist on a proven optimum whose audit matches the objective."""
    result = solve(instance, **options)
    assert result.status == "optimal", (result.status, result.message)
    assert result.audit["relative_difference"] < 1e-6
    return result


def training(series: dict[str, float], penalty: float = 10_000) -> dict:
    """Demand changes: a training series (step function) with its unmet penalty per unit-month."""
    return {"training": {"series_units": series, "unmet_penalty_usd_per_unit_month": penalty}}


def contract(**fields: Any) -> dict:
    """A contract ``cloud`` of 100 MW gen1 blocks, 100 MW available all year, $1M per MW-month, 1-month term."""
    spec = {"hardware": "gen1", "ramp_mw": {"2026-01": 100}, "block_mw": 100, "min_term_months": 1,
            "price_usd_per_mw_month": 1_000_000}
    return {"cloud": spec | fields}


def category(result: Result, name: str) -> float:
    """Discounted cost of one category, summed over the years."""
    costs = result.costs
    return float(costs.loc[costs["category"] == name, "discounted_usd"].sum())


def assert_costs(result: Result, expected_usd: dict[str, float], rel: float = 1e-9) -> None:
    """Discounted cost per category (summed over years) equals ``expected_usd``; categories not named are 0."""
    got = result.costs.groupby("category")["discounted_usd"].sum().to_dict()
    for name in sorted(set(got) | set(expected_usd)):
        assert got.get(name, 0.0) == pytest.approx(expected_usd.get(name, 0.0), rel=rel, abs=1e-3), name
    assert result.objective_usd == pytest.approx(sum(expected_usd.values()), rel=rel)


def plan_of(result: Result, source: str, column: str) -> list[float]:
    """One column of the plan for one source, as a list over the periods."""
    return result.plan.loc[result.plan["source"] == source, column].tolist()


@pytest.fixture
def tiny() -> dict:
    return copy.deepcopy(BASE)
