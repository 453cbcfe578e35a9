"""Pareto fronts and exact hypervolume, every objective minimised (numpy, vectorised).

Front ranks follow Deb et al. 2002, NSGA-II, Sec. III-A (peel fronts); the 2-D ranks use the
O(n log n) sweep of Jensen 2003, IEEE TEVC 7(5). Hypervolume: 2-D sort & sweep; 3-D the
dimension sweep HV3D of Beume et al. 2009, IEEE TEVC 13(5), Sec. III; more objectives slice
along the last axis (While et al. 2006, HSO). Arrays are (n_points, n_objectives) and must be
finite unless a function says otherwise; convert user directions with `to_minimisation`.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Sequence

import numpy as np

from search_spaces.errors import UserError, unknown_choice

__all__ = [
    "non_dominated_sort",
    "pareto_mask",
    "to_minimisation",
    "hypervolume",
    "front_summary",
    "hypervolume_history",
]

_DIRECTIONS = ("maximize", "minimize")
# Booleans per pairwise block (rows x cols): bounds memory at a few MB whatever n is.
_CHUNK = 1 << 22
# Candidates tested together in `_front_mask_sorted`; small, because a block is compared
# with itself (block**2) before the survivors are filtered.
_BLOCK = 256
# Relative margin beyond the worst value for the default reference point.
_REF_MARGIN = 0.1


def _as_points(points: object, m: int | None = None, name: str = "points") -> np.ndarray:
    """Return `points` as a float (n, m) array; an empty input becomes shape (0, m)."""
    arr = np.asarray(points, dtype=float)
    if arr.size == 0:
        width = m if m is not None else (arr.shape[-1] if arr.ndim == 2 else 0)
        return arr.reshape(0, width)
    if arr.ndim != 2:
        raise UserError(f"{name} must be 2-D (n_points, n_objectives), got shape {arr.shape}")
    if m is not None and arr.shape[1] != m:
        raise UserError(f"{name} have {arr.shape[1]} objectives, expected {m}")
    return arr


def _unique_sorted(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lexicographically sorted unique rows and the row each input maps to."""
    uniq, inverse = np.unique(pts, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _weakly_dominated(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask over rows of `b`: some row of `a` is <= it in every objective (chunked)."""
    out = np.zeros(len(b), dtype=bool)
    step = max(1, _CHUNK // max(1, len(b)))
    for s in range(0, len(a), step):
        blk = a[s : s + step]
        le = blk[:, None, 0] <= b[None, :, 0]
        for k in range(1, a.shape[1]):
            le &= blk[:, None, k] <= b[None, :, k]
        out |= le.any(axis=0)
    return out


def _front_mask_sorted(uniq: np.ndarray) -> np.ndarray:
    """Rank-0 mask of unique, lexsorted rows (m >= 2), in blocks of `_BLOCK` candidates.

    A dominator is always lexicographically earlier, so a block's points that no other point
    of the block dominates are on the front once earlier front points have filtered them.
    """
    on_front = np.zeros(len(uniq), dtype=bool)
    alive = np.arange(len(uniq))
    while alive.size:
        block, rest = alive[:_BLOCK], alive[_BLOCK:]
        pts = uniq[block]
        le = _pairwise_le(pts)
        np.fill_diagonal(le, False)
        new = block[~le.any(axis=0)]
        on_front[new] = True
        if rest.size:
            rest = rest[~_weakly_dominated(uniq[new], uniq[rest])]
        alive = rest
    return on_front


def _pairwise_le(pts: np.ndarray) -> np.ndarray:
    """(c, c) matrix: entry (i, j) is True when pts[i] <= pts[j] in every objective."""
    le = pts[:, None, 0] <= pts[None, :, 0]
    for k in range(1, pts.shape[1]):
        le &= pts[:, None, k] <= pts[None, :, k]
    return le


def _ranks_2d(uniq: np.ndarray) -> np.ndarray:
    """Front ranks of unique lexsorted 2-D points, O(n log n) (Jensen 2003, Sec. III).

    Every earlier point has x <= ours and differs, so it dominates us iff its y <= ours;
    the lowest y per front rises with the rank, so a binary search finds our front.
    """
    lowest_y: list[float] = []
    ranks = []
    for y in uniq[:, 1].tolist():
        k = bisect_right(lowest_y, y)
        if k == len(lowest_y):
            lowest_y.append(y)
        else:
            lowest_y[k] = y
        ranks.append(k)
    return np.asarray(ranks, dtype=np.intp)


def non_dominated_sort(points: np.ndarray) -> np.ndarray:
    """Front rank per point, 0 = Pareto front (Deb et al. 2002, NSGA-II, Sec. III-A).

    points: (n, m), minimised. Returns (n,) ints. Equal points share a rank (they do not
    dominate each other). 2-D runs in O(n log n); otherwise fronts are peeled with the
    chunked block filter, O(n^2 m) time worst case and bounded memory.
    """
    pts = _as_points(points)
    n, m = pts.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    uniq, inverse = _unique_sorted(pts)
    if m == 1:
        ranks = np.arange(len(uniq), dtype=np.intp)
    elif m == 2:
        ranks = _ranks_2d(uniq)
    else:
        ranks = np.empty(len(uniq), dtype=np.intp)
        remaining = np.arange(len(uniq))
        rank = 0
        while remaining.size:
            on_front = _front_mask_sorted(uniq[remaining])
            ranks[remaining[on_front]] = rank
            remaining = remaining[~on_front]
            rank += 1
    return ranks[inverse]


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean (n,) mask of the Pareto front (rank 0) of minimised (n, m) points.

    2-D: sort and scan, O(n log n). Otherwise: chunked block filter (Kung et al. 1975 style
    sweep over lexsorted points). Duplicates of a front point are all on the front.
    """
    pts = _as_points(points)
    n, m = pts.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    uniq, inverse = _unique_sorted(pts)
    if m == 1:
        mask = np.arange(len(uniq)) == 0
    elif m == 2:
        # Earlier unique points have x <= ours, so only a lower-or-equal y can dominate us.
        y = uniq[:, 1]
        lowest_before = np.minimum.accumulate(np.concatenate(([np.inf], y[:-1])))
        mask = y < lowest_before
    else:
        mask = _front_mask_sorted(uniq)
    return mask[inverse]


def _signs(directions: Sequence[str], m: int) -> np.ndarray:
    """+1 per minimised objective, -1 per maximised one; validates the directions."""
    if isinstance(directions, str):
        raise UserError(
            f"directions must be a list such as ['minimize', 'maximize'], got {directions!r}"
        )
    directions = list(directions)
    for d in directions:
        if d not in _DIRECTIONS:
            raise unknown_choice("direction", d, _DIRECTIONS)
    if len(directions) != m:
        raise UserError(f"got {len(directions)} directions for {m} objectives")
    return np.where(np.asarray(directions) == "maximize", -1.0, 1.0)


def to_minimisation(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Negate maximised columns of (n, m) `values` so every objective is minimised.

    directions: one of "minimize" / "maximize" per column; anything else is a `UserError`.
    """
    vals = _as_points(values, name="values")
    return vals * _signs(directions, vals.shape[1])


class _Staircase:
    """Non-dominated 2-D points sorted by x with their dominated area w.r.t. (rx, ry).

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
        while j < len(ys) and ys[j] >= y:  # points the new one dominates: a contiguous run
            j += 1
        left, height, added = x, (ys[i - 1] if i > 0 else self.ry), 0.0
        for k in range(i, j):
            added += (xs[k] - left) * (height - y)
            left, height = xs[k], ys[k]
        added += ((xs[j] if j < len(xs) else self.rx) - left) * (height - y)
        xs[i:j] = [x]
        ys[i:j] = [y]
        self.area += added
        return added


def _front(pts: np.ndarray) -> np.ndarray:
    """Unique Pareto-front rows of (n, m >= 3) points, lexsorted."""
    uniq, _ = _unique_sorted(pts)
    return uniq[_front_mask_sorted(uniq)]


def _hv_2d(pts: np.ndarray, ref: np.ndarray) -> float:
    """2-D hypervolume by sort & sweep; dominated points add nothing, O(n log n)."""
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    x = pts[order, 0]
    lowest_y = np.minimum.accumulate(pts[order, 1])
    widths = np.diff(np.append(x, ref[0]))
    return float(widths @ (ref[1] - lowest_y))


def _hv_3d(front: np.ndarray, ref: np.ndarray) -> float:
    """3-D hypervolume by sweeping z upwards over a 2-D staircase (Beume et al. 2009, HV3D)."""
    pts = front[np.argsort(front[:, 2], kind="stable")]
    dz = np.diff(np.append(pts[:, 2], ref[2])).tolist()
    stair = _Staircase(float(ref[0]), float(ref[1]))
    total = 0.0
    for (x, y), d in zip(pts[:, :2].tolist(), dz):
        stair.add(x, y)
        total += stair.area * d
    return total


def _hv(pts: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of points strictly inside the reference box (any m >= 1)."""
    m = pts.shape[1]
    if m == 1:
        return float(ref[0] - pts[:, 0].min())
    if m == 2:
        return _hv_2d(pts, ref)
    front = _front(pts)
    if m == 3:
        return _hv_3d(front, ref)
    # Slice along the last objective (While et al. 2006, HSO): between consecutive values
    # the dominated region is the (m-1)-D hypervolume of the points already passed.
    front = front[np.argsort(front[:, -1], kind="stable")]
    dz = np.diff(np.append(front[:, -1], ref[-1]))
    total = 0.0
    for i in np.flatnonzero(dz > 0):
        total += dz[i] * _hv(front[: i + 1, :-1], ref[:-1])
    return total


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Exact hypervolume dominated by minimised (n, m) `points` and bounded by `reference`.

    Points that do not strictly dominate the reference (or are not finite) are ignored;
    none left gives 0.0. m = 2 is O(n log n), m = 3 O(n log n) after the front filter
    (Beume et al. 2009), m >= 4 slices recursively and suits small fronts.
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    pts = _as_points(points, ref.size)
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    return float(_hv(pts, ref))


def _default_reference(pts: np.ndarray) -> np.ndarray:
    """Worst value per minimised objective plus 10% of its range (never on the worst point)."""
    worst, best = pts.max(axis=0), pts.min(axis=0)
    scale = np.where(worst > best, worst - best, np.where(worst != 0, np.abs(worst), 1.0))
    return np.maximum(worst + _REF_MARGIN * scale, np.nextafter(worst, np.inf))


def front_summary(
    values: np.ndarray, directions: Sequence[str], reference: Sequence[float] | None = None
) -> dict:
    """The precomputed front the store writes as pareto.json (STYLE 6).

    values: (n, m) in the user's directions; rows with a non-finite value (failed trials) are
    never on the front. reference: in the user's directions; None derives it from all finite
    rows as the worst value per objective moved outwards by 10% of that objective's range
    (10% of |worst|, or 1.0, when the range is zero); None again when no row is finite.
    Returns {"front_indices": [int], "hypervolume": float, "reference": [float] | None}.
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


def _reference_to_min(reference: Sequence[float], signs: np.ndarray) -> np.ndarray:
    """Reference point in the user's directions -> minimisation space, validated."""
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if ref.size != signs.size:
        raise UserError(f"reference has {ref.size} values, expected {signs.size}")
    if not np.all(np.isfinite(ref)):
        raise UserError(f"reference must be finite, got {ref.tolist()}")
    return ref * signs


def hypervolume_history(
    values: np.ndarray, directions: Sequence[str], reference: Sequence[float]
) -> np.ndarray:
    """Hypervolume after each prefix of trials, (n,) floats, maintained incrementally.

    values and reference are in the user's directions; rows that are not finite or do not
    strictly dominate the reference leave the value unchanged. 2-D keeps a staircase,
    O(n log n) in total; m >= 3 adds each new front point's exclusive contribution
    (While et al. 2012, WFG, Eq. 3): its box minus the front limited to that box.
    """
    pts = to_minimisation(values, directions)
    n, m = pts.shape
    ref = _reference_to_min(reference, _signs(directions, m))
    inside = np.all(pts < ref, axis=1)  # NaN compares False: failed trials are skipped
    if m == 1:
        best = np.minimum.accumulate(np.where(inside, pts[:, 0], ref[0]))
        return ref[0] - best
    gains = np.zeros(n)
    if m == 2:
        stair = _Staircase(float(ref[0]), float(ref[1]))
        for i in np.flatnonzero(inside).tolist():
            gains[i] = stair.add(float(pts[i, 0]), float(pts[i, 1]))
        return np.cumsum(gains)
    front = np.empty((0, m))
    for i in np.flatnonzero(inside).tolist():
        p = pts[i]
        if len(front) and np.all(front <= p, axis=1).any():
            continue  # weakly dominated: the hypervolume does not change
        box = float(np.prod(ref - p))
        gains[i] = box - (_hv(np.maximum(front, p), ref) if len(front) else 0.0)
        front = np.vstack([front[~np.all(p <= front, axis=1)], p])
    return np.cumsum(gains)
