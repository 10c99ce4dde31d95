"""Plans under uncertainty: a scenario tree over an instance, its extensive form, and what information and options
are worth.

A tree (:class:`~solver.schema.ScenarioTree`, a YAML file) has stages: an information date and branches, each with
a probability and the data it changes from that date on. A scenario takes one branch of every stage; its instance
is the base with its branches' changes spliced in from their dates (:func:`scenario_instance`): a year schedule
keeps the earlier years' values, a month series its earlier months, a growth law restarts from the level the
demand has reached. Any other change applies to the whole horizon, so the tree checks (:func:`build_tree`) that
the compiled model of every scenario equals its siblings' over the periods they share; a change that would reveal
the future is an input error naming the field, the branch and the month.

The extensive form (:func:`extensive_form`) holds one copy of the deterministic model per scenario (``models/``
unchanged) as blocks of one Pyomo model, tied by non-anticipativity: every variable of a period is equal across
the scenarios that pass through that period's node (they cannot yet be told apart). Its objective is the expected
net present cost, optionally plus ``weight`` x (CVaR - mean) of a loss (the cost, or its lost revenue). It is solved
by the Planner's own compile-to-HiGHS path (statuses, gap, time limit) and every scenario block is audited.

Metrics (Birge & Louveaux 2011, ch. 4), each a difference of MILP optima and so a bracket from the solves' bounds
and incumbents: RP (the tree), WS (each scenario alone, with foresight), EVPI = RP - WS; EV (the mean-value
instance), EEV (the tree with its root decisions fixed at EV's, the later stages re-planned on the tree: the
classical EEV of a two-stage tree; Escudero et al. 2007 fix EV's decisions stage by stage, which is not computed
here), VSS = EEV - RP; and each option's value, the RP without it minus the RP with it.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import itertools
import json
import math
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError
from pyomo.environ import ConcreteModel, Constraint, ConstraintList, NonNegativeReals, Objective, Var, minimize, value
from pyomo.repn import generate_standard_repn

from models.core import build_model
from models.demand import monthly_demand_units
from models.parts import MONEY, discount_factors
from solver.instance import InstanceError, format_validation_error, load_yaml_model, parse_instance
from solver.params import get_path, scaled, set_path
from solver.results import Result, write_atomic
from solver.schema import (
    Instance,
    MonthSeries,
    ScenarioTree,
    TreeRisk,
    WorkloadDemand,
    YearSchedule,
    month_index,
    month_text,
)
from solver.solve import CompiledModel, Planner, max_violation, read_and_audit
from solver.timegrid import TimeGrid, grid_text
from solver.workers import spawn_pool, submit

OPERATIONS = ("served", "unmet", "resale_mw")  # re-optimised, not fixed, when EV's root decisions are imposed
ROOT = "root"


# ---------------------------------------------------------------------------------------------------- the tree

@dataclass(frozen=True)
class Scenario:
    name: str  # its branches joined by "/" ("fast/steep"); "base" in a tree without stages
    branches: tuple[str, ...]
    probability: float
    instance: Instance


@dataclass(frozen=True)
class Node:
    """A node of the tree: the periods ``first_period..end_period - 1`` in which its scenarios cannot yet be told
    apart. ``name`` is the branch path (``root``, ``fast``, ``fast/steep``)."""

    name: str
    stage: int
    probability: float
    first_period: int
    end_period: int
    scenarios: tuple[int, ...]


@dataclass(frozen=True)
class Tree:
    spec: ScenarioTree
    base: Instance
    source: str
    scenarios: tuple[Scenario, ...]
    nodes: tuple[Node, ...]

    @property
    def grid(self) -> TimeGrid:
        return TimeGrid(self.base.horizon)

    def node_of(self, scenario: int, period: int) -> Node:
        return next(n for n in self.nodes if scenario in n.scenarios and n.first_period <= period < n.end_period)

    def table(self) -> pd.DataFrame:
        """One row per node: stage, probability, first month, scenarios, and the changes its branch makes."""
        rows = []
        for node in self.nodes:
            branch = (self.spec.stages[node.stage - 1].branches[node.name.split("/")[-1]] if node.stage else None)
            rows.append({"node": node.name, "stage": node.stage, "probability": node.probability,
                         "from": self.grid.labels[node.first_period], "scenarios": len(node.scenarios),
                         "changes": json.dumps(branch.set, default=str) if branch else "",
                         "source": branch.source if branch else ""})
        return pd.DataFrame(rows)


def load_tree(path: str | Path) -> ScenarioTree:
    """Read and validate a tree file; :class:`InstanceError` (one line) otherwise."""
    return load_yaml_model(path, ScenarioTree, "scenario tree")


def build_tree(base: Instance, spec: ScenarioTree, source: str = "tree", check: bool = True) -> Tree:
    """The scenarios and nodes of ``spec`` over ``base``, checked: dates on period boundaries inside the horizon,
    paths that exist, valid scenario instances, and (unless ``check`` is off, for a tree already checked) no
    branch changing the data before its date."""
    grid = TimeGrid(base.horizon)
    starts = [0]
    for k, stage in enumerate(spec.stages):
        offset = month_index(stage.from_month) - grid.start_month
        if not 0 < offset < grid.end_month - grid.start_month:
            raise InstanceError(f"{source}: stages.{k}.from: expected a month after the horizon start "
                                f"{base.horizon.start} and by its end {base.horizon.end}, got {stage.from_month}")
        period = grid.period_from(month_index(stage.from_month))
        if grid.boundary(period) != month_index(stage.from_month):
            grid_words = base.horizon.period if isinstance(base.horizon.period, str) else (
                f"period of the grid ({grid_text(base.horizon.period)})")
            raise InstanceError(f"{source}: stages.{k}.from: expected the first month of a {grid_words} (the branch "
                                f"is known from a period's start), got {stage.from_month}")
        starts.append(period)
    starts.append(grid.n_periods)
    paths = list(itertools.product(*(list(stage.branches) for stage in spec.stages)))
    scenarios = []
    for path in paths:
        probability = math.prod(spec.stages[k].branches[b].probability for k, b in enumerate(path))
        scenarios.append(Scenario(name="/".join(path) or "base", branches=path, probability=probability,
                                  instance=scenario_instance(base, spec, path, source)))
    nodes = []
    for depth in range(len(spec.stages) + 1):
        for prefix in dict.fromkeys(p[:depth] for p in paths):
            members = tuple(i for i, p in enumerate(paths) if p[:depth] == prefix)
            nodes.append(Node(name="/".join(prefix) or ROOT, stage=depth,
                              probability=sum(scenarios[i].probability for i in members),
                              first_period=starts[depth], end_period=starts[depth + 1], scenarios=members))
    tree = Tree(spec=spec, base=base, source=source, scenarios=tuple(scenarios), nodes=tuple(nodes))
    if check:
        _check_no_foresight(tree)
    return tree


def scenario_instance(base: Instance, spec: ScenarioTree, path: tuple[str, ...], source: str = "tree") -> Instance:
    """``base`` with the changes of one branch per stage (``path``), each from its stage's date on."""
    data = base.model_dump()
    grid = TimeGrid(base.horizon)
    laws = {w: copy.deepcopy(data["demand"][w]["growth_law"]) for w in ("training", "inference")}
    for k, branch_name in enumerate(path):
        stage = spec.stages[k]
        where = f"{source}: stages.{k}.branches.{branch_name}.set"
        data = _apply_branch(data, stage.branches[branch_name].set, month_index(stage.from_month), grid, laws, where)
    name = "/".join(path) or "base"
    return parse_instance(data, f"{source}: scenario {name}")


