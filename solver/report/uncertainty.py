"""The report's section on plans under uncertainty: each scenario tree solved for this instance (``dcopt
stochastic``, written to ``RESULT_DIR/stochastic-<tree>``): what to do now, cost by scenario, the metrics and the
options' values, each with the bracket its solves' gaps allow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from solver import plots
from solver.report.pieces import _e, _flag, _missing, _table
from solver.report.reading import _outside, _places
from solver.report.sections import Builder


def uncertainty(builder: Builder) -> str:
    folders = sorted({p.parent for place in _places(builder.dir) for p in place.glob("*/metrics.csv")
                      if (p.parent / "plan_by_node.csv").is_file()})
    if not folders:
        return _missing("No scenario tree solved for this folder. dcopt stochastic INSTANCE --tree TREE.yaml --out "
                        "RESULT_DIR/stochastic-TREE solves one (instances/trees/ holds the reference's); make the "
                        "report again after running it.")
    return "".join(_tree(builder, folder, i) for i, folder in enumerate(folders))


def _tree(builder: Builder, folder: Path, i: int) -> str:
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    builder.used.append(str(summary_path))
    heading = (f"<h3>Tree {_e(summary['tree'])}: {summary['scenarios']} scenarios, "
               f"{_e(summary['status'])}</h3>")
    if summary["instance"] != builder.result.instance_name:
        return heading + _flag(f"Not shown: the tree in {folder} is over instance {summary['instance']!r}, not this "
                               f"plan's {builder.result.instance_name!r}.")
    parts = [heading]
    if _outside(builder.dir, folder):
        parts.append(_flag(f"Found beside this result folder, in {folder}."))
    tree = builder.read(folder / "tree.csv")
    dates = sorted(set(tree.loc[tree["stage"] > 0, "from"]))
    parts.append(f"<p>Information dates: {_e(', '.join(dates) or 'none')}. Every decision of a period is the same "
                 "in the scenarios that cannot yet be told apart then; the expected net present cost is minimised"
                 + (" with a CVaR term (see below)" if summary.get("risk") else "") + ".</p>")
    plan = builder.read(folder / "plan_by_node.csv")
    root = plan[(plan["node"] == "root") & ((plan["new_units"] > 0) | plan["event"].fillna("").ne(""))]
    parts.append("<h4>What to do now: the root node's decisions</h4>")
    if root.empty:
        parts.append("<p>Nothing new before the first information date: wait.</p>")
    else:
        shown = root[["period", "source", "kind", "new_units", "new_mw", "event"]].fillna("")
        parts.append(_table(shown.sort_values(["period", "source"]), {"new_units": ",.0f", "new_mw": ",.0f"}))
    metrics = builder.read(folder / "metrics.csv")
    parts.append("<h4>What information and the tree are worth</h4>" + _table(_bracketed(metrics, "metric"),
                                                                                {"USD billion": ",.3f"}))
    parts.append(f'<p class="note">EEV: {_e(summary.get("eev", ""))}. A bracket comes from the solves\' bounds and '
                 "plans; a difference whose bracket holds 0 is undecided at the gap solved.</p>")
    options = builder.read(folder / "options.csv")
    if not options.empty:
        parts.append("<h4>What each option is worth (the tree without it, less the tree)</h4>"
                     + _table(_bracketed(options, "option", "description"), {"USD billion": ",.3f"}))
    scenarios = builder.read(folder / "scenarios.csv")
    if "npc_usd" in scenarios and scenarios["npc_usd"].notna().all():
        parts.append(builder.chart(plots.plot_tree_costs, f"tree_costs_{i}", "Net present cost by scenario",
                                   scenarios))
        columns = {"scenario": "scenario", "probability": "probability", "npc_usd": "on the tree, $B"}
        if "ws_usd" in scenarios:
            columns["ws_usd"] = "with foresight, $B"
        table = scenarios[list(columns)].rename(columns=columns)
        for column in table.columns[2:]:
            table[column] = table[column] / 1e9
        parts.append(_table(table, {"probability": ".3g"} | {c: ",.3f" for c in table.columns[2:]}))
    distribution = summary.get("cost_distribution")
    if distribution:
        parts.append("<p>" + _e(", ".join(f"{name.removesuffix('_usd')} ${value / 1e9:,.3f}B"
                                          for name, value in distribution.items())) + "</p>")
    return "".join(parts)


def _bracketed(table: pd.DataFrame, *labels: str) -> pd.DataFrame:
    """Labels, the value in USD billion, its bracket and whether it is decided."""
    def side(value: float) -> str:
        return "open" if value is None or (isinstance(value, float) and not math.isfinite(value)) \
            else f"{value / 1e9:,.3f}"

    out = table[list(labels)].copy()
    out["USD billion"] = table["value_usd"] / 1e9
    out["bracket"] = [f"{side(low)} to {side(high)}" for low, high in zip(table["low_usd"], table["high_usd"],
                                                                          strict=True)]
    out["decided"] = table["decided"].map({True: "yes", False: "no: the bracket holds 0"}).fillna("")
    if "meaning" in table:
        out["meaning"] = table["meaning"]
    return out
