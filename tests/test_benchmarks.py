"""The benchmark suite runs end to end on tiny sizes (timings are never asserted: benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_benchmark_suite_runs_on_tiny_sizes(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "benchmarks.json").read_text())
    assert [r["status"] for r in report["overhead"]] == ["optimal"]
    assert report["overhead"][0]["raw_status"] == "Optimal"  # HiGHS solved the MPS Pyomo wrote of the same model
    assert [r["status"] for r in report["growth"]] == ["optimal"] * 3
    assert [r["points"] for r in report["resolves"]] == [4, 4, 4, 4]  # rebuild, in place, + MIP start, 2 workers
    assert [(r["period"], r["scenarios"], r["status"]) for r in report["trees"]] == [("quarter", 3, "optimal")]
    assert "## Re-solves in a sweep" in (tmp_path / "benchmarks.md").read_text()
