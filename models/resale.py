"""Resale of surplus (the neocloud model): MW the lab holds can be leased out at a price, up to a market cap.

Variables: ``resale_mw[i,t]`` MW of ground capacity slice ``i`` leased out at ``t``, at most the slice's MW online;
the total at most the market cap. Orbital capacity is not resold: the ground links that limit the inference it
serves limit what a tenant could use it for too. Resold MW serve no demand of the lab (the core subtracts them
from the pool's compute) and earn the resale price per compute unit-month of the slice's hardware (a tenant pays
for compute, so an H100 MW earns less than a MW of a later generation); the lab keeps paying what the capacity
costs it.
"""

from __future__ import annotations

from pyomo.environ import Constraint, NonNegativeReals, Var

from models.parts import COMPUTE, MONEY, Parts, Report, runs


def add(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    if inst.resale is None or not any(piece.pool == "ground" for piece in parts.slices):
        return
    T = range(grid.n_periods)
    slices = [i for i, piece in enumerate(parts.slices) if piece.pool == "ground"]
    cap_mw = grid.year_schedule(inst.resale.market_cap_mw)
    # $M per MW-period of each slice: its compute (model units) x the price per model compute unit
    per_unit = grid.year_schedule(inst.resale.price_usd_per_unit_month)
    price = {i: parts.slices[i].compute_per_mw * COMPUTE * grid.per_period(per_unit) / MONEY for i in slices}

    m.resale_mw = Var(slices, T, domain=NonNegativeReals, bounds=lambda m, i, t: (0, cap_mw[t]))
    m.resale_within_holding = Constraint(
        slices, T, rule=lambda m, i, t: m.resale_mw[i, t] <= parts.slices[i].mw(t))
    m.resale_market_cap = Constraint(T, rule=lambda m, t: sum(m.resale_mw[i, t] for i in slices) <= cap_mw[t])
    parts.add_cost("resale_revenue", lambda t: -sum(price[i][t] * m.resale_mw[i, t] for i in slices))

    def report(m) -> Report:
        full = [t for t in T if cap_mw[t] > 0 and sum(m.resale_mw[i, t].value for i in slices) >= cap_mw[t] - 1e-6]
        if not full:
            return Report()
        return Report(binding=[{"family": "resale market cap", "name": "resale", "periods": runs(full, grid.labels)}])

    parts.reports.append(report)
