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

import numpy as np
from pyomo.environ import value

from models.parts import COMPUTE, COST_CATEGORIES, END_CATEGORIES, POOLS, WORKLOADS, Parts
from solver.schema import Instance, WorkloadDemand

HOURS_PER_MONTH = 8760 / 12
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}

# When each category is paid: month by month through a period (a price per MW-month, energy, opex, lost revenue),
# or as a lump sum at its first month (capital, launches); the end categories at the horizon end.
PAID_EACH_MONTH = {"contracts", "leases", "energy", "opex", "satellite_ops", "unmet_demand", "resale_revenue"}
CAPITAL = [c for c in COST_CATEGORIES if c not in PAID_EACH_MONTH and c not in END_CATEGORIES]


def _month(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


class Calendar:
    """The audit's own reading of the horizon: period ``t`` starts at month ``first[t]`` and lasts ``L`` months;
    durations round up to whole periods, availability to the next period start, ends down to the last period that
    ends in time; a year schedule holds its value for the calendar year of a period's first month."""

    def __init__(self, instance: Instance):
        h = instance.horizon
        self.L = PERIOD_MONTHS[h.period]
        self.start = _month(h.start)
        self.n = (_month(h.end) - self.start + 1) // self.L
        self.first = self.start + self.L * np.arange(self.n)
        self.year = self.first // 12
        self.end_month = self.start + self.n * self.L
        self.rate = h.discount_rate_per_year
        months = np.arange(self.n * self.L).reshape(self.n, self.L)
        self.monthly_factors = (1 + self.rate) ** -(months / 12)  # row t: the factors of period t's months
        self.at_end_factor = (1 + self.rate) ** -(self.n * self.L / 12)
        self.per_period = (1 + self.rate) ** -(self.L / 12)

    def periods(self, months: float) -> int:
        return max(0, math.ceil(round(months / self.L, 9)))

    def from_month(self, month: str) -> int:
        return max(0, -((self.start - _month(month)) // self.L))

    def until_month(self, month: str) -> int:
        return (_month(month) - self.start + 1) // self.L - 1

    def yearly(self, schedule, year=None) -> np.ndarray:
        """A year schedule on the periods (or at ``year``): linear between its years, flat outside them."""
        years = self.year if year is None else np.array([year])
        if not isinstance(schedule, dict):
            return np.full(len(years), float(schedule))
        keys = sorted(schedule)
        return np.interp(years, keys, [schedule[k] for k in keys])

    def at_end(self, schedule) -> float:
        return float(self.yearly(schedule, self.end_month // 12)[0])

    def step(self, series: dict[str, float], months: np.ndarray) -> np.ndarray:
        """The value of a month series in force in each of ``months``; 0 before its first month."""
        out = np.zeros(len(months))
        for key in sorted(series, key=_month):
            out[months >= _month(key)] = series[key]
        return out


def demand(instance: Instance, cal: Calendar) -> dict[str, np.ndarray]:
    """Demand per workload and period: the mean over the period's months of the series or the growth law."""
    months = cal.start + np.arange(cal.n * cal.L)
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
        out[w] = monthly.reshape(cal.n, cal.L).mean(axis=1)
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


def service_left(survival: float, life: int, age: int, discount: float) -> float:
    """Share of a new asset's discounted lifetime output that an asset ``age`` periods old still has, output
    falling by ``survival`` a period until retirement at ``life``: a geometric sum, in closed form."""
    if age >= life:
        return 0.0
    x = survival * discount
    if abs(1 - x) < 1e-12:
        return survival ** age * (life - age) / life
    return survival ** age * (1 - x ** (life - age)) / (1 - x ** life)


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
    n, L = cal.n, cal.L
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
        term = max(1, cal.periods(spec.min_term_months))
        initial = spec.held_at_start.blocks if spec.held_at_start else 0
        initial_left = cal.periods(spec.held_at_start.term_left_months) if spec.held_at_start else 0
        new = np.maximum(0.0, np.diff(held, prepend=float(initial)))
        in_term = np.array([new[max(0, t - term + 1): t + 1].sum() for t in t_idx]) + initial * (t_idx < initial_left)
        excess("contract minimum term", in_term, held)
        excess("contract ramp", held * spec.block_mw, cal.step(spec.ramp_mw, cal.first))
        cost["contracts"] += held * spec.block_mw * spec.price_usd_per_mw_month * L
        ground_mw[(c, spec.hardware)] += held * spec.block_mw
        committed = [(u, new[u]) for u in np.flatnonzero(new > 0)] + ([(initial_left - term, initial)] if initial
                                                                          else [])
        for u, blocks in committed:  # take-or-pay past the horizon, and the service it buys at that price
            months_left = (u + term - n) * L
            owed = blocks * spec.block_mw * spec.price_usd_per_mw_month * float(
                ((1 + cal.rate) ** -(np.arange(max(0, months_left)) / 12)).sum())
            cost["take_or_pay_after_horizon"][-1] += owed
            cost["salvage"][-1] -= owed

    for name, lease in instance.fixed_block_leases.items():
        sign, notice = d["sign"][name], d["notice"][name]
        last = end_last = cal.until_month(lease.end)
        if lease.provider_notice_month is not None:  # the provider's notice runs out: the block's last month
            ended = _month(lease.provider_notice_month) + lease.notice_months - 1
            last = min(last, (ended - cal.start + 1) // L - 1)
        term, notice_p = max(1, cal.periods(lease.min_term_months)), cal.periods(lease.notice_months)
        excess("lease signed once", sign.sum(), 1.0)
        excess("lease notice once", notice.sum(), 1.0)
        excess("lease noticed without an exit clause", 0.0 if lease.exit_allowed else notice.sum(), 0.0)
        on = np.zeros(n)
        if lease.held_at_start is not None:  # signed before the start: on from period 0 until its notice or end
            excess("lease signed once", sign.sum() + 1.0, 1.0)
            since = cal.start - _month(lease.held_at_start.signed)
            stop = last + 1
            for k in np.flatnonzero(notice > 0.5):
                stop = min(stop, k + notice_p)
            excess("lease minimum term", min(cal.periods(lease.min_term_months - since), last + 1) - stop, 0.0)
            on[:stop] = 1.0
            for month, share in enumerate(lease.ramp_in_fee_share):
                if month >= since and (month - since) // L < min(n, last + 1):
                    cost["leases"][(month - since) // L] -= lease.fee_usd_per_month * (1 - share)
        for s in np.flatnonzero(sign > 0.5):
            excess("lease window", float(cal.first[s] < _month(lease.available_from)), 0.0)
            if lease.sign_by is not None:
                excess("lease offer expired", float(cal.first[s] > _month(lease.sign_by)), 0.0)
            stop = last + 1  # the block ends after its last month, or when a notice runs out
            for k in np.flatnonzero(notice > 0.5):
                stop = min(stop, k + notice_p)
            # signed with its minimum term before the lease's end, and held it unless the provider's notice came first
            excess("lease minimum term", term - (end_last + 1 - s), 0.0)
            excess("lease minimum term", min(term, last + 1 - s) - (stop - s), 0.0)
            on[s:stop] = 1.0
            for month, share in enumerate(lease.ramp_in_fee_share):
                if s + month // L < min(n, last + 1):  # fees after the horizon, or the block's end, are not charged
                    cost["leases"][s + month // L] -= lease.fee_usd_per_month * (1 - share)
        excess("lease notice after signing",
               float(notice.sum() > 0 and sign.sum() == 0 and lease.held_at_start is None), 0.0)
        cost["leases"] += on * lease.fee_usd_per_month * L
        ground_mw[(name, lease.hardware)] += on * lease.size_mw

    if instance.terrestrial is not None:
        bc = instance.terrestrial.build_costs
        facility, gpus, other = cal.yearly(bc.facility_usd_per_mw), cal.yearly(bc.gpus_usd_per_mw), \
            cal.yearly(bc.other_it_usd_per_mw)
        it_life = max(1, cal.periods(bc.gpu_life_years * 12))
        facility_life = max(1, cal.periods(bc.facility_life_years * 12))
        generation = [newest(instance, int(month)) for month in cal.first]
        newest_at_end = newest(instance, cal.end_month)
        it_new = cal.at_end(bc.gpus_usd_per_mw) + cal.at_end(bc.other_it_usd_per_mw)
        new_mw_by_year: dict[int, float] = defaultdict(float)
        for s, site in instance.terrestrial.sites.items():
            lead = cal.periods(site.lead_time_months)
            modules = d["modules"].get(s, np.zeros(n))
            if site.fixed_cost_usd > 0 and not site.held_at_start:  # a site with modules held has started already
                one_off(s, site.fixed_cost_usd, modules)
            mw_online = np.zeros(n)
            for held in site.held_at_start:  # facility and first GPUs sunk; refreshes, energy, opex and value not
                mw = held.modules * site.module_mw
                facility_age = cal.start - _month(held.online_since)
                retire = cal.periods(bc.facility_life_years * 12 - facility_age)
                bought = cal.periods(bc.gpu_life_years * 12 - (cal.start - _month(held.gpus_month))) - it_life
                runs_on = [(bought, held.hardware)] + [(r, generation[r]) for r in range(bought + it_life,
                                                                                          min(n, retire), it_life)]
                for r, hardware in runs_on:
                    ground_mw[(s, hardware)][max(0, r): min(retire, r + it_life)] += mw
                    if r >= 0:
                        cost["build_refresh"][r] += (gpus[r] + other[r]) * mw
                mw_online[:retire] += mw
                if retire >= n:  # what is left, at the lower of new at the end and the price paid: for what was
                    # bought before the start, the price at the start; the IT serves until the facility retires
                    last, hardware = runs_on[-1]
                    paid_it = gpus[max(0, last)] + other[max(0, last)]
                    it_ages = np.arange(n - last, min(it_life, retire - last))
                    it_left = float((cal.per_period ** (it_ages - (n - last))).sum()
                                    / (cal.per_period ** np.arange(it_life)).sum())
                    cost["salvage"][-1] -= (
                        min(cal.at_end(bc.facility_usd_per_mw), facility[0]) * site.facility_cost_multiplier * mw
                        * service_left(1.0, facility_life, facility_life - (retire - n), cal.per_period)
                        / cal.per_period ** lead
                        + min(it_new * units(hardware) / units(newest_at_end), paid_it) * mw * it_left)
            for b in np.flatnonzero(modules > 0.5):
                mw = modules[b] * site.module_mw
                online = b + lead
                if online >= n or generation[online] is None:
                    excess("build online in the horizon, with hardware", 1.0, 0.0)
                    continue
                excess("site power arrival", float(cal.first[online] < _month(site.power_available)), 0.0)
                new_mw_by_year[int(cal.year[online])] += mw
                cost["build_facility"][b] += facility[b] * site.facility_cost_multiplier * mw
                mw_online[online:] += mw
                cost["build_gpus"][online] += gpus[online] * mw
                cost["build_other_it"][online] += other[online] * mw
                purchases = list(range(online, n, it_life))
                for r in purchases[1:]:
                    cost["build_refresh"][r] += (gpus[r] + other[r]) * mw
                for r in purchases:  # each purchase runs the newest generation until the next one
                    ground_mw[(s, generation[r])][r: r + it_life] += mw
                last = purchases[-1]
                # What is left at the lower of the price new at the end and the price paid (section 8).
                facility_value = (min(cal.at_end(bc.facility_usd_per_mw), facility[b]) * site.facility_cost_multiplier
                                  * mw * service_left(1.0, facility_life, n - online, cal.per_period)
                                  / cal.per_period ** lead)
                it_value = (min(it_new * units(generation[last]) / units(newest_at_end), gpus[last] + other[last])
                            * mw * service_left(1.0, it_life, n - last, cal.per_period))
                cost["salvage"][-1] -= facility_value + it_value
            excess("site power", mw_online * site.pue, site.grid_power_mw)
            cost["energy"] += (mw_online * site.pue * HOURS_PER_MONTH * site.energy_utilization_share * 1000
                               * site.electricity_usd_per_kwh * L)
            cost["opex"] += mw_online * site.fixed_opex_usd_per_mw_month * L
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
            life = max(1, cal.periods(sat.life_years * 12))
            survive = ((1 - sat.degradation_per_year) * (1 - sat.failure_rate_per_year)) ** (L / 12)
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
                age = cal.start - _month(held.launched)
                retire = cal.periods(sat.life_years * 12 - age)
                alive = t_idx < retire
                fleet += np.where(alive, held.satellites * survive ** (age / L + t_idx), 0.0)
                in_orbit += np.where(alive, held.satellites, 0.0)
                paid = price[0] * sat.mass_kg + (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts
                cost["salvage"][-1] -= (min(new_at_end, paid) * held.satellites
                                        * service_left(survive, life, n + life - retire, cal.per_period))
            for tau in np.flatnonzero(launches > 0.5):
                count = launches[tau]
                alive = (t_idx >= tau) & (t_idx < tau + life)
                fleet += np.where(alive, count * survive ** np.maximum(t_idx - tau, 0), 0.0)
                in_orbit += np.where(alive, count, 0.0)
                cost["launch"][tau] += price[tau] * sat.mass_kg * count
                cost["satellite_hardware"][tau] += sat.hardware_usd_per_w * watts * count
                cost["satellite_gpus"][tau] += sat.gpus_usd_per_w * watts * count
                paid = price[tau] * sat.mass_kg + (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts
                cost["salvage"][-1] -= (min(new_at_end, paid) * count
                                        * service_left(survive, life, n - tau, cal.per_period))
            cost["opex"] += fleet * sat.compute_kw * sat.opex_usd_per_kw_month * L
            if sat.ops_share_of_hardware_per_year:
                cost["satellite_ops"] += (in_orbit * sat.ops_share_of_hardware_per_year
                                          * (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts * L / 12)
            compute["orbit"] += fleet * sat.compute_kw / 1000 * units(sat.hardware) * sat.sunlight_share
        for v, flown in flights.items():
            rate = cal.yearly(orbital.launch_vehicles[v].flights_per_month)
            slots, by_end = np.zeros(n), 0.0
            for t in range(n):  # the rate's flights since the horizon start, whole flights only, lost if not flown
                total = math.floor(rate[: t + 1].sum() * L + 1e-9)
                slots[t], by_end = total - by_end, total
            excess("launch cadence", flown, slots)
        excess("orbital inference share", d["served"][("orbit", "inference")],
               orbital.max_inference_share * demand(instance, cal)["inference"])

    for (_, hardware), mw in ground_mw.items():
        compute["ground"] += mw * units(hardware)
    if instance.resale is not None and resold:
        total, per_unit = np.zeros(n), cal.yearly(instance.resale.price_usd_per_unit_month)
        for key, mw in resold.items():
            excess("resale within holding", mw, ground_mw.get(key, np.zeros(n)))
            cost["resale_revenue"] -= mw * units(key[1]) * per_unit * L
            total += mw
        excess("resale market cap", total, cal.yearly(instance.resale.market_cap_mw))
    wanted = demand(instance, cal)
    for w in WORKLOADS:
        spec = getattr(instance.demand, w)
        excess("unmet demand share", d["unmet"][w], spec.max_unmet_share * wanted[w])
        cost["unmet_demand"] += d["unmet"][w] * spec.unmet_penalty_usd_per_unit_month * L
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
            total += float(per_period @ cal.monthly_factors.mean(axis=1))
        else:
            total += float(per_period @ cal.monthly_factors[:, 0])
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
