"""The result of a solve: status, cost, and tidy tables of the plan, exportable to CSV and JSON."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyomo.environ import value

from models.demand import demand_units
from models.parts import COMPUTE, MONEY, PLAN_COLUMNS, POOLS, WORKLOADS, Parts, discount_factors

STATUSES = {
    "optimal": "optimal within the requested gap",
    "time_limit": "stopped at the time (or iteration) limit: the best plan found, with its gap",
    "time_limit_no_solution": "stopped at the time (or iteration) limit before any plan was found",
    "infeasible": "no plan satisfies the constraints",
    "unbounded": "the cost can fall without limit",
    "infeasible_or_unbounded": "infeasible or unbounded (HiGHS could not tell which)",
    "suspect": "a plan was found but it fails the audit or violates constraints: do not trust it",
    "error": "the solver failed",
}

TABLES = ("plan", "costs", "demand", "binding", "conflicts")
UNMET_SHOWN = 5e-4  # shares of demand not met below this are rounding, not a shortfall worth a line
# The cost categories (models/parts.py: COST_CATEGORIES) in words, for what a person reads.
CATEGORY_WORDS = {
    "contracts": "hyperscaler contracts",
    "leases": "fixed-block leases",
    "build_facility": "own builds: facilities",
    "build_gpus": "own builds: GPUs",
    "build_other_it": "own builds: other IT",
    "build_refresh": "own builds: GPU refresh",
    "energy": "energy",
    "opex": "operations",
    "programme": "one-off programme and site costs",
    "launch": "launches (per kg)",
    "launch_flights": "launches (per flight)",
    "satellite_hardware": "satellites: hardware",
    "satellite_gpus": "satellites: GPUs",
    "satellite_ops": "satellites: operations",
    "unmet_demand": "demand not met (lost revenue)",
    "resale_revenue": "resale revenue",
    "take_or_pay_after_horizon": "take-or-pay owed after the horizon",
    "salvage": "value left at the horizon end",
}


@dataclass
class Result:
    """Outcome of one solve. Tables are empty when there is no plan (see ``status``)."""

    instance_name: str
    status: str
    message: str = ""
    objective_usd: float | None = None
    bound_usd: float | None = None
    gap: float | None = None
    times_s: dict[str, float] = field(default_factory=dict)
    model_size: dict[str, int] = field(default_factory=dict)
    audit: dict[str, float] = field(default_factory=dict)
    compute_unit: str = "compute units"
    plan: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    demand: pd.DataFrame = field(default_factory=pd.DataFrame)
    binding: pd.DataFrame = field(default_factory=pd.DataFrame)
    conflicts: pd.DataFrame = field(default_factory=pd.DataFrame)  # why there is no plan (infeasible only)

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "time_limit", "suspect") and self.objective_usd is not None

    def summary(self) -> dict[str, Any]:
        """The scalar facts of the solve, JSON-ready."""
        return {
            "instance": self.instance_name,
            "status": self.status,
            "status_meaning": STATUSES.get(self.status, ""),
            "message": self.message,
            "net_present_cost_usd": self.objective_usd,
            "bound_usd": self.bound_usd,
            "gap": self.gap,
            "times_s": self.times_s,
            "model_size": self.model_size,
            "audit": self.audit,
            "compute_unit": self.compute_unit,
        }

    def to_json(self, path: str | Path) -> None:
        """One JSON file: the summary and every table as a list of records."""
        doc = self.summary() | {name: getattr(self, name).to_dict(orient="records") for name in TABLES}
        write_atomic(Path(path), json.dumps(doc, indent=2, default=_json_default, allow_nan=False))

    def to_csv(self, directory: str | Path) -> None:
        """One CSV per table and ``summary.json`` in ``directory``; ``conflicts.csv`` only when there is no plan
        (one left by an earlier run in the same folder is removed, so it never describes another result)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            if name == "conflicts" and self.has_plan:
                (directory / "conflicts.csv").unlink(missing_ok=True)
                continue
            write_atomic(directory / f"{name}.csv", getattr(self, name).to_csv(index=False))
        write_atomic(directory / "summary.json",
                      json.dumps(self.summary(), indent=2, default=_json_default, allow_nan=False))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def write_atomic(path: Path, text: str) -> None:
    """Write then rename, so a crash never leaves a half-written file that looks complete."""
    replace_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def replace_atomic(path: Path, render: Callable[[Path], None]) -> None:
    """Let ``render`` write a temporary file beside ``path`` (same suffix, so a renderer knows the format), put it
    on disk, then rename it to ``path``. For figures too: some renderers only take a path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        render(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # on disk before the rename: a power cut leaves the old file, not an empty one
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_usd(amount: float) -> str:
    """Money for a sentence: $1.23B, $0.4M, $37,000."""
    size = abs(amount)
    return f"${amount / 1e9:,.2f}B" if size >= 1e9 else f"${amount / 1e6:,.1f}M" if size >= 1e5 \
        else f"${amount:,.0f}"


def result_words(result: Result) -> str:
    """A solve in a few words, for a line as it ends: cost, status, gap, time."""
    if not result.has_plan:
        return f"no plan ({result.status}), {result.times_s.get('solve', 0):,.0f} s"
    gap = f", gap {result.gap:.1e}" if result.gap is not None else ""
    return f"{format_usd(result.objective_usd)} ({result.status}{gap}), {result.times_s.get('solve', 0):,.0f} s"


def readable_table(table: pd.DataFrame) -> str:
    """A table as text for a person: money as $B/$M (columns named ``*_usd``, or the rows of a ``measure`` column
    named so), other decimals to 6 significant digits; names and counts as they are."""
    money_rows = (table["measure"].astype(str).str.endswith("_usd") if "measure" in table
                  else pd.Series(False, index=table.index))
    shown = table.astype(object)
    for column in table.columns:
        if not pd.api.types.is_float_dtype(table[column]):
            continue
        money = money_rows | column.endswith("_usd")
        shown[column] = ["" if pd.isna(v) else format_usd(v) if is_money else f"{v:,.6g}"
                         for v, is_money in zip(table[column], money, strict=True)]
    return shown.to_string(index=False)


def extract_tables(m, parts: Parts) -> dict[str, pd.DataFrame]:
    """Tidy tables of a solved model: plan (period x source), costs (year x category), demand, binding."""
    grid, inst = parts.grid, parts.instance
    reports = [report(m) for report in parts.reports]
    frames = [r.plan for r in reports if r.plan is not None]
    plan = (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=["period", "months", "year", "source", "kind", *PLAN_COLUMNS]))
    if hasattr(m, "resale_mw"):
        for i in sorted({i for i, _ in m.resale_mw}):
            piece = parts.slices[i]
            resold = np.array([value(m.resale_mw[i, t]) for t in range(grid.n_periods)])
            rows = plan.index[plan["source"] == piece.source]
            plan.loc[rows, "mw_resold"] = (plan.loc[rows, "mw_resold"].to_numpy() + resold).round(6) + 0.0
    binding = pd.DataFrame([b for r in reports for b in r.binding], columns=["family", "name", "periods"])

    rows = []
    for (category, t), expr in m.cost.items():
        rows.append({"year": int(grid.year[t]), "category": category, "nominal_usd": value(expr) * MONEY,
                     "discounted_usd": value(expr) * MONEY * discount_factors(grid, category)[t]})
    # Costs at the horizon end go in the last year: those of the objective, and those modules report apart
    # because they cancel there (take-or-pay after the horizon and the value of what it buys).
    at_end = [(c, value(expr)) for c, expr in m.end_cost.items()]
    at_end += [item for r in reports for item in r.end_costs.items()]
    for category, amount in at_end:
        if amount:
            rows.append({"year": int(grid.year[-1]), "category": category, "nominal_usd": amount * MONEY,
                         "discounted_usd": amount * MONEY * grid.discount_end})
    costs = pd.DataFrame(rows).groupby(["year", "category"], as_index=False, sort=False).sum()

    demand = demand_units(inst, grid)
    served_columns = {}
    for p in POOLS:
        for w in WORKLOADS:
            served_columns[(p, w)] = (np.array([value(m.served[p, w, t]) * COMPUTE for t in range(grid.n_periods)])
                                      if (p, w, 0) in m.served else np.zeros(grid.n_periods))
    demand_rows = []
    for w in WORKLOADS:
        for t in range(grid.n_periods):
            demand_rows.append({
                "period": grid.labels[t], "months": int(grid.months[t]), "year": int(grid.year[t]), "workload": w,
                "demand_units": demand[w][t],
                "served_ground_units": served_columns[("ground", w)][t],
                "served_orbit_units": served_columns[("orbit", w)][t],
                "unmet_units": value(m.unmet[w, t]) * COMPUTE,
            })
    demand_table = pd.DataFrame(demand_rows)
    numeric = demand_table.select_dtypes("number").columns.drop(["year", "months"])
    demand_table[numeric] = demand_table[numeric].round(3) + 0.0
    return {"plan": plan, "costs": costs, "demand": demand_table, "binding": binding}


def format_summary(result: Result) -> str:
    """A readable account of a result: cost, the plan by source and year, what binds."""
    lines = [f"== {result.instance_name}: {result.status} ({STATUSES.get(result.status, '')})"]
    if result.message:
        lines.append(f"   {result.message}")
    if not result.has_plan:
        if not result.conflicts.empty:
            lines.append("What would have to give (each limit relaxed alone; slack minimised):")
            for family, rows in result.conflicts.groupby("family", sort=False):
                shown = rows.nlargest(5, "slack_per_period")
                lines += [f"  {family}: {text}" for text in shown["text"]]
                if len(rows) > len(shown):
                    lines.append(f"  {family}: ... and {len(rows) - len(shown)} more")
        return "\n".join(lines)
    cost = f"Net present cost: ${result.objective_usd / 1e9:,.2f}B"
    if result.gap is not None:
        cost += f"  (gap {result.gap:.2e}, bound ${result.bound_usd / 1e9:,.2f}B)"
    lines.append(cost)
    if result.audit:
        lines.append(f"Cost audit: recomputed ${result.audit['recomputed_usd'] / 1e9:,.2f}B, "
                     f"relative difference {result.audit['relative_difference']:.1e}")
    times = ", ".join(f"{k} {v:.2f}s" for k, v in result.times_s.items())
    size = result.model_size
    lines.append(f"Model: {size.get('variables', 0)} variables ({size.get('integers', 0)} integer), "
                 f"{size.get('constraints', 0)} constraints; {times}")

    lines.append("\nCost by category ($B, discounted):")
    by_cat = result.costs.groupby("category", sort=False)["discounted_usd"].sum() / 1e9
    shown = by_cat[by_cat.abs() > 5e-4]
    words = {c: CATEGORY_WORDS.get(c, c) for c in shown.index}
    width = max([20, *(len(w) + 2 for w in words.values())])
    for category, amount in shown.items():
        lines.append(f"  {words[category]:<{width}}{amount:>10,.2f}")
    if shown.empty:
        lines.append("  none: the plan costs nothing")

    if result.plan.empty:
        lines.append("\nThe instance has no capacity sources: the plan holds nothing.")
    else:
        lines += _mw_by_year(result.plan, result.demand, result.compute_unit)

    events = result.plan[(result.plan["event"] != "")]
    for _, row in events.iterrows():
        lines.append(f"  {row['source']}: {row['event']} in {row['period']}")

    d = result.demand
    # Unit-months: a year may hold periods of different lengths.
    unmet = d[["unmet_units", "demand_units"]].mul(d["months"], axis=0).groupby([d["year"], d["workload"]]).sum()
    short = unmet[unmet["unmet_units"] > UNMET_SHOWN * unmet["demand_units"]]
    if not short.empty:
        lines.append(f"\nDemand not met (share of the year's {result.compute_unit}-months):")
        for (year, workload), row in short.iterrows():
            lines.append(f"  {year} {workload:<10} {row['unmet_units'] / row['demand_units']:.1%}")

    if not result.binding.empty:
        lines.append("\nWhat binds:")
        for _, row in result.binding.iterrows():
            lines.append(f"  {row['family']} ({row['name']}): {shorter_runs(row['periods'])}")
    return "\n".join(lines)


def shorter_runs(periods: str, shown: int = 3) -> str:
    """A list of runs of periods (``2026-01..2026-06, 2026-09, ...``) cut to its first ``shown`` runs and a count of
    the rest, for a line a person reads (binding.csv keeps the whole list)."""
    runs = [run.strip() for run in str(periods).split(",")]
    if len(runs) <= shown + 1:
        return str(periods)
    return ", ".join(runs[:shown]) + f" and {len(runs) - shown} more runs to {runs[-1].split('..')[-1]}"


def _mw_by_year(plan: pd.DataFrame, demand: pd.DataFrame, unit: str) -> list[str]:
    """Peak MW online of each source in each year (as the report shows them), the peak of their total, and the
    compute online against demand in each year's busiest month."""
    lines = ["\nPeak MW online in each year, by source (peak MW resold in brackets):"]
    pivot = plan.pivot_table(index="source", columns="year", values="mw_online", aggfunc="max", sort=False)
    resold = plan.pivot_table(index="source", columns="year", values="mw_resold", aggfunc="max", sort=False)
    per_period = plan.groupby(["year", "period"])[["mw_online", "compute_online_units"]].sum()
    total = per_period["mw_online"].groupby("year").max()
    years = list(pivot.columns)
    cells = {source: [f"{pivot.loc[source, y]:,.0f}" + (f" [{resold.loc[source, y]:,.0f}]"
                                                        if resold.loc[source, y] > 0.5 else "") for y in years]
             for source in pivot.index}
    cells["total (peak month)"] = [f"{total[y]:,.0f}" for y in years]
    wanted = demand.groupby(["year", "period"])["demand_units"].sum()
    busiest = wanted.groupby("year").idxmax()
    online = per_period["compute_online_units"]
    cells[f"compute, M {unit}"] = [f"{online.get(busiest[y], 0.0) / 1e6:,.2f}" for y in years]
    cells[f"demand, M {unit}"] = [f"{wanted[busiest[y]] / 1e6:,.2f}" for y in years]
    width = max([len(str(y)) for y in years] + [len(c) for row in cells.values() for c in row]) + 2
    name_width = max([len("source")] + [len(s) for s in cells]) + 2
    lines.append("  " + "source".ljust(name_width) + "".join(str(y).rjust(width) for y in years))
    for source, row in cells.items():
        lines.append("  " + source.ljust(name_width) + "".join(c.rjust(width) for c in row))
    lines.append(f"  (compute and demand in each year's month of highest demand; {unit} before resale)")
    return lines
