"""Building the model, handing it to HiGHS through Pyomo's persistent interface, and reading the answer honestly."""

from __future__ import annotations

import io
import math
import time

from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.core.base.constraint import ConstraintData
from pyomo.environ import Constraint, Var, value

from models.core import build_model
from models.parts import MONEY
from solver.audit import audit
from solver.results import Result, extract_tables
from solver.schema import Instance

# What the audit measures, and how much of it makes a plan suspect.
AUDIT_CHECKS = {
    "relative_difference": 1e-6,  # objective against the cost recomputed from the decisions
    "demand_mismatch": 1e-6,  # |demand - served - unmet|, relative to the largest demand
    "capacity_excess": 1e-6,  # compute served beyond what the pool holds less resale, relative likewise
    "max_violation": 1e-5,  # any constraint of the model, absolute, in model units
}

_TERMINATION_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.iterationLimit: "time_limit",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.infeasibleOrUnbounded: "infeasible_or_unbounded",
}


class Planner:
    """A built model held in a persistent HiGHS instance, so that it can be solved again without rebuilding."""

    def __init__(self, instance: Instance):
        self.instance = instance
        start = time.perf_counter()
        self.model, self.parts = build_model(instance)
        self.build_s = time.perf_counter() - start
        start = time.perf_counter()
        self.highs = Highs()
        self.highs.set_instance(self.model)
        self.handoff_s = time.perf_counter() - start

    def model_size(self) -> dict[str, int]:
        variables = list(self.model.component_data_objects(Var, active=True))
        return {
            "variables": len(variables),
            "integers": sum(1 for v in variables if not v.is_continuous()),
            "constraints": sum(1 for _ in self.model.component_data_objects(Constraint, active=True)),
        }

    def solve(self, *, time_limit: float | None = None, mip_gap: float = 1e-4, threads: int | None = None,
              log: bool = False) -> Result:
        """Solve (again). A plan that is not proven optimal is never labelled optimal."""
        result = Result(instance_name=self.instance.name, status="error", model_size=self.model_size(),
                        compute_unit=self.instance.demand.compute_unit)
        result.times_s = {"build": self.build_s, "handoff": self.handoff_s}
        options = {"load_solutions": False, "raise_exception_on_nonoptimal_result": False,
                   "rel_gap": mip_gap, "time_limit": time_limit, "threads": threads}
        start = time.perf_counter()
        try:
            answer = self.highs.solve(self.model, tee=[io.StringIO()] if not log else True, **options)
        except Exception as exc:  # the solver itself failed: say so, never a traceback for the user
            result.message = f"HiGHS failed: {type(exc).__name__}: {exc}"
            return result
        result.times_s["solve"] = time.perf_counter() - start

        status = _TERMINATION_STATUS.get(answer.termination_condition, "error")
        has_solution = answer.incumbent_objective is not None
        if status == "time_limit" and not has_solution:
            status = "time_limit_no_solution"
        elif status == "optimal" and not has_solution:  # never a plan-less "optimal"
            status = "error"
        result.status = status
        bound = answer.objective_bound
        result.bound_usd = bound * MONEY if bound is not None and math.isfinite(bound) else None
        if not has_solution or status not in ("optimal", "time_limit"):
            result.message = f"HiGHS: {answer.termination_condition.name}"
            return result

        start = time.perf_counter()
        answer.solution_loader.load_vars()
        result.objective_usd = value(self.model.net_present_cost) * MONEY
        if result.bound_usd is not None:
            result.gap = abs(result.objective_usd - result.bound_usd) / max(1.0, abs(result.objective_usd))
        for name, table in extract_tables(self.model, self.parts).items():
            setattr(result, name, table)
        checked = audit(self.model, self.parts, result.objective_usd)
        violation = max_violation(self.model)
        result.audit = {key: float(value) for key, value in checked.items() if key != "costs"}
        result.audit["max_violation"] = float(violation)
        problems = [f"{key} {result.audit[key]:.1e}" for key in AUDIT_CHECKS if result.audit[key] > AUDIT_CHECKS[key]]
        if problems:
            result.message = f"was {status}, but the audit found: " + ", ".join(problems)
            result.status = "suspect"
        result.times_s["extract"] = time.perf_counter() - start
        return result


def max_violation(model) -> float:
    """The largest amount by which any constraint or variable bound of the loaded solution is missed (model units)."""
    worst = 0.0
    for var in model.component_data_objects(Var, active=True):
        if var.value is not None:
            if var.lb is not None:
                worst = max(worst, var.lb - var.value)
            if var.ub is not None:
                worst = max(worst, var.value - var.ub)
    con: ConstraintData
    for con in model.component_data_objects(Constraint, active=True):
        body = value(con.body)
        if con.has_lb():
            worst = max(worst, value(con.lower) - body)
        if con.has_ub():
            worst = max(worst, body - value(con.upper))
    return worst


def solve(instance: Instance, *, time_limit: float | None = None, mip_gap: float = 1e-4,
          threads: int | None = None, log: bool = False) -> Result:
    """Build and solve ``instance``; see :class:`Planner` to solve the same model repeatedly."""
    return Planner(instance).solve(time_limit=time_limit, mip_gap=mip_gap, threads=threads, log=log)
