"""In-memory view of a run's finished trials: counts, cache, Pareto front, flushing.

Only complete trials with finite objectives reach the front; infeasible trials are stored
and counted but kept off it. Every per-trial update is O(front size); the derived files
(pareto.json, trials.parquet, study.db) are rewritten at most every few seconds, and less
often when rewriting them gets slow, so their cost per trial stays small at any run size.
"""
from __future__ import annotations

import math
import time
from typing import Any, Mapping, Sequence

import numpy as np

from nas.pareto.reference import REFERENCE_AFTER, REFERENCE_FILE, write_reference
from nas.pareto.tracker import FrontTracker
from nas.strategies.base import Objective
from search_spaces.space import Space
from trainers.metrics import COMPLETE, FAILED, INFEASIBLE, PRUNED, SETUP_TIMINGS

from .optuna_mirror import mirror_to_optuna
from .trial_log import flat_record

__all__ = ["ResultsView", "objective_matrix", "objective_values"]

FLUSH_EVERY_S = 2.0
FLUSH_MAX_SHARE = 0.05  # derived files may take at most this share of the driver's time


def objective_values(record: Mapping[str, Any],
                     objectives: Sequence[Objective]) -> list[float] | None:
    """Objective values of a complete trial with finite values, else None."""
    metrics = record["metrics"]
    if metrics["status"] != COMPLETE:
        return None
    merged = {**metrics["cost"], **metrics["objectives"]}
    row = [float(merged.get(o.name, math.nan)) for o in objectives]
    return row if all(math.isfinite(v) for v in row) else None


def objective_matrix(records: Sequence[Mapping[str, Any]],
                     objectives: Sequence[Objective]) -> tuple[np.ndarray, list[int]]:
    """(n, m) objective values of the complete trials with finite values, and their ids."""
    rows, ids = [], []
    for record in records:
        row = objective_values(record, objectives)
        if row is not None:
            rows.append(row)
            ids.append(record["trial_id"])
    return np.asarray(rows, dtype=float).reshape(-1, len(objectives)), ids


def _ran_for(record: Mapping[str, Any]) -> float | None:
    """Seconds a trial ran, less its worker's one-time set-up (`SETUP_TIMINGS`); 0 when
    answered from the cache, None when not known."""
    if record.get("cached"):
        return 0.0
    timings = record["metrics"].get("timings") or {}
    try:
        ran = float(record["finished"]) - float(record["started"])
        return ran - sum(float(timings.get(k, 0.0)) for k in SETUP_TIMINGS)
    except (KeyError, TypeError, ValueError):
        return None


