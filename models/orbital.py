"""Orbital compute: satellite classes launched on rockets at a price per kg, with cadence caps, decay and retirement.

Variables, per satellite class ``k``, launch vehicle ``v`` and period ``t``:
  ``orbit_launch[k,t]``   integer satellites launched at ``t`` (from the later of the class's and the vehicle's
                          earliest launch), online in the same period;
  ``orbit_fleet[k,t]``    satellites online, counted at their decayed output (degradation and GPU failures shrink
                          a cohort by ``s`` a year, s^(months / 12) over a period). State, with k[t] the output
                          kept from the start to period t and r[u] the period a launch at u retires at (its
                          life in months on): fleet[t] = k[t]/k[t-1] fleet[t-1] + launch[t]
                          - sum over u with r[u] = t of k[t]/k[u] launch[u];
  ``orbit_flights[k,t]``  integer flights carrying class ``k`` at ``t`` (a flight carries one class, so a
                          satellite is never split across flights).
Satellites in orbit at the start (``held_at_start``, :func:`held_satellites`) join the fleet as a constant flow.
A programme cost (``orbital.programme_cost_usd``) is paid once, at ``orbit_programme_start[t]`` (binary), before
any launch.
Constraints: ``orbit_payload``: launch[k,t] <= floor(payload / mass_k) x flights[k,t]; ``orbit_cadence``: the
flights of all classes on vehicle ``v`` at most its slots in the period (:func:`flight_slots`: cadence is a rate,
and a slot not flown is lost). The inference share orbit may serve is enforced in the core demand balance (pool
``orbit``).
Costs: launch (price per kg x mass, and per flight), satellite hardware and GPUs at launch, opex on the kW online
and operations as a share of the installed hardware a year on the satellites in orbit. Salvage at the
horizon end: a satellite's remaining (decayed) output until retirement, valued at what a new satellite of its
class costs then (launch at the horizon-end price, hardware, GPUs), or what it cost if that is lower, per unit of
its lifetime output.
"""

from __future__ import annotations

import math

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
from solver.schema import LaunchVehicle, month_index
from solver.timegrid import TimeGrid


def launch_price_usd_per_kg(grid: TimeGrid, vehicle: LaunchVehicle, at_end: bool = False) -> np.ndarray:
    """Launch price per period (or, with ``at_end``, at the horizon end, as a 1-element array): the explicit
    schedule, or the learning curve on industry cumulative mass at the period's start."""
    if vehicle.launch_price_usd_per_kg is not None:
        schedule = vehicle.launch_price_usd_per_kg
        return np.array([grid.at_end(schedule)]) if at_end else grid.year_schedule(schedule)
    curve = vehicle.learning_curve
    mass_per_period = grid.year_schedule(curve.industry_mass_t_per_year) * grid.months / 12
    launched_before = np.concatenate([[0.0], np.cumsum(mass_per_period)])
    cumulative = curve.initial_cumulative_mass_t + (launched_before[-1:] if at_end else launched_before[:-1])
    exponent = math.log2(1.0 - curve.price_drop_per_doubling)
    price = curve.initial_price_usd_per_kg * (cumulative / curve.initial_cumulative_mass_t) ** exponent
    return np.maximum(price, curve.floor_usd_per_kg)


