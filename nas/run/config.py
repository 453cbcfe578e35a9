"""Search configuration: YAML -> validated, frozen `SearchConfig` (boundaries validate)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from nas.pareto.constraints import Constraint, as_number, parse_constraints
from nas.strategies.base import Objective
from nas.store.yaml_input import load_yaml
from search_spaces.errors import UserError, unknown_choice

from .ray_runtime import check_address

__all__ = ["SearchConfig", "Component", "Resources", "load_config", "config_from_dict",
           "parse_component", "parse_objectives", "parse_reference", "apply_overrides"]


@dataclass(frozen=True)
class Component:
    """A registered component by name with its options (space, strategy, evaluator)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resources:
    """Ray resources one trial reserves (fractional GPUs share a device between trials)."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0

    def __post_init__(self) -> None:
        for key in ("num_cpus", "num_gpus"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise UserError(f"config resources.{key} must be a number >= 0, got {value!r}")
        if self.num_cpus == 0 and self.num_gpus == 0:
            raise UserError("config resources: a trial needs num_cpus or num_gpus above 0")


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search needs; `nas search` flags override fields of the YAML."""

    name: str = "run"
    seed: int = 0
    trials: int = 20
    #: concurrent trials; "auto" = every CPU of the (local or --address) cluster
    workers: int | str = 1
    space: Component = Component("nb201")
    strategy: Component = Component("bo")
    evaluator: Component = Component("tabular")
    objectives: tuple[Objective, ...] = (Objective("accuracy", "maximize"),)
    constraints: tuple[Constraint, ...] = ()
    #: hypervolume reference point, one value per objective (None: derived once, then fixed)
    reference: tuple[float, ...] | None = None
    resources: Resources = Resources()
    out: str = "results"
    address: str | None = None
    #: times a trial whose worker process or node died is run again before it is failed
    max_retries: int = 2
    trial_timeout_s: float | None = None
    #: trials asked beyond the running ones: "auto" adapts to the ask and trial times
    #: (nas.run.pacing), an int fixes it
    ask_ahead: int | str = "auto"
    #: the user's modules/folders shipped to workers as Ray py_modules (nas.run.code_shipping)
    code: tuple[str, ...] = ()
    #: folder of the user's modules, shipped as Ray working_dir (default, when `code` is not
    #: given: the config file's folder)
    workdir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["objectives"] = [dataclasses.asdict(o) for o in self.objectives]
        data["constraints"] = {c.name: c.to_dict() for c in self.constraints}
        data["reference"] = list(self.reference) if self.reference is not None else None
        data["code"] = list(self.code)
        return data


_SCALARS = {"name": str, "seed": int, "trials": int, "workers": (int, str), "out": str,
            "address": (str, type(None)), "max_retries": int, "ask_ahead": (int, str),
            "trial_timeout_s": (int, float, type(None)), "workdir": (str, type(None))}
_COMPONENTS = ("space", "strategy", "evaluator")


def parse_component(key: str, value: Any) -> Component:
    """A component given as a name or as {name, options}."""
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


def parse_objectives(value: Any) -> tuple[Objective, ...]:
    """A non-empty list of names or {name, direction} mappings, names unique."""
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


def parse_reference(value: Any, objectives: tuple[Objective, ...]) -> tuple[float, ...] | None:
    """A list (objective order) or a mapping objective -> value; finite numbers."""
    if value is None:
        return None
    names = [o.name for o in objectives]
    if isinstance(value, Mapping):
        if set(value) != set(names):
            raise UserError(f"config 'reference' must give a value for each objective {names}, "
                            f"got {sorted(value)}")
        value = [value[n] for n in names]
    numbers = [as_number(v) for v in value] if isinstance(value, list) else []
    if len(numbers) != len(names) or None in numbers:
        raise UserError(f"config 'reference' must be {len(names)} finite number(s), one per "
                        f"objective {names}, got {value!r}")
    return tuple(numbers)


def _resources(value: Any) -> Resources:
    if not isinstance(value, Mapping) or set(value) - {"num_cpus", "num_gpus"}:
        raise UserError("config 'resources' must be a mapping with num_cpus and/or num_gpus, "
                        f"e.g. {{num_cpus: 1, num_gpus: 0.25}}, got {value!r}")
    return Resources(**value)


