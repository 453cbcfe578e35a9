"""The run's one hypervolume reference point: the config's, or derived once from the first
`REFERENCE_AFTER` feasible trials in log order and stored in the run folder.

A hypervolume is only comparable when its reference never moves (Zitzler et al. 2003,
IEEE TEVC 7(2), Sec. V), so `nas search`, `nas status`, pareto.json, the dashboard and
`nas export --pareto` all read it from here. A run folder written before the reference
was stored derives it by the same rule from its trial log.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from search_spaces.errors import UserError

from .fronts import front_summary

__all__ = ["REFERENCE_AFTER", "REFERENCE_FILE", "derive_reference", "read_reference",
           "write_reference", "run_reference"]

REFERENCE_AFTER = 10
REFERENCE_FILE = "reference.json"


def derive_reference(feasible: np.ndarray, directions: Sequence[str]) -> list[float] | None:
    """From (n, m) feasible objective rows in log order: the first `REFERENCE_AFTER`
    rows' worst value per objective moved outwards by 10% of the range (all rows while
    fewer, then provisional); None without rows."""
    rows = np.asarray(feasible, dtype=float).reshape(-1, len(directions))[:REFERENCE_AFTER]
    return front_summary(rows, directions)["reference"] if len(rows) else None


def read_reference(run_dir: str | Path, objectives: Sequence[str]) -> list[float] | None:
    """The reference stored in `run_dir`, or None when none is stored (yet)."""
    path = Path(run_dir) / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        reference = [float(v) for v in data["reference"]]
        names = list(data["objectives"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path} is not a reference file; delete it to derive the reference "
                        "again from the trial log") from None
    if names != list(objectives) or len(reference) != len(names):
        raise UserError(f"{path} is for objectives {names}, the run has {list(objectives)}")
    return reference


def write_reference(run_dir: str | Path, objectives: Sequence[str], directions: Sequence[str],
                    reference: Sequence[float], source: str) -> None:
    """Store the fixed reference (atomically: a reader sees the old file or the new)."""
    path = Path(run_dir) / REFERENCE_FILE
    data: dict[str, Any] = {"objectives": list(objectives), "directions": list(directions),
                            "reference": [float(v) for v in reference], "source": source}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def run_reference(run_dir: str | Path, objectives: Sequence[str],
                  configured: Sequence[float] | None) -> list[float] | None:
    """The config's reference, else the stored one, else None (derive from the log)."""
    if configured is not None:
        return list(configured)
    return read_reference(run_dir, objectives)
