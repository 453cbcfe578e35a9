"""bo's acquisition over a fixed candidate pool, for one pick or a batch of picks.

EI (Jones et al. 1998) for one target column, or exact EHVI (`mobo`) for one column per
objective, times the probability of meeting each constraint (Gardner et al. 2014). A batch
is picked greedily: each pick joins every model at its posterior mean (kriging believer,
Ginsbourger et al. 2010; `gp.PoolPosterior`) and, for EHVI, the front at its mean, before
the next pick is scored, as sequential asks with the earlier picks pending would do.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nas.pareto.fronts import pareto_mask

from .gp import PoolPosterior, expected_improvement, prob_between
from .mobo import box_decomposition, expected_hvi, model_reference

__all__ = ["PoolAcquisition"]


class PoolAcquisition:
    """Scores of the pool rows under `objectives` (one posterior per target column) and
    `constraints` ((posterior, upper bound) in the model's units), best first."""

    def __init__(self, objectives: Sequence[PoolPosterior],
                 constraints: Sequence[tuple[PoolPosterior, float]], targets: np.ndarray,
                 feasible: np.ndarray, believed: np.ndarray, xi: float = 0.0) -> None:
        """`targets` (n, t) and `feasible` (n,) of every measured observation (the
        incumbent, the front); `believed` (p, t): pending genotypes at their means; EI
        counts improvement over the incumbent plus `xi` (Lizotte 2008)."""
        self.objectives, self.constraints = list(objectives), list(constraints)
        self.targets, self.feasible, self.xi = targets, feasible, xi
        self._front_points = -np.vstack([targets[feasible], believed])  # minimised

    def scores(self) -> np.ndarray:
        """Acquisition value of every pool row given the picks so far."""
        mu = np.column_stack([p.mu for p in self.objectives])
        sd = np.column_stack([p.sd for p in self.objectives])
        if not self.feasible.any():
            score = np.ones(len(mu))
        elif mu.shape[1] == 1:
            score = expected_improvement(mu[:, 0], sd[:, 0],
                                         self.targets[self.feasible, 0].max() + self.xi)
        else:
            front = self._front_points[pareto_mask(self._front_points)]
            lower, upper = box_decomposition(front, model_reference(front, -self.targets))
            score = expected_hvi(-mu, sd, lower, upper)
        for posterior, bound in self.constraints:
            score = score * prob_between(posterior.mu, posterior.sd, None, bound)
        if not np.any(score > 0):  # the acquisition underflowed everywhere: be optimistic
            score = mu.sum(1) + sd.sum(1)
        return score

    def add(self, i: int) -> None:
        """Pool row i was picked: every model (and an EHVI front) believes its mean."""
        if len(self.objectives) > 1 and self.feasible.any():
            believed = np.array([[-p.mu[i] for p in self.objectives]])
            self._front_points = np.vstack([self._front_points, believed])
        for posterior in self.objectives + [p for p, _ in self.constraints]:
            posterior.add(i)
