"""Loading instance files into validated :class:`~solver.schema.Instance` objects, with one-line errors."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from models.demand import demand_units
from solver.schema import LARGEST, Instance, Strict
from solver.timegrid import TimeGrid

ModelT = TypeVar("ModelT", bound=BaseModel)

INSTANCE_SUFFIXES = (".yaml", ".yml")


class InstanceError(ValueError):
    """An instance that cannot be used: the message is one line naming the file, the field path and the problem."""

    def __init__(self, message: str) -> None:
        # Messages quote the file's own keys and values: a newline or a lone surrogate in them would break the
        # one-line promise, or the print to a terminal.
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


# Instance files nest about five levels; a deeper file is a mistake or an attack (the composer recurses).
MAX_DEPTH = 50
# Merge keys (<<) copy entries: a chain of merges of merges grows exponentially (a "billion laughs").
MAX_MERGED_ENTRIES = 10_000
# A quoted value in a message is cut to this many characters.
MAX_QUOTED = 60
MERGE_TAG = "tag:yaml.org,2002:merge"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "..."


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML (no object construction from tags) that rejects duplicate keys instead of keeping the last,
    bounds nesting and merge expansion, and reads dates as text (the schema's months are ``YYYY-MM`` strings).

    Aliases are safe as they are: the constructor shares the anchored object instead of copying it, and the
    schema never walks into a value of the wrong type, so an alias bomb costs no more than its text."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._own_keys: dict[int, set[int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # The keys written in the mapping itself, before merged entries join them (they must be unique).
        own = self._own_keys.setdefault(id(node), {id(key) for key, _ in node.value if key.tag != MERGE_TAG})
        super().flatten_mapping(node)  # calls itself back for merged mappings, so each level is bounded
        # Only entries merged in count: a large file's own keys are bounded by its size. PyYAML from 6.0.4 drops
        # repeated merges of the same entry itself; this bound holds for the versions before it, and for merges
        # of many distinct entries on any version.
        if len(node.value) - len(own) > MAX_MERGED_ENTRIES:
            raise yaml.constructor.ConstructorError(
                None, None, f"merge keys (<<) expand to more than {MAX_MERGED_ENTRIES} entries", node.start_mark)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's constructors for explicit tags (!!int abc, !!map [1], !!timestamp x) raise plain Python errors.
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            what = _short(node.value) if isinstance(node, yaml.ScalarNode) else f"a {node.id}"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {what} as {node.tag} ({type(exc).__name__}: {exc})",
                node.start_mark) from None


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    own = loader._own_keys[id(node)]
    mapping: dict = {}
    written: set = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError as exc:  # an unhashable key such as a list
            raise yaml.constructor.ConstructorError(
                None, None, f"unusable key {_short(key)}", key_node.start_mark) from exc
        # A key written twice is an error; one merged in (<<) is overridden by the mapping's own, as YAML says.
        if id(key_node) in own:
            if key in written:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_short(key)}", key_node.start_mark)
            written.add(key)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


def _construct_text(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# 2026-02-30 or 2026-07-01 would otherwise fail in the date constructor or reach the schema as a date object.
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)

# pydantic puts the name of the union member it tried into the location; it is not a field of the file. Exact
# names or a bracket, which no valid key has: a prefix alone would drop a user's key such as "intel".
_UNION_MEMBERS = {"float", "int", "str", "constrained-float"}
_UNION_MEMBER_PREFIXES = ("dict[", "function-after[")
_PLAIN_KEY = re.compile(r"^[\w\-]+$")


def _field_path(loc: tuple) -> str:
    parts = []
    for p in loc:
        if isinstance(p, str) and (p in _UNION_MEMBERS or p.startswith(_UNION_MEMBER_PREFIXES)):
            continue
        text = str(p)
        parts.append(text if text == "[key]" or _PLAIN_KEY.match(text) else _short(text))  # quote odd keys
    return ".".join(parts) or "(top level)"


def _all_field_names() -> set[str]:
    """Every field name the schema knows, for "did you mean" suggestions."""
    return {name for schema_class in Strict.__subclasses__() for name in schema_class.model_fields}


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line: the file, the field path, what was expected and what was given.

    An unknown key is reported before anything else: a typo also makes the intended field look missing, and the
    typo is the cause."""
    # A union (a year schedule: a number or a mapping) reports each member's complaint; the one about a mapping
    # not being a number says nothing of the entry that is wrong in it, so it goes last.
    errors = sorted(error.errors(), key=lambda e: (e["type"] != "extra_forbidden",
                                                   isinstance(e.get("input"), dict | list)
                                                   and e["type"].endswith(("_type", "_parsing"))))
    first = errors[0]
    path = _field_path(first["loc"])
    given = first.get("input")
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        guess = difflib.get_close_matches(key, _all_field_names() - {key}, n=1)  # never the key itself
        message = "unknown field" + (f" (did you mean {guess[0]!r}?)" if guess else "")
    else:
        message = first["msg"].removeprefix("Value error, ")
    # Cross-field checks (a value error without a location) name their own paths.
    own_paths = not first["loc"] and first["type"] == "value_error"
    detail = f"{source}: {message}" if own_paths else f"{source}: {path}: {message}"
    if first["type"] not in ("value_error", "missing", "extra_forbidden") and not isinstance(given, dict | list):
        detail += f" (got {_short(given)})"
    others = len({_field_path(e["loc"]) for e in errors}) - 1
    if others > 0:
        detail += f" [and {others} more problem{'s' if others > 1 else ''}]"
    return detail


