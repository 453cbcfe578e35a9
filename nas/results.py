"""In-memory view of a run's finished trials: counts, cache, Pareto front, flushing."""
from __future__ import annotations

import math
import time
from typing import Any, Mapping, Sequence

import numpy as np

from search_spaces.space import Space

from .optuna_mirror import mirror_to_optuna
from .pareto import front_summary
from .strategies.base import Objective

__all__ = ["ResultsView", "objective_matrix"]

FLUSH_EVERY_S = 2.0


def objective_matrix(records: Sequence[Mapping[str, Any]],
                     objectives: Sequence[Objective]) -> tuple[np.ndarray, list[int]]:
    """(n, m) objective values of the complete trials with finite values, and their ids."""
    rows, ids = [], []
    for record in records:
        metrics = record["metrics"]
        if metrics["status"] != "complete":
            continue
        merged = {**metrics["cost"], **metrics["objectives"]}
        row = [float(merged.get(o.name, math.nan)) for o in objectives]
        if all(math.isfinite(v) for v in row):
            rows.append(row)
            ids.append(record["trial_id"])
    return np.asarray(rows, dtype=float).reshape(-1, len(objectives)), ids


class ResultsView:
    """Finished trials of one run, with what progress, status and the store derive."""

    def __init__(self, objectives: Sequence[Objective], space: Space) -> None:
        self.objectives, self.space = list(objectives), space
        self.records: list[dict[str, Any]] = []
        self._by_id: dict[int, dict[str, Any]] = {}
        self._by_key: dict[str, dict[str, Any]] = {}
        self.n_failed = 0  # failed or infeasible
        self.n_pruned = 0  # stopped early by a fidelity ladder: finished, but not front material
        self._last_flush = time.monotonic()
        self._pareto: dict[str, Any] | None = None

    @property
    def n_finished(self) -> int:
        return len(self.records)

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self._by_id[record["trial_id"]] = record
        self._pareto = None
        status = record["metrics"]["status"]
        if status in ("complete", "pruned"):  # verdicts not worth redoing (failures may be)
            self._by_key.setdefault(record["key"], {k: record[k] for k in
                                                    ("metrics", "worker", "started", "finished")})
        if status == "pruned":
            self.n_pruned += 1
        elif status != "complete":
            self.n_failed += 1

    def cached(self, key: str) -> dict[str, Any] | None:
        """The result of an already-evaluated genotype, if any."""
        return self._by_key.get(key)

    def pareto(self) -> dict[str, Any]:
        if self._pareto is None:
            values, ids = objective_matrix(self.records, self.objectives)
            directions = [o.direction for o in self.objectives]
            summary = front_summary(values, directions) if len(values) else {
                "front_indices": [], "hypervolume": 0.0, "reference": None}
            front = self._unique([ids[i] for i in summary["front_indices"]])
            self._pareto = {"objectives": [o.name for o in self.objectives],
                            "directions": directions, "front_trial_ids": front,
                            "front": [self._front_row(t) for t in front],
                            "hypervolume": summary["hypervolume"],
                            "reference": summary["reference"],
                            "n_complete": len(ids)}
        return self._pareto

    def _unique(self, trial_ids: list[int]) -> list[int]:
        """One trial per genotype (a repeated genotype was answered from the store)."""
        seen, unique = set(), []
        for tid in sorted(trial_ids):
            key = self._by_id[tid]["key"]
            if key not in seen:
                seen.add(key)
                unique.append(tid)
        return unique

    def _front_row(self, trial_id: int) -> dict[str, Any]:
        record = self._by_id[trial_id]
        m = record["metrics"]
        return {"trial_id": trial_id, "arch": record["arch"],
                **{o.name: {**m["cost"], **m["objectives"]}[o.name] for o in self.objectives}}

    def progress_fields(self, record: Mapping[str, Any], running: int):
        m = record["metrics"]
        first = self.objectives[0]
        if m["status"] == "complete":
            merged = {**m["cost"], **m["objectives"]}
            summary = f"trial {record['trial_id']} " + " ".join(
                f"{o.name}={merged.get(o.name, math.nan):.4g}" for o in self.objectives)
            if record.get("cached"):
                summary += " (cached)"
        else:
            summary = f"trial {record['trial_id']} {m['status']}: {m['reason'][:60]}"
        values, _ = objective_matrix(self.records, [first])
        best = "-"
        if len(values):
            pick = values.max() if first.direction == "maximize" else values.min()
            best = f"{first.name}={pick:.4g}"
        pareto = self.pareto()
        return (self.n_finished, running, self.n_failed, summary, best,
                len(pareto["front_trial_ids"]), pareto["hypervolume"])

    def maybe_flush(self, store, study_name: str) -> None:
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush(store, study_name)

    def flush(self, store, study_name: str) -> None:
        """Write pareto.json, trials.parquet and the Optuna mirror from the log."""
        self._last_flush = time.monotonic()
        store.write_json("pareto.json", self.pareto())
        if self.records:
            store.write_parquet(self.records)
            mirror_to_optuna(store.dir, study_name, self.records, self.objectives, self.space)
