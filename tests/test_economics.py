"""Levelized cost of compute (solver/economics.py): hand-worked values, and agreement with what the MILP charges.

The agreement tests force the MILP to hold exactly one unit of one source (a block, a lease, a module, a satellite)
for exactly its holding life (demand with ``max_unmet_share: 0`` while it is held, nothing after), solve it, and
check each discounted cost category of ``result.costs`` two ways: against the hand-worked present value, and
against the levelized cost times the MW held times the discounted MW-years held, i.e. the present value of the
levelized annuity paid at the start of each period held (the definition in docs/economics.md).

Discounting: rate r = 10% a year and monthly periods, so a month's discount factor is v = 1.1^(-1/12) = 0.992089
and a cost in month t is worth v^t at the horizon start. Sums of v^t are geometric: sum_{t=a}^{b-1} v^t =
(v^a - v^b) / (1 - v). Money in the comments is in $M unless it says otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import INSTANCES, category, contract, make_instance, solve_optimal

from solver import load_instance
from solver.economics import format_economics, holdings, levelized_costs

REL = 1e-9
V = 1.1 ** (-1 / 12)  # monthly discount factor at 10% a year


def geometric(a: int, b: int, ratio: float = V) -> float:
    """sum_{t=a}^{b-1} ratio^t."""
    return (ratio**a - ratio**b) / (1 - ratio)


def forced(series: dict[str, float]) -> dict:
    """Training demand that must be met in full (no unmet demand allowed), no inference demand."""
    return {"training": {"series_units": series, "unmet_penalty_usd_per_unit_month": 10_000, "max_unmet_share": 0}}


def levelized(table, source: str, year: int) -> dict[str, tuple[float, float]]:
    """Component -> (USD per MW-year, USD per unit-year) of one source and start year."""
    rows = table[(table["source"] == source) & (table["start_year"] == year)]
    return {r.component: (r.usd_per_mw_year, r.usd_per_unit_year) for r in rows.itertuples()}


def assert_agrees(result, table, source: str, mw: float, discounted_mw_years: float, expected_usd: dict) -> None:
    """Per category: the MILP's discounted cost equals the hand value, and equals levelized x MW x MW-years."""
    rates = levelized(table, source, 2026)
    assert set(rates) == set(expected_usd)
    for name, usd in expected_usd.items():
        assert category(result, name) == pytest.approx(usd, rel=REL, abs=1e-3), name
        assert rates[name][0] * mw * discounted_mw_years == pytest.approx(usd, rel=REL, abs=1e-3), name
    assert result.objective_usd == pytest.approx(sum(expected_usd.values()), rel=REL)


# -- contracts --------------------------------------------------------------------------------------------------


def contract_instance(rate: float = 0.1):
    """One 10 MW block, $1M per MW-month, 6-month term; 10,000 units (10 MW of gen1) needed for 6 months."""
    return make_instance(horizon={"discount_rate_per_year": rate},
                         demand=forced({"2026-01": 10_000, "2026-07": 0}),
                         hyperscaler_contracts=contract(block_mw=10, ramp_mw={"2026-01": 10}, min_term_months=6))


def test_contract_levelized_is_its_price_whatever_the_rate():
    """$1M per MW-month paid monthly for every month held: $12M per MW-year at any discount rate (the annuity
    is the payments themselves); per unit 12e6 / 1,000 units per MW = $12,000 per unit-year."""
    for rate in (0.0, 0.1):
        table = levelized_costs(contract_instance(rate))
        assert levelized(table, "cloud", 2026) == {"contracts": pytest.approx((12e6, 12_000), rel=REL)}


def test_contract_agrees_with_the_milp():
    """The MILP commits one block at t=0 and holds it 6 months: 10 MW x $1M x sum_{t<6} v^t
    = 10 x 5.882578 = 58.825784. Levelized: 12 x 10 MW x (1/12) x 5.882578 MW-years, the same."""
    result = solve_optimal(contract_instance(), mip_gap=0.0)
    assert_agrees(result, levelized_costs(contract_instance()), "cloud", mw=10,
                  discounted_mw_years=geometric(0, 6) / 12, expected_usd={"contracts": 10e6 * geometric(0, 6)})


# -- fixed-block leases -----------------------------------------------------------------------------------------

LEASE = {"blk": {"hardware": "gen1", "size_mw": 10, "fee_usd_per_month": 20e6, "ramp_in_fee_share": [0.5, 0.75],
                 "available_from": "2026-01", "end": "2026-12", "min_term_months": 4, "notice_months": 1}}


