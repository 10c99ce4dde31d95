"""The lab's own terrestrial builds: sites, integer modules, lead times, capex by year, refresh and salvage.

Variables, per site ``s``, hardware generation ``g`` and period ``t``:
  ``build_modules[s,t]``  integer modules decided at ``t``; online a lead time later (only where that lies in the
                          horizon, at or after the site's power date, and some hardware generation is out);
  ``build_mw[s,g,t]``     MW of IT online at ``s`` running generation ``g``. A module comes online with the
                          newest generation then available and is refreshed each time its GPUs' life is out with
                          the newest one again. State: build_mw[s,g,t] = build_mw[s,g,t-1] + (modules joining g
                          at t) - (modules leaving g at t), where joining and leaving are fixed functions of the
                          builds a lead time, a lead time and a life, ... earlier.
Durations are in months and mapped to periods from where they start (TimeGrid.after), so they hold across a
segmented grid's change of period length.
Modules online at the start (``held_at_start``, :func:`held_modules`) enter build_mw as constant flows: online
from period 0 on the generation they run, refreshed when their GPUs' life is out; their facility and first GPUs
are sunk, their energy, opex, refreshes and value at the end count as a new module's.
Constraints: site grid power (PUE x IT MW <= grid MW); national cap on new MW online per calendar year; for a site
with a one-off cost, ``build_site_start[s,t]`` (binary, at most once) before any module.
Costs: facility at the decision, GPUs and other IT when online and again at each refresh (at that year's
prices), energy and fixed opex on the MW online. Salvage at the horizon end (:func:`salvage_per_module`): the
facility's and the IT's remaining service, valued at what the same service costs new then (or at the price paid,
if lower).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyomo.environ import Binary, Constraint, NonNegativeIntegers, NonNegativeReals, Var

from models.parts import (
    COMPUTE,
    MONEY,
    CapacitySlice,
    Parts,
    Report,
    plan_frame,
    remaining_service_share,
    runs,
    series,
)
from solver.schema import Instance, month_index
from solver.timegrid import HOURS_PER_MONTH, TimeGrid


def newest_generation(instance: Instance, month: int) -> str | None:
    """The most efficient hardware generation available in ``month`` (an absolute month index; None before any)."""
    hardware = instance.hardware
    available = [g for g, spec in hardware.items() if month_index(spec.available_from) <= month]
    return max(available, key=lambda g: hardware[g].compute_units_per_mw) if available else None


def current_generation(instance: Instance, grid: TimeGrid) -> list[str | None]:
    """The newest hardware generation at each period's first month (None before any)."""
    return [newest_generation(instance, int(month)) for month in grid.first_month]


def build_arrays(parts: Parts, site_name: str, generation: list[str | None]) -> dict:
    """Per-period data of one site: which decisions are allowed, when they come online, capex schedules ($M per
    module), lives in months. ``generation`` is the newest hardware generation at each period
    (:func:`current_generation`)."""
    inst, grid = parts.instance, parts.grid
    site = inst.terrestrial.sites[site_name]
    costs = inst.terrestrial.build_costs
    T = grid.n_periods
    online = np.array([grid.after(b, site.lead_time_months) for b in range(T)])
    has_hardware = np.array([o < T and generation[o] is not None for o in online])
    power_from = grid.first_period_from(site.power_available)
    module = site.module_mw
    energy_per_mw_month = (site.pue * HOURS_PER_MONTH * site.energy_utilization_share * 1000
                           * site.electricity_usd_per_kwh / MONEY)
    return {
        "online": online,
        "lead_at_end": grid.end_periods(site.lead_time_months),  # the lead in periods past the horizon end
        "life_months": costs.gpu_life_years * 12,
        "facility_life_months": costs.facility_life_years * 12,
        "generation": generation,
        "can_build": (online < T) & (online >= power_from) & has_hardware,
        "max_modules": np.floor(site.grid_power_mw / (module * site.pue) + 1e-9),
        "facility": grid.year_schedule(costs.facility_usd_per_mw) * site.facility_cost_multiplier * module / MONEY,
        "gpus": grid.year_schedule(costs.gpus_usd_per_mw) * module / MONEY,
        "other_it": grid.year_schedule(costs.other_it_usd_per_mw) * module / MONEY,
        "energy_per_mw": grid.per_period(energy_per_mw_month),
        "opex_per_mw": grid.per_period(site.fixed_opex_usd_per_mw_month / MONEY),
    }


def refresh_periods(grid: TimeGrid, bought: int, life_months: float, until: int | None = None) -> list[int]:
    """Periods at which IT bought at ``bought`` is replaced: each time its life is out (in months, rounded up to a
    period start), inside the horizon (or before ``until``)."""
    until = grid.n_periods if until is None else until
    out, t = [], grid.end_of_term(bought, life_months)
    while t < until:
        out.append(t)
        t = grid.end_of_term(t, life_months)
    return out


