"""The board report and its charts: structure of the HTML, embedded images, numbers matching the result files.

One module-scoped result folder of the teaching instance (solves in well under a second) gathers what each
command writes into it: ``dcopt solve --report`` (tables, instance.yaml, economics.csv, report.html), then
``marginal``, ``tornado`` and ``breakeven``, run in-process; a sweep's tables are written by hand (their format
is the sweep's, a real sweep would only add seconds). Then ``dcopt report`` makes the full report again.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import matplotlib.colors
import pandas as pd
import pytest
from conftest import INSTANCES

from solver import plots
from solver.cli import main
from solver.report import CSS, MAX_TABLE_COLUMNS, instance_figures, source_kind, write_report
from solver.results import CATEGORY_WORDS, UNMET_SHOWN, format_usd

SMALL = INSTANCES / "small.yaml"
SECTIONS = ("question", "answer", "plan", "costs", "marginal", "economics", "sensitivity", "assumptions", "run")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sweep_tables(folder: Path) -> None:
    """A sweep's output tables, in the columns ``dcopt sweep`` writes."""
    folder.mkdir()
    points = pd.DataFrame({"id": range(8), "status": ["optimal"] * 7 + ["infeasible"],
                           "objective_usd": [7.1e9, 7.4e9, 7.8e9, 8.0e9, 8.3e9, 9.0e9, 9.6e9, None],
                           "peak_mw:cloud": [200.0] * 8, "peak_mw:sat": [0, 10, 20, 0, 30, 40, 0, 0]})
    points.to_csv(folder / "points.csv", index=False)
    pd.DataFrame([{"measure": "net_present_cost_usd", "points": 7, "mean": 8.17e9, "p5": 7.19e9, "p25": 7.6e9,
                   "p50": 8.0e9, "p75": 8.65e9, "p95": 9.42e9}]).to_csv(folder / "cost.csv", index=False)
    pd.DataFrame([{"source": "cloud", "share_of_points_in_plan": 1.0, "median_peak_mw_when_in": 200.0,
                   "p5_peak_mw": 200.0, "p95_peak_mw": 200.0},
                  {"source": "sat", "share_of_points_in_plan": 4 / 7, "median_peak_mw_when_in": 25.0,
                   "p5_peak_mw": 0.0, "p95_peak_mw": 37.0}]).to_csv(folder / "sources.csv", index=False)
    pd.DataFrame([{"parameter": "demand.training.growth_law.annual_growth_factor", "output": "objective_usd",
                   "spearman_rho": 0.93, "p_value": 0.002}]).to_csv(folder / "spearman.csv", index=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main(["solve", str(SMALL), "--out", str(out), "--report", "--one-more", "--quiet"]) == 0
    result_dir = out / "small"
    shutil.copy(result_dir / "report.html", out / "first_report.html")  # before the what-ifs are there
    assert main(["marginal", str(SMALL), "--out", str(result_dir / "marginal")]) == 0
    assert main(["tornado", str(SMALL), "--out", str(result_dir),
                 "--param", "orbital.launch_vehicles.rocket.launch_price_usd_per_kg=100:1000"]) == 0
    assert main(["breakeven", str(SMALL), "--out", str(result_dir), "--param",
                 "orbital.satellite_classes.sat.gpus_usd_per_w", "--source", "orbital", "--between", "10", "300",
                 "--tolerance", "20"]) == 0
    _sweep_tables(result_dir / "sweep-test")
    assert main(["report", str(result_dir)]) == 0
    return result_dir


@pytest.fixture(scope="module")
def page(folder: Path) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


def _section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.DOTALL)
    assert match, name
    return match.group(1)


def test_solve_report_writes_the_instance_economics_and_report(folder):
    for name in ("instance.yaml", "economics.csv", "report.html"):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "instance.yaml").read_text() == SMALL.read_text()
    economics = pd.read_csv(folder / "economics.csv")
    assert {"source", "kind", "start_year", "component", "usd_per_mw_year", "usd_per_unit_year"} <= set(economics)
    # Every chart of the report is also a file, PNG and SVG, for slides.
    for chart in ("capacity", "costs", "marginal", "economics", "tornado", "breakeven"):
        for suffix in (".png", ".svg"):
            assert (folder / "charts" / f"{chart}{suffix}").stat().st_size > 0, chart + suffix


