"""Search configuration: YAML -> validated, frozen `SearchConfig` (boundaries validate)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from search_spaces.errors import UserError, unknown_choice

from .strategies.base import Objective

__all__ = ["SearchConfig", "Component", "load_config", "config_from_dict"]


@dataclass(frozen=True)
class Component:
    """A registered component by name with its options (space, strategy, evaluator)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search needs; `nas search` flags override fields of the YAML."""

    name: str = "run"
    seed: int = 0
    trials: int = 20
    workers: int = 1
    space: Component = Component("nb201")
    strategy: Component = Component("random")
    evaluator: Component = Component("tabular")
    objectives: tuple[Objective, ...] = (Objective("accuracy", "maximize"),)
    out: str = "results"
    address: str | None = None
    max_retries: int = 2

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["objectives"] = [dataclasses.asdict(o) for o in self.objectives]
        return data


_SCALARS = {"name": str, "seed": int, "trials": int, "workers": int, "out": str,
            "address": (str, type(None)), "max_retries": int}
_COMPONENTS = ("space", "strategy", "evaluator")


def _component(key: str, value: Any) -> Component:
    if isinstance(value, str):
        return Component(value)
    if not isinstance(value, Mapping) or "name" not in value:
        raise UserError(f"config {key!r} must be a name or a mapping with 'name' and 'options'")
    extra = set(value) - {"name", "options"}
    if extra:
        raise unknown_choice(f"key in config {key!r}", sorted(extra)[0], ["name", "options"])
    options = value.get("options") or {}
    if not isinstance(value["name"], str) or not isinstance(options, Mapping):
        raise UserError(f"config {key!r}: 'name' must be a string and 'options' a mapping")
    return Component(value["name"], dict(options))


def _objectives(value: Any) -> tuple[Objective, ...]:
    if not isinstance(value, list) or not value:
        raise UserError("config 'objectives' must be a non-empty list of "
                        "{name: ..., direction: maximize|minimize}")
    result = []
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping) or set(item) - {"name", "direction"} or "name" not in item:
            raise UserError(f"config objective {item!r} must have 'name' and optional "
                            "'direction' (maximize|minimize)")
        result.append(Objective(str(item["name"]), str(item.get("direction", "maximize"))))
    names = [o.name for o in result]
    if len(set(names)) != len(names):
        raise UserError(f"config 'objectives' repeats a name: {names}")
    return tuple(result)


def config_from_dict(data: Mapping[str, Any]) -> SearchConfig:
    """Validate a config mapping; unknown keys and wrong types raise `UserError`."""
    if not isinstance(data, Mapping):
        raise UserError("a config must be a YAML mapping of keys to values")
    fields = {f.name for f in dataclasses.fields(SearchConfig)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise unknown_choice("config key", key, fields)
        if key in _COMPONENTS:
            kwargs[key] = _component(key, value)
        elif key == "objectives":
            kwargs[key] = _objectives(value)
        elif isinstance(value, bool) or not isinstance(value, _SCALARS[key]):
            kind = _SCALARS[key]
            names = kind.__name__ if isinstance(kind, type) else "string or null"
            raise UserError(f"config key {key!r} must be {names}, got {value!r}")
        else:
            kwargs[key] = value
    config = SearchConfig(**kwargs)
    for key in ("trials", "workers"):
        if getattr(config, key) < 1:
            raise UserError(f"config key {key!r} must be at least 1, got {getattr(config, key)}")
    return config


def load_config(path: str | Path, **overrides: Any) -> SearchConfig:
    """Read a YAML config file and apply CLI overrides (None values are ignored)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"config file {str(path)!r} is not valid YAML: "
                        f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, Mapping):
        raise UserError(f"config file {str(path)!r} must hold a mapping of keys to values")
    data = dict(data)
    for key, value in overrides.items():
        if value is None:
            continue
        data[key] = {"name": value, "options": {}} if key in _COMPONENTS else value
    return config_from_dict(data)
