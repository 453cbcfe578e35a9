"""A strategy's told observations as numpy arrays, grown by the new tells only.

A model-based ask reads every observation; rebuilding choice-index rows and value arrays
from 10,000 `Observation`s costs ~100 ms of Python per ask, whereas appending each tell
once keeps that part of the ask O(1) in the history size.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .candidates import Encoder
from .observations import Observation

__all__ = ["ToldArrays"]


class _Growing:
    """A 2-D array with amortised O(1) appends (capacity doubles)."""

    def __init__(self, width: int, dtype) -> None:
        self._data = np.empty((16, width), dtype=dtype)
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self._data):
            grown = np.empty((max(need, 2 * len(self._data)), self._data.shape[1]),
                             self._data.dtype)
            grown[:self.n] = self._data[:self.n]
            self._data = grown
        self._data[self.n:need] = rows
        self.n = need

    @property
    def array(self) -> np.ndarray:
        return self._data[:self.n]


class ToldArrays:
    """rows (n, decisions), values (n, objectives; NaN when failed), violations
    (n, constraints; NaN when failed), failed (n,) and the rows' `Encoder.keys`, for the
    observations of one `History` in tell order."""

    def __init__(self, encoder: Encoder, n_objectives: int, n_constraints: int) -> None:
        self.encoder, self.shape = encoder, (n_objectives, n_constraints)
        self._source: list[Observation] | None = None
        self._reset()

    def _reset(self) -> None:
        self._rows = _Growing(len(self.encoder.decisions), np.int64)
        self._values = _Growing(self.shape[0], float)
        self._violations = _Growing(self.shape[1], float)
        self._keys = _Growing(1, np.uint64)

    def update(self, observations: list[Observation]) -> "ToldArrays":
        """Append the observations told since the last update (all of them after the list
        was replaced, e.g. by `load_state_dict`)."""
        if observations is not self._source or len(observations) < self._rows.n:
            self._source = observations
            self._reset()
        new = observations[self._rows.n:]
        if new:
            self._append(new)
        return self

    def _append(self, new: Sequence[Observation]) -> None:
        rows = self.encoder.rows(o.genotype for o in new)
        nan_values, nan_violations = [np.nan] * self.shape[0], [np.nan] * self.shape[1]
        self._rows.append(rows)
        self._values.append(np.array([o.values if not o.failed else nan_values for o in new],
                                     dtype=float).reshape(len(new), self.shape[0]))
        self._violations.append(np.array(
            [o.violations if not o.failed else nan_violations for o in new],
            dtype=float).reshape(len(new), self.shape[1]))
        self._keys.append(self.encoder.keys(rows)[:, None])

    @property
    def rows(self) -> np.ndarray:
        return self._rows.array

    @property
    def keys(self) -> np.ndarray:
        return self._keys.array[:, 0]

    @property
    def values(self) -> np.ndarray:
        return self._values.array

    @property
    def violations(self) -> np.ndarray:
        return self._violations.array

    @property
    def failed(self) -> np.ndarray:
        return np.isnan(self.values).any(axis=1) if self.shape[0] else np.zeros(len(self.rows),
                                                                                bool)

    @property
    def total_violation(self) -> np.ndarray:
        """Sum of the positive violations per observation (0 when feasible)."""
        return np.maximum(self.violations, 0.0).sum(axis=1)
