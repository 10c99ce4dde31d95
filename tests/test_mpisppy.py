"""The mpi-sppy path of a scenario tree (the ``stochastic`` extra): the same scenarios through mpi-sppy's extensive
form, and progressive hedging on 3 MPI ranks, against dcopt's own extensive form.

The lease case of tests/test_stochastic.py at lost revenue 3x the fee: RP = 2.9 x $100M = $290M, worked out by
hand there (sign in January, give notice in February if demand falls).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import highspy
import pytest
import yaml
from test_stochastic import lease_case

from models.parts import MONEY
from solver.highs import new_highs
from solver.schema import ScenarioTree
from solver.solve import CompiledModel
from solver.stochastic import build_tree, solve_stochastic

sputils = pytest.importorskip("mpisppy.utils.sputils", reason="mpi-sppy is the optional 'stochastic' extra")
mpisppy_tree = pytest.importorskip("solver.mpisppy_tree")

ROOT = Path(__file__).resolve().parent.parent


def test_mpisppy_extensive_form_equals_dcopt_s(small_tree_and_instance):
    instance, spec = small_tree_and_instance
    tree = build_tree(instance, spec)
    names = mpisppy_tree.scenario_names_creator(len(tree.scenarios))
    ef = sputils.create_EF(names, mpisppy_tree.scenario_creator, scenario_creator_kwargs={"tree": tree})
    highs = new_highs()
    highs.passModel(CompiledModel.of(ef).lp)
    highs.setOptionValue("mip_rel_gap", 1e-7)
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    ours = solve_stochastic(instance, tree, metrics=False, options=[], mip_gap=1e-7)
    assert highs.getInfo().objective_function_value * MONEY == pytest.approx(ours.rp.objective_usd, rel=1e-6)


@pytest.fixture
def small_tree_and_instance():
    from test_stochastic import small_tree

    from solver import load_instance

    return load_instance(ROOT / "instances" / "small.yaml"), small_tree()


@pytest.mark.skipif(shutil.which("mpiexec", path=str(Path(sys.executable).parent)) is None
                    and shutil.which("mpiexec") is None, reason="no mpiexec (the mpich wheel of the test extra)")
def test_progressive_hedging_on_three_ranks(tmp_path: Path):
    """PH hub, a Lagrangian bound spoke and an xhat incumbent spoke: the incumbent is the EF's $290M and the bound
    lies below it."""
    instance, spec = lease_case(3000)
    (tmp_path / "lease.yaml").write_text(yaml.safe_dump(instance.model_dump(mode="json")), encoding="utf-8")
    tree = ScenarioTree.model_validate(spec.model_dump(by_alias=True) | {"options": {}})
    (tmp_path / "tree.yaml").write_text(yaml.safe_dump(tree.model_dump(by_alias=True)), encoding="utf-8")
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    run = subprocess.run(
        [mpiexec, "-np", "3", sys.executable, "-m", "mpi4py", "-m", "mpisppy.generic_cylinders",
         "--module-name", "solver.mpisppy_tree", "--dcopt-instance", str(tmp_path / "lease.yaml"),
         "--dcopt-tree", str(tmp_path / "tree.yaml"), "--branching-factors", "2", "--solver-name", "appsi_highs",
         "--linearize-proximal-terms", "--default-rho", "1", "--max-iterations", "30", "--lagrangian",
         "--xhatshuffle", "--rel-gap", "1e-4"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    final = run.stdout.split("Statistics at termination")[-1]
    row = re.search(r"^\[\s*[\d.]+\]\s+\d+\s+\S*\s+([-\d.]+)\s+([-\d.]+)\s", final, re.MULTILINE)
    assert row is not None, run.stdout[-2000:]
    bound, incumbent = float(row.group(1)), float(row.group(2))  # model money units: $M
    assert incumbent == pytest.approx(290.0, rel=1e-6)
    assert bound <= incumbent + 1e-6
