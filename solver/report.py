"""The report a planner hands to their board: one self-contained HTML file per result folder.

:func:`write_report` reads a folder written by ``dcopt solve`` (summary.json, the tables, and instance.yaml, the
instance file as solved) and whatever the what-if commands left inside it (``marginal/``, tornado.csv,
breakeven.csv, ``sweep-*/``, economics.csv; or beside it, when the folder's parent holds no other result), draws
the charts of :mod:`solver.plots` and writes one HTML file: images as base64 data URIs, CSS inline, no scripts
and no external links, so that it can be mailed or archived as it is.

The instance file's comments are its sources (every figure of the reference instance cites one or says it is an
assumption), so the report lists each figure with its comment: :func:`instance_figures` reads them.
"""

from __future__ import annotations

import base64
import html
import json
import math
import numbers
import re
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd

from solver import plots
from solver.economics import format_economics
from solver.marginal import MarginalValues, format_marginal
from solver.results import STATUSES, TABLES, Result, format_summary, write_atomic
from solver.sweep import IN_PLAN_MW

KIND_NAMES = {"hyperscaler_contract": "Hyperscaler contracts", "fixed_block_lease": "Fixed-block leases",
              "own_build": "Own terrestrial builds", "orbital": "Orbital compute"}
HEADLINE_SECTIONS = ("horizon", "demand")  # the figures that frame the question: shown open in the report
UNMET_SHOWN = 5e-4  # shares of demand not met below this are rounding, not a shortfall worth a line


class ReportError(ValueError):
    """The folder is not a result folder (or cannot be read as one)."""


# ---------------------------------------------------------------------------------------------------------------
# Reading a result folder

def _read_csv(path: Path) -> pd.DataFrame:
    """A table, empty if the file is empty (an empty DataFrame is written as a blank line)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def load_result(result_dir: Path) -> Result:
    """The :class:`Result` a result folder was written from (summary.json and one CSV per table)."""
    try:
        summary = json.loads((result_dir / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{result_dir}: not a result folder of dcopt solve (no summary.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{result_dir / 'summary.json'}: cannot read: {exc}") from None
    tables = {name: _read_csv(result_dir / f"{name}.csv") for name in TABLES if (result_dir / f"{name}.csv").is_file()}
    if "event" in tables.get("plan", pd.DataFrame()).columns:
        tables["plan"]["event"] = tables["plan"]["event"].fillna("")
    try:
        return Result(instance_name=summary["instance"], status=summary["status"],
                      message=summary.get("message") or "", objective_usd=summary.get("net_present_cost_usd"),
                      bound_usd=summary.get("bound_usd"), gap=summary.get("gap"),
                      times_s=summary.get("times_s") or {}, model_size=summary.get("model_size") or {},
                      audit=summary.get("audit") or {}, compute_unit=summary.get("compute_unit", "compute units"),
                      **tables)
    except KeyError as exc:
        raise ReportError(f"{result_dir / 'summary.json'}: missing field {exc}") from None


def _load_marginal(folder: Path) -> MarginalValues:
    facts = json.loads((folder / "marginal.json").read_text(encoding="utf-8"))
    tables = {name: _read_csv(folder / file) for name, file in facts["tables"].items() if (folder / file).is_file()}
    return MarginalValues(instance_name=facts["instance"], status=facts["status"],
                          objective_usd=facts["net_present_cost_usd"], lp_objective_usd=facts["fixed_plan_lp_cost_usd"],
                          compute_unit=facts["compute_unit"], note=facts["note"], lp_resolves=facts["lp_resolves"],
                          **tables)


def _places(result_dir: Path) -> list[Path]:
    """Where what-if outputs may be: inside the folder, and beside it when its parent holds no other result
    (a parent with several results cannot tell whose tornado.csv is whose)."""
    siblings = [p for p in result_dir.parent.glob("*/summary.json") if p.parent.resolve() != result_dir.resolve()]
    return [result_dir] if siblings else [result_dir, result_dir.parent]


def _find(result_dir: Path, name: str) -> Path | None:
    return next((place / name for place in _places(result_dir) if (place / name).exists()), None)


# ---------------------------------------------------------------------------------------------------------------
# The instance file's comments: its sources

def _split_comment(line: str) -> tuple[str, str]:
    """``content  # comment`` -> (content, comment); a ``#`` inside quotes or not after a space is content."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"" and (i == 0 or line[i - 1] in " :[{,"):  # opens a quoted scalar, not an apostrophe
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def instance_figures(text: str) -> tuple[str, pd.DataFrame]:
    """The header comment of an instance file and one row per key: ``path, value, source, note``.

    ``source`` is the key's end-of-line comment (with the comment lines aligned under it that continue it);
    ``note`` is the block of comment lines just above the key. A line-based reading of the YAML layout the
    instance files use (block mappings, flow lists, folded scalars), not a YAML parser: PyYAML drops comments."""
    rows: list[dict] = []
    header: list[str] = []
    block: list[str] = []  # comment lines waiting for the key below them
    stack: list[tuple[int, str]] = []  # (indent, key) of the mappings the current line is inside
    comment_column = -1  # column of the last key's end-of-line comment, for continuation lines
    folded_indent: int | None = None  # inside a folded scalar (>-, |) deeper than this indent
    for line in text.splitlines():
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if folded_indent is not None:
            if not stripped or indent > folded_indent:
                rows[-1]["value"] = (rows[-1]["value"] + " " + stripped).strip()
                continue
            folded_indent = None
        if not stripped:
            block = []
            comment_column = -1
            continue
        if stripped.startswith("#"):
            comment = stripped[1:].strip()
            if comment_column >= 0 and abs(indent - comment_column) <= 2:
                rows[-1]["source"] = f"{rows[-1]['source']} {comment}".strip()
            elif not rows and not stack:
                header.append(comment)
            else:
                block.append(comment)
            continue
        content, comment = _split_comment(stripped)
        key, sep, value = content.partition(":")
        if not sep or key.startswith("- "):  # a list item: its comment belongs to the key above
            if rows and comment:
                rows[-1]["source"] = f"{rows[-1]['source']}; {content.strip('- ')}: {comment}".strip("; ")
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key.strip()])
        value = value.strip()
        rows.append({"path": path, "value": "" if value in (">", ">-", "|", "|-") else value, "source": comment,
                     "note": " ".join(block)})
        if value in (">", ">-", "|", "|-"):
            folded_indent = indent
        stack.append((indent, key.strip()))
        block = []
        comment_column = line.index("#", indent + len(content)) if comment else -1
    return " ".join(header), pd.DataFrame(rows, columns=["path", "value", "source", "note"])