def apply_changes(data: dict, changes: dict[str, Any], where: str) -> dict:
    """``changes`` (``PATH: content`` or ``PATH*: factor``) applied to an instance dump for the whole horizon."""
    out = copy.deepcopy(data)
    for key, content in changes.items():
        path = key.removesuffix("*").strip()
        set_path(out, path, _new_content(get_path(out, path, where), key, content, where), where)
    return out


def _new_content(current: Any, key: str, content: Any, where: str) -> Any:
    """What a change ``key: content`` makes of a field holding ``current``: ``content`` itself, or with ``PATH*``
    every number of ``current`` scaled by it."""
    if not key.endswith("*"):
        return copy.deepcopy(content)
    if isinstance(content, bool) or not isinstance(content, int | float) or not math.isfinite(content):
        raise InstanceError(f"{where}.{key}: expected a finite number to scale by, got {content!r}")
    return scaled(current, float(content))


def _apply_branch(data: dict, changes: dict[str, Any], tau: int, grid: TimeGrid, laws: dict, where: str) -> dict:
    """One branch's changes from month ``tau`` on (see the module docstring for the splicing rules)."""
    out = copy.deepcopy(data)
    restarted = set()
    for key, content in changes.items():
        path = key.removesuffix("*").strip()
        keys = path.split(".")
        if len(keys) >= 3 and keys[0] == "demand" and keys[2] == "growth_law":
            workload = keys[1]
            if laws.get(workload) is None:
                raise InstanceError(f"{where}.{key}: demand.{workload} has no growth law to change")
            holder = {"growth_law": laws[workload]}
            sub = ".".join(keys[2:])
            new = _new_content(get_path(holder, sub, f"{where} (demand.{workload})"), key, content, where)
            before = laws[workload].get("start_units")
            set_path(holder, sub, new, where)
            if isinstance(holder["growth_law"], dict) and holder["growth_law"].get("start_units") != before:
                raise InstanceError(f"{where}.{key}: a branch's growth law restarts from the level demand has "
                                    "reached at its date, so start_units cannot change; change "
                                    "annual_growth_factor or saturation_units")
            laws[workload] = holder["growth_law"]
            restarted.add(workload)
            continue
        current = get_path(out, path, where)
        new = _new_content(current, key, content, where)
        kind = _kind(path)
        if kind == "years" and current is not None and new is not None:
            new = _splice_years(current, new, tau, grid)
        elif kind == "months" and isinstance(current, dict) and isinstance(new, dict):
            new = _splice_months(current, new, tau)
        set_path(out, path, new, where)
    for workload in sorted(restarted):
        out["demand"][workload] = _restarted_demand(out["demand"][workload], laws[workload], tau, grid, where)
    return out


def _kind(path: str) -> str:
    """``years`` for a year schedule, ``months`` for a month series, else ``other``: read off the schema."""
    model: Any = Instance
    annotation: Any = None
    keys = path.split(".")
    i = 0
    while i < len(keys):
        fields = getattr(model, "model_fields", None)
        if fields is None or keys[i] not in fields:
            return "other"
        annotation = fields[keys[i]].annotation
        i += 1
        inner = _without_none(annotation)
        if typing.get_origin(inner) is dict and isinstance(typing.get_args(inner)[1], type) \
                and issubclass(typing.get_args(inner)[1], BaseModel):
            model, i = typing.get_args(inner)[1], i + 1  # a named collection: skip the name
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        else:
            model = None
    members = set(typing.get_args(annotation)) if _is_union(annotation) else {annotation}
    if set(typing.get_args(YearSchedule)) <= members:
        return "years"
    if MonthSeries in members:
        return "months"
    return "other"


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _without_none(annotation: Any) -> Any:
    if _is_union(annotation):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _at_year(schedule: float | dict, year: int) -> float:
    if not isinstance(schedule, dict):
        return float(schedule)
    years = sorted(schedule)
    return float(np.interp(year, years, [schedule[y] for y in years]))


