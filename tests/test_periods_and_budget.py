"""Quarter and year periods, discounting, the annual capital budget and the orbital inference share.

Every optimum below is worked out by hand from the tiny base instance of ``conftest.py`` (2026 by month, no
discounting unless changed, 1 MW of gen1 = 1,000 compute units, unmet demand $10,000 per unit-month).
"""

from __future__ import annotations

import pytest
from conftest import category, contract, make_instance, plan_of, solve_optimal, training

from solver import solve

QUARTERS = {"period": "quarter"}








# --- quarter and year periods ---------------------------------------------------------------------------------------

def test_lease_with_three_month_notice_by_quarter():
    """2026 by quarter; demand 100 MW in Q1-Q2, none from 2026-07; a 100 MW block at $100M a month,
    3-month minimum term and 3-month notice (one quarter each).

    Signed in Q1 (2026-01); notice in Q2 (2026-04) ends it at Q3 (2026-07), as with months: 3 months before
    demand stops. Fee per quarter = $100M x 3 = $300M; 2 quarters = $600M (keeping it: 4 x $300M = $1,200M;
    notice in Q1 ends it at Q2: $300M + Q2 unmet 100,000 x $10,000 x 3 = $3,000M).
    """
    inst = make_instance(
        horizon=QUARTERS, demand=training({"2026-01": 100_000, "2026-07": 0}),
        fixed_block_leases={"colossus": {"hardware": "gen1", "size_mw": 100, "fee_usd_per_month": 100e6,
                                         "available_from": "2026-01", "end": "2026-12", "min_term_months": 3,
                                         "notice_months": 3}})
    result = solve_optimal(inst)
    assert plan_of(result, "colossus", "period") == ["2026-01", "2026-04", "2026-07", "2026-10"]
    assert plan_of(result, "colossus", "event") == ["signed", "notice", "", ""]
    assert plan_of(result, "colossus", "mw_online") == [100, 100, 0, 0]
    assert category(result, "leases") == pytest.approx(600e6, rel=1e-9)
    assert result.objective_usd == pytest.approx(600e6, rel=1e-9)


def test_ramp_in_discount_lands_in_the_quarter_of_its_month():
    """2026-2027 by quarter; demand 100 MW all along; the block (fee F = $100M a month) is available from 2026-10
    to 2027-12, 6-month term, 3-month notice, with 50% of the fee in each of its first 4 months.

    Signed in Q4 2026 (the first quarter it is available): the discounts of months 0-2 (3 x 0.5 F) fall in Q4 2026
    and that of month 3 (0.5 F) in Q1 2027. Fees: 2026: 3 F - 1.5 F = $150M; 2027: 12 F - 0.5 F = $1,150M.
    Q1-Q3 2026 are unmet: 9 months x 100,000 units x $10,000 = $9,000M. Total $10,300M.
    """
    inst = make_instance(
        horizon={"end": "2027-12", "period": "quarter"}, demand=training({"2026-01": 100_000}),
        fixed_block_leases={"colossus": {"hardware": "gen1", "size_mw": 100, "fee_usd_per_month": 100e6,
                                         "ramp_in_fee_share": [0.5, 0.5, 0.5, 0.5], "available_from": "2026-10",
                                         "end": "2027-12", "min_term_months": 6, "notice_months": 3}})
    result = solve_optimal(inst)
    assert plan_of(result, "colossus", "event") == [""] * 3 + ["signed"] + [""] * 4
    by_year = result.costs.set_index(["year", "category"])["nominal_usd"]
    assert by_year[(2026, "leases")] == pytest.approx(150e6, rel=1e-9)
    assert by_year[(2027, "leases")] == pytest.approx(1_150e6, rel=1e-9)
    assert result.objective_usd == pytest.approx(10_300e6, rel=1e-9)


