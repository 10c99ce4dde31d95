"""Global sweeps: one MILP per sampled point, results kept point by point in SQLite, then scipy statistics.

A sweep spec (YAML, :class:`SweepSpec`) names the parameters (:mod:`solver.params`) and their distributions, the
design (Latin hypercube or Sobol', ``scipy.stats.qmc``) and the solve options. :func:`run_sweep` solves every point
in worker processes (or any ``concurrent.futures.Executor``, such as a Dask ``client.get_executor()``), each worker
keeping one :class:`~solver.solve.Planner` that it changes in place from point to point. Each point is solved from
a clean solver state (no MIP start from the worker's previous point unless the spec asks for one), so a point's
answer is the same whichever worker solved it after whichever point: the results are the same with any number of
workers, run after run. Each finished point is committed to SQLite at once, so a killed sweep loses only the points
in flight; run again with the same spec and output, it solves only the points not yet there. A point that fails is
stored as failed, with its reason, and the sweep goes on; so is a point that kills its worker process (out of
memory, a crash in the solver), found by re-running the points in flight one at a time in a fresh process.

:func:`summarise` turns the points into tables: percentiles of the net present cost, how often each source is in
the plan and at what scale, Spearman rank correlations of each input with each output, and first-order and total
Sobol' indices (``scipy.stats.sobol_indices``) when the design is a Sobol' one.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import json
import math
import signal
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats
from scipy.stats import qmc

from solver.instance import InstanceError, load_yaml_model
from solver.params import DISTRIBUTIONS, Parameter, apply, check
from solver.schema import Instance
from solver.solve import Planner, Result
from solver.workers import spawn_pool, submit, terminate

OK_STATUSES = ("optimal", "time_limit")
IN_PLAN_MW = 1e-6  # a source with a peak above this many MW is "in the plan"


class SweepParameter(BaseModel):
    """One swept input: a path, set or scaled, and its distribution's arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(description="dotted path into the instance, as in the file")
    scale: bool = Field(False, description="multiply every number under the path instead of setting it")
    distribution: Literal["uniform", "triangular", "normal", "lognormal"] = "uniform"
    low: float | None = Field(None, description="uniform, triangular: lower end")
    high: float | None = Field(None, description="uniform, triangular: upper end")
    mode: float | None = Field(None, description="triangular: most likely value")
    mean: float | None = Field(None, description="normal: mean")
    sd: float | None = Field(None, gt=0, description="normal: standard deviation")
    median: float | None = Field(None, gt=0, description="lognormal: median (exp of the log mean)")
    sigma: float | None = Field(None, gt=0, description="lognormal: standard deviation of the log")

    @model_validator(mode="after")
    def _arguments(self) -> SweepParameter:
        needed = DISTRIBUTIONS[self.distribution][0]
        given = {name for name in ("low", "high", "mode", "mean", "sd", "median", "sigma")
                 if getattr(self, name) is not None}
        if given != set(needed):
            raise ValueError(f"a {self.distribution} distribution takes {', '.join(needed)} "
                             f"(got {', '.join(sorted(given)) or 'none'})")
        if "high" in needed and not self.low < self.high:
            raise ValueError(f"low must be below high (got {self.low} and {self.high})")
        if self.distribution == "triangular" and not self.low <= self.mode <= self.high:
            raise ValueError("mode must lie between low and high")
        return self

    def parameter(self) -> Parameter:
        """The parameter; an unbounded law's range is its 0.1% to 99.9% quantiles."""
        args = tuple((name, float(getattr(self, name))) for name in DISTRIBUTIONS[self.distribution][0])
        parameter = Parameter(path=self.path, low=math.nan, high=math.nan, scale=self.scale,
                              distribution=self.distribution, args=args)
        low, high = (self.low, self.high) if self.low is not None else parameter.frozen().ppf([0.001, 0.999])
        return replace(parameter, low=float(low), high=float(high))


