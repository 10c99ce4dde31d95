"""Crash safety and determinism: killed and interrupted sweeps resume to the uninterrupted answer, a point that kills
its worker fails alone, and the same inputs give the same result files byte for byte (timings aside)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest
from conftest import INSTANCES, ROOT
from test_sweep import linear_instance, spec

from solver.cli import main
from solver.sweep import PointTask, _death, run_sweep, solve_point

SMALL = INSTANCES / "small.yaml"
SMALL_LHS = INSTANCES / "sweeps" / "small_lhs.yaml"
SMALL_POINTS = 32  # points of small_lhs.yaml
SUMMARIES = ("status", "cost", "sources", "spearman")  # the summary CSVs of an LHS sweep
TIMINGS = ["seconds", "how"]  # what may differ between runs: time taken, and whether the model was built anew
KILLER_ID = 3


def kill_worker_at_point(task: PointTask) -> dict:
    """solve_point, except that point ``KILLER_ID`` kills the worker process solving it (as the OOM killer would).

    Module level, so that spawned workers import it; never kills the test process itself."""
    if task.point_id == KILLER_ID and multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    return solve_point(task)


def sweep_args(out: Path, *extra: str) -> list[str]:
    return ["sweep", str(SMALL), "--spec", str(SMALL_LHS), "--out", str(out), "--no-progress", *extra]


def stored(out: Path) -> pd.DataFrame:
    """The points table the sweep wrote, without the timing columns."""
    return pd.read_csv(out / "points.csv").drop(columns=TIMINGS)


def assert_same_outputs(out: Path, reference: Path) -> None:
    """points.csv equal but for the timing columns, the summary CSVs byte for byte."""
    pd.testing.assert_frame_equal(stored(out), stored(reference), check_exact=True)
    for name in SUMMARIES:
        assert (out / f"{name}.csv").read_bytes() == (reference / f"{name}.csv").read_bytes(), name


def assert_store_sound(path: Path, expected_ids: int | None = None) -> list[int]:
    """``PRAGMA integrity_check`` passes and no id is stored twice; returns the ids stored."""
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ids = [row[0] for row in db.execute("SELECT id FROM points ORDER BY id")]
    assert len(ids) == len(set(ids))
    if expected_ids is not None:
        assert ids == list(range(expected_ids))
    return ids


def count_points(path: Path) -> int:
    if not path.is_file():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet, or the writer holds a lock
        return 0


def start_sweep(out: Path) -> subprocess.Popen:
    """``python -m solver sweep ... -j 2`` in its own process group (session), from this checkout.

    With Ctrl-C's default disposition: a test run started in the background by a non-interactive shell (as a CI
    runner may) inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt."""
    return subprocess.Popen([sys.executable, "-m", "solver", *sweep_args(out, "-j", "2")], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_points(process: subprocess.Popen, path: Path, at_least: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while (count := count_points(path)) < at_least:
        assert process.poll() is None, f"the sweep ended before it was stopped: {process.communicate()}"
        assert time.monotonic() < deadline, "no points stored in time"
        time.sleep(0.05)
    return count


def live_processes_in_group(pgid: int) -> list[int]:
    """Processes of the group that are not zombies (Linux /proc)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def assert_group_gone(pgid: int, timeout: float = 15) -> None:
    if not Path("/proc/self/stat").is_file():
        return
    deadline = time.monotonic() + timeout
    while live_processes_in_group(pgid):
        assert time.monotonic() < deadline, f"processes left behind: {live_processes_in_group(pgid)}"
        time.sleep(0.1)


