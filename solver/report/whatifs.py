"""The sections of the report about what-ifs: marginal values (the plan fixed, and one more unit of each limit
with the plan free), tornado, break-even and sweeps; each checked to be of this plan, flagged where it is not."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from solver import plots
from solver.marginal import compute_by_year
from solver.report.pieces import _e, _flag, _missing, _table
from solver.report.reading import SCALED, ReportError, _find, _load_marginal, _outside, _path, _places, _walk
from solver.report.sections import Builder
from solver.results import format_usd
from solver.schema import Horizon
from solver.timegrid import grid_text


class WhatIfBuilder(Builder):
    """The plan's sections and the what-if sections: the builder :func:`solver.report.write_report` uses."""

    def marginal(self) -> str:
        folder = _find(self.dir, "marginal")
        if folder is None or not (folder / "marginal.json").is_file():
            return _missing("Not computed. Run dcopt marginal INSTANCE --out RESULT_DIR/marginal and make the report "
                            "again.")
        self.used.append(str(folder))
        try:
            values = _load_marginal(folder)
        except (OSError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReportError(f"{folder}: cannot read the marginal values: {exc}") from None
        if values.instance_name != self.result.instance_name:
            # Another instance's values say nothing about this plan: flagged, not shown.
            return _flag(f"Not shown: the marginal values in {folder} are of instance {values.instance_name!r}, "
                         f"not of this plan's instance {self.result.instance_name!r}.")
        parts = []
        if (self.result.objective_usd is not None
                and not math.isclose(values.objective_usd, self.result.objective_usd, rel_tol=1e-9)):
            parts.append(_flag(f"These marginal values are of another solve of {values.instance_name} (at another "
                               f"gap or time limit): a plan costing {format_usd(values.objective_usd)}, not the "
                               f"{format_usd(self.result.objective_usd)} plan above."))
        parts.append(self._one_more(values.one_more))
        parts.append(f"<h3>With the plan fixed: the value of one more {_e(values.compute_unit)} of demand</h3>"
                     '<p class="note">Every integer decision fixed at the plan\'s, only serving, unmet demand and '
                     "resale re-optimised (the duals of that LP, taken one unit up): what the plan as it stands pays "
                     "for one more unit of demand. With the plan fixed nothing can use more power, cadence or cap; "
                     "their value is the re-solves' above.</p>")
        if not values.compute.empty:
            parts.append(self.chart(plots.plot_marginal_compute, "marginal", "Value of one more unit of demand",
                                    values.compute, compute_unit=values.compute_unit))
            table = compute_by_year(values.compute).rename_axis("workload").reset_index()
            table.columns = [str(c) for c in table.columns]
            parts.append(f'<p class="note">USD per {_e(values.compute_unit)}-month in money of the year: the mean '
                         "over the year's periods, [lowest-highest] where they differ.</p>" + _table(table))
        parts.append("<details><summary>How these values are taken</summary>"
                     f'<p class="note">{_e(values.note)}</p></details>')
        return "".join(parts)

    def _one_more(self, table: pd.DataFrame) -> str:
        heading = "<h3>With the plan free: what one more unit of each limit saves</h3>"
        if table.empty:
            return heading + _missing("Not computed: dcopt marginal INSTANCE --out RESULT_DIR/marginal (or dcopt "
                                      "solve --report --one-more) re-solves the MILP once per site, launch vehicle "
                                      "and the national cap.")
        chart = self.chart(plots.plot_one_more, "one_more", "Saving from one more unit of each limit", table)
        money = table[["value_usd", "value_low_usd", "value_high_usd", "value_usd_per_unit"]] / 1e6
        shown = pd.DataFrame({
            "limit": table["resource"], "where": table["name"], "one more": table["change"],
            "saving, $M": money["value_usd"],
            "bracket, $M": [f"{low:,.1f} to {high:,.1f}" if pd.notna(low) else ""
                            for low, high in zip(money["value_low_usd"], money["value_high_usd"], strict=True)],
            "$M per unit": [f"{v:,.2f} per {unit}" if pd.notna(v) else "" for v, unit in
                            zip(money["value_usd_per_unit"], table["unit"], strict=True)],
            "decided": table["decided"].map({True: "yes", False: "no: the bracket holds 0"}).fillna(table["status"])})
        return (heading + '<p class="note">One MILP re-solve per limit, raised by one unit alone and started from '
                "this plan, every decision free: the fall in net present cost, with the bracket the two solves' "
                "gaps allow (the re-solve's bound and plan against this plan's). Limits that bind together (a site's "
                "power and the national cap, say) are each worth little alone.</p>" + chart
                + _table(shown, {"saving, $M": ",.1f"}))

    def sensitivity(self) -> str:
        parts = [self._tornado(), self._breakeven(), *self._sweeps()]
        parts = [p for p in parts if p]
        if not parts:
            return _missing("No what-if results in this folder. dcopt tornado, dcopt breakeven and dcopt sweep "
                            "write them (with --out RESULT_DIR); make the report again after running them.")
        return "".join(parts)

    def _cost_mismatch(self, cost: float) -> str | None:
        """Why a what-if whose base plan costs ``cost`` is not of this plan, or None if the two costs agree within
        this plan's gap (two solves of the same instance may differ by that much)."""
        ours = self.result.objective_usd
        if ours is None:
            return "there is no plan here to compare it with"
        if abs(cost - ours) <= max(self.result.gap or 0.0, 1e-9) * abs(ours):
            return None
        return f"computed on another plan or instance: base {format_usd(cost)} vs this plan's {format_usd(ours)}"

    def _missing_paths(self, labels: Iterable[str]) -> list[str]:
        """The parameters (labels, as in tornado.csv) whose path is not in this instance (none if it is not here)."""
        data = self.instance_data
        return [label for label in labels if data is not None and not _walk(data, _path(label))[0]]

    def _tornado(self) -> str:
        path = _find(self.dir, "tornado.csv")
        if path is None:
            return ""
        table = self.read(path)
        base = float((table["npc_low_usd"] - table["delta_low_usd"]).dropna().iloc[0])
        absent = self._missing_paths(table["parameter"])
        # A tornado on a screening grid (--grid) has that grid's costs: not comparable with this plan's.
        own, grid = self._grid_of(), str(table["grid"].iloc[0]) if "grid" in table else None
        screening = grid if grid and own and grid != own else None
        why = (f"computed on another instance: {', '.join(absent)} not in this instance" if absent
               else None if screening else self._cost_mismatch(base))
        if why and _outside(self.dir, path):
            return f"<h3>Tornado: one parameter at a time</h3>{_flag(f'Not shown: {path} was {why}.')}"
        flag = _flag(f"This tornado was {why}.") if why else ""
        if screening:
            flag += (f'<p class="note">Solved on a screening grid ({_e(screening)}), not on this plan\'s '
                     f'({_e(own)}): its base cost is {_e(format_usd(base))}.</p>')
        chart = self.chart(plots.plot_tornado, "tornado", "Tornado of the net present cost", table)
        shown = table[["parameter", "low", "high", "delta_low_usd", "delta_high_usd", "swing_usd"]].copy()
        for column in ("delta_low_usd", "delta_high_usd", "swing_usd"):
            shown[column] = shown[column] / 1e9
        shown = shown.rename(columns={"delta_low_usd": "change at low, $B", "delta_high_usd": "change at high, $B",
                                      "swing_usd": "swing, $B"})
        # What changes in the plan runs to hundreds of characters: a list under the table, not a column of it.
        changes = "".join(f"<li><strong>{_e(row.parameter)}</strong> at low ({row.low:,.4g}): "
                          f"{_e(row.plan_change_low)}; at high ({row.high:,.4g}): {_e(row.plan_change_high)}</li>"
                          for row in table.itertuples())
        return ("<h3>Tornado: one parameter at a time</h3>" + flag + chart
                + _table(shown, {"low": ",.4g", "high": ",.4g", "change at low, $B": "+,.2f",
                                 "change at high, $B": "+,.2f", "swing, $B": ",.2f"})
                + "<p>What changes in the plan (sources entering +, leaving -, or changing MW-months):</p>"
                + f'<ul class="changes">{changes}</ul>')

    def _breakeven(self) -> str:
        path = _find(self.dir, "breakeven.csv")
        if path is None:
            return ""
        table = self.read(path)
        facts: dict = {}
        if (path.parent / "breakeven.json").is_file():
            facts = json.loads((path.parent / "breakeven.json").read_text(encoding="utf-8"))
        source = facts.get("source", "the source")
        why = self._breakeven_check(table, facts)
        if why and _outside(self.dir, path):
            return f"<h3>Break-even</h3>{_flag(f'Not shown: {path} was {why}.')}"
        note = _flag(f"This break-even was {why}.") if why else ""
        if facts.get("set"):
            changes = ", ".join(f"{target} = {content}" for target, content in facts["set"].items())
            note += f'<p class="note">Every solve with {_e(changes)}.</p>'
        chart = self.chart(plots.plot_breakeven, "breakeven", "Break-even search", table,
                           parameter=facts.get("parameter", "parameter value"), source=source,
                           value=facts.get("value"))
        summary = "".join(f"<p>{_e(line.strip())}</p>" for line in facts.get("summary", "").splitlines())
        return ("<h3>Break-even</h3>" + note + summary + chart
                + _table(table.assign(npc_usd=table["npc_usd"] / 1e9).rename(columns={"npc_usd": "cost, $B"}),
                         {"value": ",.6g", "peak_mw": ",.1f", "cost, $B": ",.3f", "gap": ".1e"}))

    def _breakeven_check(self, table: pd.DataFrame, facts: dict) -> str | None:
        """Why the break-even is not of this plan, or None: breakeven.json names the instance, the source must be
        in the plan, the parameter in the instance, and an evaluation at the instance's own value (without --set
        changes) must cost what the plan costs. Only solves on this plan's grid are compared: not a screen's
        (stage ``screen``), nor any of a break-even run on a screening grid (--grid)."""
        source, parameter, instance = facts.get("source"), facts.get("parameter"), facts.get("instance")
        if instance is None:
            return "written without the name of its instance (by an older dcopt): it may be of another instance"
        if instance != self.result.instance_name:
            return f"computed on instance {instance!r}, not on this plan's {self.result.instance_name!r}"
        plan = self.result.plan
        if source and not plan.empty and source not in set(plan["source"]) | set(plan["kind"]):
            return f"computed on another instance: it is of source {source!r}, not in this plan"
        if parameter and self._missing_paths([parameter]):
            return f"computed on another instance: {parameter} is not in this instance"
        if "stage" in table:  # the screen's solves are on another grid
            table = table[table["stage"] == "search"]
        own = self._grid_of()
        if "grid" in table and own and not table.empty and table["grid"].iloc[0] != own:
            return None  # a screening grid's costs are not this plan's (the summary names the grid)
        value = self._base_value(parameter) if parameter else None
        at_base = table[[value is not None and math.isclose(v, value, rel_tol=1e-9) for v in table["value"]]]
        if at_base.empty or facts.get("set"):
            return None
        return self._cost_mismatch(float(at_base["npc_usd"].iloc[0]))

    def _grid_of(self) -> str | None:
        """This plan's grid in words; None if its instance is not here."""
        if self.instance_data is None:
            return None
        try:
            return grid_text(Horizon.model_validate(self.instance_data.get("horizon", {})).period)
        except ValidationError:
            return None

    def _base_value(self, label: str) -> float | None:
        """The parameter's value in this instance, if it is one number (a scaled parameter's is 1)."""
        if label.endswith(SCALED):
            return 1.0
        value = _walk(self.instance_data, label)[1] if self.instance_data is not None else None
        return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None

    def _sweeps(self) -> list[str]:
        parts = []
        folders = sorted({p.parent for place in _places(self.dir) for p in place.glob("*/points.csv")})
        ours = set(self.result.plan["source"]) if self.result.has_plan else None
        for i, folder in enumerate(folders):
            points = self.read(folder / "points.csv")
            heading = f"<h3>Sweep {_e(folder.name)}: {len(points)} points</h3>"
            # Points record no instance; their per-source columns name the sources, which must be this plan's.
            theirs = {c.removeprefix("peak_mw:") for c in points.columns if c.startswith("peak_mw:")}
            foreign = bool(theirs) and ours is not None and not theirs <= ours
            if _outside(self.dir, folder) and (foreign or not theirs or ours is None):
                parts.append(heading + _flag(
                    f"Not shown: {folder} is beside this result folder and "
                    + ("its points are of other sources than this plan's" if foreign else
                       "nothing in it tells which instance it is of") + "."))
                continue
            piece = [heading]
            if foreign:
                piece.append(_flag(f"Its points are of other sources ({', '.join(sorted(theirs - ours))}) than this "
                                   "plan's: it was run on another instance."))
            piece.append(self._sweep_statuses(folder, points))
            if points["status"].isin(plots.OK_STATUSES).any():
                piece.append(self.chart(plots.plot_sweep_costs, f"sweep_cost_{i}", "Sweep cost histogram", points))
            if (folder / "cost.csv").is_file():
                cost = self.read(folder / "cost.csv")
                money = [c for c in cost.columns if c not in ("measure", "points")]
                cost[money] = cost[money] / 1e9
                piece.append("<p>Net present cost, USD billion:</p>" + _table(cost, {c: ",.2f" for c in money}))
            if (folder / "sources.csv").is_file():
                sources = self.read(folder / "sources.csv")
                if not sources.empty:
                    piece.append(self.chart(plots.plot_sweep_sources, f"sweep_sources_{i}",
                                            "Share of plans using each source", sources))
            if (folder / "spearman.csv").is_file():
                rho = self.read(folder / "spearman.csv")
                rho = rho[rho["output"] == "objective_usd"].drop(columns="output")
                piece.append("<p>Rank correlation of each input with the net present cost:</p>"
                             + _table(rho, {"spearman_rho": "+.2f", "p_value": ".2g"}))
            parts.append("".join(piece))
        return parts

    def _sweep_statuses(self, folder: Path, points: pd.DataFrame) -> str:
        """How many points had a plan, and the other statuses with their counts (status.csv, else points.csv)."""
        if (folder / "status.csv").is_file():
            counts = self.read(folder / "status.csv").set_index("status")["points"]
        else:
            counts = points["status"].value_counts()
        total = int(counts.sum())
        ok = int(counts[counts.index.isin(plots.OK_STATUSES)].sum())
        failed = counts[~counts.index.isin(plots.OK_STATUSES)].sort_values(ascending=False)
        text = f"{ok} of {total} points had a plan"
        if not failed.empty:
            text += "; without a plan: " + ", ".join(f"{status} {int(n)}" for status, n in failed.items())
        return (_flag(text + ".") if ok == 0 else f"<p>{_e(text)}.</p>")
