"""Command line: ``dcopt validate | solve | marginal | tornado | breakeven | sweep | economics | report``
(or ``python -m solver``).

Exit codes: 0 every instance gave a plan (optimal, or the incumbent at a time limit); 1 some solve gave no
trustworthy plan (infeasible, unbounded, no solution at the time limit, suspect, solver error); 2 some instance
file is invalid or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import sys
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pandas as pd

from solver.instance import InstanceError, instance_files, load_instance, read_yaml, with_changes
from solver.marginal import format_marginal, marginal_values, one_more_values
from solver.params import Parameter, parse_param
from solver.results import format_summary, format_usd, readable_table, result_words, write_atomic
from solver.schema import SOURCE_KINDS, Instance
from solver.solve import Planner, Progress, numbered_log
from solver.timegrid import grid_text, parse_grid
from solver.workers import spawn_manager, spawn_pool, submit, terminate

EXIT_OK, EXIT_SOLVE_FAILED, EXIT_INVALID = 0, 1, 2
PROGRESS_EVERY_S = 30.0  # seconds between progress lines of a running solve when standard error is no terminal
PLAN_STATUSES = ("optimal", "time_limit")


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in one line and a pointer to --help, instead of the whole usage text."""

    def error(self, message: str):
        self.exit(EXIT_INVALID, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dcopt", description="Compute-capacity planning for an AI lab (MILP).")
    parser.add_argument("--version", action="version", version=f"dcopt {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check instance files without solving")
    validate.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")

    run = commands.add_parser("solve", help="solve instance files and write one result folder per instance")
    run.add_argument("paths", nargs="+", metavar="FILE_OR_DIR", help="instance files; a directory means every "
                     "*.yaml / *.yml file in it")
    run.add_argument("--out", default="results", type=Path, help="output directory (default: results)")
    run.add_argument("-j", "--jobs", type=_bounded(int, 1), default=1, help="instances solved in parallel processes")
    run.add_argument("--time-limit", type=SECONDS, default=None, metavar="S", help="seconds per solve")
    run.add_argument("--gap", type=GAP, default=1e-4, metavar="G", help="relative MIP gap (default 1e-4)")
    run.add_argument("--threads", type=COUNT, default=1, help="HiGHS threads per solve (default 1: the same plan "
                     "whatever -j and the machine's cores; 0 lets HiGHS choose)")
    run.add_argument("--quiet", action="store_true", help="print only one line per instance")
    run.add_argument("--report", action="store_true", help="also write the marginal values with the plan fixed "
                     "(marginal/), economics.csv and report.html (the HTML report for the board) in each result "
                     "folder")
    run.add_argument("--one-more", action="store_true", help="with --report: also re-solve with one more module "
                     "of power at each site, one more flight a month per vehicle and one more module on the national "
                     "cap (a MILP each, as dcopt marginal)")
    run.add_argument("--progress", type=_bounded(float, 0), default=PROGRESS_EVERY_S, metavar="S",
                     help="a line per running solve (time, best plan, bound, gap) on standard error: live on a "
                     f"terminal, else every S seconds (default {PROGRESS_EVERY_S:g}; 0: none)")
    run.add_argument("--log", type=Path, default=None, metavar="FILE", help="write HiGHS's own log to FILE (with "
                     "several instances, FILE-<instance>.log)")
    run.add_argument("-v", "--verbose", action="store_true", help="print HiGHS's own log (one instance at a time)")

    marginal = commands.add_parser("marginal", help="solve one instance, fix its integer plan and write the "
                                   "marginal values of demand, site power, launch cadence and the national cap")
    marginal.add_argument("instance", type=Path, metavar="INSTANCE")
    marginal.add_argument("--out", default=None, type=Path,
                          help="output directory (default: results/<instance>/marginal)")
    marginal.add_argument("--time-limit", type=SECONDS, default=None, metavar="S", help="seconds for the MILP solve")
    marginal.add_argument("--gap", type=GAP, default=1e-4, metavar="G", help="relative MIP gap (default 1e-4)")
    marginal.add_argument("-j", "--jobs", type=_bounded(int, 1), default=1,
                          help="re-solves run in parallel processes (one HiGHS thread each)")
    marginal.add_argument("--fixed-plan-only", action="store_true", help="only the values with the integer plan "
                          "fixed (one LP); no re-solves with one more unit of site power, cadence or cap")
    _grid_option(marginal)
    _progress_options(marginal)

    tornado = commands.add_parser("tornado", help="re-solve with each parameter at its low and high value; "
                                  "rank by the swing of the net present cost (table and PNG chart)")
    tornado.add_argument("instance", type=Path, metavar="INSTANCE")
    tornado.add_argument("--param", action="append", default=[], metavar="PATH=LOW:HIGH",
                         help="a parameter (PATH*=LOW:HIGH scales every number under PATH); repeatable")
    tornado.add_argument("--params", type=Path, default=None, metavar="FILE",
                         help="a file of parameters, one PATH=LOW:HIGH per line (# comments)")
    _what_if_options(tornado)

    breakeven = commands.add_parser("breakeven", help="the value of a parameter at which a source enters or "
                                    "leaves the optimal plan")
    breakeven.add_argument("instance", type=Path, metavar="INSTANCE")
    breakeven.add_argument("--param", required=True, metavar="PATH", help="the parameter (PATH* to scale)")
    breakeven.add_argument("--source", required=True, metavar="NAME",
                           help=f"a source name, or a kind of source: {', '.join(SOURCE_KINDS)}")
    breakeven.add_argument("--between", required=True, nargs=2, type=FINITE, metavar=("A", "B"),
                           help="the range searched, A < B")
    breakeven.add_argument("--by", default=None, metavar="YYYY-MM", help="count only MW online in periods starting "
                           "by this month (the break-even of entering by then)")
    breakeven.add_argument("--tolerance", type=_bounded(float, 0, open_low=True), default=None,
                           help="width of the final bracket of a bisection, in the parameter's unit (default: 1%% "
                           "of B - A)")
    breakeven.add_argument("--method", choices=("auto", "lines", "bisection"), default="auto",
                           help="lines: the plans' cost lines locate the break-even (a parameter that only moves "
                           "costs, linearly: a few solves); bisection: on the plan indicator; auto (default): lines "
                           "where they apply")
    breakeven.add_argument("--screen", type=_grid_argument, default=None, metavar="GRID",
                           help="find the break-even on this coarser grid first (e.g. month:2027-12,quarter), then "
                           "search the instance's grid (or --grid's) from the screen's crossing, not from A and B")
    _what_if_options(breakeven)

    sweep = commands.add_parser("sweep", help="solve every point of a Latin hypercube or Sobol' design; "
                                "resumable, point by point in SQLite")
    sweep.add_argument("instance", type=Path, metavar="INSTANCE")
    sweep.add_argument("--spec", required=True, type=Path, metavar="SWEEP.yaml")
    sweep.add_argument("--out", default=None, type=Path,
                       help="output directory (default: results/<instance>/sweep-<spec>); run again to resume")
    sweep.add_argument("-j", "--jobs", type=_bounded(int, 1), default=1,
                       help="worker processes (one HiGHS thread each)")
    sweep.add_argument("--rebuild", action="store_true",
                       help="rebuild the model at every point instead of changing it in place (benchmarks)")
    sweep.add_argument("--limit", type=COUNT, default=None, help="stop after this many new points")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    _grid_option(sweep)
    sweep.add_argument("--error-sample", type=COUNT, default=None, metavar="N",
                       help="with --grid: solve N points drawn from the design on the instance's own grid too, and "
                       "write the screening grid's cost error on them (grid_error.csv, grid_error.json)")

    stochastic = commands.add_parser("stochastic", help="plan on a scenario tree: what to do now, cost by scenario, "
                                     "EVPI, VSS and the value of each option (exit clauses, waiting to sign)")
    stochastic.add_argument("instance", type=Path, metavar="INSTANCE")
    stochastic.add_argument("--tree", required=True, type=Path, metavar="TREE.yaml", help="the scenario tree")
    stochastic.add_argument("--option", action="append", default=None, metavar="NAME",
                            help="value this option of the tree (repeatable; default: all of them)")
    stochastic.add_argument("--no-options", action="store_true", help="value no option")
    stochastic.add_argument("--no-metrics", action="store_true", help="only the tree (RP): no WS, EV, EEV")
    stochastic.add_argument("--out", default=None, type=Path,
                            help="output directory (default: results/<instance>/stochastic-<tree>)")
    stochastic.add_argument("--time-limit", type=SECONDS, default=None, metavar="S", help="seconds for each solve")
    stochastic.add_argument("--gap", type=GAP, default=1e-4, metavar="G", help="relative MIP gap (default 1e-4)")
    stochastic.add_argument("-j", "--jobs", type=_bounded(int, 1), default=1,
                            help="WS, EV and option solves in parallel processes (one HiGHS thread each)")
    _grid_option(stochastic)

    economics = commands.add_parser("economics", help="levelized cost of each source by component, per MW-year "
                                    "and per compute unit-year (table, CSV and chart)")
    economics.add_argument("instance", type=Path, metavar="INSTANCE")
    economics.add_argument("--year", type=_bounded(int, 1900, 2200), default=None, metavar="Y",
                           help="start year costed (default: "
                           "every year of the horizon a source can start in)")
    economics.add_argument("--out", default=None, type=Path, help="output directory (default: results/<instance>)")

    report = commands.add_parser("report", help="write the HTML report of a result folder of dcopt solve (with the "
                                 "marginal values, tornado, break-even, sweeps and economics found in it)")
    report.add_argument("result_dir", type=Path, metavar="RESULT_DIR")
    report.add_argument("--out", default=None, type=Path, metavar="FILE",
                        help="the HTML file (default: RESULT_DIR/report.html)")

    generate = commands.add_parser("generate", help="write a seeded instance scaled from the reference figures")
    generate.add_argument("--seed", type=int, required=True)
    generate.add_argument("--sites", type=int, default=4)
    generate.add_argument("--contracts", type=int, default=4)
    generate.add_argument("--satellite-classes", type=int, default=2)
    generate.add_argument("--hardware-generations", type=int, default=4)
    generate.add_argument("--horizon-years", type=int, default=7, help="from 2026-01")
    generate.add_argument("--period-months", type=int, default=1, choices=(1, 3, 12))
    generate.add_argument("--reference", type=Path, default=None, help="the instance to draw figures from "
                          "(default: instances/reference.yaml)")
    generate.add_argument("--out", type=Path, required=True, metavar="FILE.yaml")
    return parser


def _bounded(kind: type, low: float, high: float = float("inf"), *, open_low: bool = False):
    """An argparse type: a number of ``kind`` in [low, high] (or (low, high] with ``open_low``)."""
    def parse(text: str):
        try:
            number = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'a whole' if kind is int else 'a'} number, got {text!r}") \
                from None
        if not math.isfinite(number):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if not (low < number if open_low else low <= number) or not number <= high:
            side = "above" if open_low else "at least"
            raise argparse.ArgumentTypeError(f"expected {side} {low:g}" + (f" and at most {high:g}"
                                             if high != float("inf") else "") + f", got {text}")
        return number
    return parse


