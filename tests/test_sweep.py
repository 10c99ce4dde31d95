"""Sweeps: designs, the SQLite store and resume, failed points, statistics with known answers, executors."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import sqlite3

import numpy as np
import pandas as pd
import pytest
from conftest import contract, make_instance, training

from solver.instance import InstanceError
from solver.sweep import SweepSpec, design_points, load_spec, read_points, run_sweep

PRICE = "hyperscaler_contracts.cloud.price_usd_per_mw_month"
PENALTY = "demand.training.unmet_penalty_usd_per_unit_month"


def linear_instance():
    """100 MW of training demand all year, a 1-month-term contract far below the $10M-per-MW-month penalty.

    The plan is the same for every price in $0.5M..$1.5M: the net present cost is 100 MW x 12 x p = 1,200 p
    (p in USD per MW-month), linear in the price and independent of the penalty."""
    return make_instance(demand=training({"2026-01": 100_000}), hyperscaler_contracts=contract())


def spec(**fields) -> SweepSpec:
    base = {"design": "lhs", "points": 8, "seed": 7, "mip_gap": 1e-9, "parameters": [
        {"path": PRICE, "low": 500_000, "high": 1_500_000},
        {"path": PENALTY, "low": 20_000, "high": 30_000},
    ]}
    return SweepSpec.model_validate(base | fields)


def comparable(points: pd.DataFrame) -> pd.DataFrame:
    return points.drop(columns=["seconds", "how"]).round(6)


def test_lhs_design_draws_each_parameter_once_per_stratum():
    points = design_points(spec(points=10))
    assert points.shape == (10, 2)
    strata = np.floor((points[:, 0] - 500_000) / 100_000)  # uniform on 10 equal strata: each hit exactly once
    assert sorted(strata) == list(range(10))


def test_sweep_costs_and_statistics_known_answers(tmp_path):
    run = run_sweep(linear_instance(), spec(), tmp_path / "s.sqlite", progress=False)
    points = run.points
    assert (points["status"] == "optimal").all() and len(points) == 8
    assert np.allclose(points["objective_usd"], 1_200 * points[PRICE], rtol=1e-9)
    assert (points["peak_mw:cloud"] == 100).all()
    spearman = run.summary["spearman"].set_index(["parameter", "output"])["spearman_rho"]
    assert spearman[(PRICE, "objective_usd")] == pytest.approx(1.0)
    cost = run.summary["cost"].iloc[0]
    assert cost["p50"] == pytest.approx(1_200 * points[PRICE].median(), rel=1e-9)
    sources = run.summary["sources"].set_index("source")
    assert sources.loc["cloud", "share_of_points_in_plan"] == 1.0


def test_sobol_indices_of_a_cost_that_depends_on_one_input_only(tmp_path):
    """Cost = 1,200 p: the penalty has no effect, so its AB points equal the A points and both its indices are
    exactly 0 (Saltelli 2010 and Jansen estimators); the price carries all the variance (total index ~1)."""
    run = run_sweep(linear_instance(), spec(design="sobol", points=16), tmp_path / "s.sqlite", progress=False)
    assert len(run.points) == 16 * (2 + 2)
    sobol = run.summary["sobol"].set_index("parameter")
    assert sobol.loc[PENALTY, "first_order"] == pytest.approx(0, abs=1e-12)
    assert sobol.loc[PENALTY, "total_order"] == pytest.approx(0, abs=1e-12)
    assert sobol.loc[PRICE, "total_order"] == pytest.approx(1, abs=0.25)
    assert sobol.loc[PRICE, "first_order"] == pytest.approx(1, abs=0.25)


def test_resume_after_a_crash_gives_the_same_table(tmp_path):
    whole = run_sweep(linear_instance(), spec(), tmp_path / "whole.sqlite", progress=False).points

    class SimulatedCrashError(RuntimeError):
        pass

    def crash_after_three(row, seen=[]):  # noqa: B006 - a counter kept across calls
        seen.append(row["id"])
        if len(seen) == 3:
            raise SimulatedCrashError

    with pytest.raises(SimulatedCrashError):  # raised in the loop that stores points, as a kill would stop it
        run_sweep(linear_instance(), spec(), tmp_path / "part.sqlite", progress=False, on_point=crash_after_three)
    assert len(read_points(tmp_path / "part.sqlite")) == 3  # what finished before the crash is kept
    resumed = run_sweep(linear_instance(), spec(), tmp_path / "part.sqlite", progress=False)
    assert resumed.skipped == 3 and resumed.solved_now == 5
    pd.testing.assert_frame_equal(comparable(resumed.points), comparable(whole))


def test_a_different_sweep_never_mixes_into_an_existing_file(tmp_path):
    run_sweep(linear_instance(), spec(), tmp_path / "s.sqlite", progress=False, limit=1)
    with pytest.raises(InstanceError, match="holds a different sweep"):
        run_sweep(linear_instance(), spec(seed=8), tmp_path / "s.sqlite", progress=False)


def test_invalid_points_are_recorded_and_the_sweep_goes_on(tmp_path):
    # A normal law on the price puts some points below zero, which the schema rejects.
    params = [{"path": PRICE, "distribution": "normal", "mean": 200_000, "sd": 400_000}]
    run = run_sweep(linear_instance(), spec(parameters=params, points=16), tmp_path / "s.sqlite", progress=False)
    points = run.points
    negative = points[PRICE] < 0
    assert negative.any() and (~negative).any()
    assert (points.loc[negative, "status"] == "invalid").all()
    assert points.loc[negative, "message"].str.contains("price_usd_per_mw_month").all()
    assert (points.loc[~negative, "status"] == "optimal").all()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 16


def test_spec_errors_name_the_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("design: lhs\npoints: 4\nparameters:\n  - path: a.b\n    lo: 1\n    high: 2\n")
    with pytest.raises(InstanceError, match=r"bad\.yaml: parameters\.0\.lo: unknown field"):
        load_spec(path)
    path.write_text("design: sobol\npoints: 6\nparameters:\n  - {path: a.b, low: 1, high: 2}\n")
    with pytest.raises(InstanceError, match="power of 2"):
        load_spec(path)


@contextlib.contextmanager
def dask_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        yield client.get_executor()


EXECUTORS = {
    "processes": lambda: cf.ProcessPoolExecutor(max_workers=2),
    # Threads of one process (as in a Dask worker with several threads) must not share a planner.
    "threads": lambda: cf.ThreadPoolExecutor(max_workers=2),
    "dask_local_cluster": dask_executor,
}


@pytest.mark.parametrize("kind", EXECUTORS)
def test_every_executor_gives_the_same_table(tmp_path, kind):
    inline = run_sweep(linear_instance(), spec(), tmp_path / "a.sqlite", progress=False).points
    with EXECUTORS[kind]() as executor:
        elsewhere = run_sweep(linear_instance(), spec(), tmp_path / "b.sqlite", progress=False, executor=executor,
                              workers=2).points
    pd.testing.assert_frame_equal(comparable(elsewhere), comparable(inline))


def test_the_error_of_a_screening_grid_and_its_bracket():
    """Two points: 101 against 100 at gaps of 0.1% each is +1% [0.8%, 1.2%], outside the gaps; 100 against
    100.05 is -0.05% [-0.25%, +0.15%], within them. A point without a plan on either grid is left out."""
    from solver.sweep import grid_error
    screened = pd.DataFrame({"id": [0, 1, 2], "objective_usd": [101.0, 100.0, None], "gap": [1e-3] * 3})
    own = pd.DataFrame({"id": [0, 1, 2], "objective_usd": [100.0, 100.05, 99.0], "gap": [1e-3] * 3})
    table, summary = grid_error(screened, own)
    assert table["id"].tolist() == [0, 1]
    assert table["relative_error"].tolist() == pytest.approx([0.01, 100 / 100.05 - 1])
    assert table["error_low"].tolist() == pytest.approx([0.008, 100 / 100.05 - 1 - 2e-3])
    assert table["error_high"].tolist() == pytest.approx([0.012, 100 / 100.05 - 1 + 2e-3])
    assert summary["points"] == 2 and summary["share_within_gaps"] == 0.5
    assert summary["max_abs_relative_error"] == pytest.approx(0.01)


def test_a_sample_of_points_is_seeded_and_distinct():
    from solver.sweep import error_sample
    sample = error_sample(1000, 50, seed=7)
    assert sample == error_sample(1000, 50, seed=7) and len(set(sample)) == 50 and sample == sorted(sample)
    assert error_sample(3, 10, seed=0) == [0, 1, 2]