def _value_at_end(parts: Parts, site_name: str) -> tuple[float, float, float]:
    """What one module's facility and IT cost new at the horizon end ($M), and the newest hardware's compute per
    MW then: the prices the end-of-horizon rule values what is left at."""
    inst, grid = parts.instance, parts.grid
    site = inst.terrestrial.sites[site_name]
    costs = inst.terrestrial.build_costs
    facility_new = grid.at_end(costs.facility_usd_per_mw) * site.facility_cost_multiplier * site.module_mw / MONEY
    it_new = (grid.at_end(costs.gpus_usd_per_mw) + grid.at_end(costs.other_it_usd_per_mw)) * site.module_mw / MONEY
    return facility_new, it_new, inst.hardware[newest_generation(inst, grid.end_month)].compute_units_per_mw


def _service_share(grid: TimeGrid, retire: int, life_months: float) -> float:
    """Share of a new asset's service (life ``life_months``) left at the horizon end by one retiring at ``retire``."""
    return remaining_service_share(retire - grid.n_periods, max(1, grid.end_periods(life_months)),
                                   grid.discount_end_period)


def _it_value(parts: Parts, site_name: str, d: dict, hardware: str, paid: float, retire: int) -> float:
    """Value at the horizon end of one module's IT of ``hardware``, bought for ``paid`` ($M) and serving until
    ``retire`` (its life out, or its facility retiring first): worth the compute it delivers, so a generation
    older than the newest at the end is valued at new IT's price times its compute per MW over the newest one's,
    or at the price paid where that is lower."""
    _, it_new, newest_at_end = _value_at_end(parts, site_name)
    running = parts.instance.hardware[hardware].compute_units_per_mw
    return min(it_new * running / newest_at_end, paid) * _service_share(parts.grid, retire, d["life_months"])


def salvage_per_module(parts: Parts, site_name: str, d: dict, decided: int) -> float:
    """Value at the horizon end of a module decided at ``decided`` ($M): its remaining service at what the same
    service costs new then (:func:`~models.parts.remaining_service_share`), for the facility and for the IT, or
    at the price paid where that is lower (prices that rose are no gain: the plan does not trade its assets).

    Facility: a new one at the horizon-end price, whose service starts a lead time after it is paid (so a
    facility ready now is worth that much interest more). IT: the GPUs and other IT of the latest purchase
    (:func:`_it_value`)."""
    grid = parts.grid
    online = int(d["online"][decided])
    facility_new, _, _ = _value_at_end(parts, site_name)
    value = (min(facility_new, d["facility"][decided])
             * _service_share(grid, grid.end_of_term(online, d["facility_life_months"]), d["facility_life_months"])
             / grid.discount_end_period ** d["lead_at_end"])
    last = ([online, *refresh_periods(grid, online, d["life_months"])])[-1]
    return value + _it_value(parts, site_name, d, d["generation"][last], d["gpus"][last] + d["other_it"][last],
                             grid.end_of_term(last, d["life_months"]))


def held_modules(parts: Parts, site_name: str, d: dict) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    """The modules online at the horizon start (``held_at_start``): MW per hardware generation and period, the
    cost of their GPU refreshes per period ($M), and their value at the horizon end ($M).

    Their facility and first GPUs are sunk. The GPUs bought at ``gpus_month`` are replaced when their life is out
    (rounded up to a period start), then each time the new ones' life is out, with the newest generation, as a
    new module's are; a facility whose life ends inside the horizon retires its modules then. At the end, what is
    left is valued as a new module's (:func:`salvage_per_module`), at the lower of the price new at the end and
    the price paid; for what was bought before the start, the price paid is taken as the price at the horizon
    start (the instance does not record it; an assumption)."""
    inst, grid = parts.instance, parts.grid
    site = inst.terrestrial.sites[site_name]
    T = grid.n_periods
    mw: dict[str, np.ndarray] = {}
    refresh = np.zeros(T)
    value = 0.0
    facility_new, _, _ = _value_at_end(parts, site_name)

    for held in site.held_at_start:
        retire = max(0, grid.period_from(month_index(held.online_since) + d["facility_life_months"]))
        first_refresh = max(0, grid.period_from(month_index(held.gpus_month) + d["life_months"]))
        refreshes = ([first_refresh, *refresh_periods(grid, first_refresh, d["life_months"], min(T, retire))]
                     if first_refresh < min(T, retire) else [])
        # Each purchase serves until the next one (the GPUs bought before the start until the first refresh).
        purchases = [(None, first_refresh)] + [(t, grid.end_of_term(t, d["life_months"])) for t in refreshes]
        for bought, replaced in purchases:
            hardware = held.hardware if bought is None else d["generation"][bought]
            mw.setdefault(hardware, np.zeros(T))[0 if bought is None else bought: min(T, retire, replaced)] += (
                held.modules * site.module_mw)
            if bought is not None:
                refresh[bought] += (d["gpus"][bought] + d["other_it"][bought]) * held.modules
        if retire < T:
            continue  # nothing left at the end
        # As a new module's (salvage_per_module): a facility ready now is worth a lead time's interest more than
        # a new one paid at the end.
        value += held.modules * (min(facility_new, d["facility"][0])
                                 * _service_share(grid, retire, d["facility_life_months"])
                                 / grid.discount_end_period ** d["lead_at_end"])
        bought, replaced = purchases[-1]
        hardware, paid = (held.hardware, d["gpus"][0] + d["other_it"][0]) if bought is None else (
            d["generation"][bought], d["gpus"][bought] + d["other_it"][bought])
        value += held.modules * _it_value(parts, site_name, d, hardware, paid, min(replaced, retire))
    return mw, refresh, value