class SweepSpec(BaseModel):
    """A sweep: the parameters, the design and the solve options of every point."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    design: Literal["lhs", "sobol"] = Field("lhs", description="Latin hypercube, or Sobol' (Saltelli) for indices")
    points: int = Field(ge=1, le=1_000_000, description="lhs: points; sobol: base sample n (a power of 2), "
                                                         "n x (parameters + 2) solves")
    seed: int = Field(0, ge=0, description="seed of the design")
    mip_gap: float = Field(1e-3, gt=0, lt=1, description="relative MILP gap of every point")
    time_limit_s: float | None = Field(300, gt=0, description="time limit per point (s)")
    mip_start: bool = Field(False, description="start each point from the plan of the point its worker solved "
                            "before; at a gap above 0 the plan returned then depends on that point, so results "
                            "vary with the number of workers and their timing (measured: no faster on the "
                            "reference sweep or small.yaml)")
    set: dict[str, Any] = Field(default_factory=dict, description="fixed changes applied to every point")
    parameters: list[SweepParameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _design(self) -> SweepSpec:
        if self.design == "sobol" and self.points & (self.points - 1):
            raise ValueError(f"points: a Sobol' design needs a power of 2 (got {self.points})")
        paths = [p.path for p in self.parameters]
        if len(set(paths)) != len(paths):
            raise ValueError("parameters: each path may be swept once")
        return self


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec; :class:`InstanceError` with one line naming the file and field otherwise."""
    return load_yaml_model(path, SweepSpec, "sweep spec")


def design_points(spec: SweepSpec) -> np.ndarray:
    """The inputs of every point, one row per point, one column per parameter, in the order they are solved.

    Sobol' designs follow ``scipy.stats.sobol_indices``: ``A`` (n rows), ``B`` (n rows), then ``AB_i`` for each
    parameter ``i`` (``A`` with column ``i`` taken from ``B``)."""
    parameters = [p.parameter() for p in spec.parameters]
    d = len(parameters)
    if spec.design == "lhs":
        unit = qmc.LatinHypercube(d=d, seed=spec.seed).random(spec.points)
    else:
        both = qmc.Sobol(d=2 * d, seed=spec.seed).random(spec.points)
        a, b = both[:, :d], both[:, d:]
        pages = []
        for i in range(d):
            ab = a.copy()
            ab[:, i] = b[:, i]
            pages.append(ab)
        unit = np.vstack([a, b, *pages])
    columns = [p.frozen().ppf(unit[:, i]) for i, p in enumerate(parameters)]
    return np.column_stack(columns)


# ---------------------------------------------------------------------------------------------------------------
# Solving one point (runs in a worker process)