def _code(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise UserError("config 'code' must be a list of paths to .py files or folders "
                        f"(relative to the config file), got {value!r}")
    return tuple(value)


def _relative_to(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """`code` entries and `workdir` of a config file resolved against its folder."""
    if isinstance(data.get("code"), (str, list, tuple)):
        entries = [data["code"]] if isinstance(data["code"], str) else data["code"]
        data["code"] = [str((folder / c).resolve()) if isinstance(c, str) else c
                        for c in entries]
    workdir = data.get("workdir")
    if isinstance(workdir, str):
        data["workdir"] = str((folder / workdir).resolve())
    elif "code" not in data:  # the user's modules sit next to the config file
        data["workdir"] = str(folder.resolve())
    return data


def _check_name(name: str) -> None:
    """The run's folder name under `out` and its Optuna study name: one path part."""
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise UserError(f"config key 'name' must be a folder name (no '/', '\\' or NUL, not "
                        f"empty, '.' or '..'), got {name!r}")


def _check(config: SearchConfig) -> None:
    _check_name(config.name)
    for key in ("trials",):
        if getattr(config, key) < 1:
            raise UserError(f"config key {key!r} must be at least 1, got {getattr(config, key)}")
    if not 0 <= config.seed < 2 ** 63:
        raise UserError(f"config key 'seed' must be between 0 and 2**63 - 1, got {config.seed}")
    if config.address is not None:
        check_address(config.address)
    if isinstance(config.workers, str) and config.workers != "auto":
        raise UserError(f"config key 'workers' must be int or 'auto', got {config.workers!r}")
    if isinstance(config.workers, int) and config.workers < 1:
        raise UserError(f"config key 'workers' must be at least 1 (or 'auto'), got "
                        f"{config.workers}")
    if config.ask_ahead != "auto" and not (isinstance(config.ask_ahead, int)
                                           and config.ask_ahead >= 0):
        raise UserError(f"config key 'ask_ahead' must be 'auto' or an int >= 0, got "
                        f"{config.ask_ahead!r}")
    if config.max_retries < 0:
        raise UserError(f"config key 'max_retries' must be >= 0, got {config.max_retries}")
    if config.trial_timeout_s is not None and not 0 < config.trial_timeout_s < math.inf:
        raise UserError(f"config key 'trial_timeout_s' must be a finite number above 0, got "
                        f"{config.trial_timeout_s}")


_TYPE_NAMES = {int: "int", str: "string", float: "number", type(None): "null"}


def _type_names(kind: type | tuple[type, ...]) -> str:
    """'int', 'int or string', 'number or null' ... for an isinstance spec."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:  # an int is a number
        kinds = tuple(k for k in kinds if k is not int)
    names = dict.fromkeys(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
    return " or ".join(names)


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
            kwargs[key] = parse_component(key, value)
        elif key == "objectives":
            kwargs[key] = parse_objectives(value)
        elif key == "constraints":
            kwargs[key] = parse_constraints(value)
        elif key == "resources":
            kwargs[key] = _resources(value)
        elif key == "code":
            kwargs[key] = _code(value)
        elif key == "reference":
            continue  # needs the objectives: read below
        elif isinstance(value, bool) or not isinstance(value, _SCALARS[key]):
            names = _type_names(_SCALARS[key])
            raise UserError(f"config key {key!r} must be {names}, got {value!r}")
        else:
            kwargs[key] = float(value) if key == "trial_timeout_s" and value is not None else value
    objectives = kwargs.get("objectives", SearchConfig.objectives)
    kwargs["reference"] = parse_reference(data.get("reference"), objectives)
    config = SearchConfig(**kwargs)
    _check(config)
    return config


def load_config(path: str | Path, **overrides: Any) -> SearchConfig:
    """Read a YAML config file and apply CLI overrides (None values are ignored)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"config file {str(path)!r} is a folder; pass a YAML file such as "
                        "configs/quickstart.yaml")
    if not path.is_file():
        raise UserError(f"config file {str(path)!r} does not exist")
    data = load_yaml(path.read_text(), f"config file {str(path)!r}")
    if data is None:
        raise UserError(f"config file {str(path)!r} is empty; see configs/quickstart.yaml")
    if not isinstance(data, Mapping):
        raise UserError(f"config file {str(path)!r} must hold a mapping of keys to values")
    return config_from_dict(apply_overrides(_relative_to(path.parent, dict(data)), overrides))


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with the non-None `overrides`; a component given as a bare name replaces the
    config's with no options."""
    data = dict(data)
    for key, value in overrides.items():
        if value is None:
            continue
        data[key] = {"name": value, "options": {}} if key in _COMPONENTS and \
            isinstance(value, str) else value
    return data