FINITE = _bounded(float, -float("inf"), open_low=True)
GAP = _bounded(float, 0, 0.99, open_low=True)
SECONDS = _bounded(float, 0, open_low=True)
COUNT = _bounded(int, 0)


def _what_if_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="fixed",
                         help="a fixed change for every solve, VALUE in YAML (e.g. "
                         "orbital.launch_vehicles.starship.learning_curve=null); repeatable")
    command.add_argument("--out", default=None, type=Path, help="output directory (default: results/<instance>)")
    command.add_argument("--time-limit", type=SECONDS, default=None, metavar="S", help="seconds per solve")
    command.add_argument("--gap", type=GAP, default=1e-4, metavar="G", help="relative MIP gap (default 1e-4)")
    command.add_argument("--threads", type=COUNT, default=None, help="HiGHS threads (default: HiGHS's choice)")
    _grid_option(command)
    _progress_options(command)


def _grid_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--grid", type=_grid_argument, default=None, metavar="GRID",
                         help="a screening resolution: solve on this grid instead of the instance's: month, quarter, "
                         "year or segments such as month:2027-12,quarter:2030-12,year (the output says which grid "
                         "it used)")


def _grid_argument(text: str) -> str:
    try:
        parse_grid(text)
        return text
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _load_at_grid(args: argparse.Namespace) -> tuple[Instance, str]:
    """The instance of a what-if command, at --grid's period length if given, and a line saying which grid."""
    instance = load_instance(args.instance)
    own = grid_text(instance.horizon.period)
    if args.grid is None:
        return instance, f"Grid: {own} (the instance's own)"
    try:
        changed = with_changes(instance, {"horizon.period": parse_grid(args.grid)})
    except InstanceError as exc:
        raise InstanceError(f"dcopt {args.command}: --grid {args.grid}: {exc}") from None
    new = grid_text(changed.horizon.period)
    if new == own:
        return instance, f"Grid: {own} (the instance's own)"
    return changed, f"Grid: {new}, a screening grid (the instance's own is {own})"


