"""The benchmark suite: overhead against raw HiGHS, re-solves in a sweep, workers, growth with size, trees, the
fidelity of segmented grids.

    python benchmarks/run.py                 # the full run (an hour or more on 2 cores)
    python benchmarks/run.py --only fidelity # one section (repeatable)
    python benchmarks/run.py --tiny          # seconds: checks that every section runs (the test suite does this)

Every figure that is compared is a ratio measured within this one run, as the machine is shared and noisy.
Writes ``benchmarks/results/benchmarks.md`` and ``benchmarks/results/benchmarks.json`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import highspy

from solver.generate import generate_instance
from solver.instance import load_instance, with_changes
from solver.schema import Instance, ScenarioTree
from solver.solve import Planner
from solver.stochastic import TreePlanner, build_tree, load_tree
from solver.sweep import SweepSpec, load_spec, run_sweep
from solver.timegrid import grid_text, parse_grid

SECTIONS = ("overhead", "growth", "resolves", "trees", "fidelity")
# The segmentations measured against the monthly grid (benchmarks/README.md, issue 15).
SEGMENTATIONS = ["month:2027-12,quarter:2030-12,year", "month:2027-12,quarter", "month:2026-12,quarter:2028-12,year",
                 "quarter"]

ROOT = Path(__file__).resolve().parent.parent


def overhead(instance: Instance, *, mip_gap: float, time_limit: float) -> dict:
    """Our build + hand-off + solve + extract against HiGHS solving the MPS file Pyomo writes of the same model."""
    planner = Planner(instance)
    result = planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=1)
    ours = {"build_s": planner.build_s, "handoff_s": planner.handoff_s, "solve_s": result.times_s.get("solve", 0.0),
            "extract_s": result.times_s.get("extract", 0.0)}
    ours["total_s"] = sum(ours.values())
    with tempfile.TemporaryDirectory() as scratch:
        mps = Path(scratch) / "model.mps"
        planner.model.write(str(mps), io_options={"symbolic_solver_labels": False})
        start = time.perf_counter()
        raw = highspy.Highs()
        for option, setting in {"output_flag": False, "mip_rel_gap": mip_gap, "time_limit": time_limit,
                                "threads": 1}.items():
            raw.setOptionValue(option, setting)
        raw.readModel(str(mps))
        read_s = time.perf_counter() - start
        raw.run()
        raw_total = time.perf_counter() - start
    return {"instance": instance.name, "variables": planner.model_size()["variables"], **ours,
            "status": result.status, "raw_read_s": read_s,
            "raw_total_s": raw_total, "raw_status": raw.modelStatusToString(raw.getModelStatus()),
            "ratio_total": ours["total_s"] / raw_total,
            "ratio_outside_solver": (ours["build_s"] + ours["handoff_s"] + ours["extract_s"]) / raw_total}


def growth(sizes: list[dict], *, time_limit: float) -> list[dict]:
    """Build time and solve within a fixed time limit as the generated instance grows along one axis."""
    rows = []
    for size in sizes:
        instance = generate_instance(seed=1, reference=ROOT / "instances" / "reference.yaml", **size)
        planner = Planner(instance)
        result = planner.solve(time_limit=time_limit, threads=1)
        rows.append({**size, **planner.model_size(), "build_s": planner.build_s, "handoff_s": planner.handoff_s,
                     "solve_s": result.times_s.get("solve"), "status": result.status, "gap": result.gap})
    return rows


def resolves(instance: Instance, spec: SweepSpec, points: int) -> list[dict]:
    """The same points rebuilt at every point, changed in place (without and with the previous point's plan as a
    MIP start), and in place on 2 workers."""
    runs = (("rebuild every point, 1 worker", {"persistent": False, "workers": 1}, False),
            ("in place, 1 worker", {"persistent": True, "workers": 1}, False),
            ("in place + MIP start, 1 worker", {"persistent": True, "workers": 1}, True),
            ("in place, 2 workers", {"persistent": True, "workers": 2}, False))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, (label, options, mip_start) in enumerate(runs):
            start = time.perf_counter()
            run = run_sweep(instance, spec.model_copy(update={"mip_start": mip_start}), Path(scratch) / f"{i}.sqlite",
                            limit=points, progress=False, **options)
            wall = time.perf_counter() - start
            rows.append({"instance": instance.name, "run": label, "points": len(run.points),
                         "wall_s_per_point": wall / len(run.points),
                         "worker_s_per_point": float(run.points["seconds"].mean()),
                         "statuses": run.points["status"].value_counts().to_dict()})
    return rows


def trees(instance: Instance, tree: ScenarioTree, periods: list[str], *, mip_gap: float,
          time_limit: float) -> list[dict]:
    """The extensive form of a tree (RP only) at each period length: size, build, solve time, status and gap."""
    rows = []
    for period in periods:
        base = with_changes(instance, {"horizon.period": period}) if period != instance.horizon.period else instance
        start = time.perf_counter()
        planner = TreePlanner(build_tree(base, tree))
        built = time.perf_counter() - start
        result = planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=None, explain=False)
        rows.append({"instance": instance.name, "tree": tree.name, "period": period,
                     "scenarios": len(planner.tree.scenarios), **planner.model_size(), "build_s": built,
                     "solve_s": result.times_s.get("solve"), "status": result.status, "gap": result.gap,
                     "objective_usd": result.objective_usd})
    return rows


def _decisions(result, until: str) -> set[tuple]:
    """What a plan decides before ``until`` (YYYY-MM), as dates: (month, source, new units, event)."""
    plan = result.plan
    rows = plan[(plan["period"] < until) & ((plan["new_units"] > 1e-6) | (plan["event"] != ""))]
    return {(r.period, r.source, round(float(r.new_units), 3), r.event) for r in rows.itertuples()}


def fidelity(instance: Instance, grids: list[str], *, mip_gap: float, time_limit: float,
             decided_until: str = "2028-01") -> list[dict]:
    """Each grid against the instance's own (the first row): solve time, NPC difference, and the decisions before
    ``decided_until`` that differ (as dates: the first two years are what a planner acts on)."""
    rows, own = [], None
    for text in ["own", *grids]:
        base = instance if text == "own" else with_changes(instance, {"horizon.period": parse_grid(text)})
        start = time.perf_counter()
        planner = Planner(base)
        result = planner.solve(mip_gap=mip_gap, time_limit=time_limit, threads=None, explain=False)
        row = {"instance": instance.name, "grid": grid_text(base.horizon.period),
               "periods": planner.parts.grid.n_periods,
               **planner.model_size(), "total_s": time.perf_counter() - start, "solve_s": result.times_s.get("solve"),
               "status": result.status, "gap": result.gap, "objective_usd": result.objective_usd,
               "bound_usd": result.bound_usd}
        decided = _decisions(result, decided_until) if result.has_plan else set()
        if own is None:
            own = row | {"decided": decided}
        else:
            row["npc_difference"] = (row["objective_usd"] - own["objective_usd"]) / own["objective_usd"]
            row["speedup"] = own["total_s"] / row["total_s"]
            changed = sorted(decided ^ own["decided"])
            row["decisions_changed"] = len(changed)
            row["changed"] = "; ".join(f"{'+' if d in decided else '-'}{d[0]} {d[1]} {d[2]:g} {d[3]}".strip()
                                       for d in changed)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, to check that everything runs")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable; default: all)")
    args = parser.parse_args()
    if args.tiny:
        base = dict(sites=1, contracts=1, satellite_classes=1, hardware_generations=2, horizon_years=1,
                    period_months=3)
        overhead_instances = [load_instance(ROOT / "instances" / "small.yaml")]
        sizes = [base, base | {"sites": 2}, base | {"horizon_years": 2}]
        small = overhead_instances[0]
        sweeps, limit_s = [(small, load_spec(ROOT / "instances" / "sweeps" / "small_lhs.yaml"), 4)], 5.0
        tree_runs = [(small, load_tree(ROOT / "instances" / "trees" / "small.yaml"), ["quarter"])]
        fidelity_runs = [(small, ["month:2026-06,quarter"])]
    else:
        reference = load_instance(ROOT / "instances" / "reference.yaml")
        overhead_instances = [reference] + [generate_instance(seed=1, sites=n, reference=reference,
                                                              name=f"generated_{n}_sites") for n in (8, 16)]
        # 1x to 8x the default 4 sites, and 84, 168, 336 monthly periods; the first row is the base of the ratios.
        sizes = [{"sites": n} for n in (4, 8, 16, 32)] + [{"horizon_years": y} for y in (14, 28)]
        # The reference sweep's points take 5-45 s each, so 24 of them per run (4 runs: ~25 min); the teaching
        # instance's take ~0.1 s, where building and handing over the model matter: all 200 of its points.
        sweeps = [(reference, load_spec(ROOT / "instances" / "sweeps" / "reference_lhs.yaml"), 24),
                  (load_instance(ROOT / "instances" / "small.yaml"),
                   load_spec(ROOT / "instances" / "sweeps" / "small_lhs.yaml").model_copy(update={"points": 200}),
                   200)]
        limit_s = 120.0
        # The 9-scenario reference tree at gap 1e-3 (the target: under 5 minutes on 2 cores), by month and quarter.
        tree_runs = [(reference, load_tree(ROOT / "instances" / "trees" / "reference.yaml"), ["month", "quarter"])]
        # The reference and every variant (monthly, at the README's default gap 1e-4) against each segmentation.
        fidelity_runs = [(load_instance(path), SEGMENTATIONS)
                         for path in sorted((ROOT / "instances").glob("*.yaml"))
                         if path.stem not in ("small", "reference_segmented")]
    sections = {
        "overhead": lambda: [overhead(i, mip_gap=1e-3, time_limit=limit_s * 5) for i in overhead_instances],
        "growth": lambda: growth(sizes, time_limit=limit_s),
        "resolves": lambda: [row for instance, spec, points in sweeps for row in resolves(instance, spec, points)],
        "trees": lambda: [row for instance, tree, periods in tree_runs
                          for row in trees(instance, tree, periods, mip_gap=1e-3, time_limit=limit_s * 5)],
        "fidelity": lambda: [row for instance, grids in fidelity_runs
                             for row in fidelity(instance, grids, mip_gap=1e-4, time_limit=limit_s * 5)],
    }
    report = {name: run() for name, run in sections.items() if not args.only or name in args.only}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(json.dumps(report, indent=2, default=str))
    (args.out / "benchmarks.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = []
    for name, section in (("overhead", _overhead_md), ("growth", _growth_md), ("resolves", _resolves_md),
                          ("trees", _trees_md), ("fidelity", _fidelity_md)):
        if name in report:
            lines += section(report[name]) + [""]
    return "\n".join(lines)


def _gap(r: dict) -> str:
    return f"{r['gap']:.2e}" if r["gap"] is not None else "-"


def _overhead_md(rows: list[dict]) -> list[str]:
    lines = ["## Overhead (gap 1e-3, 1 thread)", "",
             "| instance | build s | hand-off s | solve s | extract s | ours total s | raw HiGHS (MPS) s | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    return lines + [f"| {r['instance']} | {r['build_s']:.2f} | {r['handoff_s']:.2f} | {r['solve_s']:.2f} | "
                    f"{r['extract_s']:.2f} | {r['total_s']:.2f} | {r['raw_total_s']:.2f} | {r['ratio_total']:.2f}x |"
                    for r in rows]


def _growth_md(rows: list[dict]) -> list[str]:
    lines = ["## Growth (generated instances, seed 1)", "",
             "| size | variables | integers | constraints | build + hand-off s | x variables | x build | solve s "
             "| status | gap |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    base = rows[0]
    base_build = base["build_s"] + base["handoff_s"]
    for r in rows:
        size = ", ".join(f"{k}={v}" for k, v in r.items() if k in ("sites", "contracts", "satellite_classes",
                                                                     "hardware_generations", "horizon_years",
                                                                     "period_months"))
        build = r["build_s"] + r["handoff_s"]
        lines.append(f"| {size} | {r['variables']} | {r['integers']} | {r['constraints']} | {build:.2f} | "
                     f"{r['variables'] / base['variables']:.1f} | {build / base_build:.1f} | "
                     f"{r['solve_s']:.1f} | {r['status']} | {_gap(r)} |")
    return lines


def _resolves_md(rows: list[dict]) -> list[str]:
    lines = ["## Re-solves in a sweep", "",
             "| instance | run | points | wall s per point | worker s per point |", "|---|---|---|---|---|"]
    lines += [f"| {r['instance']} | {r['run']} | {r['points']} | {r['wall_s_per_point']:.3f} | "
              f"{r['worker_s_per_point']:.3f} |" for r in rows]
    lines.append("")
    for first in range(0, len(rows), 4):
        rebuild, in_place, started, two = (r["wall_s_per_point"] for r in rows[first:first + 4])
        lines.append(f"- {rows[first]['instance']}: rebuild / in place {rebuild / in_place:.2f}x; "
                     f"rebuild / in place + MIP start {rebuild / started:.2f}x; "
                     f"2 workers / 1 worker throughput {in_place / two:.2f}x")
    return lines


def _trees_md(rows: list[dict]) -> list[str]:
    lines = ["## Scenario trees: the extensive form (RP), gap 1e-3", "",
             "| instance | tree | periods | scenarios | variables | integers | constraints | build s | solve s "
             "| status | gap |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        solve = f"{r['solve_s']:.1f}" if r["solve_s"] is not None else "-"
        lines.append(f"| {r['instance']} | {r['tree']} | {r['period']} | {r['scenarios']} | {r['variables']} | "
                     f"{r['integers']} | {r['constraints']} | {r['build_s']:.1f} | {solve} | {r['status']} | "
                     f"{_gap(r)} |")
    return lines


def _fidelity_md(rows: list[dict]) -> list[str]:
    lines = ["## Segmented grids against the instance's own (gap 1e-4)", "",
             "| instance | grid | periods | integers | total s | speed-up | status | gap | NPC $B | NPC difference "
             "| 2026-27 decisions changed |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        own = "npc_difference" not in r  # the base row
        speedup, difference, changed = ("-", "-", "-") if own else (
            f"{r['speedup']:.1f}x", f"{r['npc_difference']:+.3%}", str(r["decisions_changed"]))
        npc = f"{r['objective_usd'] / 1e9:.3f}" if r["objective_usd"] is not None else "-"
        lines.append(f"| {r['instance']} | {r['grid']} | {r['periods']} | {r['integers']} | {r['total_s']:.1f} | "
                     f"{speedup} | {r['status']} | {_gap(r)} | {npc} | {difference} | {changed} |")
    return lines


if __name__ == "__main__":
    main()