def class_arrays(parts: Parts, name: str) -> dict:
    """Data of one satellite class: launch window, survival and life, unit costs ($M per satellite, per period)."""
    grid = parts.grid
    orbital = parts.instance.orbital
    sat = orbital.satellite_classes[name]
    vehicle = orbital.launch_vehicles[sat.launch_vehicle]
    first = max(grid.first_period_from(sat.earliest_launch), grid.first_period_from(vehicle.earliest_launch))
    watts = sat.compute_kw * 1000
    return {
        "first": first,
        "life_months": sat.life_years * 12,
        "survival_per_year": (1 - sat.degradation_per_year) * (1 - sat.failure_rate_per_year),
        "launch": launch_price_usd_per_kg(grid, vehicle) * sat.mass_kg / MONEY,
        "hardware": sat.hardware_usd_per_w * watts / MONEY,
        "gpus": sat.gpus_usd_per_w * watts / MONEY,
        "opex": grid.per_period(sat.opex_usd_per_kw_month * sat.compute_kw / MONEY),
        # operations on the installed hardware, per satellite in orbit and period
        "ops": grid.per_period(sat.ops_share_of_hardware_per_year * (sat.hardware_usd_per_w + sat.gpus_usd_per_w)
                               * watts / 12 / MONEY),
        "per_flight_price": vehicle.launch_price_usd_per_flight / MONEY,
        "new_at_end": (launch_price_usd_per_kg(grid, vehicle, at_end=True)[0] * sat.mass_kg
                       + (sat.hardware_usd_per_w + sat.gpus_usd_per_w) * watts) / MONEY,
    }


def output_share(d: dict, months: np.ndarray | float) -> np.ndarray | float:
    """Share of its output a satellite keeps ``months`` after launch (degradation and failures, compounding)."""
    return d["survival_per_year"] ** (np.asarray(months) / 12)


def _value_left(grid: TimeGrid, d: dict, retire: int, output_now: float, paid_at: int) -> float:
    """Value at the horizon end of a satellite keeping ``output_now`` of its output and retiring at ``retire``:
    its remaining decayed output at what a new one of its class costs then, or at the price paid (at period
    ``paid_at``) where that is lower (:func:`~models.parts.remaining_service_share`, in periods past the end)."""
    price = min(d["new_at_end"], d["launch"][paid_at] + d["hardware"] + d["gpus"])
    return price * remaining_service_share(retire - grid.n_periods, max(1, grid.end_periods(d["life_months"])),
                                           grid.discount_end_period, output_share(d, grid.last_months),
                                           output_now)


def salvage_per_satellite(grid: TimeGrid, d: dict, launched: int) -> float:
    """Value at the horizon end of a satellite launched at ``launched`` ($M) (:func:`_value_left`)."""
    return _value_left(grid, d, grid.end_of_term(launched, d["life_months"]),
                       output_share(d, grid.end_month - grid.first_month[launched]), launched)


