"""A GP posterior over a candidate pool, computed only at the rows that are asked for.

`PoolPosterior` computes every pool row; a constraint's P(feasible) only matters where the
objective's score is high enough to win (the acquisition is EI x P(feasible) <= EI, so the
rows are visited best EI first and the visit stops once the best product beats every
unvisited EI: branch and bound, exact). `LazyPoolPosterior` computes rows on demand and
replays the kriging-believer updates of the picks made so far (Ginsbourger et al. 2010;
GPML Eq. 2.24, one point at a time) for them, so every row it computes equals
`PoolPosterior`'s up to rounding (both keep the whitened columns in `gp.POOL_DTYPE`).
"""
from __future__ import annotations

import math

import numpy as np

from .gp import _JITTER, _VAR_FLOOR, POOL_DTYPE, GaussianProcess, gp_columns

__all__ = ["LazyPoolPosterior"]


class LazyPoolPosterior:
    """Posterior mean and sd of `gp` at rows of Xc (c, d), each computed the first time
    it is asked for (`at`), and conditioned on the rows `add`ed at their means."""

    def __init__(self, gp: GaussianProcess, Xc: np.ndarray) -> None:
        self.gp, self.Xc = gp, Xc
        c = len(Xc)
        self.known = np.zeros(c, dtype=bool)
        self.mu, self.var = np.zeros(c), np.zeros(c)
        # whitened cross-kernel columns of the known rows
        self._v = np.zeros((len(gp.X), c), dtype=POOL_DTYPE)
        self._noise = gp._unpack(gp.theta)[2] + _JITTER
        self._picks: list[tuple[int, float, np.ndarray]] = []  # (row, scale, update u)

    def at(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) at `rows`, computing the ones not yet known."""
        new = rows[~self.known[rows]]
        if len(new):
            self._compute(np.unique(new))
        return self.mu[rows], np.sqrt(self.var[rows])

    def _compute(self, new: np.ndarray) -> None:
        v, self.mu[new], var = gp_columns(self.gp, self.Xc[new])
        self._v[:, new] = v
        for m, (i, scale, u) in enumerate(self._picks):  # replay the picks' updates
            cov = self._cov(new, i, v)
            for _, _, earlier in self._picks[:m]:
                cov -= earlier[new] * earlier[i]
            u[new] = cov / scale
            var = np.maximum(var - u[new] * u[new], _VAR_FLOOR)
        self.var[new] = var
        self.known[new] = True

    def _cov(self, rows: np.ndarray, i: int, v_rows: np.ndarray) -> np.ndarray:
        """Prior-posterior covariance of `rows` with row i (before the picks' updates)."""
        gp = self.gp
        return (gp._kernel(self.Xc[rows], self.Xc[i:i + 1], gp.ls, gp.sf, POOL_DTYPE)[:, 0]
                - v_rows.T @ self._v[:, i])

    def add(self, i: int) -> None:
        """Condition on row i observed at its current mean."""
        self.at(np.array([i]))
        rows = np.flatnonzero(self.known)
        cov = self._cov(rows, i, self._v[:, rows])
        at_i = int(np.searchsorted(rows, i))
        for _, _, earlier in self._picks:
            cov -= earlier[rows] * earlier[i]
        scale = math.sqrt(max(cov[at_i], 0.0) + self._noise)
        u = np.zeros(len(self.Xc))
        u[rows] = cov / scale
        self._picks.append((i, scale, u))
        self.var[rows] = np.maximum(self.var[rows] - u[rows] * u[rows], _VAR_FLOOR)
