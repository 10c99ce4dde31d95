"""The command line, run as a user would: in a subprocess, checking exit codes, messages and files."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest
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
    folder = tmp_path / "out" / "small"
    for name in ("plan.csv", "costs.csv", "demand.csv", "binding.csv", "summary.json", "result.json"):
        assert (folder / name).is_file(), name
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


def test_no_files_and_bad_options(tmp_path):
    assert dcopt("solve", tmp_path).returncode == 2
    assert dcopt("validate", tmp_path).returncode == 2
    assert dcopt("solve", SMALL, "-j", "0").returncode == 2
    assert dcopt("frobnicate").returncode == 2


def test_unwritable_output_is_one_line_not_a_traceback(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    run = dcopt("solve", SMALL, "--out", blocker, "--quiet")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "error while solving or writing" in run.stderr or "cannot write" in run.stderr


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
                "demand.training.growth_law.start_units*=0.8:1.2", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(tmp_path / "tornado.csv")
    assert list(table["parameter"]) == ["demand.training.growth_law.start_units (x)", ROCKET_PRICE]
    assert (tmp_path / "tornado.png").stat().st_size > 0
    run = dcopt("breakeven", SMALL, "--param", ROCKET_PRICE, "--source", "orbital", "--between", "50", "20000",
                "--tolerance", "500", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert "orbital is in the plan for " + ROCKET_PRICE + " below" in run.stdout
    assert len(pd.read_csv(tmp_path / "breakeven.csv")) >= 2 + 5  # both ends, then log2(19950 / 500) halvings


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


def test_generate_writes_a_valid_instance(tmp_path):
    run = dcopt("generate", "--seed", "5", "--sites", "6", "--period-months", "3", "--out", tmp_path / "g.yaml")
    assert run.returncode == 0, run.stderr
    assert dcopt("validate", tmp_path / "g.yaml").returncode == 0