def test_every_section_in_order(page):
    positions = [page.index(f'<section id="{name}">') for name in SECTIONS]
    assert positions == sorted(positions)
    for name in SECTIONS:
        assert f'href="#{name}"' in page
    # The what-if sections hold results, not the "not computed" note.
    assert "Not computed" not in _section(page, "marginal") + _section(page, "economics")
    sensitivity = _section(page, "sensitivity")
    assert "Tornado" in sensitivity and "Break-even" in sensitivity and "Sweep sweep-test" in sensitivity


def test_images_are_embedded_and_nothing_is_external(page):
    sources = re.findall(r'<img src="([^"]*)"', page)
    # capacity, costs, one more unit (plan free), marginal compute, economics, tornado, break-even, sweep cost and
    # sweep sources
    assert len(sources) == 9
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.removeprefix("data:image/png;base64,"))[:8] == PNG_MAGIC
    links = re.findall(r'(?:src|href)\s*=\s*["\']?([^"\' >]+)', page)
    assert links and all(link.startswith(("data:", "#")) for link in links)
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page


def test_numbers_match_the_result_files(folder, page):
    summary = json.loads((folder / "summary.json").read_text())
    npc = summary["net_present_cost_usd"]
    assert f"${npc / 1e9:,.2f}B" in _section(page, "answer")
    assert f"${npc:,.0f}" in _section(page, "run")
    costs = pd.read_csv(folder / "costs.csv")
    by_category = costs.groupby("category")["discounted_usd"].sum() / 1e9
    costs_html = _section(page, "costs")
    for category, amount in by_category.items():
        if abs(amount) > 5e-4:
            words = re.escape(html.escape(CATEGORY_WORDS[category]))  # as the console names them
            assert re.search(rf"<td>{words}</td><td class=\"num\">{re.escape(f'{amount:,.2f}')}</td>", costs_html)
    demand = pd.read_csv(folder / "demand.csv")
    unmet = demand.groupby(["year", "workload"])[["unmet_units", "demand_units"]].sum()
    for (year, workload), row in unmet.iterrows():
        share = row["unmet_units"] / row["demand_units"]
        line = f"{year} {workload} {share:.1%}"
        assert (line in _section(page, "answer")) == (share > UNMET_SHOWN), line
    tornado = pd.read_csv(folder / "tornado.csv")
    assert f"{tornado['swing_usd'].iloc[0] / 1e9:,.2f}" in _section(page, "sensitivity")
    breakeven = json.loads((folder / "breakeven.json").read_text())
    assert f"{breakeven['value']:,.6g}" in _section(page, "sensitivity")


def test_assumptions_list_the_instance_comments(page):
    assumptions = _section(page, "assumptions")
    assert "220,000 H100 in 300 MW at Colossus 1 (seeds 002, 004)" in assumptions
    assert "assumption: demand doubles each year" in assumptions
    assert "This instance: Two years by quarter" in _section(page, "question")