def lease_instance(rate: float = 0.1):
    """A 10 MW block at $20M a month ($2M per MW-month), half fee in month 1, 75% in month 2, held at least
    4 months, 1 month notice; 10,000 units needed for 4 months, then nothing."""
    return make_instance(horizon={"discount_rate_per_year": rate}, demand=forced({"2026-01": 10_000, "2026-05": 0}),
                         fixed_block_leases=LEASE)


def test_lease_levelized_includes_the_ramp_in_over_the_minimum_term():
    """Held for its 4-month minimum term, per MW: 2 x (0.5 + 0.75 + 1 + 1) = 6.5 over 4/12 MW-years.
      r = 0:   6.5 / (1/3)                                                       = $19.5M per MW-year ($19,500/unit)
      r = 10%: 24 x (0.5 + 0.75 v + v^2 + v^3) / (1 + v + v^2 + v^3) = 24 x 3.204761 / 3.952784 = $19.458255M
    """
    assert levelized(levelized_costs(lease_instance(0.0)), "blk", 2026) == {
        "leases": pytest.approx((19.5e6, 19_500), rel=REL)}
    rate = 24e6 * (0.5 + 0.75 * V + V**2 + V**3) / geometric(0, 4)
    assert rate == pytest.approx(19.458255e6, rel=1e-7)
    assert levelized(levelized_costs(lease_instance()), "blk", 2026) == {
        "leases": pytest.approx((rate, rate / 1000), rel=REL)}


def test_lease_agrees_with_the_milp():
    """The MILP signs at t=0 and gives notice at t=3 (the block ends at t=4, after exactly the minimum term):
    fees 20 x (0.5 + 0.75 v + v^2 + v^3) = 20 x 3.204761 = 64.095225."""
    result = solve_optimal(lease_instance(), mip_gap=0.0)
    assert result.plan.loc[result.plan["source"] == "blk", "event"].tolist()[:4] == ["signed", "", "", "notice"]
    assert_agrees(result, levelized_costs(lease_instance()), "blk", mw=10, discounted_mw_years=geometric(0, 4) / 12,
                  expected_usd={"leases": 20e6 * (0.5 + 0.75 * V + V**2 + V**3)})


# -- own builds -------------------------------------------------------------------------------------------------


def build_instance(rate: float = 0.1):
    """One 2 MW module (grid 3 MW at PUE 1.5: room for one), lead 2 months, decided 2026-01, online 2026-03 (t=2)
    and held for the 1-year facility life to t=14 = the horizon end (2027-02). GPU life 5 months: refreshes at
    t=7 (2026-08) and t=12 (2027-01). Per MW: facility $12M in 2026 ($24M in 2027), GPUs $6M ($12M), other IT
    $3M ($6M). Energy 1.5 x 730 h x 1,000 kW x $0.1 = $109,500 per MW-month, opex $50,000 per MW-month.
    gen1 (1,000 units per MW) until gen2 (2,000 units per MW) is out in 2026-08, so the refresh at t=7 brings it.
    """
    costs = {"facility_usd_per_mw": {2026: 12e6, 2027: 24e6}, "gpus_usd_per_mw": {2026: 6e6, 2027: 12e6},
             "other_it_usd_per_mw": {2026: 3e6, 2027: 6e6}, "facility_life_years": 1, "gpu_life_years": 5 / 12}
    site = {"grid_power_mw": 3, "power_available": "2026-01", "module_mw": 2, "lead_time_months": 2, "pue": 1.5,
            "electricity_usd_per_kwh": 0.1, "fixed_opex_usd_per_mw_month": 50_000}
    return make_instance(
        horizon={"end": "2027-02", "discount_rate_per_year": rate},
        hardware={"gen2": {"compute_units_per_mw": 2000, "available_from": "2026-08"}},
        demand=forced({"2026-01": 0, "2026-03": 2000}),
        terrestrial={"build_costs": costs, "sites": {"site": site}})


