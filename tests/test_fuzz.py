"""Bad input, tried at scale: mutated instance files either validate (and small ones solve) or fail in one line.

Hypothesis mutates three valid files (the small and reference instances and a generated one): fields dropped,
retyped, set to NaN, infinities, negative or huge numbers, dates shuffled, names duplicated across kinds, unknown
keys, odd keys; and the text itself: truncated, spliced with bytes, not UTF-8, deeply nested, tagged, alias and
merge bombs. Each case must give an :class:`~solver.schema.Instance` or an :class:`InstanceError` whose message is
one line naming the file and a field path (or saying the file is not YAML, not readable, not a mapping) and what
was expected; never another exception, never a hang. Derandomized, so CI tries the same cases every run; run with
``-s`` to see how many cases gave which class of error.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import signal
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import INSTANCES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import Instance, InstanceError, load_instance, solve
from solver.cli import main as cli_main
from solver.generate import generate_yaml

BASES = {
    "small": (INSTANCES / "small.yaml").read_text(),
    "reference": (INSTANCES / "reference.yaml").read_text(),
    "generated": generate_yaml(seed=7, sites=2, contracts=2, satellite_classes=1, hardware_generations=2,
                               horizon_years=2, period_months=3),
}
PARSED = {name: yaml.safe_load(text) for name, text in BASES.items()}
SOLVED_BASES = ("small", "generated")  # small enough to solve every valid mutation in well under a second
SOURCE_KINDS = (("hyperscaler_contracts",), ("fixed_block_leases",), ("terrestrial", "sites"),
                ("orbital", "satellite_classes"))

WEIRD = [math.nan, math.inf, -math.inf, -1, -1e-9, 0, 0.5, 1e-300, 1e308, 10**30, 2**63, "", "x", "1e3", "NaN",
         "2026-13", "2026-1", "1999-01", "2999-12", "2026-07-01", None, True, False, [], {}, [1, 2], {"a": 1},
         {2026: 1, 2200: 2}, {"2026-01": -1}, "\u00e9\u221e", "a\nb"]
FACTORS = [-1.0, 0.0, 1e-12, 1e-3, 0.5, 0.9, 2.0, 1e3, 1e12, 1e300]
CASE_SECONDS = 30  # a hard bound per case: a hang fails the test instead of stalling CI
SOLVE_SECONDS = 5
SENTINEL = "dcopt_fuzz_constructed"  # a file a constructed !!python object would create

MESSAGES: Counter[str] = Counter()  # class of outcome -> cases, reported at the end of the module
# A path part: a plain key, pydantic's [key], or a quoted odd key (cut with "..." when long).
PATH = r"(?:[\w\-]+|\[key\]|'(?:[^'\\]|\\.)*(?:'|\.\.\.)|\"(?:[^\"\\]|\\.)*(?:\"|\.\.\.))"
FIELD_PATH = re.compile(rf"^{PATH}(?:\.{PATH})*: ")
# Every message says what was expected, in one of these words (pydantic's, the schema's, or the YAML parser's).
EXPECTATION = re.compile(r"expected|should|must|unknown|required|exceed|precede|outside|below|whole number|give "
                         r"exactly one|does not fit|duplicate|unusable|cannot|deeper than|expand to|could not|found|"
                         r"no generation|not allowed|mapping", re.IGNORECASE)
CLASSES = [  # (class, pattern), first match wins
    ("YAML: tag refused", "could not determine a constructor"), ("YAML: nesting bound", "nested deeper than"),
    ("YAML: merge bound", "merge keys"), ("YAML: duplicate key", "duplicate key"),
    ("YAML: bad tagged value", r"\(YAML\).*cannot read"), ("YAML: syntax", r"\(YAML\)"),
    ("unreadable (not UTF-8)", "cannot read the file"), ("not a mapping", r"\(top level\): expected a mapping"),
    ("unknown field", "unknown field"), ("missing field", "Field required"), ("not finite", "finite number"),
    ("bound", "greater than|less than|at most|at least|should have"), ("month format", "expected a month"),
    ("outside the horizon", "outside the horizon"), ("wrong type", "Input should be|String should"),
    ("unknown reference", "unknown hardware|unknown launch vehicle"),
    ("duplicate source name", "source name unique"),
]


class CaseTimeoutError(Exception):
    """A case ran past its time (not an OSError, which the loader would take for an unreadable file)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail (not hang) if the block takes longer than ``seconds``: SIGALRM interrupts Python code."""
    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeoutError(f"case took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def classify(message: str) -> str:
    return next((name for name, pattern in CLASSES if re.search(pattern, message)), "cross-field")


def check_message(message: str, path: Path) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert message.isprintable(), message
    prefix = f"{path}: "
    assert message.startswith(prefix), message
    rest = message[len(prefix):]
    assert rest.startswith(("(YAML) ", "cannot read the file: ", "(top level): ")) or FIELD_PATH.match(rest), message
    assert EXPECTATION.search(rest), message


def try_file(path: Path, content: bytes, *, solve_it: bool = False) -> Instance | None:
    """Load ``content`` as an instance file: an Instance (solved if asked) or a checked one-line error."""
    path.write_bytes(content)
    with time_limit(CASE_SECONDS):
        try:
            instance = load_instance(path)
        except InstanceError as exc:
            check_message(str(exc), path)
            MESSAGES[classify(str(exc))] += 1
            return None
        MESSAGES["valid"] += 1
        if solve_it:
            result = solve(instance, time_limit=SOLVE_SECONDS, threads=1)
            # A valid instance has a plan or is truly infeasible (or needs more time): never an error or a suspect.
            assert result.status in ("optimal", "time_limit", "time_limit_no_solution", "infeasible"), \
                (result.status, result.message)
            MESSAGES[f"valid, solved: {result.status}"] += 1
    return instance


# -- structured mutations of the parsed files ------------------------------------------------------------------

def node_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """The path of every node under ``data`` (mapping keys and list indices), in a fixed order."""
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    paths = []
    for key, value in children:
        paths.append((*prefix, key))
        paths.extend(node_paths(value, (*prefix, key)))
    return paths


def parent_of(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def mapping_at(data: Any, keys: tuple) -> dict | None:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data if isinstance(data, dict) else None


def months_in(data: Any) -> list[str]:
    """Every YYYY-MM string, as a key or a value, in traversal order."""
    if isinstance(data, dict):
        return [m for k, v in data.items() for m in (*months_in(k), *months_in(v))]
    if isinstance(data, list):
        return [m for v in data for m in months_in(v)]
    return [data] if isinstance(data, str) and re.fullmatch(r"\d{4}-\d{2}", data) else []


def with_months(data: Any, months: Iterator[str]) -> Any:
    """``data`` with its YYYY-MM strings replaced, in traversal order, by the next of ``months``."""
    if isinstance(data, dict):
        return {with_months(k, months): with_months(v, months) for k, v in data.items()}
    if isinstance(data, list):
        return [with_months(v, months) for v in data]
    return next(months) if isinstance(data, str) and re.fullmatch(r"\d{4}-\d{2}", data) else data


@st.composite
def mutation(draw: st.DrawFn, data: Any) -> tuple[str, Any]:
    """One change to ``data`` (a fresh copy): returns what was done and the new data."""
    data = yaml.safe_load(yaml.safe_dump(data))  # a deep copy of plain data
    paths = node_paths(data)
    # "scale" twice as likely: most of its changes stay valid, and valid small instances are solved.
    kind = draw(st.sampled_from(["drop", "replace", "scale", "scale", "unknown key", "odd key", "shuffle dates",
                                 "duplicate name"]))
    if kind == "shuffle dates":
        months = months_in(data)
        return kind, with_months(data, iter(draw(st.permutations(months))))
    if kind == "duplicate name":  # a source of one kind named as one of another kind
        kinds = [k for k in SOURCE_KINDS if mapping_at(data, k)]
        if len(kinds) >= 2:
            source, target = draw(st.permutations(kinds))[:2]
            entries = mapping_at(data, target)
            name = draw(st.sampled_from(sorted(mapping_at(data, source))))
            entries[name] = copy.deepcopy(next(iter(entries.values())))
        return kind, data
    path = draw(st.sampled_from(paths))
    parent = parent_of(data, path)
    if kind == "drop":
        del parent[path[-1]]
    elif kind == "replace":
        parent[path[-1]] = draw(st.sampled_from(WEIRD))
    elif kind == "scale":
        value = parent[path[-1]]
        parent[path[-1]] = value * draw(st.sampled_from(FACTORS)) if isinstance(value, int | float) else None
    else:
        target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else data
        key = "surprise" if kind == "unknown key" else draw(st.text(st.characters(exclude_categories=["Cs"]),
                                                                    max_size=12))
        target.setdefault(key, draw(st.sampled_from(WEIRD)))
    return kind, data


@st.composite
def mutated_file(draw: st.DrawFn) -> tuple[str, bytes]:
    base = draw(st.sampled_from(sorted(BASES)))
    data = PARSED[base]
    for _ in range(draw(st.integers(1, 3))):
        _, data = draw(mutation(data))
    return base, yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


# Derandomized (the same cases every run), no example database; the deadline is a second bound after time_limit.
FUZZ = settings(derandomize=True, deadline=timedelta(seconds=20), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz")
    print("\nfuzz outcomes (class: cases):")
    for name, count in sorted(MESSAGES.items(), key=lambda item: -item[1]):
        print(f"  {name}: {count}")
    print(f"  total: {sum(c for name, c in MESSAGES.items() if not name.startswith('valid, solved'))}")


@settings(FUZZ, max_examples=220)
@given(case=mutated_file())
def test_mutated_fields(folder: Path, case: tuple[str, bytes]) -> None:
    base, content = case
    try_file(folder / f"{base}.yaml", content, solve_it=base in SOLVED_BASES)


NUMBERS = [path for path in node_paths(PARSED["small"])
           if isinstance(parent_of(PARSED["small"], path)[path[-1]], int | float)]


@settings(FUZZ, max_examples=30)
@given(path=st.sampled_from(NUMBERS), factor=st.sampled_from(FACTORS))
def test_scaled_numbers_solve_or_fail_in_one_line(folder: Path, path: tuple, factor: float) -> None:
    """Tiny and huge numbers that pass the schema reach the solver: a status, never an exception."""
    data = yaml.safe_load(BASES["small"])
    parent_of(data, path)[path[-1]] *= factor
    try_file(folder / "scaled.yaml", yaml.safe_dump(data).encode(), solve_it=True)


# -- mutations of the text ---------------------------------------------------------------------------------------

TAGS = [f"!!python/object/apply:pathlib.Path.touch [{SENTINEL}]", "!!python/object:solver.schema.Instance {}",
        "!!python/name:os.system", "!!python/tuple [1, 2]", "!!int abc", "!!float ''", "!!bool maybe",
        "!!timestamp 2026-02-30", "!!map [1]", "!!binary '@@'", "!!set {a, b}", "!!omap [a]", "!custom x",
        "!<tag:example.com,2026:x> 1"]


def laughs(levels: int, fanout: int) -> str:
    """A billion-laughs alias bomb: ``fanout ** levels`` strings, if anything expanded it."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def merges(levels: int) -> str:
    """A merge-key bomb: each mapping merges the previous one twice, doubling its entries."""
    return "m0: &m0 {a: 1, b: 2}\n" + "".join(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}\n"
                                               for i in range(1, levels + 1))