def test_report_of_a_bare_result_folder_says_what_is_missing(folder, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("summary.json", "plan.csv", "costs.csv", "demand.csv", "binding.csv"):
        shutil.copy(folder / name, bare / name)
    page = write_report(bare, tmp_path / "out" / "bare.html").read_text()
    for name in SECTIONS:
        assert f'<section id="{name}">' in page
    assert "Not computed" in _section(page, "marginal") and "Not computed" in _section(page, "economics")
    assert "No what-if results" in _section(page, "sensitivity")
    assert "instance file is not in the result folder" in _section(page, "assumptions")
    assert len(re.findall(r"<img ", page)) == 2  # capacity and costs
    first = (folder.parent / "first_report.html").read_text()  # solve --report --one-more: no what-ifs yet
    assert "Not computed" not in _section(first, "marginal") and "Not computed" not in _section(first, "economics")
    assert "No what-if results" in _section(first, "sensitivity")


def test_instance_figures_reads_comments_as_sources():
    text = """# A header line.
# Second header line.
name: demo
description: >-
  Folded text: with a colon
  on two lines.

horizon:
  start: 2026-01                    # MODEL.md
  rate: 0.08                        # assumption: a cost of capital
                                    # that goes on here

# Block comment for the section below.
demand:
  unit: "H100 # not a comment"
  label: the lab's own  # an apostrophe is not a quote
  series:                           # the seed's series
    2026-01: 5
"""
    header, figures = instance_figures(text)
    assert header == "A header line. Second header line."
    rows = figures.set_index("path")
    assert rows.loc["description", "value"] == "Folded text: with a colon on two lines."
    assert rows.loc["horizon.start", "source"] == "MODEL.md"
    assert rows.loc["horizon.rate", "source"] == "assumption: a cost of capital that goes on here"
    assert rows.loc["demand", "note"] == "Block comment for the section below."
    assert rows.loc["demand.unit", ["value", "source"]].tolist() == ['"H100 # not a comment"', ""]
    assert rows.loc["demand.label", ["value", "source"]].tolist() == ["the lab's own", "an apostrophe is not a quote"]
    assert rows.loc["demand.series", "source"] == "the seed's series"
    assert rows.loc["demand.series.2026-01", "value"] == "5"


def test_plot_functions_write_png_and_svg_with_axis_labels(folder, tmp_path):
    plan = pd.read_csv(folder / "plan.csv")
    demand = pd.read_csv(folder / "demand.csv")
    cases = [
        (plots.plot_capacity, (plan, demand), {"compute_unit": "H100e"},
         ["compute online, thousand H100e", "IT power online, MW", "period start", "training demand", "cloud"]),
        (plots.plot_costs, (pd.read_csv(folder / "costs.csv"),), {"start": "2026-01"},
         ["USD billion, discounted to 2026-01", "year", "contracts"]),
        (plots.plot_costs, (pd.read_csv(folder / "costs.csv"),), {"discounted": False}, ["USD billion, nominal"]),
        (plots.plot_marginal_compute, (pd.read_csv(folder / "marginal" / "compute.csv"),), {"compute_unit": "H100e"},
         ["USD per H100e-month (money of the period)", "inference"]),
        (plots.plot_tornado, (pd.read_csv(folder / "tornado.csv"),), {},
         ["change of net present cost, USD billion"]),
        (plots.plot_breakeven, (pd.read_csv(folder / "breakeven.csv"),), {"source": "orbital", "value": 150.0},
         ["peak MW of orbital", "net present cost, USD billion"]),
        (plots.plot_sweep_costs, (pd.read_csv(folder / "sweep-test" / "points.csv"),), {},
         ["net present cost, USD billion", "points", "(1 without)"]),
        (plots.plot_sweep_sources, (pd.read_csv(folder / "sweep-test" / "sources.csv"),), {},
         ["share of sweep points with the source in the plan, %", "median peak 25 MW"]),
        (plots.plot_levelized_costs, (pd.read_csv(folder / "economics.csv"),), {"compute_unit": "H100e"},
         ["USD per H100e-year", "capacity started in 2027", "plain"]),
    ]
    for i, (plot, tables, options, labels) in enumerate(cases):
        png, svg = plot(*tables, tmp_path / f"chart{i}", **options)
        assert (png.name, svg.name) == (f"chart{i}.png", f"chart{i}.svg")
        assert png.read_bytes()[:8] == PNG_MAGIC
        text = svg.read_text(encoding="utf-8")
        for label in labels:
            assert label in text, (plot.__name__, label)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind


@pytest.mark.parametrize("argv, message", [
    (["report", "{tmp}/missing"], "no such folder"),
    (["report", "{tmp}"], "not a result folder"),
    (["economics", str(SMALL), "--year", "2050", "--out", "{tmp}"], "outside the horizon"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([arg.replace("{tmp}", str(tmp_path)) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------------------
# The reviewer's findings: each test fails on the report as it was before the fix.

def _copy(folder: Path, tmp_path: Path) -> Path:
    """A copy of the result folder, alone in its parent, to edit into an edge case."""
    copy = tmp_path / "results" / "small"
    shutil.copytree(folder, copy)
    return copy


def _edit_summary(folder: Path, **changes) -> None:
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(changes)
    (folder / "summary.json").write_text(json.dumps(summary))


def _report(folder: Path) -> str:
    return write_report(folder).read_text(encoding="utf-8")


def _svg(path: Path) -> str:
    return path.with_suffix(".svg").read_text(encoding="utf-8")


def test_a_suspect_plan_carries_the_audit_warning(folder, tmp_path):
    copy = _copy(folder, tmp_path)
    _edit_summary(copy, status="suspect", message="the recomputed cost differs by 3%")
    page = _report(copy)
    headline = re.search(r'<p class="headline">(.*?)</p>', _section(page, "answer")).group(1)
    assert "the audit failed: do not trust these numbers" in headline
    for name in ("answer", "plan"):  # before the plan too, not only in the headline
        assert re.search(r'class="warning">.*the audit failed: do not trust these numbers.*the recomputed cost '
                         r"differs by 3%", _section(page, name))


def test_resale_is_hatched_in_each_source_own_colour(folder, tmp_path):
    plan = pd.read_csv(folder / "plan.csv")
    resold = set(plan.loc[plan["mw_resold"] > 0, "source"])
    assert resold and not resold & set(plan.loc[plan["kind"] == "orbital", "source"])
    colors = plots._source_colors(plan)
    svg = _svg(plots.plot_capacity(plan, pd.read_csv(folder / "demand.csv"), tmp_path / "cap")[0])
    hatch_strokes = set(re.findall(r'<pattern.*?stroke: (#[0-9a-f]{6})', svg, re.DOTALL))
    # Each resold source's own colour hatches (besides the legend's grey key), not one colour over the stack.
    assert hatch_strokes - {"#555555"} == {matplotlib.colors.to_hex(colors[s]) for s in resold}


def test_each_source_in_the_plan_has_its_own_colour_blind_safe_colour():
    """Nine used sources (the reference's count) take Tol's nine muted colours, one each, before any unused
    source; past the palette (tab20's) the colours still differ from those before them."""
    sources = [f"s{i}" for i in range(20)]
    plan = pd.DataFrame({"source": sources, "kind": ["hyperscaler_contract"] * 10 + ["own_build"] * 10,
                         "mw_online": [0.0] * 3 + [100.0] * 17})
    colors = plots._source_colors(plan)
    used = [colors[s] for s in sources[3:12]]
    assert used == list(plots.SOURCE_COLORS[:9]) == ["#332288", "#88CCEE", "#117733", "#DDCC77", "#CC6677",
                                                       "#44AA99", "#882255", "#999933", "#AA4499"]
    assert len({matplotlib.colors.to_hex(c) for c in colors.values()}) == len(sources)


def test_what_ifs_of_another_instance_or_plan_are_flagged(folder, tmp_path):
    copy = _copy(folder, tmp_path)
    facts = json.loads((copy / "marginal" / "marginal.json").read_text())
    (copy / "marginal" / "marginal.json").write_text(json.dumps({**facts, "instance": "other"}))
    tornado = pd.read_csv(copy / "tornado.csv")
    tornado["npc_low_usd"] += 1e9
    tornado.to_csv(copy / "tornado.csv", index=False)
    breakeven = json.loads((copy / "breakeven.json").read_text())
    (copy / "breakeven.json").write_text(json.dumps({**breakeven, "source": "moon_base"}))
    npc = json.loads((copy / "summary.json").read_text())["net_present_cost_usd"]
    base = float((tornado["npc_low_usd"] - tornado["delta_low_usd"]).iloc[0])
    page = _report(copy)
    marginal = _section(page, "marginal")
    assert "of instance &#x27;other&#x27;, not of this plan&#x27;s instance &#x27;small&#x27;" in marginal
    assert "another gap or time limit" not in marginal  # not the wrong reason
    sensitivity = _section(page, "sensitivity")
    assert (f"computed on another plan or instance: base ${base / 1e9:,.2f}B vs this plan&#x27;s "
            f"${npc / 1e9:,.2f}B") in sensitivity
    assert "computed on another instance: it is of source &#x27;moon_base&#x27;" in sensitivity


def test_what_ifs_of_this_plan_are_not_flagged(page):
    sensitivity = _section(page, "sensitivity")
    assert 'class="warning"' not in sensitivity and 'class="warning"' not in _section(page, "marginal")
    assert "does not record" not in sensitivity  # no note of what could not be checked: the file says


def test_a_tornado_on_a_screening_grid_is_not_compared_with_the_plan(folder, tmp_path):
    """small solved on quarters, its tornado on years (--grid year): the yearly base costs more than 0.1% more
    than the plan, which is the grid's doing, not another plan's; the report says which grid it was on."""
    copy = _copy(folder, tmp_path)
    assert main(["tornado", str(SMALL), "--out", str(copy), "--grid", "year",
                 "--param", "orbital.launch_vehicles.rocket.launch_price_usd_per_kg=100:1000"]) == 0
    table = pd.read_csv(copy / "tornado.csv")
    base = float((table["npc_low_usd"] - table["delta_low_usd"]).iloc[0])
    npc = json.loads((copy / "summary.json").read_text())["net_present_cost_usd"]
    assert list(table["grid"]) == ["years"] and abs(base - npc) > 1e-3 * npc
    sensitivity = _section(_report(copy), "sensitivity")
    assert 'class="warning"' not in sensitivity
    assert "Solved on a screening grid (years), not on this plan's (quarters)" in sensitivity
    table.assign(grid="quarters").to_csv(copy / "tornado.csv", index=False)  # the same costs said to be quarters'
    assert "This tornado was computed on another plan or instance" in _section(_report(copy), "sensitivity")


def test_a_screened_breakeven_is_checked_on_its_own_grid_only(folder, tmp_path):
    """Screened on years, searched on small's quarters, from the instance's own launch price ($300/kg): the
    screen's solve at $300/kg costs the yearly grid's NPC, not this plan's, and is not taken for a plan of another
    instance; the chart and the summary show both stages. A break-even run wholly on a screening grid (--grid)
    is not compared with this plan's cost either."""
    copy = _copy(folder, tmp_path)
    price = "orbital.launch_vehicles.rocket.launch_price_usd_per_kg"
    for extra in (["--screen", "year"], ["--grid", "year"]):
        assert main(["breakeven", str(SMALL), "--out", str(copy), "--param", price, "--source", "orbital",
                     "--between", "300", "20000", "--tolerance", "500", *extra]) == 0
        table = pd.read_csv(copy / "breakeven.csv")
        npc = json.loads((copy / "summary.json").read_text())["net_present_cost_usd"]
        at_base = table.loc[table["value"] == 300, "npc_usd"]
        assert not at_base.empty and abs(at_base.iloc[0] - npc) > 1e-3 * npc  # a yearly cost at the base value
        sensitivity = _section(_report(copy), "sensitivity")
        assert 'class="warning"' not in sensitivity
        if extra[0] == "--screen":
            assert "screened on years" in sensitivity and "searched on quarters" in sensitivity


@pytest.mark.parametrize(("facts", "flag"), [
    ({"instance": "other"}, "computed on instance &#x27;other&#x27;, not on this plan&#x27;s &#x27;small&#x27;"),
    ({"instance": None}, "written without the name of its instance"),
])
def test_a_breakeven_of_another_or_an_unnamed_instance_is_flagged(folder, tmp_path, facts, flag):
    copy = _copy(folder, tmp_path)
    breakeven = json.loads((copy / "breakeven.json").read_text())
    assert breakeven["instance"] == "small" and breakeven["set"] == {}
    changed = {key: value for key, value in {**breakeven, **facts}.items() if value is not None}
    (copy / "breakeven.json").write_text(json.dumps(changed))
    assert f'<p class="warning">This break-even was {flag}' in _section(_report(copy), "sensitivity")


def test_files_beside_the_folder_of_another_instance_are_not_shown(folder, tmp_path):
    copy = _copy(folder, tmp_path)
    economics = pd.read_csv(copy / "economics.csv")
    (copy / "economics.csv").unlink()
    economics.assign(source=economics["source"] + "_x").to_csv(copy.parent / "economics.csv", index=False)
    sweep = copy.parent / "sweep-other"
    shutil.copytree(copy / "sweep-test", sweep)
    points = pd.read_csv(sweep / "points.csv").rename(columns={"peak_mw:cloud": "peak_mw:elsewhere"})
    points.to_csv(sweep / "points.csv", index=False)
    page = _report(copy)
    assert "Not shown:" in _section(page, "economics") and "<img" not in _section(page, "economics")
    other = _section(page, "sensitivity").split("Sweep sweep-other")[1]
    assert other.split("</h3>", 1)[1].startswith('<p class="warning">Not shown:') and "<img" not in other


def test_a_sweep_says_how_many_points_had_a_plan(folder, tmp_path, page):
    assert "7 of 8 points had a plan; without a plan: infeasible 1." in _section(page, "sensitivity")
    copy = _copy(folder, tmp_path)
    failed = copy / "sweep-failed"
    failed.mkdir()
    pd.DataFrame({"id": range(4), "status": ["infeasible"] * 3 + ["error"], "objective_usd": [None] * 4}) \
        .to_csv(failed / "points.csv", index=False)
    pd.DataFrame({"status": ["infeasible", "error"], "points": [3, 1]}).to_csv(failed / "status.csv", index=False)
    assert "0 of 4 points had a plan; without a plan: infeasible 3, error 1." in _section(_report(copy),
                                                                                           "sensitivity")


def test_the_headline_says_how_far_from_the_optimum(folder, tmp_path, page):
    summary = json.loads((folder / "summary.json").read_text())
    above = summary["net_present_cost_usd"] - summary["bound_usd"]
    assert 0 <= above < 1e6  # small.yaml solves to a gap of a few $100k
    assert f"optimal within a gap of {summary['gap']:.1e} (up to {format_usd(above)} above the optimum)" \
        in _section(page, "answer")
    copy = _copy(folder, tmp_path)
    bound = summary["net_present_cost_usd"] - 2.5e8
    _edit_summary(copy, status="time_limit", bound_usd=bound, gap=0.03)
    headline = re.search(r'<p class="headline">(.*?)</p>', _section(_report(copy), "answer")).group(1)
    assert ("best plan found when stopped at the time limit; up to $250.0M above the optimum "
            f"(bound ${bound / 1e9:,.2f}B)") in headline


def test_the_description_is_the_parsed_one(folder, tmp_path):
    copy = _copy(folder, tmp_path)
    text = (copy / "instance.yaml").read_text()
    text = re.sub(r"^description:.*?\n(?=\S)", 'description: "Two \\"quoted\\" words & more"\n', text,
                  flags=re.MULTILINE | re.DOTALL)
    (copy / "instance.yaml").write_text(text)
    assert "This instance: Two &quot;quoted&quot; words &amp; more</p>" in _section(_report(copy), "question")


def test_levelized_table_shows_the_total_first_and_splits_to_fit_the_page(page, folder):
    economics = _section(page, "economics")
    heads = [re.findall(r"<th>(.*?)</th>", head) for head in re.findall(r"<thead><tr>(.*?)</tr>", economics)]
    assert heads[0][:4] == ["source", "kind", "start_year", "total"]
    # Split by columns, each part repeating the row labels, none wider than the page allows.
    components = set(pd.read_csv(folder / "economics.csv").query("start_year == 2026")["component"])
    assert len(heads) >= 2 and all(h[:3] == ["source", "kind", "start_year"] for h in heads)
    assert all(len(h) <= MAX_TABLE_COLUMNS for h in heads) and {c for h in heads for c in h[3:]} == components | {
        "total"}
    assert "scroll" not in page


def test_costs_chart_keeps_the_salvage_out_of_the_last_year(folder, tmp_path, page):
    costs = pd.read_csv(folder / "costs.csv")
    assert costs.loc[costs["category"] == "salvage", "discounted_usd"].sum() < 0
    svg = _svg(plots.plot_costs(costs, tmp_path / "costs", start="2026-01")[0])
    assert "value left at the horizon end (salvage" in svg and "net cost of the year (without salvage)" in svg
    assert "net cost of each year (diamonds) does not include it" in _section(page, "costs")


def test_cost_categories_have_one_colour_in_both_charts(folder, tmp_path):
    costs = plots.plot_costs(pd.read_csv(folder / "costs.csv"), tmp_path / "costs")[0]
    levelized = plots.plot_levelized_costs(pd.read_csv(folder / "economics.csv"), tmp_path / "levelized")[0]
    for category in ("contracts", "leases", "build_gpus"):
        fill = f"fill: {plots.CATEGORY_COLORS[category]}"
        assert fill in _svg(costs) and fill in _svg(levelized), category
    assert plots.CATEGORY_COLORS["resale_revenue"] != plots.CATEGORY_COLORS["salvage"]
    assert len(set(plots.CATEGORY_COLORS.values())) == len(plots.CATEGORY_COLORS)


def test_equal_demand_lines_are_both_in_sight(folder, tmp_path):
    demand = pd.read_csv(folder / "demand.csv")
    training = demand[demand["workload"] == "training"]
    same = pd.concat([training, training.assign(workload="inference")])
    svg = _svg(plots.plot_capacity(pd.read_csv(folder / "plan.csv"), same, tmp_path / "cap")[0])
    assert "inference demand (= training)" in svg


def test_year_table_shows_peaks_and_resale(page):
    plan = _section(page, "plan")
    assert "<h3>Peak MW online in each year</h3>" in plan
    assert '<tr><td>colossus</td><td class="num">100</td><td class="num">0</td></tr>' in plan  # gone by December
    assert "<h3>Peak MW resold to others in each year</h3>" in plan


def test_prose_gives_the_horizon_end_and_when_a_lease_ends(page):
    answer = _section(page, "answer")
    assert "between 2026-01 and 2027-12 costs" in answer
    assert "colossus from 2026-04" in answer and "notice 2026-07, held through 2026-09" in answer


def test_an_infeasible_result_shows_its_conflicts_in_the_answer(folder, tmp_path):
    copy = _copy(folder, tmp_path)
    _edit_summary(copy, status="infeasible", net_present_cost_usd=None, bound_usd=None, gap=None)
    pd.DataFrame([{"family": "demand", "name": "training", "first_period": "2026-01", "last_period": "2026-04",
                   "slack_per_period": 1234.5, "unit": "H100e", "sufficient_alone": True,
                   "text": "training demand in 2026-01 exceeds what the sources can serve"}]) \
        .to_csv(copy / "conflicts.csv", index=False)
    answer = _section(_report(copy), "answer")
    shown = answer.split("<details>")[0]
    assert "What would have to give" in shown and "<td>training demand in 2026-01 exceeds what the sources" in shown
    assert '<td class="num">1,234.5</td>' in shown


@pytest.mark.parametrize("comment, kind", [
    ("220,000 H100 in 300 MW at Colossus 1 (seeds 002, 004)", "sourced"),
    ("within $0.04-0.15 (EIA); upper half for gas turbines", "sourced"),
    ("a typical site (Nov 2025 announcement)", "sourced"),
    ("see https://example.org/figures", "sourced"),
    ("1.1-1.3 (Uptime Institute)", "sourced"),
    ("assumption: demand doubles each year", "assumption"),
    ("5-6 years (hyperscaler 10-K filings)", "sourced"),
    ("as training", "unsourced comment"),
    ("~9%/yr GPU failures (public calculators)", "unsourced comment"),
    ("a Colossus-speed site: on-site turbines, little power", "unsourced comment"),
])
def test_a_comment_is_a_source_only_if_it_cites_something(comment, kind):
    assert source_kind(comment) == kind


def test_source_counts_are_honest(page):
    """Counted by hand in small.yaml: 51 figures carry a comment, 32 of them "# assumption..."; of the other 19,
    three cite nothing ("as training", "(trade press)", "(public calculators)") and 16 cite a seed, an
    organisation or a filing."""
    assumptions = _section(page, "assumptions")
    counted = re.search(r"(\d+) figures carry a comment.*?(\d+) cite a source.*?(\d+) say they are assumptions and "
                        r"(\d+) are comments that cite nothing", assumptions)
    assert tuple(map(int, counted.groups())) == (51, 16, 32, 3)
    assert assumptions.count('class="tag unsourced"') == 3


def test_levelized_chart_is_of_one_start_year(folder, tmp_path, page):
    economics = pd.read_csv(folder / "economics.csv")
    # By default the first year in which the most sources can start: the satellites first launch in 2027.
    assert plots.levelized_year(economics) == 2027 and plots.levelized_missing(economics, 2026) == ["sat"]
    svg = _svg(plots.plot_levelized_costs(economics, tmp_path / "lev", year=2026)[0])
    assert "capacity started in 2026" in svg and "cannot start in 2026: sat" in svg
    assert "capacity started in 2026" in _section(page, "economics")  # 2028 is outside the small horizon
    assert "Cannot start in 2026: sat." in _section(page, "economics")


# ---------------------------------------------------------------------------------------------------------------
# The report as a reader prints it: headless Chromium (Debian's package; .ci/run installs it) prints report.html to
# PDF, and lays the page out at the printed width to measure every element.

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)
# The page's width between the report's @page margins, in CSS px (96 to the inch), from the style sheet itself.
_MARGIN_MM = float(re.search(r"@page \{ size: A4; margin: [\d.]+mm ([\d.]+)mm; \}", CSS).group(1))
A4_CONTENT_PX = round((210 - 2 * _MARGIN_MM) / 25.4 * 96)
needs_browser = pytest.mark.skipif(BROWSER is None and os.environ.get("DCOPT_REQUIRE_BROWSER") != "1",
                                   reason="no Chromium here (CI installs it and sets DCOPT_REQUIRE_BROWSER=1)")


def _chromium(*args: str) -> subprocess.CompletedProcess:
    assert BROWSER is not None, "DCOPT_REQUIRE_BROWSER=1 but no chromium on PATH"
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", *args], capture_output=True,
                          text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def printed(folder: Path) -> tuple[str, list[str]]:
    """The report printed to PDF as a reader would: (all its text, one string per page)."""
    from pypdf import PdfReader

    pdf = folder.parent / "report.pdf"
    _chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", (folder / "report.html").resolve().as_uri())
    reader = PdfReader(pdf)
    images = sum(len(page.images) for page in reader.pages)
    return images, [page.extract_text() for page in reader.pages]


def _printed_html(page: str) -> str:
    """What a printout shows of the page: closed <details> print only their summary line."""
    return re.sub(r"<details>.*?</details>", "", page, flags=re.DOTALL)


@needs_browser
def test_printed_report_has_its_pages_every_chart_and_its_tables(page, printed):
    images, pages = printed
    # The small instance's full report prints on 9 pages; many more would mean a table or a chart run wild.
    assert 6 <= len(pages) <= 14
    assert images == page.count("<img ") >= 9
    # The tables' headings that name one table alone are in the printed text (whether a column reaches past the
    # page's edge is the layout test's below: Chromium shrinks a wide page to fit rather than cut it).
    text = unicodedata.normalize("NFKC", re.sub(r"\s+", "", "".join(pages)))
    shown = _printed_html(page)
    headers = [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th>(.*?)</th>", shown)]
    distinctive = [h for h in headers if headers.count(h) == 1 and re.sub(r"<[^>]+>", " ", shown).count(h) == 1]
    assert len(distinctive) >= 10 and all(re.sub(r"\s+", "", h) in text for h in distinctive)


@needs_browser
def test_every_element_fits_the_printed_page_width(folder, page):
    """Laid out with the print styles at the width of an A4 page between its margins, nothing reaches past the
    right edge and nothing scrolls inside a box (the old levelized-cost and marginal tables did)."""
    probe = ("<script>const width = document.documentElement.clientWidth, over = [];"
             "for (const e of document.querySelectorAll('body *')) {"
             "  const right = e.getBoundingClientRect().right;"
             "  const scrolls = e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX != 'visible';"
             "  if (right > width + 1 || scrolls)"
             "    over.push(e.tagName + ' ' + (e.textContent || '').slice(0, 40) + ' ' + Math.round(right));"
             "}"
             "document.body.setAttribute('data-width', width);"
             "document.body.setAttribute('data-over', JSON.stringify(over));</script>")
    laid_out = folder.parent / "print_layout.html"
    laid_out.write_text(page.replace("@media print", "@media all").replace("</body>", probe + "</body>"))
    dom = _chromium(f"--window-size={A4_CONTENT_PX},1200", "--dump-dom", laid_out.resolve().as_uri()).stdout
    width = int(re.search(r'data-width="(\d+)"', dom).group(1))
    over = json.loads(html.unescape(re.search(r'data-over="([^"]*)"', dom).group(1)))
    assert A4_CONTENT_PX - 40 <= width <= A4_CONTENT_PX and over == []