def test_build_levelized_by_hand_without_discounting():
    """r = 0, so the MW held 12 months is 1 MW-year and each component is its sum, per MW:
      facility  12 at the decision (2026 price)                                          12
      GPUs      6, other IT 3, at t=2 (2026 prices)                                       6, 3
      refresh   (6 + 3) at t=7 (2026) + (12 + 6) at t=12 (2027)                          27
      energy    0.1095 x 12 = 1.314; opex 0.05 x 12 = 0.6
      salvage   IT of t=12 is 2 of its 5 months old at t=14; new IT then costs 18: -(1 - 2/5) x 18  -10.8
                (the facility is exactly its 1-year life old: 0)
      total     12 + 6 + 3 + 27 + 1.314 + 0.6 - 10.8                                     39.114
    Compute: 5 months (t=2..6) of gen1 at 1,000 units, 7 months (t=7..13) of gen2 at 2,000:
    (5 x 1,000 + 7 x 2,000) / 12 = 1,583.33 unit-years per MW-year, so $ per unit-year = $/MW-year / 1,583.33
    (total 39.114e6 / 1,583.33 = $24,703.58).
    """
    got = levelized(levelized_costs(build_instance(0.0)), "site", 2026)
    per_mw = {"build_facility": 12e6, "build_gpus": 6e6, "build_other_it": 3e6, "build_refresh": 27e6,
              "energy": 1.314e6, "opex": 0.6e6, "salvage": -10.8e6}
    units = (5 * 1000 + 7 * 2000) / 12
    assert got == {c: pytest.approx((usd, usd / units), rel=REL) for c, usd in per_mw.items()}
    assert sum(usd for usd, _ in got.values()) / units == pytest.approx(24_703.58, rel=1e-6)


def test_build_agrees_with_the_milp():
    """r = 10%. The 2 MW are held at t=2..13: discounted MW-years per MW = sum_{t=2}^{13} v^t / 12 = 11.310298 / 12
    = 0.942525. The MILP's discounted charges (2 MW):
      facility  2 x 12 at t=0                                           = 24
      GPUs      2 x 6 v^2 = 11.810, other IT 2 x 3 v^2 = 5.905
      refresh   2 x (9 v^7 + 18 v^12)
      energy    2 x 0.1095 x 11.310298, opex 2 x 0.05 x 11.310298
      salvage   the IT bought at t=12 has 3 of its 5 months left, at the price of new IT at the horizon end (2027:
                18 per MW, gen2 still the newest), each month worth the same rent: 18 x (1 - v^3) / (1 - v^5) per
                MW (10.8 = 18 x 3/5 undiscounted), at the horizon end, discounted 1.1^(-14/12)
    Levelized facility, e.g.: 12 / 0.942525 = $12.731760M per MW-year: the $12M paid two months before the
    capacity arrives, spread over the discounted year it is held.
    """
    result = solve_optimal(build_instance(), mip_gap=0.0)
    table = levelized_costs(build_instance())
    held = geometric(2, 14)
    assert levelized(table, "site", 2026)["build_facility"][0] == pytest.approx(12.731760e6, rel=1e-7)
    assert_agrees(result, table, "site", mw=2, discounted_mw_years=held / 12, expected_usd={
        "build_facility": 24e6, "build_gpus": 12e6 * V**2, "build_other_it": 6e6 * V**2,
        "build_refresh": 2 * (9e6 * V**7 + 18e6 * V**12), "energy": 2 * 109_500 * held, "opex": 2 * 50_000 * held,
        "salvage": -2 * 18e6 * (1 - V**3) / (1 - V**5) * 1.1 ** (-14 / 12)})


# -- orbital ----------------------------------------------------------------------------------------------------


def orbital_instance(rate: float = 0.1):
    """A 1,000 kW (1 MW) satellite of 500 kg at $1,000/kg (launch $0.5M), hardware $1/W ($1M), GPUs $2/W ($2M),
    life 1 year, degradation 10% and failures 20% a year: output survives rho = (0.9 x 0.8)^(1/12) = 0.972996
    a month, rho^12 = 0.72. Opex $100 per kW-month on the decayed kW. Half the time in sunlight: 500 units per
    MW. Demand 300 units: one satellite at t=0 serves it all year (500 x 0.72^(11/12) = 370 at t=11)."""
    rocket = {"payload_t": 1, "flights_per_month": 1, "earliest_launch": "2026-01", "launch_price_usd_per_kg": 1000}
    sat = {"hardware": "gen1", "launch_vehicle": "rocket", "compute_kw": 1000, "mass_kg": 500,
           "hardware_usd_per_w": 1, "gpus_usd_per_w": 2, "earliest_launch": "2026-01", "life_years": 1,
           "degradation_per_year": 0.1, "failure_rate_per_year": 0.2, "opex_usd_per_kw_month": 100,
           "sunlight_share": 0.5}
    return make_instance(horizon={"discount_rate_per_year": rate}, demand=forced({"2026-01": 300}),
                         orbital={"launch_vehicles": {"rocket": rocket}, "satellite_classes": {"sat": sat}})


