"""The Pareto front and its hypervolume, updated trial by trial against a FIXED reference.

A hypervolume history is only monotone (and comparable across runs) when the reference
point never moves (Zitzler et al. 2003, IEEE TEVC 7(2), Sec. V). The reference is the
config's, or derived once from the first `REFERENCE_AFTER` feasible trials (their worst
value per objective moved outwards by 10% of the range, `reference.derive_reference`)
and then kept; trials seen before that get their hypervolume filled in retroactively.
Each update costs O(front size), not O(trials).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .fronts import front_summary, hypervolume, hypervolume_history, to_minimisation
from .reference import REFERENCE_AFTER, derive_reference

__all__ = ["FrontTracker", "REFERENCE_AFTER"]


class FrontTracker:
    """Feasible points in, (front ids, hypervolume after every trial) out."""

    def __init__(self, directions: Sequence[str], reference: Sequence[float] | None = None):
        self.directions = list(directions)
        self.reference = list(reference) if reference is not None else None
        self.derived = reference is None
        self._ref_min = self._to_min(self.reference) if self.reference is not None else None
        self._front = np.empty((0, len(self.directions)))  # minimised
        self._front_ids: list[int] = []
        self._front_keys: list[str] = []
        self._early: list[tuple[int, list[float] | None]] = []  # until the reference is fixed
        self.history: list[tuple[int, float | None]] = []  # (trial id, hypervolume)

    def _to_min(self, values: Sequence[float]) -> np.ndarray:
        return to_minimisation(np.asarray([values], dtype=float), self.directions)[0]

    @property
    def fixed(self) -> bool:
        """Whether the reference point is final (given, or derived and frozen)."""
        return self._ref_min is not None

    @property
    def front_ids(self) -> list[int]:
        return list(self._front_ids)

    @property
    def hypervolume(self) -> float | None:
        return self.history[-1][1] if self.history else None

    def add(self, trial_id: int, values: Sequence[float] | None,
            key: str | None = None) -> float | None:
        """Record one trial (values None: failed or infeasible) of genotype `key`; returns
        the hypervolume (None while the reference is not fixed yet)."""
        if values is not None:
            self._insert(trial_id, self._to_min(values), key)
        if self._ref_min is None:
            self._early.append((trial_id, list(values) if values is not None else None))
            self.history.append((trial_id, None))
            feasible = [v for _, v in self._early if v is not None]
            if len(feasible) >= REFERENCE_AFTER:
                self._fix_reference(feasible)
            return self.hypervolume
        hv = hypervolume(self._front, self._ref_min) if len(self._front) else 0.0
        # a trial never shrinks the volume; keep rounding (incremental history vs this
        # exact recomputation) from showing a decrease
        hv = max(hv, self.hypervolume or 0.0)
        self.history.append((trial_id, hv))
        return hv

    def _insert(self, trial_id: int, point: np.ndarray, key: str | None) -> None:
        """Add a point unless dominated; equal points stay together (as in
        `pareto.pareto_mask`), except a repeat of a genotype already on the front."""
        front = self._front
        if len(front):
            le = np.all(front <= point, axis=1)
            equal = le & np.all(front == point, axis=1)
            if (le & ~equal).any() or key in {self._front_keys[i] for i in np.flatnonzero(equal)}:
                return
        keep = ~np.all(point <= front, axis=1) | np.all(front == point, axis=1)
        self._front = np.vstack([front[keep], point])
        self._front_ids = [i for i, k in zip(self._front_ids, keep) if k] + [trial_id]
        self._front_keys = [g for g, k in zip(self._front_keys, keep) if k] + [key]

    def _fix_reference(self, feasible: list[list[float]]) -> None:
        """Derive the reference from the first feasible trials; fill in their history."""
        self.reference = derive_reference(np.asarray(feasible), self.directions)
        self._ref_min = self._to_min(self.reference)
        rows = np.array([v if v is not None else [np.nan] * len(self.directions)
                         for _, v in self._early], dtype=float)
        hvs = hypervolume_history(rows, self.directions, self.reference)
        self.history = [(tid, hv) for (tid, _), hv in zip(self._early, hvs.tolist())]
        self._early = []

    def provisional(self) -> tuple[float, list[float] | None]:
        """Before the reference is fixed: hypervolume and reference of what exists (the
        reference derived from every feasible trial so far; it may still change)."""
        feasible = [v for _, v in self._early if v is not None]
        if not feasible:
            return 0.0, None
        summary = front_summary(np.asarray(feasible), self.directions)
        return summary["hypervolume"], summary["reference"]