def _splice_years(old: float | dict, new: float | dict, tau: int, grid: TimeGrid) -> dict:
    """The old schedule's value for each year before ``tau``'s, the new one's from it (a mid-year date changes
    the months of its year before it too: the no-foresight check then names it)."""
    first, last = grid.start_month // 12, (grid.end_month - 1) // 12
    return {y: _at_year(old, y) if y < tau // 12 else _at_year(new, y) for y in range(first, last + 1)}


def _splice_months(old: dict, new: dict, tau: int) -> dict:
    """The old series before month ``tau``, the new one from it (its value in force at ``tau``, then its steps)."""
    in_force = [k for k in new if month_index(k) <= tau]
    at_tau = new[max(in_force, key=month_index)] if in_force else 0.0
    return ({k: v for k, v in old.items() if month_index(k) < tau} | {month_text(tau): at_tau}
            | {k: v for k, v in new.items() if month_index(k) > tau})


def _restarted_demand(spec: dict, law: dict, tau: int, grid: TimeGrid, where: str) -> dict:
    """A workload's demand month by month: as before until ``tau``, then the changed law restarted from the level
    reached at ``tau`` (the logistic keeps its saturation level)."""
    try:
        before = monthly_demand_units(grid, WorkloadDemand.model_validate(spec))
        restarted = WorkloadDemand.model_validate(spec | {"series_units": None, "growth_law": law})
    except ValidationError as exc:
        raise InstanceError(format_validation_error(exc, where)) from None
    months = grid.start_month + np.arange(len(before))
    k = tau - grid.start_month
    g = restarted.growth_law.annual_growth_factor ** ((months[k:] - tau) / 12.0)
    level, cap = before[k], restarted.growth_law.saturation_units
    after = level * g if cap is None or level == 0 else cap * level * g / (cap + level * (g - 1.0))
    units = np.concatenate([before[:k], after])
    return spec | {"growth_law": None, "series_units": {month_text(int(m)): float(u) for m, u in zip(months, units,
                                                                                                   strict=True)}}


# ------------------------------------------------------------------------------------ the no-foresight check

def _shared_data(model, parts, end_period: int) -> dict[tuple, tuple]:
    """What the model says about periods before ``end_period``: each column's bounds and kind, each row among only
    such columns (bounds and coefficients), each such period's costs. Keys name the row, column or cost, and end
    with the period."""
    compiled = CompiledModel.of(model)
    lp = compiled.lp
    period = np.array([period_of(v) for v in compiled.columns])
    names = compiled.column_names
    out: dict[tuple, tuple] = {}
    for j in np.flatnonzero(period < end_period):
        # Not the column's cost: it sums what the decision costs in every period (a commitment pays through its
        # term, later periods included); costs are compared period by period below.
        out[("column", names[j], int(period[j]))] = (lp.col_lower_[j], lp.col_upper_[j],
                                                     compiled.columns[j].is_integer())
    matrix = compiled.matrix().tocsr()
    # A coefficient of a variable held at 0 by its bounds (a lease outside its window) changes nothing.
    zero = (np.asarray(lp.col_lower_) == 0) & (np.asarray(lp.col_upper_) == 0)
    for r in range(lp.num_row_):
        cols = matrix.indices[matrix.indptr[r]:matrix.indptr[r + 1]]
        if len(cols) and period[cols].max() < end_period:
            coefficients = tuple(sorted((names[c], float(a)) for c, a in zip(
                cols.tolist(), matrix.data[matrix.indptr[r]:matrix.indptr[r + 1]].tolist(), strict=True)
                if not zero[c]))
            out[("row", compiled.row_names[r][0], int(period[cols].max()))] = (
                lp.row_lower_[r], lp.row_upper_[r], coefficients)
    for (category, t), expression in model.cost.items():
        if t < end_period:
            repn = generate_standard_repn(expression.expr, compute_values=True)
            out[("cost", f"{category} in period {t}", int(t))] = (float(repn.constant), tuple(sorted(
                (v.name, float(c)) for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True)
                if not (v.lb == 0 and v.ub == 0))))
    return out


def period_of(var) -> int:
    """The period of a model variable: the last index of every variable of ``models/``."""
    index = var.index()
    period = index[-1] if isinstance(index, tuple) else index
    if isinstance(period, bool) or not isinstance(period, int):
        raise ValueError(f"{var.name}: expected a period as the last index (models/ index every variable by period)")
    return period


def _first_difference(a: dict, b: dict) -> tuple | None:
    """The key of the earliest period where two :func:`_shared_data` differ, or None."""
    keys = sorted(set(a) | set(b), key=lambda k: (k[2], k))
    for key in keys:
        if key not in a or key not in b or not _same(a[key], b[key]):
            return key
    return None


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(_same(p, q) for p, q in zip(x, y, strict=True))
    if isinstance(x, float | int | np.floating) and isinstance(y, float | int | np.floating) \
            and not isinstance(x, bool):
        return bool(x == y or abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y)))
    return x == y


def _check_no_foresight(tree: Tree) -> None:
    """Every node's scenarios must have the same model over the periods up to the node's end."""
    built: dict[int, tuple] = {}
    for node in tree.nodes:
        if len(node.scenarios) < 2:
            continue
        for i in node.scenarios:
            if i not in built:
                built[i] = build_model(tree.scenarios[i].instance)
        reference = _shared_data(*built[node.scenarios[0]], node.end_period)
        for i in node.scenarios[1:]:
            key = _first_difference(reference, _shared_data(*built[i], node.end_period))
            if key is not None:
                raise InstanceError(_foresight_message(tree, node, i, key))


def _foresight_message(tree: Tree, node: Node, scenario: int, key: tuple) -> str:
    """Name the branch and field that change the data before the branch is known (found by applying each of the
    scenario's later changes alone to the base)."""
    grid = tree.grid
    month = grid.labels[key[2]]
    spec, base = tree.spec, tree.base
    data = base.model_dump()
    for k, index in itertools.product(range(node.stage, len(spec.stages)), (scenario, node.scenarios[0])):
        stage = spec.stages[k]
        branch_name = tree.scenarios[index].branches[k]
        end = next(n.first_period for n in tree.nodes if n.stage == k + 1)
        for path, content in stage.branches[branch_name].set.items():
            where = f"{tree.source}: stages.{k}.branches.{branch_name}.set"
            laws = {w: copy.deepcopy(data["demand"][w]["growth_law"]) for w in ("training", "inference")}
            changed = _apply_branch(data, {path: content}, month_index(stage.from_month), grid, laws, where)
            alone = _first_difference(_shared_data(*build_model(base), end),
                                      _shared_data(*build_model(parse_instance(changed, where)), end))
            if alone is not None:
                return (f"{where}.{path}: changes the model in {grid.labels[alone[2]]} ({alone[1]}), before the "
                        f"branch is known at {stage.from_month}: a branch may change data only from its date on")
    return (f"{tree.source}: scenario {tree.scenarios[scenario].name} differs from "
            f"{tree.scenarios[node.scenarios[0]].name} in {month} ({key[1]}), before they can be told apart")


# ------------------------------------------------------------------------------------------ the extensive form