def test_orbital_levelized_by_hand_without_discounting():
    """r = 0: decayed MW-years over the life = sum_{t<12} rho^t / 12 = (1 - 0.72) / (1 - 0.972996) / 12 = 0.864069.
      launch 0.5 / 0.864069 = 0.578658, hardware 1 / 0.864069 = 1.157316, GPUs 2 / 0.864069 = 2.314631
      opex   on the decayed kW, so per decayed MW: 100 x 1,000 x 12 = 1.2 exactly
    Per unit: / 500 units per MW (1,000 x 0.5 sunlight)."""
    got = levelized(levelized_costs(orbital_instance(0.0)), "sat", 2026)
    mw_years = (1 - 0.72) / (1 - 0.72 ** (1 / 12)) / 12
    assert mw_years == pytest.approx(0.864069, rel=1e-6)
    per_mw = {"launch": 0.5e6 / mw_years, "satellite_hardware": 1e6 / mw_years, "satellite_gpus": 2e6 / mw_years,
              "opex": 1.2e6}
    assert got == {c: pytest.approx((usd, usd / 500), rel=REL) for c, usd in per_mw.items()}
    assert per_mw["launch"] == pytest.approx(578_657.8, rel=1e-7)


def test_orbital_agrees_with_the_milp():
    """r = 10%: the satellite's decayed output is discounted by rho v a month, (rho v)^12 = 0.72 / 1.1, so it
    delivers sum_{t<12} (rho v)^t / 12 = 0.829587 discounted MW-years. The MILP: launch 0.5, hardware 1, GPUs 2
    at t=0; opex 0.1 x sum_{t<12} (rho v)^t = 0.995504; salvage 0 (launched a whole life before the end)."""
    result = solve_optimal(orbital_instance(), mip_gap=0.0)
    assert result.plan.loc[result.plan["source"] == "sat", "new_units"].tolist() == [1] + [0] * 11
    decayed = geometric(0, 12, 0.72 ** (1 / 12) * V)
    assert decayed / 12 == pytest.approx(0.829587, rel=1e-6)
    assert_agrees(result, levelized_costs(orbital_instance()), "sat", mw=1, discounted_mw_years=decayed / 12,
                  expected_usd={"launch": 0.5e6, "satellite_hardware": 1e6, "satellite_gpus": 2e6,
                                "opex": 0.1e6 * decayed})


# -- start years, the table and the text ------------------------------------------------------------------------


def test_start_years_follow_what_the_model_allows():
    """small.yaml, by quarter: the lease is signed from 2026-04 (t=1) and until 2027-07 (t=6, as its 6-month term
    must end by 2027-12); the site's power comes in 2026-07 (t=2), so a module is online from then on; the
    satellite launches from 2027-01 (t=4). A build's start year is the year it comes online."""
    inst = load_instance(INSTANCES / "small.yaml")
    starts = {(h.source, h.start_year): h.start for h in holdings(inst)}
    assert starts == {("cloud", 2026): 0, ("cloud", 2027): 4, ("colossus", 2026): 1, ("colossus", 2027): 4,
                      ("plain", 2026): 2, ("plain", 2027): 4, ("sat", 2027): 4}
    only_2027 = levelized_costs(inst, 2027)
    assert set(only_2027["start_year"]) == {2027}
    assert list(only_2027.columns) == ["source", "kind", "start_year", "component", "usd_per_mw_year",
                                       "usd_per_unit_year"]
    assert "total" not in set(only_2027["component"])
    with pytest.raises(ValueError, match="outside the horizon 2026..2027"):
        levelized_costs(inst, 2030)


