"""Fixed-block leases: the availability window, one signing, ramp-in fees, notice, minimum term, schema checks.

Every optimum below is worked out by hand from the tiny base instance of ``conftest.py`` (12 monthly periods in
2026, no discounting, 1 MW of gen1 = 1,000 compute units, unmet demand $10,000 per unit-month). The lease is a
100 MW block at $100M a month, so a month of the block ($100M) is always cheaper than a month of its 100 MW of
demand left unmet (100,000 units x $10,000 = $1,000M).
"""

from __future__ import annotations

import pytest
from conftest import category, make_instance, plan_of, solve_optimal, training

from solver import InstanceError

FEE = 100e6  # $ per month for the 100 MW block
UNMET_100_MW_MONTH = 100_000 * 10_000  # $1,000M: the block's 100 MW of demand unmet for one month


def lease(**fields) -> dict:
    """A 100 MW gen1 block at $100M a month, available all of 2026, 1-month term, 1-month notice."""
    spec = {"hardware": "gen1", "size_mw": 100, "fee_usd_per_month": FEE, "available_from": "2026-01",
            "end": "2026-12", "min_term_months": 1, "notice_months": 1}
    return {"colossus": spec | fields}






def events(result) -> list[str]:
    return plan_of(result, "colossus", "event")


def test_availability_window_is_respected():
    """Demand of 100 MW all year; the block is available from 2026-03 and ends 2026-10.

    The block can only be on in March-October (8 months): it is signed in 2026-03 when it becomes available and
    runs out by itself at its end (no notice needed). Cost: 8 x $100M = $800M of fees plus 4 months (January,
    February, November, December) of 100 MW unmet = 4 x $1,000M; total $4,800M.
    """
    inst = make_instance(demand=training({"2026-01": 100_000}),
                         fixed_block_leases=lease(available_from="2026-03", end="2026-10"))
    result = solve_optimal(inst)
    assert plan_of(result, "colossus", "mw_online") == [0, 0] + [100] * 8 + [0, 0]
    assert events(result) == ["", "", "signed"] + [""] * 9
    assert plan_of(result, "colossus", "new_units") == [0, 0, 1] + [0] * 9
    assert category(result, "leases") == pytest.approx(800e6, rel=1e-9)
    assert result.objective_usd == pytest.approx(800e6 + 4 * UNMET_100_MW_MONTH, rel=1e-9)


def test_signed_at_most_once():
    """Demand of 100 MW in January-February and again in June-July; the block is available from 2026-01.

    Signing twice (January, June) would cost 4 x $100M = $400M, but a block is signed once. Options left:
    hold it January-July through the gap, 7 x $100M = $700M, with notice in 2026-07 (1-month notice: it is off
    from August); or hold it January-February only and leave June-July unmet, 2 x $100M + 2 x $1,000M = $2,200M;
    or sign in June only, 2 x $100M + 2 x $1,000M as well. Optimum: signed 2026-01, notice 2026-07, cost $700M.
    """
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-03": 0, "2026-06": 100_000, "2026-08": 0}),
                         fixed_block_leases=lease())
    result = solve_optimal(inst)
    assert events(result) == ["signed"] + [""] * 5 + ["notice"] + [""] * 5
    assert sum(plan_of(result, "colossus", "new_units")) == 1
    assert plan_of(result, "colossus", "mw_online") == [100] * 7 + [0] * 5
    assert result.objective_usd == pytest.approx(700e6, rel=1e-9)


@pytest.mark.parametrize(
    ("available_from", "expected"),
    [
        # Signed in 2026-01: 0.5 F + 0.75 F + 10 F = 11.25 F = $1,125M.
        ("2026-01", 11.25 * FEE),
        # Signed in 2026-04 (month 3): 0.5 F + 0.75 F + 7 F = 8.25 F = $825M of fees, plus January-March unmet,
        # 3 x $1,000M; total $3,825M.
        ("2026-04", 8.25 * FEE + 3 * UNMET_100_MW_MONTH),
    ],
)
def test_ramp_in_fee_share(available_from, expected):
    """Demand of 100 MW all year; the fee is 50% in the first month after signing and 75% in the second.

    The block is signed as soon as it is available and kept to its end (2026-12).
    """
    inst = make_instance(demand=training({"2026-01": 100_000}),
                         fixed_block_leases=lease(available_from=available_from, ramp_in_fee_share=[0.5, 0.75],
                                                  min_term_months=3, notice_months=3))
    result = solve_optimal(inst)
    first = int(available_from[5:]) - 1
    assert plan_of(result, "colossus", "new_units") == [0] * first + [1] + [0] * (11 - first)
    assert "notice" not in events(result)
    assert result.objective_usd == pytest.approx(expected, rel=1e-9)


