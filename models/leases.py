"""Fixed-block leases (Colossus 1): one indivisible block, signed at most once, notice given at most once.

Variables, per lease ``l`` and period ``t`` (window ``a..h``: the periods fully inside available_from..end, or until
a provider's notice runs out; the end may lie after the horizon, and fees there would buy capacity after it at the
lease's own fee, so neither is counted: docs/formulation.md section 8):
  ``lease_sign[l,t]``    binary, signed at ``t`` (only where the minimum term fits before ``e``);
  ``lease_notice[l,t]``  binary, notice given at ``t``: capacity and fee stop at ``notice_end[t]``, the period
                         ``notice_months`` after ``t`` starts (only where that is before the natural end);
  ``lease_on[l,t]``      the block is held at ``t``; state: on[t] = on[t-1] + sign[t] - (notice at u with
                         notice_end[u] = t);
  ``lease_signed[l,t]``  signed at or before ``t``; state: signed[t] = signed[t-1] + sign[t], at most 1.
Minimum term: notice at ``t`` ends the block at ``notice_end[t]``, so the signing must lie at or before the last
period ``u`` whose term (``min_term_months`` on, ``term_end[u]``) is out by then: ``notice[t] <= signed[u]``.
Terms and notice are in months, mapped to periods from where they start, across segments alike.
Offer terms: no signing after ``sign_by``; no notice at all without an exit clause (``exit_allowed: false``). A
provider's notice (``provider_notice_month``, the what-if of a mutual clause) ends the window ``notice_months``
later whoever holds the block; signing still needs the minimum term before the lease's own end (the lab commits
to it; the provider's notice releases it).
A block signed before the horizon start (``held_at_start.signed``) is on at period 0 and cannot be signed again;
its minimum term counts from that month, so notice may end it no earlier than the term left, and the ramp-in
months still to come are discounted.
Fee: the full fee while on, less the ramp-in discount of the first months after signing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyomo.environ import Binary, Constraint, NonNegativeReals, Var

from models.parts import COMPUTE, MONEY, CapacitySlice, Parts, Report, plan_frame, series
from solver.schema import month_index, month_text


def lease_arrays(parts: Parts, name: str) -> dict:
    """Window, the period a signing's minimum term and a notice run out at, fee per period and the ramp-in
    discount of each signing period by period."""
    lease = parts.instance.fixed_block_leases[name]
    grid = parts.grid
    held = lease.held_at_start is not None  # signed before the horizon start: held from period 0
    first = 0 if held else grid.first_period_from(lease.available_from)
    last = grid.last_period_until(lease.end)
    held_until = last  # the last period the block may be held: the end, or the provider's notice running out
    if lease.provider_notice_month is not None:
        ended = month_index(lease.provider_notice_month) + lease.notice_months - 1  # its last month held
        held_until = min(last, grid.last_period_until(month_text(ended)))
    sign_by = (grid.last_period_starting_by(lease.sign_by) if lease.sign_by is not None else grid.n_periods)
    T = grid.n_periods
    periods = np.arange(T)
    term_end = np.array([grid.end_of_term(t, lease.min_term_months) for t in periods])  # signed at t: gone from
    notice_end = np.array([grid.after(t, lease.notice_months) for t in periods])  # noticed at t: gone from
    # The ramp-in discount of the k-th month after signing lands in the period holding that month, while held.
    monthly_discount = [lease.fee_usd_per_month * (1.0 - share) / MONEY for share in lease.ramp_in_fee_share]
    discount: list[dict[int, float]] = [{} for _ in periods]  # by signing period: period -> $M
    held_discount = np.zeros(T)
    since = grid.start_month - month_index(lease.held_at_start.signed) if held else 0
    for k, amount in enumerate(monthly_discount):
        if held:
            p = grid.period_starting_by(grid.start_month + k - since) if k >= since else T
            if p <= min(held_until, T - 1):
                held_discount[p] += amount
            continue
        for u in periods:
            p = grid.period_starting_by(grid.first_month[u] + k)
            if p < T:
                discount[u][p] = discount[u].get(p, 0.0) + amount
    # A block held at the start may be gone no earlier than its term left; one signed in the horizon, than its own.
    earliest_end = max(0, grid.period_from(grid.start_month + lease.min_term_months - since)) if held else None
    return {
        "first": first,
        "last": last,
        "term_end": term_end,
        "notice_end": notice_end,
        "fee": grid.per_period(lease.fee_usd_per_month / MONEY),
        "discount": discount,
        "can_sign": (periods >= first) & (term_end - 1 <= last) & (periods <= min(sign_by, held_until)) & (not held),
        # Notice only where the lease has an exit clause, and it ends the block before its end and in the horizon.
        "can_notice": (periods >= first) & (notice_end <= min(held_until, T - 1))
        & (notice_end >= (earliest_end if held else term_end[first] if first < T else T)) & lease.exit_allowed,
        "in_window": (periods >= first) & (periods <= held_until),
        "held_until": held_until,
        "held": held,
        "held_discount": held_discount,
    }


def add(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    names = list(inst.fixed_block_leases)
    if not names:
        return
    data = {name: lease_arrays(parts, name) for name in names}
    T = range(grid.n_periods)

    def allowed(key):
        return lambda m, name, t: (0, 1 if data[name][key][t] else 0)

    m.lease_sign = Var(names, T, domain=Binary, bounds=allowed("can_sign"))
    m.lease_notice = Var(names, T, domain=Binary, bounds=allowed("can_notice"))
    m.lease_on = Var(names, T, domain=NonNegativeReals, bounds=allowed("in_window"))
    m.lease_signed = Var(names, T, domain=NonNegativeReals, bounds=(0, 1))

    def on_state(m, name, t):
        d = data[name]
        if not d["in_window"][t]:
            return Constraint.Skip  # on is fixed to 0 by its bounds; the block ends by itself after ``last``
        previous = m.lease_on[name, t - 1] if t > d["first"] else int(d["held"])
        ended = sum(m.lease_notice[name, u] for u in range(t + 1) if d["notice_end"][u] == t)
        return m.lease_on[name, t] == previous + m.lease_sign[name, t] - ended

    def signed_state(m, name, t):
        previous = m.lease_signed[name, t - 1] if t > 0 else int(data[name]["held"])
        return m.lease_signed[name, t] == previous + m.lease_sign[name, t]

    def min_term(m, name, t):
        d = data[name]
        if not d["can_notice"][t] or d["held"]:  # signed before the start: can_notice holds the term left
            return Constraint.Skip
        # Notice at t ends the block at notice_end[t]: it must have been signed where the term is out by then.
        # And no notice before the signing (on a segmented grid a later signing can have its term out as soon).
        in_time = [u for u in range(t + 1) if d["term_end"][u] <= d["notice_end"][t]]
        return m.lease_notice[name, t] <= (m.lease_signed[name, in_time[-1]] if in_time else 0)

    m.lease_on_state = Constraint(names, T, rule=on_state)
    m.lease_signed_state = Constraint(names, T, rule=signed_state)
    m.lease_min_term = Constraint(names, T, rule=min_term)
    m.lease_one_notice = Constraint(names, rule=lambda m, name: sum(m.lease_notice[name, t] for t in T) <= 1)

    for name in names:
        spec = inst.fixed_block_leases[name]
        d = data[name]
        parts.slices.append(CapacitySlice(
            source=name, hardware=spec.hardware, pool="ground",
            mw=lambda t, name=name, size=spec.size_mw: size * m.lease_on[name, t],
            compute_per_mw=inst.hardware[spec.hardware].compute_units_per_mw / COMPUTE,
        ))

        def fee(t, name=name, d=d):
            # The ramp-in discount of months held only: the provider's notice may end the block within them.
            ramp_in = sum(d["discount"][u][t] * m.lease_sign[name, u] for u in range(t + 1)
                          if t in d["discount"][u] and t <= d["held_until"])
            return d["fee"][t] * m.lease_on[name, t] - ramp_in - d["held_discount"][t]

        parts.add_cost("leases", fee)

    def report(m) -> Report:
        frames = []
        for name in names:
            spec = inst.fixed_block_leases[name]
            on = series(m.lease_on, name, n=grid.n_periods).round(6)
            sign = series(m.lease_sign, name, n=grid.n_periods).round(6)
            notice = series(m.lease_notice, name, n=grid.n_periods).round(6)
            event = np.where(sign > 0.5, "signed", np.where(notice > 0.5, "notice", ""))
            frames.append(plan_frame(
                grid, name, "fixed_block_lease", mw_online=on * spec.size_mw,
                compute_online_units=on * spec.size_mw * inst.hardware[spec.hardware].compute_units_per_mw,
                new_units=sign, new_mw=sign * spec.size_mw, event=event,
            ))
        return Report(plan=pd.concat(frames, ignore_index=True))

    parts.reports.append(report)
