"""The instance schema: the single description of the planning data.

Every field is defined once here, with its unit in its name, its bounds and its meaning. The model code reads
only these validated objects. Unknown keys are errors (``extra="forbid"``) so that a typo never silently falls
back to a default.

Conventions
-----------
* Dates are ``YYYY-MM`` strings (:data:`Month`). Years are integers.
* A :data:`YearSchedule` is either one number (constant) or a mapping ``year -> value``; between the given years
  the value is interpolated linearly, before the first and after the last it is held flat.
* A :data:`MonthSeries` is a mapping ``YYYY-MM -> value``: a step function, each value holding from its month
  until the next key.
* Collections of named things (hardware, contracts, leases, sites, launch vehicles, satellite classes) are
  mappings keyed by name, so that a parameter has a readable path such as ``sites.texas.lead_time_months``.
* Money is in US dollars, power in MW of IT load (the figure leases and contracts are quoted in; builds add their
  PUE on top for the grid limit), compute in *compute units* (the reference instance uses H100-equivalents).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _check_month(value: str) -> str:
    if not MONTH_PATTERN.match(value):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}")
    return value


def _check_finite_values(values: dict) -> dict:
    for key, v in values.items():
        if not math.isfinite(v):
            raise ValueError(f"value for {key!r} must be a finite number, got {v!r}")
    return values


Month = Annotated[str, AfterValidator(_check_month)]
# No figure of this domain comes near 1e15 (USD: ten times world GDP); above it the solver's arithmetic breaks
# down (costs of 1e300 overflow to NaN and turn a plan into a false "infeasible"), so it is an input error.
LARGEST = 1e15
# Planning further out than this is not what the model is for, and growth laws compounded over centuries overflow.
MAX_HORIZON_YEARS = 50


def _reject_boolean(value: object) -> object:
    # No field is a boolean, but pydantic reads true as 1, and YAML reads yes/no/on/off as booleans.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value} (YAML reads yes/no/on/off/true/false as booleans)")
    return value


NOT_BOOLEAN = BeforeValidator(_reject_boolean)
NonNegative = Annotated[float, NOT_BOOLEAN, Field(ge=0, le=LARGEST, allow_inf_nan=False)]
Positive = Annotated[float, NOT_BOOLEAN, Field(gt=0, le=LARGEST, allow_inf_nan=False)]
Share = Annotated[float, NOT_BOOLEAN, Field(ge=0, le=1, allow_inf_nan=False)]
Year = Annotated[int, NOT_BOOLEAN, Field(ge=1900, le=2200)]
YearSchedule = NonNegative | Annotated[dict[Year, NonNegative], Field(min_length=1)]
MonthSeries = Annotated[dict[Month, NonNegative], Field(min_length=1), AfterValidator(_check_finite_values)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=64)]


def month_index(month: str) -> int:
    """Months since year 0 of a ``YYYY-MM`` string: differences of these are month counts."""
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def month_text(index: int) -> str:
    """The ``YYYY-MM`` of a month index (the inverse of :func:`month_index`)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class Strict(BaseModel):
    """Base of every schema object: unknown keys are errors, values are re-checked on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bytes(cls, data: object) -> object:
        # A !!binary value would become text (or a number); it is a mistake wherever it appears.
        if isinstance(data, dict):
            for key, value in data.items():
                items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else (value,)
                if any(isinstance(v, bytes) for v in items):
                    raise ValueError(f"{key}: expected a number or text, got binary data")
        return data


PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PeriodLength = Literal["month", "quarter", "year"]


class GridSegment(Strict):
    """A stretch of the horizon planned in periods of one length (a segmented grid: months near the start,
    coarser periods later, as long-range planning models do)."""

    period: PeriodLength = Field(description="length of this segment's periods")
    until: Month | None = Field(None, description="last month of the segment (inclusive); the last segment's "
                                "may be left out: it runs to the horizon end")


class Horizon(Strict):
    """The planning horizon: first and last month, period length (or segments of lengths) and discounting."""

    start: Month = Field("2026-01", description="first month planned")
    end: Month = Field("2032-12", description="last month planned (inclusive)")
    period: PeriodLength | Annotated[list[GridSegment], Field(min_length=1)] = Field(
        "month", description="length of one period (the horizon must be a whole number of periods), or a list of "
        "segments, each a whole number of its periods, e.g. months until 2027-12, quarters until 2030-12, years"
    )
    discount_rate_per_year: Annotated[float, NOT_BOOLEAN, Field(ge=0, le=1)] = Field(
        0.08, description="annual rate at which costs are discounted to the start month"
    )

    @model_validator(mode="after")
    def _whole_periods(self) -> Horizon:
        months = month_index(self.end) - month_index(self.start) + 1
        if months < 1:
            raise ValueError(f"end {self.end} precedes start {self.start}")
        if months > 12 * MAX_HORIZON_YEARS:
            raise ValueError(f"expected at most {MAX_HORIZON_YEARS} years from start to end, got {months / 12:g} years"
                             f" ({self.start} to {self.end})")
        if isinstance(self.period, str):
            if months % PERIOD_MONTHS[self.period]:
                raise ValueError(f"{months} months from {self.start} to {self.end} is not a whole number of "
                                 f"{self.period}s")
            return self
        first = month_index(self.start)
        for k, segment in enumerate(self.period):
            where = f"period.{k}"
            last = self.period[-1] is segment
            if segment.until is None and not last:
                raise ValueError(f"{where}.until: expected the segment's last month (only the last segment may "
                                 "leave it out)")
            until = month_index(segment.until) if segment.until is not None else month_index(self.end)
            if until < first:
                raise ValueError(f"{where}.until: {segment.until} is before the segment's first month "
                                 f"{month_text(first)} (segments follow each other in order)")
            if until > month_index(self.end) or (last and until != month_index(self.end)):
                raise ValueError(f"{where}.until: expected the last segment to end at the horizon end {self.end}, "
                                 f"got {segment.until}" if last else
                                 f"{where}.until: {segment.until} is after the horizon end {self.end}")
            length = PERIOD_MONTHS[segment.period]
            if (until - first + 1) % length:
                raise ValueError(f"{where}: {until - first + 1} months from {month_text(first)} to "
                                 f"{month_text(until)} is not a whole number of {segment.period}s")
            # Budgets and caps are per calendar year: a period must lie inside one.
            if length > 1 and any(m // 12 != (m + length - 1) // 12 for m in range(first, until + 1, length)):
                raise ValueError(f"{where}: {segment.period}s from {month_text(first)} cross a calendar year "
                                 "(start the segment in January, or for quarters in Jan, Apr, Jul or Oct)")
            first = until + 1
        return self


class HardwareGeneration(Strict):
    """A hardware generation: how much compute a MW of IT power delivers."""

    compute_units_per_mw: Positive = Field(description="compute units delivered per MW of IT power")
    available_from: Month = Field(description="first month this generation can be installed in a new build")


class GrowthLaw(Strict):
    """Demand growing by a constant annual factor from a start level, optionally saturating (logistic)."""

    start_units: NonNegative = Field(description="demand in the first month, compute units")
    annual_growth_factor: Annotated[float, NOT_BOOLEAN, Field(gt=0, le=100)] = Field(
        description="demand multiplies by this each year while far from saturation"
    )
    saturation_units: Positive | None = Field(
        None, description="level the demand approaches (logistic curve); none means pure exponential growth"
    )

    @model_validator(mode="after")
    def _saturation_above_start(self) -> GrowthLaw:
        if self.saturation_units is not None and self.saturation_units <= self.start_units:
            raise ValueError(
                f"saturation_units ({self.saturation_units}) must exceed start_units ({self.start_units})"
            )
        return self


class WorkloadDemand(Strict):
    """Demand of one workload class: an explicit series or a growth law, and the cost of not meeting it."""

    series_units: MonthSeries | None = Field(None, description="compute units from each month on (step function)")
    growth_law: GrowthLaw | None = None
    unmet_penalty_usd_per_unit_month: NonNegative = Field(
        description="lost revenue of one compute unit of demand not served for one month"
    )
    max_unmet_share: Share = Field(
        1.0, description="at most this share of the demand may go unmet in any period (0 = a hard floor)"
    )

    @model_validator(mode="after")
    def _exactly_one_form(self) -> WorkloadDemand:
        if (self.series_units is None) == (self.growth_law is None):
            raise ValueError("give exactly one of series_units or growth_law")
        return self


class Demand(Strict):
    compute_unit: str = Field("H100e", description="name of the compute unit, for reports")
    training: WorkloadDemand
    inference: WorkloadDemand


class BlocksHeld(Strict):
    """Blocks of a contract the lab already holds at the horizon start."""

    blocks: Annotated[int, NOT_BOOLEAN, Field(ge=1)] = Field(description="blocks held at the horizon start")
    term_left_months: Annotated[int, NOT_BOOLEAN, Field(ge=0, le=240)] = Field(
        description="months of their minimum term still to run (0: past it, they can be released at once); they are "
                    "paid while held, as any block"
    )


class HyperscalerContract(Strict):
    """Capacity a provider brings online on its own schedule, committed in blocks, take-or-pay for a minimum term."""

    hardware: Name = Field(description="hardware generation of the capacity")
    ramp_mw: MonthSeries = Field(description="MW the provider can make available to the lab from each month on")
    block_mw: Positive = Field(description="size of one committed block, MW")
    min_term_months: Annotated[int, NOT_BOOLEAN, Field(ge=1, le=240)] = Field(
        description="a committed block is held and paid for at least this many months, then until released"
    )
    price_usd_per_mw_month: NonNegative
    held_at_start: BlocksHeld | None = Field(None, description="blocks already committed when the horizon starts")

    @model_validator(mode="after")
    def _held_within_term(self) -> HyperscalerContract:
        held = self.held_at_start
        if held is not None and held.term_left_months > self.min_term_months:
            raise ValueError(f"held_at_start.term_left_months ({held.term_left_months}) exceeds min_term_months "
                             f"({self.min_term_months})")
        return self


class LeaseHeld(Strict):
    """A fixed-block lease the lab signed before the horizon start."""

    signed: Month = Field(description="month the lab signed the block, before the horizon start: its minimum term "
                                      "and ramp-in run from then, and its fee is paid while it is held")


class FixedBlockLease(Strict):
    """One indivisible block (e.g. Colossus 1): sign once, give notice at most once."""

    hardware: Name
    size_mw: Positive = Field(description="IT power of the block, MW")
    fee_usd_per_month: NonNegative = Field(description="full monthly fee for the whole block")
    ramp_in_fee_share: list[Share] = Field(
        default_factory=list,
        description="share of the full fee paid in each of the first months after signing (the ramp-in discount)",
    )
    available_from: Month = Field(description="first month the block can be signed and used")
    end: Month = Field(description="last month of the lease (may lie after the horizon); it ends then unless "
                       "notice ends it earlier")
    min_term_months: Annotated[int, NOT_BOOLEAN, Field(ge=1, le=240)] = Field(
        description="months the block is held at least once signed"
    )
    notice_months: Annotated[int, NOT_BOOLEAN, Field(ge=0, le=120)] = Field(
        description="capacity and payments end this many months after notice is given"
    )
    sign_by: Month | None = Field(
        None, description="last month the block can be signed (an offer that expires); none: while its minimum "
                          "term fits before its end"
    )
    exit_allowed: StrictBool = Field(
        True, description="false: the lab cannot give notice (no exit clause), so a signed block runs to its end"
    )
    provider_notice_month: Month | None = Field(
        None, description="the provider gives notice in this month (a what-if: the notice is mutual); the block "
                          "ends notice_months later, and the lab's minimum term no longer binds after that"
    )
    held_at_start: LeaseHeld | None = Field(None, description="the block is already signed when the horizon starts")

    @model_validator(mode="after")
    def _window(self) -> FixedBlockLease:
        window = month_index(self.end) - month_index(self.available_from) + 1
        if window < 1:
            raise ValueError(f"end {self.end} precedes available_from {self.available_from}")
        if self.min_term_months > window:
            raise ValueError(
                f"min_term_months ({self.min_term_months}) exceeds the {window} months from "
                f"available_from {self.available_from} to end {self.end}"
            )
        if self.notice_months > self.min_term_months:
            raise ValueError(
                f"notice_months ({self.notice_months}) exceeds min_term_months ({self.min_term_months})"
            )
        if len(self.ramp_in_fee_share) > self.min_term_months:
            raise ValueError(
                f"ramp_in_fee_share has {len(self.ramp_in_fee_share)} months, more than min_term_months "
                f"({self.min_term_months})"
            )
        for field_name in ("sign_by", "provider_notice_month"):
            month = getattr(self, field_name)
            if month is not None and not month_index(self.available_from) <= month_index(month) <= month_index(
                    self.end):
                raise ValueError(f"{field_name} {month} lies outside the lease's months {self.available_from}.."
                                 f"{self.end}")
        return self


class BuildCosts(Strict):
    """Capital cost of a terrestrial build per MW of IT power, by the year the money is spent."""

    facility_usd_per_mw: YearSchedule = Field(description="shell, power and cooling; paid at the decision")
    gpus_usd_per_mw: YearSchedule = Field(description="accelerators; paid when the module comes online")
    other_it_usd_per_mw: YearSchedule = Field(description="CPUs, network, storage; paid when online")
    facility_life_years: Annotated[float, NOT_BOOLEAN, Field(gt=0, le=100)] = Field(
        description="years of service of a facility, for its value at the horizon end"
    )
    gpu_life_years: Annotated[float, NOT_BOOLEAN, Field(gt=0, le=30)] = Field(
        description="GPUs and other IT are replaced (refresh) after this many years, at that year's prices"
    )


class ModulesHeld(Strict):
    """Modules online at a site when the horizon starts: their facility and IT are paid (sunk); their energy,
    opex and GPU refreshes are not."""

    modules: Annotated[int, NOT_BOOLEAN, Field(ge=1)]
    hardware: Name = Field(description="hardware generation their GPUs run")
    online_since: Month = Field(description="month they came online, before the horizon start: the facility's "
                                            "life runs from then")
    gpus_bought: Month | None = Field(
        None, description="month their GPUs and other IT were bought (on coming online or at their latest refresh); "
                          "they are refreshed gpu_life_years later. None: online_since")

    @property
    def gpus_month(self) -> str:
        return self.gpus_bought or self.online_since


class Site(Strict):
    """A site where the lab can build its own data center in integer modules."""

    grid_power_mw: Positive = Field(description="grid power at the meter, MW (IT load times PUE must fit)")
    power_available: Month = Field(description="first month the grid power is there")
    module_mw: Positive = Field(description="IT power of one module, MW")
    lead_time_months: Annotated[int, NOT_BOOLEAN, Field(ge=0, le=120)] = Field(
        description="months from the build decision to the module being online"
    )
    pue: Annotated[float, NOT_BOOLEAN, Field(ge=1, le=3)] = Field(
        description="power usage effectiveness (facility / IT)")
    electricity_usd_per_kwh: NonNegative
    fixed_opex_usd_per_mw_month: NonNegative = Field(description="staff, maintenance, per MW of IT online")
    fixed_cost_usd: NonNegative = Field(
        0.0, description="paid once, when the lab starts at the site (development, the grid connection): with its "
                         "first module's decision")
    energy_utilization_share: Share = Field(
        1.0, description="share of the hours the IT online draws full power (a capacity factor for energy; 1: "
                         "always at full load)")
    facility_cost_multiplier: Annotated[float, NOT_BOOLEAN, Field(gt=0, le=10)] = Field(
        1.0, description="facility cost here relative to the national build costs (land, labour)"
    )
    held_at_start: list[ModulesHeld] = Field(
        default_factory=list, description="modules already online when the horizon starts (the site's one-off "
                                          "cost is then sunk too)")

    @model_validator(mode="after")
    def _room_for_a_module(self) -> Site:
        if self.module_mw * self.pue > self.grid_power_mw * (1 + 1e-9):
            raise ValueError(
                f"grid_power_mw ({self.grid_power_mw}) is below one module at the meter "
                f"(module_mw {self.module_mw} x pue {self.pue} = {self.module_mw * self.pue:g})"
            )
        return self


class Terrestrial(Strict):
    """The lab's own builds: shared costs, the national cap, and the sites."""

    build_costs: BuildCosts
    new_mw_cap_per_year: YearSchedule | None = Field(
        None, description="at most this many MW of new own builds may come online per calendar year (grid queue)"
    )
    sites: dict[Name, Site] = Field(default_factory=dict)