@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to solve one point; picklable, so any executor can carry it."""

    point_id: int
    base: Instance
    base_key: str  # fingerprint of the base instance and fixed changes: the worker's planner is kept per key
    fixed: dict[str, Any]
    parameters: tuple[Parameter, ...]
    inputs: tuple[float, ...]
    mip_gap: float
    time_limit_s: float | None
    persistent: bool = True
    mip_start: bool = False


PointFunction = Callable[[PointTask], dict[str, Any]]

# The planner each worker keeps from point to point, per thread: a Dask worker may run several tasks at once.
_WORKER = threading.local()


def solve_point(task: PointTask) -> dict[str, Any]:
    """Solve one point with one HiGHS thread; never raises (a failure is a row with its reason)."""
    start = time.perf_counter()
    row = {"id": task.point_id, "inputs": list(task.inputs), "status": "failed", "objective_usd": None, "gap": None,
           "unmet_share": None, "sources": {}, "message": None, "how": None}
    try:
        instance = apply(task.base, dict(zip(task.parameters, task.inputs, strict=True)), task.fixed)
        planner = getattr(_WORKER, "planners", {}).get(task.base_key) if task.persistent else None
        if planner is None:
            planner = Planner(instance)
            if task.persistent:  # one base at a time: a worker moving to another sweep drops the old model
                _WORKER.planners = {task.base_key: planner}
            row["how"] = "built"
        else:
            # Without a MIP start the answer does not depend on the worker's previous point (as a fresh Planner)
            row["how"] = planner.update(instance, mip_start=task.mip_start)
        result = planner.solve(mip_gap=task.mip_gap, time_limit=task.time_limit_s, threads=1)
        row.update(point_outputs(result))
    except InstanceError as exc:  # the law's tail drew a value the schema rejects (a negative price, say)
        row.update(status="invalid", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - a point's failure is data, the sweep goes on
        _WORKER.planners = {}  # its model may be half-changed: start the next point afresh
        row.update(status="failed", message=f"{type(exc).__name__}: {exc}")
    row["seconds"] = time.perf_counter() - start
    return row


def point_outputs(result: Result) -> dict[str, Any]:
    """What a sweep keeps of a solve: status, cost, gap, unmet share and per-source peak MW and MW-months."""
    out: dict[str, Any] = {"status": result.status, "objective_usd": result.objective_usd, "gap": result.gap,
                           "message": result.message or None, "sources": {}, "unmet_share": None}
    if result.has_plan:
        plan = result.plan.assign(mw_months=result.plan["mw_online"] * result.plan["months"])
        out["sources"] = {source: {"peak_mw": float(rows["mw_online"].max()),
                                   "mw_months": float(rows["mw_months"].sum())}
                          for source, rows in plan.groupby("source")}
        demand = result.demand
        # Unit-months, so that periods of different lengths weigh as long as they last.
        out["unmet_share"] = float((demand["unmet_units"] * demand["months"]).sum()
                                   / max((demand["demand_units"] * demand["months"]).sum(), 1e-12))
    return out


def _fingerprint(instance: Instance, fixed: dict[str, Any], extra: Any = None) -> str:
    text = json.dumps([instance.model_dump(mode="json"), fixed, extra], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------------
# The store: one SQLite row per finished point

class SweepStore:
    """Points as they finish, in SQLite; refuses to mix two different sweeps in one file."""

    def __init__(self, path: str | Path, fingerprint: str, labels: list[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("""CREATE TABLE IF NOT EXISTS points (
            id INTEGER PRIMARY KEY, inputs TEXT NOT NULL, status TEXT NOT NULL, objective_usd REAL, gap REAL,
            unmet_share REAL, sources TEXT NOT NULL, seconds REAL, how TEXT, message TEXT)""")
        stored = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if stored and stored.get("fingerprint") != fingerprint:
            raise InstanceError(f"{self.path}: holds a different sweep (other instance, spec or options); "
                                "use another output or delete it to start again")
        if not stored:
            self.db.executemany("INSERT INTO meta VALUES (?, ?)",
                                [("fingerprint", fingerprint), ("parameters", json.dumps(labels))])
            self.db.commit()
        self.labels = labels

    def done(self) -> set[int]:
        return {row[0] for row in self.db.execute("SELECT id FROM points")}

    def add(self, row: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
            row["id"], json.dumps(row["inputs"]), row["status"], row["objective_usd"], row["gap"],
            row["unmet_share"], json.dumps(row["sources"], sort_keys=True), row.get("seconds"), row.get("how"),
            row["message"]))
        self.db.commit()  # at once: a killed sweep keeps every finished point

    def frame(self) -> pd.DataFrame:
        """One row per point: inputs by parameter label, status, cost, gap, unmet share, per-source peak MW."""
        return read_points(self.path)

    def close(self) -> None:
        self.db.close()


def read_points(path: str | Path) -> pd.DataFrame:
    """The points of a sweep file as a tidy table (``peak_mw:SOURCE`` and ``mw_months:SOURCE`` columns)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such sweep file")
    with closing(sqlite3.connect(path)) as db:
        labels = json.loads(db.execute("SELECT value FROM meta WHERE key = 'parameters'").fetchone()[0])
        raw = pd.read_sql_query("SELECT * FROM points ORDER BY id", db)
    inputs = pd.DataFrame([json.loads(text) for text in raw["inputs"]], columns=labels, index=raw.index)
    sources = [json.loads(text) for text in raw["sources"]]
    names = sorted({name for point in sources for name in point})
    per_source = pd.DataFrame({f"{measure}:{name}": [point.get(name, {}).get(measure, 0.0) for point in sources]
                               for name in names for measure in ("peak_mw", "mw_months")}, index=raw.index)
    return pd.concat([raw[["id"]], inputs, raw.drop(columns=["id", "inputs", "sources"]), per_source], axis=1)


# ---------------------------------------------------------------------------------------------------------------
# Running a sweep