def extensive_form(tree: Tree, fixed: dict[tuple[str, Any], float] | None = None) -> tuple[ConcreteModel, list]:
    """The extensive form of ``tree``: one block per scenario (``scenario_0``, ...) from ``models/``, each block's
    own objective deactivated, non-anticipativity rows per node, and the expected (risk-adjusted) cost as
    ``net_present_cost``. ``fixed`` (component name, index) -> value fixes those variables in every block (EEV).
    Returns the model and each block's ``(model, parts)``."""
    ef = ConcreteModel(name=f"{tree.base.name} on tree {tree.spec.name}")
    blocks = []
    for k, scenario in enumerate(tree.scenarios):
        model, parts = build_model(scenario.instance)
        model.net_present_cost.deactivate()
        for (component, index), level in (fixed or {}).items():
            getattr(model, component)[index].fix(level)
        ef.add_component(f"scenario_{k}", model)
        blocks.append((model, parts))
    ef.nonanticipativity = ConstraintList()
    for node in tree.nodes:
        if len(node.scenarios) < 2:
            continue
        reference = blocks[node.scenarios[0]][0]
        for component in reference.component_objects(Var):
            others = [getattr(blocks[i][0], component.local_name) for i in node.scenarios[1:]]
            for index, var in component.items():
                if node.first_period <= period_of(var) < node.end_period and not var.fixed:
                    for other in others:
                        ef.nonanticipativity.add(other[index] == var)
    expected = sum(s.probability * blocks[k][0].net_present_cost.expr for k, s in enumerate(tree.scenarios))
    risk = tree.spec.risk
    if risk is None:
        ef.net_present_cost = Objective(expr=expected, sense=minimize)
        return ef, blocks
    losses = [_loss(model, parts, risk) for model, parts in blocks]
    scenarios = range(len(tree.scenarios))
    ef.value_at_risk = Var()  # eta of Rockafellar & Uryasev (2000): at the optimum, the alpha-quantile of the loss
    ef.loss_excess = Var(scenarios, domain=NonNegativeReals)
    ef.loss_excess_rows = Constraint(scenarios, rule=lambda m, k: m.loss_excess[k] >= losses[k] - m.value_at_risk)
    ef.cvar = ef.value_at_risk + sum(s.probability * ef.loss_excess[k] for k, s in enumerate(tree.scenarios)) \
        / (1.0 - risk.alpha)
    mean_loss = sum(s.probability * losses[k] for k, s in enumerate(tree.scenarios))
    ef.net_present_cost = Objective(expr=expected + risk.weight * (ef.cvar - mean_loss), sense=minimize)
    return ef, blocks


def _loss(model, parts, risk: TreeRisk):
    if risk.on == "cost":
        return model.net_present_cost.expr
    factor = discount_factors(parts.grid, "unmet_demand")
    return sum(factor[t] * model.cost["unmet_demand", t] for t in range(parts.grid.n_periods)
               if ("unmet_demand", t) in model.cost)


class TreePlanner(Planner):
    """The extensive form of a tree held in HiGHS: solved like one instance, read back per scenario."""

    def __init__(self, tree: Tree, fixed: dict[tuple[str, Any], float] | None = None):
        self.tree, self.fixed = tree, fixed
        self.scenario_results: list[Result] = []
        super().__init__(tree.base)

    def _build(self, instance: Instance) -> tuple[Any, Any]:
        model, self.blocks = extensive_form(self.tree, self.fixed)
        return model, [parts for _, parts in self.blocks]

    def update(self, changes, *, mip_start: bool = True) -> str:
        raise NotImplementedError("a tree is rebuilt (build_tree), not updated in place")

    def _read_plan(self, result: Result, levels: np.ndarray, status: str) -> None:
        self._load_levels(levels)
        result.objective_usd = value(self.model.net_present_cost) * MONEY
        if result.bound_usd is not None:
            result.gap = abs(result.objective_usd - result.bound_usd) / max(1.0, abs(result.objective_usd))
        violation = max_violation(self.compiled, levels)
        self.scenario_results = []
        for scenario, (model, parts) in zip(self.tree.scenarios, self.blocks, strict=True):
            own = Result(instance_name=scenario.instance.name, status=status,
                         compute_unit=scenario.instance.demand.compute_unit)
            own.objective_usd = value(model.net_present_cost) * MONEY
            read_and_audit(own, model, parts, violation, status)
            self.scenario_results.append(own)
        result.audit = {key: max(r.audit[key] for r in self.scenario_results) for key in self.scenario_results[0].audit}
        for scenario, own in zip(self.tree.scenarios, self.scenario_results, strict=True):
            if own.status == "suspect":
                result.status, result.message = "suspect", f"scenario {scenario.name}: {own.message}"
                break
        if self.tree.spec.risk is not None:
            self.cvar_usd = value(self.model.cvar) * MONEY


# ------------------------------------------------------------------------------------------------ the metrics

@dataclass(frozen=True)
class Bracket:
    """A cost known to lie in ``[low, high]`` (USD): a MILP's optimum between its bound and its incumbent
    (``value``), or a difference of two such."""

    value: float
    low: float
    high: float

    @classmethod
    def of(cls, status: str, objective_usd: float | None, bound_usd: float | None) -> Bracket:
        if objective_usd is None or status not in ("optimal", "time_limit"):
            return cls(math.nan, math.nan, math.nan)
        return cls(objective_usd, -math.inf if bound_usd is None else min(bound_usd, objective_usd), objective_usd)

    def __sub__(self, other: Bracket) -> Bracket:
        return Bracket(self.value - other.value, self.low - other.high, self.high - other.low)

    @property
    def decided(self) -> bool:
        """The bracket leaves out 0 (by more than rounding)."""
        tolerance = max(1.0, 1e-9 * abs(self.value)) if math.isfinite(self.value) else 1.0
        return bool(self.low > tolerance or self.high < -tolerance)


def _expected(brackets: list[Bracket], probabilities: list[float]) -> Bracket:
    return Bracket(*(math.fsum(p * getattr(b, side) for b, p in zip(brackets, probabilities, strict=True))
                     for side in ("value", "low", "high")))


@dataclass(frozen=True)
class _Task:
    """One solve of the metrics, for a worker: a deterministic instance (WS, EV) or a tree (an option's RP)."""

    kind: str  # "ws", "ev" or "option"
    label: str
    mip_gap: float
    time_limit: float | None
    threads: int | None
    instance: Instance | None = None
    spec: ScenarioTree | None = None
    source: str = ""
    root_end: int = 0  # EV: the decisions of the periods before this are returned
    start: dict | None = None  # WS: the tree's plan of the scenario (variable name -> level), a MIP start


@dataclass
class _Outcome:
    kind: str
    label: str
    status: str
    objective_usd: float | None
    bound_usd: float | None
    gap: float | None
    seconds: float
    message: str = ""
    root: dict = field(default_factory=dict)  # EV: (component, index) -> level of each root decision
    plan: dict = field(default_factory=dict)  # an option's tree: variable name -> level (a start for the RP)
    unmet_usd: float | None = None  # WS: the plan's discounted lost revenue

    @property
    def bracket(self) -> Bracket:
        return Bracket.of(self.status, self.objective_usd, self.bound_usd)


