"""The report a planner hands to their board: one self-contained HTML file per result folder.

:func:`write_report` reads a folder written by ``dcopt solve`` (summary.json, the tables, and instance.yaml, the
instance file as solved) and whatever the what-if commands left inside it (``marginal/``, tornado.csv,
breakeven.csv, ``sweep-*/``, economics.csv; or beside it, when the folder's parent holds no other result), draws
the charts of :mod:`solver.plots` (kept as PNG and SVG files in ``charts/``, for slides) and writes one HTML
file: images as base64 data URIs, CSS inline, no scripts and no external links, so that it can be mailed or
archived as it is.

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
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from solver import plots
from solver.economics import format_economics
from solver.instance import InstanceError, load_instance
from solver.marginal import MarginalValues, format_marginal
from solver.results import STATUSES, TABLES, UNMET_SHOWN, Result, format_summary, format_usd, write_atomic
from solver.sweep import IN_PLAN_MW

KIND_NAMES = {"hyperscaler_contract": "Hyperscaler contracts", "fixed_block_lease": "Fixed-block leases",
              "own_build": "Own terrestrial builds", "orbital": "Orbital compute"}
HEADLINE_SECTIONS = ("horizon", "demand")  # the figures that frame the question: shown open in the report
LEVELIZED_YEAR = 2028  # the start year the levelized costs are compared in, when the horizon holds it
# Capitalised tokens that are units or hardware, not the names of a publication or organisation.
NOT_NAMES = {"MW", "GW", "TW", "KW", "GPU", "GPUs", "CPU", "PUE", "USD", "IT", "PFLOPS", "LEO", "TFLOPS", "NB", "OK"}
SCALED = " (x)"  # the label suffix of a parameter that scales its field (solver.params.Parameter.label)
CONFLICT_COLUMNS = ["family", "name", "first_period", "last_period", "slack_per_period", "unit", "sufficient_alone",
                    "text"]


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
        # A column with no event at all reads as floats (all missing): make it text.
        tables["plan"]["event"] = tables["plan"]["event"].astype(object).fillna("").astype(str)
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


def _outside(result_dir: Path, path: Path) -> bool:
    """Whether ``path`` (a what-if output) was found beside the result folder rather than inside it."""
    return not path.resolve().is_relative_to(result_dir.resolve())


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


def _add_months(period: str, months: int) -> str:
    year, month = divmod(int(period[:4]) * 12 + int(period[5:7]) - 1 + months, 12)
    return f"{year:04d}-{month + 1:02d}"


def _lease_ends(online: pd.Series, months: int) -> list[tuple[str, str]]:
    """(period, "held through YYYY-MM") for each time a lease's block goes offline within the horizon: the end of
    the notice period after a notice, or of the lease's window."""
    held = (online > IN_PLAN_MW).to_numpy()
    periods = list(online.index)
    return [(periods[i + 1], f"held through {_add_months(periods[i], months - 1)}")
            for i in range(len(held) - 1) if held[i] and not held[i + 1]]