@dataclass
class SweepRun:
    """What :func:`run_sweep` did: the table of all points and counts of this run."""

    points: pd.DataFrame
    solved_now: int
    skipped: int
    seconds: float
    path: Path
    summary: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_sweep(instance: Instance, spec: SweepSpec, out: str | Path, *, workers: int = 1,
              executor: cf.Executor | None = None, persistent: bool = True, progress: bool = True,
              limit: int | None = None, on_point: Callable[[dict], None] | None = None,
              point_function: PointFunction = solve_point, only: Iterable[int] | None = None) -> SweepRun:
    """Solve every point of ``spec`` not yet in the SQLite file ``out``; return all points and their summary.

    ``executor``: any ``concurrent.futures.Executor`` (a Dask ``client.get_executor()`` runs the sweep on a
    cluster); without one, ``workers`` processes (1: in this process). ``persistent=False`` rebuilds the model
    at every point (for benchmarks). ``limit`` stops after that many new points (for tests and partial runs).
    ``only`` solves just these points of the design (ids from 0): the error sample of a screening sweep.
    ``point_function`` solves one point (tests wrap :func:`solve_point`); it must be a module-level function, so
    that spawned workers can import it. Worker processes are spawned, so a script calling this with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard.
    """
    parameters = [p.parameter() for p in spec.parameters]
    check(instance, parameters, spec.set)  # every path and both ends of every range, before any solve
    inputs = design_points(spec)
    # Everything a point's answer depends on: a resume never mixes designs, options or library versions.
    options = {"spec": spec.model_dump(mode="json"), "design": hashlib.sha256(inputs.tobytes()).hexdigest(),
               "versions": _versions(), "persistent": persistent}
    store = SweepStore(out, _fingerprint(instance, spec.set, options), [p.label for p in parameters])
    done = store.done()
    wanted = range(len(inputs)) if only is None else sorted(set(only))
    todo = [i for i in wanted if i not in done][:limit]
    base_key = _fingerprint(instance, spec.set)
    tasks = (PointTask(point_id=i, base=instance, base_key=base_key, fixed=spec.set, parameters=tuple(parameters),
                       inputs=tuple(float(x) for x in inputs[i]), mip_gap=spec.mip_gap,
                       time_limit_s=spec.time_limit_s, persistent=persistent, mip_start=spec.mip_start)
             for i in todo)
    bar = _progress_bar(len(inputs), len(done), progress)
    start = time.perf_counter()
    failed, widest_gap = 0, 0.0  # of the points solved now, shown beside the bar
    try:
        for row in _execute(tasks, executor, workers, point_function):
            store.add(row)
            failed += row["status"] not in OK_STATUSES
            if row["gap"] is not None and math.isfinite(row["gap"]):
                widest_gap = max(widest_gap, row["gap"])
            bar.set_postfix_str(f"{failed} without a plan, widest gap {widest_gap:.1e}", refresh=False)
            bar.update(1)
            if on_point is not None:
                on_point(row)
    finally:
        bar.close()
        points = store.frame()
        store.close()
    run = SweepRun(points=points, solved_now=len(todo), skipped=len(done), seconds=time.perf_counter() - start,
                   path=Path(out))
    run.summary = summarise(points, spec)
    return run


def error_sample(points: int, size: int, seed: int) -> list[int]:
    """The ids of ``size`` points of a design of ``points``, drawn at random (seeded) without replacement."""
    return sorted(np.random.default_rng(seed).choice(points, size=min(size, points), replace=False).tolist())


