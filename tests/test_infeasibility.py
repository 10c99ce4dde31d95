"""An instance with no plan says so, and says what would have to give: demand out of reach, and which limits could
each make a plan possible. Every amount below is worked out by hand from the tiny base of ``conftest.py``
(1 MW of gen1 = 1,000 compute units)."""

from __future__ import annotations

import pytest
import yaml
from conftest import BASE, contract, deep_merge, make_instance
from test_builds import site, terrestrial
from test_periods_and_budget import orbital

from solver.cli import main
from solver.infeasibility import explain_infeasibility
from solver.results import format_summary
from solver.solve import Planner, solve


def hard(series: dict[str, float]) -> dict:
    """Training demand that must be served in full (no unmet share allowed)."""
    return {"training": {"series_units": series, "max_unmet_share": 0.0, "unmet_penalty_usd_per_unit_month": 1e4}}


def rows_of(result, family: str) -> list[tuple]:
    table = result.conflicts[result.conflicts["family"] == family]
    return list(table[["name", "first_period", "last_period", "slack_per_period"]].itertuples(index=False, name=None))


# A 100 MW contract serves 100,000 units; demand steps to 250,000 in 2026-07: 150,000 short each month to 2026-12.
BEYOND_A_CONTRACT = {"demand": hard({"2026-01": 1_000, "2026-07": 250_000}), "hyperscaler_contracts": contract()}


def test_demand_beyond_a_contract_is_named_with_its_periods_and_amount():
    """No limit family other than demand exists here, so demand is the only one tried."""
    inst = make_instance(**BEYOND_A_CONTRACT)
    result = solve(inst)
    assert result.status == "infeasible" and not result.has_plan
    assert rows_of(result, "demand") == [("training", "2026-07", "2026-12", 150_000.0)]
    assert result.conflicts["sufficient_alone"].all()
    assert result.message == ("training demand in each period from 2026-07 to 2026-12 exceeds what the sources can "
                              "serve, beyond the unmet share allowed, by 150,000 units")
    assert result.plan.empty and result.costs.empty  # never a table of results from an infeasible solve


def test_a_capital_budget_that_alone_would_make_a_plan_possible_is_named():
    """3,000 units of hard training demand, served only by 1 MW satellites of $4M of capital each (see
    ``test_periods_and_budget.orbital``), with $10M a year: 2 satellites, 1,000 units short all year.
    Relaxing the budget alone: 3 satellites need $12M, $2M more in 2026. Launch cadence (10 satellites a flight)
    and the orbital inference share (training demand) cannot help on their own."""
    inst = make_instance(demand=hard({"2026-01": 3_000}), orbital=orbital(), capital_budget_usd_per_year=10e6)
    result = solve(inst)
    assert result.status == "infeasible"
    assert rows_of(result, "demand") == [("training", "2026-01", "2026-12", 1_000.0)]
    assert rows_of(result, "capital budget") == [("", "2026", "2026", 2e6)]
    assert rows_of(result, "launch cadence") == [] and rows_of(result, "orbital inference share") == []
    assert "the 2026 capital budget would need $2.0M more" in format_summary(result)
    planner = Planner(inst)
    planner.solve(explain=False)
    assert explain_infeasibility(planner).families_tried == {
        "demand": "suffices", "capital budget": "suffices", "launch cadence": "does not suffice",
        "orbital inference share": "does not suffice"}
    assert result.message.endswith("raising any one of these alone would also make a plan possible: capital budget")


def test_site_power_short_of_a_second_module_is_named_in_mw():
    """Hard demand of 20,000 units = 20 MW of IT = two 10 MW modules at PUE 1.2, i.e. 24 MW at the meter; the
    grid gives 12 MW (one module). Demand: 10,000 short each month. Site power alone: 12 MW more."""
    inst = make_instance(demand=hard({"2026-01": 20_000}), terrestrial=terrestrial({"a": site()}))
    result = solve(inst)
    assert result.status == "infeasible"
    assert rows_of(result, "demand") == [("training", "2026-01", "2026-12", 10_000.0)]
    power = rows_of(result, "site power")
    assert power == [("a", "2026-01", "2026-12", 12.0)]


