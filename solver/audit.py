"""Independent recomputation of a plan from its decisions and the instance data, with numpy.

The audit reads only the *decisions* of a solved model (blocks held, leases signed and noticed, modules built,
satellites launched, MW resold, compute served, demand unmet) and rebuilds everything else from the instance with
code of its own: the calendar (periods, rounding of dates and durations, discount factors), year schedules and
month series, the demand curves, the launch-price curve, the newest hardware generation, blocks newly committed,
leases on, MW online per site and generation, fleets with decay and retirement, every cost category and the
values at the horizon end. It imports nothing from ``models/`` but the category names and scaling constants, and
takes from the model only, for each MW resold, which source and hardware generation it came from.

The solve compares its total with the objective, checks that demand is served or reported unmet and that no pool
serves more compute than it holds, and :func:`rule_violations` re-checks every limit of MODEL.md against the plan,
so a model whose rule is wrong (a row dropped, a bound, date or coefficient misread) gives a ``suspect`` plan.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from pyomo.environ import value

from models.parts import COMPUTE, COST_CATEGORIES, END_CATEGORIES, POOLS, WORKLOADS, Parts
from solver.schema import PERIOD_MONTHS, Instance, WorkloadDemand

HOURS_PER_MONTH = 8760 / 12

# When each category is paid: month by month through a period (a price per MW-month, energy, opex, lost revenue),
# or as a lump sum at its first month (capital, launches); the end categories at the horizon end.
PAID_EACH_MONTH = {"contracts", "leases", "energy", "opex", "satellite_ops", "unmet_demand", "resale_revenue"}
CAPITAL = [c for c in COST_CATEGORIES if c not in PAID_EACH_MONTH and c not in END_CATEGORIES]


def _month(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


class Calendar:
    """The audit's own reading of the horizon: period ``t`` covers months ``first[t] .. first[t] + L[t] - 1``, of
    one length or, with segments, of a few. Durations are kept in months and end at the first period starting when
    they run out (:meth:`after`), availability rounds up to a period start, ends down to the last period over in
    time; a year schedule holds its value for the calendar year of a period's first month. Past the end the grid
    goes on in periods of the last length and before the start in the first's, so that a duration reaching beyond
    the horizon lands on a period too (the end values count what lies past the end in those periods)."""

    def __init__(self, instance: Instance) -> None:
        h = instance.horizon
        self.start = _month(h.start)
        segments = [(h.period, h.end)] if isinstance(h.period, str) else [(g.period, g.until or h.end)
                                                                          for g in h.period]
        lengths, first = [], self.start
        for name, until in segments:
            size = PERIOD_MONTHS[name]
            lengths += [size] * ((_month(until) + 1 - first) // size)
            first = _month(until) + 1
        self.L = np.array(lengths)
        self.n = len(self.L)
        self.bounds = self.start + np.concatenate([[0], np.cumsum(self.L)])  # the periods' first months, the end
        self.first = self.bounds[:-1]
        self.end_month = int(self.bounds[-1])
        self.L_last = int(self.L[-1])
        self.year = self.first // 12
        self.rate = h.discount_rate_per_year
        factors = (1 + self.rate) ** -(np.arange(self.end_month - self.start) / 12)  # of each month's start
        self.lump_factors = factors[self.first - self.start]
        self.monthly_factors = self.means(factors)  # a monthly payment through the period, on average
        self.at_end_factor = (1 + self.rate) ** -((self.end_month - self.start) / 12)
        self.per_end_period = (1 + self.rate) ** -(self.L_last / 12)  # one period past the end

    def means(self, monthly: np.ndarray) -> np.ndarray:
        """Per period, the mean of a series given for each month of the horizon."""
        return np.array([monthly[a:b].mean() for a, b in pairwise(self.bounds - self.start)])

    def boundary(self, p: int) -> int:
        """First month of period ``p`` of the extended grid (``boundary(n)`` is the end month)."""
        if p < 0:
            return self.start + p * int(self.L[0])
        if p > self.n:
            return self.end_month + (p - self.n) * self.L_last
        return int(self.bounds[p])

    def period_from(self, month: float) -> int:
        """The first period of the extended grid starting at or after ``month`` (fractional months allowed)."""
        x = month - 1e-9
        if x <= self.start:
            return math.ceil((x - self.start) / self.L[0])
        if x > self.end_month:
            return self.n + math.ceil((x - self.end_month) / self.L_last)
        return int(np.searchsorted(self.bounds, x))

    def period_of(self, month: float) -> int:
        """The period of the extended grid that holds ``month``: the last one starting at or before it."""
        p = self.period_from(month)
        return p if self.boundary(p) <= month + 1e-9 else p - 1

    def after(self, t: int, months: float) -> int:
        """The period a duration of ``months`` from the start of period ``t`` runs out at (a period start)."""
        return self.period_from(self.boundary(t) + months)

    def lasting(self, t: int, months: float) -> int:
        """As :meth:`after` for a term or a life: at least one period (one never ends where it starts)."""
        return max(t + 1, self.after(t, months))

    def ends_by(self, month: int) -> int:
        """The last period of the extended grid whose last month is ``month`` or earlier (things that end)."""
        return self.period_of(month + 1) - 1

    def past_end(self, months: float) -> int:
        """A duration in periods of the last length, rounded up: how the end values count what lies past the end."""
        return self.after(self.n, months) - self.n

    def yearly(self, schedule: float | dict[int, float], year: int | None = None) -> np.ndarray:
        """A year schedule on the periods (or at ``year``): linear between its years, flat outside them."""
        years = self.year if year is None else np.array([year])
        if not isinstance(schedule, dict):
            return np.full(len(years), float(schedule))
        keys = sorted(schedule)
        return np.interp(years, keys, [schedule[k] for k in keys])

    def at_end(self, schedule: float | dict[int, float]) -> float:
        return float(self.yearly(schedule, self.end_month // 12)[0])

    def step(self, series: dict[str, float], months: np.ndarray) -> np.ndarray:
        """The value of a month series in force in each of ``months``; 0 before its first month."""
        out = np.zeros(len(months))
        for key in sorted(series, key=_month):
            out[months >= _month(key)] = series[key]
        return out


def demand(instance: Instance, cal: Calendar) -> dict[str, np.ndarray]:
    """Demand per workload and period: the mean over the period's months of the series or the growth law."""
    months = np.arange(cal.start, cal.end_month)
    out = {}
    for w in WORKLOADS:
        spec: WorkloadDemand = getattr(instance.demand, w)
        if spec.series_units is not None:
            monthly = cal.step(spec.series_units, months)
        else:
            law = spec.growth_law
            factor = law.annual_growth_factor ** ((months - cal.start) / 12)
            s, cap = law.start_units, law.saturation_units
            monthly = s * factor if cap is None or s == 0 else cap * s * factor / (cap + s * (factor - 1))
        out[w] = cal.means(monthly)
    return out