def add(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    if inst.terrestrial is None or not inst.terrestrial.sites:
        return
    sites = list(inst.terrestrial.sites)
    newest = current_generation(inst, grid)  # the same for every site: computed once
    data = {s: build_arrays(parts, s, newest) for s in sites}
    T = range(grid.n_periods)
    held_mw, held_refresh, held_value = {}, {}, {}  # of the modules online at the start, per site
    for s in sites:
        held_mw[s], held_refresh[s], held_value[s] = held_modules(parts, s, data[s])
    generations = sorted({g for g in newest if g is not None} | {g for s in sites for g in held_mw[s]})
    if not generations:
        return  # no hardware generation is out in any period and nothing is held: nothing can be built

    m.build_modules = Var(sites, T, domain=NonNegativeIntegers,
                          bounds=lambda m, s, t: (0, data[s]["max_modules"] if data[s]["can_build"][t] else 0))
    m.build_mw = Var(sites, generations, T, domain=NonNegativeReals)

    # Which decisions come online at each period, and which modules (by the period they came online) have their
    # IT replaced at each period and what it replaces (the purchase before): fixed by the data.
    online_from = {s: {t: [] for t in T} for s in sites}
    replaced_at = {s: {t: [] for t in T} for s in sites}
    for s in sites:
        for b in T:
            if data[s]["online"][b] < grid.n_periods:
                online_from[s][int(data[s]["online"][b])].append(b)
        for o in T:
            chain = [o, *refresh_periods(grid, o, data[s]["life_months"])]
            for before, t in zip(chain, chain[1:], strict=False):
                replaced_at[s][t].append((o, before))

    def modules_online_at(s, t):
        """Module decisions that first come online at ``t`` (an expression, or 0)."""
        return sum(m.build_modules[s, b] for b in online_from[s][t])

    def refreshed_at(s, t):
        """Modules whose GPUs are replaced at ``t``."""
        return sum(modules_online_at(s, o) for o, _ in replaced_at[s][t])

    def generation_flow(s, g, t):
        """MW joining minus MW leaving generation ``g`` at ``t`` at site ``s``."""
        gen = newest
        module = inst.terrestrial.sites[s].module_mw
        flow = module * modules_online_at(s, t) if gen[t] == g else 0
        for o, before in replaced_at[s][t]:
            if gen[t] != gen[before]:  # a refresh to the same generation moves no MW
                if gen[t] == g:
                    flow = flow + module * modules_online_at(s, o)
                if gen[before] == g:
                    flow = flow - module * modules_online_at(s, o)
        return flow

    def held_flow(s, g, t):
        """MW of the modules held at the start joining (refreshed to, or online at the start) minus leaving ``g``."""
        mw = held_mw[s].get(g)
        return 0.0 if mw is None else float(mw[t] - (mw[t - 1] if t > 0 else 0.0))

    def mw_state(m, s, g, t):
        previous = m.build_mw[s, g, t - 1] if t > 0 else 0
        return m.build_mw[s, g, t] == previous + generation_flow(s, g, t) + held_flow(s, g, t)

    m.build_mw_state = Constraint(sites, generations, T, rule=mw_state)

    # A site's one-off cost is paid once, in the period the lab starts there: no module before the start. A site
    # with modules online at the start has started already (its cost is sunk).
    started = [s for s in sites
               if inst.terrestrial.sites[s].fixed_cost_usd > 0 and not inst.terrestrial.sites[s].held_at_start]
    if started:
        m.build_site_start = Var(started, T, domain=Binary)
        m.build_site_starts_once = Constraint(started, rule=lambda m, s: sum(m.build_site_start[s, t] for t in T) <= 1)

        def after_site_start(m, s, t):
            if not data[s]["can_build"][t]:
                return Constraint.Skip
            return m.build_modules[s, t] <= data[s]["max_modules"] * sum(m.build_site_start[s, u] for u in range(t + 1))

        m.build_after_site_start = Constraint(started, T, rule=after_site_start)
        for s in started:
            def site_start_cost(t, s=s):
                return inst.terrestrial.sites[s].fixed_cost_usd / MONEY * m.build_site_start[s, t]

            parts.add_cost("programme", site_start_cost)
            parts.capital_spend.append(site_start_cost)

    def site_mw(s, t):
        return sum(m.build_mw[s, g, t] for g in generations)

    m.build_site_power = Constraint(
        sites, T, rule=lambda m, s, t: inst.terrestrial.sites[s].pue * site_mw(s, t)
        <= inst.terrestrial.sites[s].grid_power_mw)

    cap = inst.terrestrial.new_mw_cap_per_year
    cap_by_period = grid.year_schedule(cap)
    if cap is not None:

        def national_cap(m, year):
            in_year = [t for t in T if grid.year[t] == year]
            new_mw = sum(inst.terrestrial.sites[s].module_mw * modules_online_at(s, t) for s in sites for t in in_year)
            if isinstance(new_mw, int | float):  # no module can come online this year
                return Constraint.Skip
            return new_mw <= cap_by_period[in_year[0]]

        m.build_national_cap = Constraint(grid.years, rule=national_cap)

    for s in sites:
        d = data[s]
        for g in generations:
            parts.slices.append(CapacitySlice(
                source=s, hardware=g, pool="ground",
                mw=lambda t, s=s, g=g: m.build_mw[s, g, t],
                compute_per_mw=inst.hardware[g].compute_units_per_mw / COMPUTE,
            ))

        capex = {
            "build_facility": lambda t, s=s, d=d: d["facility"][t] * m.build_modules[s, t],
            "build_gpus": lambda t, s=s, d=d: d["gpus"][t] * modules_online_at(s, t),
            "build_other_it": lambda t, s=s, d=d: d["other_it"][t] * modules_online_at(s, t),
            "build_refresh": lambda t, s=s, d=d: ((d["gpus"][t] + d["other_it"][t]) * refreshed_at(s, t)
                                                  + held_refresh[s][t]),
        }
        for category, term in capex.items():
            parts.add_cost(category, term)
            parts.capital_spend.append(term)
        parts.add_cost("energy", lambda t, s=s, d=d: d["energy_per_mw"][t] * site_mw(s, t))
        parts.add_cost("opex", lambda t, s=s, d=d: d["opex_per_mw"][t] * site_mw(s, t))
        parts.add_end_cost("salvage", -sum(salvage_per_module(parts, s, d, b) * m.build_modules[s, b]
                                           for b in T if d["can_build"][b]) - held_value[s])

    def report(m) -> Report:
        frames, binding = [], []
        for s in sites:
            site = inst.terrestrial.sites[s]
            mw_by_gen = {g: series(m.build_mw, s, g, n=grid.n_periods).round(6) for g in generations}
            mw = sum(mw_by_gen.values())
            compute = sum(mw_by_gen[g] * inst.hardware[g].compute_units_per_mw for g in generations)
            modules = series(m.build_modules, s, n=grid.n_periods).round(6)
            frames.append(plan_frame(grid, s, "own_build", mw_online=mw, compute_online_units=compute,
                                     new_units=modules, new_mw=modules * site.module_mw))
            full = [t for t in T if site.pue * mw[t] > site.grid_power_mw - site.module_mw * site.pue + 1e-6]
            if full:
                binding.append({"family": "site power", "name": s, "periods": runs(full, grid.labels)})
        if cap is not None:
            online_mw = np.zeros(grid.n_periods)
            for s, frame in zip(sites, frames, strict=True):
                for b, new_mw in enumerate(frame["new_mw"].to_numpy()):
                    if data[s]["online"][b] < grid.n_periods:
                        online_mw[data[s]["online"][b]] += new_mw
            smallest = min(site.module_mw for site in inst.terrestrial.sites.values())
            full_years = [y for y in grid.years if online_mw[grid.year == y].sum()
                          > cap_by_period[grid.year == y][0] - smallest + 1e-6]
            if full_years:
                binding.append({"family": "national build cap", "name": "terrestrial",
                                "periods": ", ".join(map(str, full_years))})
        return Report(plan=pd.concat(frames, ignore_index=True), binding=binding)

    parts.reports.append(report)
