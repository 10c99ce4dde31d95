"""Resale of surplus, demand series and growth laws, and the unmet-demand penalty per workload.

Every optimum below is worked out by hand from the tiny base instance of ``conftest.py`` (12 monthly periods in
2026, no discounting, 1 MW of gen1 = 1,000 compute units, unmet demand $10,000 per unit-month unless changed).
"""

from __future__ import annotations

import math

import pytest
from conftest import category, contract, make_instance, plan_of, solve_optimal

BLOCK_12_MONTHS = 12 * 100 * 1e6  # a 100 MW block at $1M per MW-month held for 12 months: $1,200M






def demand_column(result, workload: str, column: str) -> list[float]:
    d = result.demand
    return d.loc[d["workload"] == workload, column].tolist()


# --- resale -------------------------------------------------------------------------------------------------------

def test_surplus_of_a_take_or_pay_block_is_resold_up_to_the_market_cap():
    """Demand of 100 MW in January-February only; a 100 MW block with a 12-month term at $1M per MW-month;
    resale at $500 per unit-month, i.e. $0.5M per MW-month of gen1 (1,000 units per MW), market cap 60 MW.

    The block (12 x $100M = $1,200M) beats 2 months unmet (2 x 100 MW x $10M = $2,000M) and is held all year.
    March-December its 100 MW are idle; 60 MW (the cap) are resold: 10 months x 60 MW x $0.5M = $300M of revenue.
    In January-February reselling a MW would earn $0.5M but leave $10M of demand unmet, so none is resold.
    (A second block only to resell it is impossible: the ramp offers 100 MW.) Net cost $1,200M - $300M = $900M.
    """
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 100_000, "2026-03": 0}}},
                         hyperscaler_contracts=contract(min_term_months=12),
                         resale={"price_usd_per_unit_month": 500, "market_cap_mw": 60})
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [100] * 12
    assert plan_of(result, "cloud", "mw_resold") == [0, 0] + [60] * 10
    assert category(result, "resale_revenue") == pytest.approx(-300e6, rel=1e-9)
    assert category(result, "contracts") == pytest.approx(BLOCK_12_MONTHS, rel=1e-9)
    assert result.objective_usd == pytest.approx(900e6, rel=1e-9)


def test_resale_at_price_zero_brings_nothing():
    """As above with a resale price of 0: whatever is resold earns nothing; cost $1,200M (the block alone)."""
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 100_000, "2026-03": 0}}},
                         hyperscaler_contracts=contract(min_term_months=12),
                         resale={"price_usd_per_unit_month": 0, "market_cap_mw": 60})
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [1] + [0] * 11
    assert category(result, "resale_revenue") == pytest.approx(0, abs=1e-6)
    assert result.objective_usd == pytest.approx(BLOCK_12_MONTHS, rel=1e-9)
    # demand is still all met: nothing resold in January-February
    assert demand_column(result, "training", "unmet_units") == [0] * 12


def test_resold_mw_do_not_serve_demand():
    """Demand of 100 MW all year; one 100 MW block (the ramp allows no more) at $1M per MW-month; unmet demand
    costs $2,000 per unit-month ($2M per MW-month); resale pays $3,000 per unit-month ($3M per MW-month of gen1),
    market cap 60 MW.

    Reselling a MW earns $3M and leaves 1,000 units unmet for $2M: a net gain of $1M per MW-month, so the full
    60 MW are resold every month and only 40 MW serve demand: 60,000 units unmet a month.
    Per month: block $100M - resale 60 x $3M + unmet 60 x $2M = $100M - $180M + $120M = $40M; a year $480M.
    (Without the block: 100 MW unmet = $200M a month.) Were resold MW also counted as serving demand, nothing
    would be unmet and the cost would be -$80M a month.
    """
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 100_000},
                                              "unmet_penalty_usd_per_unit_month": 2_000}},
                         hyperscaler_contracts=contract(min_term_months=12),
                         resale={"price_usd_per_unit_month": 3_000, "market_cap_mw": 60})
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_resold") == [60] * 12
    assert demand_column(result, "training", "served_ground_units") == [40_000] * 12
    assert demand_column(result, "training", "unmet_units") == [60_000] * 12
    assert category(result, "resale_revenue") == pytest.approx(-12 * 60 * 3e6, rel=1e-9)
    assert category(result, "unmet_demand") == pytest.approx(12 * 60_000 * 2_000, rel=1e-9)
    assert result.objective_usd == pytest.approx(480e6, rel=1e-9)


