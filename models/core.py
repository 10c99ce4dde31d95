"""Composition of the planning model: source modules, then the shared demand balance, budget and objective.

Shared variables, per pool ``p`` (``ground``, ``orbit``), workload ``w`` and period ``t``:
  ``served[p,w,t]``  compute (model units) of pool ``p`` serving workload ``w``;
  ``unmet[w,t]``     demand not served, charged its lost revenue; at most ``max_unmet_share`` of the demand.
Constraints:
  ``demand_balance[w,t]``      sum_p served[p,w,t] + unmet[w,t] == demand[w,t];
  ``pool_capacity[p,t]``       sum_w served[p,w,t] <= sum over the pool's slices of compute_per_mw x (MW - resold);
  ``orbit_inference_share[t]`` served[orbit,inference,t] <= max_inference_share x demand[inference,t];
  ``capital_budget[y]``        capital spent in calendar year y <= budget (if given).
Objective: the net present cost, sum_c sum_t discount[c,t] x cost[c,t] + discount_end x (end costs), where
discount[c,t] is the mean of period t's monthly factors for costs paid month by month and its first month's for
lump sums, and the end costs are valued at the horizon end (salvage: the value left, negative).
"""

from __future__ import annotations

from pyomo.environ import (
    ConcreteModel,
    Constraint,
    Expression,
    NonNegativeReals,
    Objective,
    Var,
    minimize,
)

from models import builds, contracts, leases, orbital, resale
from models.demand import demand_units
from models.parts import (
    COMPUTE,
    COST_CATEGORIES,
    MONEY,
    POOLS,
    WORKLOADS,
    Parts,
    Report,
    discount_factors,
    runs,
)
from solver.schema import Instance
from solver.timegrid import TimeGrid

# Each capacity-source module adds its variables and constraints and registers its terms in ``Parts``.
# Resale comes after the sources, as it leases out their MW.
SOURCE_MODULES = (contracts, leases, builds, orbital)


def build_model(instance: Instance) -> tuple[ConcreteModel, Parts]:
    """The Pyomo MILP of ``instance`` and the parts the modules registered (for reports)."""
    grid = TimeGrid(instance.horizon)
    parts = Parts(instance=instance, grid=grid)
    m = ConcreteModel(name=instance.name)
    for module in SOURCE_MODULES:
        module.add(m, parts)
    resale.add(m, parts)
    add_demand_balance(m, parts)
    add_capital_budget(m, parts)
    add_objective(m, parts)
    return m, parts


def add_demand_balance(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    T = range(grid.n_periods)
    demand = {w: d / COMPUTE for w, d in demand_units(inst, grid).items()}
    pools = [p for p in POOLS if any(s.pool == p for s in parts.slices)]

    m.served = Var(pools, WORKLOADS, T, domain=NonNegativeReals)
    max_unmet = {w: getattr(inst.demand, w).max_unmet_share * demand[w] for w in WORKLOADS}
    m.unmet = Var(WORKLOADS, T, domain=NonNegativeReals, bounds=lambda m, w, t: (0, max_unmet[w][t]))

    m.demand_balance = Constraint(WORKLOADS, T, rule=lambda m, w, t: sum(m.served[p, w, t] for p in pools)
                                  + m.unmet[w, t] == demand[w][t])

    def usable_mw(i, t):
        resold = m.resale_mw[i, t] if hasattr(m, "resale_mw") and (i, t) in m.resale_mw else 0
        return parts.slices[i].mw(t) - resold

    def pool_capacity(m, p, t):
        compute = sum(s.compute_per_mw * usable_mw(i, t) for i, s in enumerate(parts.slices) if s.pool == p)
        return sum(m.served[p, w, t] for w in WORKLOADS) <= compute

    m.pool_capacity = Constraint(pools, T, rule=pool_capacity)
    if "orbit" in pools:
        share = inst.orbital.max_inference_share
        m.orbit_inference_share = Constraint(
            T, rule=lambda m, t: m.served["orbit", "inference", t] <= share * demand["inference"][t])

    for w in WORKLOADS:
        penalty = grid.per_period(getattr(inst.demand, w).unmet_penalty_usd_per_unit_month * COMPUTE / MONEY)
        parts.add_cost("unmet_demand", lambda t, w=w, penalty=penalty: penalty[t] * m.unmet[w, t])

    def report(m) -> Report:
        binding = []
        for w in WORKLOADS:
            short = [t for t in T if m.unmet[w, t].value > 1e-6]
            if short:
                binding.append({"family": "unmet demand", "name": w, "periods": runs(short, grid.labels)})
        if "orbit" in pools:
            full = [t for t in T if demand["inference"][t] * share > 1e-9
                    and m.served["orbit", "inference", t].value >= share * demand["inference"][t] - 1e-6]
            if full:
                binding.append({"family": "orbital inference share", "name": "orbit",
                                "periods": runs(full, grid.labels)})
        return Report(binding=binding)

    parts.reports.append(report)


def add_capital_budget(m, parts: Parts) -> None:
    budget = parts.instance.capital_budget_usd_per_year
    if budget is None or not parts.capital_spend:
        return
    grid = parts.grid
    budget_by_period = grid.year_schedule(budget) / MONEY

    def capital_budget(m, year):
        in_year = [t for t in range(grid.n_periods) if grid.year[t] == year]
        spend = sum(term(t) for term in parts.capital_spend for t in in_year)
        if isinstance(spend, (int, float)):
            return Constraint.Skip
        return spend <= budget_by_period[in_year[0]]

    m.capital_budget = Constraint(grid.years, rule=capital_budget)


def add_objective(m, parts: Parts) -> None:
    grid = parts.grid
    T = range(grid.n_periods)
    categories = [c for c in COST_CATEGORIES if c in parts.period_costs]
    # Nominal cost per category and period, in model money units.
    m.cost = Expression(categories, T, rule=lambda m, c, t: sum(term(t) for term in parts.period_costs[c]))
    ends = [c for c in COST_CATEGORIES if c in parts.end_costs]
    m.end_cost = Expression(ends, rule=lambda m, c: sum(parts.end_costs[c]))
    discount = {c: discount_factors(grid, c) for c in categories}
    m.net_present_cost = Objective(
        expr=sum(discount[c][t] * m.cost[c, t] for c in categories for t in T)
        + grid.discount_end * sum(m.end_cost[c] for c in ends),
        sense=minimize,
    )