def held_satellites(parts: Parts, name: str, d: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """The satellites of class ``name`` in orbit at the horizon start (``held_at_start``): their decayed count per
    period (0 once retired), their full count per period (for operations on installed hardware), and their value
    at the horizon end ($M). Their launch and hardware are sunk. A satellite launched ``a`` months before the start
    has decayed by the yearly rate to the power a / 12 and retires when its life is out (rounded up to a period
    start). At the end it is valued as a launched one (:func:`_value_left`), as if launched a life before it
    retires, the price paid taken as what one costs at the horizon start (the instance does not record it; an
    assumption)."""
    grid = parts.grid
    T = grid.n_periods
    decayed, count, value = np.zeros(T), np.zeros(T), 0.0
    for held in parts.instance.orbital.satellite_classes[name].held_at_start:
        launched = month_index(held.launched)
        retire = max(0, grid.period_from(launched + d["life_months"]))
        on = np.arange(T) < retire
        decayed += np.where(on, held.satellites * output_share(d, grid.first_month - launched), 0)
        count += np.where(on, held.satellites, 0)
        as_if_launched = grid.boundary(retire) - max(1, grid.end_periods(d["life_months"])) * grid.last_months
        value += held.satellites * _value_left(grid, d, retire, output_share(d, grid.end_month - as_if_launched),
                                               paid_at=0)
    return decayed, count, value


def satellites_per_flight(instance, name: str) -> int:
    """Satellites of class ``name`` one flight of its vehicle carries (whole satellites by mass)."""
    sat = instance.orbital.satellite_classes[name]
    return math.floor(instance.orbital.launch_vehicles[sat.launch_vehicle].payload_t * 1000 / sat.mass_kg + 1e-9)


def flight_slots(grid: TimeGrid, flights_per_month: float | dict[int, float]) -> np.ndarray:
    """Flights a vehicle may make in each period: its cadence is a rate, so the flights it may have made by the
    end of period ``t`` are the rate summed over the months since the horizon start, rounded down, and period
    ``t`` gets the ones that count adds. Half a flight a month is one flight every second month (not none, as
    rounding each month down would give), in monthly and quarterly periods alike. A slot not flown is lost: a
    rocket that stays on the ground this month does not fly twice next month."""
    rate = grid.year_schedule(flights_per_month)
    flown_by_end = np.floor(np.cumsum(grid.per_period(rate)) + 1e-9)
    return np.diff(flown_by_end, prepend=0.0)


def add(m, parts: Parts) -> None:
    inst, grid = parts.instance, parts.grid
    orbital = inst.orbital
    if orbital is None or not orbital.satellite_classes:
        return
    classes = list(orbital.satellite_classes)
    vehicles = sorted({orbital.satellite_classes[k].launch_vehicle for k in classes})
    data = {k: class_arrays(parts, k) for k in classes}
    held_fleet, held_count, held_value = {}, {}, {}  # of the satellites in orbit at the start, per class
    for k in classes:
        held_fleet[k], held_count[k], held_value[k] = held_satellites(parts, k, data[k])
    T = range(grid.n_periods)
    max_flights = {v: flight_slots(grid, orbital.launch_vehicles[v].flights_per_month) for v in vehicles}

    vehicle_of = {k: orbital.satellite_classes[k].launch_vehicle for k in classes}
    per_flight = {k: satellites_per_flight(inst, k) for k in classes}

    def max_flights_of_class(m, k, t):
        return (0, max_flights[vehicle_of[k]][t] if t >= data[k]["first"] else 0)

    m.orbit_flights = Var(classes, T, domain=NonNegativeIntegers, bounds=max_flights_of_class)
    m.orbit_launch = Var(classes, T, domain=NonNegativeIntegers,
                         bounds=lambda m, k, t: (0, per_flight[k] * max_flights_of_class(m, k, t)[1]))
    m.orbit_fleet = Var(classes, T, domain=NonNegativeReals)

    # A satellite launched at u keeps output_share(f[t] - f[u]) of its output at t, and is out from retire[u] on.
    retire = {k: [grid.end_of_term(u, data[k]["life_months"]) for u in T] for k in classes}
    first = grid.first_month

    def kept(k, u, t):  # the output kept from period u to period t (a ratio of shares would underflow)
        return float(output_share(data[k], first[t] - first[u]))

    def fleet_state(m, k, t):
        previous = kept(k, t - 1, t) * m.orbit_fleet[k, t - 1] if t > 0 else 0
        retired = sum(kept(k, u, t) * m.orbit_launch[k, u] for u in range(t) if retire[k][u] == t)
        # The satellites held at the start join the fleet at period 0 (at their decayed output) and leave it
        # when they retire: a constant flow.
        decayed = held_fleet[k]
        held_flow = float(decayed[t] - (kept(k, t - 1, t) * decayed[t - 1] if t > 0 else 0.0))
        return m.orbit_fleet[k, t] == previous + m.orbit_launch[k, t] - retired + held_flow

    def cadence(m, v, t):
        return sum(m.orbit_flights[k, t] for k in classes if vehicle_of[k] == v) <= max_flights[v][t]

    m.orbit_fleet_state = Constraint(classes, T, rule=fleet_state)
    # Paid once, by the first launch; sunk if the programme has satellites in orbit at the start.
    if orbital.programme_cost_usd > 0 and not any(s.held_at_start for s in orbital.satellite_classes.values()):
        m.orbit_programme_start = Var(T, domain=Binary)
        m.orbit_programme_starts_once = Constraint(expr=sum(m.orbit_programme_start[t] for t in T) <= 1)
        m.orbit_after_programme_start = Constraint(classes, T, rule=lambda m, k, t: m.orbit_launch[k, t]
                                                   <= m.orbit_launch[k, t].ub * sum(m.orbit_programme_start[u]
                                                                                    for u in range(t + 1)))

        def programme_cost(t):
            return orbital.programme_cost_usd / MONEY * m.orbit_programme_start[t]

        parts.add_cost("programme", programme_cost)
        parts.capital_spend.append(programme_cost)
    m.orbit_payload = Constraint(classes, T, rule=lambda m, k, t: m.orbit_launch[k, t]
                                 <= per_flight[k] * m.orbit_flights[k, t])
    m.orbit_cadence = Constraint(vehicles, T, rule=cadence)

    for k in classes:
        sat, d = orbital.satellite_classes[k], data[k]
        parts.slices.append(CapacitySlice(
            source=k, hardware=sat.hardware, pool="orbit",
            mw=lambda t, k=k, kw=sat.compute_kw: kw / 1000 * m.orbit_fleet[k, t],
            compute_per_mw=inst.hardware[sat.hardware].compute_units_per_mw * sat.sunlight_share / COMPUTE,
        ))
        capex = {
            "launch": lambda t, k=k, d=d: d["launch"][t] * m.orbit_launch[k, t],
            "satellite_hardware": lambda t, k=k, d=d: d["hardware"] * m.orbit_launch[k, t],
            "satellite_gpus": lambda t, k=k, d=d: d["gpus"] * m.orbit_launch[k, t],
        }
        for category, term in capex.items():
            parts.add_cost(category, term)
            parts.capital_spend.append(term)
        parts.add_cost("opex", lambda t, k=k, d=d: d["opex"][t] * m.orbit_fleet[k, t])
        if d["ops"].any():  # satellites in orbit, at full count until retired: the launches still in their life
            parts.add_cost("satellite_ops", lambda t, k=k, d=d: d["ops"][t] * (sum(
                m.orbit_launch[k, u] for u in range(t + 1) if retire[k][u] > t) + held_count[k][t]))
        if d["per_flight_price"]:

            def flights_paid(t, k=k, d=d):
                return d["per_flight_price"] * m.orbit_flights[k, t]

            parts.add_cost("launch_flights", flights_paid)
            parts.capital_spend.append(flights_paid)
        unit_value = [salvage_per_satellite(grid, d, t) for t in T]
        parts.add_end_cost("salvage", -sum(unit_value[t] * m.orbit_launch[k, t]
                                           for t in T if t >= d["first"] and unit_value[t] > 0) - held_value[k])

    def report(m) -> Report:
        frames, binding = [], []
        flights_needed = {v: np.zeros(grid.n_periods) for v in vehicles}
        for k in classes:
            sat = orbital.satellite_classes[k]
            fleet = series(m.orbit_fleet, k, n=grid.n_periods).round(6)
            launched = series(m.orbit_launch, k, n=grid.n_periods).round(6)
            mw = fleet * sat.compute_kw / 1000
            frames.append(plan_frame(
                grid, k, "orbital", mw_online=mw,
                compute_online_units=mw * inst.hardware[sat.hardware].compute_units_per_mw * sat.sunlight_share,
                new_units=launched, new_mw=launched * sat.compute_kw / 1000,
            ))
            # Read the cadence from the launches: without a price per flight, the count of flights is arbitrary.
            flights_needed[vehicle_of[k]] += np.ceil(launched / per_flight[k] - 1e-9)
        for v in vehicles:
            full = [t for t in T if max_flights[v][t] > 0 and flights_needed[v][t] >= max_flights[v][t]]
            if full:
                binding.append({"family": "launch cadence", "name": v, "periods": runs(full, grid.labels)})
        return Report(plan=pd.concat(frames, ignore_index=True), binding=binding)

    parts.reports.append(report)
