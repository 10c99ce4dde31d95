"""Bad instance files give one line naming the file, the field path and what was expected (exit code 2)."""

from __future__ import annotations

import pytest
from conftest import BASE, INSTANCES, contract, deep_merge, make_instance

from solver import InstanceError, load_instance, parse_instance, with_changes
from solver.params import Parameter, apply, check, parse_param

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
    with pytest.raises(InstanceError, match="fixed_block_leases.cloud: expected a source name unique across "
                       "contracts, leases, sites and satellite classes, got 'cloud' also used by "
                       "hyperscaler_contracts.cloud"):
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


# Cross-field checks: each names its path and what was expected.
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a lease whose end precedes its start
        ("end: 2027-12                        # assumption", "end: 2026-02",
         "fixed_block_leases.colossus: end 2026-02 precedes available_from 2026-04"),
        # a lease whose window is shorter than its minimum term
        ("end: 2027-12                        # assumption", "end: 2026-06",
         "fixed_block_leases.colossus: min_term_months (6) exceeds the 3 months from available_from 2026-04 to "
         "end 2026-06"),
        # a learning curve whose floor is above its start price: the price would rise
        ("launch_price_usd_per_kg: 300      # $300/kg (seed 004)",
         "learning_curve: {initial_price_usd_per_kg: 300, initial_cumulative_mass_t: 100, "
         "industry_mass_t_per_year: 1000, price_drop_per_doubling: 0.2, floor_usd_per_kg: 500}",
         "orbital.launch_vehicles.rocket.learning_curve: floor_usd_per_kg (500) must not exceed "
         "initial_price_usd_per_kg (300)"),
        # a learning rate making the price rise (a negative drop), or one that would make it vanish at once
        ("launch_price_usd_per_kg: 300      # $300/kg (seed 004)",
         "learning_curve: {initial_price_usd_per_kg: 300, initial_cumulative_mass_t: 100, "
         "industry_mass_t_per_year: 1000, price_drop_per_doubling: -0.1}",
         "orbital.launch_vehicles.rocket.learning_curve.price_drop_per_doubling: Input should be greater than or "
         "equal to 0"),
        ("launch_price_usd_per_kg: 300      # $300/kg (seed 004)",
         "learning_curve: {initial_price_usd_per_kg: 300, initial_cumulative_mass_t: 100, "
         "industry_mass_t_per_year: 1000, price_drop_per_doubling: 1}",
         "orbital.launch_vehicles.rocket.learning_curve.price_drop_per_doubling: Input should be less than 1"),
        # a national cap below one module: the site could never build
        ("new_mw_cap_per_year: 200 ", "new_mw_cap_per_year: {2026: 20, 2027: 90} ",
         "terrestrial.new_mw_cap_per_year: expected at least one module of site plain (100 MW) in some year "
         "(0 forbids new builds), got at most 90 MW a year"),
        # dates outside the horizon, wherever a date appears
        ("  2027-01: 120000", "  2028-01: 120000",
         "demand.inference.series_units.2028-01: 2028-01 is outside the horizon 2026-01..2027-12"),
        ("      2026-07: 200", "      2025-07: 200",
         "hyperscaler_contracts.cloud.ramp_mw.2025-07: 2025-07 is outside the horizon"),
        ("available_from: 2026-04 ", "available_from: 2025-04 ",
         "fixed_block_leases.colossus.available_from: 2025-04 is outside the horizon"),
        ("power_available: 2026-07 ", "power_available: 2025-12 ",
         "terrestrial.sites.plain.power_available: 2025-12 is outside the horizon"),
        ("      earliest_launch: 2027-01          # assumption\n      life",
         "      earliest_launch: 2030-01\n      life",
         "orbital.satellite_classes.sat.earliest_launch: 2030-01 is outside the horizon"),
        ("flights_per_month: 1 ", "flights_per_month: {2025: 1} ",
         "orbital.launch_vehicles.rocket.flights_per_month.2025: year outside the horizon 2026..2027"),
        ("market_cap_mw: 100 ", "market_cap_mw: {2026: 100, 2031: 5} ",
         "resale.market_cap_mw.2031: year outside the horizon"),
        # a boolean or bytes where a number or text is expected (YAML reads yes/no/on/off as booleans)
        ("min_term_months: 12 ", "min_term_months: yes ",
         "hyperscaler_contracts.cloud.min_term_months: expected a number, got True"),
        ("flights_per_month: 1 ", "flights_per_month: {2026: yes} ",
         "orbital.launch_vehicles.rocket.flights_per_month.2026: expected a number, got True"),
        ("ramp_in_fee_share: [0.5, 0.5]", "ramp_in_fee_share: [yes, 0.5]",
         "fixed_block_leases.colossus.ramp_in_fee_share.0: expected a number, got True"),
        ("name: small", "name: !!binary aGVsbG8=", "name: expected a number or text, got binary data"),
        # a horizon too long to plan, and a growth law that overflows over a long one (computed, not written)
        ("  end: 2027-12", "  end: 2125-12", "horizon: expected at most 50 years from start to end, got 100 years"),
        # quarterly demand is the mean of the quarter's months: 1e5 x mean(2^(537/12), 2^(538/12), 2^(539/12))
        # = 3.138e18 in 2070-10 (months since 2026-01: 537..539; 1e5 units doubling yearly)
        ("  end: 2027-12", "  end: 2070-12",
         "demand.training: expected demand of at most 1e+15 H100e, got 3.14e+18 in 2070-10"),
        ("  end: 2027-12", "  end: 2076-03", "horizon: expected at most 50 years from start to end, got 50.25 years"),
        # a bad entry in a year schedule is named, not reported as "the mapping is not a number"
        ("new_mw_cap_per_year: 200 ", "new_mw_cap_per_year: {2026: 200, 2027: .nan} ",
         "terrestrial.new_mw_cap_per_year.2027: Input should be a finite number (got nan)"),
        # a date that is a day, not a month: text, not a date object (nor a crash on 2026-02-30)
        ("available_from: 2026-04 ", "available_from: 2026-02-30 ",
         "fixed_block_leases.colossus.available_from: expected a month as YYYY-MM, got '2026-02-30'"),
    ],
)
def test_cross_field_checks(tmp_path, old, new, expected):
    assert old in SMALL, old
    with pytest.raises(InstanceError) as err:
        load_text(tmp_path, SMALL.replace(old, new, 1))
    assert "\n" not in str(err.value)
    assert expected in str(err.value)


