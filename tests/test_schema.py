"""Bad instance files give one line naming the file, the field path and what was expected (exit code 2)."""

from __future__ import annotations

import pytest
from conftest import BASE, INSTANCES, contract, deep_merge, make_instance

from solver import InstanceError, load_instance, parse_instance, with_changes

SMALL = (INSTANCES / "small.yaml").read_text()


def load_text(tmp_path, text: str, name: str = "case.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_instance(path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a wrong type
        ("block_mw: 50 ", 'block_mw: "fifty" ', "hyperscaler_contracts.cloud.block_mw: Input should be a valid number"),
        # a negative price
        ("price_usd_per_mw_month: 1250000", "price_usd_per_mw_month: -5",
         "hyperscaler_contracts.cloud.price_usd_per_mw_month: Input should be greater than or equal to 0"),
        # an unknown key (a typo): reported as unknown, with a suggestion, not as the field it hides
        ("    block_mw: 50 ", "    blok_mw: 50 ",
         "hyperscaler_contracts.cloud.blok_mw: unknown field (did you mean 'block_mw'?)"),
        # a date outside the horizon
        ("earliest_launch: 2027-01          # assumption\n      launch_price",
         "earliest_launch: 2031-01\n      launch_price",
         "orbital.launch_vehicles.rocket.earliest_launch: 2031-01 is outside the horizon 2026-01..2027-12"),
        # a year outside the horizon in a year schedule
        ("facility_usd_per_mw: 19000000", "facility_usd_per_mw: {2026: 19000000, 2040: 1}",
         "terrestrial.build_costs.facility_usd_per_mw.2040: year outside the horizon 2026..2027"),
        # a malformed month
        ("available_from: 2026-04 ", "available_from: 2026-13 ",
         "fixed_block_leases.colossus.available_from: expected a month as YYYY-MM"),
        # not a finite number
        ("      compute_kw: 100 ", "      compute_kw: .nan ",
         "orbital.satellite_classes.sat.compute_kw: Input should be a finite number"),
        # a share above 1
        ("max_inference_share: 0.1", "max_inference_share: 1.5",
         "orbital.max_inference_share: Input should be less than or equal to 1"),
        # cross-field: a site whose grid power is below one module
        ("grid_power_mw: 250 ", "grid_power_mw: 50 ",
         "terrestrial.sites.plain: grid_power_mw (50.0) is below one module at the meter"),
        # cross-field: a notice period longer than the minimum term
        ("notice_months: 3 ", "notice_months: 9 ",
         "fixed_block_leases.colossus: notice_months (9) exceeds min_term_months (6)"),
        # cross-field: unknown hardware generation
        ("    hardware: gb200\n    ramp_mw", "    hardware: b300\n    ramp_mw",
         "hyperscaler_contracts.cloud.hardware: unknown hardware 'b300'"),
        # hardware used before it exists
        ("available_from: 2025-01             # assumption", "available_from: 2026-03",
         "hyperscaler_contracts.cloud.hardware: gb200 is available from 2026-03, after this source's first month "
         "2026-01"),
        # a missing required field
        ("    min_term_months: 12                 # assumption\n", "",
         "hyperscaler_contracts.cloud.min_term_months: Field required"),
        # both forms of demand
        ("      annual_growth_factor: 2.0", "      annual_growth_factor: 2.0\n    series_units: {2026-01: 1}",
         "demand.training: give exactly one of series_units or growth_law"),
    ],
)
def test_bad_field_gives_one_line_with_file_and_path(tmp_path, old, new, expected):
    assert old in SMALL, old
    with pytest.raises(InstanceError) as err:
        load_text(tmp_path, SMALL.replace(old, new, 1))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "case.yaml") + ": ")
    assert expected in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n  bad: [\n", "(YAML) line 2"),
        ("\x00\x01binary", "(YAML)"),
        ("- just\n- a list\n", "(top level): expected a mapping of instance fields, got list"),
        ("", "(top level): expected a mapping of instance fields, got NoneType"),
        ("name: a\nname: b\n", "duplicate key 'name'"),
        ("name: !!python/object/apply:os.system ['true']\n", "(YAML)"),  # no object construction from tags
    ],
)
def test_unreadable_files_give_one_line(tmp_path, text, expected):
    with pytest.raises(InstanceError) as err:
        load_text(tmp_path, text)
    assert "\n" not in str(err.value)
    assert expected in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InstanceError, match="cannot read the file"):
        load_instance(tmp_path / "nope.yaml")


def test_source_names_are_unique_across_kinds():
    lease = {"hardware": "gen1", "size_mw": 10, "fee_usd_per_month": 1, "available_from": "2026-01",
             "end": "2026-12", "min_term_months": 1, "notice_months": 0}
    with pytest.raises(InstanceError, match="source names must be unique .*: cloud used more than once"):
        make_instance(hyperscaler_contracts=contract(), fixed_block_leases={"cloud": lease})


def test_horizon_must_be_whole_periods():
    with pytest.raises(InstanceError, match="not a whole number of quarters"):
        make_instance(horizon={"end": "2026-11", "period": "quarter"})


def test_demand_series_must_start_at_the_horizon_start():
    data = deep_merge(BASE, {})
    data["demand"]["training"]["series_units"] = {"2026-03": 5}
    with pytest.raises(InstanceError, match="the first month must be the horizon start"):
        parse_instance(data, "test")


def test_with_changes_copies_and_revalidates():
    base = load_instance(INSTANCES / "small.yaml")
    faster = with_changes(base, {"terrestrial.sites.plain.lead_time_months": 3})
    assert faster.terrestrial.sites["plain"].lead_time_months == 3
    assert base.terrestrial.sites["plain"].lead_time_months == 6  # the original is untouched
    with pytest.raises(InstanceError, match="greater than or equal to 0"):
        with_changes(base, {"hyperscaler_contracts.cloud.price_usd_per_mw_month": -1})
    with pytest.raises(InstanceError, match="no such field"):
        with_changes(base, {"terrestrial.sites.nowhere.lead_time_months": 3})
