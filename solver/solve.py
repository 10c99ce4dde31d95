"""Building the model, handing it to HiGHS, solving it again after a change, and reading the answer honestly.

The Pyomo model is compiled to matrix form (Pyomo's ``LinearStandardFormCompiler``: a few hundredths of a second
for the reference instance) and passed to a ``highspy.Highs`` instance that the :class:`Planner` keeps. A change of
data (:meth:`Planner.update`) rebuilds the Pyomo model from the changed instance (the model reads validated
instances only, so the schema's checks hold for every sweep point), compiles it, and, when the rows and columns
are the same, changes only the costs, bounds and coefficients that differ in the HiGHS instance already loaded.
HiGHS then starts from the previous plan (a MIP start) instead of from nothing.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.environ import Constraint, Var, minimize, value
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from models.core import build_model
from models.parts import MONEY
from solver.audit import audit
from solver.highs import new_highs
from solver.infeasibility import explain_infeasibility
from solver.instance import with_changes
from solver.results import Result, extract_tables
from solver.schema import Instance

# What the audit measures, and how much of it makes a plan suspect.
AUDIT_CHECKS = {
    "relative_difference": 1e-6,  # objective against the cost recomputed from the decisions
    "demand_mismatch": 1e-6,  # |demand - served - unmet|, relative to the largest demand
    "capacity_excess": 1e-6,  # compute served beyond what the pool holds less resale, relative likewise
    "rule_violation": 1e-6,  # a limit of the instance broken, re-checked from its data (relative to the limit)
    "max_violation": 1e-5,  # any constraint of the model, absolute, in model units
}

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kIterationLimit: "time_limit",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible_or_unbounded",
}
_FEASIBLE = 2  # HiGHS's kSolutionStatusFeasible
PROGRESS_EVERY_S = 1.0  # the most often a running solve reports where it stands (a new plan always reports)
EXPLAIN_SECONDS = 60.0  # the most the elastic re-solves explaining an infeasible instance may add
# HiGHS sizes one thread pool per process at its first run; a later run asking for another size must reset it.
_threads_in_process: int | None = None


@dataclass(frozen=True)
class Progress:
    """Where a running solve stands: seconds in HiGHS, the best plan's cost and the proven bound (USD, None before
    there is one), and their gap."""

    elapsed_s: float
    incumbent_usd: float | None
    bound_usd: float | None
    gap: float | None


@dataclass
class CompiledModel:
    """The model in the matrix form HiGHS reads: min c x + offset, row_lower <= A x <= row_upper, bounds, integers."""

    columns: list  # Pyomo VarData per column
    unused: list  # Pyomo VarData in no row and with no cost (e.g. free facilities a lead time puts out of reach)
    column_names: list[str]
    rows: list  # Pyomo ConstraintData per row
    row_names: list[tuple[str, int]]  # (constraint name, side): a ranged constraint gives two rows
    lp: highspy.HighsLp

    @classmethod
    def of(cls, model) -> CompiledModel:
        form = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=minimize)
        columns = form.columns
        n_cols, n_rows = len(columns), len(form.rows)
        matrix = form.A.tocsc()
        matrix.sort_indices()
        side = np.array([row.bound_type for row in form.rows], dtype=int)  # 0 equality, 1 upper, -1 lower
        rhs = np.asarray(form.rhs, dtype=float)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = np.asarray(form.c.toarray()[0], dtype=float) if form.c.shape[0] else np.zeros(n_cols)
        lp.offset_ = float(form.c_offset[0]) if len(form.c_offset) else 0.0
        lp.col_lower_ = np.array([-math.inf if v.lb is None else v.lb for v in columns], dtype=float)
        lp.col_upper_ = np.array([math.inf if v.ub is None else v.ub for v in columns], dtype=float)
        lp.row_lower_ = np.where(side == 1, -math.inf, rhs)
        lp.row_upper_ = np.where(side == -1, math.inf, rhs)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, n_rows
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        lp.integrality_ = [highspy.HighsVarType.kInteger if v.is_integer() else highspy.HighsVarType.kContinuous
                           for v in columns]
        in_model = {id(v) for v in columns}
        unused = [v for v in model.component_data_objects(Var, active=True)
                  if id(v) not in in_model and not v.fixed]
        return cls(columns=columns, unused=unused, column_names=[v.name for v in columns],
                   rows=[row.constraint for row in form.rows],
                   row_names=[(row.constraint.name, row.bound_type) for row in form.rows], lp=lp)

    def matrix(self):
        from scipy.sparse import csc_array

        a = self.lp.a_matrix_
        return csc_array((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                         shape=(self.lp.num_row_, self.lp.num_col_))


def _changed(old: highspy.HighsLp, new: highspy.HighsLp, *arrays: str) -> np.ndarray:
    """Indices where any of the named arrays differ between two models of the same shape."""
    differs = np.zeros(len(getattr(new, arrays[0])), dtype=bool)
    for name in arrays:
        differs |= np.asarray(getattr(old, name)) != np.asarray(getattr(new, name))
    return np.flatnonzero(differs).astype(np.int32)


class Planner:
    """A built model held in a HiGHS instance, so that it can be solved again, or changed and solved again.

    >>> planner = Planner(instance)
    >>> first = planner.solve()
    >>> planner.update({"orbital.launch_vehicles.starship.launch_price_usd_per_kg": 300})  # doctest: +SKIP
    >>> second = planner.solve()  # starts from the first plan
    """

    def __init__(self, instance: Instance):
        self.base = instance
        self.highs = new_highs()
        self._interrupted = False  # a Ctrl-C caught in a HiGHS callback, raised again after the run
        self._load(instance)

    def _load(self, instance: Instance) -> None:
        self.instance = instance
        start = time.perf_counter()
        self.model, self.parts = self._build(instance)
        self.build_s = time.perf_counter() - start
        start = time.perf_counter()
        self.compile_error: str | None = None
        try:
            self.compiled = CompiledModel.of(self.model)
        except InfeasibleConstraintException as exc:  # a constraint with no decisions left in it cannot hold
            self.compiled, self.compile_error = None, str(exc)
        else:
            self.highs.passModel(self.compiled.lp)
        self.handoff_s = time.perf_counter() - start
        self.last_update = "built"

    def update(self, changes: dict | Instance, *, mip_start: bool = True) -> str:
        """Change the data (dotted paths into the *base* instance, or a whole instance) and keep the HiGHS instance.

        Returns how: ``"in place"`` (same rows and columns: only changed costs, bounds and coefficients are sent
        to HiGHS, and with ``mip_start`` the previous plan is offered as a MIP start) or ``"reloaded"`` (the
        structure changed, e.g. a lead time moved the periods a module can come online: the model is passed to
        HiGHS anew). Without a MIP start the next solve is the same as a fresh Planner's, bit for bit; with one,
        at a gap above 0, the plan returned may depend on the previous plan.
        """
        instance = changes if isinstance(changes, Instance) else with_changes(self.base, changes)
        old, previous_plan = self.compiled, self.plan_vector()
        start = time.perf_counter()
        self.model, self.parts = self._build(instance)
        self.instance = instance
        self.build_s = time.perf_counter() - start
        start = time.perf_counter()
        try:
            new = CompiledModel.of(self.model)
        except InfeasibleConstraintException as exc:
            self.compiled, self.compile_error = None, str(exc)
            self.handoff_s, self.last_update = time.perf_counter() - start, "reloaded"
            return self.last_update
        self.compile_error = None
        if old is not None and new.column_names == old.column_names and new.row_names == old.row_names \
                and list(new.lp.integrality_) == list(old.lp.integrality_):
            self._send_differences(old, new)
            self.last_update = "in place"
            self.highs.clearSolver()  # only the MIP start carries over, not the last search's state
            if mip_start and previous_plan is not None:
                self.offer_start(previous_plan)
        else:
            self.highs.passModel(new.lp)
            self.last_update = "reloaded"
        self.compiled = new
        self.handoff_s = time.perf_counter() - start
        return self.last_update

    def offer_start(self, levels: np.ndarray) -> None:
        """Offer HiGHS a value of every column (a plan of this model's columns, such as another solve's
        :meth:`plan_vector`) as the MIP start of the next solve; one that is not feasible is dropped by HiGHS."""
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(levels, dtype=float)
        solution.value_valid = True
        self.highs.setSolution(solution)

    def plan_vector(self) -> np.ndarray | None:
        """The last solve's value of every column of the compiled model (None without a plan)."""
        if self.compiled is None or self.highs.getInfo().primal_solution_status != _FEASIBLE:
            return None
        return np.asarray(self.highs.getSolution().col_value, dtype=float)

    def _send_differences(self, old: CompiledModel, new: CompiledModel) -> None:
        h, a, b = self.highs, old.lp, new.lp
        cost = _changed(a, b, "col_cost_")
        if cost.size:
            h.changeColsCost(cost.size, cost, np.asarray(b.col_cost_)[cost])
        if a.offset_ != b.offset_:
            h.changeObjectiveOffset(b.offset_)
        cols = _changed(a, b, "col_lower_", "col_upper_")
        if cols.size:
            h.changeColsBounds(cols.size, cols, np.asarray(b.col_lower_)[cols], np.asarray(b.col_upper_)[cols])
        rows = _changed(a, b, "row_lower_", "row_upper_")
        if rows.size:
            h.changeRowsBounds(rows.size, rows, np.asarray(b.row_lower_)[rows], np.asarray(b.row_upper_)[rows])
        target, before = new.matrix(), old.matrix()
        changed = (target != before).tocoo()  # entries changed, added or removed
        if not changed.nnz:
            return
        values = np.asarray(target.tocsr()[changed.row, changed.col]).ravel()
        for row, col, coefficient in zip(changed.row.tolist(), changed.col.tolist(), values.tolist(), strict=True):
            h.changeCoeff(row, col, coefficient)

    def model_size(self) -> dict[str, int]:
        """Columns, integer columns and rows of the model HiGHS holds (Pyomo's counts if it did not compile)."""
        if self.compiled is not None:
            lp = self.compiled.lp
            integers = sum(1 for kind in lp.integrality_ if kind == highspy.HighsVarType.kInteger)
            return {"variables": lp.num_col_, "integers": integers, "constraints": lp.num_row_}
        variables = list(self.model.component_data_objects(Var, active=True))
        return {
            "variables": len(variables),
            "integers": sum(1 for v in variables if not v.is_continuous()),
            "constraints": sum(1 for _ in self.model.component_data_objects(Constraint, active=True)),
        }

    def solve(self, *, time_limit: float | None = None, mip_gap: float = 1e-4, threads: int | None = None,
              log: bool = False, log_file: str | None = None, random_seed: int = 0, explain: bool = True,
              progress: Callable[[Progress], None] | None = None) -> Result:
        """Solve (again). A plan that is not proven optimal is never labelled optimal.

        ``log`` prints HiGHS's own log, ``log_file`` writes it to that file instead; ``progress`` is called with a
        :class:`Progress` at most every ``PROGRESS_EVERY_S`` seconds of branch and bound, and at each new plan.

        If HiGHS finds no plan can exist and ``explain`` is set, elastic re-solves (:mod:`solver.infeasibility`)
        say which demand is out of reach and which limits could each make a plan possible: ``result.conflicts``.
        They take at most ``EXPLAIN_SECONDS`` more (or ``time_limit`` if lower).
        """
        result = Result(instance_name=self.instance.name, status="error", model_size=self.model_size(),
                        compute_unit=self.instance.demand.compute_unit)
        result.times_s = {"build": self.build_s, "handoff": self.handoff_s}
        if self.compiled is None:
            result.status, result.message = "infeasible", self.compile_error
            return result
        h = self.highs
        global _threads_in_process
        threads = 0 if threads is None else threads  # 0: HiGHS's default (half the cores)
        options = {"output_flag": log or log_file is not None, "log_to_console": log, "log_file": log_file or "",
                   "mip_rel_gap": mip_gap, "time_limit": math.inf if time_limit is None else float(time_limit),
                   "random_seed": random_seed, "threads": threads}
        for option, setting in options.items():
            if h.setOptionValue(option, setting) != highspy.HighsStatus.kOk:
                raise ValueError(f"HiGHS rejects {option} = {setting!r}")
        if _threads_in_process is not None and threads != _threads_in_process:
            highspy.Highs.resetGlobalScheduler(True)
        _threads_in_process = threads
        start = time.perf_counter()
        listening = self._listen(progress)
        try:
            run_status = h.run()
        except Exception as exc:  # the solver itself failed: say so, never a traceback for the user
            result.message = f"HiGHS failed: {type(exc).__name__}: {exc}"
            return result
        finally:
            self._unlisten(listening)
        if run_status == highspy.HighsStatus.kError:
            result.message = f"HiGHS failed: {h.modelStatusToString(h.getModelStatus())}"
            return result
        result.times_s["solve"] = time.perf_counter() - start

        model_status, info = h.getModelStatus(), h.getInfo()
        status = _STATUS.get(model_status, "error")
        has_solution = info.primal_solution_status == _FEASIBLE
        if status == "time_limit" and not has_solution:
            status = "time_limit_no_solution"
        elif status == "optimal" and not has_solution:  # never a plan-less "optimal"
            status = "error"
        result.status = status
        if has_solution:
            is_mip = any(v == highspy.HighsVarType.kInteger for v in self.compiled.lp.integrality_)
            bound = info.mip_dual_bound if is_mip else (info.objective_function_value if status == "optimal"
                                                        else None)
            result.bound_usd = bound * MONEY if bound is not None and math.isfinite(bound) else None
            if bound is not None and not math.isfinite(bound):  # a plan (a MIP start, say) and no bound yet
                result.gap = math.inf
        if not has_solution or status not in ("optimal", "time_limit"):
            result.message = f"HiGHS: {h.modelStatusToString(model_status)}"
            if status in ("infeasible", "infeasible_or_unbounded") and explain:
                explanation = explain_infeasibility(self, time_limit=min(EXPLAIN_SECONDS, time_limit or math.inf),
                                                    threads=threads)
                result.conflicts = explanation.conflicts
                result.message = explanation.headline
            return result

        start = time.perf_counter()
        levels = np.asarray(h.getSolution().col_value, dtype=float)
        self._read_plan(result, levels, status)
        result.times_s["extract"] = time.perf_counter() - start
        return result

    def _build(self, instance: Instance) -> tuple[Any, Any]:
        """The Pyomo model of ``instance`` and what reads it back (a subclass may build another model)."""
        return build_model(instance)

    def _load_levels(self, levels: np.ndarray) -> None:
        """Set the Pyomo variables to HiGHS's plan."""
        for var, level in zip(self.compiled.columns, levels.tolist(), strict=True):
            var.set_value(level, skip_validation=True)
        for var in self.compiled.unused:  # HiGHS never saw them: any value within bounds is optimal, take 0
            var.set_value(min(max(0.0, var.lb if var.lb is not None else 0.0), var.ub if var.ub is not None
                              else math.inf), skip_validation=True)

    def _read_plan(self, result: Result, levels: np.ndarray, status: str) -> None:
        """Load HiGHS's plan into the Pyomo model, fill ``result``'s cost and tables, and audit them."""
        self._load_levels(levels)
        result.objective_usd = value(self.model.net_present_cost) * MONEY
        if result.bound_usd is not None:
            result.gap = abs(result.objective_usd - result.bound_usd) / max(1.0, abs(result.objective_usd))
        read_and_audit(result, self.model, self.parts, max_violation(self.compiled, levels), status)


    def _listen(self, progress: Callable[[Progress], None] | None) -> tuple[list, Any]:
        """Subscribe to HiGHS's MIP callbacks for the run: ``progress`` (if given) hears where the solve stands,
        and a Ctrl-C stops HiGHS at its next callback, to be raised after the run. (A KeyboardInterrupt raised
        inside a callback would make HiGHS fail instead; so, in the main thread, SIGINT only sets a flag while
        HiGHS runs.) Returns what :meth:`_unlisten` undoes: the subscriptions and the SIGINT handler replaced."""
        improving = highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution
        last = [-math.inf]
        self._interrupted = False
        previous = None
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:

            def on_sigint(signum, frame) -> None:
                self._interrupted = True

            previous = signal.signal(signal.SIGINT, on_sigint)

        def usd(level: float) -> float | None:
            return level * MONEY if math.isfinite(level) and abs(level) < 1e300 else None

        def forward(event) -> None:
            if self._interrupted:
                event.interrupt()
                return
            out = event.data_out
            if progress is None or (event.callback_type != improving
                                    and out.running_time - last[0] < PROGRESS_EVERY_S):
                return
            last[0] = out.running_time
            with contextlib.suppress(Exception):  # a display that fails (a closed pipe) must not stop the solve
                progress(Progress(elapsed_s=out.running_time, incumbent_usd=usd(out.mip_primal_bound),
                                  bound_usd=usd(out.mip_dual_bound),
                                  gap=out.mip_gap if math.isfinite(out.mip_gap) else None))

        callbacks = [self.highs.cbMipInterrupt, self.highs.cbMipImprovingSolution]
        for callback in callbacks:
            callback.subscribe(forward)
        return [(callback, forward) for callback in callbacks], previous

    def _unlisten(self, listening: tuple[list, Any]) -> None:
        subscribed, previous = listening
        for callback, handler in subscribed:
            callback.unsubscribe(handler)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if self._interrupted:
            raise KeyboardInterrupt


