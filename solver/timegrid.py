"""Periods of the horizon and the evaluation of schedules on them, as numpy arrays.

The model reads the instance's dates and schedules through these; the audit (solver/audit.py) has its own
reading of the same rules, so that a wrong one here is caught.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from solver.schema import Horizon, month_index, month_text

MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}
HOURS_PER_MONTH = 730.0  # 8760 / 12


@dataclass(frozen=True)
class TimeGrid:
    """The periods of a horizon. Period ``t`` covers months ``first_month[t] .. first_month[t] + L - 1``."""

    horizon: Horizon

    @cached_property
    def months_per_period(self) -> int:
        return MONTHS_PER_PERIOD[self.horizon.period]

    @cached_property
    def start_month(self) -> int:
        return month_index(self.horizon.start)

    @cached_property
    def n_periods(self) -> int:
        return (month_index(self.horizon.end) - self.start_month + 1) // self.months_per_period

    @cached_property
    def periods(self) -> np.ndarray:
        return np.arange(self.n_periods)

    @cached_property
    def first_month(self) -> np.ndarray:
        """Absolute month index (year * 12 + month - 1) of each period's first month."""
        return self.start_month + self.months_per_period * self.periods

    @cached_property
    def year(self) -> np.ndarray:
        """Calendar year of each period (of its first month)."""
        return self.first_month // 12

    @cached_property
    def years(self) -> list[int]:
        return sorted(set(self.year.tolist()))

    @cached_property
    def labels(self) -> list[str]:
        """``YYYY-MM`` of each period's first month."""
        return [month_text(int(m)) for m in self.first_month]

    @cached_property
    def discount(self) -> np.ndarray:
        """Discount factor of a lump sum paid in each period (at its first month) back to the horizon start."""
        elapsed_years = (self.first_month - self.start_month) / 12.0
        return (1.0 + self.horizon.discount_rate_per_year) ** -elapsed_years

    @cached_property
    def discount_accruing(self) -> np.ndarray:
        """Discount factor of a cost that accrues month by month through each period (a price per MW-month, energy,
        unmet demand): the mean of the factors of the period's months, each paid at its start, so that coarse
        periods discount a monthly payment as the monthly grid does ($100M a month for a year at 8% is $1,158.7M
        on any grid, where discounting it at the period's first month would give $1,166.1M by quarter and
        $1,200M by year)."""
        months = (self.first_month - self.start_month)[:, None] + np.arange(self.months_per_period)[None, :]
        return ((1.0 + self.horizon.discount_rate_per_year) ** -(months / 12.0)).mean(axis=1)

    @cached_property
    def discount_end(self) -> float:
        """Discount factor of a value at the end of the horizon (salvage)."""
        years = self.n_periods * self.months_per_period / 12.0
        return float((1.0 + self.horizon.discount_rate_per_year) ** -years)

    @cached_property
    def discount_per_period(self) -> float:
        """Discount factor of one period."""
        return float((1.0 + self.horizon.discount_rate_per_year) ** -(self.months_per_period / 12.0))

    @cached_property
    def end_month(self) -> int:
        """Absolute month index of the horizon end: the month after the last period."""
        return self.start_month + self.n_periods * self.months_per_period

    def at_end(self, schedule: float | dict[int, float]) -> float:
        """A year schedule's value at the horizon end (in its calendar year): what a thing costs new then."""
        if not isinstance(schedule, dict):
            return float(schedule)
        years = sorted(schedule)
        return float(np.interp(self.end_month // 12, years, [schedule[y] for y in years]))

    def periods_for_months(self, months: float) -> int:
        """A duration in months as whole periods, rounded up (a 4-month lead time is 2 quarters)."""
        return max(0, math.ceil(months / self.months_per_period - 1e-9))

    def first_period_from(self, month: str) -> int:
        """First period that starts at or after ``month`` (things that become available round up)."""
        offset = month_index(month) - self.start_month
        return max(0, math.ceil(offset / self.months_per_period - 1e-9))

    def last_period_until(self, month: str) -> int:
        """Last period that ends at or before the end of ``month`` (things that end round down). May be -1, or
        ``n_periods`` or more for a month after the horizon end."""
        offset = month_index(month) - self.start_month + 1
        return offset // self.months_per_period - 1

    def last_period_starting_by(self, month: str) -> int:
        """Last period whose first month is at or before ``month`` (a deadline: a decision in that period is in time;
        -1 if none)."""
        return (month_index(month) - self.start_month) // self.months_per_period

    def year_schedule(self, schedule: float | dict[int, float] | None, default: float = 0.0) -> np.ndarray:
        """A :data:`~solver.schema.YearSchedule` on the periods: interpolated between years, flat outside."""
        if schedule is None:
            return np.full(self.n_periods, default, dtype=float)
        if not isinstance(schedule, dict):
            return np.full(self.n_periods, float(schedule))
        years = np.array(sorted(schedule), dtype=float)
        values = np.array([schedule[int(y)] for y in years], dtype=float)
        return np.interp(self.year.astype(float), years, values)

    def month_series(self, series: dict[str, float]) -> np.ndarray:
        """A :data:`~solver.schema.MonthSeries` on the periods: the value in force at each period's first month."""
        return self.step_series(series, self.first_month)

    @staticmethod
    def step_series(series: dict[str, float], months: np.ndarray) -> np.ndarray:
        """The value of a month series in force at each of ``months`` (absolute month indices); 0 before the first."""
        keys = sorted(series, key=month_index)
        starts = np.array([month_index(k) for k in keys])
        values = np.array([series[k] for k in keys], dtype=float)
        pos = np.searchsorted(starts, months, side="right") - 1
        return np.where(pos >= 0, values[np.clip(pos, 0, None)], 0.0)