def test_reference_2028_worked_examples():
    """The worked examples of docs/economics.md (reference instance, 8% a year, monthly: v = 1.08^(-1/12)).
      amazon      $1.25M per MW-month x 12                                              = 15.000 per MW-year
      colossus_1  $662.65M / 300 MW = 2.208833 per MW-month, 6-month term, first two months half fee:
                  12 x 2.208833 x (0.5 + 0.5 v + v^2 + ... + v^5) / (1 + v + ... + v^5)  = 22.032
      abilene     online 2028-01, decided 2026-07 (18-month lead) at the 2026 facility price 19, so
                  facility 19 x 1.08^1.5 / a, with a = (1 - 1.08^-20) / (1 - v) / 12 = 10.2386 MW-years
                  (the 20-year life, per MW, paid monthly in advance): 19 x 1.122369 / 10.2386 = 2.0828
                  GPUs 30 / a = 2.9301; energy 1.2 x 730 x 1,000 x 0.05 x 12 = 0.5256
      suncatcher  launched 2028-01 at 3,600 x (33,500 / 20,000)^log2(0.8) = $3,049.20/kg (industry mass 3,500 t in
                  2026 and 10,000 t in 2027 on top of 20,000 t), 20,000 kg per MW: $60.984M per MW launched;
                  output survives 0.975 x 0.91 = 0.88725 a year, so over 5 years it delivers
                  M = (1 - (0.88725 / 1.08)^5) / (1 - (0.88725 / 1.08)^(1/12)) / 12 = 3.209396 discounted MW-years
                  launch 60.984 / 3.209396 = 19.0017; total (60.984 + 10 + 41) / M + 0.12 = 35.0125 per MW-year,
                  / (1,560 x 0.99 sunlight) = $22,671 per H100e-year
    """
    v = 1.08 ** (-1 / 12)
    got = levelized_costs(load_instance(INSTANCES / "reference.yaml"), 2028)
    rates: dict[str, Any] = {s: levelized(got, s, 2028) for s in ("amazon", "colossus_1", "abilene", "suncatcher")}
    assert rates["amazon"]["contracts"][0] == pytest.approx(15e6, rel=REL)
    colossus = 12 * 662.65e6 / 300 * (0.5 + 0.5 * v + v**2 + v**3 + v**4 + v**5) / geometric(0, 6, v)
    assert colossus == pytest.approx(22.032e6, rel=1e-4)
    assert rates["colossus_1"]["leases"][0] == pytest.approx(colossus, rel=REL)
    annuity = (1 - 1.08**-20) / (1 - v) / 12
    assert annuity == pytest.approx(10.2386, rel=1e-5)
    assert rates["abilene"]["build_facility"][0] == pytest.approx(19e6 * 1.08**1.5 / annuity, rel=REL)
    assert rates["abilene"]["build_gpus"][0] == pytest.approx(30e6 / annuity, rel=REL)
    assert rates["abilene"]["energy"][0] == pytest.approx(1.2 * 730 * 1000 * 0.05 * 12, rel=REL)
    assert rates["abilene"]["build_facility"][0] == pytest.approx(2.0828e6, rel=1e-4)
    price = 3600 * (33_500 / 20_000) ** math.log2(0.8)
    assert price == pytest.approx(3049.20, rel=1e-6)
    decayed = (1 - (0.88725 / 1.08) ** 5) / (1 - (0.88725 / 1.08) ** (1 / 12)) / 12
    assert decayed == pytest.approx(3.209396, rel=1e-6)
    assert rates["suncatcher"]["launch"][0] == pytest.approx(price * 20_000 / decayed, rel=REL)
    total = sum(usd for usd, _ in rates["suncatcher"].values())
    assert total == pytest.approx((price * 20_000 + 51e6) / decayed + 0.12e6, rel=REL)
    assert total == pytest.approx(35.0125e6, rel=1e-5)
    assert sum(unit for _, unit in rates["suncatcher"].values()) == pytest.approx(total / 1544.4, rel=REL)


def test_format_economics_shows_totals_and_components():
    table = levelized_costs(lease_instance(0.0))
    text = format_economics(table)
    assert "blk (fixed_block_lease)" in text
    assert "19.50" in text  # total $M per MW-year in 2026
    assert "leases" in text and "19,500" in text  # the component, and $ per unit-year
    assert format_economics(table.iloc[0:0]) == "No capacity source can start in the years asked for."


def test_flight_price_and_operations_are_components_of_their_own():
    """The satellite above, r = 0, with $1M a flight (two 500 kg satellites a 1 t flight: $0.5M per satellite, per
    MW as it is 1 MW) and operations at 12% a year of its $3M of hardware and GPUs over its 1-year life ($0.36M):
    per MW-year of decayed output, 0.5 / 0.864069 and 0.36 / 0.864069."""
    from solver.instance import with_changes

    instance = with_changes(orbital_instance(0.0), {
        "orbital.launch_vehicles.rocket.launch_price_usd_per_flight": 1e6,
        "orbital.satellite_classes.sat.ops_share_of_hardware_per_year": 0.12})
    got = levelized(levelized_costs(instance), "sat", 2026)
    mw_years = (1 - 0.72) / (1 - 0.72 ** (1 / 12)) / 12
    assert got["launch_flights"][0] == pytest.approx(0.5e6 / mw_years, rel=REL)
    assert got["satellite_ops"][0] == pytest.approx(0.36e6 / mw_years, rel=REL)