def test_notice_given_three_months_before_demand_stops():
    """Demand of 100 MW from 2026-01 to 2026-08, none from 2026-09; 3-month notice, 3-month minimum term.

    Notice in month k (0-based) ends the block at k + 3 (on through k + 2). Demand stops at month 8 (September).
    - Keep the block to its end: 12 x $100M = $1,200M.
    - Notice in 2026-06 (k = 5): on January-August, 8 x $100M = $800M, all demand met.
    - Notice in 2026-05 (k = 4): 7 x $100M + August unmet $1,000M = $1,700M.
    - Notice in 2026-07 (k = 6): 9 x $100M = $900M.
    Optimum: signed 2026-01, notice 2026-06 (exactly 3 months before September), cost $800M.
    """
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-09": 0}),
                         fixed_block_leases=lease(min_term_months=3, notice_months=3))
    result = solve_optimal(inst)
    assert events(result) == ["signed"] + [""] * 4 + ["notice"] + [""] * 6
    assert plan_of(result, "colossus", "mw_online") == [100] * 8 + [0] * 4
    assert result.objective_usd == pytest.approx(800e6, rel=1e-9)
    assert category(result, "leases") == pytest.approx(800e6, rel=1e-9)


def test_minimum_term_binds():
    """Demand of 100 MW in January-February only; 6-month minimum term, 3-month notice.

    Signing in 2026-01 (the only month covering January) commits to 6 months, 2026-01..2026-06: notice at k
    needs k + 3 - 6 >= 0, so the earliest notice is 2026-04 (k = 3 = sign + 6 - 3), ending the block at July.
    Cost 6 x $100M = $600M, against 2 x $1,000M = $2,000M for leaving the demand unmet.
    Optimum: signed 2026-01, notice 2026-04, on January-June, cost $600M.
    """
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-03": 0}),
                         fixed_block_leases=lease(min_term_months=6, notice_months=3))
    result = solve_optimal(inst)
    assert events(result) == ["signed", "", "", "notice"] + [""] * 8
    assert plan_of(result, "colossus", "mw_online") == [100] * 6 + [0] * 6
    assert result.objective_usd == pytest.approx(600e6, rel=1e-9)


def test_notice_of_zero_months_ends_the_block_at_once():
    """Demand of 100 MW in January-May; notice 0 months, minimum term 2 months.

    With no notice period, notice in month k ends the block in month k itself: notice in 2026-06 (k = 5),
    on January-May, 5 x $100M = $500M (minimum term 2 <= 5 holds).
    """
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-06": 0}),
                         fixed_block_leases=lease(min_term_months=2, notice_months=0))
    result = solve_optimal(inst)
    assert events(result) == ["signed"] + [""] * 4 + ["notice"] + [""] * 6
    assert plan_of(result, "colossus", "mw_online") == [100] * 5 + [0] * 7
    assert result.objective_usd == pytest.approx(500e6, rel=1e-9)


def test_lease_ending_after_the_horizon_is_charged_inside_it_only():
    """Demand of 100 MW in November-December; the block is available from 2026-11 to 2027-12 with a 6-month
    minimum term and 3-month notice.

    Signed in 2026-11 it runs past the horizon; as for contracts, fees after 2026-12 are not charged (the capacity
    they buy lies after the horizon too): 2 x $100M = $200M, against 2 x $1,000M unmet. No notice can end it
    inside the horizon (notice at k needs k + 3 - 6 >= 10). Optimum: signed 2026-11, cost $200M.
    """
    inst = make_instance(demand=training({"2026-01": 0, "2026-11": 100_000}),
                         fixed_block_leases=lease(available_from="2026-11", end="2027-12", min_term_months=6,
                                                  notice_months=3))
    result = solve_optimal(inst)
    assert events(result) == [""] * 10 + ["signed", ""]
    assert plan_of(result, "colossus", "mw_online") == [0] * 10 + [100, 100]
    assert result.objective_usd == pytest.approx(200e6, rel=1e-9)


