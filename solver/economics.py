"""Levelized cost of compute: what one MW, and one compute unit, of each capacity source costs per year held.

For each capacity source and start year, one MW is held over the source's *holding life* (a contract's or lease's
minimum term, a build's facility life, a satellite's life) from the first period of that year in which the model
lets the source start. Every cash flow the MILP would charge for that MW is built with the model's own helpers
(``models/*.py: *_arrays``, refresh dates, salvage) and discounted with the model's factors (``discount_factors``:
month by month for what accrues monthly, at the period's first month for lump sums). The levelized cost of a
component is the ratio of present values

    usd_per_mw_year   = sum_t cost_t delta_ct / sum_t mw_t (L_t/12) delta_mt
    usd_per_unit_year = sum_t cost_t delta_ct / sum_t mw_t units_per_mw_t (L_t/12) delta_mt

(delta_ct the factor of the component's category, delta_mt the monthly-accruing one, L_t the period's months),
i.e. the constant rate which, paid month by month while the MW is held, has the same present value as the
component. The MILP's discounted
charge for holding ``x`` MW over exactly the holding life is therefore ``x * usd_per_mw_year * discounted
MW-years``, component by component. Component names are the MILP's cost categories
(``models/parts.py: COST_CATEGORIES``). The table has no total rows: the total of a source and start year is the
sum of its components. The formulas, and worked examples, are in docs/economics.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.builds import build_arrays, current_generation, refresh_periods, salvage_per_module
from models.contracts import contract_arrays
from models.leases import lease_arrays
from models.orbital import class_arrays, flight_slots, output_share, satellites_per_flight
from models.parts import COST_CATEGORIES, MONEY, Parts, discount_factors
from solver.schema import Horizon, Instance, month_index, month_text
from solver.timegrid import TimeGrid

COLUMNS = ["source", "kind", "start_year", "component", "usd_per_mw_year", "usd_per_unit_year"]


@dataclass(frozen=True)
class Holding:
    """One MW of a source held over its holding life from period ``start`` of the instance's grid: present values
    at the horizon start (the MILP's ``discounted_usd`` reference) of each cost component, USD per MW held, and
    of the MW-years and compute-unit-years the MW delivers."""

    source: str
    kind: str  # as in the plan table: hyperscaler_contract, fixed_block_lease, own_build, orbital
    start: int
    start_year: int
    discounted_usd: dict[str, float]
    discounted_mw_years: float
    discounted_unit_years: float


def holdings(instance: Instance, year: int | None = None) -> list[Holding]:
    """One :class:`Holding` per capacity source and start year of the horizon (or only ``year``) in which the
    model lets the source start; in file order of the sources, then by year."""
    grid = TimeGrid(instance.horizon)
    if year is not None and year not in grid.years:
        raise ValueError(f"year {year} is outside the horizon {grid.years[0]}..{grid.years[-1]}")
    years = {year} if year is not None else set(grid.years)
    return [*_contracts(instance, grid, years), *_leases(instance, grid, years),
            *_builds(instance, grid, years), *_orbital(instance, grid, years)]


def levelized_costs(instance: Instance, year: int | None = None) -> pd.DataFrame:
    """Levelized cost per (source, kind, start_year, component), in USD per MW-year and per compute-unit-year.

    No total rows: a source's total in a start year is the sum of its components (they stack). Sources that
    cannot start in a year (outside a lease window, before a site's power or a launch window) have no rows then.
    """
    rows = [
        {"source": h.source, "kind": h.kind, "start_year": h.start_year, "component": component,
         "usd_per_mw_year": pv / h.discounted_mw_years, "usd_per_unit_year": pv / h.discounted_unit_years}
        for h in holdings(instance, year) for component, pv in h.discounted_usd.items()
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def format_economics(table: pd.DataFrame, year: int | None = None) -> str:
    """A readable account of :func:`levelized_costs`: the total $M per MW-year by source and start year, then the
    components of each source for ``year`` (default: the earliest start year in the table)."""
    if table.empty:
        return "No capacity source can start in the years asked for."
    totals = table.pivot_table(index=["source", "kind"], columns="start_year", values="usd_per_mw_year",
                               aggfunc="sum", sort=False) / 1e6
    years = sorted(totals.columns)
    totals = totals[years]
    name_width = max(len("source (kind)"), *(len(f"{s} ({k})") for s, k in totals.index)) + 2
    lines = ["Levelized cost, $M per MW-year (sum of the components; '-': the source cannot start that year)",
             "source (kind)".ljust(name_width) + "".join(f"{y:>9}" for y in years)]
    for (source, kind), row in totals.iterrows():
        cells = "".join(f"{'-':>9}" if np.isnan(v) else f"{v:>9,.2f}" for v in row)
        lines.append(f"{source} ({kind})".ljust(name_width) + cells)

    year = min(years) if year is None else year
    chosen = table[table["start_year"] == year]
    lines.append(f"\nComponents for capacity starting in {year}: $M per MW-year, $ per compute-unit-year")
    if chosen.empty:
        lines.append("  no source can start in that year")
    for source, rows in chosen.groupby("source", sort=False):
        lines.append(f"  {source}")
        for _, r in rows.iterrows():
            lines.append(f"    {r['component']:<20}{r['usd_per_mw_year'] / 1e6:>10,.3f}"
                         f"{r['usd_per_unit_year']:>12,.0f}")
        lines.append(f"    {'total':<20}{rows['usd_per_mw_year'].sum() / 1e6:>10,.3f}"
                     f"{rows['usd_per_unit_year'].sum():>12,.0f}")
    return "\n".join(lines)


def holding_grid(instance: Instance, start: int, months: float) -> TimeGrid:
    """The instance's time grid, extended or cut so that it ends when a holding of ``months`` from period
    ``start`` ends (rounded up to a period, as the model's terms and lives are): the model's array helpers,
    discount factors and salvage (all relative to the grid's end) then apply unchanged. Past the horizon the grid
    goes on in its last periods' length. Year schedules are flat after their last year, so prices past the
    horizon are its last ones."""
    horizon = instance.horizon
    grid = TimeGrid(horizon)
    last = grid.boundary(grid.end_of_term(start, months)) - 1
    period = horizon.period
    if not isinstance(period, str):  # the segments that start by the new end, the last one running to it
        kept, first = [], month_index(horizon.start)
        for segment in period:
            if first > last:
                break
            kept.append(segment)
            first = month_index(segment.until or horizon.end) + 1
        period = [*kept[:-1], kept[-1].model_copy(update={"until": None})]
    return TimeGrid(Horizon(start=horizon.start, end=month_text(last), period=period,
                            discount_rate_per_year=horizon.discount_rate_per_year))


def _first_starts(grid: TimeGrid, years: set[int], allowed: np.ndarray) -> list[int]:
    """The first period of each year in ``years`` at which ``allowed`` (a boolean per period) holds."""
    starts = []
    for y in sorted(years):
        ok = np.flatnonzero(allowed & (grid.year == y))
        if ok.size:
            starts.append(int(ok[0]))
    return starts


def _holding(source: str, kind: str, grid: TimeGrid, start: int, costs: dict[str, np.ndarray], mw: np.ndarray,
             units_per_mw: np.ndarray, end_values: dict[str, float] | None = None) -> Holding:
    """Discount per-period cash flows (USD per MW held) on the holding's grid, plus values at its end."""
    years_per_period = grid.months / 12
    discounted = {c: float(costs[c] @ discount_factors(grid, c)) for c in costs}
    for c, value_usd in (end_values or {}).items():
        discounted[c] = discounted.get(c, 0.0) + value_usd * grid.discount_end
    order = {c: i for i, c in enumerate(COST_CATEGORIES)}
    return Holding(
        source=source, kind=kind, start=start, start_year=int(grid.year[start]),
        discounted_usd=dict(sorted(discounted.items(), key=lambda item: order[item[0]])),
        discounted_mw_years=float(mw * years_per_period @ grid.discount_accruing),
        discounted_unit_years=float(mw * units_per_mw * years_per_period @ grid.discount_accruing),
    )


def _contracts(instance: Instance, grid: TimeGrid, years: set[int]) -> Iterable[Holding]:
    """A block held for its term (take-or-pay), within the provider ramp in every period of the term."""
    parts = Parts(instance=instance, grid=grid)
    for name, spec in instance.hyperscaler_contracts.items():
        d = contract_arrays(parts, name)
        within_ramp = np.array([(d["max_blocks"][t:d["bound_until"][t]] >= 1).all() for t in grid.periods])
        for t in _first_starts(grid, years, within_ramp):
            g = holding_grid(instance, t, spec.min_term_months)
            dh = contract_arrays(Parts(instance=instance, grid=g), name)
            held = (g.periods >= t).astype(float)
            yield _holding(name, "hyperscaler_contract", g, t,
                           {"contracts": dh["block_cost"] * MONEY / spec.block_mw * held}, held,
                           held * instance.hardware[spec.hardware].compute_units_per_mw)


def _leases(instance: Instance, grid: TimeGrid, years: set[int]) -> Iterable[Holding]:
    """The block signed, held for its minimum term, then ended by notice: the smallest commitment, with the
    ramp-in discount of its first months."""
    parts = Parts(instance=instance, grid=grid)
    for name, spec in instance.fixed_block_leases.items():
        d = lease_arrays(parts, name)
        for t in _first_starts(grid, years, d["can_sign"]):
            g = holding_grid(instance, t, spec.min_term_months)
            dh = lease_arrays(Parts(instance=instance, grid=g), name)
            held = (g.periods >= t).astype(float)
            fee = dh["fee"] * held
            for p, amount in dh["discount"][t].items():
                fee[p] -= amount
            yield _holding(name, "fixed_block_lease", g, t, {"leases": fee * MONEY / spec.size_mw}, held,
                           held * instance.hardware[spec.hardware].compute_units_per_mw)


def _builds(instance: Instance, grid: TimeGrid, years: set[int]) -> Iterable[Holding]:
    """A module online in the start period, held for the facility life: facility at the decision (a lead time
    earlier, so the levelized cost carries the interest during construction), GPUs and other IT when
    online, a refresh every GPU life at that year's prices, energy and opex while online, and the model's
    salvage of what is left at the end of the facility life (IT bought less than one GPU life before it, at its
    remaining service)."""
    terrestrial = instance.terrestrial
    if terrestrial is None:
        return
    parts = Parts(instance=instance, grid=grid)
    newest = current_generation(instance, grid)
    life_months = 12 * terrestrial.build_costs.facility_life_years
    for name, site in terrestrial.sites.items():
        d = build_arrays(parts, name, newest)
        # The latest decision that comes online at each period (the shortest wait), if any may.
        decided = {int(d["online"][b]): b for b in grid.periods if d["can_build"][b]}
        can_come_online = np.array([t in decided for t in grid.periods])
        for online in _first_starts(grid, years, can_come_online):
            g = holding_grid(instance, online, life_months)
            hold_parts = Parts(instance=instance, grid=g)
            generation = current_generation(instance, g)
            dh = build_arrays(hold_parts, name, generation)
            purchases = [online, *refresh_periods(g, online, dh["life_months"])]
            per_mw = MONEY / site.module_mw  # the arrays are M USD per module
            costs = {c: np.zeros(g.n_periods) for c in ("build_facility", "build_gpus", "build_other_it",
                                                          "build_refresh")}
            costs["build_facility"][decided[online]] = dh["facility"][decided[online]] * per_mw
            costs["build_gpus"][online] = dh["gpus"][online] * per_mw
            costs["build_other_it"][online] = dh["other_it"][online] * per_mw
            for r in purchases[1:]:
                costs["build_refresh"][r] = (dh["gpus"][r] + dh["other_it"][r]) * per_mw
            held = (g.periods >= online).astype(float)
            costs["energy"] = dh["energy_per_mw"] * MONEY * held
            costs["opex"] = dh["opex_per_mw"] * MONEY * held
            # Compute follows the model: the generation of the module's latest GPU purchase.
            latest = np.array(purchases)[np.clip(np.searchsorted(purchases, g.periods, side="right") - 1, 0, None)]
            units = np.array([instance.hardware[generation[p]].compute_units_per_mw for p in latest]) * held
            salvage = -salvage_per_module(hold_parts, name, dh, decided[online]) * per_mw
            yield _holding(name, "own_build", g, online, costs, held, units, {"salvage": salvage})


def _orbital(instance: Instance, grid: TimeGrid, years: set[int]) -> Iterable[Holding]:
    """A satellite launched in the start period and held for its life, per MW of its decayed output (the MW the
    model counts online): launch, hardware and GPUs at launch, opex on the decayed kW. Its salvage at the end of
    its life is 0, and the model has no replacements (satellites are retired; re-launching is a new decision)."""
    if instance.orbital is None:
        return
    parts = Parts(instance=instance, grid=grid)
    for name, sat in instance.orbital.satellite_classes.items():
        d = class_arrays(parts, name)
        vehicle = instance.orbital.launch_vehicles[sat.launch_vehicle]
        # The cadence of the vehicle, as in models/orbital.py: no flight slot in a period, no launch.
        flights = flight_slots(grid, vehicle.flights_per_month)
        for t in _first_starts(grid, years, (grid.periods >= d["first"]) & (flights >= 1)):
            g = holding_grid(instance, t, d["life_months"])
            dh = class_arrays(Parts(instance=instance, grid=g), name)
            age = g.periods - t
            # decayed satellites per launch
            fleet = np.where(age >= 0, output_share(dh, np.maximum(g.first_month - g.first_month[t], 0)), 0.0)
            per_mw = MONEY / (sat.compute_kw / 1000)  # the arrays are M USD per satellite
            at_launch = (age == 0).astype(float)
            costs = {"launch": dh["launch"][t] * per_mw * at_launch,
                     "satellite_hardware": dh["hardware"] * per_mw * at_launch,
                     "satellite_gpus": dh["gpus"] * per_mw * at_launch,
                     "opex": dh["opex"] * per_mw * fleet}
            if dh["per_flight_price"]:  # a full flight's price, shared by the satellites it carries
                share = dh["per_flight_price"] / satellites_per_flight(instance, name)
                costs["launch_flights"] = share * per_mw * at_launch
            if dh["ops"].any():  # on the installed hardware, the whole life, not on the decayed output
                costs["satellite_ops"] = dh["ops"] * per_mw * (age >= 0)
            units_per_mw = instance.hardware[sat.hardware].compute_units_per_mw * sat.sunlight_share
            yield _holding(name, "orbital", g, t, costs, fleet, np.full(g.n_periods, units_per_mw))
