"""Segmented time grids: months near the start, coarser periods later.

Every duration is in months and is mapped onto the periods from where it starts, so it does not drift at a change
of period length. Each rule below is worked out by hand across a boundary. The last tests solve an instance whose
data is constant within the coarse periods: it must have the same cost and the same decisions, as dates, on the
monthly grid and on the segmented one.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_costs, contract, make_instance, solve_optimal, training
from test_builds import site, terrestrial

import models.contracts
from solver import InstanceError, solve
from solver.timegrid import TimeGrid, parse_grid

# Months through 2026, quarters through 2027, years to 2029.
SEGMENTS = [{"period": "month", "until": "2026-12"}, {"period": "quarter", "until": "2027-12"}, {"period": "year"}]
HORIZON = {"start": "2026-01", "end": "2029-12", "period": SEGMENTS, "discount_rate_per_year": 0.0}


def grid(**horizon) -> TimeGrid:
    return TimeGrid(make_instance(horizon=HORIZON | horizon).horizon)


def test_the_periods_of_a_segmented_grid():
    g = grid()
    assert g.n_periods == 12 + 4 + 2
    assert g.labels[11:14] == ["2026-12", "2027-01", "2027-04"]
    assert g.labels[-2:] == ["2028-01", "2029-01"]
    assert list(g.months[10:18]) == [1, 1, 3, 3, 3, 3, 12, 12]
    assert g.end_month - g.start_month == 48
    assert list(g.year[-3:]) == [2027, 2028, 2029]


def test_durations_are_counted_in_months_across_a_boundary():
    g = grid()
    nov = g.labels.index("2026-11")
    # 2026-11 + 4 months = 2027-03, inside 2027-Q1: the first period starting at or after it is 2027-Q2.
    assert g.labels[g.after(nov, 4)] == "2027-04"
    # + 2 months = 2027-01, a quarter's start: exact.
    assert g.labels[g.after(nov, 2)] == "2027-01"
    # From 2027-Q4, 3 months is 2028-01 (a year's start), 4 months rounds up to 2029-01.
    q4 = g.labels.index("2027-10")
    assert g.labels[g.after(q4, 3)] == "2028-01" and g.labels[g.after(q4, 4)] == "2029-01"
    # Past the horizon end the grid goes on in years: 2029-01 + 18 months = 2030-07, rounded up to 2031-01,
    # two periods past the last.
    assert g.after(g.n_periods - 1, 18) == g.n_periods + 1
    assert g.boundary(g.n_periods + 1) == g.end_month + 12
    # Read in the starting period's length (a month), 4 months would be 4 periods: 2027-Q3, a quarter late.
    assert g.labels[nov + 4] == "2027-07"


def test_dates_round_to_periods_as_availability_ends_and_deadlines():
    g = grid()
    assert g.labels[g.first_period_from("2027-02")] == "2027-04"  # available from: the next period's start
    assert g.labels[g.last_period_until("2027-05")] == "2027-01"  # ends: the last period over by then
    assert g.labels[g.last_period_until("2027-06")] == "2027-04"
    assert g.labels[g.last_period_starting_by("2028-06")] == "2028-01"  # a deadline: the period it falls in


def test_a_monthly_payment_is_discounted_alike_on_every_grid():
    """$1 a month for 4 years at 8%: each month's factor 1.08^(-m/12), summed, whatever the periods."""
    monthly = TimeGrid(make_instance(horizon=HORIZON | {"period": "month", "discount_rate_per_year": 0.08}).horizon)
    segmented = grid(discount_rate_per_year=0.08)
    expected = sum(1.08 ** (-m / 12) for m in range(48))
    assert float(monthly.discount_accruing @ monthly.months) == pytest.approx(expected, rel=1e-12)
    assert float(segmented.discount_accruing @ segmented.months) == pytest.approx(expected, rel=1e-12)
    # A lump sum in 2028 is paid at 2028-01: two years out.
    assert segmented.discount[segmented.labels.index("2028-01")] == pytest.approx(1.08 ** -2)
    assert segmented.discount_end == pytest.approx(1.08 ** -4)


