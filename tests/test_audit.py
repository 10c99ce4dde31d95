"""The audit catches a wrong model, not only wrong arithmetic: bugs planted one at a time in the model (a limit
dropped, a bound loosened, a date or a term misread) give plans that keep the model's own rows, so only an audit
that re-checks the instance's rules with code of its own can flag them. Each instance below makes its limit bind
(worked out on the tiny base of ``conftest.py``: 1 MW of gen1 serves 1,000 units, unmet demand costs $10,000 per
unit-month, far above any source), so the planted model must break it."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from conftest import contract, make_instance, training
from test_builds import site, terrestrial
from test_periods_and_budget import orbital

import models.contracts
import models.leases
import models.orbital
from solver import solve

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
    return lambda monkeypatch: monkeypatch.setattr(module, function, lambda *args: change(real(*args)))


LEASE = {"hardware": "gen1", "size_mw": 100, "fee_usd_per_month": 100e6, "ramp_in_fee_share": [1.0],
         "available_from": "2026-04", "end": "2026-12", "min_term_months": 1, "notice_months": 0}
SPACE_3_SATELLITES = {"demand": training({"2026-01": 3_000}), "orbital": orbital()}

CASES = {
    # one 10 MW module fits 12 MW at PUE 1.2; demand for two: without the row, two are built (24 MW at the meter)
    "site power": ({"demand": training({"2026-01": 20_000}), "terrestrial": terrestrial({"a": site()})},
                   dropping("build_site_power"), "site power"),
    # room for two modules, a national cap of 10 MW of new builds in 2026
    "national cap": ({"demand": training({"2026-01": 20_000}),
                      "terrestrial": terrestrial({"a": site(grid_power_mw=24)}) | {"new_mw_cap_per_year": 10}},
                     dropping("build_national_cap"), "national cap on new builds"),
    # orbit may serve no inference; 1,000 units of inference and a satellite for them
    "inference share": ({"demand": {"inference": {"series_units": {"2026-01": 1_000},
                                                  "unmet_penalty_usd_per_unit_month": 10_000}},
                         "orbital": orbital(share=0.0)}, dropping("orbit_inference_share"),
                        "orbital inference share"),
    # a capital budget of $4M a year is one satellite; demand for three
    "capital budget": ({**SPACE_3_SATELLITES, "capital_budget_usd_per_year": 4e6}, dropping("capital_budget"),
                       "capital budget"),
    # two 100 MW blocks bought to resell at $2M per MW-month, against a market of 100 MW
    "resale cap": ({"hyperscaler_contracts": contract() | {"cloud2": contract()["cloud"]},
                    "resale": {"price_usd_per_mw_month": 2e6, "market_cap_mw": 100}},
                   dropping("resale_market_cap"), "resale market cap"),
    # the provider offers 100 MW; the model reads one block more
    "contract ramp": ({"demand": training({"2026-01": 200_000}), "hyperscaler_contracts": contract()},
                      patching(models.contracts, "contract_arrays",
                               lambda d: d | {"max_blocks": d["max_blocks"] + 1}), "contract ramp"),
    # 30 satellites wanted in 2026-01, 10 a flight, one flight a month; the model reads three flights a month
    "launch cadence": ({"demand": training({"2026-01": 30_000}), "orbital": orbital()},
                       patching(models.orbital, "flight_slots", lambda slots: 3 * slots), "launch cadence"),
    # the satellite may not go up before 2026-06; the model reads 2026-01
    "earliest launch": ({"demand": training({"2026-01": 1_000}),
                         "orbital": orbital() | {"satellite_classes": {"sat": orbital()["satellite_classes"]["sat"]
                                                                      | {"earliest_launch": "2026-06"}}}},
                        patching(models.orbital, "class_arrays", lambda d: d | {"first": 0}), "earliest launch"),
    # the lease is offered from 2026-04; the model lets it be signed in 2026-01
    "lease window": ({"demand": training({"2026-01": 100_000}), "fixed_block_leases": {"colossus": LEASE}},
                     patching(models.leases, "lease_arrays",
                              lambda d: d | {"first": 0, "can_sign": d["can_sign"] | (d["can_sign"].cumsum() == 0),
                                             "in_window": d["in_window"] | (d["in_window"].cumsum() == 0)}),
                     "lease window"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_planted_model_bug_makes_the_plan_suspect(monkeypatch, name):
    changes, plant, family = CASES[name]
    instance = make_instance(**changes)
    honest = solve(instance)
    assert honest.status == "optimal", (honest.status, honest.message)  # the true model's plan passes
    assert honest.audit["rule_violation"] == 0.0
    plant(monkeypatch)
    planted = solve(instance)
    assert planted.status == "suspect", (name, planted.message)
    assert f"{family} broken by" in planted.message
    assert planted.objective_usd < honest.objective_usd  # the loosened model found a cheaper, impossible plan


def test_a_contract_term_read_short_is_caught_by_the_costs(monkeypatch):
    """The model reads a 3-month minimum term as 1 month: for January's demand alone it pays one month, where the
    instance says three ($100M against $300M); the audit, holding the block its term, recomputes $300M."""
    instance = make_instance(demand=training({"2026-01": 100_000, "2026-02": 0}),
                             hyperscaler_contracts=contract(min_term_months=3))
    patching(models.contracts, "contract_arrays", lambda d: d | {"term": 1})(monkeypatch)
    planted = solve(instance)
    assert planted.status == "suspect"
    assert planted.objective_usd == pytest.approx(100e6, rel=1e-9)
    assert planted.audit["recomputed_usd"] == pytest.approx(300e6, rel=1e-9)
