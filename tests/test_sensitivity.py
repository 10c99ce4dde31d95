"""Tornado and break-even on the tiny instance, where every number is worked out by hand.

The tiny base (``conftest.py``): 12 months of 2026, no discounting, 1 MW of gen1 serves 1,000 compute units,
unmet demand costs $10,000 per unit-month, so 1 MW unmet for a month costs $10M.
"""

from __future__ import annotations

import math

import pytest
from conftest import contract, make_instance, training

from solver.instance import InstanceError, with_changes
from solver.params import Parameter, apply, check, parse_param
from solver.sensitivity import breakeven, tornado

PRICE = "hyperscaler_contracts.cloud.price_usd_per_mw_month"


def test_parse_param_forms():
    assert parse_param("a.b=1:2") == Parameter(path="a.b", low=1.0, high=2.0)
    assert parse_param("a.b*=0.5:1.5") == Parameter(path="a.b", low=0.5, high=1.5, scale=True)
    for bad in ("a.b", "a.b=1", "a.b=x:2", "=1:2"):
        with pytest.raises(InstanceError):
            parse_param(bad)


def test_scale_multiplies_every_number_under_the_path_but_not_the_keys():
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-07": 200_000}))
    scaled = apply(inst, {Parameter(path="demand.training.series_units", low=0, high=2, scale=True): 1.5})
    assert scaled.demand.training.series_units == {"2026-01": 150_000, "2026-07": 300_000}
    assert scaled.demand.training.unmet_penalty_usd_per_unit_month == 10_000  # outside the path: untouched


def test_bad_paths_and_ranges_are_one_line_errors_before_any_solve():
    inst = make_instance(hyperscaler_contracts=contract())
    with pytest.raises(InstanceError, match=r"hyperscaler_contracts\.clod\.price_usd_per_mw_month: no field 'clod' "
                                            r"\(known under hyperscaler_contracts: cloud\)"):
        check(inst, [Parameter(path="hyperscaler_contracts.clod.price_usd_per_mw_month", low=1, high=2)])
    with pytest.raises(InstanceError, match="price_usd_per_mw_month=-1"):  # an end the schema rejects
        check(inst, [Parameter(path=PRICE, low=-1, high=2)])
    with pytest.raises(InstanceError, match="LOW <= HIGH"):
        check(inst, [Parameter(path=PRICE, low=3, high=2)])
    with pytest.raises(InstanceError, match="needs a numeric field"):
        check(inst, [Parameter(path="hyperscaler_contracts.cloud.hardware", low=1, high=2)])


def tornado_instance():
    """100 MW of training demand all year; 50 MW blocks of a 1-month-term contract at $1M per MW-month.

    Base: two blocks every month, 100 MW x 12 x $1M = $1,200M (the contract is far cheaper than the $10M penalty).
    """
    return make_instance(demand=training({"2026-01": 100_000}),
                         hyperscaler_contracts=contract(block_mw=50, ramp_mw={"2026-01": 200}))


def test_tornado_ranks_by_swing_and_names_the_plan_changes():
    """Price $0.5M..$2M: $600M..$2,400M (-600M, +1,200M; swing $1,800M), the plan unchanged.
    Demand x0.5..x1: 50 MW, $600M (-600M), and the base; swing $600M; the low case halves the contract.
    Penalty $20k..$30k per unit-month: the contract is cheaper either way, nothing moves; swing 0.
    """
    result = tornado(tornado_instance(), [
        Parameter(path="demand.training.unmet_penalty_usd_per_unit_month", low=20_000, high=30_000),
        Parameter(path="demand.training.series_units", low=0.5, high=1.0, scale=True),
        Parameter(path=PRICE, low=500_000, high=2_000_000),
    ])
    table = result.table
    assert result.base_usd == pytest.approx(1_200e6, rel=1e-9)
    assert list(table["parameter"]) == [PRICE, "demand.training.series_units (x)",
                                        "demand.training.unmet_penalty_usd_per_unit_month"]
    assert list(table["swing_usd"]) == pytest.approx([1_800e6, 600e6, 0], abs=1e-3)
    assert list(table["delta_low_usd"]) == pytest.approx([-600e6, -600e6, 0], abs=1e-3)
    assert list(table["delta_high_usd"]) == pytest.approx([1_200e6, 0, 0], abs=1e-3)
    assert table.loc[1, "plan_change_low"] == "cloud 1,200->600 MW-months"
    assert table.loc[0, "plan_change_high"] == table.loc[2, "plan_change_low"] == "same sources"