def test_resale_is_priced_per_compute_unit():
    """Two 100 MW blocks held all year for no demand (12-month term, $1M per MW-month; the lab must take both, as
    the only way to a resale market): one of gen1 (1,000 units per MW), one of gen2 (2,000 units per MW). Resale
    at $800 per unit-month, market cap 100 MW: a gen1 MW earns $0.8M a month, a gen2 MW $1.6M.

    Committing a gen1 block to resell it loses $0.2M per MW-month; a gen2 block earns $0.6M: only the gen2 block is
    committed, all 100 MW resold: 12 x 100 x ($1M - $1.6M) = -$720M. (Priced per MW, whatever it carries, both
    blocks would lose $0.2M per MW-month and none would be held.)
    """
    gen2 = {"hardware": "gen2", "ramp_mw": {"2026-01": 100}, "block_mw": 100, "min_term_months": 12,
            "price_usd_per_mw_month": 1_000_000}
    inst = make_instance(hardware={"gen2": {"compute_units_per_mw": 2000, "available_from": "2026-01"}},
                         demand={"training": {"series_units": {"2026-01": 0}}},
                         hyperscaler_contracts=contract(min_term_months=12) | {"cloud2": gen2},
                         resale={"price_usd_per_unit_month": 800, "market_cap_mw": 100})
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [0] * 12
    assert plan_of(result, "cloud2", "mw_resold") == [100] * 12
    assert category(result, "resale_revenue") == pytest.approx(-12 * 100 * 1.6e6, rel=1e-9)
    assert result.objective_usd == pytest.approx(-720e6, rel=1e-9)


# --- demand -------------------------------------------------------------------------------------------------------

def test_explicit_series_is_a_step_function():
    """Series 1,000 from 2026-01, 3,000 from 2026-04, 500 from 2026-09: each value holds until the next key.

    Months: 3 x 1,000 + 5 x 3,000 + 4 x 500 = 20,000 unit-months, all unmet (no capacity): x $10,000 = $200M.
    """
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 1_000, "2026-04": 3_000,
                                                               "2026-09": 500}}})
    result = solve_optimal(inst)
    assert demand_column(result, "training", "demand_units") == [1_000] * 3 + [3_000] * 5 + [500] * 4
    assert demand_column(result, "inference", "demand_units") == [0] * 12
    assert result.objective_usd == pytest.approx(200e6, rel=1e-9)


def test_growth_law_is_exponential():
    """Start 1,000 units, doubling a year, over 2026-01..2027-12: month m has 1,000 x 2^(m/12).

    Checks: m = 0 -> 1,000; m = 6 -> 1,000 x sqrt(2) = 1,414.214; m = 12 -> 2,000; m = 18 -> 2,828.427;
    m = 23 -> 1,000 x 4 / 2^(1/12) = 4,000 / 1.059463 = 3,775.497. All unmet: the cost is
    $10,000 x 1,000 x sum_{m<24} 2^(m/12) = $10M x (2^2 - 1) / (2^(1/12) - 1) = $10M x 3 / 0.0594631 = $504.51M.
    """
    inst = make_instance(horizon={"end": "2027-12"},
                         demand={"training": {"series_units": None,
                                              "growth_law": {"start_units": 1_000, "annual_growth_factor": 2.0}}})
    result = solve_optimal(inst)
    units = demand_column(result, "training", "demand_units")
    assert len(units) == 24
    assert units[0] == pytest.approx(1_000, abs=1e-3)
    assert units[6] == pytest.approx(1_414.214, abs=1e-3)
    assert units[12] == pytest.approx(2_000, abs=1e-3)
    assert units[18] == pytest.approx(2_828.427, abs=1e-3)
    assert units[23] == pytest.approx(3_775.497, abs=1e-3)
    assert result.objective_usd == pytest.approx(10e6 * 3 / (2 ** (1 / 12) - 1), rel=1e-9)