def parse_instance(data: Any, source: str = "<instance>") -> Instance:
    """Validate a parsed mapping into an :class:`Instance`; :class:`InstanceError` with one line otherwise."""
    if not isinstance(data, dict):
        raise InstanceError(f"{source}: (top level): expected a mapping of instance fields, got {type(data).__name__}")
    try:
        instance = Instance.model_validate(data)
    except ValidationError as exc:
        raise InstanceError(format_validation_error(exc, source)) from None
    _check_demand_size(instance, source)
    return instance


def _check_demand_size(instance: Instance, source: str) -> None:
    """Demand from a growth law is computed, not written: bound it as the schema bounds every written number."""
    grid = TimeGrid(instance.horizon)
    for workload, units in demand_units(instance, grid).items():
        peak = int(np.argmax(units))
        if not units[peak] <= LARGEST:
            raise InstanceError(f"{source}: demand.{workload}: expected demand of at most {LARGEST:.0e} "
                                f"{instance.demand.compute_unit}, got {units[peak]:.3g} in {grid.labels[peak]} "
                                "(a growth law this steep needs saturation_units or a shorter horizon)")


def read_yaml(text: str, source: str) -> Any:
    """Parse YAML text with the loader of instance files (safe, bounded, no duplicate keys, dates as text);
    :class:`InstanceError` naming ``source`` and the line otherwise. Sweep specs and ``--set`` values use it too."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InstanceError(f"{source}: (YAML) {where}{problem}") from None


def read_yaml_file(path: Path, what: str = "the file") -> Any:
    """Read and parse a YAML file (:func:`read_yaml`); :class:`InstanceError` naming it if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(f"{path}: cannot read {what}: {str(exc).splitlines()[0]}") from None
    return read_yaml(text, str(path))


def load_yaml_model(path: str | Path, model: type[ModelT], what: str) -> ModelT:
    """Read a YAML file of ``what`` (a sweep spec, a scenario tree) and validate it as ``model``;
    :class:`InstanceError` with one line naming the file and the field otherwise."""
    data = read_yaml_file(Path(path), f"the {what}")
    if not isinstance(data, dict):
        raise InstanceError(f"{path}: (top level): expected a mapping of {what} fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InstanceError(format_validation_error(exc, str(path))) from None


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file (YAML)."""
    path = Path(path)
    return parse_instance(read_yaml_file(path), str(path))


def with_changes(instance: Instance, changes: dict[str, Any]) -> Instance:
    """A copy of ``instance`` with fields replaced by dotted path (``"terrestrial.sites.texas.lead_time_months"``),
    validated again like a file."""
    data = instance.model_dump(exclude_unset=False)
    for path, value in changes.items():
        keys = path.split(".")
        target = data
        for key in keys[:-1]:
            if not isinstance(target, dict) or key not in target:
                raise InstanceError(f"{instance.name}: {path}: no such field")
            target = target[key]
        if not isinstance(target, dict) or keys[-1] not in target:
            raise InstanceError(f"{instance.name}: {path}: no such field")
        target[keys[-1]] = copy.deepcopy(value)
    return parse_instance(data, f"{instance.name} (changed: {', '.join(changes)})")


def instance_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, with every instance file (``*.yaml``, ``*.yml``) directly inside a named directory."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix in INSTANCE_SUFFIXES and f.is_file()))
        else:
            files.append(p)
    return files
