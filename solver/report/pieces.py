"""The HTML pieces of the report: its style sheet (screen and print), tables that fit the printed page, images
as data URIs, notes and flags."""

from __future__ import annotations

import base64
import html
import math
import numbers
from pathlib import Path

import pandas as pd

from solver.report.reading import source_kind
from solver.sweep import IN_PLAN_MW

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
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f7f7f7; padding: 10px; font-size: 12px; }
.note { color: #555; font-size: 13px; } .missing { color: #777; font-style: italic; }
.tag { font-size: 11px; padding: 0 5px; border-radius: 3px; white-space: nowrap; }
.tag.assumption { background: #fdf0d8; } .tag.sourced { background: #dff0dd; } .tag.unsourced { background: #eee; }
.warning { background: #fdecea; border-left: 5px solid #c23b3b; padding: 8px 14px; }
/* Long paths and file names break anywhere rather than widen a table past the page; numbers never break. */
td { overflow-wrap: anywhere; } td.num { overflow-wrap: normal; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
ul.changes { font-size: 13px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 12px; } nav { display: none; }
  h2 { margin-top: 18px; }
  h2, h3 { break-after: avoid; } img, tr, .headline { break-inside: avoid; }
  table { font-size: 11px; } th, td { padding: 2px 5px; }
}
"""

# Every table must fit the printed page (A4, 186 mm between the margins): wider ones are split by columns.
MAX_TABLE_COLUMNS = 8

def _e(text: object) -> str:
    return html.escape(str(text))

def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'

def _table(frame: pd.DataFrame, formats: dict[str, str] | None = None, *, keep: int = 1,
           max_columns: int = MAX_TABLE_COLUMNS) -> str:
    """An HTML table; ``formats`` maps a column to a format spec (numbers right-aligned). A table of more than
    ``max_columns`` columns is split into several, each repeating the first ``keep`` (the row labels), so that
    every one fits the printed page."""
    if len(frame.columns) > max_columns:
        labels, rest = list(frame.columns[:keep]), list(frame.columns[keep:])
        width = max(1, max_columns - keep)
        pieces = [frame[labels + rest[i:i + width]] for i in range(0, len(rest), width)]
        return "".join(_table(piece, formats, keep=keep, max_columns=max_columns) for piece in pieces)
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
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'

def _pre(text: str) -> str:
    return f"<pre>{_e(text)}</pre>"

def _missing(text: str) -> str:
    return f'<p class="missing">{_e(text)}</p>'

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
