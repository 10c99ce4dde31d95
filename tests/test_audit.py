"""The audit catches a wrong model, not only wrong arithmetic: bugs planted one at a time in the model (a limit
dropped, a bound loosened, a coefficient, curve, date, term or discount misread) give plans that keep the model's
own rows, so only an audit that recomputes the plan from the instance with code of its own can flag them. Each
instance below makes the planted rule matter (worked out on the tiny base of ``conftest.py``: 1 MW of gen1 serves
1,000 units, unmet demand costs $10,000 per unit-month, far above any source), and each planted model must give a
``suspect`` plan whose message names what the audit found: the broken rule's family, or the cost, capacity or
demand the audit recomputes differently."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
import pytest
from conftest import contract, make_instance, training
from test_builds import site, terrestrial
from test_periods_and_budget import orbital

import models.builds
import models.contracts
import models.core
import models.leases
import models.orbital
from solver import solve
from solver.instance import with_changes
from solver.timegrid import TimeGrid

SOLVE_MODULE = importlib.import_module("solver.solve")  # "solver.solve" is also the function solver exports


def dropping(component: str) -> Callable:
    """A planted bug: the model is built without the constraint family ``component``."""
    real = SOLVE_MODULE.build_model

    def build_without(instance):
        model, parts = real(instance)
        getattr(model, component).deactivate()
        return model, parts
    return lambda monkeypatch: monkeypatch.setattr(SOLVE_MODULE, "build_model", build_without)


def patching(module, function: str, change: Callable) -> Callable:
    """A planted bug: ``module.function``'s result passed through ``change``."""
    real = getattr(module, function)
    return lambda monkeypatch: monkeypatch.setattr(module, function,
                                                   lambda *args, **kwargs: change(real(*args, **kwargs)))


def misreading(path: str, wrong: object) -> Callable:
    """A planted bug: the model reads the field at ``path`` (dots) as ``wrong``; the audit gets the true instance."""
    real = SOLVE_MODULE.build_model

    def build_misread(instance):
        model, parts = real(with_changes(instance, {path: wrong}))
        parts.instance = instance
        return model, parts
    return lambda monkeypatch: monkeypatch.setattr(SOLVE_MODULE, "build_model", build_misread)


def scaled(key: str, factor: float) -> Callable[[dict], dict]:
    return lambda d: d | {key: d[key] * factor}


def _salvage_with_the_newest_at_end_read_as(generation: str) -> Callable:
    """A planted bug: the end value of IT compares it with ``generation`` instead of the newest one at the end."""
    real = models.builds.salvage_per_module

    def salvage(parts, site_name, d, decided):
        original = models.builds.newest_generation
        models.builds.newest_generation = lambda instance, month: generation
        try:
            return real(parts, site_name, d, decided)
        finally:
            models.builds.newest_generation = original
    return salvage


LEASE = {"hardware": "gen1", "size_mw": 100, "fee_usd_per_month": 100e6, "ramp_in_fee_share": [1.0],
         "available_from": "2026-04", "end": "2026-12", "min_term_months": 1, "notice_months": 0}
SPACE_3_SATELLITES = {"demand": training({"2026-01": 3_000}), "orbital": orbital()}
ONE_MODULE_ALL_YEAR = {"demand": training({"2026-01": 10_000}), "terrestrial": terrestrial({"a": site()})}
JANUARY_ONLY = training({"2026-01": 100_000, "2026-02": 0})
SAT = orbital()["satellite_classes"]["sat"]
UNPAID = "use before its one-off cost is paid broken by"


def satellite(**changes) -> dict:
    """The orbital section with the satellite class changed."""
    return orbital() | {"satellite_classes": {"sat": SAT | changes}}