class LearningCurve(Strict):
    """Launch price falling with the industry's cumulative launched mass (exogenous: the lab's own launches
    are not fed back into the price)."""

    initial_price_usd_per_kg: Positive = Field(description="price at the horizon start")
    initial_cumulative_mass_t: Positive = Field(description="industry mass launched to date at the horizon start")
    industry_mass_t_per_year: YearSchedule = Field(description="industry launch mass per year")
    price_drop_per_doubling: Annotated[float, NOT_BOOLEAN, Field(ge=0, lt=1)] = Field(
        description="price falls by this share each time cumulative mass doubles (0.2 = 20%)"
    )
    floor_usd_per_kg: NonNegative = Field(0.0, description="the price never falls below this")

    @model_validator(mode="after")
    def _price_falls(self) -> LearningCurve:
        # A floor above the start price would make the "falling" price jump up to the floor from the first month.
        if self.floor_usd_per_kg > self.initial_price_usd_per_kg:
            raise ValueError(f"floor_usd_per_kg ({self.floor_usd_per_kg:g}) must not exceed "
                             f"initial_price_usd_per_kg ({self.initial_price_usd_per_kg:g}): the price only falls")
        return self


class LaunchVehicle(Strict):
    payload_t: Positive = Field(description="payload to the operational orbit per flight, tonnes")
    flights_per_month: YearSchedule = Field(description="flights per month available to the lab, a rate: 0.5 is "
                                            "one flight every second month; a flight not made is not banked")
    earliest_launch: Month
    launch_price_usd_per_kg: YearSchedule | None = Field(None, description="explicit price schedule")
    learning_curve: LearningCurve | None = None
    launch_price_usd_per_flight: NonNegative = Field(
        0.0, description="a price per flight on top of the price per kg (a small vehicle is priced per launch)")

    @model_validator(mode="after")
    def _one_price(self) -> LaunchVehicle:
        if (self.launch_price_usd_per_kg is None) == (self.learning_curve is None):
            raise ValueError("give exactly one of launch_price_usd_per_kg or learning_curve")
        return self


