"""A dcopt scenario tree as an mpi-sppy model module: progressive hedging on a cluster.

mpi-sppy (PyPI ``mpi-sppy``, the ``stochastic`` extra) decomposes a tree by scenario; this module is what its
generic driver loads. Each scenario is dcopt's own model of that scenario's instance (``models/``, unchanged), with
the variables of each node's periods listed as that node's non-anticipative ones, as :mod:`solver.stochastic`
ties them in its extensive form. Scenario ``scen<k>`` is the tree's k-th scenario; node names follow mpi-sppy's
``ROOT``, ``ROOT_<i>``, ``ROOT_<i>_<j>`` (branch indices in the tree file's order). On a cluster::

    mpiexec -np 3 python -m mpi4py -m mpisppy.generic_cylinders --module-name solver.mpisppy_tree \\
        --dcopt-instance instances/reference.yaml --dcopt-tree instances/trees/reference.yaml \\
        --branching-factors "3 3" --solver-name appsi_highs --linearize-proximal-terms \\
        --default-rho 1 --max-iterations 50 --lagrangian --xhatshuffle --rel-gap 1e-3

HiGHS cannot solve PH's quadratic proximal term: ``--linearize-proximal-terms`` is needed (research note 1.5).
"""

from __future__ import annotations

from typing import Any

from pyomo.environ import Var

from models.core import build_model
from models.parts import COST_CATEGORIES, discount_factors
from solver.instance import InstanceError, load_instance
from solver.stochastic import Tree, build_tree, load_tree, period_of


def scenario_names_creator(num_scens: int | None, start: int | None = None) -> list[str]:
    start = start or 0
    return [f"scen{k}" for k in range(start, start + (num_scens or 0))]


def inparser_adder(cfg) -> None:
    cfg.multistage()  # --branching-factors: a two-stage tree of 3 branches is "3"
    cfg.add_to_config("dcopt_instance", description="the dcopt instance file", domain=str, default=None)
    cfg.add_to_config("dcopt_tree", description="the dcopt scenario tree file", domain=str, default=None)


def kw_creator(cfg) -> dict[str, Any]:
    instance = load_instance(cfg.dcopt_instance)
    spec = load_tree(cfg.dcopt_tree)
    if spec.risk is not None:  # mpi-sppy's own --cvar is another objective: not the tree's, so not silently
        raise InstanceError(f"{cfg.dcopt_tree}: risk: the mpi-sppy path solves the expected cost only; remove the "
                            "risk term (or use dcopt stochastic, whose extensive form has it)")
    return {"tree": build_tree(instance, spec, cfg.dcopt_tree)}


def scenario_denouement(rank: int, scenario_name: str, scenario) -> None:
    """mpi-sppy calls this per scenario at the end; the tree's results are read by dcopt stochastic, not here."""


def scenario_creator(scenario_name: str, tree: Tree):
    """dcopt's model of one scenario, with mpi-sppy's node list and probability attached."""
    import mpisppy.scenario_tree as scenario_tree

    k = int(scenario_name.removeprefix("scen"))
    scenario = tree.scenarios[k]
    model, parts = build_model(scenario.instance)
    grid = parts.grid
    categories = [c for c in COST_CATEGORIES if c in parts.period_costs]
    discount = {c: discount_factors(grid, c) for c in categories}
    variables = list(model.component_data_objects(Var))
    nodes, parent, name = [], None, "ROOT"
    for depth, stage in enumerate([None, *tree.spec.stages]):
        if depth == len(tree.spec.stages):
            break  # the leaves have no node of their own
        if stage is not None:
            index = list(tree.spec.stages[depth - 1].branches).index(scenario.branches[depth - 1])
            parent, name = name, f"{name}_{index}"
        node = tree.node_of(k, next(n.first_period for n in tree.nodes if n.stage == depth))
        periods = range(node.first_period, node.end_period)
        branch_probability = (tree.spec.stages[depth - 1].branches[scenario.branches[depth - 1]].probability
                              if depth else 1.0)
        cost = sum(discount[c][t] * model.cost[c, t] for c in categories for t in periods)
        nodes.append(scenario_tree.ScenarioNode(
            name, branch_probability, depth + 1, cost,
            [v for v in variables if node.first_period <= period_of(v) < node.end_period], model,
            parent_name=parent))
    model._mpisppy_node_list = nodes
    model._mpisppy_probability = scenario.probability
    return model
