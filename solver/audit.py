"""Independent recomputation of a plan from its decisions and the instance data, with numpy.

The audit reads only the *decisions* of a solved model (blocks committed, leases signed and noticed, modules
built, satellites launched, MW resold, compute served, demand unmet) and rebuilds everything else by simulation:
blocks held, leases on, MW online per site and hardware generation, fleets with decay and retirement, the compute
each pool holds, and every cost category, discounted with factors of its own. It shares with the model only the
evaluation of the instance's data on the periods (year schedules, the launch-price curve, the demand curve, which
generation is newest) and, to value resold MW in compute, each capacity slice's pool and compute per MW; no Pyomo
expression or state. The solve
compares its total with the objective, and checks that demand is served or reported unmet and that no pool
serves more compute than it holds.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from pyomo.environ import value

from models.builds import current_generation
from models.demand import demand_units
from models.orbital import launch_price_usd_per_kg
from models.parts import COMPUTE, COST_CATEGORIES, POOLS, WORKLOADS, Parts, series
from solver.schema import Instance, month_index
from solver.timegrid import HOURS_PER_MONTH, TimeGrid


def decisions(m, instance: Instance, n: int) -> dict:
    """The decisions of a solved model as numpy arrays in the instance's units (rounded where integral)."""
    out: dict = {"commit": {}, "sign": {}, "notice": {}, "modules": {}, "launch": {}}
    for c in instance.hyperscaler_contracts:
        out["commit"][c] = np.round(series(m.contract_commit, c, n=n))
    for name in instance.fixed_block_leases:
        out["sign"][name] = np.round(series(m.lease_sign, name, n=n))
        out["notice"][name] = np.round(series(m.lease_notice, name, n=n))
    if hasattr(m, "build_modules"):  # absent when nothing can be built (no hardware generation out in time)
        for s in instance.terrestrial.sites:
            out["modules"][s] = np.round(series(m.build_modules, s, n=n))
    if instance.orbital is not None:
        for k in instance.orbital.satellite_classes:
            out["launch"][k] = np.round(series(m.orbit_launch, k, n=n))
    slices = sorted({i for i, _ in m.resale_mw}) if hasattr(m, "resale_mw") else []
    out["resale_mw"] = {i: np.array([value(m.resale_mw[i, t]) for t in range(n)]) for i in slices}  # by slice
    out["unmet"] = {w: series(m.unmet, w, n=n) * COMPUTE for w in WORKLOADS}
    out["served"] = {(p, w): series(m.served, p, w, n=n) * COMPUTE if (p, w, 0) in m.served else np.zeros(n)
                     for p in POOLS for w in WORKLOADS}
    return out


