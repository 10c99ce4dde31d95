"""Hyperscaler contracts (Amazon, Google): blocks committed against a provider ramp, take-or-pay for a term.

Variables, per contract ``c`` and period ``t``:
  ``contract_commit[c,t]``  integer blocks newly committed at ``t`` (held for ``term`` periods);
  ``contract_active[c,t]``  blocks held at ``t``; state: active[t] = active[t-1] + commit[t] - commit[t-term].
The provider ramp caps the MW held: ``block_mw * active[t] <= ramp_mw[t]``, written as the bound
``active[t] <= floor(ramp_mw[t] / block_mw)``, exact because active is integral through its state equation.
A block is paid for every period of its term (take-or-pay); payments falling after the horizon end are not
charged, as the capacity they buy lies after it too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyomo.environ import Constraint, NonNegativeIntegers, NonNegativeReals, Var

from models.parts import COMPUTE, MONEY, CapacitySlice, Parts, Report, plan_frame, runs, series


def contract_arrays(parts: Parts, name: str) -> dict:
    """Per-period data of one contract: blocks the ramp allows, term in periods, price per block-period ($M)."""
    c = parts.instance.hyperscaler_contracts[name]
    grid = parts.grid
    ramp = grid.month_series(c.ramp_mw)
    return {
        "max_blocks": np.floor(ramp / c.block_mw + 1e-9),
        "term": max(1, grid.periods_for_months(c.min_term_months)),
        "block_cost": c.price_usd_per_mw_month * c.block_mw * grid.months_per_period / MONEY,
    }


def add(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    names = list(inst.hyperscaler_contracts)
    if not names:
        return
    data = {c: contract_arrays(parts, c) for c in names}
    T = range(grid.n_periods)

    m.contract_commit = Var(names, T, domain=NonNegativeIntegers,
                            bounds=lambda m, c, t: (0, data[c]["max_blocks"][t]))
    m.contract_active = Var(names, T, domain=NonNegativeReals,
                            bounds=lambda m, c, t: (0, data[c]["max_blocks"][t]))

    def active_state(m, c, t):
        term = data[c]["term"]
        previous = m.contract_active[c, t - 1] if t > 0 else 0
        expiring = m.contract_commit[c, t - term] if t >= term else 0
        return m.contract_active[c, t] == previous + m.contract_commit[c, t] - expiring

    m.contract_active_state = Constraint(names, T, rule=active_state)

    for c in names:
        spec = inst.hyperscaler_contracts[c]
        parts.slices.append(CapacitySlice(
            source=c, pool="ground",
            mw=lambda t, c=c, b=spec.block_mw: b * m.contract_active[c, t],
            compute_per_mw=inst.hardware[spec.hardware].compute_units_per_mw / COMPUTE,
        ))
        parts.add_cost("contracts", lambda t, c=c: data[c]["block_cost"] * m.contract_active[c, t])

    def report(m) -> Report:
        frames, binding = [], []
        for c in names:
            spec = inst.hyperscaler_contracts[c]
            active = series(m.contract_active, c, n=grid.n_periods).round(6)
            commit = series(m.contract_commit, c, n=grid.n_periods).round(6)
            mw = active * spec.block_mw
            frames.append(plan_frame(
                grid, c, "hyperscaler_contract", mw_online=mw,
                compute_online_units=mw * inst.hardware[spec.hardware].compute_units_per_mw,
                new_units=commit, new_mw=commit * spec.block_mw,
            ))
            full = [t for t in T if data[c]["max_blocks"][t] > 0 and active[t] >= data[c]["max_blocks"][t] - 1e-6]
            if full:
                binding.append({"family": "contract ramp", "name": c, "periods": runs(full, grid.labels)})
        return Report(plan=pd.concat(frames, ignore_index=True), binding=binding)

    parts.reports.append(report)
