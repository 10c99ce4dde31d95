"""The command line, run as a user would: in a subprocess, checking exit codes, messages and files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import INSTANCES, ROOT

SMALL = INSTANCES / "small.yaml"


def dcopt(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


def test_validate_good_and_bad(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.read_text().replace("price_usd_per_mw_month: 1250000", "price_usd_per_mw_month: -5"))
    ok = dcopt("validate", SMALL)
    assert ok.returncode == 0, ok.stderr
    assert "ok (small)" in ok.stdout
    run = dcopt("validate", SMALL, bad)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"{bad}: hyperscaler_contracts.cloud.price_usd_per_mw_month: ")


def test_solve_writes_results_and_summary(tmp_path):
    run = dcopt("solve", SMALL, "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "small: optimal" in run.stdout
    assert "Net present cost" in run.stdout and "What binds" in run.stdout
    assert "own builds: facilities" in run.stdout and "build_facility" not in run.stdout  # categories in words
    folder = tmp_path / "out" / "small"
    for name in ("plan.csv", "costs.csv", "demand.csv", "binding.csv", "summary.json", "result.json"):
        assert (folder / name).is_file(), name
    assert not (folder / "conflicts.csv").exists()  # there is a plan: nothing to explain
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary["status"].tolist() == ["optimal"]
    costs = pd.read_csv(folder / "costs.csv")
    # The table of discounted costs adds up to the net present cost.
    assert costs["discounted_usd"].sum() == pytest.approx(summary["net_present_cost_usd"][0], rel=1e-9)


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    folder = tmp_path / "instances"
    folder.mkdir()
    shutil.copy(SMALL, folder / "a.yaml")
    shutil.copy(SMALL, folder / "b.yaml")
    (folder / "broken.yaml").write_text("name: [unclosed\n")
    (folder / "notes.txt").write_text("not an instance: ignored, as it is not *.yaml")
    run = dcopt("solve", folder, "--out", tmp_path / "out", "-j", "2", "--quiet")
    assert run.returncode == 2  # an invalid file
    assert "Traceback" not in run.stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    summary["stem"] = summary["file"].map(lambda f: f.rsplit("/", 1)[-1])
    assert dict(zip(summary["stem"], summary["status"], strict=True)) == {
        "a.yaml": "optimal", "b.yaml": "optimal", "broken.yaml": "invalid"}
    cost = summary.set_index("stem")["net_present_cost_usd"]
    assert cost["a.yaml"] == cost["b.yaml"]
    assert (tmp_path / "out" / "a" / "plan.csv").is_file()


def test_infeasible_instance_exits_1_without_tables(tmp_path):
    text = SMALL.read_text().replace(
        "    unmet_penalty_usd_per_unit_month: 3400   # as training",
        "    unmet_penalty_usd_per_unit_month: 3400\n    max_unmet_share: 0.0").replace(
        "  2027-01: 120000", "  2027-01: 99000000")  # far more inference than any source can serve
    path = tmp_path / "hard_floor.yaml"
    path.write_text(text)
    run = dcopt("solve", path, "--out", tmp_path / "out")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "small: infeasible" in run.stdout
    assert "Net present cost" not in run.stdout
    assert not (tmp_path / "out" / "hard_floor" / "plan.csv").read_text().strip().splitlines()[1:]


def test_no_files(tmp_path):
    assert dcopt("solve", tmp_path).returncode == 2
    assert dcopt("validate", tmp_path).returncode == 2


def one_line_error(run: subprocess.CompletedProcess) -> str:
    """The one line a rejected command prints: exit code 2, no traceback, nothing on stdout."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and not run.stdout
    [line] = run.stderr.splitlines()
    return line


@pytest.mark.parametrize(("args", "expected"), [
    (("solve", SMALL, "--gap", "abc"), "dcopt solve: argument --gap: expected a number, got 'abc'"),
    (("solve", SMALL, "-j", "0"), "dcopt solve: argument -j/--jobs: expected at least 1, got 0"),
    (("sweep", SMALL), "dcopt sweep: the following arguments are required: --spec"),
    (("frobnicate",), "dcopt: argument command: invalid choice: 'frobnicate'"),
    (("breakeven", SMALL, "--param", "x", "--source", "sat", "--between", "1", "nan"),
     "dcopt breakeven: argument --between: expected a finite number, got 'nan'"),
])
def test_usage_errors_are_one_line_with_a_pointer_to_help(args, expected):
    line = one_line_error(dcopt(*args))
    assert line.startswith(expected), line
    assert line.endswith("--help')"), line


