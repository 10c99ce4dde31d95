"""The board report and its charts: structure of the HTML, embedded images, numbers matching the result files.

One module-scoped result folder of the teaching instance (solves in well under a second) gathers what each
command writes into it: ``dcopt solve --report`` (tables, instance.yaml, economics.csv, report.html), then
``marginal``, ``tornado`` and ``breakeven``, run in-process; a sweep's tables are written by hand (their format
is the sweep's, a real sweep would only add seconds). Then ``dcopt report`` makes the full report again.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import INSTANCES

from solver import plots
from solver.cli import main
from solver.report import instance_figures, write_report

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
    assert main(["solve", str(SMALL), "--out", str(out), "--report", "--quiet"]) == 0
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
    # capacity, costs, marginal, economics, tornado, break-even, sweep cost and sweep sources
    assert len(sources) == 8
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
            assert re.search(rf"<td>{category}</td><td class=\"num\">{re.escape(f'{amount:,.2f}')}</td>", costs_html)
    demand = pd.read_csv(folder / "demand.csv")
    unmet = demand.groupby(["year", "workload"])[["unmet_units", "demand_units"]].sum()
    for (year, workload), row in unmet[unmet["unmet_units"] > 1].iterrows():
        assert f"{year} {workload} {row['unmet_units'] / row['demand_units']:.1%}" in _section(page, "answer")
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
    first = (folder.parent / "first_report.html").read_text()  # from solve --report: economics, no what-ifs
    assert "Not computed" in _section(first, "marginal") and "Not computed" not in _section(first, "economics")


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
         ["USD per H100e-year", "plain (2026)"]),
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