# ---------------------------------------------------------------------------------------------------------------
# The plan in words

def _months_per_period(periods: Iterable[str]) -> int:
    dates = pd.to_datetime(pd.Series(sorted(set(periods))), format="%Y-%m")
    if len(dates) < 2:
        return 1
    return int(((dates.dt.year * 12 + dates.dt.month).diff().dropna()).min())


def plan_in_words(result: Result) -> list[str]:
    """Plain sentences: the cost, each kind of source (when it enters, its peak, lease events), resale, demand not
    met and what binds."""
    if not result.has_plan:
        return [f"No plan: the solve ended {result.status} ({STATUSES.get(result.status, '')})."
                + (f" {result.message}" if result.message else "")]
    plan, demand, unit = result.plan, result.demand, result.compute_unit
    periods = sorted(plan["period"].unique())
    total_demand = demand.groupby("period")["demand_units"].sum()
    held = plan.groupby("period")["mw_online"].sum()
    lines = [f"Meeting demand that grows from {total_demand.iloc[0]:,.0f} to {total_demand.iloc[-1]:,.0f} {unit} "
             f"between {periods[0]} and {periods[-1]} costs a net present ${result.objective_usd / 1e9:,.2f}B "
             f"({_status_words(result)}). Capacity held peaks at {held.max():,.0f} MW in {held.idxmax()}."]
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
            events = [f"{event} {period}" for period, event in rows["event"].items() if event]
            if events:
                phrase += " (" + ", ".join(events) + ")"
            phrases.append(phrase)
        if phrases:
            lines.append(f"{KIND_NAMES.get(kind, kind)}: " + "; ".join(phrases) + ".")
    if unused:
        lines.append("Not used: " + ", ".join(unused) + ".")
    resold_mw_months = float(plan["mw_resold"].sum()) * _months_per_period(periods)
    if resold_mw_months > 0.5:
        revenue = -float(result.costs.loc[result.costs["category"] == "resale_revenue", "discounted_usd"].sum())
        peak_resold_mw = float(plan.groupby("period")["mw_resold"].sum().max())
        lines.append(f"Surplus resold: {resold_mw_months:,.0f} MW-months, peak {peak_resold_mw:,.0f} MW, for "
                     f"${revenue / 1e9:,.2f}B of revenue (discounted).")
    shares = demand.groupby(["year", "workload"])[["unmet_units", "demand_units"]].sum()
    shares = shares["unmet_units"] / shares["demand_units"].where(shares["demand_units"] > 0)
    short = shares[shares > UNMET_SHOWN]
    if short.empty:
        lines.append("All demand is met in every period.")
    else:
        lines.append(f"Demand not met (share of the year's {unit}-months): "
                     + ", ".join(f"{year} {workload} {share:.1%}" for (year, workload), share in short.items())
                     + ". Each unmet unit is charged its lost revenue.")
    if not result.binding.empty:
        lines.append("What binds: " + "; ".join(f"{row.family} ({row.name}) in {row.periods}"
                                                for row in result.binding.itertuples()) + ".")
    return lines