class ResultsView:
    """Finished trials of one run, with what progress, status and the store derive."""

    def __init__(self, objectives: Sequence[Objective], space: Space | None,
                 reference: Sequence[float] | None = None) -> None:
        self.objectives, self.space = list(objectives), space
        self.records: list[dict[str, Any]] = []
        self._rows: list[dict[str, Any]] = []  # records flattened (at flush), for trials.parquet
        self._by_id: dict[int, dict[str, Any]] = {}
        self._by_key: dict[str, dict[str, Any]] = {}
        self.counts = {COMPLETE: 0, FAILED: 0, INFEASIBLE: 0, PRUNED: 0, "cached": 0}
        self.front = FrontTracker([o.direction for o in self.objectives], reference)
        self.best: float | None = None
        self._next_flush = time.monotonic() + FLUSH_EVERY_S
        self._mirrored: int | None = None

    @property
    def n_finished(self) -> int:
        return len(self.records)

    @property
    def n_failed(self) -> int:
        return self.counts[FAILED]

    def add(self, record: dict[str, Any]) -> float | None:
        """Take one finished trial; sets and returns record["hypervolume"] (None until the
        reference point is fixed)."""
        status = record["metrics"]["status"]
        self.records.append(record)
        self._by_id[record["trial_id"]] = record
        self.counts[status] = self.counts.get(status, 0) + 1
        self.counts["cached"] += bool(record.get("cached"))
        if status in (COMPLETE, INFEASIBLE, PRUNED):  # verdicts: a repeat is answered from here
            self._by_key.setdefault(record["key"], {k: record[k] for k in
                                                    ("metrics", "worker", "started", "finished")})
        values = objective_values(record, self.objectives)
        if values is not None:
            first, sign = values[0], 1.0 if self.objectives[0].direction == "maximize" else -1.0
            if self.best is None or sign * first > sign * self.best:
                self.best = first
        record["hypervolume"] = self.front.add(record["trial_id"], values, record["key"])
        return record["hypervolume"]

    def cached(self, key: str) -> dict[str, Any] | None:
        """The result of an already-measured genotype, if any."""
        return self._by_key.get(key)

    def pareto(self) -> dict[str, Any]:
        """The summary written as pareto.json: front rows, hypervolume and its history."""
        front = self.front
        if front.fixed:
            hv, reference = front.hypervolume or 0.0, front.reference
        else:
            hv, reference = front.provisional()
        ids = sorted(front.front_ids)
        return {"objectives": [o.name for o in self.objectives],
                "directions": [o.direction for o in self.objectives],
                "front_trial_ids": ids, "front": [self._front_row(t) for t in ids],
                "hypervolume": hv, "reference": reference,
                "reference_fixed": front.fixed,
                "hypervolume_history": [[t, h] for t, h in front.history],
                "n_complete": self.counts[COMPLETE], "n_infeasible": self.counts[INFEASIBLE]}

    def _front_row(self, trial_id: int) -> dict[str, Any]:
        record = self._by_id[trial_id]
        values = objective_values(record, self.objectives)
        return {"trial_id": trial_id, "arch": record["arch"],
                **{o.name: v for o, v in zip(self.objectives, values)}}

    def progress_fields(self, record: Mapping[str, Any], running: int) -> dict[str, Any]:
        m = record["metrics"]
        if m["status"] == COMPLETE:
            merged = {**m["cost"], **m["objectives"]}
            summary = f"trial {record['trial_id']} " + " ".join(
                f"{o.name}={merged.get(o.name, math.nan):.4g}" for o in self.objectives)
            summary += " (cached)" if record.get("cached") else ""
        else:
            summary = f"trial {record['trial_id']} {m['status']}: {m['reason']}"
        best = f"{self.objectives[0].name}={self.best:.4g}" if self.best is not None else "-"
        return {"done": self.n_finished, "running": running, "failed": self.n_failed,
                "infeasible": self.counts[INFEASIBLE], "summary": summary, "best": best,
                "front": len(self.front.front_ids), "hv": self.front.hypervolume,
                "seconds": _ran_for(record)}

    def maybe_flush(self, store, study_name: str) -> None:
        if time.monotonic() >= self._next_flush:
            self.flush(store, study_name)

    def flush(self, store, study_name: str) -> None:
        """Write pareto.json, trials.parquet and the Optuna mirror from the log."""
        start = time.monotonic()
        self._store_reference(store.dir)
        store.write_json("pareto.json", self.pareto(), compact=True)
        if self.records:
            self._rows.extend(map(flat_record, self.records[len(self._rows):]))
            store.write_parquet(self._rows, flat=True)
            self._mirrored = mirror_to_optuna(store.dir, study_name, self.records,
                                              self.objectives, self.space, self._mirrored)
        spent = time.monotonic() - start
        self._next_flush = time.monotonic() + max(FLUSH_EVERY_S, spent / FLUSH_MAX_SHARE)

    def _store_reference(self, run_dir) -> None:
        """Write reference.json once the reference is fixed (kept when already there)."""
        front = self.front
        if not front.fixed or (run_dir / REFERENCE_FILE).exists():
            return
        source = (f"derived from the first {REFERENCE_AFTER} feasible trials" if front.derived
                  else "config")
        write_reference(run_dir, [o.name for o in self.objectives], front.directions,
                        front.reference, source)