def test_schema_rejects_notice_longer_than_minimum_term():
    with pytest.raises(InstanceError, match=r"notice_months \(4\) exceeds min_term_months \(3\)"):
        make_instance(fixed_block_leases=lease(min_term_months=3, notice_months=4))


def test_schema_rejects_end_before_available_from():
    with pytest.raises(InstanceError, match="end 2026-03 precedes available_from 2026-05"):
        make_instance(fixed_block_leases=lease(available_from="2026-05", end="2026-03"))


# --- offer terms: an offer that expires, no exit clause, the provider's notice ---------------------------------

def test_an_offer_that_expires_is_signed_in_time_or_not_at_all():
    """Demand of 100 MW from 2026-06 only; 1-month term, no notice needed at the end.

    Without a deadline the block is signed in 2026-06 and held 7 months: $700M. Signed by 2026-03 at the latest,
    it is signed in March and idle until June: 10 months x $100M = $1,000M, still below 7 x $1,000M unmet."""
    demand = training({"2026-01": 0, "2026-06": 100_000})
    free = solve_optimal(make_instance(demand=demand, fixed_block_leases=lease()))
    assert events(free)[5] == "signed" and free.objective_usd == pytest.approx(700e6, rel=1e-9)
    expiring = solve_optimal(make_instance(demand=demand, fixed_block_leases=lease(sign_by="2026-03")))
    assert events(expiring)[2] == "signed"
    assert plan_of(expiring, "colossus", "mw_online") == [0, 0] + [100] * 10
    assert expiring.objective_usd == pytest.approx(1_000e6, rel=1e-9)


def test_without_an_exit_clause_the_block_runs_to_its_end():
    """Demand of 100 MW in January-March only; 1-month term and notice.

    With the clause: signed in January, notice in March, off from April: 3 x $100M = $300M. Without it the block
    runs to December once signed: 12 x $100M = $1,200M, still below 3 x $1,000M unmet. The exit is worth $900M."""
    demand = training({"2026-01": 100_000, "2026-04": 0})
    with_exit = solve_optimal(make_instance(demand=demand, fixed_block_leases=lease()))
    assert with_exit.objective_usd == pytest.approx(300e6, rel=1e-9)
    locked = solve_optimal(make_instance(demand=demand, fixed_block_leases=lease(exit_allowed=False)))
    assert plan_of(locked, "colossus", "mw_online") == [100] * 12
    assert "notice" not in events(locked)
    assert locked.objective_usd == pytest.approx(1_200e6, rel=1e-9)


def test_the_providers_notice_ends_the_block_after_the_notice_period():
    """Demand of 100 MW all year; 6-month minimum term, 3-month notice; the provider gives notice in 2026-06.

    The block ends after August (June + 3 months - 1), whoever holds it: signed in January, on January-August
    (8 x $100M), September-December unmet (4 x $1,000M): $4,800M. Signing in May would still be allowed (its
    6-month term fits before the lease's own end); the provider's notice releases it."""
    inst = make_instance(demand=training({"2026-01": 100_000}),
                         fixed_block_leases=lease(min_term_months=6, notice_months=3, provider_notice_month="2026-06"))
    result = solve_optimal(inst)
    assert plan_of(result, "colossus", "mw_online") == [100] * 8 + [0] * 4
    assert result.objective_usd == pytest.approx(8 * FEE + 4 * UNMET_100_MW_MONTH, rel=1e-9)