def _status_words(result: Result) -> str:
    words = "proven optimal" if result.status == "optimal" else result.status.replace("_", " ")
    if result.gap is not None:
        words += f" within a gap of {result.gap:.1e}"
    return words


# ---------------------------------------------------------------------------------------------------------------
# HTML pieces

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 0 auto;
       max-width: 1120px; padding: 0 24px 48px; }
h1 { font-size: 28px; margin: 28px 0 4px; } h2 { font-size: 21px; margin-top: 40px; border-bottom: 2px solid #ddd; }
h3 { font-size: 17px; margin-top: 24px; } .lede { font-size: 17px; color: #444; }
.headline { font-size: 20px; background: #f3f6fa; border-left: 5px solid #4878a8; padding: 10px 16px; }
nav { background: #fafafa; border: 1px solid #eee; padding: 8px 16px; font-size: 14px; }
nav a { margin-right: 14px; color: #4878a8; text-decoration: none; }
img { max-width: 100%; display: block; margin: 12px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 10px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 10px; font-size: 12px; overflow-x: auto; }
.note { color: #555; font-size: 13px; } .missing { color: #777; font-style: italic; }
.tag { font-size: 11px; padding: 0 5px; border-radius: 3px; white-space: nowrap; }
.tag.assumption { background: #fdf0d8; } .tag.sourced { background: #dff0dd; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
"""

SECTIONS = (("question", "The question"), ("answer", "The answer"), ("plan", "The plan"), ("costs", "Costs"),
            ("marginal", "Marginal values"), ("economics", "Levelized costs"), ("sensitivity", "Sensitivity"),
            ("assumptions", "Assumptions and sources"), ("run", "About this run"))

QUESTION = ("An AI lab's compute demand grows several-fold a year, and every month of missing capacity is lost "
            "revenue. Which capacity should it lease, build or launch, and when, so that demand is met at the least "
            "net present cost? dcopt decides, period by period: how many hyperscaler contract blocks to commit; "
            "whether and when to sign a fixed-block lease and give notice on it; how many modules to start at each "
            "own site; how many compute satellites to launch; and how much surplus to lease out. It respects the "
            "providers' ramps and terms, lease windows and notice, site power and lead times, the national cap on "
            "new MW, launch cadence and satellite life; demand it does not meet is charged its lost revenue.")


def _e(text: object) -> str:
    return html.escape(str(text))


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """An HTML table; ``formats`` maps a column to a format spec (numbers right-aligned)."""
    formats = formats or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, cell in zip(frame.columns, row, strict=True):
            if column in formats and isinstance(cell, numbers.Real) and not isinstance(cell, bool):
                text = format(cell, formats[column]) if math.isfinite(cell) else ("" if cell != cell else str(cell))
                cells.append(f'<td class="num">{_e(text)}</td>')
            else:
                cells.append(f"<td>{_e('' if pd.isna(cell) else cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pre(text: str) -> str:
    return f"<pre>{_e(text)}</pre>"


def _missing(text: str) -> str:
    return f'<p class="missing">{_e(text)}</p>'


# ---------------------------------------------------------------------------------------------------------------
# Sections

class _Builder:
    """Collects the sections of one report; charts go to a temporary folder and into the HTML as data URIs."""

    def __init__(self, result_dir: Path, result: Result, charts: Path):
        self.dir, self.result, self.charts = result_dir, result, charts
        self.unit = result.compute_unit
        self.used: list[str] = []  # the files the report was made from, for "About this run"

    def chart(self, draw, name: str, alt: str, *args, **kwargs) -> str:
        png, _svg = draw(*args, self.charts / name, **kwargs)
        return _image(png, alt)

    def read(self, path: Path) -> pd.DataFrame:
        self.used.append(str(path))
        return _read_csv(path)

    def question(self, instance_text: str | None) -> str:
        parts = [f"<p>{_e(QUESTION)}</p>"]
        if instance_text is not None:
            figures = instance_figures(instance_text)[1]
            description = figures.loc[figures["path"] == "description", "value"]
            if len(description) and description.iloc[0]:
                parts.append(f'<p class="lede">This instance: {_e(description.iloc[0])}</p>')
        return "".join(parts)

    def answer(self) -> str:
        words = plan_in_words(self.result)
        parts = []
        if self.result.has_plan:
            parts.append(f'<p class="headline">Net present cost <strong>${self.result.objective_usd / 1e9:,.2f}B'
                         f"</strong>, {_e(_status_words(self.result))}.</p>")
        parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in words) + "</ul>")
        parts.append("<details><summary>The summary as dcopt solve prints it</summary>"
                     + _pre(format_summary(self.result)) + "</details>")
        return "".join(parts)

    def plan(self) -> str:
        if not self.result.has_plan:
            return _missing("No plan to draw.")
        chart = self.chart(plots.plot_capacity, "capacity", "Capacity online by source against demand",
                           self.result.plan, self.result.demand, compute_unit=self.unit)
        plan = self.result.plan
        last = plan[plan.groupby("year")["period"].transform("max") == plan["period"]]
        table = last.pivot_table(index="source", columns="year", values="mw_online", aggfunc="sum", sort=False)
        table = table[table.max(axis=1) > IN_PLAN_MW].reset_index()
        table.columns = [str(c) for c in table.columns]
        return (f'<p class="note">Top: compute online by source, stacked, against demand per workload (lines), in '
                f"{_e(self.unit)}; capacity resold to others is hatched. Bottom: the same capacity in IT power. "
                f"Sources are named as in the instance.</p>{chart}"
                "<h3>MW online in the last period of each year</h3>"
                + _table(table, {c: ",.0f" for c in table.columns[1:]}))

    def costs(self, start: str) -> str:
        if not self.result.has_plan:
            return _missing("No plan, no costs.")
        costs = self.result.costs
        chart = self.chart(plots.plot_costs, "costs", "Cost by category and year", costs, start=start)
        table = costs.groupby("category", sort=False)[["discounted_usd", "nominal_usd"]].sum() / 1e9
        table = table[table.abs().max(axis=1) > 5e-4]
        table.loc["total"] = table.sum()
        table = table.reset_index().rename(columns={"discounted_usd": f"USD billion, discounted to {start}",
                                                    "nominal_usd": "USD billion, nominal"})
        return (chart + "<h3>Cost by category, all years</h3>"
                + _table(table, {c: ",.2f" for c in table.columns[1:]})
                + '<p class="note">Revenue from resale and the salvage value of assets that outlive the horizon '
                  "are negative costs. The discounted column adds up to the net present cost.</p>")

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
        parts = []
        if not values.compute.empty:
            parts.append(self.chart(plots.plot_marginal_compute, "marginal", "Value of one more unit of demand",
                                    values.compute, compute_unit=values.compute_unit))
        if (self.result.objective_usd is not None
                and not math.isclose(values.objective_usd, self.result.objective_usd, rel_tol=1e-9)):
            parts.append(f'<p class="note">These marginal values are of a plan costing '
                         f"${values.objective_usd / 1e9:,.2f}B, not the ${self.result.objective_usd / 1e9:,.2f}B "
                         "plan above (another solve, at another gap or time limit).</p>")
        parts.append(_pre(format_marginal(values)))
        return "".join(parts)

    def economics(self) -> str:
        path = _find(self.dir, "economics.csv")
        if path is None:
            return _missing("Not computed. Run dcopt economics INSTANCE --out RESULT_DIR (or dcopt solve --report) "
                            "and make the report again.")
        table = self.read(path)
        if table.empty:
            return _missing(f"{path.name} is empty.")
        chart = self.chart(plots.plot_levelized_costs, "economics", "Levelized cost by source and component",
                           table, compute_unit=self.unit)
        first = table[table["start_year"] == table.groupby("source")["start_year"].transform("min")]
        pivot = first.pivot_table(index=["source", "kind", "start_year"], columns="component",
                                  values="usd_per_unit_year", aggfunc="sum", sort=False)
        pivot["total"] = pivot.sum(axis=1)
        pivot = pivot.reset_index()
        return (chart + f"<h3>USD per {_e(self.unit)}-year, by component</h3>"
                + _table(pivot, {c: ",.0f" for c in pivot.columns[3:]})
                + '<p class="note">What one unit of compute a year costs from each source, started in the first '
                  "year it can start, its costs spread over its life: a comparison of sources outside the plan's "
                  "timing.</p>"
                + "<details><summary>Every start year, per MW-year</summary>" + _pre(format_economics(table))
                + "</details>")

    def sensitivity(self) -> str:
        parts = [self._tornado(), self._breakeven(), *self._sweeps()]
        parts = [p for p in parts if p]
        if not parts:
            return _missing("No what-if results in this folder. dcopt tornado, dcopt breakeven and dcopt sweep "
                            "write them (with --out RESULT_DIR); make the report again after running them.")
        return "".join(parts)

    def _tornado(self) -> str:
        path = _find(self.dir, "tornado.csv")
        if path is None:
            return ""
        table = self.read(path)
        chart = self.chart(plots.plot_tornado, "tornado", "Tornado of the net present cost", table)
        shown = table[["parameter", "low", "high", "delta_low_usd", "delta_high_usd", "swing_usd",
                       "plan_change_low", "plan_change_high"]].copy()
        for column in ("delta_low_usd", "delta_high_usd", "swing_usd"):
            shown[column] = shown[column] / 1e9
        shown = shown.rename(columns={"delta_low_usd": "change at low, $B", "delta_high_usd": "change at high, $B",
                                      "swing_usd": "swing, $B"})
        return ("<h3>Tornado: one parameter at a time</h3>" + chart
                + _table(shown, {"low": ",.4g", "high": ",.4g", "change at low, $B": "+,.2f",
                                 "change at high, $B": "+,.2f", "swing, $B": ",.2f"}))

    def _breakeven(self) -> str:
        path = _find(self.dir, "breakeven.csv")
        if path is None:
            return ""
        table = self.read(path)
        facts: dict = {}
        if (path.parent / "breakeven.json").is_file():
            facts = json.loads((path.parent / "breakeven.json").read_text(encoding="utf-8"))
        source = facts.get("source", "the source")
        chart = self.chart(plots.plot_breakeven, "breakeven", "Break-even search", table,
                           parameter=facts.get("parameter", "parameter value"), source=source,
                           value=facts.get("value"))
        summary = "".join(f"<p>{_e(line.strip())}</p>" for line in facts.get("summary", "").splitlines())
        return ("<h3>Break-even</h3>" + summary + chart
                + _table(table.assign(npc_usd=table["npc_usd"] / 1e9).rename(columns={"npc_usd": "cost, $B"}),
                         {"value": ",.6g", "peak_mw": ",.1f", "cost, $B": ",.3f", "gap": ".1e"}))

    def _sweeps(self) -> list[str]:
        parts = []
        folders = sorted({p.parent for place in _places(self.dir) for p in place.glob("*/points.csv")})
        for i, folder in enumerate(folders):
            points = self.read(folder / "points.csv")
            piece = [f"<h3>Sweep {_e(folder.name)}: {len(points)} points</h3>"]
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

    def assumptions(self, instance_text: str | None) -> str:
        if instance_text is None:
            return _missing("The instance file is not in the result folder (instance.yaml is written by dcopt solve "
                            "from this version on): solve again to list its figures and sources.")
        header, figures = instance_figures(instance_text)
        figures = figures[figures["path"].str.contains(".", regex=False)]  # sections' fields, not name/description
        parts = [f"<p>{_e(header)}</p>" if header else ""]
        tagged = figures[figures["source"] != ""]
        assumed = tagged["source"].str.contains("assumption", case=False)
        parts.append(f'<p class="note">{len(tagged)} figures carry a comment in the instance file: '
                     f"{int((~assumed).sum())} cite a source, {int(assumed.sum())} say they are assumptions. "
                     "A figure without a comment follows the comment of the field above it.</p>")
        for section, rows in figures.groupby(figures["path"].str.split(".").str[0], sort=False):
            notes = [f'<p class="note">{_e(n)}</p>' for n in rows["note"] if n]
            shown = rows[(rows["value"] != "") | (rows["source"] != "")]  # not the bare headings of mappings
            shown = shown.assign(path=shown["path"].str.removeprefix(f"{section}."))
            body = "".join(
                f"<tr><td>{_e(r.path)}</td><td>{_e(r.value)}</td><td>{_tag(r.source)}{_e(r.source)}</td></tr>"
                for r in shown.itertuples())
            open_ = " open" if section in HEADLINE_SECTIONS else ""
            parts.append(f"<details{open_}><summary>{_e(section)} ({len(shown)} figures)</summary>{''.join(notes)}"
                         f"<table><thead><tr><th>field</th><th>value</th><th>source or assumption</th></tr></thead>"
                         f"<tbody>{body}</tbody></table></details>")
        return "".join(parts)

    def run(self) -> str:
        r = self.result
        facts = [("status", f"{r.status}: {STATUSES.get(r.status, '')}")]
        if r.has_plan:
            facts += [("net present cost", f"${r.objective_usd:,.0f}"),
                      ("bound", f"${r.bound_usd:,.0f}" if r.bound_usd is not None else "n/a"),
                      ("relative MIP gap", f"{r.gap:.2e}" if r.gap is not None else "n/a")]
        if r.audit:
            facts.append(("cost audit", f"recomputed ${r.audit.get('recomputed_usd', math.nan):,.0f}, relative "
                          f"difference {r.audit.get('relative_difference', math.nan):.1e}"))
        size = r.model_size
        if size:
            facts.append(("model", f"{size.get('variables', 0):,} variables ({size.get('integers', 0):,} integer), "
                          f"{size.get('constraints', 0):,} constraints"))
        if r.times_s:
            facts.append(("times", ", ".join(f"{k} {v:.2f} s" for k, v in r.times_s.items())))
        facts += [("result folder", str(self.dir)), ("files read", ", ".join(self.used)),
                  ("report written", date.today().isoformat())]
        return _table(pd.DataFrame(facts, columns=["", "value"]))


def _tag(source: str) -> str:
    if not source:
        return ""
    kind = "assumption" if "assumption" in source.lower() else "sourced"
    return f'<span class="tag {kind}">{kind}</span> '


def _start(result: Result, instance_text: str | None) -> str:
    """The month costs are discounted to: the horizon start (the first period of the plan)."""
    if not result.plan.empty:
        return str(min(result.plan["period"]))
    match = re.search(r"^\s+start:\s*([0-9]{4}-[0-9]{2})", instance_text or "", re.MULTILINE)
    return match.group(1) if match else "the horizon start"


def write_report(result_dir: Path, out: Path | None = None) -> Path:
    """Write the HTML report of the result folder ``result_dir`` to ``out`` (default ``result_dir/report.html``).

    Raises :class:`ReportError` if the folder is not a result folder or a what-if output in it cannot be read."""
    result_dir = Path(result_dir)
    if not result_dir.is_dir():
        raise ReportError(f"{result_dir}: no such folder")
    out = Path(out) if out is not None else result_dir / "report.html"
    result = load_result(result_dir)
    instance_path = result_dir / "instance.yaml"
    instance_text = instance_path.read_text(encoding="utf-8") if instance_path.is_file() else None
    with tempfile.TemporaryDirectory(prefix="dcopt-report-") as charts:
        builder = _Builder(result_dir, result, Path(charts))
        builder.used += [str(result_dir / name) for name in ("summary.json", *(f"{t}.csv" for t in TABLES))
                         if (result_dir / name).is_file()]
        if instance_text is not None:
            builder.used.append(str(instance_path))
        try:
            bodies = {"question": builder.question(instance_text), "answer": builder.answer(),
                      "plan": builder.plan(), "costs": builder.costs(_start(result, instance_text)),
                      "marginal": builder.marginal(), "economics": builder.economics(),
                      "sensitivity": builder.sensitivity(), "assumptions": builder.assumptions(instance_text)}
        except ReportError:
            raise
        except (KeyError, ValueError, pd.errors.ParserError) as exc:
            raise ReportError(f"{result_dir}: a table is not as dcopt writes it: {type(exc).__name__}: {exc}") \
                from None
        bodies["run"] = builder.run()
    title = f"Compute capacity plan: {result.instance_name}"
    nav = "".join(f'<a href="#{key}">{_e(name)}</a>' for key, name in SECTIONS)
    sections = "\n".join(f'<section id="{key}"><h2>{_e(name)}</h2>{bodies[key]}</section>' for key, name in SECTIONS)
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width">\n<title>{_e(title)}</title>\n<style>{CSS}</style>'
            f"</head>\n<body>\n<h1>{_e(title)}</h1>\n<nav>{nav}</nav>\n{sections}\n</body></html>\n")
    write_atomic(out, page)
    return out
