"""Loading instance files into validated :class:`~solver.schema.Instance` objects, with one-line errors."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from solver.schema import Instance, Strict

INSTANCE_SUFFIXES = (".yaml", ".yml")


class InstanceError(ValueError):
    """An instance that cannot be used: the message is one line naming the file, the field path and the problem."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML (no object construction from tags) that rejects duplicate keys instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in mapping
        except TypeError as exc:  # an unhashable key such as a list
            raise yaml.constructor.ConstructorError(
                None, None, f"unusable key {key!r}", key_node.start_mark) from exc
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# pydantic puts the name of the union member it tried into the location; it is not a field of the file.
_UNION_MEMBERS = ("float", "int", "dict[", "constrained-float", "function-after[", "str")


def _field_path(loc: tuple) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith(_UNION_MEMBERS))]
    return ".".join(parts) or "(top level)"


def _all_field_names() -> set[str]:
    """Every field name the schema knows, for "did you mean" suggestions."""
    return {name for schema_class in Strict.__subclasses__() for name in schema_class.model_fields}


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line: the file, the field path, what was expected and what was given.

    An unknown key is reported before anything else: a typo also makes the intended field look missing, and the
    typo is the cause."""
    errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    path = _field_path(first["loc"])
    given = first.get("input")
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        guess = difflib.get_close_matches(key, _all_field_names(), n=1)
        message = "unknown field" + (f" (did you mean {guess[0]!r}?)" if guess else "")
    else:
        message = first["msg"].removeprefix("Value error, ")
    # Cross-field checks (no location) name their own paths.
    detail = f"{source}: {path}: {message}" if first["loc"] else f"{source}: {message}"
    if first["type"] not in ("value_error", "missing", "extra_forbidden") and not isinstance(given, dict | list):
        detail += f" (got {given!r})"
    others = len({_field_path(e["loc"]) for e in errors}) - 1
    if others > 0:
        detail += f" [and {others} more problem{'s' if others > 1 else ''}]"
    return detail


def parse_instance(data: Any, source: str = "<instance>") -> Instance:
    """Validate a parsed mapping into an :class:`Instance`; :class:`InstanceError` with one line otherwise."""
    if not isinstance(data, dict):
        raise InstanceError(f"{source}: (top level): expected a mapping of instance fields, got {type(data).__name__}")
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise InstanceError(format_validation_error(exc, source)) from None


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file (YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(f"{path}: cannot read the file: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InstanceError(f"{path}: (YAML) {where}{problem}") from None
    return parse_instance(data, str(path))


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
