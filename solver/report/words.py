"""The plan in plain sentences, and how far its cost may be from the optimum."""

from __future__ import annotations

import math

import pandas as pd

from solver.report.pieces import _e
from solver.results import STATUSES, UNMET_SHOWN, Result, format_usd, shorter_runs
from solver.sweep import IN_PLAN_MW

KIND_NAMES = {"hyperscaler_contract": "Hyperscaler contracts", "fixed_block_lease": "Fixed-block leases",
              "own_build": "Own terrestrial builds", "orbital": "Orbital compute"}

def _add_months(period: str, months: int) -> str:
    year, month = divmod(int(period[:4]) * 12 + int(period[5:7]) - 1 + months, 12)
    return f"{year:04d}-{month + 1:02d}"

def _lease_ends(online: pd.Series) -> list[tuple[str, str]]:
    """(period, "held through YYYY-MM") for each time a lease's block goes offline within the horizon: the end of
    the notice period after a notice, or of the lease's window."""
    held = (online > IN_PLAN_MW).to_numpy()
    periods = list(online.index)
    return [(periods[i + 1], f"held through {_add_months(periods[i + 1], -1)}")
            for i in range(len(held) - 1) if held[i] and not held[i + 1]]

def plan_in_words(result: Result) -> list[str]:
    """Plain sentences: the cost, each kind of source (when it enters, its peak, lease events), resale, demand not
    met and what binds."""
    if not result.has_plan:
        return [f"No plan: the solve ended {result.status} ({STATUSES.get(result.status, '')})."
                + (f" {result.message}" if result.message else "")]
    plan, demand, unit = result.plan, result.demand, result.compute_unit
    periods = sorted(demand["period"].unique())  # the plan has no rows when the instance has no sources
    last_months = int(demand.loc[demand["period"] == periods[-1], "months"].iloc[0])
    total_demand = demand.groupby("period")["demand_units"].sum()
    held = plan.groupby("period")["mw_online"].sum()
    # The horizon ends with the last month of the last period, not at that period's start.
    lines = [f"Meeting demand that grows from {total_demand.iloc[0]:,.0f} to {total_demand.iloc[-1]:,.0f} {unit} "
             f"between {periods[0]} and {_add_months(periods[-1], last_months - 1)} costs a net present "
             f"${result.objective_usd / 1e9:,.2f}B: {_status_words(result)}. "
             + ("The instance has no capacity sources." if plan.empty else
                f"Capacity held peaks at {held.max():,.0f} MW in {held.idxmax()}." if held.max() > IN_PLAN_MW else
                "No capacity is held.")]
    unused = []
    for kind, group in plan.groupby("kind", sort=False):
        phrases = []
        for source, rows in group.groupby("source", sort=False):
            rows = rows.set_index("period")
            online = rows["mw_online"]
            if online.max() <= IN_PLAN_MW:
                unused.append(source)
                continue
            first = online[online > IN_PLAN_MW].index[0]
            phrase = (f"{source} from {first}, peak {online.max():,.0f} MW in {online.idxmax()}, "
                      f"{online.iloc[-1]:,.0f} MW at the end")
            events = [(period, f"{event} {period}") for period, event in rows["event"].items() if event]
            if kind == "fixed_block_lease":
                events = sorted(events + _lease_ends(online))
            events = [text for _, text in events]
            if events:
                phrase += " (" + ", ".join(events) + ")"
            phrases.append(phrase)
        if phrases:
            lines.append(f"{KIND_NAMES.get(kind, kind)}: " + "; ".join(phrases) + ".")
    if unused:
        lines.append("Not used: " + ", ".join(unused) + ".")
    resold_mw_months = float((plan["mw_resold"] * plan["months"]).sum())
    if resold_mw_months > 0.5:
        revenue = -float(result.costs.loc[result.costs["category"] == "resale_revenue", "discounted_usd"].sum())
        peak_resold_mw = float(plan.groupby("period")["mw_resold"].sum().max())
        lines.append(f"Surplus resold: {resold_mw_months:,.0f} MW-months, peak {peak_resold_mw:,.0f} MW, for "
                     f"${revenue / 1e9:,.2f}B of revenue (discounted).")
    unit_months = demand[["unmet_units", "demand_units"]].mul(demand["months"], axis=0)  # periods weigh their months
    shares = unit_months.groupby([demand["year"], demand["workload"]]).sum()
    shares = shares["unmet_units"] / shares["demand_units"].where(shares["demand_units"] > 0)
    short = shares[shares > UNMET_SHOWN]
    if short.empty:
        lines.append("All demand is met in every period.")
    else:
        lines.append(f"Demand not met (share of the year's {unit}-months): "
                     + ", ".join(f"{year} {workload} {share:.1%}" for (year, workload), share in short.items())
                     + ". Each unmet unit is charged its lost revenue.")
    if not result.binding.empty:
        lines.append("What binds: " + "; ".join(f"{row.family} ({row.name}) in {shorter_runs(row.periods)}"
                                                for row in result.binding.itertuples()) + ".")
    return lines

def _status_words(result: Result) -> str:
    """How far the plan's cost may be from the optimum: proven within the gap, or not proven at all."""
    above = (result.objective_usd - result.bound_usd
             if result.objective_usd is not None and result.bound_usd is not None else None)
    if result.status == "time_limit":
        if above is None:
            return "best plan found when stopped at the time limit; not proven optimal, distance to the optimum unknown"
        return (f"best plan found when stopped at the time limit; up to {format_usd(max(above, 0.0))} above the "
                f"optimum (bound {format_usd(result.bound_usd)})")
    if result.status == "suspect":
        return "the audit failed: do not trust these numbers"
    words = "proven optimal" if result.status == "optimal" else result.status.replace("_", " ")
    if result.gap is not None:
        words = f"optimal within a gap of {result.gap:.1e}"
        if above is not None:
            words += f" (up to {format_usd(max(above, 0.0))} above the optimum)"
    return words

def _suspect_warning(result: Result) -> str:
    """The warning a plan that failed its audit carries wherever its numbers are shown (as marginal.py's note)."""
    if result.status != "suspect":
        return ""
    why = result.message or STATUSES["suspect"]
    if result.audit:
        why += (f" (the audit recomputed ${result.audit.get('recomputed_usd', math.nan):,.0f}, a relative difference "
                f"of {result.audit.get('relative_difference', math.nan):.1e})")
    return (f'<p class="warning"><strong>Warning: the audit failed: do not trust these numbers.</strong> '
            f"{_e(why)}</p>")
