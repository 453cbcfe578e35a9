"""Exact hypervolume of minimised (n, m) points w.r.t. a reference point.

2-D: sort & sweep. 3-D: the dimension sweep HV3D of Beume et al. 2009, IEEE TEVC 13(5),
Sec. III (a z-sweep over a 2-D staircase). m >= 4: slice along the last objective
(While et al. 2006, IEEE TEVC 10(1), HSO). `hypervolume` is re-exported by `nas.pareto.fronts`.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

import numpy as np

from .dominance import as_points, front_mask_sorted, unique_sorted

__all__ = ["Staircase", "hypervolume", "hv_inside"]


class Staircase:
    """Non-dominated 2-D points sorted by x, with their dominated area w.r.t. (rx, ry).

    The sweep structure of HV3D (Beume et al. 2009, Sec. III): each point is inserted and
    removed at most once, so n insertions cost O(n log n) comparisons.
    """

    def __init__(self, rx: float, ry: float) -> None:
        self.rx, self.ry = rx, ry
        self.xs: list[float] = []
        self.ys: list[float] = []  # strictly decreasing while xs strictly increases
        self.area = 0.0

    def add(self, x: float, y: float) -> float:
        """Insert (x, y), strictly inside the reference box; return the area it adds."""
        xs, ys = self.xs, self.ys
        i = bisect_left(xs, x)
        if (i > 0 and ys[i - 1] <= y) or (i < len(xs) and xs[i] == x and ys[i] <= y):
            return 0.0
        j = i
        while j < len(ys) and ys[j] >= y:  # the points (x, y) dominates: a contiguous run
            j += 1
        # Integrate the gap between the old staircase and height y over [x, next survivor).
        left, height, added = x, (ys[i - 1] if i > 0 else self.ry), 0.0
        for k in range(i, j):
            added += (xs[k] - left) * (height - y)
            left, height = xs[k], ys[k]
        added += ((xs[j] if j < len(xs) else self.rx) - left) * (height - y)
        xs[i:j] = [x]
        ys[i:j] = [y]
        self.area += added
        return added


def _hv_2d(pts: np.ndarray, ref: np.ndarray) -> float:
    """2-D hypervolume by sort & sweep; dominated points add nothing. O(n log n)."""
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    lowest_y = np.minimum.accumulate(pts[order, 1])
    widths = np.diff(np.append(pts[order, 0], ref[0]))
    return float(widths @ (ref[1] - lowest_y))


def _hv_3d(pts: np.ndarray, ref: np.ndarray) -> float:
    """3-D hypervolume: sweep z upwards, area of the 2-D staircase times each z gap.

    A point's dominators have lower or equal z, so they are in the staircase before it
    counts (equal z adds a zero gap): dominated points add nothing. O(n log n) + list moves.
    """
    pts = pts[np.argsort(pts[:, 2], kind="stable")]
    dz = np.diff(np.append(pts[:, 2], ref[2])).tolist()
    stair = Staircase(float(ref[0]), float(ref[1]))
    total = 0.0
    for (x, y), d in zip(pts[:, :2].tolist(), dz):
        stair.add(x, y)
        total += stair.area * d
    return total


def hv_inside(pts: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of (n >= 1, m) points that all lie strictly inside the reference box."""
    m = pts.shape[1]
    if m == 1:
        return float(ref[0] - pts[:, 0].min())
    if m == 2:
        return _hv_2d(pts, ref)
    if m == 3:
        return _hv_3d(pts, ref)  # the sweep skips dominated points itself: no O(n^2) filter
    uniq, _ = unique_sorted(pts)
    front = uniq[front_mask_sorted(uniq)]
    # HSO: between consecutive last-objective values the dominated region is a prism over
    # the (m-1)-D hypervolume of the points already passed.
    front = front[np.argsort(front[:, -1], kind="stable")]
    dz = np.diff(np.append(front[:, -1], ref[-1]))
    total = 0.0
    for i in np.flatnonzero(dz > 0).tolist():
        total += dz[i] * hv_inside(front[: i + 1, :-1], ref[:-1])
    return total


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Exact hypervolume dominated by minimised (n, m) `points`, bounded by `reference` (m,).

    Points that are not finite or do not strictly dominate the reference are ignored; none
    left gives 0.0. m = 2 is O(n log n); m = 3 is O(n log n) comparisons (Beume et al.
    2009); m >= 4 filters the front, then slices recursively (HSO) and suits small fronts.
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    pts = as_points(points, ref.size)
    pts = pts[np.all(pts < ref, axis=1) & np.all(np.isfinite(pts), axis=1)]
    if len(pts) == 0:
        return 0.0
    return float(hv_inside(pts, ref))