def test_version():
    run = dcopt("--version")
    assert run.returncode == 0 and run.stdout.startswith("dcopt 0.")


BREAKEVEN = ("breakeven", SMALL, "--param", "orbital.launch_vehicles.rocket.launch_price_usd_per_kg")


@pytest.mark.parametrize(("args", "expected"), [
    (("--source", "build", "--between", "50", "20000"),
     "dcopt breakeven: --source build: no source or kind of source of small has this name (did you mean "
     "'own_build'?); known: cloud, colossus, plain, sat, fixed_block_lease, hyperscaler_contract, orbital, own_build"),
    (("--source", "sta", "--between", "50", "20000"), "(did you mean 'sat'?)"),
    (("--source", "sat", "--between", "20000", "50"),
     "dcopt breakeven: --between A B: expected A < B, got 20000 and 50"),
    (("--source", "sat", "--between", "50", "50"), "expected A < B, got 50 and 50"),
    (("--source", "sat", "--between", "50", "20000", "--by", "2028-01"),
     "dcopt breakeven: --by 2028-01: expected a month in the horizon 2026-01..2027-12"),
    (("--source", "sat", "--between", "50", "20000", "--by", "2027-1"),
     "dcopt breakeven: --by 2027-1: expected a month as YYYY-MM"),
    (("--source", "sat", "--between", "50", "20000", "--screen", "quarter"),
     "dcopt breakeven: --screen quarter: expected a grid other than the one searched (quarters)"),
    (("--source", "sat", "--between", "50", "20000", "--screen", "month:2026-05,quarter"),
     "dcopt breakeven: --screen month:2026-05,quarter: small (changed: horizon.period): horizon: period.1: 19 "
     "months from 2026-06 to 2027-12 is not a whole number of quarters"),
])
def test_breakeven_arguments_are_checked_before_any_solve(tmp_path, args, expected):
    line = one_line_error(dcopt(*BREAKEVEN, *args, "--out", tmp_path / "out"))
    assert expected in line, line
    assert not (tmp_path / "out").exists()  # written only after the solves: none ran


def test_breakeven_help_lists_the_kinds_it_takes():
    assert "hyperscaler_contract, fixed_block_lease, own_build, orbital" in " ".join(
        dcopt("breakeven", "--help").stdout.split())


def test_a_kind_the_instance_lacks_is_named(tmp_path):
    text = SMALL.read_text()
    path = tmp_path / "ground.yaml"
    path.write_text(text[:text.index("orbital:")] + text[text.index("resale:"):])
    line = one_line_error(dcopt(*BREAKEVEN[:1], path, "--param", "resale.price_usd_per_unit_month", "--source",
                                "orbital", "--between", "1", "2", "--out", tmp_path / "out"))
    assert line == ("dcopt breakeven: --source orbital: small has no source of this kind (its sources: cloud, "
                    "colossus, plain, fixed_block_lease, hyperscaler_contract, own_build)")


def _outputs(tmp_path):
    """(command arguments, the --out value) for every command, with a placeholder for the --out value."""
    result = tmp_path / "result"
    result.mkdir()
    (result / "summary.json").write_text("{}")
    return [("solve", SMALL), ("marginal", SMALL), ("tornado", SMALL, "--param", "resale.market_cap_mw=1:2"),
            (*BREAKEVEN, "--source", "sat", "--between", "50", "20000"),
            ("sweep", SMALL, "--spec", INSTANCES / "sweeps" / "small_lhs.yaml"), ("economics", SMALL)]