def read_and_audit(result: Result, model, parts, violation: float, status: str) -> None:
    """Fill ``result``'s tables from a solved model (its ``objective_usd`` set), audit them and the constraint
    ``violation`` HiGHS's plan leaves, and mark the result suspect if the audit finds a problem."""
    for name, table in extract_tables(model, parts).items():
        setattr(result, name, table)
    checked = audit(model, parts, result.objective_usd)
    rules = checked["rules"]
    result.audit = {key: float(value) for key, value in checked.items() if key not in ("costs", "rules")}
    result.audit["max_violation"] = float(violation)
    result.audit["rule_violation"] = max(rules.values(), default=0.0)
    problems = [f"{key} {result.audit[key]:.1e}" for key in AUDIT_CHECKS
                if key != "rule_violation" and result.audit[key] > AUDIT_CHECKS[key]]
    problems += [f"{family} broken by {amount:.1e} of its limit" for family, amount in sorted(rules.items())
                 if amount > AUDIT_CHECKS["rule_violation"]]
    if problems:
        result.message = f"was {status}, but the audit found: " + ", ".join(problems)
        result.status = "suspect"


def max_violation(compiled: CompiledModel, levels: np.ndarray) -> float:
    """The largest amount by which the plan ``levels`` misses a row or column bound, or the integrality, of the
    model HiGHS was given (model units). Vectorised: a Python walk over Pyomo's constraints cost more than the
    solve on small instances."""
    lp = compiled.lp
    activity = compiled.matrix() @ levels
    integer = np.array([kind == highspy.HighsVarType.kInteger for kind in lp.integrality_], dtype=bool)
    misses = (np.asarray(lp.row_lower_) - activity, activity - np.asarray(lp.row_upper_),
              np.asarray(lp.col_lower_) - levels, levels - np.asarray(lp.col_upper_),
              np.abs(levels[integer] - np.round(levels[integer])))
    return float(max(0.0, *(float(np.max(m, initial=0.0)) for m in misses)))


def numbered_log(path: str | Path | None, label: int | str) -> str | None:
    """``FILE.log`` -> ``FILE-<label>.log``: one HiGHS log per solve for a command that solves many times (HiGHS
    starts its log file afresh at each solve)."""
    if path is None:
        return None
    path = Path(path)
    return str(path.with_name(f"{path.stem}-{label}{path.suffix or '.log'}"))


def solve(instance: Instance, *, time_limit: float | None = None, mip_gap: float = 1e-4,
          threads: int | None = None, log: bool = False, log_file: str | None = None, random_seed: int = 0,
          explain: bool = True, progress: Callable[[Progress], None] | None = None) -> Result:
    """Build and solve ``instance``; see :class:`Planner` to solve the same model repeatedly."""
    return Planner(instance).solve(time_limit=time_limit, mip_gap=mip_gap, threads=threads, log=log,
                                   log_file=log_file, random_seed=random_seed, explain=explain, progress=progress)
