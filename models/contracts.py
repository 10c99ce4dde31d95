"""Hyperscaler contracts (Amazon, Google): blocks committed against a provider ramp, take-or-pay for a minimum term.

Variables, per contract ``c`` and period ``t``:
  ``contract_active[c,t]``  integer blocks held at ``t``;
  ``contract_commit[c,t]``  blocks newly committed at ``t`` (continuous: see below).
A committed block is held until the lab releases it, no earlier than its minimum term (in months, from the
period it is committed in to the period it runs out at):
  ``contract_min_term[c,t]``  active[t] >= the sum of commit[u] over u <= t still in their term at t;
  ``contract_new_blocks[c,t]`` commit[t] >= active[t] - active[t-1] (a block held more is a block committed).
Blocks are alike, so the oldest is released first. Commit need not be integral: any commit that meets these rows
can be lowered to the blocks newly held, max(0, active[t] - active[t-1]), which is integral and meets them too;
the plan reports those. So only the holding branches, and releasing then recommitting a block (the same plan)
is not a second integer answer. A contract has no notice: in a plan known in advance notice only moves the
date a release is announced.
Blocks held at the start (``held_at_start``) are the holding before period 0, bound for the months of term they
have left, and paid while held like any block (their payments are obligations still running, not sunk).
The provider ramp caps the MW held: ``active[t] <= floor(ramp_mw[t] / block_mw)``.
Each block held is paid each period (take-or-pay). Blocks whose minimum term runs past the horizon end still owe
those payments; what they buy after the horizon is valued by the end-of-horizon rule at what the same service
costs new then, the contract's own price, so the two cancel: the objective carries neither, and the plan's cost
table shows both (``take_or_pay_after_horizon`` and its ``salvage``, from :func:`payments_after_horizon`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyomo.environ import Constraint, NonNegativeIntegers, NonNegativeReals, Var

from models.parts import COMPUTE, MONEY, CapacitySlice, Parts, Report, plan_frame, runs, series


def contract_arrays(parts: Parts, name: str) -> dict:
    """Per-period data of one contract: blocks the ramp allows, the period each commitment's minimum term runs
    out at, price per block-period ($M)."""
    c = parts.instance.hyperscaler_contracts[name]
    grid = parts.grid
    ramp = grid.month_series(c.ramp_mw)
    held = c.held_at_start
    return {
        "max_blocks": np.floor(ramp / c.block_mw + 1e-9),
        "bound_until": np.array([grid.end_of_term(u, c.min_term_months) for u in range(grid.n_periods)]),
        "block_cost": grid.per_period(c.price_usd_per_mw_month * c.block_mw / MONEY),
        "initial": held.blocks if held else 0,  # blocks held at the start, and the period their term runs out at
        "initial_until": max(0, grid.period_from(grid.start_month + held.term_left_months)) if held else 0,
    }


def newly_held(active: np.ndarray, initial: float = 0.0) -> np.ndarray:
    """Blocks newly committed in each period of a holding that starts from ``initial`` blocks (the oldest block is
    released first)."""
    return np.maximum(0.0, np.diff(active, prepend=initial))


def payments_after_horizon(parts: Parts, name: str, commit: np.ndarray) -> float:
    """Take-or-pay still owed at the horizon end by blocks committed at ``commit`` (blocks per period) whose minimum
    term runs past it, in $M valued at the horizon end (each month's payment at its start)."""
    grid, d = parts.grid, contract_arrays(parts, name)
    c = parts.instance.hyperscaler_contracts[name]
    monthly = c.price_usd_per_mw_month * c.block_mw / MONEY
    rate = parts.instance.horizon.discount_rate_per_year
    owed = 0.0
    committed = [(d["bound_until"][u], commit[u]) for u in np.flatnonzero(commit > 1e-9)]
    if d["initial"]:
        committed.append((d["initial_until"], d["initial"]))
    for until, blocks in committed:
        months_left = grid.boundary(int(until)) - grid.end_month
        if months_left > 0:
            owed += blocks * monthly * float(((1 + rate) ** -(np.arange(months_left) / 12)).sum())
    return owed


def add(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    names = list(inst.hyperscaler_contracts)
    if not names:
        return
    data = {c: contract_arrays(parts, c) for c in names}
    T = range(grid.n_periods)

    m.contract_active = Var(names, T, domain=NonNegativeIntegers,
                            bounds=lambda m, c, t: (0, data[c]["max_blocks"][t]))
    m.contract_commit = Var(names, T, domain=NonNegativeReals,
                            bounds=lambda m, c, t: (0, data[c]["max_blocks"][t]))

    def min_term(m, c, t):
        in_term = [u for u in range(t + 1) if data[c]["bound_until"][u] > t]
        still_bound = data[c]["initial"] if t < data[c]["initial_until"] else 0  # blocks held at the start
        return m.contract_active[c, t] >= sum(m.contract_commit[c, u] for u in in_term) + still_bound

    def new_blocks(m, c, t):
        previous = m.contract_active[c, t - 1] if t > 0 else data[c]["initial"]
        return m.contract_commit[c, t] >= m.contract_active[c, t] - previous

    m.contract_min_term = Constraint(names, T, rule=min_term)
    m.contract_new_blocks = Constraint(names, T, rule=new_blocks)

    for c in names:
        spec = inst.hyperscaler_contracts[c]
        parts.slices.append(CapacitySlice(
            source=c, hardware=spec.hardware, pool="ground",
            mw=lambda t, c=c, b=spec.block_mw: b * m.contract_active[c, t],
            compute_per_mw=inst.hardware[spec.hardware].compute_units_per_mw / COMPUTE,
        ))
        parts.add_cost("contracts", lambda t, c=c: data[c]["block_cost"][t] * m.contract_active[c, t])

    def report(m) -> Report:
        frames, binding = [], []
        owed = 0.0
        for c in names:
            spec = inst.hyperscaler_contracts[c]
            active = series(m.contract_active, c, n=grid.n_periods).round(6)
            commit = newly_held(active, data[c]["initial"])
            owed += payments_after_horizon(parts, c, commit)
            mw = active * spec.block_mw
            frames.append(plan_frame(
                grid, c, "hyperscaler_contract", mw_online=mw,
                compute_online_units=mw * inst.hardware[spec.hardware].compute_units_per_mw,
                new_units=commit, new_mw=commit * spec.block_mw,
            ))
            full = [t for t in T if data[c]["max_blocks"][t] > 0 and active[t] >= data[c]["max_blocks"][t] - 1e-6]
            if full:
                binding.append({"family": "contract ramp", "name": c, "periods": runs(full, grid.labels)})
        return Report(plan=pd.concat(frames, ignore_index=True), binding=binding,
                      end_costs={"take_or_pay_after_horizon": owed, "salvage": -owed} if owed else {})

    parts.reports.append(report)