def test_tornado_chart_is_written(tmp_path):
    result = tornado(tornado_instance(), [Parameter(path=PRICE, low=500_000, high=2_000_000)])
    result.plot(tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def breakeven_instance():
    """100 MW of demand in January and February only; one 100 MW block with a 6-month take-or-pay term.

    Taking the block costs 6 x 100 MW x p; leaving both months unmet costs 2 x 100 MW x $10M = $2,000M.
    Break-even: p = $2,000M / 600 = $3,333,333.33 per MW-month; the contract is in the plan below it.
    """
    return make_instance(demand=training({"2026-01": 100_000, "2026-03": 0}),
                         hyperscaler_contracts=contract(min_term_months=6))


@pytest.mark.parametrize("method", ["auto", "bisection"])
def test_breakeven_price_of_a_contract_by_hand(method):
    """The price moves only a cost, linearly, so "auto" locates the break-even by the plans' cost lines: the plan
    at $1M (the block, 600 x p) and at $10M (both months unmet, $2,000M) cross at p = $3,333,333.33; the solve
    there finds no plan below the two lines, so that is the break-even: 3 solves. Bisection to $10,000 takes
    2 + ceil(log2($9M / $10,000)) = 12 and the same crossing."""
    result = breakeven(breakeven_instance(), Parameter(path=PRICE, low=1e6, high=1e7), "cloud", tolerance=1e4,
                       method=method)
    low, high = result.bracket
    assert result.in_plan_below
    assert low <= 2e9 / 600 <= high and high - low <= 1e4
    # The two plans either side cost $600M x p/1M and $2,000M: with the decisions fixed they cross exactly there.
    assert result.value == pytest.approx(2e9 / 600, rel=1e-9)
    # Either plan may come back up to the gap (1e-4 x $2,000M = $0.2M) above the other, on both sides of the
    # crossing, and the costs part at $600 per unit of p: a band 2 x $0.2M / $600 = $667 per MW-month wide.
    assert result.noise_band == pytest.approx(2 * 1e-4 * 2e9 / 600, rel=0.05)
    assert (result.method, len(result.evaluations)) == (("plan lines", 3) if method == "auto" else ("bisection", 12))
    if method == "auto":  # the band is the bracket: where the gap cannot tell the plans apart
        assert high - low == pytest.approx(result.noise_band, rel=1e-9)


def test_a_screened_breakeven_is_searched_on_the_instance_grid_beyond_a_biased_screen():
    """A 4-month minimum term from January: on months the block costs 400 x p against $2,000M unmet, so the
    break-even is p = $5M. On quarters the term ends with the quarter holding its last month (April, Q2): it
    binds for 6 months, 600 x p, and the screen's crossing is $3,333,333. The monthly search starts at that
    crossing plus and minus twice the tolerance ($90,000, 1% of the range, wider than the screen's band of
    2 x 1e-4 x $2,000M / $600 = $667): the block is in the plan at both $3,153,333 and $3,513,333, so the crossing
    is above, and the search goes on over $3,513,333 .. $10M: one solve at $10M, one where the two plans' lines
    cross (400 p = $2,000M). The answer is the monthly one: 3 quarterly solves, then 4 monthly."""
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-03": 0}),
                         hyperscaler_contracts=contract(min_term_months=4))
    result = breakeven(inst, Parameter(path=PRICE, low=1e6, high=1e7), "cloud", screen_grid="quarter")
    assert result.screen.value == pytest.approx(2e9 / 600, rel=1e-9) and result.screen.grid == "quarters"
    assert result.value == pytest.approx(5e6, rel=1e-9) and result.grid == "months" and result.in_plan_below
    assert result.searched == pytest.approx((2e9 / 600 + 1.8e5, 1e7))
    table = result.evaluations
    assert list(table["stage"]) == ["screen"] * 3 + ["search"] * 4
    assert list(table["grid"]) == ["quarters"] * 3 + ["months"] * 4
    assert sorted(table.loc[table["stage"] == "search", "value"]) == pytest.approx(
        [2e9 / 600 - 1.8e5, 2e9 / 600 + 1.8e5, 5e6, 1e7])
    summary = result.summary()
    assert "4 MILP solves at gap 0.0001 on months" in summary and "screened on quarters: 3,333,333 in 3 solves" \
        in summary
    # Below $4.5M the block is always in the monthly plan. Tolerance $35,000: the range from the screen, from
    # $3,333,333 + $70,000 on, ends at $4.5M with no crossing.
    with pytest.raises(ValueError, match=r"in the plan at both .*=3\.40333e\+06 and 4\.5e\+06 on months: no "
                                         r"break-even between them \(on quarters it is at 3,333,333\)"):
        breakeven(inst, Parameter(path=PRICE, low=1e6, high=4.5e6), "cloud", screen_grid="quarter")
    # Up to $3.35M, tolerance $23,500: the range $3,286,333 .. $3,350,000 reaches the end already.
    with pytest.raises(ValueError, match=r"in the plan at both .*=3\.28633e\+06 and 3\.35e\+06 on months"):
        breakeven(inst, Parameter(path=PRICE, low=1e6, high=3.35e6), "cloud", screen_grid="quarter")
    with pytest.raises(ValueError, match=r"on the screening grid \(quarters\): cloud is not in the plan at both"):
        breakeven(inst, Parameter(path=PRICE, low=4e6, high=1e7), "cloud", screen_grid="quarter")
    with pytest.raises(InstanceError, match=r"screen_grid 'month': expected a grid other than the one searched "
                                            r"\(months\)"):
        breakeven(inst, Parameter(path=PRICE, low=1e6, high=1e7), "cloud", screen_grid="month")
    with pytest.raises(InstanceError, match=r"screen_grid 'fortnight': "):
        breakeven(inst, Parameter(path=PRICE, low=1e6, high=1e7), "cloud", screen_grid="fortnight")