def test_contract_and_penalty_by_quarter_cost_three_months():
    """2026 by quarter; demand 150 MW all year; one 100 MW block at $1M per MW-month, 3-month term.

    One block committed in the first quarter (the term, 1 quarter, is a minimum) and held all year:
    4 x 100 MW x $1M x 3 = $1,200M; 50 MW (50,000 units) unmet each quarter: 4 x 50,000 x $10,000 x 3 = $6,000M;
    total $7,200M, the same as by month.
    """
    inst = make_instance(horizon=QUARTERS, demand=training({"2026-01": 150_000}),
                         hyperscaler_contracts=contract(min_term_months=3))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [1, 0, 0, 0]
    assert category(result, "contracts") == pytest.approx(1_200e6, rel=1e-9)
    assert category(result, "unmet_demand") == pytest.approx(6_000e6, rel=1e-9)
    assert result.objective_usd == pytest.approx(7_200e6, rel=1e-9)


def test_yearly_periods_discount_lost_revenue_month_by_month():
    """2026-2027 by year at 12% a year; demand 1,000 units, no capacity.

    Each year's unmet demand costs 1,000 x $10,000 x 12 = $120M, lost month by month ($10M a month), not at the
    year's first month: sum_{m=0..23} $10M x 1.12^(-m/12) = $10M x (1 - 1.12^-2) / (1 - 1.12^(-1/12))
    = $10M x 0.2028061 / 0.0093996 = $215.76M, as monthly periods give ($227.14M if paid at each January).
    """
    inst = make_instance(horizon={"end": "2027-12", "period": "year", "discount_rate_per_year": 0.12},
                         demand=training({"2026-01": 1_000}))
    result = solve_optimal(inst)
    expected = 10e6 * (1 - 1.12 ** -2) / (1 - 1.12 ** (-1 / 12))
    assert expected == pytest.approx(215.76e6, rel=1e-5)
    assert result.objective_usd == pytest.approx(expected, rel=1e-9)
    by_year = result.costs.set_index(["year", "category"])["nominal_usd"]
    assert by_year[(2026, "unmet_demand")] == pytest.approx(120e6, rel=1e-9)
    assert by_year[(2027, "unmet_demand")] == pytest.approx(120e6, rel=1e-9)


# --- discounting ----------------------------------------------------------------------------------------------------

def test_constant_payment_discounted_monthly():
    """12% a year; demand 100 MW all year; a 100 MW block (1-month minimum term) held all year at $1M per MW-month.

    A payment of $100M in month t is worth 100M x 1.12^(-t/12) today; the geometric sum over t = 0..11 is
    $100M x (1 - 1.12^-1) / (1 - 1.12^(-1/12)) = $100M x 0.1071429 / 0.0093996 = $1,139.87M.
    """
    inst = make_instance(horizon={"discount_rate_per_year": 0.12}, demand=training({"2026-01": 100_000}),
                         hyperscaler_contracts=contract())
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [1] + [0] * 11
    expected = 100e6 * (1 - 1.12 ** -1) / (1 - 1.12 ** (-1 / 12))
    assert expected == pytest.approx(1_139.87e6, rel=1e-5)
    assert result.objective_usd == pytest.approx(expected, rel=1e-9)
    nominal = result.costs.loc[result.costs["category"] == "contracts", "nominal_usd"].sum()
    assert nominal == pytest.approx(1_200e6, rel=1e-9)


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_100m_a_month_at_8_percent_is_the_same_on_every_grid(period):
    """8% a year; demand 100 MW all year; 100 MW blocks of 1-month term at $1M per MW-month: $100M a month.

    Paid month by month: $100M x (1 - 1.08^-1) / (1 - 1.08^(-1/12)) = $1,158.69M, on any grid. (Discounted at
    each period's first month instead, quarters would give $1,166.1M and a year $1,200.0M.)"""
    inst = make_instance(horizon={"discount_rate_per_year": 0.08, "period": period},
                         demand=training({"2026-01": 100_000}), hyperscaler_contracts=contract())
    result = solve_optimal(inst)
    expected = 100e6 * (1 - 1.08 ** -1) / (1 - 1.08 ** (-1 / 12))
    assert expected == pytest.approx(1_158.69e6, rel=1e-5)
    assert result.objective_usd == pytest.approx(expected, rel=1e-9)