@pytest.mark.parametrize(("changes", "message"), [
    ([{"period": "month"}, {"period": "year"}], "period.0.until: expected the segment's last month"),
    ([{"period": "month", "until": "2027-12"}, {"period": "month", "until": "2026-06"}, {"period": "year"}],
     "period.1.until: 2026-06 is before the segment's first month 2028-01"),
    ([{"period": "month", "until": "2026-12"}, {"period": "year", "until": "2028-12"}],
     "period.1.until: expected the last segment to end at the horizon end 2029-12, got 2028-12"),
    ([{"period": "month", "until": "2026-12"}, {"period": "year", "until": "2031-12"}, {"period": "year"}],
     "period.1.until: 2031-12 is after the horizon end 2029-12"),
    ([{"period": "month", "until": "2026-12"}, {"period": "quarter", "until": "2027-11"}, {"period": "year"}],
     "period.1: 11 months from 2027-01 to 2027-11 is not a whole number of quarters"),
    ([{"period": "month", "until": "2026-06"}, {"period": "year", "until": "2028-06"}, {"period": "month"}],
     "period.1: years from 2026-07 cross a calendar year"),
])
def test_bad_segments_are_one_line_errors(changes, message):
    with pytest.raises(InstanceError) as caught:
        make_instance(horizon=HORIZON | {"period": changes})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_grid_on_one_line():
    assert parse_grid("quarter") == "quarter"
    assert parse_grid("month:2026-12,quarter:2027-12,year") == SEGMENTS
    with pytest.raises(ValueError, match="got 'week'"):
        parse_grid("month:2026-12,week")


# --- rules across a boundary, solved and audited --------------------------------------------------------------------

def test_a_contract_term_is_rounded_up_to_the_grid_it_ends_on():
    """A 100 MW block ($1M per MW-month) offered from 2026-12, wanted in 2026-12 only, with a 5-month term: the
    term ends at 2027-05, inside 2027-Q2, so the block is held 2026-12, 2027-Q1 and 2027-Q2: 7 months, $700M.
    On the monthly grid it is held its 5 months ($500M): a coarse period rounds a term up, never down."""
    changes = {"demand": training({"2026-01": 0, "2026-12": 100_000, "2027-01": 0}),
               "hyperscaler_contracts": contract(min_term_months=5, ramp_mw={"2026-01": 0, "2026-12": 100})}
    segmented = solve_optimal(make_instance(horizon=HORIZON, **changes))
    assert_costs(segmented, {"contracts": 700e6})
    held = segmented.plan.set_index("period")["mw_online"]
    assert held["2026-12"] == held["2027-01"] == held["2027-04"] == 100 and held["2027-07"] == 0
    monthly = solve_optimal(make_instance(horizon=HORIZON | {"period": "month"}, **changes))
    assert_costs(monthly, {"contracts": 500e6})


def test_the_audit_reads_a_term_across_the_boundary(monkeypatch):
    """A planted bug: the 4-month term of a block committed in 2026-11 read as one period. The plan holds the
    block in 2026-11 only; the audit, counting the term in months to 2027-Q1, flags it."""
    def one_period(parts, name):
        d = real(parts, name)
        return d | {"bound_until": np.arange(len(d["bound_until"])) + 1}
    real = models.contracts.contract_arrays
    monkeypatch.setattr(models.contracts, "contract_arrays", one_period)
    result = solve(make_instance(horizon=HORIZON, demand=training({"2026-01": 0, "2026-11": 100_000, "2026-12": 0}),
                                 hyperscaler_contracts=contract(min_term_months=4,
                                                                ramp_mw={"2026-01": 0, "2026-11": 100})))
    assert result.status == "suspect" and "contract minimum term broken by" in result.message, result.message


def test_a_lease_notice_ends_the_block_at_the_quarter_after_it_runs_out():
    """A 100 MW lease ($10M a month, 4-month term and notice) offered from and wanted in 2026-11 only: signed
    then, notice at once; 4 months on is 2027-03, inside 2027-Q1, so the block is held 2026-11, 2026-12 and
    2027-Q1: 5 months, $50M. Read as 4 periods of the starting month's length, it would be held through 2027-Q2
    ($80M)."""
    lease = {"hardware": "gen1", "size_mw": 100, "available_from": "2026-11", "end": "2029-12",
             "fee_usd_per_month": 10e6, "min_term_months": 4, "notice_months": 4}
    result = solve_optimal(make_instance(horizon=HORIZON, demand=training({"2026-01": 0, "2026-11": 100_000,
                                                                          "2026-12": 0}),
                                         fixed_block_leases={"colossus": lease}))
    assert_costs(result, {"leases": 50e6})
    rows = result.plan.set_index("period")
    assert rows.loc["2026-11", "event"] == "signed" and rows.loc["2027-01", "mw_online"] == 100
    assert rows.loc["2027-04", "mw_online"] == 0