def simulate(instance: Instance, d: dict) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Costs in nominal USD per category and period (salvage: a value at the horizon end, stored in the last
    period), and the compute units each pool holds per period before resale."""
    grid = TimeGrid(instance.horizon)
    n, L = grid.n_periods, grid.months_per_period
    years_per_period = L / 12
    cost: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
    compute = {p: np.zeros(n) for p in POOLS}
    t_idx = np.arange(n)

    def per_mw(hardware: str) -> float:
        return instance.hardware[hardware].compute_units_per_mw

    for c, spec in instance.hyperscaler_contracts.items():
        term = max(1, grid.periods_for_months(spec.min_term_months))
        held = np.array([d["commit"][c][max(0, t - term + 1): t + 1].sum() for t in t_idx])
        cost["contracts"] += held * spec.block_mw * spec.price_usd_per_mw_month * L
        compute["ground"] += held * spec.block_mw * per_mw(spec.hardware)

    for name, lease in instance.fixed_block_leases.items():
        last = grid.last_period_until(lease.end)
        notice_p = grid.periods_for_months(lease.notice_months)
        on = np.zeros(n)
        for s in np.flatnonzero(d["sign"][name] > 0.5):
            stop = last + 1
            for k in np.flatnonzero(d["notice"][name] > 0.5):
                stop = min(stop, k + notice_p)
            on[s:stop] = 1.0
            for month, share in enumerate(lease.ramp_in_fee_share):
                if s + month // L < n:  # fees after the horizon are not charged
                    cost["leases"][s + month // L] -= lease.fee_usd_per_month * (1 - share)
        cost["leases"] += on * lease.fee_usd_per_month * L
        compute["ground"] += on * lease.size_mw * per_mw(lease.hardware)

    if instance.terrestrial is not None:
        bc = instance.terrestrial.build_costs
        facility = grid.year_schedule(bc.facility_usd_per_mw)
        gpus = grid.year_schedule(bc.gpus_usd_per_mw)
        other = grid.year_schedule(bc.other_it_usd_per_mw)
        life = max(1, grid.periods_for_months(bc.gpu_life_years * 12))
        newest = current_generation(instance, grid)
        for s, site in instance.terrestrial.sites.items():
            lead = grid.periods_for_months(site.lead_time_months)
            mw_online = np.zeros(n)
            for b in np.flatnonzero(d["modules"].get(s, np.zeros(n)) > 0.5):
                mw = d["modules"][s][b] * site.module_mw
                online = b + lead
                cost["build_facility"][b] += facility[b] * site.facility_cost_multiplier * mw
                mw_online[online:] += mw
                cost["build_gpus"][online] += gpus[online] * mw
                cost["build_other_it"][online] += other[online] * mw
                purchases = list(range(online, n, life))
                for r in purchases[1:]:
                    cost["build_refresh"][r] += (gpus[r] + other[r]) * mw
                for r in purchases:  # each purchase runs the newest generation until the next one
                    compute["ground"][r: r + life] += mw * per_mw(newest[r])
                facility_age = (n - online) * years_per_period
                cost["salvage"][-1] -= (facility[b] * site.facility_cost_multiplier * mw
                                        * max(0.0, 1 - facility_age / bc.facility_life_years)
                                        + (gpus[purchases[-1]] + other[purchases[-1]]) * mw
                                        * max(0.0, 1 - (n - purchases[-1]) / life))
            cost["energy"] += mw_online * site.pue * HOURS_PER_MONTH * 1000 * site.electricity_usd_per_kwh * L
            cost["opex"] += mw_online * site.fixed_opex_usd_per_mw_month * L

    if instance.orbital is not None:
        orbital = instance.orbital
        for k, sat in orbital.satellite_classes.items():
            vehicle = orbital.launch_vehicles[sat.launch_vehicle]
            price = launch_price_usd_per_kg(grid, vehicle)
            life = max(1, grid.periods_for_months(sat.life_years * 12))
            survive = ((1 - sat.degradation_per_year) * (1 - sat.failure_rate_per_year)) ** years_per_period
            fleet = np.zeros(n)
            for tau in np.flatnonzero(d["launch"][k] > 0.5):
                count = d["launch"][k][tau]
                alive = (t_idx >= tau) & (t_idx < tau + life)
                fleet += np.where(alive, count * survive ** np.maximum(t_idx - tau, 0), 0.0)
                capital = {"launch": price[tau] * sat.mass_kg * count,
                           "satellite_hardware": sat.hardware_usd_per_w * sat.compute_kw * 1000 * count,
                           "satellite_gpus": sat.gpus_usd_per_w * sat.compute_kw * 1000 * count}
                for category, amount in capital.items():
                    cost[category][tau] += amount
                cost["salvage"][-1] -= sum(capital.values()) * max(0.0, 1 - (n - tau) / life)
            cost["opex"] += fleet * sat.compute_kw * sat.opex_usd_per_kw_month * L
            compute["orbit"] += fleet * sat.compute_kw / 1000 * per_mw(sat.hardware) * sat.sunlight_share

    if instance.resale is not None:
        resold_mw = sum(d["resale_mw"].values(), np.zeros(n))
        cost["resale_revenue"] -= resold_mw * instance.resale.price_usd_per_mw_month * L

    for w in WORKLOADS:
        cost["unmet_demand"] += d["unmet"][w] * getattr(instance.demand, w).unmet_penalty_usd_per_unit_month * L
    return {c: cost[c] for c in COST_CATEGORIES if c in cost}, compute


# When each category is paid: month by month through a period (a price per MW-month, energy, opex, lost revenue),
# or as a lump sum at its first month (capital, launches). The audit keeps its own list and its own factors.
PAID_EACH_MONTH = {"contracts", "leases", "energy", "opex", "unmet_demand", "resale_revenue"}


def net_present_cost(instance: Instance, cost: dict[str, np.ndarray]) -> float:
    """The costs per period discounted to the horizon start month by month: a monthly payment at each month's
    start, a lump sum at its period's first month, salvage at the horizon end."""
    grid = TimeGrid(instance.horizon)
    n, months = grid.n_periods, grid.months_per_period
    monthly = (1.0 + instance.horizon.discount_rate_per_year) ** -(np.arange(n * months) / 12.0)
    factor = monthly.reshape(n, months)
    at_end = (1.0 + instance.horizon.discount_rate_per_year) ** -(n * months / 12.0)
    total = 0.0
    for category, per_period in cost.items():
        if category == "salvage":
            total += at_end * per_period.sum()
        elif category in PAID_EACH_MONTH:
            total += float(per_period @ factor.mean(axis=1))
        else:
            total += float(per_period @ factor[:, 0])
    return total