class SatelliteClass(Strict):
    """A class of compute satellite, launched on one vehicle."""

    hardware: Name
    launch_vehicle: Name
    compute_kw: Positive = Field(description="IT power of one satellite, kW")
    mass_kg: Positive
    hardware_usd_per_w: NonNegative = Field(description="bus, solar, radiators, per W of compute")
    gpus_usd_per_w: NonNegative
    earliest_launch: Month
    life_years: Annotated[float, NOT_BOOLEAN, Field(gt=0, le=30)] = Field(description="retired after this many years")
    degradation_per_year: Annotated[float, NOT_BOOLEAN, Field(ge=0, lt=1)] = Field(
        description="solar output loss per year")
    failure_rate_per_year: Annotated[float, NOT_BOOLEAN, Field(ge=0, lt=1)] = Field(
        description="share of GPUs failing per year (not repaired)"
    )
    opex_usd_per_kw_month: NonNegative = Field(description="operations and ground links per kW online")
    ops_share_of_hardware_per_year: Annotated[float, NOT_BOOLEAN, Field(ge=0, le=1)] = Field(
        0.0, description="operations a year as a share of the satellite's hardware and GPUs, while in orbit (how "
                         "public calculators charge ops: on installed hardware, not on decayed output)")
    sunlight_share: Annotated[float, NOT_BOOLEAN, Field(gt=0, le=1)] = Field(
        description="share of time the satellite computes")
    held_at_start: list[SatellitesHeld] = Field(
        default_factory=list, description="satellites already in orbit when the horizon starts (the programme's "
                                          "one-off cost is then sunk too)")