def _solve_task(task: _Task) -> _Outcome:
    start = time.perf_counter()
    if task.kind == "option":
        planner: Planner = TreePlanner(build_tree(task.instance, task.spec, task.source, check=False))
        result = planner.solve(mip_gap=task.mip_gap, time_limit=task.time_limit, threads=task.threads, explain=False)
    else:
        planner = Planner(task.instance)
        if task.start:  # the tree's plan of this scenario is one of its plans: WS starts at or below it
            levels = [task.start.get(name, math.nan) for name in planner.compiled.column_names] \
                if planner.compiled is not None else [math.nan]
            if not any(math.isnan(level) for level in levels):
                planner.offer_start(np.array(levels))
        result = planner.solve(mip_gap=task.mip_gap, time_limit=task.time_limit, threads=task.threads, explain=False)
    root = root_decisions(planner.model, task.root_end) if task.kind == "ev" and result.has_plan else {}
    plan = plan_by_name(planner.model) if task.kind == "option" and result.has_plan else {}
    return _Outcome(kind=task.kind, label=task.label, status=result.status, objective_usd=result.objective_usd,
                    bound_usd=result.bound_usd, gap=result.gap, seconds=time.perf_counter() - start,
                    message=result.message, root=root, plan=plan,
                    unmet_usd=_category(result, "unmet_demand") if task.kind != "option" and result.has_plan
                    else None)


def _category(result: Result, category: str) -> float:
    costs = result.costs
    return float(costs.loc[costs["category"] == category, "discounted_usd"].sum())


def _block_plan(planner: TreePlanner, k: int) -> dict[str, float]:
    """Scenario ``k``'s plan in the tree, by the variable names of its model alone."""
    block = planner.blocks[k][0]
    return {v.getname(fully_qualified=True, relative_to=block): v.value
            for v in block.component_data_objects(Var) if v.value is not None}


def plan_by_name(model) -> dict[str, float]:
    """Every variable's level in a solved model, by name (fixed ones included)."""
    return {v.name: v.value for v in model.component_data_objects(Var) if v.value is not None}


def better_start(planner: Planner, plans: list[dict[str, float]], incumbent_usd: float) -> np.ndarray | None:
    """The cheapest of ``plans`` (levels by variable name, from other solves) that is a plan of the planner's model
    (every variable named, no row, bound or integrality missed by more than 1e-6) and cheaper than its
    incumbent; None if there is none. A restricted tree's plan (EEV's, an option removed) is one of the tree's."""
    compiled = planner.compiled
    cost, offset = np.asarray(compiled.lp.col_cost_), compiled.lp.offset_
    best, best_cost = None, incumbent_usd / MONEY
    for plan in plans:
        levels = np.array([plan.get(name, math.nan) for name in compiled.column_names], dtype=float)
        if np.isnan(levels).any() or max_violation(compiled, levels) > 1e-6:
            continue
        if (total := float(cost @ levels + offset)) < best_cost - 1e-9 * max(1.0, abs(best_cost)):
            best, best_cost = levels, total
    return best


def root_decisions(model, end_period: int) -> dict[tuple[str, Any], float]:
    """The solved ``model``'s decisions (not its operations: :data:`OPERATIONS`) in periods before ``end_period``,
    integers rounded: what EEV imposes on every scenario."""
    out = {}
    for component in model.component_objects(Var):
        if component.local_name in OPERATIONS:
            continue
        for index, var in component.items():
            if period_of(var) < end_period and var.value is not None:
                out[(component.local_name, index)] = float(round(var.value)) if var.is_integer() else var.value
    return out


def mean_instance(tree: Tree) -> Instance:
    """The mean-value instance (EV): numbers probability-weighted (demand month by month, year schedules year by
    year, month series month by month), anything else (a month, a flag) at its most probable value."""
    grid = tree.grid
    probabilities = [s.probability for s in tree.scenarios]
    dumps = [s.instance.model_dump() for s in tree.scenarios]
    for workload in ("training", "inference"):
        specs = [d["demand"][workload] for d in dumps]
        if any(spec != specs[0] for spec in specs):
            units = [monthly_demand_units(grid, s.instance.demand.training if workload == "training"
                                          else s.instance.demand.inference) for s in tree.scenarios]
            mean = np.sum([p * u for p, u in zip(probabilities, units, strict=True)], axis=0)
            months = grid.start_month + np.arange(len(mean))
            for d in dumps:
                d["demand"][workload] = specs[0] | {"growth_law": None, "series_units": {
                    month_text(int(m)): float(u) for m, u in zip(months, mean, strict=True)}}
    data = _mean(dumps, probabilities, "", grid)
    return parse_instance(data, f"{tree.source}: the mean-value instance")


