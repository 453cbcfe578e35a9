"""What export and the dashboard need from a run folder, read without importing torch.

The fields used here (name, space, objectives, constraints) are parsed by the same
functions `nas search` uses (`nas.run.config`, `nas.pareto.constraints`; neither imports torch), so
a run folder means the same thing to the search, export and the dashboard. Keys this
version does not use, or does not know (added by newer versions), are not read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

import numpy as np

from nas.pareto.constraints import Constraint, parse_constraints
from nas.pareto.fronts import front_summary
from nas.pareto.reference import derive_reference, run_reference
from nas.run.code_shipping import user_code
from nas.run.config import SearchConfig, parse_component, parse_objectives, parse_reference
from search_spaces.errors import UserError
from search_spaces.user_code import add_import_paths

from .trial_log import RunStore

__all__ = ["RunInfo", "read_run_info", "metric_value", "complete_records",
           "feasible_records", "front_trial_ids", "run_front", "describe_ids"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class RunInfo:
    """The parts of a run's config.yaml that export and the dashboard use."""

    dir: Path
    name: str
    space: str
    space_options: dict[str, Any]
    objectives: tuple[tuple[str, str], ...]  # (metric name, maximize|minimize)
    constraints: tuple[Constraint, ...] = ()
    #: the run's hypervolume reference (config or stored); None: derive it from the log
    reference: tuple[float, ...] | None = None

    @property
    def objective_names(self) -> list[str]:
        return [name for name, _ in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [direction for _, direction in self.objectives]


def _field(data: Mapping[str, Any], key: str, parse: Callable[[Any], _T], default: _T,
           where: str) -> _T:
    """`parse(data[key])`, its error prefixed with the file it came from; `default` (the
    `SearchConfig` default) when the key is absent."""
    if key not in data:
        return default
    try:
        return parse(data[key])
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


def _find_user_code(data: Mapping[str, Any]) -> None:
    """Put the folders of the run's own modules (a "module:Class" space, ...) on the
    import path, as the search did, so export and the dashboard build its networks."""
    try:
        code = user_code(data)
    except UserError:  # moved or deleted since: importing the module names what is missing
        return
    if code is not None:
        add_import_paths(code.import_paths())


def read_run_info(run_dir: str | Path) -> RunInfo:
    """Open `run_dir` (UserError if it is not a run folder) and read its config."""
    store = RunStore.open(run_dir)
    data = store.config()
    where = str(store.dir / "config.yaml")
    space = _field(data, "space", lambda v: parse_component("space", v), SearchConfig.space,
                   where)
    objectives = _field(data, "objectives", parse_objectives, SearchConfig.objectives, where)
    constraints = _field(data, "constraints", parse_constraints, SearchConfig.constraints,
                         where)
    configured = _field(data, "reference", lambda v: parse_reference(v, objectives), None,
                        where)
    reference = run_reference(store.dir, [o.name for o in objectives], configured)
    _find_user_code(data)
    return RunInfo(store.dir, str(data.get("name", store.dir.name)), space.name,
                   space.options, tuple((o.name, o.direction) for o in objectives),
                   constraints, tuple(reference) if reference is not None else None)


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


def run_front(records: Sequence[Mapping[str, Any]], info: RunInfo) -> dict[str, Any]:
    """{"front_trial_ids", "hypervolume", "reference"} of the feasible trials with finite
    objective values, against the run's reference (`nas.pareto.reference`: config, stored, or
    derived from the log in order by the same rule), as `nas status` reports them."""
    done = feasible_records(records, info.constraints)
    values = np.array([[metric_value(r, n) for n in info.objective_names] for r in done],
                      dtype=float).reshape(-1, len(info.objectives))
    finite = np.all(np.isfinite(values), axis=1)
    reference = info.reference if info.reference is not None else derive_reference(
        values[finite], info.directions)
    if reference is None:
        return {"front_trial_ids": [], "hypervolume": 0.0, "reference": None}
    summary = front_summary(values, info.directions, reference)
    return {"front_trial_ids": sorted(int(done[i]["trial_id"])
                                      for i in summary["front_indices"]),
            "hypervolume": summary["hypervolume"], "reference": summary["reference"]}


def front_trial_ids(records: Sequence[Mapping[str, Any]], info: RunInfo) -> list[int]:
    """Trial ids on the feasible Pareto front of the configured objectives (finite values
    only)."""
    return run_front(records, info)["front_trial_ids"]


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