def test_growth_law_with_saturation_is_logistic():
    """Start N0 = 1,000, growth factor g = 3, saturation K = 4,000, over 2026-01..2028-01 (25 months).

    Logistic through N0 with rate ln g: N(y) = K N0 g^y / (K + N0 (g^y - 1)), y in years.
    y = 0: 1,000. y = 1: 4,000 x 1,000 x 3 / (4,000 + 2,000) = 2,000.
    y = 2: 4,000 x 1,000 x 9 / (4,000 + 8,000) = 3,000. y = 0.5: 4e6 sqrt3 / (4,000 + 1,000 (sqrt3 - 1))
    = 6,928.203e3 / 4,732.051 = 1,464.102. The penalty is set to 0 so the objective is 0.
    """
    inst = make_instance(horizon={"end": "2028-01"},
                         demand={"training": {"series_units": None, "unmet_penalty_usd_per_unit_month": 0,
                                              "growth_law": {"start_units": 1_000, "annual_growth_factor": 3.0,
                                                             "saturation_units": 4_000}}})
    result = solve_optimal(inst)
    units = demand_column(result, "training", "demand_units")
    assert len(units) == 25
    assert units[0] == pytest.approx(1_000, abs=1e-3)
    assert units[6] == pytest.approx(1_464.102, abs=1e-3)
    assert units[12] == pytest.approx(2_000, abs=1e-3)
    assert units[24] == pytest.approx(3_000, abs=1e-3)
    assert all(b > a for a, b in zip(units, units[1:], strict=False)) and units[-1] < 4_000
    assert result.objective_usd == pytest.approx(0, abs=1e-6)


def test_higher_penalty_workload_is_served_first():
    """Training 100,000 units at $10,000 per unit-month, inference 80,000 units at $20,000; one 100 MW block
    (100,000 units; the ramp allows no more) at $1M per MW-month for 12 months.

    The block is worth it ($100M a month against at least $800M of unmet inference). Its 100,000 units serve
    inference first (80,000, saving $20,000 each) and the remaining 20,000 serve training; 80,000 training units
    are unmet. Cost: block $1,200M + 12 x 80,000 x $10,000 = $9,600M; total $10,800M.
    (Serving training first instead would leave all 80,000 inference units unmet at $20,000: $19,200M a year.)
    """
    inst = make_instance(demand={"training": {"series_units": {"2026-01": 100_000}},
                                 "inference": {"series_units": {"2026-01": 80_000},
                                               "unmet_penalty_usd_per_unit_month": 20_000}},
                         hyperscaler_contracts=contract(min_term_months=12))
    result = solve_optimal(inst)
    assert demand_column(result, "inference", "served_ground_units") == [80_000] * 12
    assert demand_column(result, "inference", "unmet_units") == [0] * 12
    assert demand_column(result, "training", "served_ground_units") == [20_000] * 12
    assert demand_column(result, "training", "unmet_units") == [80_000] * 12
    assert category(result, "unmet_demand") == pytest.approx(9_600e6, rel=1e-9)
    assert result.objective_usd == pytest.approx(10_800e6, rel=1e-9)


def test_geometric_sum_used_above():
    """The closed form of the exponential test, checked term by term (guards the hand formula itself)."""
    assert sum(2 ** (m / 12) for m in range(24)) == pytest.approx(3 / (2 ** (1 / 12) - 1), rel=1e-12)
    assert 4e6 * math.sqrt(3) / (4_000 + 1_000 * (math.sqrt(3) - 1)) == pytest.approx(1_464.102, abs=1e-3)