class SatellitesHeld(Strict):
    """Satellites of a class already in orbit when the horizon starts (their launch and hardware are sunk)."""

    satellites: Annotated[int, NOT_BOOLEAN, Field(ge=1)]
    launched: Month = Field(description="month they were launched, before the horizon start: decay and retirement "
                                        "run from then")


class Orbital(Strict):
    max_inference_share: Share = Field(
        0.0, description="orbital compute may serve at most this share of inference demand (latency)"
    )
    launch_vehicles: dict[Name, LaunchVehicle] = Field(default_factory=dict)
    satellite_classes: dict[Name, SatelliteClass] = Field(default_factory=dict)
    programme_cost_usd: NonNegative = Field(
        0.0, description="paid once, by the first launch (the development of an orbital programme)")

    @model_validator(mode="after")
    def _programme(self) -> Orbital:
        if self.programme_cost_usd > 0 and not self.satellite_classes:
            raise ValueError("programme_cost_usd: a programme cost without a programme (no satellite class)")
        return self


class Resale(Strict):
    """Leasing out capacity the lab holds but does not need (the neocloud model)."""

    price_usd_per_unit_month: YearSchedule = Field(
        description="paid per compute unit-month leased out (a MW of newer hardware earns more); the market's price "
                    "of compute falls as newer hardware comes out, so it may fall by year")
    market_cap_mw: YearSchedule = Field(description="at most this many MW can be leased out at once")


