"""Pareto dominance for minimised (n, m) arrays: front masks and front ranks (vectorised).

Ranks follow Deb et al. 2002, NSGA-II, Sec. III-A (peel fronts); 2-D ranks use the
O(n log n) sweep of Jensen 2003, IEEE TEVC 7(5); the front filter sweeps lexsorted points
(Kung et al. 1975, JACM 22(4)). Public names are re-exported by `nas.pareto.fronts`.
"""
from __future__ import annotations

from bisect import bisect_right

import numpy as np

from search_spaces.errors import UserError

__all__ = ["as_points", "unique_sorted", "front_mask_sorted", "non_dominated_sort", "pareto_mask"]

# Booleans per pairwise block (rows x cols): bounds memory at a few MB whatever n is.
_CHUNK = 1 << 22
# Points compared with each other at once; a block is compared with itself (block**2).
_BLOCK = 64
# Peeling pays a fixed numpy overhead per front, so once two fronts in a row are this thin
# the dominator-rank pass (~ remaining**2 / 2, whatever the number of fronts) is cheaper.
_THIN_FRONT = 8


def as_points(points: object, m: int | None = None, name: str = "points") -> np.ndarray:
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


def unique_sorted(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lexicographically sorted unique rows, and the unique row of each input row."""
    uniq, inverse = np.unique(pts, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _le(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) matrix: entry (i, j) is True when a[i] <= b[j] in every objective."""
    le = a[:, None, 0] <= b[None, :, 0]
    for k in range(1, a.shape[1]):
        le &= a[:, None, k] <= b[None, :, k]
    return le


def _weakly_dominated(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask over rows of `b`: some row of `a` is <= it in every objective (chunked)."""
    out = np.zeros(len(b), dtype=bool)
    step = max(1, _CHUNK // max(1, len(b)))
    for s in range(0, len(a), step):
        out |= _le(a[s : s + step], b).any(axis=0)
    return out


def front_mask_sorted(uniq: np.ndarray) -> np.ndarray:
    """Rank-0 mask of unique, lexsorted rows (m >= 2), `_BLOCK` candidates at a time.

    A dominator is always lexicographically earlier, so a block's points that no other point
    of the block dominates are on the front once earlier front points have filtered them.
    """
    on_front = np.zeros(len(uniq), dtype=bool)
    alive = np.arange(len(uniq))
    while alive.size:
        block, rest = alive[:_BLOCK], alive[_BLOCK:]
        le = _le(uniq[block], uniq[block])
        np.fill_diagonal(le, False)
        new = block[~le.any(axis=0)]
        on_front[new] = True
        if rest.size:
            rest = rest[~_weakly_dominated(uniq[new], uniq[rest])]
        alive = rest
    return on_front


def _ranks_2d(uniq: np.ndarray) -> np.ndarray:
    """Front ranks of unique lexsorted 2-D points in O(n log n) (Jensen 2003, Sec. III).

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


def _ranks_by_dominators(uniq: np.ndarray) -> np.ndarray:
    """Ranks of unique lexsorted rows as 1 + the highest rank among their dominators.

    Dominators come earlier in lex order, so blocks are ranked in order: first against all
    earlier rows (chunked), then within the block in order. O(n^2 m / 2), any number of fronts.
    """
    n = len(uniq)
    ranks = np.zeros(n, dtype=np.intp)
    for s in range(0, n, _BLOCK):
        blk = uniq[s : s + _BLOCK]
        best = np.zeros(len(blk), dtype=np.intp)
        step = max(1, _CHUNK // len(blk))
        for a in range(0, s, step):
            e = min(s, a + step)
            hit = _le(uniq[a:e], blk)
            best = np.maximum(best, np.where(hit, ranks[a:e, None] + 1, 0).max(axis=0))
        inner = np.triu(_le(blk, blk), 1)  # earlier block rows that dominate later ones
        for j in np.flatnonzero(inner.any(axis=0)).tolist():
            best[j] = max(best[j], best[inner[:, j]].max() + 1)
        ranks[s : s + len(blk)] = best
    return ranks


def _ranks_nd(uniq: np.ndarray) -> np.ndarray:
    """Ranks of unique lexsorted rows (m >= 3): peel fronts while they are thick."""
    ranks = np.empty(len(uniq), dtype=np.intp)
    remaining = np.arange(len(uniq))
    rank = thin = 0
    while remaining.size:
        on_front = front_mask_sorted(uniq[remaining])
        ranks[remaining[on_front]] = rank
        remaining = remaining[~on_front]
        rank += 1
        thin = thin + 1 if on_front.sum() < _THIN_FRONT else 0
        if thin >= 2 and remaining.size > _BLOCK:
            # Ranks within the rest, shifted by the fronts already peeled (peeling invariance).
            ranks[remaining] = rank + _ranks_by_dominators(uniq[remaining])
            break
    return ranks


def non_dominated_sort(points: np.ndarray) -> np.ndarray:
    """Front rank per point, 0 = Pareto front (Deb et al. 2002, NSGA-II, Sec. III-A).

    points: (n, m), minimised, finite. Returns (n,) ints. Equal points share a rank (they do
    not dominate each other). 2-D is O(n log n); m >= 3 is O(n^2 m) worst case, vectorised
    in chunks so memory stays bounded.
    """
    pts = as_points(points)
    n, m = pts.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    uniq, inverse = unique_sorted(pts)
    if m == 1:
        ranks = np.arange(len(uniq), dtype=np.intp)
    elif m == 2:
        ranks = _ranks_2d(uniq)
    else:
        ranks = _ranks_nd(uniq)
    return ranks[inverse]


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean (n,) mask of the Pareto front (rank 0) of minimised, finite (n, m) points.

    2-D: sort and scan, O(n log n). m >= 3: chunked block filter over lexsorted points,
    O(n x front x m). Duplicates of a front point are all on the front.
    """
    pts = as_points(points)
    n, m = pts.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    uniq, inverse = unique_sorted(pts)
    if m == 1:
        mask = np.arange(len(uniq)) == 0
    elif m == 2:
        # Earlier unique points have x <= ours, so only a lower-or-equal y can dominate us.
        y = uniq[:, 1]
        lowest_before = np.minimum.accumulate(np.concatenate(([np.inf], y[:-1])))
        mask = y < lowest_before
    else:
        mask = front_mask_sorted(uniq)
    return mask[inverse]