def launch_prices(cal: Calendar, vehicle) -> tuple[np.ndarray, float]:
    """Launch price per kg in each period and at the horizon end: the schedule, or the learning curve on the
    industry's cumulative mass at the period's start (the mass of a period at its first month's yearly rate)."""
    if vehicle.launch_price_usd_per_kg is not None:
        return cal.yearly(vehicle.launch_price_usd_per_kg), cal.at_end(vehicle.launch_price_usd_per_kg)
    c = vehicle.learning_curve
    launched = c.initial_cumulative_mass_t + np.concatenate(
        [[0.0], np.cumsum(cal.yearly(c.industry_mass_t_per_year) * cal.L / 12)])
    price = np.maximum(c.floor_usd_per_kg,
                       c.initial_price_usd_per_kg * (1 - c.price_drop_per_doubling)
                       ** np.log2(launched / c.initial_cumulative_mass_t))
    return price[:-1], float(price[-1])


def newest(instance: Instance, month: int) -> str | None:
    best = None
    for g, spec in instance.hardware.items():
        if _month(spec.available_from) <= month and (
                best is None or spec.compute_units_per_mw > instance.hardware[best].compute_units_per_mw):
            best = g
    return best


def service_left(left: int, life: int, x: float, scale: float = 1.0) -> float:
    """``scale`` times the share of a new asset's discounted service that its last ``left`` periods of ``life``
    hold, each period's service ``x`` times the one before's (decay times discount): G(left, x) / G(life, x) with
    G(k, x) = sum of x**j for j < k, in closed form; 0 when nothing is left."""
    if left <= 0:
        return 0.0
    if abs(1 - x) < 1e-12:
        return scale * left / life
    return scale * (1 - x ** left) / (1 - x ** life)