def test_an_output_that_cannot_be_written_is_refused_before_any_solve(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for args in _outputs(tmp_path):
        line = one_line_error(dcopt(*args, "--out", blocker))
        assert line == f"dcopt {args[0]}: --out {blocker}: is a file; expected a folder", line
        line = one_line_error(dcopt(*args, "--out", blocker / "below"))
        assert line == f"dcopt {args[0]}: --out {blocker / 'below'}: {blocker} is a file, not a folder", line
    for args in (("report", tmp_path / "result"), ("generate", "--seed", "1")):
        line = one_line_error(dcopt(*args, "--out", tmp_path))
        assert line == f"dcopt {args[0]}: --out {tmp_path}: is a folder; expected a file name", line
        line = one_line_error(dcopt(*args, "--out", blocker / "x.html"))
        assert line == f"dcopt {args[0]}: --out {blocker / 'x.html'}: {blocker} is a file, not a folder", line
    assert blocker.read_text() == "not a folder"


def test_a_result_folder_that_is_a_file_is_refused_before_any_solve(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "small").write_text("in the way")
    line = one_line_error(dcopt("solve", INSTANCES / "reference.yaml", SMALL, "--out", tmp_path / "out"))
    assert line == f"dcopt solve: --out {tmp_path / 'out' / 'small'}: is a file; expected a folder"
    assert not (tmp_path / "out" / "reference").exists()  # the first file was not solved either


def test_degenerate_instances_solve_in_one_batch_and_a_bad_one_does_not_stop_it(tmp_path):
    from test_fuzz import DEGENERATE, degenerate

    folder = tmp_path / "instances"
    folder.mkdir()
    (folder / "a_broken.yaml").write_text("name: [unclosed\n")
    names = [name.replace(" ", "_") for name in DEGENERATE]
    for name, stem in zip(DEGENERATE, names, strict=True):
        (folder / f"{stem}.yaml").write_text(yaml.safe_dump(degenerate(name)))
    run = dcopt("solve", folder, "--out", tmp_path / "out", "--report", "--quiet")
    assert run.returncode == 2  # the broken file
    assert "Traceback" not in run.stderr and "HiGHS" not in run.stdout + run.stderr
    [error] = run.stderr.splitlines()
    assert error.startswith(f"{folder / 'a_broken.yaml'}: (YAML)")
    lines = run.stdout.splitlines()
    solved = [line.rsplit(" ", 1)[0] for line in lines[:-1]]
    assert solved == [f"{folder / stem}.yaml: optimal" for stem in sorted(names)]  # in file order
    # nothing to serve, or nothing worth serving, costs nothing (the other costs are worked out in test_solve)
    assert {line.rsplit(" ", 1)[1] for line in lines if "zero_demand" in line or "everything_unmet" in line} == {
        "$0.00B"}
    for stem in names:
        assert (tmp_path / "out" / stem / "report.html").stat().st_size > 0, stem
    again = dcopt("report", tmp_path / "out" / "no_sources")  # the plan in words of a plan with no rows
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert again.stdout.splitlines() == [f"Report written to {tmp_path / 'out' / 'no_sources' / 'report.html'}"]


def test_an_exception_in_one_file_of_a_batch_is_that_files_failure(tmp_path, monkeypatch, capsys):
    from solver import cli

    def summary_that_fails_for_a(result):
        if result.instance_name == "a":
            raise KeyError("planted")
        return real(result)

    real = cli.format_summary
    monkeypatch.setattr(cli, "format_summary", summary_that_fails_for_a)
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(SMALL.read_text().replace("name: small", f"name: {name}"))
    code = cli.main(["solve", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), "--out", str(tmp_path / "out"),
                     "--quiet"])
    assert code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"{tmp_path / 'a.yaml'}: error while solving or writing: KeyError: 'planted'"
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary["status"].tolist() == ["error", "optimal"]


def test_no_banner_between_the_lines_of_a_sweeps_progress_bar(tmp_path):
    run = dcopt("sweep", SMALL, "--spec", INSTANCES / "sweeps" / "small_lhs.yaml", "--out", tmp_path, "--limit",
                "2", "-j", "2")
    assert run.returncode == 0, run.stderr
    assert "sweep:" in run.stderr  # the progress bar, with the points' failures and gaps beside it
    assert re.search(r"0 without a plan, widest gap \d\.\de-\d\d", run.stderr)
    assert "HiGHS" not in run.stdout + run.stderr


ROCKET_PRICE = "orbital.launch_vehicles.rocket.launch_price_usd_per_kg"


def test_what_if_commands_reject_a_bad_path_in_one_line(tmp_path):
    for args in (("tornado", SMALL, "--param", "orbital.launch_vehicles.rockt.launch_price_usd_per_kg=1:2"),
                 ("breakeven", SMALL, "--param", "orbital.launch_vehicles.rockt.launch_price_usd_per_kg",
                  "--source", "sat", "--between", "1", "2")):
        run = dcopt(*args, "--out", tmp_path)
        assert run.returncode == 2, run.stderr
        [line] = run.stderr.strip().splitlines()
        assert "no field 'rockt' (known under orbital.launch_vehicles: rocket)" in line


