"""Hyperscaler contracts: take-or-pay terms, the provider ramp, integral blocks and the horizon end.

Every optimum below is worked out by hand from the tiny base instance of ``conftest.py``: 12 monthly periods in
2026, no discounting, 1 MW of gen1 serves 1,000 compute units, unmet demand costs $10,000 per unit-month, so one
MW of demand left unmet for one month costs 1,000 x $10,000 = $10M.
"""

from __future__ import annotations

import pytest
from conftest import category, contract, make_instance, plan_of, solve_optimal, training

MONTHS = 12
UNMET_PER_MW_MONTH = 1_000 * 10_000  # $10M: one MW of demand unmet for one month








def test_take_or_pay_charges_the_whole_term():
    """Demand of 100 MW (100,000 units) in January and February only; a block has a 6-month term.

    Options: one block committed in 2026-01 (the only month covering January) is paid for 6 months:
    6 x 100 MW x $1M = $600M; leaving both months unmet costs 2 x 100 MW x $10M = $2,000M.
    Optimum: commit 1 block in 2026-01, held 2026-01..2026-06 although demand stops in March; cost $600M.
    """
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-03": 0}),
                         hyperscaler_contracts=contract(min_term_months=6))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [1] + [0] * 11
    assert plan_of(result, "cloud", "mw_online") == [100] * 6 + [0] * 6
    assert result.objective_usd == pytest.approx(600e6, rel=1e-9)
    assert category(result, "contracts") == pytest.approx(600e6, rel=1e-9)
    assert category(result, "unmet_demand") == pytest.approx(0, abs=1e-3)


def test_take_or_pay_loses_to_the_penalty_when_the_term_is_dear():
    """As above at $4M per MW-month: the block would cost 6 x 100 x $4M = $2,400M > $2,000M of unmet demand.

    Optimum: no block; both months unmet, cost 2 x 100 MW x $10M = $2,000M.
    """
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-03": 0}),
                         hyperscaler_contracts=contract(min_term_months=6, price_usd_per_mw_month=4_000_000))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [0] * 12
    assert result.objective_usd == pytest.approx(2_000e6, rel=1e-9)
    assert category(result, "unmet_demand") == pytest.approx(2_000e6, rel=1e-9)


