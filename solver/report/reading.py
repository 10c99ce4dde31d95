"""Reading what the report is made of: a result folder of ``dcopt solve``, the what-if outputs in it or beside
it, and the instance file with its comments (its sources)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import yaml

from solver.instance import InstanceError, load_instance
from solver.marginal import MarginalValues
from solver.results import TABLES, Result


class ReportError(ValueError):
    """The folder is not a result folder (or cannot be read as one)."""

# Capitalised tokens that are units or hardware, not the names of a publication or organisation.
NOT_NAMES = {"MW", "GW", "TW", "KW", "GPU", "GPUs", "CPU", "PUE", "USD", "IT", "PFLOPS", "LEO", "TFLOPS", "NB", "OK"}

SCALED = " (x)"  # the label suffix of a parameter that scales its field (solver.params.Parameter.label)

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
    for name in ("plan", "demand"):
        if name in tables and not tables[name].empty and "months" not in tables[name].columns:
            raise ReportError(f"{result_dir / (name + '.csv')}: no months column (written by an older dcopt, before "
                              "periods of different lengths): solve again")
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
