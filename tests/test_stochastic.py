"""Scenario trees: the hand-solvable lease case, properties on the small instance, and bad trees.

The lease case (research note section 4.6). Five months, no discounting; lease ``colossus``: one 100 MW block of
1,000 units/MW, fee F = $100M a month, open January to May, minimum term 2 months, notice 1 month (notice given
in month t: paid through t). Training demand is the block, 100,000 units, in January; from February it is
100,000 ("high", p = 0.3) or 0 ("low", p = 0.7), known from February. L is the lost revenue of a month without the
block (100,000 units x the penalty per unit-month). The root is January: sign now or not.

Lost revenue L = 3F ($3,000 a unit-month), signing allowed in any month:
  policies: sign in January, keep if high (5F), give notice in February if low (2F: the minimum term) -> 2.9F;
            wait: lose January (3F), sign in February if high (3F + 4F), nothing if low (3F) -> 4.2F.
  RP = 2.9F. WS: high 5F, low min(2F, L) = 2F -> 2.9F, EVPI = 0.
  Without the exit: sign and keep (5F) or wait (4.2F): RP 4.2F, the exit is worth 1.3F.
  EV (demand 30,000 from February): keeping costs F a month against 0.3L = 0.9F lost: sign in January, notice in
  February: 2F + 3 x 0.9F = 4.7F. EEV: January's signing imposed, then re-planned: 2.9F, VSS = 0.
With signing in January only (``sign_by``), L = 3F: waiting loses all five months if high: 0.3 x 15F + 0.7 x 3F
  = 6.6F; without the exit signing costs 5F, so the exit is worth 5F - 2.9F = 2.1F. RP, WS, EV, EEV as above.
L = 1.5F, January only: sign 2.9F; never 0.3 x 7.5F + 0.7 x 1.5F = 3.3F -> RP 2.9F. WS: 0.3 x 5F + 0.7 x 1.5F =
  2.55F, EVPI 0.35F. EV: sign and notice 2F + 3 x 0.45F = 3.35F, never 1.5F + 4 x 0.45F = 3.3F -> not signing;
  EEV = never = 3.3F, VSS 0.4F. Without the exit: min(5F, 3.3F) = 3.3F, exit worth 0.4F.
L = 1.5F, signing any month: wait and sign in February if high: 0.3 x (1.5F + 4F) + 0.7 x 1.5F = 2.7F < 2.9F ->
  RP 2.7F, EVPI 0.15F; EV does not sign in January (3.3F), EEV = 2.7F, VSS 0; without the exit waiting still
  costs 2.7F: the exit is worth 0 (the options to wait and to exit are substitutes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import INSTANCES, make_instance, training

from models.demand import monthly_demand_units
from solver import load_instance, solve
from solver.cli import main
from solver.instance import InstanceError
from solver.schema import ScenarioTree
from solver.stochastic import build_tree, mean_instance, solve_stochastic
from solver.timegrid import TimeGrid

F = 100e6  # the lease's monthly fee, USD


def lease_case(penalty: float, sign_by: str | None = None):
    lease = {"hardware": "gen1", "size_mw": 100, "fee_usd_per_month": F, "available_from": "2026-01",
             "end": "2026-05", "min_term_months": 2, "notice_months": 1}
    if sign_by is not None:
        lease["sign_by"] = sign_by
    instance = make_instance(horizon={"end": "2026-05"}, demand=training({"2026-01": 100_000}, penalty),
                             fixed_block_leases={"colossus": lease})
    tree = ScenarioTree.model_validate({
        "name": "lease", "stages": [{"from": "2026-02", "branches": {
            "high": {"probability": 0.3},
            "low": {"probability": 0.7, "set": {"demand.training.series_units": {"2026-01": 0}}}}}],
        "options": {"exit": {"set": {"fixed_block_leases.colossus.exit_allowed": False}}}})
    return instance, tree


def metric(result, name: str) -> float:
    return float(result.metrics.set_index("metric").loc[name, "value_usd"])


@pytest.mark.parametrize(("penalty", "sign_by", "expected"), [
    (3000, None, {"RP": 2.9, "WS": 2.9, "EVPI": 0, "EV": 4.7, "EEV": 2.9, "VSS": 0, "exit": 1.3}),
    (3000, "2026-01", {"RP": 2.9, "WS": 2.9, "EVPI": 0, "EV": 4.7, "EEV": 2.9, "VSS": 0, "exit": 2.1}),
    (1500, "2026-01", {"RP": 2.9, "WS": 2.55, "EVPI": 0.35, "EV": 3.3, "EEV": 3.3, "VSS": 0.4, "exit": 0.4}),
    (1500, None, {"RP": 2.7, "WS": 2.55, "EVPI": 0.15, "EV": 3.3, "EEV": 2.7, "VSS": 0, "exit": 0}),
])
def test_lease_case_worked_by_hand(penalty, sign_by, expected):
    instance, tree = lease_case(penalty, sign_by)
    result = solve_stochastic(instance, tree)
    assert result.status == "optimal"
    for name in ("RP", "WS", "EVPI", "EV", "EEV", "VSS"):
        assert metric(result, name) == pytest.approx(expected[name] * F, abs=1.0), name
    option = result.options.set_index("option").loc["exit"]
    assert option["value_usd"] == pytest.approx(expected["exit"] * F, abs=1.0)
    assert option["decided"] == (expected["exit"] > 0)


def test_lease_case_root_plan_and_recourse():
    """L = 3F: sign in January; keep the block if demand stays, give notice in February if it falls."""
    result = solve_stochastic(*lease_case(3000), metrics=False, options=[])
    root = result.root_plan()
    assert root[["period", "source", "event"]].values.tolist() == [["2026-01", "colossus", "signed"]]
    plans = result.plan_by_scenario.set_index("scenario")
    assert plans.loc["high", "mw_online"].tolist() == [100] * 5
    assert plans.loc["low", "mw_online"].tolist() == [100, 100, 0, 0, 0]
    assert plans.loc["low", "event"].tolist() == ["signed", "notice", "", "", ""]
    costs = result.scenarios.set_index("scenario")["npc_usd"]
    assert costs["high"] == pytest.approx(5 * F) and costs["low"] == pytest.approx(2 * F)


def test_cvar_on_cost_makes_the_lab_sign_now():
    """L = 1.5F, signing any month. Risk-neutral, waiting wins (2.7F against 2.9F). With half the weight on
    CVaR90 of the cost: signing now costs 5F or 2F (mean 2.9F, CVaR 5F: the worst 10% lies in the high branch),
    0.5 x 2.9F + 0.5 x 5F = 3.95F; waiting 5.5F or 1.5F, 0.5 x 2.7F + 0.5 x 5.5F = 4.1F; never signing
    0.5 x 3.3F + 0.5 x 7.5F = 5.4F: the risk-averse lab signs in January."""
    instance, tree = lease_case(1500)
    averse = ScenarioTree.model_validate(tree.model_dump(by_alias=True) | {"risk": {"on": "cost", "alpha": 0.9,
                                                                                     "weight": 0.5}})
    result = solve_stochastic(instance, averse)
    assert result.rp.objective_usd == pytest.approx(3.95 * F, abs=1.0)
    assert result.cvar_usd == pytest.approx(5 * F, abs=1.0)
    assert result.root_plan()["event"].tolist() == ["signed"]
    # WS under the same objective: foresight costs 5F or 1.5F, 0.5 x 2.55F + 0.5 x 5F = 3.775F, so EVPI = 0.175F
    # (not 3.95F - 2.55F: the rest is the risk premium). EV (not signing, 3.3F, no spread) fixes "not in January":
    # the tree then waits, 4.1F, VSS 0.15F. Without the exit: keep (5F), wait (4.1F) or never (5.4F): 0.15F.
    for name, expected in (("WS", 3.775), ("EVPI", 0.175), ("EV", 3.3), ("EEV", 4.1), ("VSS", 0.15)):
        assert metric(result, name) == pytest.approx(expected * F, abs=1.0), name
    assert result.options.set_index("option").loc["exit", "value_usd"] == pytest.approx(0.15 * F, abs=1.0)


# ---------------------------------------------------------------------------------------------- small instance

def small_tree(branches: dict | None = None, **fields) -> ScenarioTree:
    branches = branches or {
        "slow": {"probability": 0.3, "set": {"demand.training.growth_law.annual_growth_factor": 1.2}},
        "base": {"probability": 0.4},
        "fast": {"probability": 0.3, "set": {"demand.training.growth_law.annual_growth_factor": 3.0}}}
    return ScenarioTree.model_validate({"name": "growth", "stages": [{"from": "2026-07", "branches": branches}],
                                        "options": {"exit": {"set": {"fixed_block_leases.colossus.exit_allowed":
                                                                     False}}}} | fields)


@pytest.fixture(scope="module")
def small():
    return load_instance(INSTANCES / "small.yaml")


@pytest.fixture(scope="module")
def small_result(small):
    return solve_stochastic(small, small_tree())


def bracket(result, name):
    row = result.metrics.set_index("metric").loc[name]
    return row["low_usd"], row["high_usd"]


def test_one_branch_tree_is_the_deterministic_solve(small):
    deterministic = solve(small)
    one = solve_stochastic(small, small_tree({"only": {"probability": 1.0}}), metrics=False, options=[])
    assert one.rp.objective_usd == pytest.approx(deterministic.objective_usd, rel=2e-4)
    plan = one.plan_by_scenario.drop(columns=["scenario", "node"])
    assert plan["new_units"].tolist() == deterministic.plan["new_units"].tolist()


def test_identical_branches_give_no_value_of_information(small):
    twins = small_tree({"a": {"probability": 0.5}, "b": {"probability": 0.5}})
    result = solve_stochastic(small, twins, options=[])
    for name in ("EVPI", "VSS"):
        low, high = bracket(result, name)
        assert low <= 1.0 and high >= -1.0, name
        assert abs(metric(result, name)) <= 2e-4 * result.rp.objective_usd
    assert metric(result, "RP") == pytest.approx(solve(small).objective_usd, rel=2e-4)


def test_ws_rp_eev_chain_and_option_values(small_result):
    ws_low, ws_high = bracket(small_result, "WS")
    rp_low, rp_high = bracket(small_result, "RP")
    eev_low, eev_high = bracket(small_result, "EEV")
    assert ws_low <= rp_high and rp_low <= eev_high
    assert bracket(small_result, "EVPI")[1] >= 0 and bracket(small_result, "VSS")[1] >= 0
    option = small_result.options.set_index("option").loc["exit"]
    assert option["high_usd"] >= 0
    for _, row in small_result.scenarios.iterrows():  # each scenario alone with foresight costs no more
        assert row["ws_bound_usd"] <= row["npc_usd"] * (1 + 1e-9)


def test_brackets_carry_the_chain_over(small_result):
    """RP's lower end is its own bound or WS's, whichever is higher; EEV's likewise with RP's."""
    ws_low = bracket(small_result, "WS")[0]
    rp_low = bracket(small_result, "RP")[0]
    assert rp_low == pytest.approx(max(small_result.rp.bound_usd, ws_low), rel=1e-12)
    assert bracket(small_result, "EEV")[0] >= rp_low


def test_a_cheaper_plan_of_another_solve_restarts_the_rp(small):
    """better_start takes a plan of the tree (by variable name) that beats the incumbent, and refuses one that
    breaks a row."""
    from solver.stochastic import TreePlanner, better_start, plan_by_name

    planner = TreePlanner(build_tree(small, small_tree()))
    solved = planner.solve()
    plan = plan_by_name(planner.model)
    assert better_start(planner, [plan], solved.objective_usd) is None  # not cheaper than itself
    assert better_start(planner, [plan], solved.objective_usd + 1e6) is not None
    broken = dict(plan)
    name = next(n for n in broken if ".unmet[training," in n)
    broken[name] += 1.0  # demand balance missed by 1,000 units
    assert better_start(planner, [broken], solved.objective_usd + 1e6) is None


def test_root_decisions_equal_across_scenarios(small_result):
    plans = small_result.plan_by_scenario
    root = plans[plans["node"] == "root"]
    columns = ["period", "source", "mw_online", "new_units", "event"]
    by_scenario = [group[columns].reset_index(drop=True) for _, group in root.groupby("scenario")]
    assert len(by_scenario) == 3
    for other in by_scenario[1:]:
        assert other.equals(by_scenario[0])
    later = plans[plans["node"] != "root"]
    by_scenario = [group[columns].reset_index(drop=True) for _, group in later.groupby("scenario")]
    assert not all(other.equals(by_scenario[0]) for other in by_scenario[1:])  # recourse: the branches differ


def test_branch_order_changes_nothing(small, small_result):
    spec = small_tree()
    reordered = small_tree(dict(reversed(list(spec.stages[0].branches.items()))))
    result = solve_stochastic(small, reordered, metrics=False, options=[])
    assert result.rp.objective_usd == pytest.approx(small_result.rp.objective_usd, rel=2e-4)
    columns = ["period", "source", "new_units", "event"]
    assert result.root_plan()[columns].sort_values(columns).values.tolist() == \
        small_result.root_plan()[columns].sort_values(columns).values.tolist()


def test_growth_restarts_from_the_level_reached(small):
    """Small's training: 100,000 units doubling a year. From July 2026 the fast branch grows 3x a year from the
    level reached then, 100,000 x 2^(6/12) = 141,421: by July 2027 it is 424,264 (a law restarted at the horizon
    start would give 100,000 x 3^1.5 = 519,615, and change the first half-year)."""
    tree = build_tree(small, small_tree())
    fast = next(s for s in tree.scenarios if s.name == "fast").instance
    grid = TimeGrid(fast.horizon.model_copy(update={"period": "month"}))
    units = monthly_demand_units(grid, fast.demand.training)
    base = monthly_demand_units(grid, small.demand.training)
    assert units[:6].tolist() == base[:6].tolist()
    assert units[6] == pytest.approx(100_000 * 2 ** 0.5)
    assert units[18] == pytest.approx(100_000 * 2 ** 0.5 * 3.0)
    mean = mean_instance(tree)  # the mean-value instance: demand month by month
    mean_units = monthly_demand_units(grid, mean.demand.training)
    assert mean_units[18] == pytest.approx(100_000 * 2 ** 0.5 * (0.3 * 1.2 + 0.4 * 2.0 + 0.3 * 3.0))


def test_year_schedule_changes_from_its_year():
    """A branch from 2027-01 setting the launch price to $100/kg keeps 2026 at the base's $300/kg."""
    instance = load_instance(INSTANCES / "small.yaml")
    tree = build_tree(instance, ScenarioTree.model_validate({"name": "launch", "stages": [{"from": "2027-01",
        "branches": {"cheap": {"probability": 0.5, "set": {
            "orbital.launch_vehicles.rocket.launch_price_usd_per_kg": 100}}, "dear": {"probability": 0.5}}}]}))
    cheap = tree.scenarios[0].instance.orbital.launch_vehicles["rocket"].launch_price_usd_per_kg
    assert cheap == {2026: 300.0, 2027: 100.0}