def decisions(m, instance: Instance, n: int) -> dict:
    """The decisions of a solved model as numpy arrays in the instance's units (rounded where integral)."""
    def levels(component, *key) -> np.ndarray:
        return np.array([value(component[(*key, t)]) for t in range(n)], dtype=float)

    out: dict = {"held": {}, "sign": {}, "notice": {}, "modules": {}, "launch": {}, "started": {}}
    for c in instance.hyperscaler_contracts:
        out["held"][c] = np.round(levels(m.contract_active, c))
    for name in instance.fixed_block_leases:
        out["sign"][name] = np.round(levels(m.lease_sign, name))
        out["notice"][name] = np.round(levels(m.lease_notice, name))
    if hasattr(m, "build_modules"):  # absent when nothing can be built (no hardware generation out in time)
        for s in instance.terrestrial.sites:
            out["modules"][s] = np.round(levels(m.build_modules, s))
    if instance.orbital is not None:
        for k in instance.orbital.satellite_classes:
            out["launch"][k] = np.round(levels(m.orbit_launch, k))
    if hasattr(m, "orbit_programme_start"):  # one-off costs: when each programme or site is started
        out["started"]["orbit"] = np.round(levels(m.orbit_programme_start))
    if hasattr(m, "build_site_start"):
        for s in {s for s, _ in m.build_site_start}:
            out["started"][s] = np.round(levels(m.build_site_start, s))
    slices = sorted({i for i, _ in m.resale_mw}) if hasattr(m, "resale_mw") else []
    out["resale_mw"] = {i: levels(m.resale_mw, i) for i in slices}  # by capacity slice
    out["unmet"] = {w: levels(m.unmet, w) * COMPUTE for w in WORKLOADS}
    out["served"] = {(p, w): levels(m.served, p, w) * COMPUTE if (p, w, 0) in m.served else np.zeros(n)
                     for p in POOLS for w in WORKLOADS}
    return out


@dataclass
class Simulation:
    """What the decisions amount to: nominal USD per category and period (the end categories in the last
    period), compute per pool before resale, and ground MW per (source, hardware generation) per period."""

    costs: dict[str, np.ndarray]
    compute: dict[str, np.ndarray]
    ground_mw: dict[tuple[str, str], np.ndarray]
    rules: dict[str, float]


