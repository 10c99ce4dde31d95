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


def plan_of(result: Result, source: str, column: str) -> list[float]:
    """One column of the plan for one source, as a list over the periods."""
    return result.plan.loc[result.plan["source"] == source, column].tolist()


@pytest.fixture
def tiny() -> dict:
    return copy.deepcopy(BASE)