def grid_error(screened: pd.DataFrame, own: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The cost error of a sweep on a screening grid, against the same points solved on the instance's own grid.

    Per point: both costs and gaps, the relative error, and the bracket the two gaps allow (each cost is within
    its gap of its optimum, so the difference of the optima lies within the sum of the gaps). With a summary:
    the points compared, mean and largest absolute error, and the share of points whose bracket holds 0."""
    columns = ["id", "objective_usd", "gap"]
    both = screened[columns].merge(own[columns], on="id", suffixes=("_screened", "_own"))
    both = both.dropna(subset=["objective_usd_screened", "objective_usd_own"])
    base = both["objective_usd_own"]
    both["relative_error"] = both["objective_usd_screened"] / base - 1.0
    slack = both["gap_screened"].fillna(0.0) + both["gap_own"].fillna(0.0)
    both["error_low"], both["error_high"] = both["relative_error"] - slack, both["relative_error"] + slack
    magnitude = both["relative_error"].abs()
    summary = {"points": len(both),
               "mean_relative_error": float(both["relative_error"].mean()) if len(both) else math.nan,
               "mean_abs_relative_error": float(magnitude.mean()) if len(both) else math.nan,
               "max_abs_relative_error": float(magnitude.max()) if len(both) else math.nan,
               "share_within_gaps": float(((both["error_low"] <= 0) & (both["error_high"] >= 0)).mean())
               if len(both) else math.nan}
    return both.reset_index(drop=True), summary


class SweepInterruptedError(RuntimeError):
    """The sweep stopped before its end (a worker of the caller's executor died); the points finished are stored."""


class _PoolBrokenError(Exception):
    """The pool lost a worker process; ``tasks`` are the points it took down (in flight or queued)."""

    def __init__(self, tasks: list[PointTask]):
        super().__init__(f"points {sorted(t.point_id for t in tasks)} were in flight")
        self.tasks = tasks


def _execute(tasks: Iterable[PointTask], executor: cf.Executor | None, workers: int, function: PointFunction):
    """Rows as points finish. At most two tasks per worker (``workers``) are in flight, so a crash loses little.

    A worker process of our own pool that dies (out of memory, a crash in the solver) takes down every point in
    flight with it, and nothing says which one killed it: those points are re-run one at a time in a fresh
    process, until the one that kills its worker again, stored as failed; then the sweep goes on in a fresh pool.
    A caller's executor is not ours to replace: its dead worker stops the sweep."""
    if executor is None and workers <= 1:
        yield from map(function, tasks)
        return
    tasks = iter(tasks)
    if executor is not None:
        try:
            yield from _run_in(executor, tasks, workers, function)
        except _PoolBrokenError as broken:
            raise SweepInterruptedError(f"a worker process died; {broken} and are not stored: run the same sweep "
                                        "again to resume") from None
        return
    while True:
        pool = spawn_pool(workers)
        try:
            yield from _run_in(pool, tasks, workers, function)
            return
        except _PoolBrokenError as broken:
            suspects = broken.tasks
        except BaseException:  # Ctrl-C or a crash
            terminate(pool)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        # The points after the one that kills its worker alone go back to the pool: if another of them kills it,
        # the next round finds it the same way.
        tasks = itertools.chain((yield from _until_one_dies(suspects, function)), tasks)


def _run_in(pool: cf.Executor, tasks: Iterator[PointTask], workers: int, function: PointFunction):
    """Rows of ``tasks`` solved in ``pool``; :class:`_PoolBrokenError` with the points lost if a worker dies."""
    window = 2 * max(1, workers)
    pending: dict[cf.Future, PointTask] = {}
    for task in tasks:
        try:
            pending[submit(pool, function, task)] = task
        except cf.BrokenExecutor:  # it broke since the last wait: this task never started, the pending ones died
            yield from _finished(pending, unsent=[task])
        if len(pending) >= window:
            yield from _finished(pending)
    while pending:
        yield from _finished(pending)


def _finished(pending: dict[cf.Future, PointTask], unsent: list[PointTask] | None = None):
    """Rows of the futures done (at least one); :class:`_PoolBrokenError` if the pool broke meanwhile."""
    finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED) if not unsent else (set(), set())
    broken = bool(unsent) or any(_broke(future) for future in finished)
    if broken:  # a broken pool fails every future it holds at once: take the rows that made it, then the losses
        finished, _ = cf.wait(list(pending))
    lost = list(unsent or [])
    for future in finished:
        task = pending.pop(future)
        if _broke(future):
            lost.append(task)
            continue
        try:
            yield future.result()
        except Exception as exc:  # noqa: BLE001 - the task failed outside solve_point: record it, go on
            yield _failed_row(task, f"worker failed: {type(exc).__name__}: {exc}")
    if lost:
        raise _PoolBrokenError(lost)


def _broke(future: cf.Future) -> bool:
    return future.cancelled() or isinstance(future.exception(), cf.BrokenExecutor)


def _until_one_dies(tasks: list[PointTask], function: PointFunction):
    """Rows of ``tasks`` solved one at a time in a fresh worker process, until one kills it (that point is failed);
    returns the tasks not yet solved."""
    tasks = sorted(tasks, key=lambda t: t.point_id)
    pool = spawn_pool(1)
    try:
        for i, task in enumerate(tasks):
            future = submit(pool, function, task)
            processes = list((getattr(pool, "_processes", None) or {}).values())  # started by submit
            try:
                yield future.result()
            except cf.BrokenExecutor:  # alone in its process: this point is what kills it
                yield _failed_row(task, f"worker process died: {_death(processes)}, solving this point alone in a "
                                        "fresh process (out of memory, or a crash in the solver)")
                return tasks[i + 1:]
            except Exception as exc:  # noqa: BLE001 - as in _finished
                yield _failed_row(task, f"worker failed: {type(exc).__name__}: {exc}")
        return []
    except BaseException:
        terminate(pool)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


DEATH_SECONDS = 5  # how long to wait for a dead worker's exit code


def _death(processes: list) -> str:
    """How a worker process ended: the signal that killed it, or its exit code."""
    codes = []
    deadline = time.monotonic() + DEATH_SECONDS
    for process in processes:
        # The pool's manager thread reaps its dead workers too: when it wins the race for waitpid, our join
        # returns with no exit code until that thread has stored it, a moment later. Wait for it.
        process.join(timeout=DEATH_SECONDS)
        while process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if process.exitcode:
            codes.append(process.exitcode)
    if not codes:
        return "it ended abruptly"
    code = codes[0]
    if code < 0:
        return f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else \
            f"killed by signal {-code}"
    return f"exit code {code}"


def _failed_row(task: PointTask, message: str) -> dict[str, Any]:
    return {"id": task.point_id, "inputs": list(task.inputs), "status": "failed", "objective_usd": None,
            "gap": None, "unmet_share": None, "sources": {}, "seconds": None, "how": None, "message": message}


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("highspy", "pyomo", "scipy", "numpy")}


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="pt", desc="sweep", disable=not enabled, smoothing=0.1)


