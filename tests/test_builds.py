"""Own terrestrial builds: one small case per constraint family, each optimum worked out by hand.

Unless a test says otherwise the numbers are (see :func:`terrestrial` and :func:`site`):

* hardware gen1 = 1,000 units per MW, so a 10 MW module serves 10,000 units; unmet demand costs $10,000 per
  unit-month, i.e. $100M per module-month of missing capacity;
* capex per MW: facility $1M (at the decision), GPUs $2M and other IT $0.5M (when online); a 10 MW module costs
  facility $10M + GPUs $20M + other IT $5M = $35M;
* facility and GPU life 2 years: a module online for ``a`` months is worth ``35 x (1 - a/24)`` $M at the end (its
  remaining service at what a new module costs then; with flat prices and no discounting, straight line);
* PUE 1.2, $0.05/kWh: energy per MW-month = 1.2 x 730 h x 1000 kW x 0.05 = $43,800, i.e. $438,000 per module-month;
  fixed opex $10,000 per MW-month = $100,000 per module-month;
* a grid of 12 MW at the meter: exactly one module (10 MW x 1.2).

No discounting, so every total is an exact sum. Money in the comments is in $M.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import assert_costs, category, make_instance, plan_of, solve_optimal, training

REL = 1e-9


def terrestrial(sites: dict[str, dict], **build_costs: Any) -> dict:
    costs = {"facility_usd_per_mw": 1e6, "gpus_usd_per_mw": 2e6, "other_it_usd_per_mw": 5e5,
             "facility_life_years": 2, "gpu_life_years": 2} | build_costs
    return {"build_costs": costs, "sites": sites}


def site(**changes: Any) -> dict:
    return {"grid_power_mw": 12, "power_available": "2026-01", "module_mw": 10, "lead_time_months": 0, "pue": 1.2,
            "electricity_usd_per_kwh": 0.05, "fixed_opex_usd_per_mw_month": 10_000} | changes




def solve_exact(instance):
    """Solve to a zero gap, so that the plan asserted is the optimum and not one within the default 1e-4."""
    return solve_optimal(instance, mip_gap=0.0)






def cost_in_year(result, category: str, year: int) -> float:
    rows = result.costs[(result.costs["category"] == category) & (result.costs["year"] == year)]
    return float(rows["discounted_usd"].sum())


def test_lead_time_leaves_the_first_months_unmet():
    """Lead 4: a module decided in 2026-01 (t=0) is online from 2026-05 (t=4); demand 10,000 from month 1.

    Optimum: decide 1 module at t=0 (the grid allows one; later loses $100M per month).
      unmet     4 months x 10,000 x $10,000                    = 400
      facility  10 MW x $1M, at t=0                            =  10
      GPUs      10 MW x $2M, at t=4                            =  20
      other IT  10 MW x $0.5M, at t=4                          =   5
      energy    8 months x 0.438                               =   3.504
      opex      8 months x 0.1                                 =   0.8
      salvage   online 8 months of 24: 35 x (1 - 8/24)         = -23.333...
      total                                                    = 415.970666...
    """
    inst = make_instance(demand=training({"2026-01": 10_000}),
                         terrestrial=terrestrial({"a": site(lead_time_months=4)}))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 11
    assert plan_of(result, "a", "mw_online") == [0] * 4 + [10] * 8
    unmet = result.demand.loc[result.demand["workload"] == "training", "unmet_units"].tolist()
    assert unmet == [10_000] * 4 + [0] * 8
    assert_costs(result, {"unmet_demand": 400e6, "build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6,
                          "energy": 3.504e6, "opex": 0.8e6, "salvage": -35e6 * 16 / 24})
    assert result.objective_usd == pytest.approx(415_970_666.6666667, rel=REL)


LEASE = {"bridge": {"hardware": "gen1", "size_mw": 10, "fee_usd_per_month": 5e6, "available_from": "2026-01",
                    "end": "2026-12", "min_term_months": 4, "notice_months": 1}}
CONTRACT = {"bridge": {"hardware": "gen1", "ramp_mw": {"2026-01": 10}, "block_mw": 10, "min_term_months": 4,
                       "price_usd_per_mw_month": 5e5}}


@pytest.mark.parametrize("kind", ["fixed_block_leases", "hyperscaler_contracts"])
def test_lead_time_is_bridged_by_a_short_term_source(kind):
    """Lead 4 as above, plus a 10 MW bridge at $5M a month (cheaper than $100M unmet, dearer than the build).

    Fixed-block lease (min term 4, notice 1): sign at t=0, give notice at t=3, held t=0..3, off from t=4.
    Hyperscaler contract (term 4): commit one block at t=0, held t=0..3, then it expires.
    Keeping the bridge instead of building would cost 12 x 5 = 60; the build covers t=4..11 for less.
      bridge    4 months x 5                                   =  20
      build     10 + 20 + 5 + 8 x 0.538 - 35 x 16/24          =  15.970666...
      total                                                    =  35.970666...
    """
    inst = make_instance(demand=training({"2026-01": 10_000}),
                         terrestrial=terrestrial({"a": site(lead_time_months=4)}),
                         **{kind: LEASE if kind == "fixed_block_leases" else CONTRACT})
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 11
    assert plan_of(result, "bridge", "mw_online") == [10] * 4 + [0] * 8
    assert plan_of(result, "bridge", "new_units") == [1] + [0] * 11
    if kind == "fixed_block_leases":
        assert plan_of(result, "bridge", "event") == ["signed", "", "", "notice"] + [""] * 8
    category = "leases" if kind == "fixed_block_leases" else "contracts"
    assert_costs(result, {category: 20e6, "build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6,
                          "energy": 3.504e6, "opex": 0.8e6, "salvage": -35e6 * 16 / 24})
    assert result.objective_usd == pytest.approx(35_970_666.666666667, rel=REL)


def test_site_power_limits_the_modules():
    """Grid 25 MW at the meter, module 10 MW x PUE 1.2 = 12 MW: floor(25/12) = 2 modules, ever (not per decision).

    Demand 50,000 (5 modules' worth), lead 0. Optimum: 2 modules at t=0, 30,000 unmet every month.
      unmet     30,000 x 12 months x $10,000                   = 3600
      capex     2 x (10 + 20 + 5)                              =   70
      energy    20 MW x 12 months x 0.0438                     =   10.512
      opex      20 MW x 12 months x 0.01                       =    2.4
      salvage   online 12 months of 24: 70 x 1/2               =  -35
      total                                                    = 3647.912
    """
    inst = make_instance(demand=training({"2026-01": 50_000}), terrestrial=terrestrial({"a": site(grid_power_mw=25)}))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [2] + [0] * 11
    assert plan_of(result, "a", "mw_online") == [20] * 12
    assert_costs(result, {"unmet_demand": 3600e6, "build_facility": 20e6, "build_gpus": 40e6, "build_other_it": 10e6,
                          "energy": 10.512e6, "opex": 2.4e6, "salvage": -35e6})
    assert result.objective_usd == pytest.approx(3_647_912_000, rel=REL)
    assert ((result.binding["family"] == "site power") & (result.binding["name"] == "a")).any()


def test_no_module_online_before_the_site_has_power():
    """Power from 2026-07 (t=6), lead 2: the first module can be decided at t=4 and be online at t=6.

    Demand 10,000 from t=0. Optimum: 1 module decided at t=4, online t=6..11.
      unmet     6 months x 100                                 = 600
      capex     10 (t=4) + 20 + 5 (t=6)                        =  35
      energy    6 x 0.438                                      =   2.628
      opex      6 x 0.1                                        =   0.6
      salvage   online 6 months of 24: 35 x 18/24              = -26.25
      total                                                    = 611.978
    """
    inst = make_instance(demand=training({"2026-01": 10_000}),
                         terrestrial=terrestrial({"a": site(power_available="2026-07", lead_time_months=2)}))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [0] * 4 + [1] + [0] * 7
    assert plan_of(result, "a", "mw_online") == [0] * 6 + [10] * 6
    assert_costs(result, {"unmet_demand": 600e6, "build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6,
                          "energy": 2.628e6, "opex": 0.6e6, "salvage": -26.25e6})
    assert result.objective_usd == pytest.approx(611_978_000, rel=REL)


def test_national_cap_counts_new_mw_by_the_year_they_come_online():
    """2026-2027, cap 10 MW of new builds per calendar year, lead 6, a site with room for 8 modules, demand 30,000.

    The cap counts the year a module comes ONLINE: one module online in 2026 (earliest t=6, decided t=0) and one
    in 2027 (earliest t=12 = 2027-01, decided t=6 = 2026-07). Both decisions fall in 2026, which a cap by
    decision year would forbid. Energy and opex are 0 here.
      unmet     30 MW x 6 + 20 MW x 6 + 10 MW x 12 = 420 MW-months x $10M   = 4200
      facility  10 + 10 (both 2026)                                          =   20
      GPUs      20 (2026, t=6) + 20 (2027, t=12)                             =   40
      other IT  5 + 5                                                        =   10
      salvage   A online 18 of 24 months: 35 x 6/24 = 8.75; B 12 of 24: 17.5 =  -26.25
      total                                                                  = 4243.75
    """
    inst = make_instance(
        horizon={"end": "2027-12"}, demand=training({"2026-01": 30_000}),
        terrestrial=terrestrial({"a": site(grid_power_mw=100, lead_time_months=6, electricity_usd_per_kwh=0,
                                           fixed_opex_usd_per_mw_month=0)}) | {"new_mw_cap_per_year": 10})
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 5 + [1] + [0] * 17
    assert plan_of(result, "a", "mw_online") == [0] * 6 + [10] * 6 + [20] * 12
    assert_costs(result, {"unmet_demand": 4200e6, "build_facility": 20e6, "build_gpus": 40e6, "build_other_it": 10e6,
                          "salvage": -26.25e6})
    assert cost_in_year(result, "build_gpus", 2026) == pytest.approx(20e6, rel=REL)
    assert cost_in_year(result, "build_gpus", 2027) == pytest.approx(20e6, rel=REL)
    assert result.objective_usd == pytest.approx(4_243_750_000, rel=REL)
    assert (result.binding["family"] == "national build cap").any()


def test_modules_are_integer():
    """Demand 15,000 = 1.5 modules, lead 0, room for 2 modules, and a low penalty of $300 per unit-month.

    One module for the year costs 35 + 12 x 0.538 - 35/2 = 23.956; it serves 10,000 x 12 x $300 = 36 of demand.
      0 modules: 15,000 x 12 x 300                 = 54
      1 module:  23.956 + 5,000 x 12 x 300 = 23.956 + 18  = 41.956   <- optimum
      2 modules: 2 x 23.956                        = 47.912
    (The LP relaxation would take 1.5 modules for 35.934.) A later decision only loses: each month of delay saves
    0.538 running and 35/24 = 1.458 of depreciation but loses 10,000 x $300 = 3 of served demand.
    """
    inst = make_instance(demand=training({"2026-01": 15_000}, penalty=300),
                         terrestrial=terrestrial({"a": site(grid_power_mw=25)}))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 11
    assert plan_of(result, "a", "mw_online") == [10] * 12
    assert_costs(result, {"unmet_demand": 18e6, "build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6,
                          "energy": 5.256e6, "opex": 1.2e6, "salvage": -17.5e6})
    assert result.objective_usd == pytest.approx(41_956_000, rel=REL)


def test_capex_timing_by_year_and_facility_multiplier():
    """Facility is paid at the decision at that year's price (times the site multiplier); GPUs and other IT when
    the module comes online, at that year's price.

    2026-2027, lead 12, demand 10,000 from 2027-01 only, energy and opex 0, facility life 10 years.
    Prices per MW: facility 2026 $1M / 2027 $3M; GPUs 2026 $4M / 2027 $2M; other IT 2026 $1M / 2027 $0.5M.
    Multiplier 1.5 on the facility only.
    Optimum: decide at t=0 (2026-01), online t=12 (2027-01).
      facility  10 MW x 1 (2026) x 1.5                         = 15   in 2026
      GPUs      10 MW x 2 (2027)                               = 20   in 2027
      other IT  10 MW x 0.5 (2027)                             =  5   in 2027
      salvage   at the horizon end (2028-01, prices flat after 2027), what is left at the lower of what it costs
                new then and what was paid: facility new 10 MW x 3 x 1.5 = 45, paid 15, 9 of 10 years left:
                15 x 0.9 = 13.5; IT new 25 = paid 25, 1 of 2 years left: 12.5                  = -26
      total                                                    = 14
    The facility's price tripled after it was bought; valued at $45M new, the plan would show a $13M profit, and
    a facility bought for its last month alone would cost less than nothing. The plan does not trade its
    assets, so a price rise is no gain.
    """
    inst = make_instance(
        horizon={"end": "2027-12"}, demand=training({"2026-01": 0, "2027-01": 10_000}),
        terrestrial=terrestrial(
            {"a": site(lead_time_months=12, electricity_usd_per_kwh=0, fixed_opex_usd_per_mw_month=0,
                       facility_cost_multiplier=1.5)},
            facility_usd_per_mw={2026: 1e6, 2027: 3e6}, gpus_usd_per_mw={2026: 4e6, 2027: 2e6},
            other_it_usd_per_mw={2026: 1e6, 2027: 5e5}, facility_life_years=10))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 23
    assert plan_of(result, "a", "mw_online") == [0] * 12 + [10] * 12
    assert_costs(result, {"build_facility": 15e6, "build_gpus": 20e6, "build_other_it": 5e6, "salvage": -26e6})
    assert cost_in_year(result, "build_facility", 2026) == pytest.approx(15e6, rel=REL)
    assert cost_in_year(result, "build_facility", 2027) == pytest.approx(0, abs=1e-3)
    assert cost_in_year(result, "build_gpus", 2026) == pytest.approx(0, abs=1e-3)
    assert cost_in_year(result, "build_gpus", 2027) == pytest.approx(20e6, rel=REL)
    assert cost_in_year(result, "build_other_it", 2027) == pytest.approx(5e6, rel=REL)
    assert result.objective_usd == pytest.approx(14e6, rel=REL)


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_energy_and_fixed_opex(period):
    """Energy = MW x PUE x 730 h x 1000 kW/MW x $/kWh per month; fixed opex per MW-month, on the MW online.

    PUE 1.25, $0.08/kWh: 1.25 x 730 x 1000 x 0.08 = $73,000 per MW-month; opex $20,000 per MW-month.
    Demand 10,000 all year, lead 0: one module online all 12 months (120 MW-months); monthly or quarterly
    periods give the same totals (a quarter is 3 months of each).
      energy    120 x 0.073                                    =  8.76
      opex      120 x 0.02                                     =  2.4
      capex     35; salvage after 1 year of 2: -17.5
      total                                                    = 28.66
    """
    inst = make_instance(horizon={"period": period}, demand=training({"2026-01": 10_000}),
                         terrestrial=terrestrial({"a": site(grid_power_mw=12.5, pue=1.25, electricity_usd_per_kwh=0.08,
                                                            fixed_opex_usd_per_mw_month=20_000)}))
    result = solve_exact(inst)
    n = 12 if period == "month" else 4
    assert plan_of(result, "a", "new_units") == [1] + [0] * (n - 1)
    assert plan_of(result, "a", "mw_online") == [10] * n
    assert_costs(result, {"build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6, "energy": 8.76e6,
                          "opex": 2.4e6, "salvage": -17.5e6})
    assert result.objective_usd == pytest.approx(28.66e6, rel=REL)


def test_salvage_of_a_late_build():
    """Demand 10,000 from 2026-10 (t=9) only, lead 0, facility life 20 years, GPU life 5 years.

    Optimum: 1 module decided and online at t=9 (earlier only adds running cost and depreciation; later loses 100).
      capex     10 + 20 + 5                                    = 35
      energy    3 x 0.438 = 1.314; opex 3 x 0.1 = 0.3
      salvage   age 3 months = 0.25 y: facility 10 x (1 - 0.25/20) = 9.875; IT 25 x (1 - 0.25/5) = 23.75
                                                              = -33.625
      total                                                    =  2.989
    """
    inst = make_instance(demand=training({"2026-01": 0, "2026-10": 10_000}),
                         terrestrial=terrestrial({"a": site()}, facility_life_years=20, gpu_life_years=5))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [0] * 9 + [1, 0, 0]
    assert_costs(result, {"build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6, "energy": 1.314e6,
                          "opex": 0.3e6, "salvage": -33.625e6})
    assert result.objective_usd == pytest.approx(2.989e6, rel=REL)


def test_salvage_is_discounted_from_the_horizon_end():
    """The case above at 10% a year: a cost at month t is discounted by d(t) = 1.1^(-t/12), the salvage by
    discount_end = 1.1^-1 (the value sits at the end of the 12-month horizon). With discounting, the remaining
    service of an asset of life n months, a months old, is the annuity share (1 - d^(n-a)) / (1 - d^n), d = d(1)
    (a new asset's price pays for n months of service, each worth the same rent):
      salvage = facility 10 x (1 - d^237) / (1 - d^240) + IT 25 x (1 - d^57) / (1 - d^60)   (age 3 months)
      total = (35 + 0.538) d(9) + 0.538 (d(10) + d(11)) - salvage / 1.1
    """
    inst = make_instance(horizon={"discount_rate_per_year": 0.1}, demand=training({"2026-01": 0, "2026-10": 10_000}),
                         terrestrial=terrestrial({"a": site()}, facility_life_years=20, gpu_life_years=5))
    result = solve_exact(inst)

    def d(t):
        return 1.1 ** (-t / 12)

    m = d(1)
    salvage = 10e6 * (1 - m ** 237) / (1 - m ** 240) + 25e6 * (1 - m ** 57) / (1 - m ** 60)
    assert salvage == pytest.approx(33.97e6, rel=1e-3)  # above the straight line (33.625): rent comes later
    assert plan_of(result, "a", "new_units") == [0] * 9 + [1, 0, 0]
    assert_costs(result, {"build_facility": 10e6 * d(9), "build_gpus": 20e6 * d(9), "build_other_it": 5e6 * d(9),
                          "energy": 0.438e6 * (d(9) + d(10) + d(11)), "opex": 0.1e6 * (d(9) + d(10) + d(11)),
                          "salvage": -salvage / 1.1})
    expected = 35.538e6 * d(9) + 0.538e6 * (d(10) + d(11)) - salvage / 1.1
    assert result.objective_usd == pytest.approx(expected, rel=REL)


def test_gpu_refresh_moves_a_module_onto_the_newest_generation():
    """2026-2028; gen2 (2,000 units per MW) is available from 2027-01. GPU life 1.25 years = 15 months.

    One module (grid 12 MW), lead 0, energy and opex 0, facility life 10 years. GPUs per MW 2026 $2M, 2027 $1M,
    2028 $0.8M; other IT 2026 $0.5M, 2027 $0.3M, 2028 $0.2M. Demand 10,000 until 2027-03, 20,000 from 2027-04.
    Optimum: decide at t=0 (gen1, 10,000 units). At t=15 (2027-04) the GPUs are refreshed onto gen2: 20,000 units,
    exactly the new demand. At t=30 (2028-07) refreshed again (gen2 to gen2, cost only).
      facility  10 (2026)
      GPUs      10 x 2 = 20, other IT 10 x 0.5 = 5 (2026)
      refresh   2027: 10 x (1 + 0.3) = 13; 2028: 10 x (0.8 + 0.2) = 10   = 23
      salvage   facility age 3 y: 10 x (1 - 3/10) = 7; IT bought t=30, age 0.5 y: 10 x (1 - 0.5/1.25) = 6  = -13
      unmet     0
      total                                                    = 45
    """
    inst = make_instance(
        horizon={"end": "2028-12"},
        hardware={"gen2": {"compute_units_per_mw": 2000, "available_from": "2027-01"}},
        demand=training({"2026-01": 10_000, "2027-04": 20_000}),
        terrestrial=terrestrial(
            {"a": site(electricity_usd_per_kwh=0, fixed_opex_usd_per_mw_month=0)},
            gpus_usd_per_mw={2026: 2e6, 2027: 1e6, 2028: 8e5}, other_it_usd_per_mw={2026: 5e5, 2027: 3e5, 2028: 2e5},
            facility_life_years=10, gpu_life_years=1.25))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 35
    assert plan_of(result, "a", "mw_online") == [10] * 36
    assert plan_of(result, "a", "compute_online_units") == [10_000] * 15 + [20_000] * 21
    assert result.demand["unmet_units"].sum() == 0
    assert_costs(result, {"build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6, "build_refresh": 23e6,
                          "salvage": -13e6})
    assert cost_in_year(result, "build_refresh", 2026) == pytest.approx(0, abs=1e-3)
    assert cost_in_year(result, "build_refresh", 2027) == pytest.approx(13e6, rel=REL)
    assert cost_in_year(result, "build_refresh", 2028) == pytest.approx(10e6, rel=REL)
    assert result.objective_usd == pytest.approx(45e6, rel=REL)


def test_capital_budget_limits_first_year_builds():
    """2026-2027, budget $40M of capital per calendar year; lead 0, so a module's $35M falls in one year.
    Demand 20,000 (two modules), room for 8, energy and opex 0.

    Without the budget both modules would be built at t=0. With it: one at t=0 (35 <= 40 in 2026), the second at
    t=12 (2027-01), the first month of the next budget year.
      capex     35 + 35                                        = 70
      unmet     10,000 x 12 months (2026) x $10,000            = 1200
      salvage   A online 24 of 24 months: 0; B 12 of 24: 17.5  = -17.5
      total                                                    = 1252.5
    """
    inst = make_instance(
        horizon={"end": "2027-12"}, demand=training({"2026-01": 20_000}), capital_budget_usd_per_year=40e6,
        terrestrial=terrestrial({"a": site(grid_power_mw=100, electricity_usd_per_kwh=0,
                                           fixed_opex_usd_per_mw_month=0)}))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [1] + [0] * 11 + [1] + [0] * 11
    assert_costs(result, {"build_facility": 20e6, "build_gpus": 40e6, "build_other_it": 10e6,
                          "unmet_demand": 1200e6, "salvage": -17.5e6})
    assert result.objective_usd == pytest.approx(1_252_500_000, rel=REL)


def test_no_hardware_in_time_means_nothing_is_built():
    """Yearly periods 2026-2027 whose first months are January; the only generation arrives 2027-06, after the first
    month of every period, so no module can ever come online: the builds module adds nothing and the audit copes.
    Demand 100 units for 24 months, all unmet: 100 x $10,000 x 24 = $24M."""
    inst = make_instance(
        horizon={"end": "2027-12", "period": "year"},
        hardware={"gen1": {"available_from": "2027-06"}},
        demand={"training": {"series_units": {"2026-01": 100}}},
        terrestrial={"build_costs": {"facility_usd_per_mw": 1, "gpus_usd_per_mw": 1, "other_it_usd_per_mw": 1,
                                     "facility_life_years": 20, "gpu_life_years": 5},
                     "sites": {"a": {"grid_power_mw": 100, "power_available": "2026-01", "module_mw": 10,
                                     "lead_time_months": 0, "pue": 1.2, "electricity_usd_per_kwh": 0.05,
                                     "fixed_opex_usd_per_mw_month": 0}}},
    )
    result = solve_optimal(inst)
    assert result.plan.empty
    assert result.objective_usd == pytest.approx(24e6, rel=1e-12)


def test_energy_is_charged_on_the_hours_at_full_load():
    """The energy test's site (PUE 1.25, $0.08/kWh: $73,000 per MW-month at full load) drawing full power half the
    hours (energy_utilization_share 0.5): $36,500 per MW-month, 120 MW-months = $4.38M; opex is per MW held and
    does not change ($20,000 x 120 = $2.4M)."""
    inst = make_instance(demand=training({"2026-01": 10_000}), terrestrial=terrestrial(
        {"a": site(pue=1.25, electricity_usd_per_kwh=0.08, fixed_opex_usd_per_mw_month=20_000,
                   grid_power_mw=12.5, energy_utilization_share=0.5)}))
    result = solve_exact(inst)
    assert plan_of(result, "a", "mw_online") == [10] * 12
    assert category(result, "energy") == pytest.approx(4.38e6, rel=REL)
    assert category(result, "opex") == pytest.approx(2.4e6, rel=REL)


@pytest.mark.parametrize(("fixed_cost", "modules"), [(50e6, 1), (2_000e6, 0)])
def test_a_site_cost_is_paid_once_when_the_lab_starts_there(fixed_cost, modules):
    """One module for 10,000 units all year: capex 35, salvage 17.5 (12 of 24 months left), energy 5.256, opex 1.2:
    $23.956M, against $1,200M unmet. A $50M site cost is paid once with the module: $73.956M. A $2,000M one is
    more than the demand is worth: no module, $1,200M."""
    inst = make_instance(demand=training({"2026-01": 10_000}),
                         terrestrial=terrestrial({"a": site(fixed_cost_usd=fixed_cost)}))
    result = solve_exact(inst)
    assert sum(plan_of(result, "a", "new_units")) == modules
    assert category(result, "programme") == pytest.approx(fixed_cost * modules, abs=1e-3)
    assert result.objective_usd == pytest.approx(73.956e6 if modules else 1_200e6, rel=REL)


GEN2 = {"gen1": {"compute_units_per_mw": 1000, "available_from": "2020-01"},
        "gen2": {"compute_units_per_mw": 2000, "available_from": "2027-01"}}


def test_modules_held_at_the_start_are_refreshed_when_their_gpus_are_due():
    """2026-2027 (24 months), facility life 4 years, GPU life 2 years, gen2 (2,000 units per MW) out from 2027-01.

    One 10 MW module of gen1 online since 2025-07, its GPUs bought then: the site (12 MW, one module) is full, and
    its $50M one-off cost is sunk. Its facility and first GPUs are sunk too. The GPUs are 6 months old at the
    start, so their 24-month life is out at t=18 (2027-07): refreshed to gen2 for 10 x (2 + 0.5) = 25.
    Demand 10,000 units, served all along (gen1: 10,000; gen2: 20,000).
      refresh   t=18: 25                                                        = 25
      energy    24 months x 0.438                                               = 10.512
      opex      24 months x 0.1                                                 =  2.4
      salvage   facility: at the lower of new at the end and new at the start (10), 30 of 48 months used:
                10 x 18/48 = 3.75; IT: bought at t=18, 6 of 24 months used: 25 x 18/24 = 18.75    = -22.5
      total                                                                     = 15.412
    """
    inst = make_instance(
        horizon={"end": "2027-12"}, hardware=GEN2, demand=training({"2026-01": 10_000}),
        terrestrial=terrestrial({"a": site(fixed_cost_usd=50e6, held_at_start=[
            {"modules": 1, "hardware": "gen1", "online_since": "2025-07"}])}, facility_life_years=4))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [0] * 24
    assert plan_of(result, "a", "mw_online") == [10] * 24
    assert plan_of(result, "a", "compute_online_units") == [10_000] * 18 + [20_000] * 6
    assert_costs(result, {"build_refresh": 25e6, "energy": 10.512e6, "opex": 2.4e6, "salvage": -22.5e6})
    assert category(result, "programme") == 0
    assert result.objective_usd == pytest.approx(15.412e6, rel=REL)


def test_modules_held_at_the_start_cost_the_same_on_a_quarterly_grid():
    """The case above by quarter: the refresh falls at quarter 6 (2027-07), exactly as by month, so the NPC is
    the same $15.412M and the compute runs 6 quarters on gen1, then 2 on gen2."""
    inst = make_instance(
        horizon={"end": "2027-12", "period": "quarter"}, hardware=GEN2, demand=training({"2026-01": 10_000}),
        terrestrial=terrestrial({"a": site(held_at_start=[
            {"modules": 1, "hardware": "gen1", "online_since": "2025-07"}])}, facility_life_years=4))
    result = solve_exact(inst)
    assert plan_of(result, "a", "compute_online_units") == [10_000] * 6 + [20_000] * 2
    assert result.objective_usd == pytest.approx(15.412e6, rel=REL)


def test_gpus_held_are_worth_nothing_past_their_facility():
    """The first case with the module online since 2024-01: its 4-year facility retires at t=24, the horizon end,
    so the GPUs refreshed at t=18 (a 2-year life) serve only until then and nothing is left at the end (valued
    over their own life they would be worth 25 x 18/24 = 18.75). Refresh 25 + energy 10.512 + opex 2.4 = 37.912."""
    inst = make_instance(
        horizon={"end": "2027-12"}, hardware=GEN2, demand=training({"2026-01": 10_000}),
        terrestrial=terrestrial({"a": site(held_at_start=[
            {"modules": 1, "hardware": "gen1", "online_since": "2024-01", "gpus_bought": "2025-07"}])},
            facility_life_years=4))
    result = solve_exact(inst)
    assert_costs(result, {"build_refresh": 25e6, "energy": 10.512e6, "opex": 2.4e6})
    assert result.objective_usd == pytest.approx(37.912e6, rel=REL)


def test_a_held_facility_is_valued_with_the_interest_a_new_one_waits_for():
    """2026 at 8% a year (d = 1.08^(-1/12) a month), lead time 6 months, no demand. One module online since
    2025-07 (facility life 4 years: 42 months left at the start, 30 at the end, 18 used) with its GPUs of then (2
    years: 6 months left at the end, no refresh). Energy and opex 0.538 a month, paid at each month's start. At
    the end, as a new module's: the facility at 10 x (1 - d^30)/(1 - d^48), divided by d^6 (a new one paid then
    serves only after the 6-month lead), the IT at 25 x (1 - d^6)/(1 - d^24), both discounted d^12 from the end."""
    inst = make_instance(
        horizon={"discount_rate_per_year": 0.08},
        terrestrial=terrestrial({"a": site(lead_time_months=6, held_at_start=[
            {"modules": 1, "hardware": "gen1", "online_since": "2025-07"}])}, facility_life_years=4))
    result = solve_exact(inst)
    d = 1.08 ** (-1 / 12)
    running = sum(d**t for t in range(12))
    salvage = d**12 * (10e6 * (1 - d**30) / (1 - d**48) / d**6 + 25e6 * (1 - d**6) / (1 - d**24))
    assert_costs(result, {"energy": 0.438e6 * running, "opex": 0.1e6 * running, "salvage": -salvage})


def test_modules_held_retire_with_their_facility():
    """2026, facility life 4 years, GPU life 2 years, a site with room for two modules (25 MW), lead 0.

    One module online since 2022-07: its facility has 6 months left, so it retires at t=6 (2026-07); its GPUs,
    refreshed in 2025-01, would be due at t=12, after that, so no refresh. Demand 10,000 all year: a new module is
    decided at t=6 (earlier would run two; later leaves $100M a month unmet). Nothing held is left at the end.
      new module  facility 10 + GPUs 20 + other IT 5                            = 35
      energy      12 months x 0.438 (held t=0..5, new t=6..11)                  =  5.256
      opex        12 months x 0.1                                               =  1.2
      salvage     the new one, 6 months used: facility 10 x 42/48 + IT 25 x 18/24 = -27.5
      total                                                                     = 13.956
    """
    inst = make_instance(
        demand=training({"2026-01": 10_000}),
        terrestrial=terrestrial({"a": site(grid_power_mw=25, held_at_start=[
            {"modules": 1, "hardware": "gen1", "online_since": "2022-07", "gpus_bought": "2025-01"}])},
            facility_life_years=4))
    result = solve_exact(inst)
    assert plan_of(result, "a", "new_units") == [0] * 6 + [1] + [0] * 5
    assert plan_of(result, "a", "mw_online") == [10] * 12
    assert_costs(result, {"build_facility": 10e6, "build_gpus": 20e6, "build_other_it": 5e6, "energy": 5.256e6,
                          "opex": 1.2e6, "salvage": -27.5e6})
    assert category(result, "build_refresh") == 0
    assert result.objective_usd == pytest.approx(13.956e6, rel=REL)


@pytest.mark.parametrize(("held", "message"), [
    ({"modules": 1, "hardware": "gen1", "online_since": "2026-01"},
     "terrestrial.sites.a.held_at_start.0.online_since: expected a month before the horizon start 2026-01"),
    ({"modules": 1, "hardware": "gen1", "online_since": "2021-12"},
     "held_at_start.0.online_since: a 4-year facility life from 2021-12 is over by the horizon start"),
    ({"modules": 1, "hardware": "gen1", "online_since": "2025-01", "gpus_bought": "2023-12"},
     "held_at_start.0.gpus_bought: 2023-12 precedes online_since 2025-01"),
    ({"modules": 1, "hardware": "gen1", "online_since": "2023-01", "gpus_bought": "2023-12"},
     "held_at_start.0.gpus_bought: a 2-year GPU life .* is over by the horizon start"),
    ({"modules": 2, "hardware": "gen1", "online_since": "2025-01"},
     "held_at_start: 2 modules of 10 MW at pue 1.2 exceed grid_power_mw 12"),
    ({"modules": 1, "hardware": "gen9", "online_since": "2025-01"}, "held_at_start.0.hardware"),
])
def test_bad_modules_held_are_input_errors(held, message):
    with pytest.raises(ValueError, match=message):
        make_instance(terrestrial=terrestrial({"a": site(held_at_start=[held])}, facility_life_years=4))
