"""Periods of the horizon and the evaluation of schedules on them, as numpy arrays.

The model reads the instance's dates and schedules through these; the audit (solver/audit.py) has its own
reading of the same rules, so that a wrong one here is caught.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from solver.schema import PERIOD_MONTHS, Horizon, month_index, month_text

HOURS_PER_MONTH = 730.0  # 8760 / 12


def grid_text(period: str | list) -> str:
    """A grid in words: ``months``, or ``months to 2027-12, quarters to 2030-12, years``."""
    if isinstance(period, str):
        return f"{period}s"
    return ", ".join(f"{s.period}s to {s.until}" if s.until and s is not period[-1] else f"{s.period}s"
                     for s in period)


def parse_grid(text: str) -> str | list[dict]:
    """A grid written on one line: ``month``, ``quarter``, ``year``, or segments ``month:2027-12,quarter:2030-12,
    year`` (each ``PERIOD:UNTIL``, the last running to the horizon end). :class:`ValueError` on anything else."""
    if text in PERIOD_MONTHS:
        return text
    segments = []
    for piece in text.split(","):
        period, _, until = piece.strip().partition(":")
        if period not in PERIOD_MONTHS:
            raise ValueError(f"expected month, quarter or year, or segments like month:2027-12,quarter:2030-12,year; "
                             f"got {piece.strip()!r}")
        segments.append({"period": period, **({"until": until} if until else {})})
    return segments


@dataclass(frozen=True)
class TimeGrid:
    """The periods of a horizon: period ``t`` covers months ``first_month[t] .. first_month[t] + months[t] - 1``.

    Periods are of one length or, with segments, of a few (months, then quarters, then years). Durations (lead
    times, terms, notice, lives) are kept in months and mapped onto the periods from where they start
    (:meth:`after`), so they do not drift across a change of length. Past the horizon end the grid goes on in
    periods of the last segment's length, and before its start in the first's: the indices a duration reaching
    beyond the horizon lands on."""

    horizon: Horizon

    @cached_property
    def months(self) -> np.ndarray:
        """Months in each period."""
        period = self.horizon.period
        if isinstance(period, str):
            total = month_index(self.horizon.end) - self.start_month + 1
            return np.full(total // PERIOD_MONTHS[period], PERIOD_MONTHS[period])
        lengths, first = [], self.start_month
        for segment in period:
            until = month_index(segment.until or self.horizon.end)
            length = PERIOD_MONTHS[segment.period]
            lengths += [length] * ((until - first + 1) // length)
            first = until + 1
        return np.array(lengths)

    @cached_property
    def start_month(self) -> int:
        return month_index(self.horizon.start)

    @cached_property
    def n_periods(self) -> int:
        return len(self.months)

    @cached_property
    def periods(self) -> np.ndarray:
        return np.arange(self.n_periods)

    @cached_property
    def first_month(self) -> np.ndarray:
        """Absolute month index (year * 12 + month - 1) of each period's first month."""
        return self.start_month + np.concatenate([[0], np.cumsum(self.months)[:-1]]).astype(int)

    @cached_property
    def end_month(self) -> int:
        """Absolute month index of the horizon end: the month after the last period."""
        return self.start_month + int(self.months.sum())

    @cached_property
    def _bounds(self) -> np.ndarray:
        """First months of the periods and the end month: ``_bounds[t]`` for ``0 <= t <= n_periods``."""
        return np.append(self.first_month, self.end_month)

    @cached_property
    def last_months(self) -> int:
        """Length of the last period: the periods past the horizon end have it."""
        return int(self.months[-1])

    def boundary(self, period: int) -> int:
        """First month of ``period``, on the grid extended past either end (``boundary(n_periods)`` is the end)."""
        if period < 0:
            return self.start_month + period * int(self.months[0])
        if period > self.n_periods:
            return self.end_month + (period - self.n_periods) * self.last_months
        return int(self._bounds[period])

    def period_from(self, month: float) -> int:
        """The first period (extended grid) that starts at or after ``month`` (an absolute index, may be fractional)."""
        x = month - 1e-9
        if x > self.end_month:
            return self.n_periods + math.ceil((x - self.end_month) / self.last_months)
        if x <= self.start_month:
            return math.ceil((x - self.start_month) / int(self.months[0]))
        return int(np.searchsorted(self._bounds, x, side="left"))

    def period_starting_by(self, month: float) -> int:
        """The last period (extended grid) that starts at or before ``month``."""
        x = month + 1e-9
        if x >= self.end_month:
            return self.n_periods + math.floor((x - self.end_month) / self.last_months)
        if x < self.start_month:
            return math.floor((x - self.start_month) / int(self.months[0]))
        return int(np.searchsorted(self._bounds, x, side="right")) - 1

    def after(self, period: int, months: float) -> int:
        """The period at which a duration of ``months`` from the start of ``period`` is over: the first one starting
        at or after its end (a 4-month lead time from a quarter's start is 2 quarters on; across segments it is
        counted in months, not in periods of the starting one)."""
        return self.period_from(self.boundary(period) + max(0.0, months))

    def end_of_term(self, period: int, months: float) -> int:
        """The period a commitment of ``months`` made at ``period`` is over at: :meth:`after`, but at least one
        period on (a term or a life never ends where it starts)."""
        return max(period + 1, self.after(period, months))

    def end_periods(self, months: float) -> int:
        """A duration in periods of the last segment, rounded up: for valuing at the horizon end what lies past it."""
        return max(0, math.ceil(months / self.last_months - 1e-9))

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
        factors = (1.0 + self.horizon.discount_rate_per_year) ** -(np.arange(self.end_month - self.start_month) / 12.0)
        return np.add.reduceat(factors, self.first_month - self.start_month) / self.months

    @cached_property
    def discount_end(self) -> float:
        """Discount factor of a value at the end of the horizon (salvage)."""
        return float((1.0 + self.horizon.discount_rate_per_year) ** -((self.end_month - self.start_month) / 12.0))

    @cached_property
    def discount_end_period(self) -> float:
        """Discount factor of one period past the horizon end (of the last segment's length)."""
        return float((1.0 + self.horizon.discount_rate_per_year) ** -(self.last_months / 12.0))

    def per_period(self, monthly: np.ndarray | float) -> np.ndarray:
        """Monthly amounts as amounts per period (times each period's months)."""
        return np.asarray(monthly, dtype=float) * self.months

    def period_means(self, monthly: np.ndarray) -> np.ndarray:
        """Per period, the mean of a series of the horizon's months."""
        return np.add.reduceat(np.asarray(monthly, dtype=float), self.first_month - self.start_month) / self.months

    def at_end(self, schedule: float | dict[int, float]) -> float:
        """A year schedule's value at the horizon end (in its calendar year): what a thing costs new then."""
        if not isinstance(schedule, dict):
            return float(schedule)
        years = sorted(schedule)
        return float(np.interp(self.end_month // 12, years, [schedule[y] for y in years]))

    def first_period_from(self, month: str) -> int:
        """First period that starts at or after ``month`` (things that become available round up)."""
        return max(0, self.period_from(month_index(month)))

    def last_period_until(self, month: str) -> int:
        """Last period that ends at or before the end of ``month`` (things that end round down). May be -1, or
        ``n_periods`` or more for a month after the horizon end."""
        return self.period_starting_by(month_index(month) + 1) - 1

    def last_period_starting_by(self, month: str) -> int:
        """Last period whose first month is at or before ``month`` (a deadline: a decision in that period is in time;
        negative if none)."""
        return self.period_starting_by(month_index(month))

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