def plan_in_words(result: Result) -> list[str]:
    """Plain sentences: the cost, each kind of source (when it enters, its peak, lease events), resale, demand not
    met and what binds."""
    if not result.has_plan:
        return [f"No plan: the solve ended {result.status} ({STATUSES.get(result.status, '')})."
                + (f" {result.message}" if result.message else "")]
    plan, demand, unit = result.plan, result.demand, result.compute_unit
    periods = sorted(demand["period"].unique())  # the plan has no rows when the instance has no sources
    months = _months_per_period(periods)
    total_demand = demand.groupby("period")["demand_units"].sum()
    held = plan.groupby("period")["mw_online"].sum()
    # The horizon ends with the last month of the last period, not at that period's start.
    lines = [f"Meeting demand that grows from {total_demand.iloc[0]:,.0f} to {total_demand.iloc[-1]:,.0f} {unit} "
             f"between {periods[0]} and {_add_months(periods[-1], months - 1)} costs a net present "
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
                events = sorted(events + _lease_ends(online, months))
            events = [text for _, text in events]
            if events:
                phrase += " (" + ", ".join(events) + ")"
            phrases.append(phrase)
        if phrases:
            lines.append(f"{KIND_NAMES.get(kind, kind)}: " + "; ".join(phrases) + ".")
    if unused:
        lines.append("Not used: " + ", ".join(unused) + ".")
    resold_mw_months = float(plan["mw_resold"].sum()) * months
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


def source_kind(comment: str) -> str:
    """``assumption``, ``sourced`` or ``unsourced comment``: a comment counts as a source only if it cites
    something (a URL, a seed or MODEL.md, a named publication or organisation, a year); "as training" cites
    nothing and is not an assumption either."""
    if re.search(r"\bassum", comment, re.IGNORECASE):
        return "assumption"
    cites = (re.search(r"https?://|www\.|MODEL\.md|\bseeds?\b\s*(?:\d|/)|\b(?:19|20)\d\d\b|\b10-[KQ]\b", comment)
             or re.search(r"\([^)]*\b[A-Z][A-Za-z]", comment)  # "(Uptime Institute)", "(EIA)"
             or set(re.findall(r"\b[A-Z]{2,}[a-z]?\b", comment)) - NOT_NAMES)  # "EIA", "ARK", "LBNL"
    return "sourced" if cites else "unsourced comment"


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
.tag.assumption { background: #fdf0d8; } .tag.sourced { background: #dff0dd; } .tag.unsourced { background: #eee; }
.warning { background: #fdecea; border-left: 5px solid #c23b3b; padding: 8px 14px; }
.scroll { overflow-x: auto; max-width: 100%; }
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
    # Wide tables scroll inside the page rather than running off it.
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


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
        self.instance_data = _instance_data(result_dir / "instance.yaml")
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
        description = _description(self.dir / "instance.yaml", instance_text)
        if description:
            parts.append(f'<p class="lede">This instance: {_e(description)}</p>')
        return "".join(parts)

    def answer(self) -> str:
        words = plan_in_words(self.result)
        parts = []
        if self.result.has_plan:
            parts.append(f'<p class="headline">Net present cost <strong>${self.result.objective_usd / 1e9:,.2f}B'
                         f"</strong>, {_e(_status_words(self.result))}.</p>")
        parts.append(_suspect_warning(self.result))
        parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in words) + "</ul>")
        conflicts = self.result.conflicts
        if not self.result.has_plan and not conflicts.empty:
            # Why there is no plan is the answer: shown open, not only inside the summary below.
            shown = conflicts[[c for c in CONFLICT_COLUMNS if c in conflicts.columns]]
            parts.append("<h3>What would have to give</h3><p class=\"note\">Each limit relaxed alone, its slack "
                         "minimised; sufficient_alone says whether relaxing it alone gives a plan.</p>"
                         + _table(shown, {"slack_per_period": ",.1f"}))
        parts.append("<details><summary>The summary as dcopt solve prints it</summary>"
                     + _pre(format_summary(self.result)) + "</details>")
        return "".join(parts)

    def plan(self) -> str:
        if not self.result.has_plan:
            return _missing("No plan to draw.")
        chart = self.chart(plots.plot_capacity, "capacity", "Capacity online by source against demand",
                           self.result.plan, self.result.demand, compute_unit=self.unit)
        plan = self.result.plan
        # Peaks, not year-end values: a lease held mid-year and given up by December still shows.
        parts = [_suspect_warning(self.result),
                 f'<p class="note">Top: compute online by source, stacked, against demand per workload (lines), in '
                 f"{_e(self.unit)}; capacity resold to others is hatched in its source's colour, at the top of that "
                 f"source's band. Bottom: the same capacity in IT power. Sources are named as in the instance.</p>"
                 f"{chart}<h3>Peak MW online in each year</h3>"
                 '<p class="note">The most MW held in any period of the year, per source; every source the plan '
                 "uses appears.</p>" + _year_peaks(plan, "mw_online")]
        if (plan["mw_resold"] > IN_PLAN_MW).any():
            parts.append("<h3>Peak MW resold to others in each year</h3>"
                         '<p class="note">Included in the MW online above: held and paid for, leased out.</p>'
                         + _year_peaks(plan, "mw_resold"))
        return "".join(parts)

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
        return ('<p class="note">What outlives the horizon is valued at its end: its remaining service at what the '
                "same service costs new then (salvage), less take-or-pay still owed after it (which buys part of that "
                "service). It is drawn as a bar of its own, not in the last year, and the net cost of each year "
                "(diamonds) does not include it.</p>"
                + chart + "<h3>Cost by category, all years</h3>"
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
        if not values.compute.empty:
            parts.append(self.chart(plots.plot_marginal_compute, "marginal", "Value of one more unit of demand",
                                    values.compute, compute_unit=values.compute_unit))
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
        flag = ""
        if self.result.has_plan:
            theirs, ours = set(table["source"]), set(self.result.plan["source"])
            if theirs != ours:
                why = (f"{path} is of other sources ({', '.join(sorted(theirs ^ ours))} differ) than this plan's: "
                       "it was computed for another instance.")
                if _outside(self.dir, path):
                    return _flag("Not shown: " + why)
                flag = _flag(why)
        years = set(table["start_year"])
        year = LEVELIZED_YEAR if LEVELIZED_YEAR in years else min(years)
        missing = plots.levelized_missing(table, year)
        chart = self.chart(plots.plot_levelized_costs, "economics", "Levelized cost by source and component",
                           table, compute_unit=self.unit, year=year)
        pivot = table[table["start_year"] == year].pivot_table(
            index=["source", "kind", "start_year"], columns="component", values="usd_per_unit_year", aggfunc="sum",
            sort=False)
        pivot.insert(0, "total", pivot.sum(axis=1))  # first: the column a reader looks for must not scroll away
        pivot = pivot.reset_index()
        cannot = f" Cannot start in {year}: {', '.join(missing)}." if missing else ""
        return (flag + chart + f"<h3>USD per {_e(self.unit)}-year, by component, capacity started in {year}</h3>"
                + _table(pivot, {c: ",.0f" for c in pivot.columns[3:]})
                + f'<p class="note">What one unit of compute a year costs from each source started in {year}, its '
                  "costs spread over its life: a comparison of sources outside the plan's timing, all in the same "
                  f"start year ({year} if the horizon holds it, else its first year).{_e(cannot)}</p>"
                + "<details><summary>Every start year, per MW-year</summary>" + _pre(format_economics(table))
                + "</details>")

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
        why = (f"computed on another instance: {', '.join(absent)} not in this instance" if absent
               else self._cost_mismatch(base))
        if why and _outside(self.dir, path):
            return f"<h3>Tornado: one parameter at a time</h3>{_flag(f'Not shown: {path} was {why}.')}"
        flag = _flag(f"This tornado was {why}.") if why else ""
        chart = self.chart(plots.plot_tornado, "tornado", "Tornado of the net present cost", table)
        shown = table[["parameter", "low", "high", "delta_low_usd", "delta_high_usd", "swing_usd",
                       "plan_change_low", "plan_change_high"]].copy()
        for column in ("delta_low_usd", "delta_high_usd", "swing_usd"):
            shown[column] = shown[column] / 1e9
        shown = shown.rename(columns={"delta_low_usd": "change at low, $B", "delta_high_usd": "change at high, $B",
                                      "swing_usd": "swing, $B"})
        return ("<h3>Tornado: one parameter at a time</h3>" + flag + chart
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
        why, checked = self._breakeven_check(table, facts)
        if why and _outside(self.dir, path):
            return f"<h3>Break-even</h3>{_flag(f'Not shown: {path} was {why}.')}"
        note = _flag(f"This break-even was {why}.") if why else f'<p class="note">{_e(checked)}</p>'
        chart = self.chart(plots.plot_breakeven, "breakeven", "Break-even search", table,
                           parameter=facts.get("parameter", "parameter value"), source=source,
                           value=facts.get("value"))
        summary = "".join(f"<p>{_e(line.strip())}</p>" for line in facts.get("summary", "").splitlines())
        return ("<h3>Break-even</h3>" + note + summary + chart
                + _table(table.assign(npc_usd=table["npc_usd"] / 1e9).rename(columns={"npc_usd": "cost, $B"}),
                         {"value": ",.6g", "peak_mw": ",.1f", "cost, $B": ",.3f", "gap": ".1e"}))

    def _breakeven_check(self, table: pd.DataFrame, facts: dict) -> tuple[str | None, str]:
        """(why the break-even is not of this plan or None, what could be checked). breakeven.json records the
        parameter and the source but not the instance: the source must be in the plan, the parameter in the
        instance, and an evaluation at the instance's own value must cost what the plan costs."""
        source, parameter = facts.get("source"), facts.get("parameter")
        plan = self.result.plan
        if source and not plan.empty and source not in set(plan["source"]) | set(plan["kind"]):
            return f"computed on another instance: it is of source {source!r}, not in this plan", ""
        if parameter and self._missing_paths([parameter]):
            return f"computed on another instance: {parameter} is not in this instance", ""
        checked = ("breakeven.json does not record the instance; checked: the source is in this plan and the "
                   "parameter in this instance")
        value = self._base_value(parameter) if parameter else None
        at_base = table[[value is not None and math.isclose(v, value, rel_tol=1e-9) for v in table["value"]]]
        if at_base.empty:
            return None, (checked + ("; no evaluation is at this instance's value "
                                     f"({value:,.6g}), so its costs could not be compared with this plan's."
                                     if value is not None else
                                     "; the parameter is not one number here, so no cost could be compared."))
        return self._cost_mismatch(float(at_base["npc_usd"].iloc[0])), (
            checked + f", and its solve at this instance's value ({value:,.6g}) costs what this plan costs.")

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

    def assumptions(self, instance_text: str | None) -> str:
        if instance_text is None:
            return _missing("The instance file is not in the result folder (instance.yaml is written by dcopt solve "
                            "from this version on): solve again to list its figures and sources.")
        header, figures = instance_figures(instance_text)
        figures = figures[figures["path"].str.contains(".", regex=False)]  # sections' fields, not name/description
        parts = [f"<p>{_e(header)}</p>" if header else ""]
        kinds = figures.loc[figures["source"] != "", "source"].map(source_kind).value_counts()
        parts.append(f'<p class="note">{int(kinds.sum())} figures carry a comment in the instance file: '
                     f"{kinds.get('sourced', 0)} cite a source (a URL, a seed or MODEL.md, a named publication or "
                     f"organisation, a year), {kinds.get('assumption', 0)} say they are assumptions and "
                     f"{kinds.get('unsourced comment', 0)} are comments that cite nothing. A figure without a comment "
                     "follows the comment of the field above it.</p>")
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
    kind = source_kind(source)
    return f'<span class="tag {kind.split()[0]}">{kind}</span> '


def _flag(text: str) -> str:
    return f'<p class="warning">{_e(text)}</p>'


def _year_peaks(plan: pd.DataFrame, column: str) -> str:
    """A table of the peak of ``column`` (MW) in each year, one row per source that ever exceeds rounding."""
    table = plan.pivot_table(index="source", columns="year", values=column, aggfunc="max", sort=False)
    table = table[table.max(axis=1) > IN_PLAN_MW].reset_index()
    table.columns = [str(c) for c in table.columns]
    return _table(table, {c: ",.0f" for c in table.columns[1:]})


def _yaml(text: str | None) -> dict | None:
    """The instance file as plain data (paths are as in the file), or None if there is none or it does not parse."""
    try:
        data = yaml.safe_load(text) if text is not None else None
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _walk(data: dict, path: str) -> tuple[bool, object]:
    """(found, value) of a dotted path in a dump of the instance, as solver.params walks it."""
    target: object = data
    for key in path.split("."):
        if not isinstance(target, dict) or key not in target:
            return False, None
        target = target[key]
    return True, target


def _instance_data(path: Path) -> dict | None:
    """The instance as the what-if commands change it (with defaults), or None if it is not here or not valid."""
    try:
        return load_instance(path).model_dump() if path.is_file() else None
    except InstanceError:
        return None


def _path(label: str) -> str:
    return label.removesuffix(SCALED)


def _description(path: Path, text: str | None) -> str:
    """The instance's description, parsed (YAML quoting and folding resolved), not its raw text; from the plain
    YAML when the file no longer validates (a schema change), and empty when it cannot be read at all."""
    if text is None:
        return ""
    try:
        return load_instance(path).description.strip()
    except InstanceError:
        description = (_yaml(text) or {}).get("description")
        return description.strip() if isinstance(description, str) else ""


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
    charts = result_dir / "charts"  # every chart also as PNG and SVG files, for slides
    charts.mkdir(exist_ok=True)
    builder = _Builder(result_dir, result, charts)
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