def test_a_zero_national_cap_forbids_builds_on_purpose(tmp_path):
    instance = load_text(tmp_path, SMALL.replace("new_mw_cap_per_year: 200 ", "new_mw_cap_per_year: 0 "))
    assert instance.terrestrial.new_mw_cap_per_year == 0


def test_a_lease_may_end_after_the_horizon(tmp_path):
    instance = load_text(tmp_path, SMALL.replace("end: 2027-12                        # assumption", "end: 2030-12"))
    assert instance.fixed_block_leases["colossus"].end == "2030-12"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an explicit tag whose value does not parse: PyYAML's own ValueError, KeyError... become one line
        ("name: !!int abc\n", "(YAML) line 1, column 7: cannot read 'abc' as tag:yaml.org,2002:int"),
        ("name: !!bool maybe\n", "cannot read 'maybe' as tag:yaml.org,2002:bool"),
        ("name: !!map [1]\n", "cannot read a sequence as tag:yaml.org,2002:map"),
        # nesting deep enough to exhaust Python's recursion
        ("name: " + "[" * 5000 + "]" * 5000 + "\n", "(YAML) line 1, column 56: nested deeper than 50 levels"),
        # merge keys bringing in more distinct entries than any instance has (the doubling bomb, which PyYAML
        # from 6.0.4 bounds itself, is in test_fuzz)
        ("m0: &m0 {" + ", ".join(f"k{i}: 1" for i in range(10_001)) + "}\nm1: {<<: *m0}\n",
         "(YAML) line 2, column 5: merge keys (<<) expand to more than 10000 entries"),
        # a key with a newline or a lone surrogate is quoted: still one printable line
        ('"bad\\nkey": 1\nname: x\n', "'bad\\nkey': unknown field"),
        ('"\\ud800": 1\nname: x\n', "(top level): Input should be a valid string, unable to parse raw data"),
    ],
)
def test_hostile_yaml_gives_one_line(tmp_path, text, expected):
    with pytest.raises(InstanceError) as err:
        load_text(tmp_path, text)
    message = str(err.value)
    assert "\n" not in message and message.isprintable()
    assert expected in message


def test_keys_merged_from_an_anchor_may_be_overridden(tmp_path):
    text = SMALL.replace("  plain:\n", "  plain: &site\n").replace(
        "      fixed_opex_usd_per_mw_month: 20000   # assumption\n",
        "      fixed_opex_usd_per_mw_month: 20000   # assumption\n"
        "    second:\n      <<: *site\n      power_available: 2027-01\n")
    instance = load_text(tmp_path, text)
    assert instance.terrestrial.sites["second"].power_available == "2027-01"
    assert instance.terrestrial.sites["second"].module_mw == instance.terrestrial.sites["plain"].module_mw


def test_a_key_named_like_a_type_keeps_its_place_in_the_path(tmp_path):
    text = SMALL.replace("  h100:\n", "  intel:\n").replace("hardware: h100", "hardware: intel").replace(
        "compute_units_per_mw: 733 ", "compute_units_per_mw: -733 ")
    with pytest.raises(InstanceError, match=r"hardware\.intel\.compute_units_per_mw: Input should be greater than 0"):
        load_text(tmp_path, text)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("orbital.launch_vehicles.rocket.launch_price_usd_per_kg=-5:100",
         "small with orbital.launch_vehicles.rocket.launch_price_usd_per_kg=-5: "
         "orbital.launch_vehicles.rocket.launch_price_usd_per_kg: Input should be greater than or equal to 0"),
        ("orbital.max_inference_share=0:1.5",
         "orbital.max_inference_share: Input should be less than or equal to 1 (got 1.5)"),
        ("hyperscaler_contracts.cloud.min_term_months=1:500",
         "hyperscaler_contracts.cloud.min_term_months: Input should be less than or equal to 240"),
        ("terrestrial.sites.plain.pue*=0.5:1",
         "terrestrial.sites.plain.pue: Input should be greater than or equal to 1 (got 0.6)"),
    ],
)
def test_a_range_outside_a_fields_bounds_is_one_line(param, expected):
    instance = load_instance(INSTANCES / "small.yaml")
    with pytest.raises(InstanceError) as err:
        check(instance, [parse_param(param)])
    assert "\n" not in str(err.value)
    assert expected in str(err.value)


def test_a_month_series_set_to_one_number_holds_from_its_first_month():
    instance = load_instance(INSTANCES / "small.yaml")
    ramp = Parameter("hyperscaler_contracts.cloud.ramp_mw", 0, 500)
    check(instance, [ramp])
    changed = apply(instance, {ramp: 300})
    assert changed.hyperscaler_contracts["cloud"].ramp_mw == {"2026-01": 300}


def test_a_programme_cost_without_a_programme_is_rejected():
    from conftest import make_instance

    with pytest.raises(InstanceError, match="orbital: programme_cost_usd: a programme cost without a programme"):
        make_instance(orbital={"programme_cost_usd": 1e9})