# The kinds of capacity source, as the plan's ``kind`` column names them (one module of models/ each).
SOURCE_KINDS = ("hyperscaler_contract", "fixed_block_lease", "own_build", "orbital")


class Instance(Strict):
    """One planning problem."""

    name: Name
    description: str = ""
    horizon: Horizon = Field(default_factory=Horizon)
    hardware: dict[Name, HardwareGeneration] = Field(min_length=1)
    demand: Demand
    hyperscaler_contracts: dict[Name, HyperscalerContract] = Field(default_factory=dict)
    fixed_block_leases: dict[Name, FixedBlockLease] = Field(default_factory=dict)
    terrestrial: Terrestrial | None = None
    orbital: Orbital | None = None
    resale: Resale | None = None
    capital_budget_usd_per_year: YearSchedule | None = Field(
        None, description="capital spent per calendar year (builds, refreshes, satellites, launches) at most"
    )

    def sources(self) -> dict[str, str]:
        """The kind of each capacity source, by name (names are unique across kinds)."""
        return ({name: "hyperscaler_contract" for name in self.hyperscaler_contracts}
                | {name: "fixed_block_lease" for name in self.fixed_block_leases}
                | {name: "own_build" for name in (self.terrestrial.sites if self.terrestrial else {})}
                | {name: "orbital" for name in (self.orbital.satellite_classes if self.orbital else {})})

    @model_validator(mode="after")
    def _cross_references_and_dates(self) -> Instance:
        problems: list[str] = []
        start, end = month_index(self.horizon.start), month_index(self.horizon.end)
        first_year, last_year = int(self.horizon.start[:4]), int(self.horizon.end[:4])

        def check_month(path: str, month: str) -> None:
            if not start <= month_index(month) <= end:
                problems.append(f"{path}: {month} is outside the horizon {self.horizon.start}..{self.horizon.end}")

        def check_series(path: str, series: dict[str, float]) -> None:
            for key in series:
                check_month(f"{path}.{key}", key)

        def check_years(path: str, schedule: float | dict[int, float] | None) -> None:
            if isinstance(schedule, dict):
                for year in schedule:
                    if not first_year <= year <= last_year:
                        problems.append(f"{path}.{year}: year outside the horizon {first_year}..{last_year}")

        def check_hardware(path: str, name: str, first_use: str | None = None) -> None:
            """The generation exists, and is out by the first month the source can use it."""
            if name not in self.hardware:
                problems.append(f"{path}: unknown hardware {name!r} (known: {', '.join(self.hardware)})")
            elif first_use is not None and month_index(first_use) < month_index(self.hardware[name].available_from):
                problems.append(f"{path}: {name} is available from {self.hardware[name].available_from}, "
                                f"after this source's first month {first_use}")

        # The plan's tables are keyed by source name: two kinds sharing a name would merge their rows.
        first_path: dict[str, str] = {}
        for kind, names in (("hyperscaler_contracts", self.hyperscaler_contracts),
                            ("fixed_block_leases", self.fixed_block_leases),
                            ("terrestrial.sites", self.terrestrial.sites if self.terrestrial else {}),
                            ("orbital.satellite_classes", self.orbital.satellite_classes if self.orbital else {})):
            for name in names:
                if name in first_path:
                    problems.append(f"{kind}.{name}: expected a source name unique across contracts, leases, sites "
                                    f"and satellite classes, got {name!r} also used by {first_path[name]}")
                first_path.setdefault(name, f"{kind}.{name}")
        for wl in ("training", "inference"):
            series = getattr(self.demand, wl).series_units
            if series is not None:
                check_series(f"demand.{wl}.series_units", series)
                if min(month_index(k) for k in series) != start:
                    problems.append(f"demand.{wl}.series_units: the first month must be the horizon start "
                                    f"{self.horizon.start}")
        for name, c in self.hyperscaler_contracts.items():
            ramp_from = min((k for k, mw in c.ramp_mw.items() if mw > 0), key=month_index, default=None)
            check_hardware(f"hyperscaler_contracts.{name}.hardware", c.hardware, ramp_from)
            check_series(f"hyperscaler_contracts.{name}.ramp_mw", c.ramp_mw)
            if c.held_at_start is not None:
                in_force = [k for k in c.ramp_mw if month_index(k) <= start]
                at_start = c.ramp_mw[max(in_force, key=month_index)] if in_force else 0.0
                if c.held_at_start.blocks * c.block_mw > at_start + 1e-9:
                    problems.append(f"hyperscaler_contracts.{name}.held_at_start.blocks: {c.held_at_start.blocks} "
                                    f"blocks of {c.block_mw:g} MW exceed the {at_start:g} MW of the provider's ramp at "
                                    f"the horizon start")
        def check_before_start(path: str, month: str) -> bool:
            """A start holding's month lies before the horizon start."""
            if month_index(month) >= start:
                problems.append(f"{path}: expected a month before the horizon start {self.horizon.start} (a holding "
                                f"at the start), got {month}")
                return False
            return True

        def check_life_left(path: str, since: str, life_months: float, what: str) -> None:
            """A start holding still has some of its life (or term) left at the horizon start."""
            if start - month_index(since) >= life_months - 1e-9:
                problems.append(f"{path}: {what} from {since} is over by the horizon start {self.horizon.start}")

        for name, lease in self.fixed_block_leases.items():
            path = f"fixed_block_leases.{name}"
            check_hardware(f"{path}.hardware", lease.hardware, lease.available_from)
            if lease.held_at_start is None:
                check_month(f"{path}.available_from", lease.available_from)
            elif check_before_start(f"{path}.held_at_start.signed", signed := lease.held_at_start.signed):
                if month_index(signed) < month_index(lease.available_from):
                    problems.append(f"{path}.held_at_start.signed: {signed} precedes available_from "
                                    f"{lease.available_from}")
                if month_index(signed) + lease.min_term_months - 1 > month_index(lease.end):
                    problems.append(f"{path}.held_at_start.signed: the {lease.min_term_months}-month minimum term "
                                    f"from {signed} runs past the lease's end {lease.end}")
                if month_index(lease.end) < start:
                    problems.append(f"{path}.end: a lease held at the start ended in {lease.end}, before the "
                                    f"horizon start {self.horizon.start}")
            for field_name in ("sign_by", "provider_notice_month"):
                if getattr(lease, field_name) is not None:
                    check_month(f"fixed_block_leases.{name}.{field_name}", getattr(lease, field_name))
        if self.terrestrial is not None:
            costs = self.terrestrial.build_costs
            for field in ("facility_usd_per_mw", "gpus_usd_per_mw", "other_it_usd_per_mw"):
                check_years(f"terrestrial.build_costs.{field}", getattr(costs, field))
            check_years("terrestrial.new_mw_cap_per_year", self.terrestrial.new_mw_cap_per_year)
            # A cap below a site's module (in every year) would forbid that site's builds without a word.
            cap = self.terrestrial.new_mw_cap_per_year
            most = max(cap.values()) if isinstance(cap, dict) else cap
            for name, site in self.terrestrial.sites.items():
                path = f"terrestrial.sites.{name}"
                check_month(f"{path}.power_available", site.power_available)
                for i, held in enumerate(site.held_at_start):
                    at = f"{path}.held_at_start.{i}"
                    check_hardware(f"{at}.hardware", held.hardware, held.gpus_month)
                    if check_before_start(f"{at}.online_since", held.online_since):
                        check_life_left(f"{at}.online_since", held.online_since, costs.facility_life_years * 12,
                                        f"a {costs.facility_life_years:g}-year facility life")
                    if month_index(held.gpus_month) < month_index(held.online_since):
                        problems.append(f"{at}.gpus_bought: {held.gpus_month} precedes online_since "
                                        f"{held.online_since}")
                    elif check_before_start(f"{at}.gpus_bought", held.gpus_month):
                        check_life_left(f"{at}.gpus_bought", held.gpus_month, costs.gpu_life_years * 12,
                                        f"a {costs.gpu_life_years:g}-year GPU life (give the month of their latest "
                                        f"refresh)")
                held_modules = sum(held.modules for held in site.held_at_start)
                if held_modules * site.module_mw * site.pue > site.grid_power_mw * (1 + 1e-9):
                    problems.append(f"{path}.held_at_start: {held_modules} modules of {site.module_mw:g} MW at pue "
                                    f"{site.pue:g} exceed grid_power_mw {site.grid_power_mw:g}")
                if held_modules and month_index(site.power_available) > start:
                    problems.append(f"{path}.power_available: modules online at the start need the power then, "
                                    f"got {site.power_available}")
                if most is not None and 0 < most < site.module_mw * (1 - 1e-9):
                    problems.append(f"terrestrial.new_mw_cap_per_year: expected at least one module of site {name} "
                                    f"({site.module_mw:g} MW) in some year (0 forbids new builds), got at most "
                                    f"{most:g} MW a year")
            if self.terrestrial.sites and not any(
                month_index(g.available_from) <= end for g in self.hardware.values()
            ):
                problems.append("hardware: no generation is available for new builds within the horizon")
        if self.orbital is not None:
            for name, v in self.orbital.launch_vehicles.items():
                path = f"orbital.launch_vehicles.{name}"
                check_month(f"{path}.earliest_launch", v.earliest_launch)
                check_years(f"{path}.flights_per_month", v.flights_per_month)
                check_years(f"{path}.launch_price_usd_per_kg", v.launch_price_usd_per_kg)
                if v.learning_curve is not None:
                    check_years(f"{path}.learning_curve.industry_mass_t_per_year",
                                v.learning_curve.industry_mass_t_per_year)
            for name, s in self.orbital.satellite_classes.items():
                path = f"orbital.satellite_classes.{name}"
                check_hardware(f"{path}.hardware", s.hardware, s.earliest_launch)
                check_month(f"{path}.earliest_launch", s.earliest_launch)
                for i, held in enumerate(s.held_at_start):
                    at = f"{path}.held_at_start.{i}.launched"
                    check_hardware(at, s.hardware, held.launched)
                    if check_before_start(at, held.launched):
                        check_life_left(at, held.launched, s.life_years * 12, f"a {s.life_years:g}-year life")
                if s.launch_vehicle not in self.orbital.launch_vehicles:
                    problems.append(f"{path}.launch_vehicle: unknown launch vehicle {s.launch_vehicle!r}")
                elif s.mass_kg > (payload := self.orbital.launch_vehicles[s.launch_vehicle].payload_t) * (1000 + 1e-6):
                    problems.append(f"{path}.mass_kg: {s.mass_kg:g} kg does not fit in one flight of "
                                    f"{s.launch_vehicle} ({payload:g} t)")
        if self.resale is not None:
            check_years("resale.market_cap_mw", self.resale.market_cap_mw)
            check_years("resale.price_usd_per_unit_month", self.resale.price_usd_per_unit_month)
        check_years("capital_budget_usd_per_year", self.capital_budget_usd_per_year)
        if problems:
            raise ValueError("; ".join(problems))
        return self