def _progress_options(command: argparse.ArgumentParser) -> None:
    """--progress, --log and -v of a command that solves many times."""
    command.add_argument("--progress", type=_bounded(float, 0), default=PROGRESS_EVERY_S, metavar="S",
                         help="a line on the running solve (time, best plan, bound, gap) on standard error: live on "
                         f"a terminal, else every S seconds (default {PROGRESS_EVERY_S:g}; 0: none)")
    command.add_argument("--log", type=Path, default=None, metavar="FILE", help="write HiGHS's own log of each "
                         "solve, to FILE-<solve>.log")
    command.add_argument("-v", "--verbose", action="store_true", help="print HiGHS's own log (no progress lines)")


def _log_options(args: argparse.Namespace) -> dict:
    """The HiGHS log options of a what-if command, its --log stem checked to be writable before any solve."""
    if args.log is not None:
        check_file(args.log, f"dcopt {args.command}: --log")
        args.log.parent.mkdir(parents=True, exist_ok=True)  # HiGHS does not make it, and says nothing
    return {"log": args.verbose, "log_file": str(args.log) if args.log is not None else None}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dcopt")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _folder_problem(path: Path, named: Path) -> str | None:
    """Why ``path`` cannot be written in as a folder (made if it does not exist), or None; said of ``named``, the
    path the user gave (``path`` itself or a file in it)."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return "is a file; expected a folder" if existing == named else f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write in {existing} (permission denied)"
    return None


def check_folder(path: Path, argument: str) -> None:
    """Raise :class:`InstanceError` unless ``path`` is a folder this process can write in, or can be made as one:
    checked before any solve, so an hour of solving is never lost to an output that cannot be written."""
    if problem := _folder_problem(path, path):
        raise InstanceError(f"{argument} {path}: {problem}")


def check_file(path: Path, argument: str) -> None:
    """As :func:`check_folder`, for a file to be written (replaced if it exists)."""
    if path.is_dir():
        problem = "is a folder; expected a file name"
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "cannot write it (permission denied)"
    else:
        problem = _folder_problem(path.parent, path)
    if problem:
        raise InstanceError(f"{argument} {path}: {problem}")


def _out(args: argparse.Namespace, default: Path) -> Path:
    """The output folder of a what-if command (``--out``, or ``default``), checked to be writable."""
    out = args.out if args.out is not None else default
    check_folder(out, f"dcopt {args.command}: --out" if args.out is not None else f"dcopt {args.command}: output")
    return out


def _fixed_changes(texts: list[str]) -> dict:
    fixed = {}
    for text in texts:
        path, sep, content = text.partition("=")
        if not sep or not path.strip():
            raise InstanceError(f"--set {text!r}: expected PATH=VALUE")
        fixed[path.strip()] = read_yaml(content, f"--set {text!r}")
    return fixed


def validate_command(paths: list[str]) -> int:
    files = instance_files(paths)
    if not files:
        print("dcopt validate: no instance files found in " + " ".join(paths), file=sys.stderr)
        return EXIT_INVALID
    code = EXIT_OK
    for path in files:
        try:
            instance = load_instance(path)
        except InstanceError as exc:
            print(exc, file=sys.stderr)
            code = EXIT_INVALID
        else:
            print(f"{path}: ok ({instance.name})")
    return code


def write_economics(instance: Instance, out: Path, year: int | None = None) -> pd.DataFrame:
    """Levelized costs of ``instance``'s sources: economics.csv and the components chart (economics.png/.svg;
    none when no source can start in the years asked for)."""
    from solver.economics import levelized_costs
    from solver.plots import plot_levelized_costs

    table = levelized_costs(instance, year=year)
    write_atomic(out / "economics.csv", table.to_csv(index=False))
    if not table.empty:
        plot_levelized_costs(table, out / "economics", compute_unit=instance.demand.compute_unit)
    return table


class ProgressBoard:
    """One line per running solve, on ``stream``: redrawn in place on a terminal; elsewhere (a log, CI) printed
    once a solve has run ``every_s`` seconds, then every ``every_s`` seconds. ``every_s`` 0: no lines."""

    def __init__(self, stream, every_s: float):
        self.stream, self.every_s = stream, every_s
        self.live = every_s > 0 and stream.isatty()
        self.lines: dict[str, str] = {}
        self.drawn = 0
        self.due: dict[str, float] = {}

    def update(self, name: str, progress: Progress) -> None:
        if not self.every_s:
            return
        line = _progress_line(name, progress)
        if self.live:
            self.lines[name] = line
            self._draw()
        else:
            now = time.monotonic()
            due = self.due.setdefault(name, now + self.every_s)
            if now >= due:
                print(line, file=self.stream, flush=True)
                self.due[name] = now + self.every_s

    def finished(self, name: str) -> None:
        self.lines.pop(name, None)
        self.due.pop(name, None)
        if self.live:
            self._draw()

    def print(self, text: str, file=None) -> None:
        """Print a finished result above the live lines."""
        self._erase()
        print(text, file=file or sys.stdout, flush=True)
        if self.live:
            self._draw()

    def _erase(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")  # back to the first live line, clear to the end
            self.stream.flush()
            self.drawn = 0

    def _draw(self) -> None:
        self._erase()
        for line in self.lines.values():
            self.stream.write(line[: shutil.get_terminal_size().columns - 1] + "\n")
        self.stream.flush()
        self.drawn = len(self.lines)


def _progress_line(name: str, p: Progress) -> str:
    if p.incumbent_usd is None:
        return f"  {name}: {p.elapsed_s:,.0f} s, no plan yet"
    bound = f", bound {format_usd(p.bound_usd)}" if p.bound_usd is not None else ""
    gap = f", gap {p.gap:.1e}" if p.gap is not None else ""
    return f"  {name}: {p.elapsed_s:,.0f} s, best plan {format_usd(p.incumbent_usd)}{bound}{gap}"


def solve_file(path: Path, out: Path, time_limit: float | None, gap: float, threads: int | None,
               report: bool = False, log: str | None = None, verbose: bool = False,
               progress: Callable[[str, Progress], None] | None = None, one_more: bool = False) -> dict:
    """Solve one file and write its result folder (with a copy of the instance file, whose comments are its
    sources, for the report); returns the summary row and the printable summary. ``report``: also the levelized
    costs and report.html; if they fail the solve still counts, and the row says why there is no report."""
    row: dict = {"file": str(path), "instance": path.stem}
    try:
        instance = load_instance(path)
    except InstanceError as exc:
        return row | {"status": "invalid", "message": str(exc), "text": str(exc)}
    try:
        return row | _solve_and_write(path, instance, out, time_limit, gap, threads, report, log, verbose,
                                      progress, one_more)
    except Exception as exc:  # a bug, the solver, a full disk: report it for this file, carry on with the others
        message = f"{path}: error while solving or writing: {type(exc).__name__}: {exc}"
        return row | {"status": "error", "message": message, "text": message}


def _solve_and_write(path: Path, instance: Instance, out: Path, time_limit: float | None, gap: float,
                     threads: int | None, report: bool, log: str | None, verbose: bool,
                     progress: Callable[[str, Progress], None] | None, one_more: bool) -> dict:
    folder = out / path.stem
    planner = Planner(instance)
    result = planner.solve(time_limit=time_limit, mip_gap=gap, threads=threads, log=verbose, log_file=log,
                           progress=(lambda p: progress(path.stem, p)) if progress else None)
    result.to_csv(folder)
    result.to_json(folder / "result.json")
    write_atomic(folder / "instance.yaml", path.read_text(encoding="utf-8"))
    text = format_summary(result)
    row: dict = {}
    if report:
        from solver.report import write_report

        if result.has_plan:
            try:  # the report is still written without them, saying they are missing
                values = marginal_values(planner, result)
                if one_more:
                    values.one_more = one_more_values(
                        planner, result, mip_gap=gap, time_limit=time_limit,
                        report=lambda line: print(f"  {path.stem}: {line}", file=sys.stderr, flush=True))
                values.to_csv(folder / "marginal")
            except Exception as exc:  # noqa: BLE001 - one line for this file, the rest of the report goes on
                row["report_error"] = f"{path}: no marginal values: {type(exc).__name__}: {exc}"
                text += "\n" + row["report_error"]
        try:
            write_economics(instance, folder)
            row["report"] = str(write_report(folder))
            text += f"\nReport written to {row['report']}"
        except Exception as exc:  # as above: one line for this file; its plan and tables are written
            row["report_error"] = f"{path}: no report: {type(exc).__name__}: {exc}"
            text += "\n" + row["report_error"]
    return row | {
        "instance": instance.name,
        "status": result.status,
        "net_present_cost_usd": result.objective_usd,
        "gap": result.gap,
        "solve_s": result.times_s.get("solve"),
        "unmet_unit_months": (float((result.demand["unmet_units"] * result.demand["months"]).sum())
                              if result.has_plan else None),
        "message": result.message,
        "result_dir": str(folder),
        "text": text,
    }


class QueuedProgress:
    """Progress of a solve in a worker process, sent to the parent's queue (a picklable callable)."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, name: str, progress: Progress) -> None:
        self.queue.put((name, progress))