def simulate(instance: Instance, d: dict, resold: dict[tuple[str, str], np.ndarray] | None = None) -> Simulation:
    """Rebuild costs, capacity and rule checks from the decisions ``d``; ``resold``: MW leased out per (source,
    hardware) and period."""
    cal = Calendar(instance)
    n = cal.n
    t_idx = np.arange(n)
    cost: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
    compute = {p: np.zeros(n) for p in POOLS}
    ground_mw: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(n))
    found: dict[str, float] = defaultdict(float)

    def excess(family: str, used, limit) -> None:
        """Record by how much ``used`` exceeds ``limit`` at worst, relative to max(1, |limit|)."""
        used, limit = np.atleast_1d(np.asarray(used, float)), np.atleast_1d(np.asarray(limit, float))
        over = (used - limit) / np.maximum(1.0, np.abs(limit))
        found[family] = max(found[family], float(over.max(initial=0.0)))

    def units(hardware: str) -> float:
        return instance.hardware[hardware].compute_units_per_mw

    def one_off(name: str, cost_usd: float, uses: np.ndarray) -> None:
        """A programme or site cost paid once, when started; no use (launch, module decided) before the start."""
        started = d["started"].get(name, np.zeros(n))
        excess("one-off cost paid once", started.sum(), 1.0)
        cost["programme"] += started * cost_usd
        used = np.flatnonzero(uses > 0.5)
        if used.size:
            first_start = np.flatnonzero(started > 0.5)
            excess("use before its one-off cost is paid", float(not first_start.size or first_start[0] > used[0]),
                   0.0)

    for c, spec in instance.hyperscaler_contracts.items():
        held = d["held"][c]
        initial = spec.held_at_start.blocks if spec.held_at_start else 0
        # A block committed at u is bound from u until its minimum term runs out; those held at the start until
        # their term left does.
        initial_end = cal.period_from(cal.start + spec.held_at_start.term_left_months) if spec.held_at_start else 0
        term_end = np.array([cal.lasting(u, spec.min_term_months) for u in t_idx])
        new = np.maximum(0.0, np.diff(held, prepend=float(initial)))
        in_term = np.array([new[(t_idx <= t) & (term_end > t)].sum() for t in t_idx]) + initial * (t_idx < initial_end)
        excess("contract minimum term", in_term, held)
        excess("contract ramp", held * spec.block_mw, cal.step(spec.ramp_mw, cal.first))
        cost["contracts"] += held * spec.block_mw * spec.price_usd_per_mw_month * cal.L
        ground_mw[(c, spec.hardware)] += held * spec.block_mw
        committed = [(term_end[u], new[u]) for u in np.flatnonzero(new > 0)] + ([(initial_end, initial)] if initial
                                                                                  else [])
        for term_over, blocks in committed:  # take-or-pay past the horizon, and the service it buys at that price
            months_left = cal.boundary(term_over) - cal.end_month
            owed = blocks * spec.block_mw * spec.price_usd_per_mw_month * float(
                ((1 + cal.rate) ** -(np.arange(max(0, months_left)) / 12)).sum())
            cost["take_or_pay_after_horizon"][-1] += owed
            cost["salvage"][-1] -= owed

    for name, lease in instance.fixed_block_leases.items():
        sign, notice = d["sign"][name], d["notice"][name]
        last = end_last = cal.ends_by(_month(lease.end))
        if lease.provider_notice_month is not None:  # the provider's notice runs out: the block's last month
            last = min(last, cal.ends_by(_month(lease.provider_notice_month) + lease.notice_months - 1))
        # The block ends after its last period, or at the period a notice (given at a period's start) runs out at.
        stop = min([last + 1] + [cal.after(k, lease.notice_months) for k in np.flatnonzero(notice > 0.5)])
        excess("lease signed once", sign.sum(), 1.0)
        excess("lease notice once", notice.sum(), 1.0)
        excess("lease noticed without an exit clause", 0.0 if lease.exit_allowed else notice.sum(), 0.0)
        on = np.zeros(n)
        signed_in: list[int] = []  # the months the block was signed in
        if lease.held_at_start is not None:  # signed before the start: on from period 0 until its notice or end
            excess("lease signed once", sign.sum() + 1.0, 1.0)
            signed = _month(lease.held_at_start.signed)
            excess("lease minimum term", min(cal.period_from(signed + lease.min_term_months), last + 1) - stop, 0.0)
            on[:stop] = 1.0
            signed_in.append(signed)
        for s in np.flatnonzero(sign > 0.5):
            excess("lease window", float(cal.first[s] < _month(lease.available_from)), 0.0)
            if lease.sign_by is not None:
                excess("lease offer expired", float(cal.first[s] > _month(lease.sign_by)), 0.0)
            # signed with its minimum term before the lease's end, and held it unless the provider's notice came first
            term_over = cal.lasting(s, lease.min_term_months)
            excess("lease minimum term", term_over - (end_last + 1), 0.0)
            excess("lease minimum term", min(term_over, last + 1) - stop, 0.0)
            on[s:stop] = 1.0
            signed_in.append(int(cal.first[s]))
        # The fee discount of the k-th month from signing, in the period holding that month: none before the start,
        # after the horizon, or after the block's last period.
        for signed in signed_in:
            for month, share in enumerate(lease.ramp_in_fee_share):
                at = cal.period_of(signed + month)
                if signed + month >= cal.start and at < min(n, last + 1):
                    cost["leases"][at] -= lease.fee_usd_per_month * (1 - share)
        excess("lease notice after signing",
               float(notice.sum() > 0 and sign.sum() == 0 and lease.held_at_start is None), 0.0)
        cost["leases"] += on * lease.fee_usd_per_month * cal.L
        ground_mw[(name, lease.hardware)] += on * lease.size_mw

    if instance.terrestrial is not None:
        bc = instance.terrestrial.build_costs
        facility, gpus, other = cal.yearly(bc.facility_usd_per_mw), cal.yearly(bc.gpus_usd_per_mw), \
            cal.yearly(bc.other_it_usd_per_mw)
        gpu_months, facility_months = bc.gpu_life_years * 12, bc.facility_life_years * 12
        it_life, facility_life = max(1, cal.past_end(gpu_months)), max(1, cal.past_end(facility_months))
        per_end = cal.per_end_period
        generation = [newest(instance, int(month)) for month in cal.first]
        newest_at_end = newest(instance, cal.end_month)
        it_new = cal.at_end(bc.gpus_usd_per_mw) + cal.at_end(bc.other_it_usd_per_mw)
        new_mw_by_year: dict[int, float] = defaultdict(float)
        for s, site in instance.terrestrial.sites.items():
            lead = cal.past_end(site.lead_time_months)
            modules = d["modules"].get(s, np.zeros(n))
            if site.fixed_cost_usd > 0 and not site.held_at_start:  # a site with modules held has started already
                one_off(s, site.fixed_cost_usd, modules)
            mw_online = np.zeros(n)
            for held in site.held_at_start:  # facility and first GPUs sunk; refreshes, energy, opex and value not
                mw = held.modules * site.module_mw
                retire = cal.period_from(_month(held.online_since) + facility_months)
                # (first period, period its GPU life is out, hardware, price paid) of each purchase: the one before
                # the start is sunk (not paid here, valued at the price at the start), then refreshes while the
                # facility runs
                refresh = max(0, cal.period_from(_month(held.gpus_month) + gpu_months))  # overdue: at once
                runs_on = [(0, refresh, held.hardware, gpus[0] + other[0])]
                while refresh < min(n, retire):
                    runs_on.append((refresh, cal.lasting(refresh, gpu_months), generation[refresh],
                                    gpus[refresh] + other[refresh]))
                    cost["build_refresh"][refresh] += (gpus[refresh] + other[refresh]) * mw
                    refresh = runs_on[-1][1]
                for bought, life_out, hardware, _ in runs_on:
                    ground_mw[(s, hardware)][bought: min(retire, life_out)] += mw
                mw_online[:max(0, retire)] += mw
                if retire >= n:  # what is left, at the lower of new at the end and the price paid: for what was
                    # bought before the start, the price at the start; the IT serves until the facility retires
                    _, life_out, hardware, paid_it = runs_on[-1]
                    cost["salvage"][-1] -= (
                        min(cal.at_end(bc.facility_usd_per_mw), facility[0]) * site.facility_cost_multiplier * mw
                        * service_left(retire - n, facility_life, per_end) / per_end ** lead
                        + min(it_new * units(hardware) / units(newest_at_end), paid_it) * mw
                        * service_left(min(life_out, retire) - n, it_life, per_end))
            for b in np.flatnonzero(modules > 0.5):
                mw = modules[b] * site.module_mw
                online = cal.after(b, site.lead_time_months)
                if online >= n or generation[online] is None:
                    excess("build online in the horizon, with hardware", 1.0, 0.0)
                    continue
                excess("site power arrival", float(cal.first[online] < _month(site.power_available)), 0.0)
                new_mw_by_year[int(cal.year[online])] += mw
                cost["build_facility"][b] += facility[b] * site.facility_cost_multiplier * mw
                mw_online[online:] += mw
                cost["build_gpus"][online] += gpus[online] * mw
                cost["build_other_it"][online] += other[online] * mw
                purchases = [online]  # the first GPUs, then new ones each time their life is out
                while (refresh := cal.lasting(purchases[-1], gpu_months)) < n:
                    purchases.append(refresh)
                for r in purchases[1:]:
                    cost["build_refresh"][r] += (gpus[r] + other[r]) * mw
                for r in purchases:  # each purchase runs the newest generation until the next one
                    ground_mw[(s, generation[r])][r: cal.lasting(r, gpu_months)] += mw
                last = purchases[-1]
                # What is left at the lower of the price new at the end and the price paid (section 8).
                facility_value = (min(cal.at_end(bc.facility_usd_per_mw), facility[b]) * site.facility_cost_multiplier
                                  * mw * service_left(cal.lasting(online, facility_months) - n, facility_life, per_end)
                                  / per_end ** lead)
                it_value = (min(it_new * units(generation[last]) / units(newest_at_end), gpus[last] + other[last])
                            * mw * service_left(cal.lasting(last, gpu_months) - n, it_life, per_end))
                cost["salvage"][-1] -= facility_value + it_value
            excess("site power", mw_online * site.pue, site.grid_power_mw)
            cost["energy"] += (mw_online * site.pue * HOURS_PER_MONTH * site.energy_utilization_share * 1000
                               * site.electricity_usd_per_kwh * cal.L)
            cost["opex"] += mw_online * site.fixed_opex_usd_per_mw_month * cal.L
        if instance.terrestrial.new_mw_cap_per_year is not None:
            cap = instance.terrestrial.new_mw_cap_per_year
            for year, mw in new_mw_by_year.items():
                excess("national cap on new builds", mw, cal.yearly(cap, year)[0])

    if instance.orbital is not None:
        orbital = instance.orbital
        flights: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
        if orbital.programme_cost_usd > 0 and not any(s.held_at_start for s in orbital.satellite_classes.values()):
            one_off("orbit", orbital.programme_cost_usd, sum(d["launch"].values(), np.zeros(n)))
        for k, sat in orbital.satellite_classes.items():
            vehicle = orbital.launch_vehicles[sat.launch_vehicle]
            price, price_at_end = launch_prices(cal, vehicle)
            life_months = sat.life_years * 12
            life = max(1, cal.past_end(life_months))
            survive = (1 - sat.degradation_per_year) * (1 - sat.failure_rate_per_year)  # a year's
            # past the end, a period's service is the one before's times its survival and discount
            x = survive ** (cal.L_last / 12) * cal.per_end_period
            watts = sat.compute_kw * 1000
            new_at_end = price_at_end * sat.mass_kg + (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts
            launches = d["launch"][k]
            too_early = cal.first < max(_month(sat.earliest_launch), _month(vehicle.earliest_launch))
            excess("earliest launch", launches * too_early, 0.0)
            per_flight = math.floor(vehicle.payload_t * 1000 / sat.mass_kg + 1e-9)
            flown = (np.ceil(launches / per_flight - 1e-9) if per_flight else np.where(launches > 0, np.inf, 0.0))
            flights[sat.launch_vehicle] += flown
            if vehicle.launch_price_usd_per_flight:  # the fewest flights that carry the launches
                cost["launch_flights"] += flown * vehicle.launch_price_usd_per_flight
            in_orbit = np.zeros(n)
            fleet = np.zeros(n)
            for held in sat.held_at_start:  # launch and hardware sunk; decay and retirement run from the launch
                launched = _month(held.launched)
                retire = cal.period_from(launched + life_months)
                alive = t_idx < retire
                fleet += np.where(alive, held.satellites * survive ** ((cal.first - launched) / 12), 0.0)
                in_orbit += np.where(alive, held.satellites, 0.0)
                paid = price[0] * sat.mass_kg + (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts
                # valued as a satellite launched ``life`` periods of the last length before it retires
                decayed = survive ** ((cal.end_month - (cal.boundary(retire) - life * cal.L_last)) / 12)
                cost["salvage"][-1] -= (min(new_at_end, paid) * held.satellites
                                        * service_left(retire - n, life, x, decayed))
            for tau in np.flatnonzero(launches > 0.5):
                count = launches[tau]
                retire = cal.lasting(tau, life_months)
                alive = (t_idx >= tau) & (t_idx < retire)
                fleet += np.where(alive, count * survive ** (np.maximum(cal.first - cal.first[tau], 0) / 12), 0.0)
                in_orbit += np.where(alive, count, 0.0)
                cost["launch"][tau] += price[tau] * sat.mass_kg * count
                cost["satellite_hardware"][tau] += sat.hardware_usd_per_w * watts * count
                cost["satellite_gpus"][tau] += sat.gpus_usd_per_w * watts * count
                paid = price[tau] * sat.mass_kg + (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts
                decayed = survive ** ((cal.end_month - cal.first[tau]) / 12)
                cost["salvage"][-1] -= (min(new_at_end, paid) * count * service_left(retire - n, life, x, decayed))
            cost["opex"] += fleet * sat.compute_kw * sat.opex_usd_per_kw_month * cal.L
            if sat.ops_share_of_hardware_per_year:
                cost["satellite_ops"] += (in_orbit * sat.ops_share_of_hardware_per_year
                                          * (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts * cal.L / 12)
            compute["orbit"] += fleet * sat.compute_kw / 1000 * units(sat.hardware) * sat.sunlight_share
        for v, flown in flights.items():
            # the rate's flights since the horizon start, whole flights only, lost if not flown
            by_end = np.floor(np.cumsum(cal.yearly(orbital.launch_vehicles[v].flights_per_month) * cal.L) + 1e-9)
            excess("launch cadence", flown, np.diff(by_end, prepend=0.0))
        excess("orbital inference share", d["served"][("orbit", "inference")],
               orbital.max_inference_share * demand(instance, cal)["inference"])

    for (_, hardware), mw in ground_mw.items():
        compute["ground"] += mw * units(hardware)
    if instance.resale is not None and resold:
        total, per_unit = np.zeros(n), cal.yearly(instance.resale.price_usd_per_unit_month)
        for key, mw in resold.items():
            excess("resale within holding", mw, ground_mw.get(key, np.zeros(n)))
            cost["resale_revenue"] -= mw * units(key[1]) * per_unit * cal.L
            total += mw
        excess("resale market cap", total, cal.yearly(instance.resale.market_cap_mw))
    wanted = demand(instance, cal)
    for w in WORKLOADS:
        spec = getattr(instance.demand, w)
        excess("unmet demand share", d["unmet"][w], spec.max_unmet_share * wanted[w])
        cost["unmet_demand"] += d["unmet"][w] * spec.unmet_penalty_usd_per_unit_month * cal.L
    if instance.capital_budget_usd_per_year is not None:
        spend = sum((cost[c] for c in CAPITAL if c in cost), np.zeros(n))
        for year in sorted(set(cal.year.tolist())):
            excess("capital budget", spend[cal.year == year].sum(),
                   cal.yearly(instance.capital_budget_usd_per_year, year)[0])
    return Simulation(costs={c: cost[c] for c in COST_CATEGORIES if c in cost}, compute=compute,
                      ground_mw=dict(ground_mw), rules=dict(found))


def net_present_cost(instance: Instance, cost: dict[str, np.ndarray]) -> float:
    """The costs per period discounted to the horizon start: a monthly payment at each month's start, a lump sum
    at its period's first month, the end categories at the horizon end."""
    cal = Calendar(instance)
    total = 0.0
    for category, per_period in cost.items():
        if category in END_CATEGORIES:
            total += cal.at_end_factor * per_period.sum()
        elif category in PAID_EACH_MONTH:
            total += float(per_period @ cal.monthly_factors)
        else:
            total += float(per_period @ cal.lump_factors)
    return total


def audit(m, parts: Parts, objective_usd: float) -> dict:
    """Recompute the plan's cost and compare it with the solver's objective; check demand, capacity and rules.

    ``demand_mismatch`` is the largest |demand - served - unmet| and ``capacity_excess`` the largest compute a pool
    serves beyond what it holds less what it resold, both relative to the largest demand; ``rules`` the largest
    relative excess of each limit the plan breaks (:func:`simulate`)."""
    instance = parts.instance
    cal = Calendar(instance)
    d = decisions(m, instance, cal.n)
    resold: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(cal.n))
    for i, mw in d["resale_mw"].items():
        resold[(parts.slices[i].source, parts.slices[i].hardware)] += mw
    sim = simulate(instance, d, dict(resold))
    recomputed = net_present_cost(instance, sim.costs)
    scale = max(1.0, abs(objective_usd), abs(recomputed))

    wanted = demand(instance, cal)
    demand_scale = max(1.0, *(float(v.max()) for v in wanted.values()))
    mismatch = max(float(np.abs(wanted[w] - d["unmet"][w] - sum(d["served"][(p, w)] for p in POOLS)).max())
                   for w in WORKLOADS)
    resold_compute = sum((mw * instance.hardware[hw].compute_units_per_mw for (_, hw), mw in resold.items()),
                         np.zeros(cal.n))
    served = {p: sum(d["served"][(p, w)] for w in WORKLOADS) for p in POOLS}
    excess = max(float((served["ground"] - (sim.compute["ground"] - resold_compute)).max()),
                 float((served["orbit"] - sim.compute["orbit"]).max()))
    return {
        "objective_usd": objective_usd,
        "recomputed_usd": recomputed,
        "relative_difference": abs(objective_usd - recomputed) / scale,
        "demand_mismatch": mismatch / demand_scale,
        "capacity_excess": max(0.0, excess) / demand_scale,
        "costs": sim.costs,
        "rules": sim.rules,
    }
