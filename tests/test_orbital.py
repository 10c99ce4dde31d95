"""Orbital compute: one small case per constraint family, each optimum worked out by hand.

Unless a test says otherwise (see :func:`orbital`):

* one satellite class ``sat`` of 1,000 kW (1 MW of gen1: 1,000 units) and 500 kg, hardware $1/W ($1M), GPUs $2/W
  ($2M), on the vehicle ``rocket``: payload 1 t, one flight a month, $1,000/kg (a launch costs $0.5M), so a
  satellite's capital is $3.5M;
* life 5 years = 60 months, no degradation and no failures, in sunlight all the time;
* opex $100 per kW-month = $0.1M per satellite-month;
* training demand; unmet costs $10,000 per unit-month = $10M per satellite-month of missing capacity;
* salvage of a satellite launched at period t, at the end of an n-period horizon: its remaining output at what a
  new satellite costs then, new x sum_{a >= n-t} q_a / sum_a q_a for output q_a = rho^a over its life (rho the
  per-period survival, 1 here); with no decay, flat prices and no discounting, capital x (1 - (n - t)/life).

No discounting, so every total is an exact sum. Money in the comments is in $M.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import assert_costs, category, make_instance, plan_of, training
from pyomo.environ import value

from solver.solve import Planner

REL = 1e-9


def orbital(vehicle: dict | None = None, **sat_changes: Any) -> dict:
    rocket = {"payload_t": 1, "flights_per_month": 1, "earliest_launch": "2026-01", "launch_price_usd_per_kg": 1000}
    sat = {"hardware": "gen1", "launch_vehicle": "rocket", "compute_kw": 1000, "mass_kg": 500,
           "hardware_usd_per_w": 1, "gpus_usd_per_w": 2, "earliest_launch": "2026-01", "life_years": 5,
           "degradation_per_year": 0, "failure_rate_per_year": 0, "opex_usd_per_kw_month": 100, "sunlight_share": 1}
    return {"launch_vehicles": {"rocket": rocket | (vehicle or {})}, "satellite_classes": {"sat": sat | sat_changes}}




def solve_exact(instance):
    """Solve to a zero gap (so the plan is the optimum, not one within 1e-4); also return the flights per vehicle."""
    planner = Planner(instance)
    result = planner.solve(mip_gap=0.0)
    assert result.status == "optimal", (result.status, result.message)
    assert result.audit["relative_difference"] < 1e-6
    m, n = planner.model, planner.parts.grid.n_periods
    vehicle_of = {k: sat.launch_vehicle for k, sat in instance.orbital.satellite_classes.items()}
    flights = {v: [round(sum(value(m.orbit_flights[k, t]) for k in vehicle_of if vehicle_of[k] == v))
                   for t in range(n)] for v in sorted(set(vehicle_of.values()))}
    return result, flights






def test_launch_cadence_caps_satellites_per_month():
    """300 kg satellites, payload 1 t, 3 flights a month: floor(1000/300) = 3 per flight, 9 a month (the mass alone,
    3 t / 0.3 t, would allow 10). Demand 120,000 units: more than 9 x 12 satellites can serve.

    Launch cost 0.3 t x $1,000/kg = 0.3, capital 3.3 per satellite. Every launch pays (even at t=11 it saves 10 for
    0.1 opex + 3.3/60 depreciation), so 9 a month, on 3 flights each month. Fleet at t = 9 (t + 1).
      satellites  108: launch 32.4, hardware 108, GPUs 216
      opex        satellite-months 9 x (1 + ... + 12) = 702: 70.2
      salvage     9 x 3.3 x sum_t (1 - (12 - t)/60) = 29.7 x (12 - 78/60) = 29.7 x 10.7   = -317.79
      unmet       (120,000 x 12 - 702 x 1,000) x $10,000 = 738,000 x 0.01                   = 7380
      total                                                                                  = 7488.81
    """
    inst = make_instance(demand=training({"2026-01": 120_000}),
                         orbital=orbital({"flights_per_month": 3}, mass_kg=300))
    result, flights = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [9] * 12
    assert flights == {"rocket": [3] * 12}
    assert plan_of(result, "sat", "mw_online") == [9 * (t + 1) for t in range(12)]
    assert_costs(result, {"launch": 32.4e6, "satellite_hardware": 108e6, "satellite_gpus": 216e6, "opex": 70.2e6,
                          "salvage": -317.79e6, "unmet_demand": 7380e6})
    assert result.objective_usd == pytest.approx(7488.81e6, rel=REL)
    assert ((result.binding["family"] == "launch cadence") & (result.binding["periods"] == "2026-01..2026-12")).any()


@pytest.mark.parametrize(("period", "expected"), [
    ("month", [0, 1] * 12),  # the rate adds up to a whole flight every second month
    ("quarter", [1, 2] * 4),  # 1.5 flights a quarter: floor(1.5) = 1, floor(3) - 1 = 2, floor(4.5) - 3 = 1...
    ("year", [6, 6]),
])
def test_half_a_flight_a_month_is_a_flight_every_second_month(period, expected):
    """0.5 flights a month over 24 months is 12 flights, on any grid (rounding each month down gave none). Demand
    of 10^6 units (1,000 satellites) makes every slot worth flying, the last one too: a satellite launched in
    2027-12 saves $10M of unmet demand that month for $0.1M of opex and 3.5/60 = $0.06M of capital net of its
    salvage. Two 500 kg satellites a 1 t flight."""
    inst = make_instance(horizon={"end": "2027-12", "period": period}, demand=training({"2026-01": 1_000_000}),
                         orbital=orbital({"flights_per_month": 0.5}))
    result, flights = solve_exact(inst)
    assert flights == {"rocket": expected}
    assert plan_of(result, "sat", "new_units") == [2 * f for f in expected]


def test_a_cadence_schedule_is_a_rate_in_every_year():
    """{2026: 0.5, 2027: 2.5} flights a month: 6 flights in 2026 (none if each month were rounded down), one
    every second month; then 2.5 a month, from 6 by the end of 2026: floor(8.5) - 6 = 2, floor(11) - 8 = 3, ...
    alternately 2 and 3, 30 in 2027."""
    from models.orbital import flight_slots
    from solver.timegrid import TimeGrid

    grid = TimeGrid(make_instance(horizon={"end": "2027-12"}).horizon)
    slots = flight_slots(grid, {2026: 0.5, 2027: 2.5})
    assert slots.tolist() == [0, 1] * 6 + [2, 3] * 6


def test_launch_cadence_grows_by_year():
    """2026-2027, flights per month 1 in 2026 and 2 in 2027; 2 satellites per flight (500 kg in 1 t): 2 a month in
    2026, 4 a month in 2027. Demand 200,000 units, far above the fleet.
      satellites  24 + 48 = 72: launch 36, hardware 72, GPUs 144
      opex        satellite-months: 2026 sum 2(t+1) = 156; 2027 sum (24 + 4j), j=1..12 = 288 + 312 = 600: 75.6
      salvage     2026: 7 x sum_{t<12} (1 - (24-t)/60) = 7 x (12 - 222/60) = 58.1
                  2027: 14 x sum_{t>=12} (1 - (24-t)/60) = 14 x (12 - 78/60) = 149.8      = -207.9
      unmet       (200,000 x 24 - 756,000) x $10,000 = 4,044,000 x 0.01                   = 40440
      total                                                                               = 40559.7
    """
    inst = make_instance(horizon={"end": "2027-12"}, demand=training({"2026-01": 200_000}),
                         orbital=orbital({"flights_per_month": {2026: 1, 2027: 2}}))
    result, flights = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [2] * 12 + [4] * 12
    assert flights == {"rocket": [1] * 12 + [2] * 12}
    assert_costs(result, {"launch": 36e6, "satellite_hardware": 72e6, "satellite_gpus": 144e6, "opex": 75.6e6,
                          "salvage": -207.9e6, "unmet_demand": 40440e6})
    assert result.objective_usd == pytest.approx(40559.7e6, rel=REL)


def test_classes_sharing_a_vehicle_cannot_split_a_satellite_across_flights():
    """Two classes of 600 kg each on a 1 t rocket with 2 flights a month: a flight carries ONE satellite (two would
    be 1.2 t), so at most 2 satellites a month in all, whatever the classes.

    One month (2026-01), life 1 year, demand 10,000 units. Capital per satellite 0.6 + 1 + 2 = 3.6, salvage after
    1 month of 12: 3.6 x 11/12 = 3.3, opex 0.1: a satellite costs 0.4 net and saves 10, so launch the maximum, 2.
      capital 7.2, opex 0.2, salvage -6.6, unmet 8,000 x $10,000 = 80       total = 80.8
    (Counting only the total mass, 2 flights x 1 t, would let 3 satellites fly, for a total of 71.2.)
    """
    sats = orbital({"flights_per_month": 2}, mass_kg=600, life_years=1)
    sats["satellite_classes"]["twin"] = dict(sats["satellite_classes"]["sat"])
    inst = make_instance(horizon={"end": "2026-01"}, demand=training({"2026-01": 10_000}), orbital=sats)
    result, flights = solve_exact(inst)
    launched = plan_of(result, "sat", "new_units")[0] + plan_of(result, "twin", "new_units")[0]
    assert launched == 2
    assert flights == {"rocket": [2]}
    assert_costs(result, {"launch": 1.2e6, "satellite_hardware": 2e6, "satellite_gpus": 4e6, "opex": 0.2e6,
                          "salvage": -6.6e6, "unmet_demand": 80e6})
    assert result.objective_usd == pytest.approx(80.8e6, rel=REL)


def test_launch_cadence_is_not_reported_binding_in_months_without_launches():
    """One satellite (demand 1,000 units) launched at t=0 on a rocket allowed 1 flight a month; nothing flies in
    2026-02..2026-12, so the cadence limits nothing there and "what binds" must not list those months.

    (Flights cost nothing in the model, so an optimal solution may set the flight count of an empty month to its cap;
    the report then reads the cap as binding.) Cost, for completeness: 3.5 + 12 x 0.1 - 3.5 x (1 - 12/60) = 1.9.
    """
    inst = make_instance(demand=training({"2026-01": 1_000}), orbital=orbital())
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [1] + [0] * 11
    assert result.objective_usd == pytest.approx(1.9e6, rel=REL)
    cadence = result.binding[result.binding["family"] == "launch cadence"]
    assert cadence.empty or cadence["periods"].tolist() == ["2026-01"], cadence.to_dict("records")


@pytest.mark.parametrize(("class_earliest", "vehicle_earliest"), [("2026-07", "2026-04"), ("2026-04", "2026-07")])
def test_earliest_launch_is_the_later_of_class_and_vehicle(class_earliest, vehicle_earliest):
    """Earliest launch of the class and of its vehicle: 2026-04 and 2026-07 either way round, so the first launch
    is 2026-07 (t=6). Demand 1,000 units (one satellite) from t=0.
      unmet     6 months x 10                              = 60
      capital   0.5 + 1 + 2                                =  3.5
      opex      6 x 0.1                                    =  0.6
      salvage   3.5 x (1 - 6/60)                           = -3.15
      total                                                = 60.95
    """
    inst = make_instance(demand=training({"2026-01": 1_000}),
                         orbital=orbital({"earliest_launch": vehicle_earliest}, earliest_launch=class_earliest))
    result, flights = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [0] * 6 + [1] + [0] * 5
    assert plan_of(result, "sat", "mw_online") == [0] * 6 + [1] * 6
    assert flights["rocket"][:7] == [0] * 6 + [1]  # no flight before 2026-07; later ones are free and empty
    assert_costs(result, {"unmet_demand": 60e6, "launch": 0.5e6, "satellite_hardware": 1e6, "satellite_gpus": 2e6,
                          "opex": 0.6e6, "salvage": -3.15e6})
    assert result.objective_usd == pytest.approx(60.95e6, rel=REL)


def test_satellites_retire_at_end_of_life():
    """2026-2027, life 1 year (12 months), demand 1,000 units (one satellite) all along, flights 1 a month in 2026
    and none in 2027.

    A satellite launched at t serves t..t+11 and is gone at t+12. Cover t=0..22 with two launches, t=0 and t=11
    (the last month one can fly); t=23 is unmet. Fleet: 1 for t=0..10, 2 at t=11, 1 for t=12..22, 0 at t=23.
      capital   2 x 3.5 = 7 (launch 1, hardware 2, GPUs 4)
      opex      24 satellite-months x 0.1                  =  2.4
      salvage   both older than 12 months                  =  0
      unmet     1 month x 10                               = 10
      total                                                = 19.4
    """
    inst = make_instance(horizon={"end": "2027-12"}, demand=training({"2026-01": 1_000}),
                         orbital=orbital({"flights_per_month": {2026: 1, 2027: 0}}, life_years=1))
    result, flights = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [1] + [0] * 10 + [1] + [0] * 12
    assert plan_of(result, "sat", "mw_online") == [1] * 11 + [2] + [1] * 11 + [0]
    assert_costs(result, {"launch": 1e6, "satellite_hardware": 2e6, "satellite_gpus": 4e6, "opex": 2.4e6,
                          "unmet_demand": 10e6})
    assert result.objective_usd == pytest.approx(19.4e6, rel=REL)


def test_fleet_decays_by_degradation_and_failures():
    """Degradation 10% and failures 10% a year: rho = (0.9 x 0.9)^(1/12) = 0.81^(1/12) per month, and a cohort of n
    is worth n rho^k after k months (0.81 n after a year).

    2026-2027, class earliest launch 2026-12 (t=11), 2 flights a month in 2026 and none in 2027, 2 satellites per
    flight: 4 satellites at t=11, no other launch possible. Demand 10,000 units, above the fleet.
    Fleet at t = 11 + k: 4 rho^k (k = 0..12). With S = sum_{k=0..12} rho^k:
      capital   4 x 3.5                                    = 14
      opex      0.1 x 4 S (on the decayed fleet)           =  0.4 S
      salvage   13 months old: 14 x (rho^13 - rho^60) / (1 - rho^60) (the output it has left of its life's)
      unmet     (10,000 x 24 - 4,000 S) x $10,000          = 2400 - 40 S
    """
    inst = make_instance(horizon={"end": "2027-12"}, demand=training({"2026-01": 10_000}),
                         orbital=orbital({"flights_per_month": {2026: 2, 2027: 0}}, earliest_launch="2026-12",
                                         degradation_per_year=0.1, failure_rate_per_year=0.1))
    result, flights = solve_exact(inst)
    rho = 0.81 ** (1 / 12)
    s = sum(rho**k for k in range(13))
    assert plan_of(result, "sat", "new_units") == [0] * 11 + [4] + [0] * 12
    assert flights == {"rocket": [0] * 11 + [2] + [0] * 12}
    fleet_mw = plan_of(result, "sat", "mw_online")
    assert fleet_mw == pytest.approx([0] * 11 + [4 * rho**k for k in range(13)], abs=1e-6)
    assert fleet_mw[-1] == pytest.approx(4 * 0.81, abs=1e-6)
    salvage = 14e6 * (rho**13 - rho**60) / (1 - rho**60)
    assert salvage == pytest.approx(9.61e6, rel=1e-3)  # below the straight line (14 x 47/60 = 10.97): it decays
    assert_costs(result, {"launch": 2e6, "satellite_hardware": 4e6, "satellite_gpus": 8e6, "opex": 0.4e6 * s,
                          "salvage": -salvage, "unmet_demand": 2400e6 - 40e6 * s})
    assert result.objective_usd == pytest.approx(14e6 + 0.4e6 * s - salvage + 2400e6 - 40e6 * s, rel=REL)


def test_launch_price_schedule_is_interpolated_between_years():
    """2026-2028, launch price $3,000/kg in 2026 and $1,000/kg in 2028: $2,000/kg in 2027. Life 1 year; demand
    1,000 units in 2027 only.

    Launch at t=12 (2027-01): 500 kg x $2,000 = 1. (Launching at t=11 at $3,000/kg would leave t=23 unmet.)
      launch 1, hardware 1, GPUs 2, opex 12 x 0.1 = 1.2, salvage 0 (24 months old at the end)   total = 5.2
    """
    inst = make_instance(horizon={"end": "2028-12"}, demand=training({"2026-01": 0, "2027-01": 1_000, "2028-01": 0}),
                         orbital=orbital({"launch_price_usd_per_kg": {2026: 3000, 2028: 1000}}, life_years=1))
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [0] * 12 + [1] + [0] * 23
    assert_costs(result, {"launch": 1e6, "satellite_hardware": 1e6, "satellite_gpus": 2e6, "opex": 1.2e6})
    assert result.objective_usd == pytest.approx(5.2e6, rel=REL)


def test_launch_price_learning_curve_with_floor():
    """Learning curve: p0 = $2,000/kg at M0 = 1,000 t, industry 12,000 t a year (1,000 t a month), 20% cheaper per
    doubling, floor $1,100/kg. At period t the cumulative mass is 1,000 (1 + t) t and the price is
    2000 x 0.8^log2(1 + t): t=3 -> 2 doublings -> $1,280/kg; t=7 -> 3 doublings -> $1,024/kg, floored to $1,100.

    Demand 1,000 units from 2026-04 (t=3), 2,000 from 2026-08 (t=7): one launch at t=3 and one at t=7 (earlier
    costs more: a dearer launch, more opex, less salvage).
      launch    500 kg x (1,280 + 1,100) $/kg              = 0.64 + 0.55 = 1.19
      hardware  2, GPUs 4
      opex      (9 + 5) satellite-months x 0.1             = 1.4
      salvage   at what a new satellite costs at the horizon end (t=12: 13,000 t, 2,000 x 0.8^log2(13) = $876/kg,
                floored to $1,100: 3.55), 9 and 5 months old of 60: 3.55 x (51 + 55)/60  = -6.2716666...
      total                                                = 2.3183333...
    """
    curve = {"initial_price_usd_per_kg": 2000, "initial_cumulative_mass_t": 1000, "industry_mass_t_per_year": 12_000,
             "price_drop_per_doubling": 0.2, "floor_usd_per_kg": 1100}
    inst = make_instance(demand=training({"2026-01": 0, "2026-04": 1_000, "2026-08": 2_000}),
                         orbital=orbital({"launch_price_usd_per_kg": None, "learning_curve": curve}))
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    salvage = 3.55e6 * (51 + 55) / 60
    assert_costs(result, {"launch": 1.19e6, "satellite_hardware": 2e6, "satellite_gpus": 4e6, "opex": 1.4e6,
                          "salvage": -salvage})
    assert result.objective_usd == pytest.approx(8.59e6 - salvage, rel=REL)


def test_sunlight_share_scales_compute_and_unit_costs_per_watt():
    """500 kW satellites of 100 kg in sunlight 40% of the time: 0.5 MW x 1,000 x 0.4 = 200 units each, so demand
    1,000 units takes exactly 5 satellites (10 fit in one flight), launched at t=0.
    Per satellite: launch 100 kg x $1,000 = 0.1; hardware $1.5/W x 500 kW = 0.75; GPUs $3/W x 500 kW = 1.5;
    opex $100 x 500 kW = 0.05 a month.
      launch 0.5, hardware 3.75, GPUs 7.5
      opex      5 x 12 x 0.05                              =  3
      salvage   5 x 2.35 x (1 - 12/60)                     = -9.4
      total                                                =  5.35
    (A fifth satellite costs 2.35 x 12/60 + 0.6 = 1.07 and saves 200 x 12 x $10,000 = 24.)
    """
    inst = make_instance(demand=training({"2026-01": 1_000}),
                         orbital=orbital(compute_kw=500, mass_kg=100, sunlight_share=0.4, hardware_usd_per_w=1.5,
                                         gpus_usd_per_w=3))
    result, flights = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [5] + [0] * 11
    assert plan_of(result, "sat", "mw_online") == [2.5] * 12
    assert plan_of(result, "sat", "compute_online_units") == [1000] * 12
    assert flights["rocket"][0] == 1
    assert result.demand["unmet_units"].sum() == 0
    assert_costs(result, {"launch": 0.5e6, "satellite_hardware": 3.75e6, "satellite_gpus": 7.5e6, "opex": 3e6,
                          "salvage": -9.4e6})
    assert result.objective_usd == pytest.approx(5.35e6, rel=REL)


@pytest.mark.parametrize("rate", [0.0, 0.1])
def test_salvage_of_a_late_launch(rate):
    """Demand 1,000 units from 2026-10 (t=9), life 1 year = 12 months: one launch at t=9, 3 months old at the end.
      capital 3.5 at t=9; opex 0.1 at t=9, 10, 11; salvage: 9 of its 12 months of service left, at the price of a
      new one (3.5), each month's service worth the same rent: 3.5 x (1 - d^9) / (1 - d^12), d = d(1) the
      monthly discount factor; undiscounted 3.5 x 9/12 = 2.625.
    Undiscounted: 3.5 + 0.3 - 2.625 = 1.175. At 10% a year: d(t) = 1.1^(-t/12), the salvage at 1.1^-1:
      3.5 d(9) + 0.1 (d(9) + d(10) + d(11)) - salvage / 1.1
    """
    inst = make_instance(horizon={"discount_rate_per_year": rate}, demand=training({"2026-01": 0, "2026-10": 1_000}),
                         orbital=orbital(life_years=1))
    result, _ = solve_exact(inst)

    def d(t):
        return (1 + rate) ** (-t / 12)

    salvage = 3.5e6 * (1 - d(9)) / (1 - d(12)) if rate else 2.625e6
    assert plan_of(result, "sat", "new_units") == [0] * 9 + [1, 0, 0]
    assert_costs(result, {"launch": 0.5e6 * d(9), "satellite_hardware": 1e6 * d(9), "satellite_gpus": 2e6 * d(9),
                          "opex": 0.1e6 * (d(9) + d(10) + d(11)), "salvage": -salvage / (1 + rate)})
    if rate == 0:
        assert result.objective_usd == pytest.approx(1.175e6, rel=REL)
    assert result.objective_usd == pytest.approx(
        3.5e6 * d(9) + 0.1e6 * (d(9) + d(10) + d(11)) - salvage / (1 + rate), rel=REL)


def test_decay_and_life_with_quarterly_periods():
    """Quarterly periods: rho = 0.81^(3/12) = 0.81^(1/4) per quarter; the 5-year life is 20 quarters.
    Degradation and failures 10% a year, 2026-2027 (8 quarters). Class earliest launch 2026-10 (t=3, 2026-Q4),
    1 flight a month in 2026 (3 a quarter) and none in 2027, 2 satellites a flight: 6 satellites at t=3 is the
    only launch possible, and demand 10,000 units keeps all of them useful.
    Fleet at t = 3 + k: 6 rho^k (k = 0..4), 6 x 0.81 = 4.86 a year after launch. With S = sum_{k=0..4} rho^k:
      capital   6 x 3.5 (launch 3, hardware 6, GPUs 12)                      = 21
      opex      $100 x 1,000 kW x 3 months = 0.3 per satellite-quarter      = 1.8 S
      salvage   5 quarters old of 20: 21 x (rho^5 - rho^20) / (1 - rho^20)  (the decayed output it has left)
      unmet     (10,000 x 3 x 8 - 6 x 1,000 x 3 x S) x $10,000               = 2400 - 180 S
    """
    inst = make_instance(horizon={"period": "quarter", "end": "2027-12"}, demand=training({"2026-01": 10_000}),
                         orbital=orbital({"flights_per_month": {2026: 1, 2027: 0}}, earliest_launch="2026-10",
                                         degradation_per_year=0.1, failure_rate_per_year=0.1))
    result, flights = solve_exact(inst)
    rho = 0.81 ** 0.25
    s = sum(rho**k for k in range(5))
    assert plan_of(result, "sat", "new_units") == [0, 0, 0, 6, 0, 0, 0, 0]
    assert flights == {"rocket": [0, 0, 0, 3, 0, 0, 0, 0]}
    assert plan_of(result, "sat", "mw_online") == pytest.approx([0, 0, 0] + [6 * rho**k for k in range(5)], abs=1e-6)
    assert plan_of(result, "sat", "mw_online")[-1] == pytest.approx(4.86, abs=1e-6)
    salvage = 21e6 * (rho**5 - rho**20) / (1 - rho**20)
    assert_costs(result, {"launch": 3e6, "satellite_hardware": 6e6, "satellite_gpus": 12e6, "opex": 1.8e6 * s,
                          "salvage": -salvage, "unmet_demand": 2400e6 - 180e6 * s})
    assert result.objective_usd == pytest.approx(21e6 + 1.8e6 * s - salvage + 2400e6 - 180e6 * s, rel=REL)


# The end-of-horizon rule against the three effects of straight-line book value (docs/formulation.md section 8).

def test_no_satellite_for_a_one_month_need_in_december():
    """A satellite losing half its output a year (rho = 0.5^(1/12) a month), for 1,000 units needed in December
    only, unmet at $250 per unit-month: $0.25M.

    Its 60 months deliver S = sum_{a<60} rho^a = (1 - 0.5^5) / (1 - rho) = 17.26 months of full output, and its
    December month is 1/S = 5.8% of that. At the horizon end it is worth what is left, (S - 1)/S of a new one
    ($3.5M: prices are flat), so December costs 3.5/S + opex 0.1 = $0.303M > $0.25M: leave it unmet. (Book
    value, 3.5 x 59/60, charged December 3.5/60 + 0.1 = $0.158M and launched.)
    """
    inst = make_instance(demand=training({"2026-01": 0, "2026-12": 1_000}, penalty=250),
                         orbital=orbital(degradation_per_year=0.5))
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [0] * 12
    assert result.objective_usd == pytest.approx(0.25e6, rel=REL)


def test_no_early_buy_at_a_high_launch_price():
    """2026-2027, launch $10,000/kg in 2026 and $1,000/kg in 2027 (a satellite $8.5M, then $3.5M); 1,000 units
    needed in 2026 only, unmet at $400 per unit-month ($4.8M for the year); no opex.

    A satellite launched at month t of 2026 is worth, at the horizon end, what a new one costs then times the
    service it has left: 3.5 x (36 + t)/60. Its net cost 8.5 - 3.5 (36 + t)/60 (6.4 at t=0) exceeds what it saves,
    0.4 (12 - t), for every t: leave 2026 unmet, $4.8M. (Book value on the $8.5M paid, 8.5 x (36 + t)/60, made the
    launch at t=0 cost 3.4 and won.)
    """
    inst = make_instance(horizon={"end": "2027-12"},
                         demand=training({"2026-01": 1_000, "2027-01": 0}, penalty=400),
                         orbital=orbital({"launch_price_usd_per_kg": {2026: 10_000, 2027: 1_000}},
                                         opex_usd_per_kw_month=0))
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [0] * 24
    assert result.objective_usd == pytest.approx(4.8e6, rel=REL)


def test_no_wash_trade_of_a_satellite_against_resold_contract_capacity():
    """1,000 units all year on one 1 MW contract block (12-month term, $0.3M per MW-month: $3.6M); resale at $250
    per unit-month ($0.25M per MW-month of gen1); a satellite losing half its output a year.

    A satellite launched to free contract MW for resale, held k months, earns 0.25 x sum_{a<k} rho^a and costs
    opex 0.1 x sum_{a<k} rho^a plus the value it loses, 3.5 x (1 - rho^k)/(1 - rho^60) = (3.5/S) sum_{a<k} rho^a
    (S = 17.26, as above): a net loss of (0.203 + 0.1 - 0.25) x sum_{a<k} rho^a for every k. So no satellite and
    no resale: $3.6M. (Book value charged 3.5 k/60, so a satellite in December earned 0.25 - 0.158 and was
    launched only to resell the MW it freed.) Buying a second block to resell loses too ($0.3M > $0.25M).
    """
    inst = make_instance(demand=training({"2026-01": 1_000}),
                         hyperscaler_contracts={"cloud": {"hardware": "gen1", "ramp_mw": {"2026-01": 1},
                                                          "block_mw": 1, "min_term_months": 12,
                                                          "price_usd_per_mw_month": 300_000}},
                         resale={"price_usd_per_unit_month": 250, "market_cap_mw": 10},
                         orbital=orbital(degradation_per_year=0.5))
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [0] * 12
    assert plan_of(result, "cloud", "mw_resold") == [0] * 12
    assert result.objective_usd == pytest.approx(3.6e6, rel=REL)


# --- costs the published comparisons include: operations on installed hardware, a price per flight -------------

@pytest.mark.parametrize(("degradation", "units"), [(0.0, 1_000), (0.5, 500)])
def test_operations_as_a_share_of_installed_hardware(degradation, units):
    """Operations at 12% a year of the satellite's hardware and GPUs ($3M): $0.36M a year, $0.03M a month per
    satellite in orbit, whatever its output has decayed to (the opex per kW is on the decayed output). One
    satellite serves the demand all year in both cases (at 50% a year it still gives 1,000 x 0.5^(11/12) = 530 >
    500 units in December): operations 12 x $0.03M = $0.36M."""
    inst = make_instance(demand=training({"2026-01": units}),
                         orbital=orbital(degradation_per_year=degradation, ops_share_of_hardware_per_year=0.12))
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == [1] + [0] * 11
    assert category(result, "satellite_ops") == pytest.approx(0.36e6, rel=REL)
    rho = (1 - degradation) ** (1 / 12)
    assert category(result, "opex") == pytest.approx(0.1e6 * sum(rho**a for a in range(12)), rel=REL)


@pytest.mark.parametrize(("satellites", "flights"), [(1, 1), (2, 1), (3, 2)])
def test_a_price_per_flight_is_paid_per_flight(satellites, flights):
    """$2M a flight on top of $1,000/kg, two flights a month; a flight carries two 500 kg satellites: 1 or 2
    satellites in January need one flight ($2M), 3 need two ($4M)."""
    inst = make_instance(demand=training({"2026-01": 1_000 * satellites}),
                         orbital=orbital({"launch_price_usd_per_flight": 2e6, "flights_per_month": 2}))
    result, used = solve_exact(inst)
    assert plan_of(result, "sat", "new_units")[0] == satellites
    assert used["rocket"][0] == flights
    assert category(result, "launch_flights") == pytest.approx(2e6 * flights, rel=REL)
    assert category(result, "launch") == pytest.approx(0.5e6 * satellites, rel=REL)


@pytest.mark.parametrize(("programme", "expected"), [(100e6, 100e6 + 3 * 0.812e6), (500e6, 3 * 120e6)])
def test_an_orbital_programme_cost_is_paid_once_if_orbit_is_used(programme, expected):
    """The one-off satellite of test_periods_and_budget ($0.812M net a satellite-year) for 3,000 units all year,
    whose unmet cost is 3 x $120M = $360M. A $100M programme cost is paid once and the three satellites fly:
    $102.44M; a $500M one is not worth it: no launch, $360M."""
    from test_periods_and_budget import orbital as ten_a_flight

    inst = make_instance(demand=training({"2026-01": 3_000}),
                         orbital=ten_a_flight() | {"programme_cost_usd": programme})
    result, _ = solve_exact(inst)
    assert sum(plan_of(result, "sat", "new_units")) == (3 if programme < 360e6 else 0)
    assert category(result, "programme") == pytest.approx(programme if programme < 360e6 else 0.0, abs=1e-3)
    assert result.objective_usd == pytest.approx(expected, rel=REL)


def test_satellites_held_at_the_start_decay_and_retire_from_their_launch():
    """2026, degradation 10% a year, operations 12% a year of the $3M hardware ($0.03M a satellite-month), no demand
    (so nothing is launched). In orbit at the start: 2 satellites launched 2021-07 (54 months old: 6 months of
    their 60 left, retired at t=6) and 1 launched 2025-01 (12 months old). Their launch and hardware are sunk.
    With the decayed output 0.9^(age in years):
      fleet     2 x 0.9^(4.5 + t/12) for t < 6, plus 0.9^(1 + t/12): MW online (1 MW a satellite)
      opex      0.1 x the fleet's MW-months
      ops       0.03 x (2 x 6 + 1 x 12) satellite-months                 = 0.72
      salvage   the 2025-01 one, 24 months old at the end: what a new one costs then (3.5, as at the start) x
                its output left, sum_{a=24..59} rho^a / sum_{a=0..59} rho^a, rho = 0.9^(1/12)
    """
    held = [{"satellites": 2, "launched": "2021-07"}, {"satellites": 1, "launched": "2025-01"}]
    inst = make_instance(orbital=orbital(degradation_per_year=0.1, ops_share_of_hardware_per_year=0.12,
                                         held_at_start=held))
    result, flights = solve_exact(inst)
    fleet = [2 * 0.9 ** (4.5 + t / 12) * (t < 6) + 0.9 ** (1 + t / 12) for t in range(12)]
    rho = 0.9 ** (1 / 12)
    salvage = 3.5e6 * sum(rho**a for a in range(24, 60)) / sum(rho**a for a in range(60))
    assert plan_of(result, "sat", "new_units") == [0] * 12
    assert plan_of(result, "sat", "mw_online") == pytest.approx(fleet, abs=1e-6)
    assert_costs(result, {"opex": 0.1e6 * sum(fleet), "satellite_ops": 0.72e6, "salvage": -salvage})
    assert result.objective_usd == pytest.approx(0.1e6 * sum(fleet) + 0.72e6 - salvage, rel=REL)


@pytest.mark.parametrize(("held", "launches", "expected"), [
    ([{"satellites": 1, "launched": "2021-07"}], [0] * 6 + [1] + [0] * 5, 1.55e6),
    ([], [0] * 12, 120e6),
])
def test_a_programme_with_satellites_in_orbit_has_paid_its_cost(held, launches, expected):
    """A $1,000M programme cost, demand 1,000 units (one satellite) all year. With one satellite in orbit since
    2021-07 the programme has started: the cost is sunk. The old satellite retires at t=6 and a new one is
    launched then: capital 3.5, opex 12 x 0.1 = 1.2 (old and new), salvage 6 of 60 months used: 3.5 x 54/60 =
    3.15: $1.55M. Without it, starting the programme costs more than the $10M a month of unmet demand: $120M."""
    inst = make_instance(demand=training({"2026-01": 1_000}),
                         orbital=orbital(held_at_start=held) | {"programme_cost_usd": 1_000e6})
    result, _ = solve_exact(inst)
    assert plan_of(result, "sat", "new_units") == launches
    assert category(result, "programme") == 0
    assert result.objective_usd == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize(("launched", "message"), [
    ("2026-03", "held_at_start.0.launched: expected a month before the horizon start 2026-01"),
    ("2020-12", "held_at_start.0.launched: a 5-year life from 2020-12 is over by the horizon start"),
])
def test_bad_satellites_held_are_input_errors(launched, message):
    with pytest.raises(ValueError, match=message):
        make_instance(orbital=orbital(held_at_start=[{"satellites": 1, "launched": launched}]))