# name: (instance changes, planted bug, what the audit's message must say)
CASES = {
    # --- a limit dropped or loosened: the rule's family is named --------------------------------------------------
    # one 10 MW module fits 12 MW at PUE 1.2; demand for two: without the row, two are built (24 MW at the meter)
    "site power": ({"demand": training({"2026-01": 20_000}), "terrestrial": terrestrial({"a": site()})},
                   dropping("build_site_power"), "site power broken by"),
    # 22 MW at the meter holds one module at PUE 1.2 (12 MW), two at a PUE misread as 1
    "PUE": ({"demand": training({"2026-01": 20_000}), "terrestrial": terrestrial({"a": site(grid_power_mw=22)})},
            misreading("terrestrial.sites.a.pue", 1.0), "site power broken by"),
    # room for two modules, a national cap of 10 MW of new builds in 2026
    "national cap": ({"demand": training({"2026-01": 20_000}),
                      "terrestrial": terrestrial({"a": site(grid_power_mw=24)}) | {"new_mw_cap_per_year": 10}},
                     dropping("build_national_cap"), "national cap on new builds broken by"),
    # orbit may serve no inference; 1,000 units of inference and a satellite for them
    "inference share": ({"demand": {"inference": {"series_units": {"2026-01": 1_000},
                                                  "unmet_penalty_usd_per_unit_month": 10_000}},
                         "orbital": orbital(share=0.0)}, dropping("orbit_inference_share"),
                        "orbital inference share broken by"),
    # a capital budget of $4M a year is one satellite; demand for three
    "capital budget": ({**SPACE_3_SATELLITES, "capital_budget_usd_per_year": 4e6}, dropping("capital_budget"),
                       "capital budget broken by"),
    # two 100 MW blocks bought to resell at $2M per MW-month, against a market of 100 MW
    "resale cap": ({"hyperscaler_contracts": contract() | {"cloud2": contract()["cloud"]},
                    "resale": {"price_usd_per_unit_month": 2_000, "market_cap_mw": 100}},
                   dropping("resale_market_cap"), "resale market cap broken by"),
    # the provider offers 100 MW; the model reads one block more
    "contract ramp": ({"demand": training({"2026-01": 200_000}), "hyperscaler_contracts": contract()},
                      patching(models.contracts, "contract_arrays",
                               lambda d: d | {"max_blocks": d["max_blocks"] + 1}), "contract ramp broken by"),
    # January's demand alone on a block of 3-month minimum term, read as 1 month: held one month
    "contract minimum term": ({"demand": JANUARY_ONLY, "hyperscaler_contracts": contract(min_term_months=3)},
                              patching(models.contracts, "contract_arrays",
                                       lambda d: d | {"bound_until": np.arange(len(d["bound_until"])) + 1}),
                              "contract minimum term broken by"),
    # a block held at the start with 3 months of term left, no demand; the model reads no start holding
    "start holding": ({"hyperscaler_contracts": contract(min_term_months=12,
                                                         held_at_start={"blocks": 1, "term_left_months": 3})},
                      misreading("hyperscaler_contracts.cloud.held_at_start", None), "contract minimum term broken by"),
    # the same with a lease from 2026-01 whose 3-month minimum term the model reads as 1 month
    "lease minimum term": ({"demand": JANUARY_ONLY, "fixed_block_leases": {
        "colossus": LEASE | {"available_from": "2026-01", "min_term_months": 3}}},
        misreading("fixed_block_leases.colossus.min_term_months", 1), "lease minimum term broken by"),
    # 30 satellites wanted in 2026-01, 10 a flight, one flight a month; the model reads three flights a month
    "launch cadence": ({"demand": training({"2026-01": 30_000}), "orbital": orbital()},
                       patching(models.orbital, "flight_slots", lambda slots: 3 * slots), "launch cadence broken by"),
    # 20 satellites wanted; the model reads a 20 t payload (20 a flight) where the rocket lifts 10 t
    "payload": ({"demand": training({"2026-01": 20_000}), "orbital": orbital()},
                misreading("orbital.launch_vehicles.rocket.payload_t", 20), "launch cadence broken by"),
    # the satellite may not go up before 2026-06; the model reads 2026-01
    "earliest launch": ({"demand": training({"2026-01": 1_000}), "orbital": satellite(earliest_launch="2026-06")},
                        patching(models.orbital, "class_arrays", lambda d: d | {"first": 0}),
                        "earliest launch broken by"),
    # the lease is offered from 2026-04; the model lets it be signed in 2026-01
    "lease window": ({"demand": training({"2026-01": 100_000}), "fixed_block_leases": {"colossus": LEASE}},
                     patching(models.leases, "lease_arrays",
                              lambda d: d | {"first": 0, "can_sign": d["can_sign"] | (d["can_sign"].cumsum() == 0),
                                             "in_window": d["in_window"] | (d["in_window"].cumsum() == 0)}),
                     "lease window broken by"),
    # an offer to sign by 2026-03, demand from 2026-06: read without the deadline, the block is signed in June
    "lease offer expired": ({"demand": training({"2026-01": 0, "2026-06": 100_000}), "fixed_block_leases": {
        "colossus": LEASE | {"available_from": "2026-01", "sign_by": "2026-03"}}},
        misreading("fixed_block_leases.colossus.sign_by", None), "lease offer expired broken by"),
    # a lease without an exit clause, demand in January-March only: read with one, notice is given
    "lease exit clause": ({"demand": training({"2026-01": 100_000, "2026-04": 0}), "fixed_block_leases": {
        "colossus": LEASE | {"available_from": "2026-01", "exit_allowed": False}}},
        misreading("fixed_block_leases.colossus.exit_allowed", True), "lease noticed without an exit clause broken by"),
    # the provider ends the block after 2026-06; read without its notice, the block serves the rest of the year
    "provider notice": ({"demand": training({"2026-01": 100_000}), "fixed_block_leases": {
        "colossus": LEASE | {"available_from": "2026-01", "provider_notice_month": "2026-07"}}},
        misreading("fixed_block_leases.colossus.provider_notice_month", None), "capacity_excess"),
    # demand must be met in full; a block costs more than leaving it unmet, which the model reads as allowed
    "unmet share": ({"demand": {"training": {"series_units": {"2026-01": 100_000}, "max_unmet_share": 0,
                                             "unmet_penalty_usd_per_unit_month": 100}},
                     "hyperscaler_contracts": contract()},
                    misreading("demand.training.max_unmet_share", 1.0), "unmet demand share broken by"),
    # --- capacity read too high: the audit's own fleet, MW online or compute is below what the plan serves -------
    # a 4-month lead time read as none: the module serves January-April, which it cannot
    "lead time": ({**ONE_MODULE_ALL_YEAR, "terrestrial": terrestrial({"a": site(lead_time_months=4)})},
                  misreading("terrestrial.sites.a.lead_time_months", 0), "capacity_excess"),
    # gen2 (2,000 units per MW) is out from 2026-07; the model runs it from 2026-01
    "newest generation": ({"demand": training({"2026-01": 20_000}), "terrestrial": terrestrial({"a": site()}),
                           "hardware": {"gen2": {"compute_units_per_mw": 2000, "available_from": "2026-07"}}},
                          patching(models.builds, "current_generation", lambda gens: [max(gens)] * len(gens)),
                          "capacity_excess"),
    # a satellite losing half its output a year, read as keeping it
    "satellite decay": ({"demand": training({"2026-01": 1_000}), "orbital": satellite(degradation_per_year=0.5)},
                        patching(models.orbital, "class_arrays", lambda d: d | {"survival_per_year": 1.0}),
                        "capacity_excess"),
    # a 6-month life read as 12
    "satellite life": ({"demand": training({"2026-01": 1_000}), "orbital": satellite(life_years=0.5)},
                       patching(models.orbital, "class_arrays", scaled("life_months", 2)), "capacity_excess"),
    # in sunlight half the time, read as always
    "sunlight share": ({"demand": training({"2026-01": 1_000}), "orbital": satellite(sunlight_share=0.5)},
                       misreading("orbital.satellite_classes.sat.sunlight_share", 1.0), "capacity_excess"),
    # a module held at the start fills the site's 12 MW; read without it, a second module is built beside it
    "modules held": ({"demand": training({"2026-01": 10_000}), "terrestrial": terrestrial({"a": site(held_at_start=[
        {"modules": 1, "hardware": "gen1", "online_since": "2025-07"}])})},
        misreading("terrestrial.sites.a.held_at_start", []), "site power broken by"),
    # a satellite launched 2025-01 has lost half its output at the start (50% a year); read as launched in 2025-12,
    # it seems to serve 400 units all year without a launch
    "satellites held": ({"demand": training({"2026-01": 400}), "orbital": satellite(
        degradation_per_year=0.5, held_at_start=[{"satellites": 1, "launched": "2025-01"}])},
        misreading("orbital.satellite_classes.sat.held_at_start", [{"satellites": 1, "launched": "2025-12"}]),
        "capacity_excess"),
    # --- demand read wrong ------------------------------------------------------------------------------------------
    "demand curve": ({"demand": training({"2026-01": 1_000})},
                     patching(models.core, "demand_units", lambda d: {w: v / 2 for w, v in d.items()}),
                     "demand_mismatch"),
    # --- a cost coefficient, curve, value or discount wrong: the audit's cost differs --------------------------------
    "contract price": ({"demand": training({"2026-01": 100_000}), "hyperscaler_contracts": contract()},
                       patching(models.contracts, "contract_arrays", scaled("block_cost", 0.5)),
                       "relative_difference"),
    "lease fee": ({"demand": training({"2026-01": 100_000}), "fixed_block_leases": {"colossus": LEASE}},
                  patching(models.leases, "lease_arrays", scaled("fee", 0.5)), "relative_difference"),
    "facility multiplier": ({**ONE_MODULE_ALL_YEAR,
                             "terrestrial": terrestrial({"a": site(facility_cost_multiplier=2.0)})},
                            misreading("terrestrial.sites.a.facility_cost_multiplier", 1.0), "relative_difference"),
    "energy price": (ONE_MODULE_ALL_YEAR, patching(models.builds, "build_arrays", scaled("energy_per_mw", 0.5)),
                     "relative_difference"),
    # GPUs replaced every 6 months; the model reads a life past the horizon, so no refresh is paid
    "GPU refresh": ({**ONE_MODULE_ALL_YEAR, "terrestrial": terrestrial({"a": site()}, gpu_life_years=0.5)},
                    patching(models.builds, "build_arrays", lambda d: d | {"life_months": 10_000}),
                    "relative_difference"),
    # IT of gen1 at the horizon end, when gen2 (twice the compute per MW) is out: worth half of new IT, not par
    "old IT at par": ({**ONE_MODULE_ALL_YEAR, "hardware": {"gen2": {"compute_units_per_mw": 2000,
                                                                     "available_from": "2026-07"}}},
                      lambda monkeypatch: monkeypatch.setattr(
                          models.builds, "salvage_per_module", _salvage_with_the_newest_at_end_read_as("gen1")),
                      "relative_difference"),
    "energy utilization": ({**ONE_MODULE_ALL_YEAR,
                            "terrestrial": terrestrial({"a": site(energy_utilization_share=0.5)})},
                           misreading("terrestrial.sites.a.energy_utilization_share", 1.0), "relative_difference"),
    "price per flight": ({**SPACE_3_SATELLITES, "orbital": orbital() | {"launch_vehicles": {"rocket": orbital()[
        "launch_vehicles"]["rocket"] | {"launch_price_usd_per_flight": 1e6}}}},
        misreading("orbital.launch_vehicles.rocket.launch_price_usd_per_flight", 0.0), "relative_difference"),
    "satellite operations": ({**SPACE_3_SATELLITES, "orbital": satellite(ops_share_of_hardware_per_year=0.1)},
                             misreading("orbital.satellite_classes.sat.ops_share_of_hardware_per_year", 0.0),
                             "relative_difference"),
    "site cost": ({**ONE_MODULE_ALL_YEAR, "terrestrial": terrestrial({"a": site(fixed_cost_usd=5e6)})},
                  misreading("terrestrial.sites.a.fixed_cost_usd", 0.0), UNPAID),
    "programme cost": ({**SPACE_3_SATELLITES, "orbital": orbital() | {"programme_cost_usd": 5e6}},
                       misreading("orbital.programme_cost_usd", 0.0), UNPAID),
    # GPUs held at the start, bought 2025-07 with a 1-year life, are due at t=6; read as bought in 2025-12, at t=11
    "held GPUs' age": ({**ONE_MODULE_ALL_YEAR, "terrestrial": terrestrial({"a": site(held_at_start=[
        {"modules": 1, "hardware": "gen1", "online_since": "2025-07"}])}, gpu_life_years=1, facility_life_years=4)},
        misreading("terrestrial.sites.a.held_at_start", [{"modules": 1, "hardware": "gen1", "online_since": "2025-07",
                                                         "gpus_bought": "2025-12"}]), "relative_difference"),
    "build salvage": (ONE_MODULE_ALL_YEAR, patching(models.builds, "salvage_per_module", lambda v: 1.5 * v),
                      "relative_difference"),
    "launch price curve": (SPACE_3_SATELLITES, patching(models.orbital, "launch_price_usd_per_kg", lambda p: p / 2),
                           "relative_difference"),
    "satellite salvage": (SPACE_3_SATELLITES, patching(models.orbital, "salvage_per_satellite", lambda v: 2 * v),
                          "relative_difference"),
    "resale price": ({"hyperscaler_contracts": contract(min_term_months=12), "demand": JANUARY_ONLY,
                      "resale": {"price_usd_per_unit_month": 500, "market_cap_mw": 100}},
                     misreading("resale.price_usd_per_unit_month", 600), "relative_difference"),
    # lump sums discounted as if paid month by month through the quarter
    "lump-sum discount": ({**SPACE_3_SATELLITES, "horizon": {"period": "quarter", "discount_rate_per_year": 0.1}},
                          lambda monkeypatch: monkeypatch.setattr(
                              TimeGrid, "discount", property(lambda grid: grid.discount_accruing)),
                          "relative_difference"),
    # the value at the horizon end discounted from the start of the last period instead of its end
    "end discount": ({**ONE_MODULE_ALL_YEAR, "horizon": {"discount_rate_per_year": 0.1}},
                     lambda monkeypatch: monkeypatch.setattr(
                         TimeGrid, "discount_end", property(lambda grid: float(grid.discount[-1]))),
                     "relative_difference"),
}


def test_at_least_twenty_planted_bugs():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_a_planted_model_bug_makes_the_plan_suspect(monkeypatch, name):
    changes, plant, finding = CASES[name]
    instance = make_instance(**changes)
    honest = solve(instance)
    assert honest.status == "optimal", (honest.status, honest.message)  # the true model's plan passes
    assert honest.audit["rule_violation"] == 0.0
    plant(monkeypatch)
    planted = solve(instance)
    assert planted.status == "suspect", (name, planted.message)
    assert finding in planted.message, planted.message
