"""Demand per workload and period, in compute units, from an explicit series or a growth law."""

from __future__ import annotations

import numpy as np

from solver.schema import Instance, WorkloadDemand
from solver.timegrid import TimeGrid


def workload_demand_units(grid: TimeGrid, spec: WorkloadDemand) -> np.ndarray:
    """Demand at each period's first month. A growth law grows by ``annual_growth_factor`` a year; with a
    saturation level it follows the logistic curve through the start level with that initial growth rate."""
    if spec.series_units is not None:
        return grid.month_series(spec.series_units)
    law = spec.growth_law
    years = (grid.first_month - grid.start_month) / 12.0
    growth = law.annual_growth_factor ** years
    if law.saturation_units is None or law.start_units == 0:
        return law.start_units * growth
    cap = law.saturation_units
    return cap * law.start_units * growth / (cap + law.start_units * (growth - 1.0))


def demand_units(instance: Instance, grid: TimeGrid) -> dict[str, np.ndarray]:
    return {wl: workload_demand_units(grid, getattr(instance.demand, wl)) for wl in ("training", "inference")}