def resume(out: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "solver", *sweep_args(out, "-j", "2")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted sweep of small.yaml, in this process (-j 1, the model changed in place)."""
    out = tmp_path_factory.mktemp("reference")
    assert main(sweep_args(out)) == 0
    assert len(stored(out)) == SMALL_POINTS
    return out


@pytest.mark.parametrize("options", [["-j", "2"], ["-j", "2", "--rebuild"]], ids=["in_place", "rebuild"])
def test_sweep_outputs_are_the_same_with_any_workers_and_mode(tmp_path, reference, options):
    """-j 1 in place (the reference) against 2 workers, whose points come in an order set by timing, and against a
    model rebuilt at every point: a worker's previous point must not change the plan returned at the 1e-4 gap."""
    assert main(sweep_args(tmp_path, *options)) == 0
    assert_same_outputs(tmp_path, reference)


def test_killed_sweep_resumes_to_the_uninterrupted_answer(tmp_path, reference):
    process = start_sweep(tmp_path)
    try:
        wait_for_points(process, tmp_path / "points.sqlite", at_least=4)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the main process and its workers, at once
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert_group_gone(process.pid)
    kept = assert_store_sound(tmp_path / "points.sqlite")
    assert 4 <= len(kept) < SMALL_POINTS, "kill the sweep while it runs (more points in the spec, or kill sooner)"

    output = resume(tmp_path)
    assert f"({SMALL_POINTS - len(kept)} solved now" in output and f"{len(kept)} already there" in output
    assert_store_sound(tmp_path / "points.sqlite", expected_ids=SMALL_POINTS)
    assert_same_outputs(tmp_path, reference)


def test_ctrl_c_exits_130_keeps_what_finished_and_resumes(tmp_path, reference):
    process = start_sweep(tmp_path)
    try:
        at_signal = wait_for_points(process, tmp_path / "points.sqlite", at_least=4)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole foreground group
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert_group_gone(process.pid)  # the workers stopped with it
    kept = assert_store_sound(tmp_path / "points.sqlite")
    assert at_signal <= len(kept) < SMALL_POINTS
    with closing(sqlite3.connect(tmp_path / "points.sqlite")) as db:  # what was kept is right, not just there
        partial = pd.read_sql_query("SELECT id, status, objective_usd FROM points ORDER BY id", db)
    expected = stored(reference).set_index("id").loc[kept, ["status", "objective_usd"]].reset_index()
    pd.testing.assert_frame_equal(partial, expected, check_exact=True)

    assert main(sweep_args(tmp_path)) == 0  # resumed in this process, -j 1: the workers do not matter either
    assert_store_sound(tmp_path / "points.sqlite", expected_ids=SMALL_POINTS)
    assert_same_outputs(tmp_path, reference)


def test_a_point_that_kills_its_worker_fails_alone(tmp_path):
    inline = run_sweep(linear_instance(), spec(), tmp_path / "inline.sqlite", progress=False).points
    run = run_sweep(linear_instance(), spec(), tmp_path / "s.sqlite", progress=False, workers=2,
                    point_function=kill_worker_at_point)
    points = run.points.set_index("id")
    assert list(points.index) == list(range(8))
    killer = points.loc[KILLER_ID]
    assert killer["status"] == "failed"
    assert killer["message"].startswith("worker process died: killed by SIGKILL")
    others = points.drop(index=KILLER_ID)
    assert (others["status"] == "optimal").all()  # the points in flight with it were re-run and completed
    expected = inline.set_index("id").drop(index=KILLER_ID)
    pd.testing.assert_series_equal(others["objective_usd"], expected["objective_usd"], check_exact=True)
    assert_store_sound(tmp_path / "s.sqlite", expected_ids=8)


class ReapedByAnotherThread:
    """A worker process as the sweep sees it when the pool's manager thread reaped it first: ``join`` returns at
    once and the exit code (-9, SIGKILL) is stored only after a few reads."""

    def __init__(self, reads_before_stored: int) -> None:
        self.reads = reads_before_stored

    def join(self, timeout: float | None = None) -> None:
        pass

    @property
    def exitcode(self) -> int | None:
        self.reads -= 1
        return None if self.reads >= 0 else -signal.SIGKILL


def test_the_signal_is_named_whichever_thread_reaps_the_worker():
    assert _death([ReapedByAnotherThread(0)]) == "killed by SIGKILL"
    assert _death([ReapedByAnotherThread(5)]) == "killed by SIGKILL"


def test_solve_writes_the_same_files_run_after_run(tmp_path):
    for run in ("a", "b"):
        assert main(["solve", str(SMALL), "--out", str(tmp_path / run), "--quiet"]) == 0
    a, b = tmp_path / "a" / "small", tmp_path / "b" / "small"
    names = sorted(path.name for path in a.iterdir())
    assert names == sorted(path.name for path in b.iterdir())
    assert {"plan.csv", "costs.csv", "demand.csv", "binding.csv", "summary.json", "result.json"} <= set(names)
    for name in names:
        if not name.endswith(".json"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
        else:  # the same but for the times taken
            first, second = (json.loads((folder / name).read_text()) for folder in (a, b))
            assert first.pop("times_s").keys() == second.pop("times_s").keys()
            assert first == second, name
    summaries = [pd.read_csv(tmp_path / run / "summary.csv").drop(columns=["solve_s", "result_dir"])
                 for run in ("a", "b")]
    pd.testing.assert_frame_equal(*summaries, check_exact=True)


def test_ctrl_c_stops_a_long_solve_at_once(tmp_path):
    """Ctrl-C during HiGHS's branch and bound stops it at its next callback (not at the end of a minutes-long
    solve, nor as a "HiGHS failed" status that goes on to the next file): exit code 130 within seconds."""
    solve = subprocess.Popen([sys.executable, "-m", "solver", "solve", str(INSTANCES / "reference.yaml"),
                              "--gap", "1e-6", "--out", str(tmp_path)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        time.sleep(6)  # building takes ~1 s; the solve at gap 1e-6 takes minutes
        sent = time.monotonic()
        solve.send_signal(signal.SIGINT)
        _, err = solve.communicate(timeout=30)
    finally:
        solve.kill()
    assert solve.returncode == 130, err
    assert time.monotonic() - sent < 10
    assert "Traceback" not in err and "HiGHS failed" not in err
