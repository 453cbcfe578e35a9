"""What export and the dashboard need from a run folder, read without importing torch.

`nas.config` pulls in the strategies and through them torch (~200 MB resident); the
dashboard server must stay small, so this module reads config.yaml itself and validates
only the fields it uses: name, space (+ options), objectives and optional constraints.
Keys this version does not know (added by newer versions) are ignored, not refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from search_spaces.errors import UserError

from .pareto import front_summary
from .store import RunStore

__all__ = ["RunInfo", "Constraint", "read_run_info", "metric_value", "complete_records",
           "feasible_records", "front_trial_ids", "describe_ids"]

DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class Constraint:
    """A feasibility bound on one metric: `min <= value <= max` (either side optional)."""

    name: str
    min: float | None = None
    max: float | None = None

    def ok(self, value: float | np.ndarray) -> bool | np.ndarray:
        """Whether `value` (a number or an array, elementwise) is finite and within the
        bounds; NaN (a missing metric) never is, as the driver treats it."""
        value = np.asarray(value, dtype=float)
        good = np.isfinite(value)
        if self.min is not None:
            good &= value >= self.min
        if self.max is not None:
            good &= value <= self.max
        return good


@dataclass(frozen=True)
class RunInfo:
    """The parts of a run's config.yaml that export and the dashboard use."""

    dir: Path
    name: str
    space: str
    space_options: dict[str, Any]
    objectives: tuple[tuple[str, str], ...]  # (metric name, maximize|minimize)
    constraints: tuple[Constraint, ...] = ()

    @property
    def objective_names(self) -> list[str]:
        return [name for name, _ in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [direction for _, direction in self.objectives]


def _objectives(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return (("accuracy", "maximize"),)  # the SearchConfig default
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: 'objectives' must be a non-empty list")
    result = []
    for item in value:
        item = {"name": item} if isinstance(item, str) else item
        direction = item.get("direction", "maximize") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or "name" not in item or direction not in DIRECTIONS:
            raise UserError(f"{where}: objective {item!r} needs a 'name' and a direction "
                            "maximize|minimize")
        result.append((str(item["name"]), direction))
    return tuple(result)


def _bound(item: Mapping[str, Any], key: str, where: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{where}: constraint {item.get('name')!r} {key} must be a number, "
                        f"got {value!r}")
    return float(value)


def _constraints(value: Any, where: str) -> tuple[Constraint, ...]:
    """A list of {name, min?, max?}, or a mapping name -> {min?, max?} or name -> max."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = [{"name": k, **(v if isinstance(v, Mapping) else {"max": v})}
                 for k, v in value.items()]
    if not isinstance(value, list):
        raise UserError(f"{where}: 'constraints' must be a list of {{name, min, max}}")
    result = []
    for item in value:
        if not isinstance(item, Mapping) or "name" not in item or set(item) - {"name", "min",
                                                                                "max"}:
            raise UserError(f"{where}: constraint {item!r} must be {{name, min?, max?}}")
        result.append(Constraint(str(item["name"]), _bound(item, "min", where),
                                 _bound(item, "max", where)))
    return tuple(result)


def _space(value: Any, where: str) -> tuple[str, dict[str, Any]]:
    if value is None:
        return "nb201", {}
    if isinstance(value, str):
        return value, {}
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise UserError(f"{where}: 'space' must be a name or {{name, options}}")
    options = value.get("options") or {}
    if not isinstance(options, Mapping):
        raise UserError(f"{where}: space 'options' must be a mapping")
    return value["name"], dict(options)


def read_run_info(run_dir: str | Path) -> RunInfo:
    """Open `run_dir` (UserError if it is not a run folder) and read its config."""
    store = RunStore.open(run_dir)
    data = store.config()
    where = str(store.dir / "config.yaml")
    space, options = _space(data.get("space"), where)
    return RunInfo(store.dir, str(data.get("name", store.dir.name)), space, options,
                   _objectives(data.get("objectives"), where),
                   _constraints(data.get("constraints"), where))


def metric_value(record: Mapping[str, Any], name: str) -> float:
    """An objective or cost value of a trial record by name (NaN when absent)."""
    metrics = record.get("metrics") or {}
    value = (metrics.get("objectives") or {}).get(name)
    if value is None:
        value = (metrics.get("cost") or {}).get(name)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def complete_records(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if (r.get("metrics") or {}).get("status") == "complete"]


def feasible_records(records: Sequence[Mapping[str, Any]],
                     constraints: Sequence[Constraint]) -> list[Mapping[str, Any]]:
    """Complete records whose metrics meet every constraint (a missing value does not).

    The driver marks violators "infeasible" as they finish, but a log may hold complete
    records that break the config's constraints (written by an older version, imported,
    or generated), so the front is filtered here too, as `pareto.json`'s is.
    """
    return [r for r in complete_records(records)
            if all(c.ok(metric_value(r, c.name)) for c in constraints)]


def front_trial_ids(records: Sequence[Mapping[str, Any]], info: RunInfo) -> list[int]:
    """Trial ids on the feasible Pareto front of the configured objectives (finite values
    only)."""
    done = feasible_records(records, info.constraints)
    if not done:
        return []
    values = np.array([[metric_value(r, n) for n in info.objective_names] for r in done])
    summary = front_summary(values, info.directions)
    return sorted(int(done[i]["trial_id"]) for i in summary["front_indices"])


def describe_ids(ids: Sequence[int]) -> str:
    """Compact ranges, e.g. '0..23, 30, 32..35'."""
    ids = sorted(set(int(i) for i in ids))
    parts, start = [], None
    for i, value in enumerate(ids):
        if start is None:
            start = value
        if i + 1 == len(ids) or ids[i + 1] != value + 1:
            parts.append(str(start) if start == value else f"{start}..{value}")
            start = None
    text = ", ".join(parts[:8])
    return text + (f", ... ({len(ids)} ids)" if len(parts) > 8 else "")