def test_provider_ramp_caps_the_blocks_held():
    """Demand of 300 MW all year; the provider offers 100 MW from 2026-01 and 300 MW from 2026-07; blocks of
    100 MW at $1M per MW-month, 4-month term.

    Each block saves $10M - $1M per MW-month, so as many blocks are held as the ramp allows: 1 block in
    January-June, 3 in July-December. The 4-month term is a minimum: a block is held until released, so the
    commitments are 1 in 2026-01 and 2 in 2026-07, each held to December (no renewals: an exact term would need
    them in 2026-05, -09 and -11). Releasing a block past its minimum term and committing a new one in the same
    month costs the same as holding it; the plan shows blocks newly held, so it reads the same either way.
    Cost: blocks (6 x 100 + 6 x 300) MW-months x $1M = $2,400M, unmet 6 months x 200 MW x $10M = $12,000M;
    total $14,400M.
    """
    inst = make_instance(demand=training({"2026-01": 300_000}),
                         hyperscaler_contracts=contract(ramp_mw={"2026-01": 100, "2026-07": 300},
                                                        min_term_months=4))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [100] * 6 + [300] * 6
    assert plan_of(result, "cloud", "new_units") == [1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
    assert result.objective_usd == pytest.approx(14_400e6, rel=1e-9)
    assert category(result, "contracts") == pytest.approx(2_400e6, rel=1e-9)
    assert category(result, "unmet_demand") == pytest.approx(12_000e6, rel=1e-9)
    unmet = result.demand.loc[result.demand["workload"] == "training", "unmet_units"].tolist()
    assert unmet == [200_000] * 6 + [0] * 6


@pytest.mark.parametrize(
    ("price", "blocks", "total"),
    [
        # Second block: 100 MW x $4M = $400M a month, less than the $500M a month of 50 MW unmet.
        # Total 12 x 200 MW x $4M = $9,600M (1 block + unmet would be $4,800M + $6,000M = $10,800M).
        (4_000_000, 2, 9_600e6),
        # At $6M the second block costs $600M a month > $500M: 1 block + 50 MW unmet,
        # 12 x 100 MW x $6M + 12 x 50 MW x $10M = $7,200M + $6,000M = $13,200M
        # (2 blocks: $14,400M; no block: 12 x 150 x $10M = $18,000M).
        (6_000_000, 1, 13_200e6),
    ],
)
def test_blocks_are_integral(price, blocks, total):
    """Demand of 150 MW all year, blocks of 100 MW with a 12-month term: 1.5 blocks cannot be bought."""
    inst = make_instance(demand=training({"2026-01": 150_000}),
                         hyperscaler_contracts=contract(ramp_mw={"2026-01": 300}, min_term_months=12,
                                                        price_usd_per_mw_month=price))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [blocks] + [0] * 11
    assert plan_of(result, "cloud", "mw_online") == [100 * blocks] * 12
    assert result.objective_usd == pytest.approx(total, rel=1e-9)
    unmet = result.demand.loc[result.demand["workload"] == "training", "unmet_units"].tolist()
    assert unmet == [max(0, 150_000 - 100_000 * blocks)] * 12


def test_a_minimum_term_is_a_minimum():
    """Demand of 100 MW in January-April only; a 100 MW block with a 3-month minimum term at $1M per MW-month.

    One block, held 4 months and released: 4 x $100M = $400M (an exact 3-month term needed two blocks, 6 months
    paid: $600M). Unmet demand would cost $1,000M a month, so every month is served."""
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-05": 0}),
                         hyperscaler_contracts=contract(min_term_months=3))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [1] + [0] * 11
    assert plan_of(result, "cloud", "mw_online") == [100] * 4 + [0] * 8
    assert result.objective_usd == pytest.approx(400e6, rel=1e-9)


def test_a_block_is_held_at_least_its_minimum_term():
    """Demand of 100 MW in January only; a 100 MW block with a 3-month minimum term at $1M per MW-month: held
    and paid January-March, $300M, less than the $1,000M of unmet demand."""
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-02": 0}),
                         hyperscaler_contracts=contract(min_term_months=3))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [100] * 3 + [0] * 9
    assert result.objective_usd == pytest.approx(300e6, rel=1e-9)


def test_take_or_pay_after_the_horizon_is_charged_and_what_it_buys_is_valued():
    """Demand of 100 MW in November and December only; a block has a 12-month minimum term at $1M per MW-month.

    A block committed in month t (0-based) must cover months 10 and 11, so t <= 10. It owes 12 months: 12 - t
    inside the horizon and t after it, which buy t months of the block after the horizon; the end-of-horizon rule
    values them at what the same service costs new then, the contract's own price, so they cancel. Net: the
    months inside the horizon, (12 - t) x $100M, least at t = 10: $200M (against $2,000M unmet). Optimum: commit
    1 block in 2026-11; the cost table shows $200M of contracts in the horizon, $1,000M of take-or-pay after it
    (months 12..21) and -$1,000M of its value.
    """
    inst = make_instance(demand=training({"2026-01": 0, "2026-11": 100_000}),
                         hyperscaler_contracts=contract(min_term_months=12))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [0] * 10 + [1, 0]
    assert plan_of(result, "cloud", "mw_online") == [0] * 10 + [100, 100]
    assert result.objective_usd == pytest.approx(200e6, rel=1e-9)
    assert category(result, "contracts") == pytest.approx(200e6, rel=1e-9)
    assert category(result, "take_or_pay_after_horizon") == pytest.approx(1_000e6, rel=1e-9)
    assert category(result, "salvage") == pytest.approx(-1_000e6, rel=1e-9)


