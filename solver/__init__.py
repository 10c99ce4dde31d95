"""dcopt: compute-capacity planning for an AI lab as a MILP (Pyomo + HiGHS).

    from solver import load_instance, solve
    result = solve(load_instance("instances/reference.yaml"))
"""

from solver.instance import InstanceError, load_instance, parse_instance, with_changes
from solver.results import Result, format_summary
from solver.schema import Instance
from solver.solve import Planner, solve

__all__ = ["Instance", "InstanceError", "Planner", "Result", "format_summary", "load_instance", "parse_instance",
           "solve", "with_changes"]