def test_mean_value_instance_weights_numbers_and_keeps_integers(small):
    """EV: a price of $100/kg with probability 0.25 and $300/kg with 0.75 is $250/kg in 2027; a 15-month term
    with 0.25 against 12 is 12.75 months, a whole 13 (the field is an integer)."""
    tree = build_tree(small, ScenarioTree.model_validate({"name": "ev", "stages": [{"from": "2027-01", "branches": {
        "cheap": {"probability": 0.25, "set": {"orbital.launch_vehicles.rocket.launch_price_usd_per_kg": 100,
                                               "hyperscaler_contracts.cloud.min_term_months": 15}},
        "dear": {"probability": 0.75}}}]}))
    mean = mean_instance(tree)
    assert mean.orbital.launch_vehicles["rocket"].launch_price_usd_per_kg == {2026: 300.0, 2027: 250.0}
    assert mean.hyperscaler_contracts["cloud"].min_term_months == 13


# ----------------------------------------------------------------------------------------------- bad trees

@pytest.mark.parametrize(("stage", "message"), [
    ({"from": "2026-08", "branches": {"a": {"probability": 1}}},
     "stages.0.from: expected the first month of a quarter"),
    ({"from": "2029-01", "branches": {"a": {"probability": 1}}}, "stages.0.from: expected a month after"),
    ({"from": "2026-07", "branches": {"a": {"probability": 1, "set": {"demand.training.nope": 1}}}},
     "stages.0.branches.a.set: demand.training.nope: no field 'nope'"),
    ({"from": "2026-07", "branches": {"a": {"probability": 1, "set": {
        "demand.training.growth_law.start_units": 5}}}},
     "stages.0.branches.a.set.demand.training.growth_law.start_units: a branch's growth law restarts"),
    # The first scenario's branch is the one that reveals the future: it is named all the same.
    ({"from": "2027-01", "branches": {"b": {"probability": 0.5, "set": {
        "fixed_block_leases.colossus.fee_usd_per_month": 1e8}}, "a": {"probability": 0.5}}},
     "stages.0.branches.b.set.fixed_block_leases.colossus.fee_usd_per_month: changes the model in 2026-04"),
    ({"from": "2027-01", "branches": {"a": {"probability": 0.5}, "b": {"probability": 0.5, "set": {
        "fixed_block_leases.colossus.fee_usd_per_month": 1e8}}}},
     "stages.0.branches.b.set.fixed_block_leases.colossus.fee_usd_per_month: changes the model in 2026-04"),
    # The lease signed in April (6-month term, 3 months' notice) can first give notice in July.
    ({"from": "2027-01", "branches": {"a": {"probability": 0.5}, "b": {"probability": 0.5, "set": {
        "fixed_block_leases.colossus.exit_allowed": False}}}},
     "stages.0.branches.b.set.fixed_block_leases.colossus.exit_allowed: changes the model in 2026-07"),
    # A year schedule changed from April changes its January to March too.
    ({"from": "2027-04", "branches": {"a": {"probability": 0.5}, "b": {"probability": 0.5, "set": {
        "terrestrial.build_costs.gpus_usd_per_mw": 1e7}}}},
     "stages.0.branches.b.set.terrestrial.build_costs.gpus_usd_per_mw: changes the model in 2027-01"),
])
def test_bad_trees_are_input_errors(small, stage, message):
    with pytest.raises(InstanceError) as caught:
        build_tree(small, ScenarioTree.model_validate({"name": "bad", "stages": [stage]}), "bad.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_stochastic(tmp_path: Path, capsys):
    tree = tmp_path / "tree.yaml"
    tree.write_text(yaml.safe_dump(small_tree().model_dump(by_alias=True)), encoding="utf-8")
    code = main(["stochastic", str(INSTANCES / "small.yaml"), "--tree", str(tree), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "What to do now" in out and "EVPI" in out and "exit" in out
    for name in ("tree", "scenarios", "plan_by_node", "plan_by_scenario", "metrics", "options"):
        assert (tmp_path / "out" / f"{name}.csv").is_file()


@pytest.mark.parametrize(("content", "message"), [
    ("name: t\nstages:\n  - from: 2026-07\n    branches: {a: {probability: 0.4}, b: {probability: 0.4}}\n",
     "expected branch probabilities summing to 1 at 2026-07, got 0.8"),
    ("name: t\nstages:\n  - from: 2027-01\n    branches: {a: {probability: 1}}\n  - from: 2026-07\n"
     "    branches: {b: {probability: 1}}\n", "stages.1.from: expected a month after 2027-01"),
    ("name: t\nstages: []\noptions: {x: {set: {}}}\n", "options.x.set"),
])
def test_cli_bad_tree_file(tmp_path: Path, capsys, content, message):
    tree = tmp_path / "tree.yaml"
    tree.write_text(content, encoding="utf-8")
    code = main(["stochastic", str(INSTANCES / "small.yaml"), "--tree", str(tree), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and str(tree) in err and len(err.strip().splitlines()) == 1


def test_cli_unknown_option(tmp_path: Path, capsys):
    tree = tmp_path / "tree.yaml"
    tree.write_text(yaml.safe_dump(small_tree().model_dump(by_alias=True)), encoding="utf-8")
    code = main(["stochastic", str(INSTANCES / "small.yaml"), "--tree", str(tree), "--option", "nope"])
    assert code == 2
    assert "--option nope: no such option (the tree's: exit)" in capsys.readouterr().err


def test_infeasible_tree_names_the_branch():
    """A hard floor (no unmet demand) that the high branch cannot meet: only 100 MW exist."""
    instance, tree = lease_case(3000)
    data = instance.model_dump()
    data["demand"]["training"]["max_unmet_share"] = 0.0
    from solver.instance import parse_instance

    floor = parse_instance(data, "floor")
    spiky = ScenarioTree.model_validate({"name": "spike", "stages": [{"from": "2026-02", "branches": {
        "calm": {"probability": 0.5},
        "spike": {"probability": 0.5, "set": {"demand.training.series_units": {"2026-01": 200_000}}}}}]})
    result = solve_stochastic(floor, spiky, metrics=False)
    assert result.status == "infeasible"
    assert "scenario spike has none even with foresight" in result.rp.message


def test_report_section_of_a_tree(tmp_path: Path, small_result):
    """The report's 'Under uncertainty' section shows the tree written beside the plan, and only of its instance."""
    from solver.report import write_report

    assert main(["solve", str(INSTANCES / "small.yaml"), "--out", str(tmp_path)]) == 0
    small_result.write(tmp_path / "small" / "stochastic-growth")
    page = write_report(tmp_path / "small").read_text(encoding="utf-8")
    section = page[page.index('<section id="uncertainty">'):]
    section = section[:section.index("</section>")]
    assert "Tree growth: 3 scenarios, optimal" in section
    assert "What to do now" in section and "EVPI" in section and "exit" in section
    evpi = small_result.metrics.set_index("metric").loc["EVPI", "value_usd"]
    assert f"{evpi / 1e9:,.3f}" in section

    other = tmp_path / "small" / "stochastic-growth" / "summary.json"
    other.write_text(other.read_text(encoding="utf-8").replace('"instance": "small"', '"instance": "reference"'),
                     encoding="utf-8")
    page = write_report(tmp_path / "small").read_text(encoding="utf-8")
    assert "Not shown: the tree in" in page and "is over instance &#x27;reference&#x27;" in page


def test_side_solves_on_an_executor_match_the_serial_ones():
    """WS, EV and the option's tree on any concurrent.futures executor (as a Dask client's) give the serial
    answers of the hand-worked case."""
    from solver.workers import spawn_pool

    instance, tree = lease_case(1500, "2026-01")
    pool = spawn_pool(2)
    try:
        result = solve_stochastic(instance, tree, executor=pool)
    finally:
        pool.shutdown()
    assert metric(result, "EVPI") == pytest.approx(0.35 * F, abs=1.0)
    assert metric(result, "VSS") == pytest.approx(0.4 * F, abs=1.0)
    assert result.options.set_index("option").loc["exit", "value_usd"] == pytest.approx(0.4 * F, abs=1.0)