def test_the_cli_prints_what_would_have_to_give_and_writes_it(tmp_path, capsys):
    path = tmp_path / "hard.yaml"
    path.write_text(yaml.safe_dump(deep_merge(BASE, BEYOND_A_CONTRACT)))
    code = main(["solve", str(path), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "training demand in each period from 2026-07 to 2026-12 exceeds what the sources can serve" in out
    conflicts = (tmp_path / "out" / "hard" / "conflicts.csv").read_text().splitlines()
    assert len(conflicts) == 2 and conflicts[1].startswith("demand,training,2026-07,2026-12,150000.0,units,True,")


def test_launch_cadence_short_in_the_first_months_is_named_in_flights():
    """The satellites of ``orbital()`` on a 1 t rocket: one 1,000 kg satellite a flight, one flight a month.
    Hard demand of 3,000 units from 2026-01: 1 satellite online in 2026-01 (2,000 short), 2 in 2026-02 (1,000
    short), 3 from 2026-03. Cadence alone: 3 satellites in 2026-01, i.e. 2 more flights that month."""
    space = orbital()
    space["launch_vehicles"]["rocket"]["payload_t"] = 1
    result = solve(make_instance(demand=hard({"2026-01": 3_000}), orbital=space))
    assert result.status == "infeasible"
    assert rows_of(result, "demand") == [("training", "2026-01", "2026-01", 2_000.0),
                                         ("training", "2026-02", "2026-02", 1_000.0)]
    assert rows_of(result, "launch cadence") == [("rocket", "2026-01", "2026-01", 2.0)]
    assert "rocket would need 2.00 more flights in 2026-01" in format_summary(result)


def test_a_national_cap_on_new_builds_is_named_in_mw_per_year():
    """A 24 MW grid allows two 10 MW modules at PUE 1.2, but the national cap allows 10 MW of new builds in 2026:
    one module, 10,000 units short of a hard 20,000 all year. The cap alone: 10 MW more in 2026; site power
    alone cannot help (the cap still binds)."""
    land = terrestrial({"a": site(grid_power_mw=24)}) | {"new_mw_cap_per_year": 10}
    result = solve(make_instance(demand=hard({"2026-01": 20_000}), terrestrial=land))
    assert result.status == "infeasible"
    assert rows_of(result, "demand") == [("training", "2026-01", "2026-12", 10_000.0)]
    assert rows_of(result, "national cap on new builds") == [("", "2026", "2026", 10.0)]
    assert rows_of(result, "site power") == []
    assert result.message == ("training demand in each period from 2026-01 to 2026-12 exceeds what the sources can "
                              "serve, beyond the unmet share allowed, by 10,000 units; raising any one of these "
                              "alone would also make a plan possible: national cap on new builds")
    assert "the national cap on new build MW in 2026 would need to be 10.0 MW higher" in format_summary(result)


def test_half_a_flight_a_month_leaves_the_first_month_short_and_names_the_cadence():
    """Half a flight a month is a flight every second month: the first is in 2026-02, so the 3 satellites (1 t
    each, one flight of the 10 t rocket) serve the hard 3,000 units from 2026-02 and 2026-01 is 3,000 short.
    Cadence alone: 1 more flight, in 2026-01."""
    space = orbital()
    space["launch_vehicles"]["rocket"]["flights_per_month"] = 0.5
    result = solve(make_instance(demand=hard({"2026-01": 3_000}), orbital=space))
    assert rows_of(result, "demand") == [("training", "2026-01", "2026-01", 3_000.0)]
    assert rows_of(result, "launch cadence") == [("rocket", "2026-01", "2026-01", 1.0)]


def test_a_small_budget_shortfall_is_written_to_the_hundred_thousand():
    """As the budget case above with $11.6M a year: 3 satellites need $12M, $0.4M more (not "$0M")."""
    inst = make_instance(demand=hard({"2026-01": 3_000}), orbital=orbital(), capital_budget_usd_per_year=11.6e6)
    result = solve(inst)
    assert rows_of(result, "capital budget") == [("", "2026", "2026", pytest.approx(4e5))]
    assert "the 2026 capital budget would need $0.4M more" in format_summary(result)


def test_families_left_undecided_by_the_time_limit_are_said_not_dropped():
    """The national-cap case with no time left for the elastic re-solves: no family is decided, and the table and
    the message say so for each instead of reporting nothing."""
    land = terrestrial({"a": site(grid_power_mw=24)}) | {"new_mw_cap_per_year": 10}
    planner = Planner(make_instance(demand=hard({"2026-01": 20_000}), terrestrial=land))
    assert planner.solve().status == "infeasible"
    explanation = explain_infeasibility(planner, time_limit=0.0)
    assert set(explanation.families_tried) == {"demand", "site power", "national cap on new builds"}
    assert all(v == "not decided: out of time" for v in explanation.families_tried.values())
    assert explanation.conflicts["slack_per_period"].isna().all() and len(explanation.conflicts) == 3
    assert "not decided within the time limit: demand, site power, national cap on new builds" \
        in explanation.headline