@pytest.mark.parametrize(("method", "solves"), [("auto", 3), ("bisection", 4)])
def test_a_screen_that_holds_the_breakeven_narrows_the_search(method, solves):
    """A 6-month term is 2 whole quarters: both grids cross at $3,333,333 (600 p = $2,000M). The monthly search
    is only over the screen's crossing plus and minus twice the $10,000 tolerance: in the plan at its low end, not
    at its high end. The plan lines then need one solve where they cross; a bisection halves the $40,000 twice to
    reach the tolerance (from $1M and $10M it takes 2 + 10 solves)."""
    inst = make_instance(demand=training({"2026-01": 100_000, "2026-03": 0}),
                         hyperscaler_contracts=contract(min_term_months=6))
    result = breakeven(inst, Parameter(path=PRICE, low=1e6, high=1e7), "cloud", tolerance=1e4,
                       screen_grid="quarter", method=method)
    assert result.value == pytest.approx(2e9 / 600, rel=1e-9)
    assert result.searched == pytest.approx((2e9 / 600 - 2e4, 2e9 / 600 + 2e4))
    assert (result.evaluations["stage"] == "search").sum() == solves


def test_breakeven_of_a_parameter_that_moves_a_limit_is_bisected():
    """The contract's ramp scaled by s: the 100 MW block fits from s = 1 (100 MW of ramp) on, and is then taken at
    $1M per MW-month ($600M against $2,000M unmet). A bound moves with s, so the plans' costs are not lines in
    it: "auto" bisects (the bracket holds 1 to the tolerance) and "lines" says it cannot apply."""
    ramp = Parameter(path="hyperscaler_contracts.cloud.ramp_mw", low=0.5, high=1.5, scale=True)
    inst = with_changes(breakeven_instance(), {PRICE: 1e6})
    result = breakeven(inst, ramp, "cloud", tolerance=0.01)
    assert result.method == "bisection" and not result.in_plan_below
    assert result.bracket[0] < 1.0 <= result.bracket[1] and result.bracket[1] - result.bracket[0] <= 0.01
    with pytest.raises(ValueError, match="does not move costs alone, or not linearly"):
        breakeven(inst, ramp, "cloud", tolerance=0.01, method="lines")


def test_breakeven_by_kind_of_source_and_without_a_sign_change():
    by_kind = breakeven(breakeven_instance(), Parameter(path=PRICE, low=1e6, high=1e7), "hyperscaler_contract",
                        tolerance=1e5)
    assert by_kind.bracket[0] <= 2e9 / 600 <= by_kind.bracket[1]
    with pytest.raises(ValueError, match="in the plan at both"):
        breakeven(breakeven_instance(), Parameter(path=PRICE, low=1e6, high=3e6), "cloud")
    with pytest.raises(InstanceError, match=r"source cluod: no source or kind of source of tiny has this name "
                                            r"\(did you mean 'cloud'\?\)"):
        breakeven(breakeven_instance(), Parameter(path=PRICE, low=1e6, high=1e7), "cluod")
    with pytest.raises(InstanceError, match="tolerance"):
        breakeven(breakeven_instance(), Parameter(path=PRICE, low=1e6, high=1e7), "cloud", tolerance=0)


def test_tornado_puts_an_end_without_a_plan_first():
    """A hard service floor (no unmet demand) with the contract ramp cut to 0 MW at the low end: no plan there."""
    inst = make_instance(demand=training({"2026-01": 100_000}) | {"training": {
        "series_units": {"2026-01": 100_000}, "unmet_penalty_usd_per_unit_month": 10_000, "max_unmet_share": 0}},
        hyperscaler_contracts=contract(block_mw=50, ramp_mw={"2026-01": 200}))
    result = tornado(inst, [Parameter(path=PRICE, low=500_000, high=2_000_000),
                            Parameter(path="hyperscaler_contracts.cloud.ramp_mw", low=0, high=1, scale=True)])
    first = result.table.iloc[0]
    assert first["parameter"] == "hyperscaler_contracts.cloud.ramp_mw (x)" and math.isnan(first["swing_usd"])
    assert first["status_low"] == "infeasible" and first["plan_change_low"] == "no plan (infeasible)"


def test_breakeven_counts_only_capacity_online_by_the_month_given():
    """The block is taken (below the break-even) from 2026-01: it is online by 2026-01. A month before the
    horizon counts nothing at all: an input error, not "never in the plan"."""
    price = Parameter(path=PRICE, low=1e6, high=1e7)
    assert breakeven(breakeven_instance(), price, "cloud", tolerance=1e5, by="2026-01").in_plan_below
    with pytest.raises(InstanceError, match=r"by 2025-12: expected a month in the horizon 2026-01\.\.2026-12"):
        breakeven(breakeven_instance(), price, "cloud", by="2025-12")
    with pytest.raises(InstanceError, match="expected a month as YYYY-MM"):
        breakeven(breakeven_instance(), price, "cloud", by="2026-1")