def distinct_merges(entries: int) -> str:
    """One mapping of ``entries`` distinct keys merged into another: no PyYAML version drops any of them."""
    return "m0: &m0 {" + ", ".join(f"k{i}: 1" for i in range(entries)) + "}\nm1: {<<: *m0}\n"


def pyyaml_drops_repeated_merges() -> bool:
    """Whether the installed PyYAML merges the same mapping twice as once (it does from 6.0.4): then the merge
    bomb is bounded by PyYAML, and the loader's own bound never fires on it."""
    loader = yaml.SafeLoader("a: &a {x: 1}\nb: {<<: [*a, *a]}\n")
    try:
        node = loader.get_single_node().value[1][1]
        loader.flatten_mapping(node)
        return len(node.value) == 1
    finally:
        loader.dispose()


@st.composite
def mutated_text(draw: st.DrawFn) -> bytes:
    text = BASES[draw(st.sampled_from(sorted(BASES)))]
    at = draw(st.integers(0, len(text)))
    kind = draw(st.sampled_from(["truncate", "splice bytes", "binary", "not UTF-8", "deep nesting", "tag",
                                 "alias bomb", "merge bomb"]))
    if kind == "truncate":
        return text[:at].encode()
    if kind == "splice bytes":
        return text[:at].encode() + draw(st.binary(min_size=1, max_size=16)) + text[at:].encode()
    if kind == "binary":
        return draw(st.binary(max_size=256))
    if kind == "not UTF-8":
        return ("# \u00e9\n" + text).encode(draw(st.sampled_from(["latin-1", "utf-16", "cp1252"])))
    if kind == "deep nesting":
        depth = draw(st.sampled_from([10, 49, 51, 1000, 100_000]))
        open_, close = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
        return ("name: " + open_ * depth + "1" + close * depth + "\n").encode() + text.encode()
    # A tag or an alias bomb in place of a value: the bomb written inline, so the field holds it.
    line = draw(st.sampled_from([line for line in text.splitlines() if re.match(r"^\s*\w+: \S", line)]))
    key = line.split(":")[0]
    if kind == "tag":
        value = draw(st.sampled_from(TAGS))
    elif kind == "alias bomb":
        levels = draw(st.integers(1, 12))
        value = "[&l0 [" + ", ".join(["lol"] * 9) + "]" + "".join(
            f", &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)) + "]"
    else:
        value = "[&m0 {a: 1, b: 2}" + "".join(f", &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}"
                                              for i in range(1, draw(st.integers(1, 40)) + 1)) + "]"
    return text.replace(line, f"{key}: {value}", 1).encode()