@pytest.mark.parametrize(("lead_months", "decided"), [(4, "2026-12"), (5, "2026-11"), (6, "2026-10")])
def test_a_lead_time_across_the_boundary(lead_months, decided):
    """A 10 MW module wanted from 2027-04 (2027-Q2), at 8%: decided as late as it is online in time. With a
    4-month lead, 2026-12 + 4 = 2027-04; with 5 months, 2026-12 + 5 = 2027-05 is inside Q2 and would be online
    only from Q3, so it is decided in 2026-11 (+5 = 2027-04); with 6, in 2026-10. Online from 2027-Q2, not
    before: a decision in 2026-10 with a 5-month lead (2027-03, in Q1) is online from Q2, not from 2027-03."""
    result = solve_optimal(make_instance(
        horizon=HORIZON | {"discount_rate_per_year": 0.08}, demand=training({"2026-01": 0, "2027-04": 10_000}),
        terrestrial=terrestrial({"a": site(lead_time_months=lead_months)}, facility_life_years=10)), mip_gap=0.0)
    rows = result.plan.set_index("period")
    assert rows.loc[decided, "new_units"] == 1 and rows["new_units"].sum() == 1
    assert rows.loc["2027-01", "mw_online"] == 0 and rows.loc["2027-04", "mw_online"] == 10


# --- the same answer on a fine and on a coarse grid when nothing changes within the coarse periods ---------------

def _constant_within_coarse_periods(period) -> dict:
    """Demand stepping only at years' starts, a contract whose term and a build whose lead and GPU life are whole
    years, 8% discounting: the monthly optimum is a plan of the coarse grid, and every date of it (commitments,
    releases, modules online, refreshes, lives running out past the end) falls on a period start of both. (A
    module online mid-year on a grid of years would have its refresh, and its life past the end, rounded up to
    a year: what a coarse grid costs in fidelity, measured in benchmarks/, not a rule broken.)"""
    return dict(
        horizon=HORIZON | {"period": period, "discount_rate_per_year": 0.08},
        demand=training({"2026-01": 50_000, "2027-01": 150_000, "2028-01": 300_000, "2029-01": 350_000}),
        hyperscaler_contracts=contract(ramp_mw={"2026-01": 1000}, block_mw=50, min_term_months=12,
                                       price_usd_per_mw_month=2_000_000),
        terrestrial=terrestrial({"a": site(lead_time_months=12, module_mw=100, grid_power_mw=1000)},
                                gpu_life_years=2),
    )


def test_a_monthly_and_a_segmented_grid_agree_when_nothing_changes_within_a_coarse_period():
    monthly = solve_optimal(make_instance(**_constant_within_coarse_periods("month")), mip_gap=1e-9)
    segmented = solve_optimal(make_instance(**_constant_within_coarse_periods(SEGMENTS)), mip_gap=1e-9)
    assert segmented.objective_usd == pytest.approx(monthly.objective_usd, rel=1e-9)

    def decisions(result):
        plan = result.plan
        return plan.loc[plan["new_units"] > 1e-6, ["period", "source", "new_units"]].reset_index(drop=True)
    assert decisions(segmented).equals(decisions(monthly)), (decisions(monthly), decisions(segmented))
    assert len(decisions(monthly)) >= 3  # the test means something: blocks and modules at several dates


def test_the_teaching_case_on_a_segmented_grid_solves_and_audits():
    """Every source kind at once (contracts, a lease, builds, satellites with decay and a learning curve, resale)
    on months through 2026-06 and quarters after: the audit, reading every rule with its own calendar, agrees
    with the model, and demand is served or reported unmet in every period, each of its own length."""
    from conftest import INSTANCES

    from solver.instance import load_instance, with_changes
    instance = with_changes(load_instance(INSTANCES / "small.yaml"), {"horizon.period": parse_grid(
        "month:2026-06,quarter")})
    result = solve_optimal(instance)
    assert result.audit["max_violation"] < 1e-5
    assert list(result.demand.drop_duplicates("period")["months"]) == [1] * 6 + [3] * 6
    assert set(result.plan["kind"]) >= {"hyperscaler_contract", "own_build", "orbital"}