def test_the_audit_catches_monthly_payments_discounted_at_the_periods_start(monkeypatch):
    """A planted bug: the model discounts what accrues monthly at each quarter's first month (the old rule). The
    audit discounts with factors of its own, so the objective ($1,166.1M for the contract above, by quarter) no
    longer matches its recomputation ($1,158.7M): the plan is suspect."""
    from solver.timegrid import TimeGrid

    monkeypatch.setattr(TimeGrid, "discount_accruing", property(lambda grid: grid.discount))
    inst = make_instance(horizon={"discount_rate_per_year": 0.08, "period": "quarter"},
                         demand=training({"2026-01": 100_000}), hyperscaler_contracts=contract())
    result = solve(inst)
    assert result.status == "suspect"
    assert result.objective_usd == pytest.approx(sum(300e6 * 1.08 ** (-q / 4) for q in range(4)), rel=1e-9)
    assert result.audit["recomputed_usd"] == pytest.approx(100e6 * (1 - 1.08 ** -1) / (1 - 1.08 ** (-1 / 12)),
                                                           rel=1e-9)


def test_a_lump_sum_is_discounted_at_its_periods_first_month():
    """8% a year by quarter; one 1 MW satellite ($0.5M of hardware, $1M of launch) launched in 2026-04, the second
    quarter, for demand from then on: its capital is paid in 2026-04, 1.08^(-3/12) = 0.980944 of its value."""
    space = {"launch_vehicles": {"rocket": {"payload_t": 1, "flights_per_month": 1, "earliest_launch": "2026-01",
                                            "launch_price_usd_per_kg": 1000}},
             "satellite_classes": {"sat": {"hardware": "gen1", "launch_vehicle": "rocket", "compute_kw": 1000,
                                           "mass_kg": 1000, "hardware_usd_per_w": 0.5, "gpus_usd_per_w": 0,
                                           "earliest_launch": "2026-01", "life_years": 5, "degradation_per_year": 0,
                                           "failure_rate_per_year": 0, "opex_usd_per_kw_month": 0,
                                           "sunlight_share": 1}}}
    inst = make_instance(horizon={"discount_rate_per_year": 0.08, "period": "quarter"},
                         demand=training({"2026-01": 0, "2026-04": 1_000}), orbital=space)
    result = solve_optimal(inst)
    assert plan_of(result, "sat", "new_units") == [0, 1, 0, 0]
    launch = result.costs.loc[result.costs["category"] == "launch", "discounted_usd"].sum()
    assert launch == pytest.approx(1e6 * 1.08 ** (-3 / 12), rel=1e-9)
    hardware = result.costs.loc[result.costs["category"] == "satellite_hardware", "discounted_usd"].sum()
    assert hardware == pytest.approx(0.5e6 * 1.08 ** (-3 / 12), rel=1e-9)


def test_discounting_moves_a_take_or_pay_commitment_late():
    """12% a year; demand 100 MW in March-April only; a 100 MW block with a 6-month term at $1M per MW-month.

    A block committed in month t (t = 0, 1 or 2 covers both months) is paid in months t..t+5; undiscounted these
    tie at $600M, but discounting makes the latest, t = 2 (2026-03), cheapest: sum_{k=2..7} $100M x 1.12^(-k/12)
    = $100M x (0.981289 + 0.972065 + 0.962928 + 0.953877 + 0.944911 + 0.936029) = $575.11M
    (t = 1 would add $100M x (1.12^(-1/12) - 1.12^(-7/12)) = $100M x (0.990600 - 0.936029) = $5.46M).
    """
    inst = make_instance(horizon={"discount_rate_per_year": 0.12},
                         demand=training({"2026-01": 0, "2026-03": 100_000, "2026-05": 0}),
                         hyperscaler_contracts=contract(min_term_months=6))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [0, 0, 1] + [0] * 9
    expected = sum(100e6 * 1.12 ** (-k / 12) for k in range(2, 8))
    assert expected == pytest.approx(575.11e6, rel=1e-5)
    assert result.objective_usd == pytest.approx(expected, rel=1e-9)


# --- orbital: capital budget and inference share ------------------------------------------------------------------

