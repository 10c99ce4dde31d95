"""The seeded instance generator: valid at every size, reproducible per seed, drawn from the reference's figures,
and worth solving (several sources used, some demand unmet, none trivially)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
from conftest import INSTANCES, ROOT

from models.demand import demand_units
from solver import load_instance, parse_instance, solve
from solver.generate import generate_data, generate_instance, generate_yaml, instance_yaml, write_instance
from solver.schema import Instance, month_index
from solver.timegrid import TimeGrid

REFERENCE = load_instance(INSTANCES / "reference.yaml")
DEFAULTS = {name: p.default for name, p in inspect.signature(generate_instance).parameters.items()
            if p.default is not inspect.Parameter.empty and name not in ("name", "reference")}

SIZES = {
    "reference_size": {},
    "4x_sites": {"sites": 16},
    "3_generations": {"hardware_generations": 3},
    "to_2035": {"horizon_years": 10},
    "quarterly": {"period_months": 3},
    "small_yearly": {"sites": 1, "contracts": 1, "satellite_classes": 1, "hardware_generations": 1,
                     "horizon_years": 2, "period_months": 12},
    "no_optional_sources": {"sites": 0, "contracts": 0, "satellite_classes": 0, "hardware_generations": 1,
                            "horizon_years": 1},
    "large": {"sites": 9, "contracts": 10, "satellite_classes": 5, "hardware_generations": 8, "horizon_years": 12,
              "period_months": 3},
}
SMALL = {"sites": 1, "contracts": 2, "satellite_classes": 1, "hardware_generations": 2, "horizon_years": 2,
         "period_months": 3}


def sites_of(instance: Instance) -> dict:
    return dict(instance.terrestrial.sites) if instance.terrestrial else {}


def classes_of(instance: Instance) -> dict:
    return dict(instance.orbital.satellite_classes) if instance.orbital else {}


def potential_units(instance: Instance) -> dict[str, float]:
    """Compute units each ground source can reach at most in the horizon: a contract's top ramp in whole blocks, a
    lease, a site's modules (no more than the national cap lets come online in the horizon) at the newest hardware."""
    units = {n: g.compute_units_per_mw for n, g in instance.hardware.items()}
    grid = TimeGrid(instance.horizon)
    out = {n: max(c.ramp_mw.values()) // c.block_mw * c.block_mw * units[c.hardware]
           for n, c in instance.hyperscaler_contracts.items()}
    out |= {n: lease.size_mw * units[lease.hardware] for n, lease in instance.fixed_block_leases.items()}
    if instance.terrestrial:
        caps = grid.year_schedule(instance.terrestrial.new_mw_cap_per_year, np.inf)
        cap_total = sum(caps[grid.year == y][0] for y in np.unique(grid.year))
        end = month_index(instance.horizon.end)
        newest = max(g.compute_units_per_mw for g in instance.hardware.values()
                     if month_index(g.available_from) <= end)
        for n, s in instance.terrestrial.sites.items():
            modules_mw = (s.grid_power_mw // (s.module_mw * s.pue)) * s.module_mw
            out[n] = min(cap_total, modules_mw) * newest
    return out


def peak_demand_units(instance: Instance) -> float:
    demand = demand_units(instance, TimeGrid(instance.horizon))
    return float(np.max(demand["training"] + demand["inference"]))


def test_defaults_are_the_reference_counts_and_horizon():
    ref = REFERENCE
    counts = {
        "sites": len(ref.terrestrial.sites), "contracts": len(ref.hyperscaler_contracts),
        "satellite_classes": len(ref.orbital.satellite_classes), "hardware_generations": len(ref.hardware),
        "horizon_years": (month_index(ref.horizon.end) - month_index(ref.horizon.start) + 1) // 12,
        "period_months": 1,
    }
    assert counts == DEFAULTS
    assert generate_instance(seed=0).horizon == ref.horizon
    # The three entry points take the same arguments, so the CLI can pass one set to any of them.
    signature = inspect.signature(generate_instance).parameters
    assert inspect.signature(generate_data).parameters == signature
    assert inspect.signature(generate_yaml).parameters == signature


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_valid_with_the_counts_asked_for(size):
    args = DEFAULTS | size
    instance = generate_instance(seed=11, **size)
    assert parse_instance(instance.model_dump(), "again") == instance  # every schema check passes on a reload
    assert len(instance.hardware) == args["hardware_generations"]
    assert len(instance.hyperscaler_contracts) == args["contracts"]
    assert len(sites_of(instance)) == args["sites"]
    assert len(classes_of(instance)) == args["satellite_classes"]
    assert set(instance.fixed_block_leases) == set(REFERENCE.fixed_block_leases)  # specific offers, not an axis
    assert instance.horizon.start == REFERENCE.horizon.start
    assert instance.horizon.end == f"{2025 + args['horizon_years']}-12"
    assert instance.horizon.period == {1: "month", 3: "quarter", 12: "year"}[args["period_months"]]
    if instance.terrestrial:  # the national cap, scaled with the sites, still lets a module come online each year
        cap = instance.terrestrial.new_mw_cap_per_year
        module = max(s.module_mw for s in instance.terrestrial.sites.values())
        assert min(cap.values() if isinstance(cap, dict) else [cap]) >= module


def test_same_seed_and_arguments_give_the_same_instance():
    args = {"seed": 5, "sites": 6, "contracts": 5, "satellite_classes": 3, "period_months": 3}
    assert generate_instance(**args).model_dump() == generate_instance(**args).model_dump()
    assert generate_yaml(**args) == generate_yaml(**args)


def test_different_seeds_differ_in_every_part():
    dumps = [generate_instance(seed=seed).model_dump() for seed in range(4)]
    for i in range(len(dumps)):
        for j in range(i + 1, len(dumps)):
            for part in ("hardware", "demand", "hyperscaler_contracts", "fixed_block_leases", "terrestrial",
                         "orbital", "resale"):
                assert dumps[i][part] != dumps[j][part], (i, j, part)


def test_more_sites_leave_the_first_sites_and_the_other_sources_as_they_were():
    few, many = generate_instance(seed=3, sites=2), generate_instance(seed=3, sites=7)
    ref_sites = list(REFERENCE.terrestrial.sites)
    assert list(sites_of(many)) == [*ref_sites, *(f"{name}_2" for name in ref_sites[:3])]
    assert {name: sites_of(many)[name] for name in sites_of(few)} == sites_of(few)
    assert many.terrestrial.build_costs == few.terrestrial.build_costs
    assert many.hyperscaler_contracts == few.hyperscaler_contracts
    assert many.fixed_block_leases == few.fixed_block_leases and many.orbital == few.orbital
    assert many.hardware == few.hardware


def test_copies_stay_near_their_reference_figures_and_can_be_used():
    instance = generate_instance(seed=8, sites=16, contracts=12, satellite_classes=6)
    ref_sites, end = list(REFERENCE.terrestrial.sites.values()), month_index(instance.horizon.end)
    spread = []
    for i, site in enumerate(sites_of(instance).values()):
        ref = ref_sites[i % len(ref_sites)]
        spread.append(site.grid_power_mw / ref.grid_power_mw)
        assert 0.25 < site.grid_power_mw / ref.grid_power_mw < 4
        assert 0.6 * ref.lead_time_months <= site.lead_time_months <= 1.4 * ref.lead_time_months + 1
        assert 1.05 <= site.pue <= 1.5 and 0.03 <= site.electricity_usd_per_kwh <= 0.2
        assert month_index(site.power_available) + site.lead_time_months <= end  # a module can come online
    assert np.std(np.log(spread)) > 0.1  # jittered, not copied
    ref_contracts = sorted(REFERENCE.hyperscaler_contracts.values(),
                           key=lambda c: min(month_index(m) for m, v in c.ramp_mw.items() if v > 0))
    for i, contract in enumerate(instance.hyperscaler_contracts.values()):
        ref = ref_contracts[i % len(ref_contracts)]
        assert 0.6 < contract.price_usd_per_mw_month / ref.price_usd_per_mw_month < 1.6
        assert 0.3 < max(contract.ramp_mw.values()) / max(ref.ramp_mw.values()) < 3
        ramp = [contract.ramp_mw[m] for m in sorted(contract.ramp_mw, key=month_index)]
        assert ramp == sorted(ramp)  # a provider's ramp only grows
    ref_classes = list(REFERENCE.orbital.satellite_classes.values())
    for i, sat in enumerate(classes_of(instance).values()):
        ref = ref_classes[i % len(ref_classes)]
        assert 0.3 < sat.compute_kw / ref.compute_kw < 3
        assert 0.5 < (sat.mass_kg / sat.compute_kw) / (ref.mass_kg / ref.compute_kw) < 2
        assert month_index(sat.earliest_launch) >= month_index(
            instance.orbital.launch_vehicles[sat.launch_vehicle].earliest_launch)


@pytest.mark.parametrize(("generations", "years"), [(3, 7), (4, 7), (6, 10), (8, 3)])
def test_hardware_generations_are_spaced_over_the_horizon_and_grow_like_the_reference(generations, years):
    ref = sorted(REFERENCE.hardware.values(), key=lambda g: month_index(g.available_from))
    ref_rate = (ref[-1].compute_units_per_mw / ref[0].compute_units_per_mw) ** (
        12 / (month_index(ref[-1].available_from) - month_index(ref[0].available_from)))
    instance = generate_instance(seed=1, hardware_generations=generations, horizon_years=years)
    gens = sorted(instance.hardware.values(), key=lambda g: month_index(g.available_from))
    months = [month_index(g.available_from) for g in gens]
    units = [g.compute_units_per_mw for g in gens]
    start, end = month_index(instance.horizon.start), month_index(instance.horizon.end)
    assert months == sorted(set(months)) and units == sorted(set(units))  # newer is better, one at a time
    assert sum(start < m <= end for m in months) == generations - 2  # two shipped before, as in the reference
    assert [g.available_from for g in gens[:2]] == [g.available_from for g in ref[:2]]
    rate = (units[-1] / units[0]) ** (12 / (months[-1] - months[0]))
    assert 0.85 * ref_rate < rate < 1.15 * ref_rate


def test_a_longer_horizon_extends_every_schedule_and_date():
    instance = generate_instance(seed=2, horizon_years=10, hardware_generations=6)
    assert instance.horizon.end == "2035-12"
    # Trends the reference runs to its last year are continued past it...
    facility = instance.terrestrial.build_costs.facility_usd_per_mw
    vehicle = instance.orbital.launch_vehicles["starship"]
    for schedule in (facility, vehicle.flights_per_month, vehicle.learning_curve.industry_mass_t_per_year):
        assert max(schedule) == 2035 and schedule[2035] > schedule[2032]
    # ...levels it holds flat stay flat (its interpolation already holds them to 2035).
    grid = TimeGrid(instance.horizon)
    resale_cap = grid.year_schedule(instance.resale.market_cap_mw)
    assert resale_cap[grid.year == 2035][0] == resale_cap[grid.year == 2030][0] > resale_cap[0]
    # New hardware keeps coming at the reference's two-year cadence, into the new years.
    releases = sorted(month_index(g.available_from) // 12 for g in instance.hardware.values())
    assert releases[-1] >= 2033


@pytest.mark.parametrize("size", ["reference_size", "4x_sites", "to_2035", "quarterly"])
def test_demand_is_within_reach_but_beyond_any_one_source(size):
    for seed in range(3):
        instance = generate_instance(seed=seed, **SIZES[size])
        potential, peak = potential_units(instance), peak_demand_units(instance)
        assert max(potential.values()) < peak < sum(potential.values()), (seed, size)


def test_demand_grows_with_the_sites():
    for seed in range(3):
        base, big = generate_instance(seed=seed), generate_instance(seed=seed, sites=16)
        for workload in ("training", "inference"):
            law, big_law = getattr(base.demand, workload).growth_law, getattr(big.demand, workload).growth_law
            assert big_law.saturation_units > 1.5 * law.saturation_units
            assert big_law.start_units >= law.start_units


def test_written_file_validates_and_names_its_source(tmp_path):
    instance = generate_instance(seed=9, sites=2, period_months=3)
    path = write_instance(instance, tmp_path / "generated.yaml")
    header = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    header_text = " ".join(line.lstrip("# ") for line in header)
    assert "every number is drawn from the reference instance's figures" in header_text
    assert "seed 9" in header_text
    assert load_instance(path).model_dump() == instance.model_dump()
    # The text made from the arguments directly loads to the same instance too.
    (tmp_path / "direct.yaml").write_text(generate_yaml(seed=9, sites=2, period_months=3))
    assert load_instance(tmp_path / "direct.yaml").model_dump() == instance.model_dump()
    run = subprocess.run([sys.executable, "-m", "solver", "validate", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr


def test_only_generated_instances_get_the_generated_header():
    with pytest.raises(ValueError, match="not a generated instance"):
        instance_yaml(REFERENCE)


@pytest.mark.parametrize("bad", [{"period_months": 2}, {"horizon_years": 0}, {"sites": -1},
                                 {"hardware_generations": 0}, {"seed": -3}, {"contracts": 1.5}])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError):
        generate_instance(**({"seed": 0} | bad))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_generated_instance_solves_and_uses_several_sources(seed):
    result = solve(generate_instance(seed=seed, **SMALL), threads=1, time_limit=60)
    assert result.status == "optimal", result.message
    assert result.audit["relative_difference"] < 1e-6
    online = result.plan[result.plan["mw_online"] > 1e-6]
    assert online["source"].nunique() >= 2 and online["kind"].nunique() >= 2
    demand = result.demand
    unmet_share = demand["unmet_units"].sum() / demand["demand_units"].sum()
    assert 0.01 < unmet_share < 0.5  # neither covered with ease nor out of reach


def test_reference_size_by_year_solves_with_every_kind_of_source():
    result = solve(generate_instance(seed=0, period_months=12), threads=1, time_limit=60)
    assert result.status == "optimal", result.message
    kinds = set(result.plan.loc[result.plan["mw_online"] > 1e-6, "kind"])
    assert {"hyperscaler_contract", "own_build"} <= kinds and len(kinds) >= 3


def test_another_reference_can_be_the_source_but_only_for_what_it_has():
    no_orbit = INSTANCES / "no_orbital.yaml"
    with pytest.raises(ValueError, match="none to copy"):
        generate_instance(seed=0, reference=no_orbit)  # two satellite classes asked for by default
    instance = generate_instance(seed=0, reference=no_orbit, satellite_classes=0, sites=6)
    assert instance.orbital is None and len(sites_of(instance)) == 6
