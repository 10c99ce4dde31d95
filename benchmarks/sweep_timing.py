"""Time per sweep point: rebuild-every-point against in-place re-solve, and 1 against 2 worker processes.

All three runs solve the same points of the same spec in one invocation (the machine is shared and noisy, so only
ratios within one run mean anything):

    python benchmarks/sweep_timing.py instances/reference.yaml instances/sweeps/reference_lhs.yaml --points 12

Writes a Markdown table and a JSON file to benchmarks/results/ (not committed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from solver.instance import load_instance
from solver.sweep import load_spec, run_sweep

RUNS = (("rebuild every point, 1 worker", {"persistent": False, "workers": 1}),
        ("in place + MIP start, 1 worker", {"persistent": True, "workers": 1}),
        ("in place + MIP start, 2 workers", {"persistent": True, "workers": 2}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("spec", type=Path)
    parser.add_argument("--points", type=int, default=12, help="points of the spec solved by each run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    instance, spec = load_instance(args.instance), load_spec(args.spec)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for label, options in RUNS:
            start = time.perf_counter()
            run = run_sweep(instance, spec, Path(scratch) / f"{len(rows)}.sqlite", limit=args.points, progress=False,
                            **options)
            wall = time.perf_counter() - start
            points = run.points
            rows.append({"run": label, "points": len(points), "wall_s": wall, "wall_s_per_point": wall / len(points),
                         "solver_s_per_point": float(points["seconds"].mean()),
                         "statuses": points["status"].value_counts().to_dict(),
                         "mean_gap": float(points["gap"].mean())})
            print(f"{label}: {wall:.1f} s for {len(points)} points", flush=True)
    rebuild, in_place, two = (row["wall_s_per_point"] for row in rows)
    ratios = {"rebuild / in place (1 worker)": rebuild / in_place, "throughput 2 workers / 1 worker": in_place / two}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"sweep_timing_{args.instance.stem}"
    (args.out / f"{stem}.json").write_text(json.dumps({"runs": rows, "ratios": ratios}, indent=2))
    lines = ["| run | points | wall s/point | point s (mean) |", "|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['points']} | {r['wall_s_per_point']:.2f} | {r['solver_s_per_point']:.2f} |"
              for r in rows]
    lines += ["", *(f"- {name}: {value:.2f}x" for name, value in ratios.items())]
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