@pytest.mark.parametrize(("field", "month"), [("sign_by", "2025-12"), ("provider_notice_month", "2027-01")])
def test_schema_rejects_offer_months_outside_the_lease(field, month):
    with pytest.raises(InstanceError, match=f"{field} {month} lies outside the lease's months 2026-01..2026-12"):
        make_instance(fixed_block_leases=lease(**{field: month}))


def test_schema_rejects_a_word_for_exit_allowed():
    with pytest.raises(InstanceError, match="exit_allowed"):
        make_instance(fixed_block_leases=lease(exit_allowed="no"))


def test_a_ramp_in_discount_past_the_providers_notice_is_no_income():
    """No demand; a free first three months (ramp-in shares 0, 0, 0) on a 3-month minimum term; the provider's
    notice in 2026-06 ends the block after June (1-month notice). Signed in May, the block would be held May-June
    only: the discounts of July (month 3 after signing is the first full fee anyway) and of the months after the
    end must not be income. Nothing is worth signing: the cost is $0, not the -$100M a discount on a month not held
    would give."""
    inst = make_instance(fixed_block_leases=lease(min_term_months=3, notice_months=1, ramp_in_fee_share=[0, 0, 0],
                                                  provider_notice_month="2026-06"))
    result = solve_optimal(inst)
    assert result.objective_usd == pytest.approx(0.0, abs=1e-3)


def held_lease(**fields) -> dict:
    """The block signed in 2025-11, two months before the horizon: 6-month term (November-April), 1-month notice,
    half fee in the first three months (November, December and January)."""
    return lease(available_from="2025-06", min_term_months=6, ramp_in_fee_share=[0.5, 0.5, 0.5],
                 held_at_start={"signed": "2025-11"}, **fields)


def test_a_block_signed_before_the_start_is_held_for_the_term_it_has_left():
    """No demand. The block signed in 2025-11 must be held through April (its 6-month term), so the earliest
    notice is in April (1-month notice: off from May). Fees: January at half (the third ramp-in month), February to
    April in full: 0.5 F + 3 F = 3.5 F = $350M. Nothing is signed again."""
    result = solve_optimal(make_instance(fixed_block_leases=held_lease()))
    assert plan_of(result, "colossus", "mw_online") == [100] * 4 + [0] * 8
    assert events(result) == [""] * 3 + ["notice"] + [""] * 8
    assert category(result, "leases") == pytest.approx(3.5 * FEE, rel=1e-9)
    assert result.objective_usd == pytest.approx(3.5 * FEE, rel=1e-9)


def test_a_block_held_at_the_start_serves_from_the_first_month_and_is_not_signed_again():
    """Demand of 200 MW all year: the held block serves 100 MW all year at 0.5 F + 11 F = $1,150M; it cannot be
    signed a second time, so the other 100 MW go unmet, 12 x $1,000M."""
    result = solve_optimal(make_instance(demand=training({"2026-01": 200_000}), fixed_block_leases=held_lease()))
    assert plan_of(result, "colossus", "mw_online") == [100] * 12
    assert sum(plan_of(result, "colossus", "new_units")) == 0
    assert result.objective_usd == pytest.approx(11.5 * FEE + 12 * UNMET_100_MW_MONTH, rel=1e-9)


@pytest.mark.parametrize(("fields", "message"), [
    ({"held_at_start": {"signed": "2026-02"}},
     "fixed_block_leases.colossus.held_at_start.signed: expected a month before the horizon start 2026-01"),
    ({"held_at_start": {"signed": "2025-05"}}, "held_at_start.signed: 2025-05 precedes available_from 2025-06"),
    ({"held_at_start": {"signed": "2025-09"}, "end": "2026-01", "min_term_months": 6},
     "the 6-month minimum term from 2025-09 runs past the lease's end 2026-01"),
    ({"held_at_start": {"signed": "2025-06"}, "end": "2025-12", "min_term_months": 6},
     "fixed_block_leases.colossus.end: a lease held at the start ended in 2025-12"),
])
def test_schema_rejects_a_lease_held_at_the_start_that_cannot_be(fields, message):
    spec = lease(available_from="2025-06", min_term_months=1)["colossus"] | fields
    with pytest.raises(InstanceError, match=message):
        make_instance(fixed_block_leases={"colossus": spec})
