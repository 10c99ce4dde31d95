"""Marginal values of a fixed integer plan (solver/marginal.py), each against a value worked out by hand.

The tiny base (conftest): 12 months of 2026, no discounting, gen1 = 1,000 units per MW, unmet demand $10,000 per
unit-month. The LP duals are in model units ($M per thousand units per period of L months), so a dual of 10 is
10 x 1e6 / 1e3 / L = $10,000 per unit-month with monthly periods.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import INSTANCES, ROOT, contract, make_instance, plan_of, training
from pyomo.environ import Var

from solver.instance import load_instance, with_changes
from solver.marginal import TABLES, marginal_values, one_more_cases, one_more_values
from solver.solve import Planner

PENALTY = 10_000  # USD per unit-month


def values_of(table: pd.DataFrame, column: str, **where) -> list[float]:
    rows = table
    for key, value in where.items():
        rows = rows[rows[key] == value]
    return rows[column].tolist()


def test_demand_without_sources_is_worth_the_penalty():
    """No capacity source at all: every unit of demand goes unmet.

    One more unit of demand in any month is one more unit unmet: the penalty, $10,000 per unit-month, for both
    workloads (inference has zero demand, and one more unit of it is unmet too). There are no sites, vehicles or
    national cap, so those tables are empty (with their columns).
    """
    planner = Planner(make_instance(demand=training({"2026-01": 1_000, "2026-07": 3_000})))
    mv = marginal_values(planner)
    assert mv.status == "optimal"
    assert mv.lp_objective_usd == pytest.approx(mv.objective_usd, rel=1e-9)
    assert mv.objective_usd == pytest.approx((6 * 1_000 + 6 * 3_000) * PENALTY, rel=1e-9)
    for w in ("training", "inference"):
        assert values_of(mv.compute, "usd_per_unit_month", workload=w) == pytest.approx([PENALTY] * 12, rel=1e-9)
        assert values_of(mv.compute, "usd_per_unit_month_discounted", workload=w) == pytest.approx([PENALTY] * 12)
    assert mv.compute["period"].tolist()[:12] == [f"2026-{m:02d}" for m in range(1, 13)]
    for name in ("site_power", "launch", "national_cap"):
        table = getattr(mv, name)
        assert table.empty and "year" in table.columns, name


def test_contract_slack_is_free_and_a_full_contract_leaves_the_next_unit_unmet():
    """Contract ``cloud``: 100 MW blocks (100,000 units) at $1M per MW-month ($1,000 per unit-month), 1-month term,
    a ramp of 300 MW (three blocks). Training demand 150,000 in January-June, 200,000 in July-December.

    The MILP takes 2 blocks every month (a block costs $100M a month; 50,000 units unmet would cost $500M), and
    leaves the third block of the ramp untaken in every month.
    With the integer plan fixed (2 blocks):
      January-June: capacity 200,000 > 150,000: one more unit is served by the slack: $0.
      July-December: capacity 200,000 = demand: one more unit cannot be served (the third block is not in the
        fixed plan) and goes unmet: the penalty, $10,000. (One unit less would save $0: a kink, where the plain
        LP dual may be either value; the value reported is for one more unit.)
    Afterwards the planner is intact: nothing left fixed, and a re-solve gives the same cost.
    """
    inst = make_instance(demand=training({"2026-01": 150_000, "2026-07": 200_000}),
                         hyperscaler_contracts=contract(ramp_mw={"2026-01": 300}))
    planner = Planner(inst)
    result = planner.solve(mip_gap=0.0)
    assert plan_of(result, "cloud", "mw_online") == [200.0] * 12
    mv = marginal_values(planner, result)
    expected = [0.0] * 6 + [PENALTY] * 6
    assert values_of(mv.compute, "usd_per_unit_month", workload="training") == pytest.approx(expected, abs=1e-6)
    # Compute is fungible: one more unit of inference competes for the same two blocks.
    assert values_of(mv.compute, "usd_per_unit_month", workload="inference") == pytest.approx(expected, abs=1e-6)

    assert not any(v.fixed for v in planner.model.component_data_objects(Var))
    again = planner.solve(mip_gap=0.0)
    assert again.status == "optimal"
    assert again.objective_usd == pytest.approx(result.objective_usd, rel=1e-12)


@pytest.mark.parametrize("period, months", [("month", 1), ("quarter", 3)])
def test_discounting_and_period_length(period, months):
    """No sources, 12% a year, one year by month or by quarter; training demand 1,000 units.

    Period t holds months t L .. t L + L - 1; one more unit of demand is unmet in each of them, at $10,000 per
    unit-month in money of that period (per month, not per quarter: the dual of a quarter is divided by L = 3).
    Paid month by month, it is worth $10,000 x mean_k 1.12^(-(t L + k) / 12) at the start: $9,906.30 for the
    first quarter ((1 + 1.12^(-1/12) + 1.12^(-2/12)) / 3 = 0.990630), $10,000 for the first month.
    """
    inst = make_instance(horizon={"period": period, "discount_rate_per_year": 0.12},
                         demand=training({"2026-01": 1_000}))
    mv = marginal_values(Planner(inst))
    n = 12 // months
    discounted = [PENALTY * sum(1.12 ** (-(t * months + k) / 12) for k in range(months)) / months for t in range(n)]
    assert discounted[0] == pytest.approx(10_000 if months == 1 else 9_906.30, abs=0.005)
    assert values_of(mv.compute, "usd_per_unit_month", workload="training") == pytest.approx([PENALTY] * n, rel=1e-9)
    assert values_of(mv.compute, "usd_per_unit_month_discounted", workload="training") == pytest.approx(discounted,
                                                                                                         rel=1e-9)


def _three_limits(**terrestrial) -> Planner:
    """One month: a 12 MW site (one 10 MW module), a 10 MW national cap, one flight of two satellites; training
    demand 13,000 units, 1,000 of them unmet (the cases below)."""
    site = {"grid_power_mw": 12, "power_available": "2026-01", "module_mw": 10, "lead_time_months": 0, "pue": 1.2,
            "electricity_usd_per_kwh": 0.05, "fixed_opex_usd_per_mw_month": 10_000}
    costs = {"facility_usd_per_mw": 1e6, "gpus_usd_per_mw": 2e6, "other_it_usd_per_mw": 5e5,
             "facility_life_years": 2, "gpu_life_years": 2}
    rocket = {"payload_t": 1, "flights_per_month": 1, "earliest_launch": "2026-01", "launch_price_usd_per_kg": 1000}
    sat = {"hardware": "gen1", "launch_vehicle": "rocket", "compute_kw": 1000, "mass_kg": 500,
           "hardware_usd_per_w": 1, "gpus_usd_per_w": 2, "earliest_launch": "2026-01", "life_years": 5,
           "degradation_per_year": 0, "failure_rate_per_year": 0, "opex_usd_per_kw_month": 100, "sunlight_share": 1}
    inst = make_instance(horizon={"end": "2026-01"}, demand=training({"2026-01": 13_000}),
                         terrestrial={"build_costs": costs, "sites": {"a": site}, "new_mw_cap_per_year": 10}
                         | terrestrial,
                         orbital={"launch_vehicles": {"rocket": rocket}, "satellite_classes": {"sat": sat}})
    return Planner(inst)


def test_binding_site_power_cadence_and_national_cap_are_worth_nothing_with_the_plan_fixed():
    """One month; training demand 13,000 units; all three constraints bind in the plan, and all are worth $0.

    Site ``a``: grid 12 MW, PUE 1.2, 10 MW modules, no lead time: one module (10,000 units) fits exactly
    (1.2 x 10 = 12 MW); national cap 10 MW a year: exactly that module. Orbit: a rocket with one flight a month
    and 1 t of payload carries two 500 kg satellites of 1 MW (1,000 units each). Both cost a few $M against $100M
    and $10M of unmet demand, so the plan builds one module and launches one full flight: 12,000 units, 1,000
    unmet. The site power, national cap and cadence all bind (reported in ``binding``).

    With the integer plan fixed nothing continuous uses any of them: the MW online at the site is fixed by the
    module decisions through ``build_mw_state``, the national cap counts only module decisions and the cadence
    only flights. One more grid MW, one more MW of cap or one more flight changes nothing: each is worth $0
    (there is no case of these constraints with a non-zero marginal value once the integers are fixed).
    One more unit of demand goes unmet: $10,000.
    """
    planner = _three_limits()
    result = planner.solve(mip_gap=0.0)
    assert result.status == "optimal"
    assert plan_of(result, "a", "mw_online") == [10.0] and plan_of(result, "sat", "new_units") == [2.0]
    assert {"site power", "national build cap", "launch cadence"} <= set(result.binding["family"])

    mv = marginal_values(planner, result)
    assert mv.site_power[["site", "period"]].values.tolist() == [["a", "2026-01"]]
    assert mv.site_power["usd_per_grid_mw_month"].tolist() == [0.0]
    assert mv.national_cap[["year", "usd_per_mw"]].values.tolist() == [[2026, 0.0]]
    assert mv.launch[["vehicle", "usd_per_flight"]].values.tolist() == [["rocket", 0.0]]
    assert values_of(mv.compute, "usd_per_unit_month", workload="training") == pytest.approx([PENALTY])
    assert "worth nothing unless a continuous decision can use it" in mv.note


def test_one_more_unit_with_the_plan_free_is_worth_what_it_saves_by_hand():
    """The same case, each limit raised by one unit alone and the MILP re-solved (gap 0, so the brackets close).

    * Site power +12 MW (one more module at PUE 1.2): the national cap of 10 MW still allows only one module:
      nothing changes, $0. National cap +10 MW (one module): the site's 12 MW still hold one module: $0. The two
      bind together, so each alone is worth nothing (with the cap removed, below, the site's power is worth more).
    * One more flight a month: a third satellite serves the 1,000 units left unmet, saving 1,000 x $10,000 =
      $10M, and costs launch 500 kg x $1,000 = 0.5 + hardware 1 MW x $1/W = 1 + GPUs 2 + operations $100/kW x
      1,000 kW = 0.1, less its value at the end, 59 of its 60 months of service at the 3.5 it costs new:
      3.441667; net 0.158333. Saving 10 - 0.158333 = $9.841667M per flight a month.
    * Without the cap, one more module of site power: the plan changes. A module costs facility 10 + GPUs 20 +
      other IT 5 + energy 1.2 x 730 h x 10,000 kW x $0.05 = 0.438 + opex 0.1, less 23 of its 24 months at 35:
      33.541667; net 1.996333. Two modules carry all 13,000 units, so the satellites are not launched either.
      Base: one module 1.996333 + two satellites 0.316667 + unmet 10 = 12.313; with the power: two modules
      3.992667. Saving $8.320333M, $0.693361M per grid MW (of 12): more than the 10 - 1.996333 = 8.003667 of
      only adding a module, which a fixed plan would have priced.
    """
    planner = _three_limits()
    result = planner.solve(mip_gap=0.0)
    table = one_more_values(planner, result, mip_gap=0.0).set_index("resource")
    assert list(table.index) == ["site power", "national cap", "launch cadence"]
    assert table.loc["site power", "amount"] == 12 and table.loc["national cap", "amount"] == 10
    assert table.loc["site power", "value_usd"] == pytest.approx(0, abs=1)
    assert table.loc["national cap", "value_usd"] == pytest.approx(0, abs=1)
    assert not table.loc["site power", "decided"] and not table.loc["national cap", "decided"]
    flight = table.loc["launch cadence"]
    assert flight["value_usd"] == pytest.approx(9_841_666.67, rel=1e-6) and flight["decided"]
    assert flight["value_low_usd"] == pytest.approx(flight["value_usd"], rel=1e-6) == flight["value_high_usd"]

    uncapped = _three_limits(new_mw_cap_per_year=None)
    result = uncapped.solve(mip_gap=0.0)
    table = one_more_values(uncapped, result, mip_gap=0.0, workers=2).set_index("resource")
    assert "national cap" not in table.index
    assert table.loc["site power", "value_usd"] == pytest.approx(8_320_333.33, rel=1e-6)
    assert table.loc["site power", "value_usd_per_unit"] == pytest.approx(693_361.11, rel=1e-6)
    assert table.loc["launch cadence", "value_usd"] == pytest.approx(9_841_666.67, rel=1e-6)


def test_one_more_brackets_hold_the_value_and_a_grounded_vehicle_gets_no_case():
    """At a loose gap the bracket is the two solves' bounds and plans: it holds the point value, never goes below
    0, and is wider than the point by at most both gaps. A vehicle with no flights in any year is not raised (one
    more flight there would be a new vehicle, not more cadence)."""
    planner = Planner(load_instance(INSTANCES / "small.yaml"))
    result = planner.solve(mip_gap=1e-3)
    table = one_more_values(planner, result, mip_gap=1e-3)
    assert set(table["resource"]) == {"site power", "national cap", "launch cadence"}
    assert ((table["value_low_usd"] <= table["value_usd"] + 1e-6)
            & (table["value_usd"] <= table["value_high_usd"] + 1e-6) & (table["value_low_usd"] >= 0)).all()
    slack = table["value_high_usd"] - table["value_low_usd"]
    assert (slack <= 1e-3 * (result.objective_usd + table["npc_usd"]) + 1).all()
    grounded = with_changes(planner.instance, {"orbital.launch_vehicles.rocket.flights_per_month": 0})
    assert [c.resource for c in one_more_cases(grounded)] == ["site power", "national cap"]


def test_one_more_raises_a_schedule_in_every_year_as_the_model_reads_it():
    """Flights {2026: 0, 2028: 2} are read as 0, 1, 2 a month in 2026-2028 (interpolated between the years given):
    one more flight is 0 (grounded), 2, 3, written year by year. Adding 1 at 2028 only would have read as 0,
    1.5, 3: half a flight more in 2027. The cap of 10 MW a year becomes 20 in every year."""
    base = _three_limits().instance
    inst = with_changes(base, {"horizon.end": "2028-12",
                               "orbital.launch_vehicles.rocket.flights_per_month": {2026: 0, 2028: 2}})
    cases = {case.resource: case for case in one_more_cases(inst)}
    assert cases["launch cadence"].changes == {
        "orbital.launch_vehicles.rocket.flights_per_month": {2026: 0.0, 2027: 2.0, 2028: 3.0}}
    assert cases["national cap"].changes == {"terrestrial.new_mw_cap_per_year": 20}
    assert cases["site power"].changes == {"terrestrial.sites.a.grid_power_mw": 24}


def test_resale_sets_the_value_of_compute_and_cost_ranging():
    """Contract ``cloud`` (one 100 MW block, 100,000 units, $1M per MW-month); training demand 50,000 units; resale
    at $500 per unit-month, i.e. $0.5M per MW-month of gen1 (the ranging below is per MW-month), market cap 100 MW.

    The plan takes the block every month and resells the 50 MW it does not need ($25M a month).
    One more unit of demand is served by taking 1/1,000 MW back from resale: $500,000 / 1,000 = $500 per
    unit-month.
    Cost ranging of the LP (one coefficient at a time, in January):
      unmet penalty: unmet is 0 and stays 0 while the penalty is above $500 (below it, leaving a unit unmet and
        reselling its MW pays): [500, inf);
      resale price: 50 MW stay resold for any price in [0, $10M] per MW-month; below 0 nothing is resold, above
        $10M (1,000 units x $10,000) reselling more and leaving demand unmet pays.
    """
    inst = make_instance(demand=training({"2026-01": 50_000}), hyperscaler_contracts=contract(),
                         resale={"price_usd_per_unit_month": 500, "market_cap_mw": 100})
    planner = Planner(inst)
    result = planner.solve(mip_gap=0.0)
    assert plan_of(result, "cloud", "mw_resold") == [50.0] * 12
    mv = marginal_values(planner, result)
    assert values_of(mv.compute, "usd_per_unit_month", workload="training") == pytest.approx([500.0] * 12, rel=1e-9)

    ranging = mv.cost_ranging[mv.cost_ranging["period"] == "2026-01"].set_index(["coefficient", "name"])
    penalty = ranging.loc[("unmet_penalty", "training")]
    assert (penalty["current"], penalty["lp_value"]) == pytest.approx((PENALTY, 0.0))
    assert (penalty["lower"], penalty["upper"]) == pytest.approx((500.0, float("inf")), rel=1e-9)
    price = ranging.loc[("resale_price", "cloud")]
    assert (price["current"], price["lp_value"]) == pytest.approx((500_000.0, 50.0), rel=1e-9)
    assert (price["lower"], price["upper"]) == pytest.approx((0.0, 10_000_000.0), rel=1e-9, abs=1e-6)


def test_a_binding_service_floor_makes_one_more_unit_impossible():
    """Contract ``cloud``: one 100 MW block (100,000 units); training demand 200,000 units; at most 50% unmet.

    The plan takes the block and leaves 100,000 units unmet: exactly the 50% allowed. One more unit of demand
    may be left unmet only for half a unit (the floor moves with demand: unmet <= 0.5 x demand); the other half
    must be served, and the fixed block is full: infeasible, so the value is +inf in every month.
    """
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 200_000}, "max_unmet_share": 0.5}},
                         hyperscaler_contracts=contract())
    mv = marginal_values(Planner(inst))
    assert values_of(mv.compute, "usd_per_unit_month", workload="training") == [float("inf")] * 12


def test_a_result_without_a_plan_is_refused():
    """A hard service floor the plan cannot meet (no sources, at most 50% unmet): infeasible, so no marginal values."""
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 1_000}, "max_unmet_share": 0.5}})
    planner = Planner(inst)
    result = planner.solve()
    assert result.status == "infeasible"
    with pytest.raises(ValueError, match="no plan"):
        marginal_values(planner, result)


def test_a_result_that_is_not_the_planners_latest_is_refused():
    """The values in the model are the planner's latest solve; a result that reports another cost is refused."""
    planner = Planner(make_instance(demand=training({"2026-01": 1_000})))
    result = planner.solve()
    result.objective_usd += 1e6
    with pytest.raises(ValueError, match="latest solve"):
        marginal_values(planner, result)


def dcopt(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_cli_marginal_writes_the_tables(tmp_path):
    """``dcopt marginal instances/small.yaml --out DIR`` (solves in well under a second): exit 0, a summary on stdout,
    one CSV per table and marginal.json (note and costs) in DIR; 2 workloads x 8 quarters of compute values."""
    out = tmp_path / "marginal"
    run = dcopt("marginal", INSTANCES / "small.yaml", "--out", out)
    assert run.returncode == 0, run.stderr
    assert "marginal values of the optimal plan" in run.stdout and "Note:" in run.stdout
    for name in TABLES:
        assert (out / f"{name}.csv").is_file(), name
    doc = json.loads((out / "marginal.json").read_text())
    assert doc["status"] == "optimal" and "fixed integer plan" in doc["note"]
    compute = pd.read_csv(out / "compute.csv")
    assert len(compute) == 2 * 8 and set(compute["workload"]) == {"training", "inference"}
    assert (compute["usd_per_unit_month"] >= 0).all()


def test_cli_marginal_rejects_a_bad_file(tmp_path):
    """A broken YAML file: exit 2, one line on stderr naming the file, nothing written."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    run = dcopt("marginal", bad, "--out", tmp_path / "never")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(str(bad))
    assert not (tmp_path / "never").exists()
