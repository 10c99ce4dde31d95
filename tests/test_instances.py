"""Every shipped instance validates and solves with a matching cost audit; the reference and the teaching case
to proven optimality, the variants within a time limit that keeps the suite short (an incumbent there must still
carry its status and gap, and pass the audit)."""

from __future__ import annotations

import json
from functools import cache

import pytest
from conftest import INSTANCES

from solver import load_instance, solve
from solver.instance import instance_files, with_changes

SHIPPED = instance_files([INSTANCES])


def test_the_shipped_set_is_complete():
    names = {p.stem for p in SHIPPED}
    assert {"reference", "small", "no_orbital", "cheap_launch", "high_growth", "slow_builds",
            "suncatcher_launch", "reference_segmented"} <= names


@cache
def monthly_reference():
    """The reference solved once for the tests that need it (a couple of minutes on 2 cores)."""
    return solve(load_instance(INSTANCES / "reference.yaml"))


MUST_PROVE_OPTIMAL = {"reference", "small"}
VARIANT_TIME_LIMIT_S = 30


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_instance_solves_and_audits(path, tmp_path):
    instance = load_instance(path)
    assert instance.name == path.stem
    if path.stem in MUST_PROVE_OPTIMAL:
        result = monthly_reference() if path.stem == "reference" else solve(instance)
        assert result.status == "optimal", result.message
        assert result.gap <= 1e-4
    else:
        result = solve(instance, time_limit=VARIANT_TIME_LIMIT_S)
        assert result.status in ("optimal", "time_limit"), result.message
        assert result.gap <= (1e-4 if result.status == "optimal" else 1e-2)
    # The independent recomputation of every cost category agrees with the solver's objective...
    assert result.audit["relative_difference"] < 1e-6
    assert result.audit["max_violation"] < 1e-5
    # ...and so do the reported tables: discounted costs add up to the net present cost.
    assert result.costs["discounted_usd"].sum() == pytest.approx(result.objective_usd, rel=1e-9)
    # Demand is served or reported unmet, never lost.
    d = result.demand
    served = d["served_ground_units"] + d["served_orbit_units"] + d["unmet_units"]
    assert served.to_numpy() == pytest.approx(d["demand_units"].to_numpy(), rel=1e-6, abs=1e-3)
    # Exports are complete and readable.
    result.to_json(tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["status"] == result.status and len(doc["plan"]) == len(result.plan)


def test_the_reference_by_quarter_is_within_0_2_percent_of_the_monthly_plan():
    """Coarse periods round lead times, terms and ramps to quarters, but monthly payments are discounted month by
    month on any grid, so the quarterly reference costs within 0.2% of the monthly one. Both are MILP optima
    within their gaps, so the test takes the widest difference their brackets [bound, objective] allow."""
    monthly = monthly_reference()
    quarterly = solve(with_changes(load_instance(INSTANCES / "reference.yaml"), {"horizon.period": "quarter"}))
    assert monthly.status == quarterly.status == "optimal"
    widest = max(quarterly.objective_usd - monthly.bound_usd, monthly.objective_usd - quarterly.bound_usd)
    assert widest / monthly.objective_usd < 0.002


def test_the_segmented_reference_is_the_reference_on_another_grid():
    """reference_segmented.yaml differs from reference.yaml in its grid alone (months through 2027, quarters
    after), and costs within 0.3% of it: measured -0.20% at gap 1e-4 (benchmarks/README.md); coarse periods
    meet a period's mean demand and fly a quarter's launches at its start, so they come out a little cheaper.
    The widest difference the two brackets [bound, objective] allow is asserted."""
    segmented = load_instance(INSTANCES / "reference_segmented.yaml")
    reference = load_instance(INSTANCES / "reference.yaml")
    same_grid = with_changes(segmented, {"horizon.period": "month"}).model_dump()
    assert same_grid | {"name": "reference", "description": ""} == reference.model_dump() | {"description": ""}
    monthly = monthly_reference()
    result = solve(segmented)
    assert monthly.status == result.status == "optimal"
    widest = max(result.objective_usd - monthly.bound_usd, monthly.objective_usd - result.bound_usd)
    assert widest / monthly.objective_usd < 0.003
