"""The report a planner hands to their board: one self-contained HTML file per result folder.

:func:`write_report` reads a folder written by ``dcopt solve`` (summary.json, the tables, and instance.yaml, the
instance file as solved) and whatever the what-if commands left inside it (``marginal/``, tornado.csv,
breakeven.csv, ``sweep-*/``, economics.csv, ``stochastic-*/``; or beside it, when the folder's parent holds no
other result), draws the charts of :mod:`solver.plots` (kept as PNG and SVG files in ``charts/``, for slides) and
writes one HTML file: images as base64 data URIs, CSS inline, no scripts and no external links, so that it can be
mailed or archived as it is.

The instance file's comments are its sources (every figure of the reference instance cites one or says it is an
assumption), so the report lists each figure with its comment: :func:`instance_figures` reads them.

The package is split by what each part does: :mod:`~solver.report.reading` (the result folder and the instance
file), :mod:`~solver.report.pieces` (style sheet and HTML pieces), :mod:`~solver.report.words` (the plan in
sentences), :mod:`~solver.report.sections` (the plan's sections), :mod:`~solver.report.whatifs` (marginal
values and the sensitivity results) and :mod:`~solver.report.uncertainty` (scenario trees). A new section is a
method of the builder (or, like the trees', a function of it in a module of its own), an entry of ``SECTIONS``
and a line of ``bodies`` in :func:`write_report`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from solver.report.pieces import CSS, MAX_TABLE_COLUMNS, _e
from solver.report.reading import ReportError, _start, instance_figures, load_result, source_kind
from solver.report.sections import SECTIONS
from solver.report.uncertainty import uncertainty
from solver.report.whatifs import WhatIfBuilder
from solver.report.words import plan_in_words
from solver.results import TABLES, write_atomic

__all__ = ["CSS", "MAX_TABLE_COLUMNS", "ReportError", "instance_figures", "load_result", "plan_in_words", "source_kind",
           "write_report"]


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
    builder = WhatIfBuilder(result_dir, result, charts)
    builder.used += [str(result_dir / name) for name in ("summary.json", *(f"{t}.csv" for t in TABLES))
                     if (result_dir / name).is_file()]
    if instance_text is not None:
        builder.used.append(str(instance_path))
    try:
        bodies = {"question": builder.question(instance_text), "answer": builder.answer(),
                  "plan": builder.plan(), "costs": builder.costs(_start(result, instance_text)),
                  "marginal": builder.marginal(), "economics": builder.economics(),
                  "sensitivity": builder.sensitivity(), "uncertainty": uncertainty(builder),
                  "assumptions": builder.assumptions(instance_text)}
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
