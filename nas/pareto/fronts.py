"""Pareto fronts and exact hypervolume for multi-objective search (numpy, vectorised).

The kernels minimise every objective (Deb et al. 2002, NSGA-II, for ranks; Beume et al.
2009 for 3-D hypervolume; see `nas.pareto.dominance` and `nas.pareto.hypervolume_kernel`). This module is the
boundary: it converts the user's "minimize"/"maximize" directions, validates them, and
builds the summary the store writes as pareto.json (STYLE 6).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from search_spaces.errors import UserError, unknown_choice

from .dominance import as_points, non_dominated_sort, pareto_mask
from .hypervolume_kernel import Staircase, hv_inside, hypervolume

__all__ = [
    "non_dominated_sort",
    "pareto_mask",
    "to_minimisation",
    "hypervolume",
    "front_summary",
    "hypervolume_history",
]

DIRECTIONS = ("maximize", "minimize")
# The default reference lies this fraction of each objective's range beyond its worst value.
_REF_MARGIN = 0.1


def _signs(directions: Sequence[str], m: int) -> np.ndarray:
    """+1 per minimised objective, -1 per maximised one; validates the directions."""
    if isinstance(directions, str):
        raise UserError(
            f"directions must be a list such as ['minimize', 'maximize'], got {directions!r}"
        )
    directions = list(directions)
    for d in directions:
        if d not in DIRECTIONS:
            raise unknown_choice("direction", d, DIRECTIONS)
    if len(directions) != m:
        raise UserError(f"got {len(directions)} directions for {m} objectives")
    return np.where(np.asarray(directions) == "maximize", -1.0, 1.0)


def to_minimisation(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Negate the maximised columns of (n, m) `values` so every objective is minimised.

    directions: "minimize" or "maximize" per column; anything else raises `UserError`.
    """
    vals = as_points(values, name="values")
    return vals * _signs(directions, vals.shape[1])


def _reference_to_min(reference: Sequence[float], signs: np.ndarray) -> np.ndarray:
    """A reference point in the user's directions, validated, in minimisation space."""
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if ref.size != signs.size:
        raise UserError(f"reference has {ref.size} values, expected {signs.size}")
    if not np.all(np.isfinite(ref)):
        raise UserError(f"reference must be finite, got {ref.tolist()}")
    return ref * signs


def _default_reference(pts: np.ndarray) -> np.ndarray:
    """Worst minimised value per objective plus 10% of its range; strictly beyond the worst.

    A zero range uses 10% of |worst| (or 0.1 when worst is 0) so the box never collapses.
    """
    worst, best = pts.max(axis=0), pts.min(axis=0)
    scale = np.where(worst > best, worst - best, np.where(worst != 0, np.abs(worst), 1.0))
    return np.maximum(worst + _REF_MARGIN * scale, np.nextafter(worst, np.inf))


def front_summary(
    values: np.ndarray, directions: Sequence[str], reference: Sequence[float] | None = None
) -> dict:
    """The precomputed front the store writes as pareto.json.

    values: (n, m) in the user's directions; rows with a non-finite value (failed trials)
    are never on the front. reference: (m,) in the user's directions; None derives it from
    all finite rows as each objective's worst value moved outwards by 10% of its range (so
    every trial strictly dominates it); it stays None when no row is finite.
    Returns {"front_indices": [int], "hypervolume": float, "reference": [float] | None},
    front indices ascending into `values`.
    """
    pts = to_minimisation(values, directions)
    signs = _signs(directions, pts.shape[1])
    finite = np.flatnonzero(np.all(np.isfinite(pts), axis=1))
    pts = pts[finite]
    if reference is not None:
        ref = _reference_to_min(reference, signs)
    elif len(pts):
        ref = _default_reference(pts)
    else:
        return {"front_indices": [], "hypervolume": 0.0, "reference": None}
    return {
        "front_indices": finite[pareto_mask(pts)].tolist(),
        "hypervolume": hypervolume(pts, ref),
        "reference": (ref * signs).tolist(),
    }


def hypervolume_history(
    values: np.ndarray, directions: Sequence[str], reference: Sequence[float]
) -> np.ndarray:
    """Hypervolume after each prefix of trials, (n,) floats, maintained incrementally.

    values and reference are in the user's directions; a row that is not finite or does not
    strictly dominate the reference leaves the value unchanged. 2-D keeps a staircase,
    O(n log n) in total; m >= 3 adds each new front point's exclusive contribution
    (While et al. 2012, WFG, Sec. 3): its box minus the front clipped to that box.
    """
    pts = to_minimisation(values, directions)
    n, m = pts.shape
    ref = _reference_to_min(reference, _signs(directions, m))
    inside = np.all(pts < ref, axis=1) & np.all(np.isfinite(pts), axis=1)
    if m == 1:
        return ref[0] - np.minimum.accumulate(np.where(inside, pts[:, 0], ref[0]))
    gains = np.zeros(n)
    if m == 2:
        stair = Staircase(float(ref[0]), float(ref[1]))
        for i, (x, y) in zip(np.flatnonzero(inside).tolist(), pts[inside].tolist()):
            gains[i] = stair.add(x, y)
        return np.cumsum(gains)
    front = np.empty((0, m))
    for i in np.flatnonzero(inside).tolist():
        p = pts[i]
        if np.all(front <= p, axis=1).any():
            continue  # weakly dominated: the hypervolume does not change
        clipped = hv_inside(np.maximum(front, p), ref) if len(front) else 0.0
        gains[i] = float(np.prod(ref - p)) - clipped
        front = np.vstack([front[~np.all(p <= front, axis=1)], p])
    return np.cumsum(gains)