# What is not paid month by month is capital (builds, refreshes, satellites, launches), or salvage.
CAPITAL = [c for c in COST_CATEGORIES if c not in PAID_EACH_MONTH and c != "salvage"]


def rule_violations(instance: Instance, d: dict, costs: dict[str, np.ndarray]) -> dict[str, float]:
    """How far the plan breaks each limit of MODEL.md, re-checked from the instance data with code of its own (not
    the model's rows, so a wrong constraint is caught too): the largest excess of each family, relative to its
    limit (over max(1, limit)). 0 where the plan keeps a limit, or the instance has none of that kind."""
    grid = TimeGrid(instance.horizon)
    n, months = grid.n_periods, grid.months_per_period
    start = month_index(instance.horizon.start)
    first_month = start + months * np.arange(n)
    found: dict[str, float] = defaultdict(float)

    def excess(family: str, used: np.ndarray, limit: np.ndarray) -> None:
        over = (np.asarray(used, dtype=float) - limit) / np.maximum(1.0, np.abs(limit))
        found[family] = max(found[family], float(over.max(initial=0.0)))

    for c, spec in instance.hyperscaler_contracts.items():
        term = max(1, grid.periods_for_months(spec.min_term_months))
        held = np.convolve(d["commit"][c], np.ones(term))[:n]
        excess("contract ramp", held * spec.block_mw, grid.month_series(spec.ramp_mw))
    for name, lease in instance.fixed_block_leases.items():
        signed = np.flatnonzero(d["sign"][name] > 0.5)
        excess("lease signed once", np.array([d["sign"][name].sum()]), np.array([1.0]))
        early = first_month[signed] < month_index(lease.available_from)
        excess("lease window", early.astype(float), np.zeros(len(signed)))
    if instance.terrestrial is not None:
        new_mw_by_year: dict[int, float] = defaultdict(float)
        for s, site in instance.terrestrial.sites.items():
            modules = d["modules"].get(s, np.zeros(n))
            lead = -(-site.lead_time_months // months)  # whole periods, rounded up
            online_mw = np.zeros(n)
            for b in np.flatnonzero(modules > 0.5):
                if b + lead >= n:
                    excess("build online in the horizon", np.array([1.0]), np.array([0.0]))
                    continue
                online_mw[b + lead:] += modules[b] * site.module_mw
                new_mw_by_year[int(first_month[b + lead] // 12)] += modules[b] * site.module_mw
                excess("site power arrival", np.array([float(first_month[b + lead] < month_index(
                    site.power_available))]), np.array([0.0]))
            excess("site power", online_mw * site.pue, np.full(n, site.grid_power_mw))
        if instance.terrestrial.new_mw_cap_per_year is not None:
            cap = grid.year_schedule(instance.terrestrial.new_mw_cap_per_year)
            for year, mw in new_mw_by_year.items():
                excess("national cap on new builds", np.array([mw]), np.array([cap[grid.year == year][0]]))
    if instance.orbital is not None:
        orbital = instance.orbital
        inference = demand_units(instance, grid)["inference"]
        excess("orbital inference share", d["served"][("orbit", "inference")],
               orbital.max_inference_share * inference)
        flights: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
        for k, sat in orbital.satellite_classes.items():
            vehicle = orbital.launch_vehicles[sat.launch_vehicle]
            per_flight = np.floor(vehicle.payload_t * 1000 / sat.mass_kg + 1e-9)
            flights[sat.launch_vehicle] += np.ceil(d["launch"][k] / per_flight - 1e-9)
            too_early = first_month < max(month_index(sat.earliest_launch), month_index(vehicle.earliest_launch))
            excess("earliest launch", d["launch"][k] * too_early, np.zeros(n))
        for v, flown in flights.items():
            rate = grid.year_schedule(orbital.launch_vehicles[v].flights_per_month)
            allowed_by_end, total = [], 0.0
            for t in range(n):  # the rate's flights since the horizon start, whole flights only
                total += rate[t] * months
                allowed_by_end.append(np.floor(total + 1e-9))
            excess("launch cadence", flown, np.diff(np.array(allowed_by_end), prepend=0.0))
    if instance.resale is not None:
        excess("resale market cap", sum(d["resale_mw"].values(), np.zeros(n)),
               grid.year_schedule(instance.resale.market_cap_mw))
    if instance.capital_budget_usd_per_year is not None:
        budget = grid.year_schedule(instance.capital_budget_usd_per_year)
        spend = sum((costs[c] for c in CAPITAL if c in costs), np.zeros(n))
        for year in grid.years:
            in_year = grid.year == year
            excess("capital budget", np.array([spend[in_year].sum()]), np.array([budget[in_year][0]]))
    return dict(found)


def audit(m, parts: Parts, objective_usd: float) -> dict:
    """Recompute the plan's cost and compare it with the solver's objective; check demand and capacity.

    ``demand_mismatch`` is the largest |demand - served - unmet| and ``capacity_excess`` the largest compute a pool
    serves beyond what it holds less what it resold, both relative to the largest demand."""
    instance, grid = parts.instance, parts.grid
    d = decisions(m, instance, grid.n_periods)
    costs, compute = simulate(instance, d)
    recomputed = net_present_cost(instance, costs)
    scale = max(1.0, abs(objective_usd), abs(recomputed))

    demand = demand_units(instance, grid)
    demand_scale = max(1.0, *(float(v.max()) for v in demand.values()))
    mismatch = max(float(np.abs(demand[w] - d["unmet"][w] - sum(d["served"][(p, w)] for p in POOLS)).max())
                   for w in WORKLOADS)
    excess = 0.0
    for p in POOLS:
        resold = sum((mw * parts.slices[i].compute_per_mw * COMPUTE
                      for i, mw in d["resale_mw"].items() if parts.slices[i].pool == p), np.zeros(grid.n_periods))
        served = sum(d["served"][(p, w)] for w in WORKLOADS)
        excess = max(excess, float((served - (compute[p] - resold)).max()))
    return {
        "objective_usd": objective_usd,
        "recomputed_usd": recomputed,
        "relative_difference": abs(objective_usd - recomputed) / scale,
        "demand_mismatch": mismatch / demand_scale,
        "capacity_excess": max(0.0, excess) / demand_scale,
        "costs": costs,
        "rules": rule_violations(instance, d, costs),
    }

