"""Demand per workload and period, in compute units, from an explicit series or a growth law."""

from __future__ import annotations

import numpy as np

from solver.schema import Instance, WorkloadDemand
from solver.timegrid import TimeGrid


def monthly_demand_units(grid: TimeGrid, spec: WorkloadDemand) -> np.ndarray:
    """Demand in each month of the horizon. A growth law grows by ``annual_growth_factor`` a year; with a
    saturation level K it follows the logistic curve K s g^y / (K + s (g^y - 1)) through the start level s, which
    grows by nearly g a year while far below K."""
    months = np.arange(grid.start_month, grid.end_month)
    if spec.series_units is not None:
        return TimeGrid.step_series(spec.series_units, months)
    law = spec.growth_law
    growth = law.annual_growth_factor ** ((months - grid.start_month) / 12.0)
    if law.saturation_units is None or law.start_units == 0:
        return law.start_units * growth
    cap = law.saturation_units
    return cap * law.start_units * growth / (cap + law.start_units * (growth - 1.0))


def workload_demand_units(grid: TimeGrid, spec: WorkloadDemand) -> np.ndarray:
    """Demand per period: the mean over the period's months (so quarters and years do not understate growth)."""
    return grid.period_means(monthly_demand_units(grid, spec))


def demand_units(instance: Instance, grid: TimeGrid) -> dict[str, np.ndarray]:
    return {wl: workload_demand_units(grid, getattr(instance.demand, wl)) for wl in ("training", "inference")}