def orbital(share: float = 0.0) -> dict:
    """One rocket (10 t, 1 flight a month, $1,000/kg) and one 1 MW, 1,000 kg satellite class from 2026-01.

    Per satellite: launch 1,000 kg x $1,000 = $1M, hardware $1/W x 1e6 W = $1M, GPUs $2/W = $2M: $4M of capital,
    all spent at launch. Life 5 years (60 months), no decay or failures, full sunlight: 1,000 units all year.
    Launched in 2026-01 it is 12 of 60 months old at the horizon end: salvage 4M x (1 - 12/60) = $3.2M, so its
    net capital is $0.8M; opex $1 per kW-month x 1,000 kW x 12 = $12k. Net cost $0.812M per satellite-year,
    against $120M a year for 1,000 units unmet. (Launching a month later raises the salvage by 4M / 60 = $67k
    and saves $1k of opex but loses $10M of service, so satellites go up in 2026-01.)
    """
    return {
        "max_inference_share": share,
        "launch_vehicles": {"rocket": {"payload_t": 10, "flights_per_month": 1, "earliest_launch": "2026-01",
                                       "launch_price_usd_per_kg": 1_000}},
        "satellite_classes": {"sat": {"hardware": "gen1", "launch_vehicle": "rocket", "compute_kw": 1_000,
                                      "mass_kg": 1_000, "hardware_usd_per_w": 1, "gpus_usd_per_w": 2,
                                      "earliest_launch": "2026-01", "life_years": 5, "degradation_per_year": 0,
                                      "failure_rate_per_year": 0, "opex_usd_per_kw_month": 1,
                                      "sunlight_share": 1}},
    }


PER_SATELLITE = 4e6 * (1 - 0.8) + 12 * 1_000  # $0.812M net per satellite launched in 2026-01
UNMET_1000_UNITS_YEAR = 1_000 * 10_000 * 12  # $120M


@pytest.mark.parametrize(
    ("budget", "satellites"),
    [
        (None, 3),  # no budget: 3 satellites serve the 3,000 units; cost 3 x $0.812M = $2.436M
        # $10M a year buys 2 satellites ($8M; 3 would be $12M): 1,000 units unmet all year,
        # cost 2 x $0.812M + $120M = $121.624M
        (10e6, 2),
    ],
)
def test_capital_budget_binds_satellite_purchases(budget, satellites):
    """Training demand of 3,000 units all year, served only by 1 MW satellites (see :func:`orbital`)."""
    changes = {"demand": training({"2026-01": 3_000}), "orbital": orbital()}
    if budget is not None:
        changes["capital_budget_usd_per_year"] = budget
    result = solve_optimal(make_instance(**changes))
    assert plan_of(result, "sat", "new_units") == [satellites] + [0] * 11
    capital = sum(category(result, c) for c in ("launch", "satellite_hardware", "satellite_gpus"))
    assert capital == pytest.approx(4e6 * satellites, rel=1e-9)
    assert category(result, "salvage") == pytest.approx(-3.2e6 * satellites, rel=1e-9)
    expected = satellites * PER_SATELLITE + (3 - satellites) * UNMET_1000_UNITS_YEAR
    assert result.objective_usd == pytest.approx(expected, rel=1e-9)


def test_orbit_serves_at_most_its_share_of_inference():
    """Training 2,000 units and inference 4,000 units all year; orbit may serve 25% of inference = 1,000 units.

    Satellites (1,000 units each, $0.812M a year, see :func:`orbital`) are worth launching for every 1,000 units
    they may serve: 2 for training and 1 for inference; a 4th would find no demand it may serve. 3,000 inference
    units stay unmet: 3,000 x $10,000 x 12 = $360M. Total 3 x $0.812M + $360M = $362.436M.
    """
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 2_000}},
                                 "inference": {"series_units": {"2026-01": 4_000}}},
                         orbital=orbital(share=0.25))
    result = solve_optimal(inst)
    assert plan_of(result, "sat", "new_units") == [3] + [0] * 11
    d = result.demand
    inference = d[d["workload"] == "inference"]
    assert inference["served_orbit_units"].tolist() == [1_000] * 12
    assert inference["unmet_units"].tolist() == [3_000] * 12
    assert d.loc[d["workload"] == "training", "served_orbit_units"].tolist() == [2_000] * 12
    assert "orbital inference share" in result.binding["family"].tolist()
    assert result.objective_usd == pytest.approx(3 * PER_SATELLITE + 3 * UNMET_1000_UNITS_YEAR, rel=1e-9)