# Scenario trees (solver/stochastic.py): what is uncertain, when it is revealed, and the counterfactuals to value.

class TreeBranch(Strict):
    """One outcome revealed at a stage's date: its probability and the data it changes from that date on."""

    probability: Share
    set: dict[str, object] = Field(
        default_factory=dict, description="dotted path -> new content, or PATH* -> factor scaling every number "
        "under it (the language of --set and sweeps); applied from the stage's date on")
    source: str = Field("", description="where the probability and the changes come from, or 'assumption'")


class TreeStage(Strict):
    """An information date and the branches revealed then (every scenario takes one branch of every stage)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    from_month: Month = Field(alias="from", description="first month the branch is known (and its data holds)")
    branches: Annotated[dict[Name, TreeBranch], Field(min_length=1)]

    @model_validator(mode="after")
    def _probabilities_sum_to_one(self) -> TreeStage:
        total = math.fsum(b.probability for b in self.branches.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"expected branch probabilities summing to 1 at {self.from_month}, got {total:.12g}")
        return self


class TreeOption(Strict):
    """A counterfactual without an option (the exit clause, waiting to sign): the changes that remove it."""

    description: str = ""
    set: Annotated[dict[str, object], Field(min_length=1)]


class TreeRisk(Strict):
    """A risk term: the tree minimises E[cost] + weight x (CVaR_alpha(loss) - E[loss]), the loss being each
    scenario's whole net present cost (then (1 - weight) E + weight CVaR) or its lost revenue (demand not met)."""

    on: Literal["cost", "unmet_demand"] = "cost"
    alpha: Annotated[float, NOT_BOOLEAN, Field(gt=0, lt=1)] = 0.9
    weight: Share = 0.5


class ScenarioTree(Strict):
    """Stages in date order; a scenario is one branch of each stage (a balanced tree)."""

    name: Name
    description: str = ""
    stages: list[TreeStage] = Field(default_factory=list)
    options: dict[Name, TreeOption] = Field(default_factory=dict)
    risk: TreeRisk | None = None

    @model_validator(mode="after")
    def _dates_increase(self) -> ScenarioTree:
        months = [month_index(stage.from_month) for stage in self.stages]
        for k in range(1, len(months)):
            if months[k] <= months[k - 1]:
                raise ValueError(f"stages.{k}.from: expected a month after {self.stages[k - 1].from_month} (stages in "
                                 f"date order), got {self.stages[k].from_month}")
        return self
