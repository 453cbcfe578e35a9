"""Expected hypervolume improvement (EHVI) for multi-objective Bayesian optimisation.

EHVI (Emmerich, Giannakoglou & Naujoks 2006, IEEE TEVC 10(4), Sec. III) is computed
exactly for independent Gaussian predictions (one GP per objective, or one GP with
independent outputs), by splitting the part of the reference box that the front does
not dominate into disjoint boxes [l, u] (the box
decomposition of Yang, Emmerich, Deutz & Baeck 2019, J. Global Optim. 75, Sec. 3): the
improvement of a point y is sum_k prod_j (u_kj - max(y_j, l_kj))^+, and independence turns
the expectation of each product into a product of 1-D expectations,
E[(u - max(Y, l))^+] = psi(u) - psi(l) with psi(a) = E[(a - Y)^+] (Yang et al. 2019,
Eq. 9). Everything is minimised. Shapes: front (n, m), reference (m,), mu and sd (c, m).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from nas.pareto.dominance import as_points, front_mask_sorted, unique_sorted

__all__ = ["box_decomposition", "expected_hvi", "model_reference", "MAX_BOXES"]

MAX_BOXES = 20_000  # (n + 1)^(m - 1) boxes: thin a larger front (>= 4 objectives)
_CHUNK = 1 << 22  # candidate x box x objective floats evaluated at once


def _front(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Unique non-dominated rows of `points` strictly inside the reference box."""
    inside = points[np.all(points < reference, axis=1)]
    if inside.shape[1] == 1:
        return inside[np.argsort(inside[:, 0])[:1]]
    uniq, _ = unique_sorted(inside)
    return uniq[front_mask_sorted(uniq)] if len(uniq) else uniq


def _thin(front: np.ndarray) -> np.ndarray:
    """At most the number of points that keeps the boxes under MAX_BOXES, evenly spread
    along the first objective (only ever needed with four or more objectives)."""
    m = front.shape[1]
    if m < 3 or (len(front) + 1) ** (m - 1) <= MAX_BOXES:
        return front
    keep = max(1, int(MAX_BOXES ** (1.0 / (m - 1))) - 1)
    return front[np.unique(np.linspace(0, len(front) - 1, keep).round().astype(int))]


def box_decomposition(points: np.ndarray, reference: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes (lower, upper), each (k, m), covering the reference box minus what
    `points` dominate. Lower bounds may be -inf.

    The first m - 1 objectives are cut at every front coordinate into a grid of columns;
    a column reaches up in the last objective to the lowest last value among the points
    that dominate its lower corner in the first m - 1 (the reference if none do), so there
    are (n + 1)^(m - 1) boxes: n + 1 strips for two objectives.
    """
    reference = np.asarray(reference, dtype=float).reshape(-1)
    m = reference.size
    front = _thin(_front(as_points(points, m), reference))
    edges = [np.concatenate([[-np.inf], np.unique(front[:, j])]) for j in range(m - 1)]
    uppers = [np.append(e[1:], reference[j]) for j, e in enumerate(edges)]
    cells = np.indices([len(e) for e in edges]).reshape(m - 1, -1).T if m > 1 \
        else np.zeros((1, 0), dtype=int)
    low, high = np.empty(cells.shape), np.empty(cells.shape)
    for j in range(m - 1):
        low[:, j], high[:, j] = edges[j][cells[:, j]], uppers[j][cells[:, j]]
    dominating = np.all(front[None, :, : m - 1] <= low[:, None, :], axis=2)  # (k, n)
    top = np.where(dominating, front[None, :, m - 1], reference[m - 1]).min(axis=1,
                                                                             initial=np.inf)
    top = np.minimum(top, reference[m - 1])
    lower = np.column_stack([low, np.full(len(low), -np.inf)])
    return lower, np.column_stack([high, top])


def _psi(a: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[(a - Y)^+] for Y ~ N(mu, sd^2); 0 where a is -inf."""
    finite = np.isfinite(a)
    gap = np.where(finite, a - mu, 0.0)
    z = gap / sd
    value = gap * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return np.where(finite, value, 0.0)


def expected_hvi(mu: np.ndarray, sd: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray) -> np.ndarray:
    """Exact EHVI (c,) of candidates with independent N(mu, sd^2) objectives (c, m) over
    the boxes (lower, upper) of `box_decomposition` (Yang et al. 2019, Eq. 9). Boxes share
    their bounds (a strip's upper edge is the next one's lower), so psi is evaluated once
    per distinct bound of each objective."""
    mu, sd = np.atleast_2d(mu), np.atleast_2d(sd)
    bounds, at = [], []
    for j in range(lower.shape[1]):
        values, index = np.unique(np.concatenate([lower[:, j], upper[:, j]]),
                                  return_inverse=True)
        bounds.append(values)
        at.append((index[len(lower):], index[:len(lower)]))  # (upper, lower) per box
    out = np.empty(len(mu))
    step = max(1, _CHUNK // max(1, lower.size))
    for s in range(0, len(mu), step):
        product = 1.0
        for j, values in enumerate(bounds):
            psi = _psi(values[None], mu[s:s + step, j:j + 1], sd[s:s + step, j:j + 1])
            up, low = at[j]
            product = product * np.maximum(psi[:, up] - psi[:, low], 0.0)  # (c, k)
        out[s:s + step] = product.sum(axis=1)
    return out


def model_reference(front: np.ndarray, observed: np.ndarray, margin: float = 0.1
                    ) -> np.ndarray:
    """A reference point for minimised values: the front's nadir pushed out by `margin`
    times the front's extent per objective (the observed extent where the front has
    none), much as BoTorch's `infer_reference_point` (Ishibuchi et al. 2018, Evol.
    Comput. 26(3), study how this choice weights the ends of the front)."""
    span = np.ptp(front, axis=0)
    span = np.where(span > 0, span, np.ptp(observed, axis=0))
    return front.max(axis=0) + margin * np.where(span > 0, span, 1.0)