# ---------------------------------------------------------------------------------------------------------------
# Statistics

def summarise(points: pd.DataFrame, spec: SweepSpec) -> dict[str, pd.DataFrame]:
    """Tables of a sweep: ``cost`` percentiles, ``sources`` in plan, ``spearman`` and (Sobol' designs) ``sobol``."""
    labels = [p.parameter().label for p in spec.parameters]
    ok = points[points["status"].isin(OK_STATUSES)]
    summary = {"status": points["status"].value_counts().rename_axis("status").reset_index(name="points")}
    if ok.empty:
        return summary
    cost = ok["objective_usd"]
    quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
    summary["cost"] = pd.DataFrame([{"measure": "net_present_cost_usd", "points": len(ok), "mean": cost.mean(),
                                     **{f"p{round(q * 100)}": cost.quantile(q) for q in quantiles}}])
    rows = []
    for column in [c for c in ok.columns if c.startswith("peak_mw:")]:
        peak = ok[column]
        used = peak[peak > IN_PLAN_MW]
        rows.append({"source": column.removeprefix("peak_mw:"), "share_of_points_in_plan": len(used) / len(ok),
                     "median_peak_mw_when_in": used.median() if len(used) else 0.0,
                     "p5_peak_mw": peak.quantile(0.05), "p95_peak_mw": peak.quantile(0.95)})
    summary["sources"] = pd.DataFrame(rows)
    outputs = ["objective_usd", "unmet_share"] + [c for c in ok.columns if c.startswith("peak_mw:")]
    rows = []
    for label in labels:
        for output in outputs:
            x, y = ok[label].to_numpy(float), ok[output].to_numpy(float)
            constant = len(ok) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0
            rho, p_value = (math.nan, math.nan) if constant else stats.spearmanr(x, y)
            rows.append({"parameter": label, "output": output, "spearman_rho": float(rho),
                         "p_value": float(p_value)})
    summary["spearman"] = pd.DataFrame(rows)
    if spec.design == "sobol":
        summary["sobol"] = sobol_table(points, spec, labels)
    return summary


def sobol_table(points: pd.DataFrame, spec: SweepSpec, labels: list[str]) -> pd.DataFrame:
    """First-order and total Sobol' indices of the net present cost (Saltelli 2010, Jansen), with bootstrap CIs.

    Needs every point of the design solved with a plan; otherwise a table saying how many are missing."""
    n, d = spec.points, len(labels)
    cost = points.set_index("id")["objective_usd"].where(points.set_index("id")["status"].isin(OK_STATUSES))
    values = cost.reindex(range(n * (d + 2))).to_numpy(float)
    missing = int(np.isnan(values).sum())
    if missing:
        return pd.DataFrame([{"parameter": label, "first_order": math.nan, "total_order": math.nan,
                              "note": f"{missing} of {len(values)} design points have no plan"} for label in labels])
    f_a, f_b = values[:n], values[n:2 * n]
    f_ab = values[2 * n:].reshape(d, 1, n)
    result = stats.sobol_indices(func={"f_A": f_a[None, :], "f_B": f_b[None, :], "f_AB": f_ab}, n=n)
    with warnings.catch_warnings():  # an index that is exactly 0 (an input with no effect) has a degenerate CI
        warnings.simplefilter("ignore")
        ci = result.bootstrap(n_resamples=500, confidence_level=0.95)
    first, total = np.atleast_1d(result.first_order), np.atleast_1d(result.total_order)
    return pd.DataFrame({
        "parameter": labels, "first_order": first, "total_order": total,
        "first_order_ci_low": np.atleast_1d(ci.first_order.confidence_interval.low),
        "first_order_ci_high": np.atleast_1d(ci.first_order.confidence_interval.high),
        "total_order_ci_low": np.atleast_1d(ci.total_order.confidence_interval.low),
        "total_order_ci_high": np.atleast_1d(ci.total_order.confidence_interval.high),
    })
