"""Parameters of a what-if: a path into the instance, set to a value or scaled by a factor, over a range or a law.

A parameter names a field by its dotted path in the instance, as in the file
(``orbital.launch_vehicles.starship.launch_price_usd_per_kg``). Two kinds:

* ``set``: the field takes the value (a number; a year schedule or month series given as one number becomes that
  constant);
* ``scale``: every number under the path is multiplied by the value: ``demand.training.growth_law.initial_units``
  scales a number, ``hyperscaler_contracts.amazon.ramp_mw`` scales the whole ramp, ``demand`` scales both
  workloads' series. Keys (months, years) are never scaled.

Written on the command line as ``PATH=LOW:HIGH`` (set) or ``PATH*=LOW:HIGH`` (scale). A sweep draws values from a
distribution (:data:`DISTRIBUTIONS`, scipy.stats). Paths are checked against the instance before any solve: a
missing field, a non-numeric target or an endpoint that makes the instance invalid is an :class:`InstanceError`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

from solver.instance import InstanceError, parse_instance
from solver.schema import MONTH_PATTERN, Instance, month_index

# name -> (the fields it takes, how to freeze it in scipy.stats)
DISTRIBUTIONS = {
    "uniform": (("low", "high"), lambda p: stats.uniform(loc=p["low"], scale=p["high"] - p["low"])),
    "triangular": (("low", "mode", "high"), lambda p: stats.triang(
        c=(p["mode"] - p["low"]) / (p["high"] - p["low"]), loc=p["low"], scale=p["high"] - p["low"])),
    "normal": (("mean", "sd"), lambda p: stats.norm(loc=p["mean"], scale=p["sd"])),
    "lognormal": (("median", "sigma"), lambda p: stats.lognorm(s=p["sigma"], scale=p["median"])),
}


@dataclass(frozen=True)
class Parameter:
    """One input of a what-if: ``path`` set to (or, if ``scale``, multiplied by) a value between ``low`` and ``high``.

    ``distribution`` and ``args`` say how a sweep draws it; without one it is uniform on ``[low, high]``.
    """

    path: str
    low: float
    high: float
    scale: bool = False
    distribution: str = "uniform"
    args: tuple[tuple[str, float], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.path}{' (x)' if self.scale else ''}"

    def frozen(self):
        """The scipy.stats distribution a sweep draws this parameter from."""
        fields, make = DISTRIBUTIONS[self.distribution]
        given = dict(self.args) if self.args else {"low": self.low, "high": self.high}
        return make({name: given[name] for name in fields})

    def values_to_check(self) -> tuple[float, ...]:
        """The values validated before any solve: both ends of a bounded law, the median of an unbounded one (its
        tails may well reach values the schema rejects, such as a negative price; such points are recorded as
        invalid when drawn)."""
        if self.distribution in ("uniform", "triangular"):
            return (self.low, self.high)
        return (float(self.frozen().median()),)

    def change(self, instance_data: dict, value: float) -> Any:
        """The new content of the field at ``path`` in ``instance_data`` (a dump of the instance) for ``value``."""
        current = get_path(instance_data, self.path)
        if self.scale:
            return scaled(current, value)
        if isinstance(current, dict) and current and all(isinstance(k, str) and MONTH_PATTERN.match(k)
                                                         for k in current):
            # A month series set to one number: that value from its first month on (a bare number is no series).
            return {min(current, key=month_index): float(value)}
        return float(value)


def parse_param(text: str) -> Parameter:
    """``PATH=LOW:HIGH`` (set) or ``PATH*=LOW:HIGH`` (scale), as on the command line."""
    path, sep, span = text.partition("=")
    if not sep:
        raise InstanceError(f"--param {text!r}: expected PATH=LOW:HIGH or PATH*=LOW:HIGH")
    scale = path.endswith("*")
    path = path.removesuffix("*").strip()
    low, sep, high = span.partition(":")
    try:
        low_value, high_value = float(low), float(high)
    except ValueError:
        raise InstanceError(f"--param {text!r}: expected two numbers LOW:HIGH after '='") from None
    if not sep or not path:
        raise InstanceError(f"--param {text!r}: expected PATH=LOW:HIGH or PATH*=LOW:HIGH")
    return Parameter(path=path, low=low_value, high=high_value, scale=scale)


def apply(instance: Instance, values: dict[Parameter, float], fixed: dict[str, Any] | None = None,
          source: str | None = None) -> Instance:
    """A validated copy of ``instance`` with ``fixed`` changes (path -> content) and each parameter at its value."""
    data = instance.model_dump()
    for path, content in (fixed or {}).items():
        set_path(data, path, copy.deepcopy(content), instance.name)
    for parameter, value in values.items():
        set_path(data, parameter.path, parameter.change(data, value), instance.name)
    described = ", ".join(f"{p.label}={v:g}" for p, v in values.items())
    return parse_instance(data, source or f"{instance.name} ({described or 'fixed changes'})")


def check(instance: Instance, parameters: list[Parameter], fixed: dict[str, Any] | None = None) -> None:
    """Raise :class:`InstanceError` (one line) unless every path exists and holds numbers, and the instance is
    valid with each parameter at each of its :meth:`~Parameter.values_to_check` (the others at their middle).

    Run before any solve, so a typo costs nothing."""
    data = instance.model_dump()
    for path in fixed or {}:
        get_path(data, path, instance.name)
    for parameter in parameters:
        target = get_path(data, parameter.path, instance.name)
        if not parameter.scale and not isinstance(target, int | float | dict | type(None)):
            raise InstanceError(f"{instance.name}: {parameter.path}: a set parameter needs a numeric field "
                                f"(use {parameter.path}*=... to scale what is under it)")
        if parameter.scale and not _has_numbers(target):
            raise InstanceError(f"{instance.name}: {parameter.path}: no numbers under this path to scale")
        if not (math.isfinite(parameter.low) and math.isfinite(parameter.high)) or parameter.low > parameter.high:
            raise InstanceError(f"{instance.name}: {parameter.label}: expected finite LOW <= HIGH "
                                f"(got {parameter.low:g}:{parameter.high:g})")
        if parameter.distribution not in DISTRIBUTIONS:
            raise InstanceError(f"{parameter.label}: unknown distribution {parameter.distribution!r} "
                                f"(expected one of {', '.join(DISTRIBUTIONS)})")
    middle = {p: float(p.frozen().median()) for p in parameters}
    for parameter in parameters:
        for end in parameter.values_to_check():
            apply(instance, middle | {parameter: end}, fixed,
                  source=f"{instance.name} with {parameter.label}={end:g}")


def get_path(data: dict, path: str, name: str = "instance") -> Any:
    """The content at a dotted ``path`` of an instance dump; :class:`InstanceError` naming the path if absent."""
    target: Any = data
    walked = []
    for key in path.split("."):
        if not isinstance(target, dict) or key not in target:
            known = sorted(map(str, target)) if isinstance(target, dict) else []
            where = ".".join(walked) or "(top level)"
            hint = f" (known under {where}: {', '.join(known)})" if known else ""
            raise InstanceError(f"{name}: {path}: no field {key!r}{hint}")
        walked.append(key)
        target = target[key]
    return target


def set_path(data: dict, path: str, content: Any, name: str = "instance") -> None:
    """Replace the content at an existing dotted ``path`` of an instance dump."""
    parent, _, last = path.rpartition(".")
    container = get_path(data, parent, name) if parent else data
    get_path(container, last, name)  # must exist: a sweep never invents fields
    container[last] = content


def scaled(content: Any, factor: float) -> Any:
    """Every number under ``content`` times ``factor`` (keys, dates and flags kept)."""
    if isinstance(content, bool):
        return content
    if isinstance(content, int | float):
        return content * factor
    if isinstance(content, dict):
        return {key: scaled(value, factor) for key, value in content.items()}
    if isinstance(content, list):
        return [scaled(value, factor) for value in content]
    return content  # dates, names


def _has_numbers(content: Any) -> bool:
    if isinstance(content, bool):
        return False
    if isinstance(content, int | float):
        return True
    if isinstance(content, dict):
        return any(_has_numbers(v) for v in content.values())
    if isinstance(content, list):
        return any(_has_numbers(v) for v in content)
    return False
