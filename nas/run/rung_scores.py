"""Rung scores of a run's finished trials, shared with every worker.

Running-quantile decisions (ASHA, Li et al. 2020, MLSys: promote when in the top 1/eta of
the scores seen at that rung) need the scores of *all* trials, not the share one worker
process evaluated, and must survive a resume. The driver keeps them here, built from the
trial log (`Metrics.rungs` of each record) and grown with every finished trial, and sends
them with each task to evaluators that declare `wants_history = True`; the worker hands
them over with `evaluator.observe_history(history)` before the call.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Iterable, Iterator

__all__ = ["RungHistory", "HISTORY_LIMIT"]

# most recent scores kept per rung label: bounds what each task carries (18 KB pickled,
# 0.06 ms, per label) while a quantile of 2,000 recent scores tracks the whole stream
HISTORY_LIMIT = 2000


class RungHistory(Mapping):
    """label -> the most recent `limit` scores recorded under it, oldest first.

    A read-only Mapping for the evaluator; pickles as a plain dict of lists, so a task
    carries the scores as they were when it was submitted.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]] = (),
                 limit: int = HISTORY_LIMIT) -> None:
        self.limit = limit
        self._scores: dict[str, deque] = {}
        for record in records:
            self.add(record)

    def add(self, record: Mapping[str, Any]) -> None:
        """Take the rung scores of one finished trial record (answers from the store's
        cache are copies of a record already taken: skip them)."""
        if record.get("cached"):
            return
        for label, value in (record.get("metrics", {}).get("rungs") or {}).items():
            if label not in self._scores:
                self._scores[label] = deque(maxlen=self.limit)
            self._scores[label].append(float(value))

    def __getitem__(self, label: str) -> deque:
        return self._scores[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scores)

    def __len__(self) -> int:
        return len(self._scores)

    def __reduce__(self):
        return dict, ({label: list(v) for label, v in self._scores.items()},)