def _mean(values: list, probabilities: list[float], path: str, grid: TimeGrid) -> Any:
    first = values[0]
    if all(v == first for v in values):
        return copy.deepcopy(first)
    kind = _kind(path) if path else "other"
    if kind == "years" and all(v is not None for v in values):
        years = range(grid.start_month // 12, (grid.end_month - 1) // 12 + 1)
        values = [{y: _at_year(v, y) for y in years} for v in values]
    elif kind == "months" and all(isinstance(v, dict) for v in values):
        keys = sorted(set().union(*values), key=month_index)
        values = [{k: float(TimeGrid.step_series(v, np.array([month_index(k)]))[0]) for k in keys} for v in values]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        mean = math.fsum(p * v for p, v in zip(probabilities, values, strict=True)) / math.fsum(probabilities)
        return round(mean) if all(isinstance(v, int) for v in values) else mean  # months of a term stay whole
    if all(isinstance(v, dict) for v in values) and all(v.keys() == values[0].keys() for v in values):
        return {k: _mean([v[k] for v in values], probabilities, f"{path}.{k}".lstrip("."), grid) for k in values[0]}
    keys = [json.dumps(v, sort_keys=True, default=str) for v in values]
    weight: dict[str, float] = {}
    for key, p in zip(keys, probabilities, strict=True):
        weight[key] = weight.get(key, 0.0) + p
    return copy.deepcopy(values[keys.index(max(weight, key=weight.get))])


@dataclass
class StochasticResult:
    """The tree's solve (``rp``: the extensive form, its objective the expected or risk-adjusted cost), each
    scenario's part of it, and the metrics and option values as brackets (tables in USD)."""

    tree: Tree
    rp: Result
    scenario_results: list[Result]
    metrics: pd.DataFrame
    options: pd.DataFrame
    scenarios: pd.DataFrame
    plan_by_node: pd.DataFrame
    plan_by_scenario: pd.DataFrame
    cvar_usd: float | None = None
    times_s: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.rp.status

    def root_plan(self) -> pd.DataFrame:
        """What to do now: the root node's decisions (signings, notices, blocks, modules, launches)."""
        plan = self.plan_by_node
        if plan.empty:
            return plan
        root = plan[plan["node"] == ROOT]
        return root[(root["new_units"] > 0) | (root["event"] != "")].reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        costs = self.scenarios["npc_usd"].to_numpy(float) if "npc_usd" in self.scenarios else np.array([])
        probabilities = self.scenarios["probability"].to_numpy(float) if len(costs) else np.array([])
        return {
            "instance": self.tree.base.name, "tree": self.tree.spec.name, "status": self.rp.status,
            "message": self.rp.message, "objective_usd": self.rp.objective_usd, "bound_usd": self.rp.bound_usd,
            "gap": self.rp.gap, "scenarios": len(self.tree.scenarios), "model_size": self.rp.model_size,
            "risk": self.tree.spec.risk.model_dump() if self.tree.spec.risk else None, "cvar_usd": self.cvar_usd,
            "cost_distribution": _distribution(costs, probabilities) if len(costs) and np.isfinite(costs).all()
            else None,
            "eev": "the tree with its root node's decisions fixed at the mean-value plan's, later stages re-planned",
            "metrics": _records(self.metrics), "options": _records(self.options), "times_s": self.times_s,
            "audit": self.rp.audit,
        }

    def write(self, directory: str | Path) -> None:
        """``tree.csv``, ``scenarios.csv``, ``plan_by_node.csv``, ``plan_by_scenario.csv``, ``metrics.csv``,
        ``options.csv`` and ``summary.json`` in ``directory``."""
        directory = Path(directory)
        tables = {"tree": self.tree.table(), "scenarios": self.scenarios, "plan_by_node": self.plan_by_node,
                  "plan_by_scenario": self.plan_by_scenario, "metrics": self.metrics, "options": self.options}
        for name, table in tables.items():
            write_atomic(directory / f"{name}.csv", table.to_csv(index=False))
        write_atomic(directory / "summary.json", json.dumps(_finite(self.summary()), indent=2, default=_plain))


def _distribution(costs: np.ndarray, probabilities: np.ndarray, alpha: float = 0.9) -> dict[str, float]:
    """Percentiles (the smallest cost with at least that cumulative probability) and CVaR_alpha of the cost."""
    order = np.argsort(costs)
    cumulative = np.cumsum(probabilities[order])
    out = {f"p{q}_usd": float(costs[order][np.searchsorted(cumulative, q / 100 - 1e-12)]) for q in (10, 50, 90)}
    out["mean_usd"] = float(costs @ probabilities)
    out[f"cvar_{alpha:g}_usd"] = cvar(costs, probabilities, alpha)
    return out


def _records(table: pd.DataFrame) -> list[dict]:
    return table.to_dict(orient="records")


def _finite(obj: Any) -> Any:
    """JSON has no infinity or NaN: an open side of a bracket is written as null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float | np.floating) and not math.isfinite(obj):
        return None
    return obj


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def _bracket_row(name: str, bracket: Bracket, meaning: str, status: str = "") -> dict:
    return {"metric": name, "value_usd": bracket.value, "low_usd": bracket.low, "high_usd": bracket.high,
            "decided": bracket.decided if name not in ("RP", "WS", "EV", "EEV") else None, "status": status,
            "meaning": meaning}


def solve_stochastic(instance: Instance, tree: ScenarioTree | Tree, *, options: list[str] | None = None,
                     metrics: bool = True, mip_gap: float = 1e-4, time_limit: float | None = None,
                     threads: int | None = None, workers: int = 1, executor: cf.Executor | None = None,
                     source: str = "tree", log: Any = None) -> StochasticResult:
    """Solve the tree's extensive form (RP) and, with ``metrics``, WS, EV, EEV, EVPI and VSS, and the value of each
    option named (all of the tree's by default; ``[]`` for none). WS, EV and the options' RPs run on ``executor``
    (a Dask ``client.get_executor()``, as for sweeps) or ``workers`` spawned processes, one HiGHS thread each.
    ``log`` (a callable) hears one line per solve. Every tree is built and checked before any solve."""
    say = log or (lambda line: None)
    tree = tree if isinstance(tree, Tree) else build_tree(instance, tree, source)
    instance = tree.base
    mean_value = mean_instance(tree) if metrics else None  # its errors too before any solve
    names = list(tree.spec.options) if options is None else options
    for name in names:
        if name not in tree.spec.options:
            known = ", ".join(tree.spec.options) or "none"
            raise InstanceError(f"{tree.source}: --option {name}: no such option (the tree's: {known})")
    counterfactuals = {}
    for name in names:
        where = f"{tree.source}: options.{name}.set"
        without = parse_instance(apply_changes(instance.model_dump(), tree.spec.options[name].set, where), where)
        build_tree(without, tree.spec, f"{tree.source} without {name}")  # its errors before any solve
        counterfactuals[name] = without
    times: dict[str, float] = {}
    start = time.perf_counter()
    planner = TreePlanner(tree)
    rp = planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=threads, explain=False)
    times["rp"] = time.perf_counter() - start
    say(f"RP: {rp.status}, {_usd(rp.objective_usd)} in {times['rp']:.0f} s")
    if rp.status in ("infeasible", "infeasible_or_unbounded"):
        rp.message = _name_infeasible(tree, mip_gap, time_limit, threads) or rp.message
    scenario_results = planner.scenario_results if rp.has_plan else []
    root_end = next((n.end_period for n in tree.nodes if n.stage == 0), 0)

    tasks = []
    if metrics:
        starts = [_block_plan(planner, k) if rp.has_plan else None for k in range(len(tree.scenarios))]
        tasks += [_Task("ws", s.name, mip_gap, time_limit, 1 if workers > 1 or executor else threads,
                        instance=s.instance, start=starts[k]) for k, s in enumerate(tree.scenarios)]
        tasks.append(_Task("ev", "EV", mip_gap, time_limit, 1 if workers > 1 or executor else threads,
                           instance=mean_value, root_end=root_end))
    tasks += [_Task("option", name, mip_gap, time_limit, 1 if workers > 1 or executor else threads,
                    instance=counterfactuals[name], spec=tree.spec, source=f"{tree.source} without {name}")
              for name in names]
    start = time.perf_counter()
    outcomes = _run(tasks, workers, executor, say)
    times["ws_ev_options"] = time.perf_counter() - start

    ws_outcomes = [o for o in outcomes if o.kind == "ws"]
    eev_results: list[Result] = []
    eev = None
    if metrics:
        ev = next(o for o in outcomes if o.kind == "ev")
        start = time.perf_counter()
        if ev.root:
            eev_planner = TreePlanner(tree, fixed=ev.root)
            eev = eev_planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=threads, explain=False)
            eev_results = eev_planner.scenario_results if eev.has_plan else []
        else:
            eev = Result(instance_name=instance.name, status="error", message=f"no mean-value plan: {ev.message}")
        times["eev"] = time.perf_counter() - start
        say(f"EEV: {eev.status}, {_usd(eev.objective_usd)} in {times['eev']:.0f} s")
    # EEV's plan and a restricted option's are plans of the tree too: one cheaper than the RP's incumbent (the
    # gaps allow it) would make VSS or an option's value negative. The RP is solved again from the best of them.
    candidates = [o.plan for o in outcomes if o.kind == "option" and o.plan]
    if eev is not None and eev.has_plan:
        candidates.insert(0, plan_by_name(eev_planner.model))
    start_levels = better_start(planner, candidates, rp.objective_usd) if rp.has_plan else None
    if start_levels is not None:
        start = time.perf_counter()
        planner.highs.clearSolver()
        planner.offer_start(start_levels)
        first_bound = rp.bound_usd
        rp = planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=threads, explain=False)
        if rp.has_plan and first_bound is not None:  # the first solve's bound holds for the same model
            rp.bound_usd = max(first_bound, rp.bound_usd if rp.bound_usd is not None else -math.inf)
            rp.gap = abs(rp.objective_usd - rp.bound_usd) / max(1.0, abs(rp.objective_usd))
        scenario_results = planner.scenario_results if rp.has_plan else []
        times["rp_again"] = time.perf_counter() - start
        say(f"RP again, from a cheaper plan of another solve: {rp.status}, {_usd(rp.objective_usd)} in "
            f"{times['rp_again']:.0f} s")

    rp_bracket = Bracket.of(rp.status, rp.objective_usd, rp.bound_usd)
    # The tree's plan of a scenario is a plan of that scenario alone: where it is cheaper than the WS solve's
    # incumbent (the gaps allow it; WS started from the tree's first plan), it is the best plan known with foresight.
    for k, o in enumerate(ws_outcomes):
        if tree.spec.risk is not None and tree.spec.risk.on != "cost":
            break  # the block's plan has its own lost revenue, not the WS plan's: WS combines both
        if scenario_results and o.objective_usd is not None and scenario_results[k].objective_usd is not None:
            o.objective_usd = min(o.objective_usd, scenario_results[k].objective_usd)
    rows = []
    if metrics:
        ws = _wait_and_see(tree, ws_outcomes)
        eev_bracket = Bracket.of(eev.status, eev.objective_usd, eev.bound_usd)
        # WS <= RP <= EEV, so each bound carries over: the RP's lower end is at least WS's, EEV's at least RP's.
        rp_bracket = Bracket(rp_bracket.value, max(rp_bracket.low, ws.low), rp_bracket.high)
        eev_bracket = Bracket(eev_bracket.value, max(eev_bracket.low, rp_bracket.low), eev_bracket.high)
        worst_ws = max((o.status for o in ws_outcomes), key=lambda s: s != "optimal", default="optimal")
        rows += [
            _bracket_row("WS", ws, "wait and see: each scenario planned with foresight, probability-weighted",
                         worst_ws),
            _bracket_row("EVPI", rp_bracket - ws, "RP - WS: what knowing the future would save"),
            _bracket_row("EV", ev.bracket, "the mean-value instance's own cost (not a cost of any scenario)",
                         ev.status),
            _bracket_row("EEV", eev_bracket, "the mean-value plan's root decisions, then re-planned on the tree",
                         eev.status),
            _bracket_row("VSS", eev_bracket - rp_bracket, "EEV - RP: what planning on the tree saves over "
                         "planning on the mean"),
        ]
    rows.insert(0, _bracket_row("RP", rp_bracket, "the tree: expected cost of the best plan that cannot see the "
                                "future" + (" (risk-adjusted)" if tree.spec.risk else ""), rp.status))
    option_rows = []
    for o in (o for o in outcomes if o.kind == "option"):
        value_of = o.bracket - rp_bracket
        option_rows.append({"option": o.label, "description": tree.spec.options[o.label].description,
                            "value_usd": value_of.value, "low_usd": value_of.low, "high_usd": value_of.high,
                            "decided": value_of.decided, "rp_without_usd": o.objective_usd,
                            "rp_without_bound_usd": o.bound_usd, "status_without": o.status})
    return StochasticResult(
        tree=tree, rp=rp, scenario_results=scenario_results, metrics=pd.DataFrame(rows),
        options=pd.DataFrame(option_rows, columns=["option", "description", "value_usd", "low_usd", "high_usd",
                                                   "decided", "rp_without_usd", "rp_without_bound_usd",
                                                   "status_without"]),
        scenarios=_scenario_table(tree, scenario_results, ws_outcomes, eev_results),
        plan_by_node=_plan_by_node(tree, scenario_results), plan_by_scenario=_plan_by_scenario(tree, scenario_results),
        cvar_usd=getattr(planner, "cvar_usd", None), times_s=times)


def _wait_and_see(tree: Tree, outcomes: list[_Outcome]) -> Bracket:
    """WS: the scenarios' own optima combined as the tree's objective combines costs, the expectation, or with a
    risk term E[z] + weight x (CVaR - mean) of the loss (so that RP - WS is the value of information, not a risk
    premium). With the loss on the cost the combination rises with every z, so the bounds give its lower end; on
    lost revenue the lower end is left open (the bounds say nothing of a bound's lost revenue)."""
    probabilities = [s.probability for s in tree.scenarios]
    risk = tree.spec.risk
    if risk is None:
        return _expected([o.bracket for o in outcomes], probabilities)
    p = np.array(probabilities)

    def combined(costs: list[float], losses: list[float]) -> float:
        z, loss = np.array(costs), np.array(losses)
        return float(p @ z + risk.weight * (cvar(loss, p, risk.alpha) - p @ loss))

    brackets = [o.bracket for o in outcomes]
    high = [b.high for b in brackets]
    if risk.on == "cost":
        return Bracket(combined(high, high), combined([b.low for b in brackets], [b.low for b in brackets]),
                       combined(high, high))
    unmet = [o.unmet_usd if o.unmet_usd is not None else math.nan for o in outcomes]
    value = combined(high, unmet)
    return Bracket(value, -math.inf, value)


def cvar(losses: np.ndarray, probabilities: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete loss: min over eta of eta + E[(L - eta)+] / (1 - alpha), reached at a loss value."""
    if not np.isfinite(losses).all():
        return math.nan
    return float(min(eta + probabilities @ np.maximum(losses - eta, 0.0) / (1 - alpha) for eta in losses))


def _usd(amount: float | None) -> str:
    if amount is None or math.isnan(amount):
        return "no plan"
    if math.isinf(amount):
        return "-inf" if amount < 0 else "inf"
    sign = "-" if amount < 0 and round(abs(amount) / 1e6, 1) > 0 else ""
    magnitude = abs(amount)
    return sign + (f"${magnitude / 1e9:,.3f}B" if magnitude >= 1e9 else f"${magnitude / 1e6:,.1f}M")


def _run(tasks: list[_Task], workers: int, executor: cf.Executor | None, say) -> list[_Outcome]:
    if not tasks:
        return []
    if executor is None and workers <= 1:
        outcomes = []
        for task in tasks:
            outcomes.append(_solve_task(task))
            say(_outcome_line(outcomes[-1]))
        return outcomes
    pool = executor or spawn_pool(min(workers, len(tasks)))
    try:
        futures = {submit(pool, _solve_task, task): i for i, task in enumerate(tasks)}
        outcomes: list[_Outcome | None] = [None] * len(tasks)
        for future in cf.as_completed(futures):
            outcomes[futures[future]] = future.result()
            say(_outcome_line(outcomes[futures[future]]))
    finally:
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _outcome_line(o: _Outcome) -> str:
    what = {"ws": f"WS {o.label}", "ev": "EV", "option": f"RP without {o.label}"}[o.kind]
    return f"{what}: {o.status}, {_usd(o.objective_usd)} in {o.seconds:.0f} s"


def _name_infeasible(tree: Tree, mip_gap: float, time_limit: float | None, threads: int | None) -> str | None:
    """The tree has no plan: name the scenarios that have none even with foresight."""
    alone = [s.name for s in tree.scenarios
             if Planner(s.instance).solve(mip_gap=mip_gap, time_limit=time_limit, threads=threads,
                                          explain=False).status in ("infeasible", "infeasible_or_unbounded")]
    if alone:
        return f"no plan: scenario {', '.join(alone)} has none even with foresight"
    return None


def _scenario_table(tree: Tree, results: list[Result], ws: list[_Outcome], eev: list[Result]) -> pd.DataFrame:
    rows = []
    for k, s in enumerate(tree.scenarios):
        row: dict[str, Any] = {"scenario": s.name, "probability": s.probability}
        for stage, branch in zip(tree.spec.stages, s.branches, strict=True):
            row[f"branch_{stage.from_month}"] = branch
        if results:
            row["npc_usd"] = results[k].objective_usd
            row["unmet_usd"] = _category(results[k], "unmet_demand")
        if ws:
            row["ws_usd"], row["ws_bound_usd"], row["ws_status"] = ws[k].objective_usd, ws[k].bound_usd, ws[k].status
        if eev:
            row["eev_npc_usd"] = eev[k].objective_usd
        rows.append(row)
    return pd.DataFrame(rows)


def _plan_by_scenario(tree: Tree, results: list[Result]) -> pd.DataFrame:
    if not results:
        return pd.DataFrame()
    labels = {label: t for t, label in enumerate(tree.grid.labels)}
    frames = []
    for k, (scenario, result) in enumerate(zip(tree.scenarios, results, strict=True)):
        plan = result.plan.copy()
        plan.insert(0, "node", [tree.node_of(k, labels[p]).name for p in plan["period"]])
        plan.insert(0, "scenario", scenario.name)
        frames.append(plan)
    return pd.concat(frames, ignore_index=True)


def _plan_by_node(tree: Tree, results: list[Result]) -> pd.DataFrame:
    """Each node's plan once (its scenarios agree on it: non-anticipativity)."""
    plan = _plan_by_scenario(tree, results)
    if plan.empty:
        return plan
    return plan.drop_duplicates(subset=["node", "period", "source"]).drop(columns="scenario").reset_index(drop=True)


def format_stochastic(result: StochasticResult) -> str:
    """The tree's answer as text: what to do now, cost by scenario, the metrics and the options' values."""
    tree, rp = result.tree, result.rp
    grid = tree.grid
    root = next(n for n in tree.nodes if n.stage == 0)
    dates = ", ".join(stage.from_month for stage in tree.spec.stages) or "none"
    gap = f", gap {rp.gap:.2%}" if rp.gap is not None and math.isfinite(rp.gap) else ""
    lines = [f"Tree {tree.spec.name} over {tree.base.name}: {len(tree.scenarios)} scenarios, information dates "
             f"{dates}; {rp.status}{gap}" + (f" ({rp.message})" if rp.message else "")]
    if not rp.has_plan:
        return "\n".join(lines)
    last_month = month_text(grid.boundary(root.end_period) - 1)
    lines.append(f"\nWhat to do now (the root node, {grid.labels[root.first_period]}..{last_month}):")
    decisions = result.root_plan().sort_values(["period", "source"], kind="stable")
    for row in decisions.itertuples():
        what = row.event or f"{row.new_units:g} new ({row.new_mw:g} MW)"
        lines.append(f"  {row.period}  {row.source:<22} {what}")
    if decisions.empty:
        lines.append("  nothing new: wait for the first information date")
    lines.append("\nNet present cost by scenario:")
    for row in result.scenarios.itertuples():
        ws = f", with foresight {_usd(row.ws_usd)}" if hasattr(row, "ws_usd") else ""
        lines.append(f"  {row.scenario:<28} p={row.probability:<6.3g} {_usd(row.npc_usd)}{ws}")
    distribution = result.summary()["cost_distribution"]
    if distribution:
        lines.append("  mean {mean_usd}, p10 {p10_usd}, p50 {p50_usd}, p90 {p90_usd}, CVaR90 {cvar}".format(
            **{k: _usd(v) for k, v in distribution.items() if k != "cvar_0.9_usd"},
            cvar=_usd(distribution["cvar_0.9_usd"])))
    if result.cvar_usd is not None:
        risk = tree.spec.risk
        lines.append(f"  objective: E[cost] + {risk.weight:g} x (CVaR{risk.alpha:g} - mean) of the "
                     f"{'cost' if risk.on == 'cost' else 'lost revenue'}; CVaR {_usd(result.cvar_usd)}")
    lines.append("\nMetrics (USD, [bracket the gaps allow]):")
    for row in result.metrics.itertuples():
        flag = "" if row.decided is None else ("" if row.decided else "  undecided (the bracket holds 0)")
        lines.append(f"  {row.metric:<5} {_usd(row.value_usd):>14} [{_usd(row.low_usd)}, {_usd(row.high_usd)}]"
                     f"{flag}  {row.meaning}")
    if not result.options.empty:
        lines.append("\nOptions (the RP without it minus the RP with it):")
        for row in result.options.itertuples():
            flag = "" if row.decided else "  undecided (the bracket holds 0)"
            lines.append(f"  {row.option:<22} {_usd(row.value_usd):>14} [{_usd(row.low_usd)}, {_usd(row.high_usd)}]"
                         f"{flag}  {row.description}")
    return "\n".join(lines)