@settings(FUZZ, max_examples=150)
@given(content=mutated_text())
def test_mutated_text(folder: Path, content: bytes) -> None:
    try_file(folder / "text.yaml", content)
    assert not Path(SENTINEL).exists()  # no !!python tag ever constructs an object


@settings(FUZZ, max_examples=40)
@given(content=st.one_of(mutated_text(), mutated_file().map(lambda case: case[1])))
def test_cli_validate(folder: Path, content: bytes) -> None:
    path = folder / "cli.yaml"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with time_limit(CASE_SECONDS), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["validate", str(path)])
    MESSAGES[f"cli exit {code}"] += 1
    if code == 0:
        assert out.getvalue().startswith(f"{path}: ok")
        return
    assert code == 2
    [line] = err.getvalue().splitlines()
    assert "Traceback" not in err.getvalue()
    check_message(line, path)


# -- the hostile cases, named --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    (laughs(30, 9), "unknown field"),  # 9**30 strings if expanded: the aliases share one list
    # 2**40 entries if expanded: the loader's bound stops it, or PyYAML itself and then the schema names m0
    (merges(40), "m0: unknown field" if pyyaml_drops_repeated_merges() else "merge keys (<<) expand to more than"),
    (distinct_merges(10_001), "merge keys (<<) expand to more than 10000 entries"),  # the bound, on any PyYAML
    # as many keys, none merged: the file is large, not a bomb, and is said to be what it is
    ("m0: {" + ", ".join(f"k{i}: 1" for i in range(10_001)) + "}\n", "m0: unknown field"),
    ("name: " + "[" * 100_000 + "]" * 100_000, "nested deeper than"),  # the composer recurses
    ("name: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    ("name: !!int abc\n", "cannot read 'abc' as tag:yaml.org,2002:int"),
])
def test_hostile_yaml_is_bounded(folder: Path, text: str, expected: str) -> None:
    """Rejected in one line naming the problem, within 5 s and 64 MiB of Python allocations (an expanded bomb
    would take gigabytes), whichever of PyYAML and the loader does the bounding."""
    path = folder / "hostile.yaml"
    path.write_text(text)
    tracemalloc.start()
    try:
        with time_limit(5), pytest.raises(InstanceError) as err:
            load_instance(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB"
    check_message(str(err.value), path)
    assert expected in str(err.value)
    assert ("merge keys" in str(err.value)) == ("merge keys" in expected)


SOURCE_SECTIONS = ("hyperscaler_contracts", "fixed_block_leases", "terrestrial", "orbital", "resale")


def degenerate(name: str) -> dict:
    """The small instance made valid but odd: no sources, one kind, no demand, nothing worth buying, one period."""
    data = yaml.safe_load(BASES["small"])
    if name == "no sources":
        for section in SOURCE_SECTIONS:
            del data[section]
    elif name == "contracts only":
        for section in SOURCE_SECTIONS[1:]:
            del data[section]
    elif name == "zero demand":
        data["demand"]["training"] = {"series_units": {"2026-01": 0}, "unmet_penalty_usd_per_unit_month": 3400}
        data["demand"]["inference"]["series_units"] = {"2026-01": 0}
    elif name == "everything unmet":
        for workload in ("training", "inference"):
            data["demand"][workload]["unmet_penalty_usd_per_unit_month"] = 0
    elif name == "one period":  # 2026 as one yearly period; the dates after it moved into it
        data["horizon"].update(end="2026-12", period="year")
        data["demand"]["inference"]["series_units"] = {"2026-01": 50000}
        data["orbital"]["launch_vehicles"]["rocket"]["earliest_launch"] = "2026-07"
        data["orbital"]["satellite_classes"]["sat"]["earliest_launch"] = "2026-07"
    return data


DEGENERATE = ("no sources", "contracts only", "zero demand", "everything unmet", "one period")


@pytest.mark.parametrize("name", DEGENERATE)
def test_degenerate_instances_are_valid_and_solve(folder: Path, name: str) -> None:
    """Valid but odd: each loads and solves to a proven optimum with a plan (the summary, the report and the
    CLI batch of them are tested in test_solve and test_cli)."""
    instance = try_file(folder / "degenerate.yaml", yaml.safe_dump(degenerate(name)).encode())
    assert isinstance(instance, Instance)
    result = solve(instance, threads=1)
    assert result.status == "optimal" and result.has_plan
    if name in ("zero demand", "everything unmet"):
        assert result.objective_usd == pytest.approx(0.0, abs=1e-3)  # nothing to serve, or nothing worth serving


def test_valid_mutations_are_accepted_and_solve(folder: Path) -> None:
    """The other side of the property: a loader that rejected every file would pass the tests above. Twice the
    demand and half the launch price are valid instances, and each solves to a proven optimum."""
    for path, factor in ((("demand", "training", "growth_law", "start_units"), 2.0),
                         (("orbital", "launch_vehicles", "rocket", "launch_price_usd_per_kg"), 0.5)):
        data = yaml.safe_load(BASES["small"])
        parent_of(data, path)[path[-1]] *= factor
        instance = try_file(folder / "valid.yaml", yaml.safe_dump(data).encode())
        assert isinstance(instance, Instance)
        assert solve(instance, threads=1).status == "optimal"