def _solve_reporters(every_s: float) -> tuple[Callable[[str], None], Callable[[Progress], None] | None]:
    """For a command that solves many times (marginal, tornado, break-even): a function printing a line on
    standard error as each solve ends, and one showing the running solve's progress (None when not shown)."""
    board = ProgressBoard(sys.stderr, every_s)

    def finished(line: str) -> None:
        board.finished("solving")
        board.print(f"  {line}", file=sys.stderr)

    return finished, (lambda p: board.update("solving", p)) if board.every_s else None


def _worker_row(path: Path, future) -> dict:
    """The summary row a worker returned, or one saying why it could not."""
    try:
        return future.result()
    except BrokenProcessPool as exc:  # a worker died (out of memory, a crash in the solver)
        message = f"{path}: the worker process died: {exc}"
    except Exception as exc:  # noqa: BLE001 - it could not reach or leave the worker: this file's failure
        message = f"{path}: error in the worker process: {type(exc).__name__}: {exc}"
    return {"file": str(path), "instance": path.stem, "status": "error", "message": message, "text": message}


def solve_command(args: argparse.Namespace) -> int:
    files = instance_files(args.paths)
    if not files:
        print("dcopt solve: no instance files found in " + " ".join(args.paths), file=sys.stderr)
        return EXIT_INVALID
    for folder in (args.out, *(args.out / path.stem for path in files)):
        check_folder(folder, "dcopt solve: --out")
    if args.verbose and args.jobs > 1:
        raise InstanceError("dcopt solve: -v prints HiGHS's log, which needs one solve at a time (-j 1); "
                            "use --log FILE with -j")
    if args.log is not None:
        check_file(args.log, "dcopt solve: --log")
        args.log.parent.mkdir(parents=True, exist_ok=True)  # HiGHS does not make it, and says nothing
    if args.one_more and not args.report:
        raise InstanceError("dcopt solve: --one-more adds re-solves to the report's marginal values: give --report "
                            "too (or run dcopt marginal)")

    def log_of(path: Path) -> str | None:
        if args.log is None:
            return None
        return str(args.log if len(files) == 1 else args.log.with_name(f"{args.log.stem}-{path.stem}.log"))

    options = (args.out, args.time_limit, args.gap, args.threads, args.report)
    board = ProgressBoard(sys.stderr, 0 if args.quiet or args.verbose else args.progress)
    rows: list[dict] = []

    def show(row: dict) -> None:
        board.finished(row["instance"])
        if row["status"] in ("invalid", "error"):  # the message names the file
            board.print(row["message"], file=sys.stderr)
        elif args.quiet:
            cost = row.get("net_present_cost_usd")
            detail = f"${cost / 1e9:,.2f}B" if cost is not None else row.get("message", "")
            board.print(f"{row['file']}: {row['status']} {detail}")
            if "report_error" in row:
                board.print(row["report_error"], file=sys.stderr)
        else:
            board.print(row["text"] + "\n")

    if args.jobs <= 1:
        for path in files:
            rows.append(solve_file(path, *options, log_of(path), args.verbose,
                                   board.update if board.every_s else None, args.one_more))
            show(rows[-1])
    else:
        pool, manager = spawn_pool(args.jobs), spawn_manager()
        updates = manager.Queue()
        sent = QueuedProgress(updates) if board.every_s else None
        try:
            futures = {submit(pool, solve_file, path, *options, log_of(path), False, sent, args.one_more): path
                       for path in files}
            pending = set(futures)
            while pending:  # results as they finish, live lines in between
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                while not updates.empty():
                    board.update(*updates.get())
                for future in sorted(done, key=lambda f: files.index(futures[f])):
                    rows.append(_worker_row(futures[future], future))
                    show(rows[-1])
        except BaseException:  # Ctrl-C: stop the solves now; the result folders written so far are kept
            terminate(pool)
            raise
        finally:
            manager.shutdown()
        pool.shutdown()
        rows.sort(key=lambda row: files.index(Path(row["file"])))

    table = pd.DataFrame([{k: v for k, v in row.items() if k != "text"} for row in rows])
    try:
        write_atomic(args.out / "summary.csv", table.to_csv(index=False))
    except OSError as exc:
        print(f"dcopt solve: cannot write {args.out / 'summary.csv'}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    print(f"Summary of {len(rows)} instance(s) written to {args.out / 'summary.csv'}")
    if any(row["status"] == "invalid" for row in rows):
        return EXIT_INVALID
    if any(row["status"] not in PLAN_STATUSES or "report_error" in row for row in rows):
        return EXIT_SOLVE_FAILED
    return EXIT_OK


def marginal_command(args: argparse.Namespace) -> int:
    """Solve, fix the integer plan, write the marginal-value tables and print a summary of them; then re-solve
    with one more unit of each limit, the plan free (unless --fixed-plan-only)."""
    path: Path = args.instance
    out = _out(args, Path("results") / path.stem / "marginal")
    instance, grid = _load_at_grid(args)
    if args.verbose and args.jobs > 1:
        raise InstanceError("dcopt marginal: -v prints HiGHS's log, which needs one solve at a time (-j 1); "
                            "use --log FILE with -j")
    logs = _log_options(args)
    finished, progress = _solve_reporters(0 if args.verbose else args.progress)
    try:
        planner = Planner(instance)
        result = planner.solve(time_limit=args.time_limit, mip_gap=args.gap, threads=1, progress=progress,
                               log=args.verbose, log_file=numbered_log(logs["log_file"], "plan"))
        finished(f"the plan: {result_words(result)}")
        values = marginal_values(planner, result)
        if not args.fixed_plan_only:
            values.one_more = one_more_values(planner, result, mip_gap=args.gap, time_limit=args.time_limit,
                                              workers=args.jobs, report=finished, log=args.verbose,
                                              log_file=logs["log_file"])
    except ValueError as exc:  # no plan: infeasible, nothing found within the time limit...
        print(f"{path}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    except Exception as exc:  # a bug of ours or the solver's: one line, no traceback
        print(f"{path}: error while computing marginal values: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    try:
        values.to_csv(out)
    except OSError as exc:
        print(f"{path}: cannot write the marginal values to {out}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    print(grid)
    print(format_marginal(values))
    print(f"\nMarginal values written to {out}")
    return EXIT_OK if values.status in PLAN_STATUSES else EXIT_SOLVE_FAILED


def stochastic_command(args: argparse.Namespace) -> int:
    """Solve the tree and its metrics, write the tables and print the answer."""
    from solver.stochastic import build_tree, format_stochastic, load_tree, solve_stochastic

    instance, grid = _load_at_grid(args)
    spec = load_tree(args.tree)
    out = _out(args, Path("results") / args.instance.stem / f"stochastic-{args.tree.stem}")
    tree = build_tree(instance, spec, str(args.tree))
    options = [] if args.no_options else args.option
    result = solve_stochastic(instance, tree, options=options, metrics=not args.no_metrics, mip_gap=args.gap,
                              time_limit=args.time_limit, workers=args.jobs,
                              log=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        result.write(out)
    except OSError as exc:
        print(f"{args.instance}: cannot write the tree's results to {out}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    print(grid)
    print(format_stochastic(result))
    print(f"\nTables written to {out}")
    return EXIT_OK if result.status in PLAN_STATUSES else EXIT_SOLVE_FAILED


def tornado_command(args: argparse.Namespace) -> int:
    from solver.plots import plot_tornado
    from solver.sensitivity import tornado

    lines = list(args.param)
    if args.params is not None:
        try:
            text = args.params.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceError(f"{args.params}: cannot read the parameter file: {exc}") from None
        lines += [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]
    if not lines:
        raise InstanceError("dcopt tornado: give at least one --param PATH=LOW:HIGH (or --params FILE)")
    parameters = [parse_param(line) for line in lines]
    out = _out(args, Path("results") / args.instance.stem)
    instance, grid = _load_at_grid(args)
    logs = _log_options(args)
    finished, progress = _solve_reporters(0 if args.verbose else args.progress)
    result = tornado(instance, parameters, fixed=_fixed_changes(args.fixed), mip_gap=args.gap,
                     time_limit=args.time_limit, threads=args.threads, report=finished, progress=progress, **logs)
    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / "tornado.csv")
    plot_tornado(result.table, out / "tornado", base_usd=result.base_usd)
    shown = result.table[["parameter", "low", "high", "delta_low_usd", "delta_high_usd", "swing_usd"]].copy()
    for column in ("delta_low_usd", "delta_high_usd"):
        shown[column] = shown[column].map(lambda v: ("+" if v >= 0 else "-") + format_usd(abs(v)))
    shown["swing_usd"] = shown["swing_usd"].map(format_usd)
    shown.columns = ["parameter", "low", "high", "change at low", "change at high", "swing"]
    print(f"Tornado of {instance.name}: base net present cost {format_usd(result.base_usd)}")
    print(grid)
    print(readable_table(shown))
    # Plan changes run to hundreds of characters: a wrapped paragraph per parameter, not a table column.
    print("\nWhat changes in the plan (sources entering +, leaving -, or changing MW-months):")
    for row in result.table.itertuples():
        for end, change in (("low", row.plan_change_low), ("high", row.plan_change_high)):
            print(textwrap.fill(change, width=110, initial_indent=f"  {row.parameter} at {end}: ",
                                subsequent_indent="      ", break_on_hyphens=False))
    print(f"\nTable and chart written to {out / 'tornado.csv'} and {out / 'tornado.png'}")
    return EXIT_OK


def breakeven_command(args: argparse.Namespace) -> int:
    from solver.sensitivity import breakeven, check_month_in_horizon, check_source, screening_instance

    path = args.param.strip()
    low, high = args.between
    if not low < high:
        raise InstanceError(f"dcopt breakeven: --between A B: expected A < B, got {low:g} and {high:g}")
    parameter = Parameter(path=path.removesuffix("*"), low=low, high=high, scale=path.endswith("*"))
    out = _out(args, Path("results") / args.instance.stem)
    instance, grid = _load_at_grid(args)
    check_source(instance, args.source, "dcopt breakeven: --source")
    if args.by is not None:
        check_month_in_horizon(instance, args.by, "dcopt breakeven: --by")
    screen = None  # the screening grid, as horizon.period in JSON
    if args.screen is not None:
        try:
            screen = screening_instance(instance, parse_grid(args.screen)).model_dump(mode="json")["horizon"]["period"]
        except InstanceError as exc:
            raise InstanceError(f"dcopt breakeven: --screen {args.screen}: {exc}") from None
    logs = _log_options(args)
    try:
        finished, progress = _solve_reporters(0 if args.verbose else args.progress)
        result = breakeven(instance, parameter, args.source, tolerance=args.tolerance, by=args.by,
                           fixed=_fixed_changes(args.fixed), mip_gap=args.gap, time_limit=args.time_limit,
                           threads=args.threads, report=finished, progress=progress, method=args.method,
                           screen_grid=screen, **logs)
    except InstanceError:
        raise
    except (ValueError, RuntimeError) as exc:  # no sign change between the ends, or a solve without a plan
        print(f"{args.instance}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "breakeven.csv", result.evaluations.to_csv(index=False))
    # What the evaluations are of, for the report's chart and text (JSON has no inf: an unknown band is null).
    facts = {"instance": instance.name, "set": _fixed_changes(args.fixed), "parameter": result.parameter,
             "source": result.source, "value": result.value,
             "bracket": list(result.bracket), "tolerance": result.tolerance, "in_plan_below": result.in_plan_below,
             "by": result.by, "noise_band": result.noise_band if math.isfinite(result.noise_band) else None,
             "mip_gap": result.mip_gap, "method": result.method,
             "grid": instance.model_dump(mode="json")["horizon"]["period"],
             "screen_grid": screen, "screen_value": result.screen.value if result.screen else None,
             "screen_noise_band": (result.screen.noise_band if result.screen and math.isfinite(
                 result.screen.noise_band) else None),
             "searched": list(result.searched) if result.searched else None,
             "summary": result.summary()}
    write_atomic(out / "breakeven.json", json.dumps(facts, indent=2, default=str))
    print(result.summary())
    print(grid)
    print(readable_table(result.evaluations))
    print(f"\nEvaluations written to {out / 'breakeven.csv'} (and what they are of to breakeven.json)")
    return EXIT_OK


def sweep_command(args: argparse.Namespace) -> int:
    from solver.sweep import design_points, error_sample, grid_error, load_spec, run_sweep

    out = _out(args, Path("results") / args.instance.stem / f"sweep-{args.spec.stem}")
    check_file(out / "points.sqlite", "dcopt sweep: --out")
    spec = load_spec(args.spec)
    instance, grid = _load_at_grid(args)
    if args.error_sample is not None and args.grid is None:
        raise InstanceError("dcopt sweep: --error-sample: expected --grid too (the error is the screening grid's "
                            "against the instance's own)")
    run = run_sweep(instance, spec, out / "points.sqlite", workers=args.jobs, persistent=not args.rebuild,
                    progress=not args.no_progress, limit=args.limit)
    write_atomic(out / "points.csv", run.points.to_csv(index=False))
    for name, table in run.summary.items():
        write_atomic(out / f"{name}.csv", table.to_csv(index=False))
    print(f"Sweep of {instance.name}: {len(run.points)} points stored ({run.solved_now} solved now in "
          f"{run.seconds:,.1f} s, {run.skipped} already there), in {out}")
    print(grid)
    if args.error_sample:
        own = load_instance(args.instance)
        sample = error_sample(len(design_points(spec)), args.error_sample, spec.seed)
        checked = run_sweep(own, spec, out / "grid_error.sqlite", workers=args.jobs, persistent=not args.rebuild,
                            progress=not args.no_progress, only=sample)
        table, summary = grid_error(run.points, checked.points)
        facts = {"screening_grid": grid_text(instance.horizon.period), "own_grid": grid_text(own.horizon.period),
                 "mip_gap": spec.mip_gap,
                 "seconds_own_grid": checked.seconds, **summary}
        write_atomic(out / "grid_error.csv", table.to_csv(index=False))
        write_atomic(out / "grid_error.json", json.dumps(facts, indent=2))
        print(f"Cost error of the screening grid on {summary['points']} points solved on the instance's own grid "
              f"too: mean {summary['mean_relative_error']:+.3%}, largest in size "
              f"{summary['max_abs_relative_error']:.3%}, "
              f"{summary['share_within_gaps']:.0%} within the two gaps (grid_error.csv)")
    for name, table in run.summary.items():
        print(f"\n{name}:")
        print(readable_table(table))
    return EXIT_OK if (run.points["status"].isin(PLAN_STATUSES)).all() else EXIT_SOLVE_FAILED


def economics_command(args: argparse.Namespace) -> int:
    from solver.economics import format_economics

    out = _out(args, Path("results") / args.instance.stem)
    instance = load_instance(args.instance)
    try:
        table = write_economics(instance, out, args.year)
    except InstanceError:
        raise
    except ValueError as exc:  # a year outside the horizon, say: one line and exit 2, as any bad input
        raise InstanceError(f"dcopt economics: --year: {exc}") from None
    print(format_economics(table, args.year))
    if table.empty:  # no source can start in the years asked for: no chart was drawn
        print(f"\nTable written to {out / 'economics.csv'} (no chart: no source can start then)")
    else:
        print(f"\nTable and chart written to {out / 'economics.csv'} and {out / 'economics.png'}")
    return EXIT_OK


def report_command(args: argparse.Namespace) -> int:
    from solver.report import ReportError, write_report

    check_file(args.out if args.out is not None else args.result_dir / "report.html",
               "dcopt report: --out" if args.out is not None else "dcopt report: output")
    try:
        path = write_report(args.result_dir, args.out)
    except ReportError as exc:  # not a result folder, a table not as dcopt writes it
        raise InstanceError(str(exc)) from None
    print(f"Report written to {path}")
    return EXIT_OK


def generate_command(args: argparse.Namespace) -> int:
    from solver.generate import generate_yaml

    check_file(args.out, "dcopt generate: --out")
    try:
        text = generate_yaml(seed=args.seed, sites=args.sites, contracts=args.contracts,
                             satellite_classes=args.satellite_classes, hardware_generations=args.hardware_generations,
                             horizon_years=args.horizon_years, period_months=args.period_months,
                             reference=args.reference, name=args.out.stem)
    except ValueError as exc:  # arguments out of range (InstanceError, a ValueError, for a bad reference)
        raise InstanceError(f"dcopt generate: {exc}") from None
    write_atomic(args.out, text)
    print(f"{args.out}: generated (seed {args.seed})")
    return EXIT_OK


COMMANDS = {"validate": lambda args: validate_command(args.paths), "solve": solve_command,
            "marginal": marginal_command, "tornado": tornado_command, "breakeven": breakeven_command,
            "sweep": sweep_command, "generate": generate_command, "economics": economics_command,
            "report": report_command, "stochastic": stochastic_command}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"dcopt {args.command}: interrupted" + (" (the points finished are stored: run the same "
              "command again to resume)" if args.command == "sweep" else ""), file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command](args)
    except InstanceError as exc:  # a bad argument, path, range, spec or instance: one line, before any solve
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except (RuntimeError, OSError, sqlite3.Error) as exc:  # no plan where one is needed, a dead worker, I/O
        print(f"dcopt {args.command}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED
    except Exception as exc:  # a bug of ours: one line, never a traceback
        print(f"dcopt {args.command}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_SOLVE_FAILED


if __name__ == "__main__":
    sys.exit(main())
