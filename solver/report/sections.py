"""The sections of the report about the plan itself: the question, the answer, the plan, its costs, levelized
costs, the instance's figures and sources, and the run."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd

from solver import plots
from solver.economics import format_economics
from solver.report.pieces import _e, _flag, _image, _missing, _pre, _table, _tag, _year_peaks
from solver.report.reading import (
    _description,
    _find,
    _instance_data,
    _outside,
    _read_csv,
    instance_figures,
    source_kind,
)
from solver.report.words import _status_words, _suspect_warning, plan_in_words
from solver.results import CATEGORY_WORDS, STATUSES, Result, format_summary
from solver.sweep import IN_PLAN_MW

HEADLINE_SECTIONS = ("horizon", "demand")  # the figures that frame the question: shown open in the report

LEVELIZED_YEAR = 2028  # the start year the levelized costs are compared in, when the horizon holds it

CONFLICT_COLUMNS = ["family", "name", "first_period", "last_period", "slack_per_period", "unit", "sufficient_alone",
                    "text"]

SECTIONS = (("question", "The question"), ("answer", "The answer"), ("plan", "The plan"), ("costs", "Costs"),
            ("marginal", "Marginal values"), ("economics", "Levelized costs"), ("sensitivity", "Sensitivity"),
            ("uncertainty", "Under uncertainty"), ("assumptions", "Assumptions and sources"), ("run", "About this run"))

QUESTION = ("An AI lab's compute demand grows several-fold a year, and every month of missing capacity is lost "
            "revenue. Which capacity should it lease, build or launch, and when, so that demand is met at the least "
            "net present cost? dcopt decides, period by period: how many hyperscaler contract blocks to commit; "
            "whether and when to sign a fixed-block lease and give notice on it; how many modules to start at each "
            "own site; how many compute satellites to launch; and how much surplus to lease out. It respects the "
            "providers' ramps and terms, lease windows and notice, site power and lead times, the national cap on "
            "new MW, launch cadence and satellite life; demand it does not meet is charged its lost revenue.")


class Builder:
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
        table.index = [CATEGORY_WORDS.get(c, c) for c in table.index]
        table = table.rename_axis("category").reset_index().rename(columns={
            "discounted_usd": f"USD billion, discounted to {start}", "nominal_usd": "USD billion, nominal"})
        return ('<p class="note">What outlives the horizon is valued at its end: its remaining service at what the '
                "same service costs new then (salvage), less take-or-pay still owed after it (which buys part of that "
                "service). It is drawn as a bar of its own, not in the last year, and the net cost of each year "
                "(diamonds) does not include it.</p>"
                + chart + "<h3>Cost by category, all years</h3>"
                + _table(table, {c: ",.2f" for c in table.columns[1:]})
                + '<p class="note">Revenue from resale and the salvage value of assets that outlive the horizon '
                  "are negative costs. The discounted column adds up to the net present cost.</p>")

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
                + _table(pivot, {c: ",.0f" for c in pivot.columns[3:]}, keep=3)
                + f'<p class="note">What one unit of compute a year costs from each source started in {year}, its '
                  "costs spread over its life: a comparison of sources outside the plan's timing, all in the same "
                  f"start year ({year} if the horizon holds it, else its first year).{_e(cannot)}</p>"
                + "<details><summary>Every start year, per MW-year</summary>" + _pre(format_economics(table))
                + "</details>")

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