def test_tornado_and_breakeven_write_their_outputs(tmp_path):
    run = dcopt("tornado", SMALL, "--param", f"{ROCKET_PRICE}=100:1000", "--param",
                "demand.training.growth_law.start_units*=0.8:1.2", "--out", tmp_path, "--log", tmp_path / "h.log")
    assert run.returncode == 0, run.stderr
    assert all("MIP" in (tmp_path / f"h-{k}.log").read_text() for k in range(1, 6))  # HiGHS's log of each solve
    table = pd.read_csv(tmp_path / "tornado.csv")
    assert list(table["parameter"]) == ["demand.training.growth_law.start_units (x)", ROCKET_PRICE]
    assert (tmp_path / "tornado.png").stat().st_size > 0
    assert "What changes in the plan" in run.stdout
    assert re.search(r"solve 1 of 5, the base case: \$[\d.]+B \(optimal, gap ", run.stderr)  # a line per solve
    assert "solve 3 of 5, " + ROCKET_PRICE + "=1000: $" in run.stderr
    assert re.search(r"[+-]\$[\d.,]+[BM] ", run.stdout) and not re.search(r"\de[+-]\d", run.stdout)  # -$21.9M
    assert "change at low" in run.stdout and "delta_low_usd" not in run.stdout
    tables = run.stdout.split("Table and chart written")[0]  # (that line holds a long temporary path)
    assert max(len(line) for line in tables.splitlines()) <= 120  # plan changes wrapped, not a wide column
    run = dcopt("breakeven", SMALL, "--param", ROCKET_PRICE, "--source", "orbital", "--between", "50", "20000",
                "--tolerance", "500", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert "orbital is in the plan for " + ROCKET_PRICE + " below" in run.stdout
    assert re.search(r"solve 1, " + re.escape(ROCKET_PRICE) + r"=50: orbital in the plan \([\d.,]+ MW peak\); \$",
                     run.stderr)
    # A price moves costs alone: the plans' cost lines locate it in fewer solves than bisection's 2 + 6 halvings
    # of 19,950 to 500, at the same crossing.
    lines = pd.read_csv(tmp_path / "breakeven.csv")
    facts = json.loads((tmp_path / "breakeven.json").read_text())
    assert facts["method"] == "plan lines" and "located by the plans' cost lines" in run.stdout
    bisection = dcopt("breakeven", SMALL, "--param", ROCKET_PRICE, "--source", "orbital", "--between", "50",
                      "20000", "--tolerance", "500", "--method", "bisection", "--out", tmp_path / "bisection")
    assert bisection.returncode == 0, bisection.stderr
    bisected = json.loads((tmp_path / "bisection" / "breakeven.json").read_text())
    assert len(lines) < len(pd.read_csv(tmp_path / "bisection" / "breakeven.csv")) == 2 + 6
    assert abs(facts["value"] - bisected["value"]) <= facts["noise_band"]
    assert re.search(r"\$\d+\.\d\dB", run.stdout) and not re.search(r"\de\+\d", run.stdout)  # $7.34B, not 7.34e+09


def test_marginal_re_solves_one_more_unit_of_each_limit_in_parallel(tmp_path):
    """small has one site, the national cap and one vehicle: three re-solves on two workers, a line on standard
    error as each ends; the summary has a section of its own for them, saying they are with the plan free."""
    run = dcopt("marginal", SMALL, "-j", "2", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert re.search(r"  the plan: \$7\.34B \(optimal, gap ", run.stderr)
    ends = re.findall(r"  re-solve (\d) of 3, (site power plain|national cap terrestrial|launch cadence rocket): \$",
                      run.stderr)
    assert sorted(n for n, _ in ends) == ["1", "2", "3"] and len({w for _, w in ends}) == 3
    assert "One more unit with the integer plan free" in run.stdout
    assert re.search(r"site power plain +\$[\d.]+M \[\$[\d.]+M-\$[\d.]+M\], \$[\d.]+M per grid MW", run.stdout)
    table = pd.read_csv(tmp_path / "one_more.csv")
    assert list(table["name"]) == ["plain", "terrestrial", "rocket"]  # in case order, whichever finished first
    fixed = dcopt("marginal", SMALL, "--fixed-plan-only", "--out", tmp_path / "fixed")
    assert fixed.returncode == 0 and "re-solve" not in fixed.stderr
    assert pd.read_csv(tmp_path / "fixed" / "one_more.csv").empty


def test_a_screening_grid_is_used_and_said(tmp_path):
    """--grid year solves small (two years by quarter) at yearly periods, and says so; the break-even records it.
    A horizon that is no whole number of such periods is one line and exit 2, before any solve."""
    run = dcopt("tornado", SMALL, "--param", f"{ROCKET_PRICE}=100:1000", "--grid", "year", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Grid: years, a screening grid (the instance's own is quarters)" in run.stdout
    run = dcopt("breakeven", SMALL, "--param", ROCKET_PRICE, "--source", "orbital", "--between", "50", "20000",
                "--grid", "month", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "breakeven.json").read_text())["grid"] == "month"
    assert "Grid: months, a screening grid (the instance's own is quarters)" in run.stdout
    # Screened on years, searched on the instance's quarters: the same crossing as a search of quarters alone
    # (test_tornado_and_breakeven_write_their_outputs: $5,261.86/kg), the yearly one far below it.
    run = dcopt("breakeven", SMALL, "--param", ROCKET_PRICE, "--source", "orbital", "--between", "50", "20000",
                "--tolerance", "500", "--screen", "year", "--out", tmp_path / "screened")
    assert run.returncode == 0, run.stderr
    facts = json.loads((tmp_path / "screened" / "breakeven.json").read_text())
    assert (facts["grid"], facts["screen_grid"]) == ("quarter", "year")
    assert facts["value"] == pytest.approx(5261.86, abs=facts["noise_band"])
    assert facts["screen_value"] < facts["searched"][0] < facts["value"] <= facts["searched"][1] == 20000
    assert re.search(r"screened on years: [\d,.]+ in \d solves; searched on quarters over", run.stdout)
    assert "  screen solve 1, " in run.stderr
    table = pd.read_csv(tmp_path / "screened" / "breakeven.csv")
    assert set(table.loc[table["stage"] == "screen", "grid"]) == {"years"}
    assert set(table.loc[table["stage"] == "search", "grid"]) == {"quarters"}
    half = tmp_path / "half.yaml"
    half.write_text(SMALL.read_text().replace("end: 2027-12", "end: 2027-06"))
    assert "end: 2027-06" in half.read_text()
    line = one_line_error(dcopt("marginal", half, "--grid", "year", "--out", tmp_path / "m"))
    assert line.startswith("dcopt marginal: --grid year: ") and "whole number" in line
    assert not (tmp_path / "m").exists()


def test_one_more_is_part_of_the_report(tmp_path):
    line = one_line_error(dcopt("solve", SMALL, "--one-more", "--out", tmp_path))
    assert line.startswith("dcopt solve: --one-more adds re-solves to the report's marginal values: give --report")


def test_sweep_resumes_from_its_output(tmp_path):
    spec = INSTANCES / "sweeps" / "small_lhs.yaml"
    first = dcopt("sweep", SMALL, "--spec", spec, "--out", tmp_path, "--limit", "3", "--no-progress")
    assert first.returncode == 0, first.stderr
    assert len(pd.read_csv(tmp_path / "points.csv")) == 3
    second = dcopt("sweep", SMALL, "--spec", spec, "--out", tmp_path, "--limit", "2", "--no-progress", "-j", "2")
    assert second.returncode == 0, second.stderr
    assert "(2 solved now" in second.stdout and "3 already there" in second.stdout
    points = pd.read_csv(tmp_path / "points.csv")
    assert list(points["id"]) == [0, 1, 2, 3, 4] and (points["status"] == "optimal").all()
    assert re.search(r"\$\d+\.\d\dB", second.stdout) and not re.search(r"\de\+\d", second.stdout)


def test_generate_writes_a_valid_instance(tmp_path):
    run = dcopt("generate", "--seed", "5", "--sites", "6", "--period-months", "3", "--out", tmp_path / "g.yaml")
    assert run.returncode == 0, run.stderr
    assert dcopt("validate", tmp_path / "g.yaml").returncode == 0


def test_a_batch_shows_progress_results_as_they_finish_and_highs_logs(tmp_path):
    """Two instances on two workers: small (a fraction of a second) is printed before the reference (seconds),
    whatever their order; the reference's progress lines (every second, as standard error is no terminal) give
    its time, best plan, bound and gap; each solve's HiGHS log is in its own file; summary.csv keeps file order."""
    reference = INSTANCES / "reference.yaml"
    run = dcopt("solve", reference, SMALL, "-j", "2", "--gap", "1e-3", "--progress", "1",
                "--log", tmp_path / "highs.log", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.index("== small") < run.stdout.index("== reference")
    lines = [line for line in run.stderr.splitlines() if line.startswith("  reference: ")]
    assert lines, run.stderr
    assert all(re.fullmatch(r"  reference: [\d,]+ s, (no plan yet|best plan \$[\d,.]+B(, bound \$[\d,.]+B)?"
                            r"(, gap \d\.\de[-+]\d\d)?)", line) for line in lines), lines
    for name in ("reference", "small"):
        assert "MIP" in (tmp_path / f"highs-{name}.log").read_text()
    assert list(pd.read_csv(tmp_path / "summary.csv")["instance"]) == ["reference", "small"]


def test_verbose_needs_one_solve_at_a_time(tmp_path):
    line = one_line_error(dcopt("solve", SMALL, "-v", "-j", "2", "--out", tmp_path))
    assert line.startswith("dcopt solve: -v prints HiGHS's log, which needs one solve at a time (-j 1)")


def test_a_screening_sweep_measures_its_cost_error_on_a_sample(tmp_path):
    """The teaching case swept by year (its own grid is quarters), with 4 of its 32 points solved by quarter too:
    grid_error.csv compares, point by point, the costs stored in the two sweeps' own tables."""
    spec = INSTANCES / "sweeps" / "small_lhs.yaml"
    run = dcopt("sweep", SMALL, "--spec", spec, "--grid", "year", "--error-sample", "4", "--out", tmp_path,
                "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "Cost error of the screening grid on 4 points" in run.stdout
    errors = pd.read_csv(tmp_path / "grid_error.csv")
    screened = pd.read_csv(tmp_path / "points.csv").set_index("id")
    assert len(errors) == 4 and len(screened) == 32
    for row in errors.itertuples():
        assert row.objective_usd_screened == pytest.approx(screened.loc[row.id, "objective_usd"])
        assert row.relative_error == pytest.approx(row.objective_usd_screened / row.objective_usd_own - 1)
    facts = json.loads((tmp_path / "grid_error.json").read_text())
    assert facts["points"] == 4 and facts["own_grid"] == "quarters" and facts["screening_grid"] == "years"
    assert facts["max_abs_relative_error"] == pytest.approx(errors["relative_error"].abs().max())
    assert one_line_error(dcopt("sweep", SMALL, "--spec", spec, "--error-sample", "4", "--out", tmp_path / "x")) \
        == "dcopt sweep: --error-sample: expected --grid too (the error is the screening grid's against the " \
           "instance's own)"


def test_every_command_runs_on_a_segmented_grid(tmp_path):
    """The teaching case on months through 2026-06 then quarters (its tree branches at 2026-07, a quarter's
    start): solve with its report, marginal, tornado, break-even, a sweep, economics and the tree all run and
    write their tables; the report's words give the horizon's true end (the last quarter's last month)."""
    segmented = tmp_path / "segmented.yaml"
    segmented.write_text(SMALL.read_text().replace("  period: quarter\n", "  period: [{period: month, until: "
                                                   "2026-06}, {period: quarter}]\n"))
    runs = {"solve": ("solve", segmented, "--report"), "marginal": ("marginal", segmented),
            "tornado": ("tornado", segmented, "--param", "resale.market_cap_mw=1:2"),
            "breakeven": ("breakeven", segmented, "--param", ROCKET_PRICE, "--source", "sat", "--between", "50",
                          "20000"),
            "sweep": ("sweep", segmented, "--spec", INSTANCES / "sweeps" / "small_lhs.yaml", "--limit", "2",
                      "--no-progress"),
            "economics": ("economics", segmented),
            "stochastic": ("stochastic", segmented, "--tree", INSTANCES / "trees" / "small.yaml", "--no-options")}
    for name, args in runs.items():
        run = dcopt(*args, "--out", tmp_path / name)
        assert run.returncode == 0, (name, run.stderr)
    plan = pd.read_csv(tmp_path / "solve" / "segmented" / "plan.csv")
    assert sorted(set(plan["months"])) == [1, 3]
    assert "between 2026-01 and 2027-12" in (tmp_path / "solve" / "segmented" / "report.html").read_text()