def test_a_long_block_committed_in_the_last_month_costs_that_month():
    """Demand of 100 MW in December only, at 8% a year; a 60-month block at $1M per MW-month.

    Committed in December it owes 59 months after the horizon: at the horizon end (2027-01) they are worth
    $100M x sum_{k=0..58} 1.08^(-k/12) = $100M x 49.28 (each month's payment at its start), discounted by
    1.08^-1 to the start; the block's service in those months is valued at the same price, so it nets out. The
    block is neither free nor charged for 59 months it does not serve: the NPC is December's payment,
    $100M x 1.08^(-11/12) = $93.19M (against $1,000M x 1.08^(-11/12) unmet).
    """
    inst = make_instance(horizon={"discount_rate_per_year": 0.08},
                         demand=training({"2026-01": 0, "2026-12": 100_000}),
                         hyperscaler_contracts=contract(min_term_months=60))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "new_units") == [0] * 11 + [1]
    december = 100e6 * 1.08 ** (-11 / 12)
    owed = 100e6 * sum(1.08 ** (-k / 12) for k in range(59)) / 1.08
    assert result.objective_usd == pytest.approx(december, rel=1e-9)
    assert category(result, "take_or_pay_after_horizon") == pytest.approx(owed, rel=1e-9)
    assert category(result, "salvage") == pytest.approx(-owed, rel=1e-9)


# --- blocks held at the start of the horizon ------------------------------------------------------------------

def test_blocks_held_at_the_start_are_paid_for_the_term_they_have_left():
    """One 100 MW block held at the start with 3 months of its term left, no demand: it is held and paid January-
    March (3 x $100M, an obligation still running, not sunk) and released in April: $300M, no new commitment."""
    inst = make_instance(hyperscaler_contracts=contract(min_term_months=12,
                                                        held_at_start={"blocks": 1, "term_left_months": 3}))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [100] * 3 + [0] * 9
    assert plan_of(result, "cloud", "new_units") == [0] * 12
    assert result.objective_usd == pytest.approx(300e6, rel=1e-9)


def test_blocks_held_at_the_start_past_their_term_are_kept_while_needed():
    """The same block past its minimum term (0 months left) and demand of 100 MW in January-June: kept six months
    and released, $600M; committing it again would have meant a new 12-month term."""
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-07": 0}),
                         hyperscaler_contracts=contract(min_term_months=12,
                                                        held_at_start={"blocks": 1, "term_left_months": 0}))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [100] * 6 + [0] * 6
    assert result.objective_usd == pytest.approx(600e6, rel=1e-9)


def test_a_start_holding_owed_past_the_horizon_is_shown_with_its_value():
    """A block held at the start with 24 months left, in a 12-month horizon with no demand: paid all year ($1,200M)
    and owed 12 months after the horizon ($1,200M of take-or-pay, valued at the same price: -$1,200M)."""
    inst = make_instance(hyperscaler_contracts=contract(min_term_months=24,
                                                        held_at_start={"blocks": 1, "term_left_months": 24}))
    result = solve_optimal(inst)
    assert plan_of(result, "cloud", "mw_online") == [100] * 12
    assert result.objective_usd == pytest.approx(1_200e6, rel=1e-9)
    assert category(result, "take_or_pay_after_horizon") == pytest.approx(1_200e6, rel=1e-9)
    assert category(result, "salvage") == pytest.approx(-1_200e6, rel=1e-9)


@pytest.mark.parametrize(("held", "message"), [
    ({"blocks": 1, "term_left_months": 13}, r"held_at_start.term_left_months \(13\) exceeds min_term_months \(12\)"),
    ({"blocks": 2, "term_left_months": 1}, "held_at_start.blocks: 2 blocks of 100 MW exceed the 100 MW of the "
                                           "provider's ramp at the horizon start"),
])
def test_a_start_holding_is_checked(held, message):
    from solver import InstanceError

    with pytest.raises(InstanceError, match=message):
        make_instance(hyperscaler_contracts=contract(min_term_months=12, held_at_start=held))
