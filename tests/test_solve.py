"""Honest statuses: a time limit gives the incumbent with its gap (never "optimal"); re-solves reuse the model."""

from __future__ import annotations

import pytest
from conftest import INSTANCES, contract, make_instance, solve_optimal

from solver import Planner, load_instance, solve, with_changes
from solver.audit import audit


def test_time_limit_with_a_plan_gives_the_incumbent_and_its_gap():
    # The reference instance finds a first plan within ~0.05 s but needs seconds to prove a 1e-6 gap: one second
    # gives an incumbent that must be labelled with the limit and its gap, and audited like any plan.
    planner = Planner(load_instance(INSTANCES / "reference.yaml"))
    result = planner.solve(time_limit=1.0, mip_gap=1e-6, threads=1)
    assert result.status == "time_limit"
    assert result.has_plan and result.gap > 1e-6
    # The gap reported is the plan's distance to the bound, as HiGHS measures it.
    assert result.gap == pytest.approx((result.objective_usd - result.bound_usd) / result.objective_usd, rel=1e-9)
    assert result.gap == pytest.approx(planner.highs.getInfo().mip_gap, rel=1e-6)
    assert result.audit["relative_difference"] < 1e-6 and not result.plan.empty


def test_time_limit_before_any_plan_is_a_clear_status_not_zeros():
    result = solve(load_instance(INSTANCES / "small.yaml"), time_limit=1e-6)
    assert result.status == "time_limit_no_solution" and not result.has_plan
    assert result.objective_usd is None and result.plan.empty and result.costs.empty
    assert "Time limit" in result.message


def test_a_plan_that_violates_the_model_is_flagged_suspect_not_optimal():
    # Stand-in for a numerical failure: HiGHS is handed a demand row 5 units (model units) above the model's, so
    # the plan it returns as optimal misses the model's row by 5. The check against the model must catch it.
    planner = Planner(load_instance(INSTANCES / "small.yaml"))
    row = next(i for i, name in enumerate(planner.compiled.row_names) if name[0].startswith("demand_balance"))
    lp = planner.compiled.lp
    planner.highs.changeRowBounds(row, lp.row_lower_[row] + 5, lp.row_upper_[row] + 5)
    result = planner.solve()
    assert result.status == "suspect"
    assert result.audit["max_violation"] == pytest.approx(5, rel=1e-6)
    assert "max_violation" in result.message


def test_planner_resolves_the_same_model():
    planner = Planner(load_instance(INSTANCES / "small.yaml"))
    first, second = planner.solve(), planner.solve()
    assert first.status == second.status == "optimal"
    assert second.objective_usd == pytest.approx(first.objective_usd, rel=1e-9)
    assert second.plan.equals(first.plan)


def test_changed_copy_solves_to_a_different_answer():
    # Doubling every satellite's GPU price can only make the plan dearer (or leave it unchanged if orbit is unused).
    small = load_instance(INSTANCES / "small.yaml")
    dearer = with_changes(small, {"orbital.satellite_classes.sat.gpus_usd_per_w": 60})
    assert solve(dearer).objective_usd >= solve(small).objective_usd - 1e-3


# Each change reaches a different part of the matrix HiGHS holds: a cost (launch price), a right-hand side and
# bound (demand), matrix coefficients (compute per MW), and the nonzero pattern itself (a lead time moves the
# period at which a module's MW comes online).
CHANGES = [
    {"orbital.launch_vehicles.rocket.launch_price_usd_per_kg": 100},
    {"demand.training.growth_law.start_units": 150_000},
    {"hardware.gb200.compute_units_per_mw": 3000},
    {"terrestrial.sites.plain.lead_time_months": 3},
]


@pytest.mark.parametrize("changes", CHANGES, ids=lambda c: next(iter(c)).rsplit(".", 1)[-1])
def test_update_in_place_matches_a_fresh_solve(changes):
    small = load_instance(INSTANCES / "small.yaml")
    planner = Planner(small)
    base = planner.solve(mip_gap=1e-9)
    assert planner.update(changes) == "in place"
    changed = planner.solve(mip_gap=1e-9)
    fresh = solve(with_changes(small, changes), mip_gap=1e-9)
    assert changed.status == fresh.status == "optimal"
    assert changed.objective_usd == pytest.approx(fresh.objective_usd, rel=1e-9)
    assert changed.objective_usd != pytest.approx(base.objective_usd, rel=1e-6)  # the change did reach HiGHS
    # Back to the base data: nothing of the change is left behind in the HiGHS instance.
    planner.update({})
    assert planner.solve(mip_gap=1e-9).objective_usd == pytest.approx(base.objective_usd, rel=1e-9)


def test_update_that_changes_the_model_shape_reloads_it():
    small = load_instance(INSTANCES / "small.yaml")
    planner = Planner(small)
    planner.solve()
    shorter = {"horizon.end": "2027-06"}  # fewer periods: other rows and columns
    assert planner.update(shorter) == "reloaded"
    assert planner.solve().objective_usd == pytest.approx(solve(with_changes(small, shorter)).objective_usd,
                                                         rel=1e-9)


def test_thread_count_follows_each_solve():
    # HiGHS keeps options between runs: None must go back to HiGHS's default (0), not keep the last count.
    planner = Planner(load_instance(INSTANCES / "small.yaml"))
    assert planner.solve(threads=1).status == "optimal"
    assert planner.solve(threads=None).status == "optimal"
    assert planner.highs.getOptionValue("threads")[1] == 0
    assert planner.solve(threads=2).status == "optimal"  # another pool size in the same process still solves
    with pytest.raises(ValueError, match="mip_rel_gap"):
        planner.solve(mip_gap=-1)


def test_a_variable_in_no_row_and_with_no_cost_does_not_break_the_solve():
    """Free facilities: a module decided too late to come online before the horizon end appears only in the
    facility cost, now 0, so the compiled model drops it. The plan must still be read (it was a crash), and the
    plan with free facilities costs less than with paid ones."""
    small = load_instance(INSTANCES / "small.yaml")
    free = solve(with_changes(small, {"terrestrial.build_costs.facility_usd_per_mw": 0}))
    assert free.status == "optimal" and free.audit["relative_difference"] < 1e-9
    assert free.objective_usd < solve(small).objective_usd


def test_the_audit_measures_an_objective_that_disagrees_with_the_plan():
    """The audit recomputes the cost from the decisions; told an objective 1% above it, its relative difference is
    0.01 / 1.01 (scaled by the larger of the two), far above the 1e-6 that makes a plan suspect."""
    planner = Planner(load_instance(INSTANCES / "small.yaml"))
    result = planner.solve()
    checked = audit(planner.model, planner.parts, 1.01 * result.objective_usd)
    assert checked["recomputed_usd"] == pytest.approx(result.objective_usd, rel=1e-9)
    assert checked["relative_difference"] == pytest.approx(0.01 / 1.01, rel=1e-6)


# -- valid but odd instances: worked by hand on the tiny base (12 months, no discounting, 1,000 units per MW) ------

def _demand(units: float, penalty: float = 10_000) -> dict:
    return {w: {"series_units": {"2026-01": units}, "unmet_penalty_usd_per_unit_month": penalty}
            for w in ("training", "inference")}


@pytest.mark.parametrize(("changes", "npc_usd", "unmet_units"), [
    # no sources: every unit unmet, 2 workloads x 100 units x 12 months x $10,000 = $24M
    ({"demand": _demand(100)}, 24e6, 100),
    # a one-month horizon: 2 x 100 x 1 x $10,000 = $2M
    ({"demand": _demand(100), "horizon": {"end": "2026-01"}}, 2e6, 100),
    # zero demand: nothing to buy, nothing unmet
    ({"hyperscaler_contracts": contract()}, 0.0, 0),
    # unmet demand costs nothing: buying a $100M-a-month block is never worth it, and everything goes unmet
    ({"demand": _demand(50_000, penalty=0), "hyperscaler_contracts": contract()}, 0.0, 50_000),
    # one kind of source only: 2 x 50,000 units = 100 MW, one block at $100M a month beats $1B of unmet demand:
    # 12 x $100M = $1.2B, nothing unmet
    ({"demand": _demand(50_000), "hyperscaler_contracts": contract()}, 1.2e9, 0),
])
def test_valid_but_odd_instances_solve_summarise_and_report(tmp_path, changes, npc_usd, unmet_units):
    from solver.report import plan_in_words, write_report
    from solver.results import format_summary

    result = solve_optimal(make_instance(**changes))
    assert result.objective_usd == pytest.approx(npc_usd, abs=1e-3)
    assert result.demand["unmet_units"].tolist() == pytest.approx([unmet_units] * len(result.demand))
    summary = format_summary(result)
    assert f"Net present cost: ${npc_usd / 1e9:,.2f}B" in summary
    assert ("no capacity sources" in summary) == ("hyperscaler_contracts" not in changes)
    assert plan_in_words(result)[0].startswith("Meeting demand that grows from")
    result.to_csv(tmp_path)
    result.to_json(tmp_path / "result.json")
    assert write_report(tmp_path).is_file()


def test_long_runs_of_binding_periods_are_cut_for_reading():
    from solver.results import shorter_runs

    assert shorter_runs("2026-01..2026-06, 2026-08") == "2026-01..2026-06, 2026-08"
    long = "2026-01..2026-06, 2026-08..2026-09, 2026-11..2026-12, 2027-05..2027-06, 2027-12, 2028-06"
    assert shorter_runs(long) == "2026-01..2026-06, 2026-08..2026-09, 2026-11..2026-12 and 3 more runs to 2028-06"


def test_the_summary_shows_peaks_as_the_report_does_and_capacity_against_demand():
    """The console's MW table is the peak of each year, as the report's is (an end-of-year snapshot read 0 for a
    source held until November), with the total and the compute online against demand."""
    from conftest import contract, make_instance, training

    from solver.results import format_summary

    inst = make_instance(demand=training({"2026-01": 100_000, "2026-12": 0}), hyperscaler_contracts=contract())
    text = format_summary(solve(inst))
    table = text[text.index("Peak MW online in each year"):]
    assert "  cloud  " in table and table.splitlines()[2].split()[-1] == "100"  # 100 MW held Jan-Nov, 0 in Dec
    assert "compute, M units" in table and "demand, M units" in table
