"""bo's acquisition over a fixed candidate pool, for one pick or a batch of picks.

EI (Jones et al. 1998) for one target column, or exact EHVI (`mobo`) for one column per
objective, times the probability of meeting each constraint (Gardner et al. 2014). A batch
is picked greedily: each pick joins every model at its posterior mean (kriging believer,
Ginsbourger et al. 2010; `gp.PoolPosterior`) and, for EHVI, the front at its mean, before
the next pick is scored, as sequential asks with the earlier picks pending would do.
Constraint models are lazy (`LazyPoolPosterior`): since P(feasible) <= 1, the score is at
most the objective's, so `best` visits rows in chunks, best objective score first, and
stops once its best product beats every unvisited row's objective score (branch and
bound: the same pick as scoring every row, usually from the first chunk).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nas.pareto.fronts import pareto_mask

from .gp import PoolPosterior, expected_improvement, prob_between
from .lazy_posterior import LazyPoolPosterior
from .mobo import box_decomposition, expected_hvi, model_reference

__all__ = ["PoolAcquisition"]

_CHUNK = 256  # rows whose constraint models are computed at once


class PoolAcquisition:
    """Scores of the pool rows under `objectives` (one posterior per target column) and
    `constraints` ((posterior, upper bound) in the model's units), best first."""

    def __init__(self, objectives: Sequence[PoolPosterior],
                 constraints: Sequence[tuple[LazyPoolPosterior, float]], targets: np.ndarray,
                 feasible: np.ndarray, believed: np.ndarray, xi: float = 0.0) -> None:
        """`targets` (n, t) and `feasible` (n,) of every measured observation (the
        incumbent, the front); `believed` (p, t): pending genotypes at their means; EI
        counts improvement over the incumbent plus `xi` (Lizotte 2008)."""
        self.objectives, self.constraints = list(objectives), list(constraints)
        self.targets, self.feasible, self.xi = targets, feasible, xi
        self._front_points = -np.vstack([targets[feasible], believed])  # minimised
        self._visit: tuple | None = None  # (objective scores, their order, scores, visited)

    def best(self, taken: np.ndarray) -> int | None:
        """The row not `taken` with the highest score (lowest index among equals, as a
        stable sort of every row's score), or None when every row is taken."""
        if self._visit is None:  # scores since the last pick: computed once
            bound = self._objective_scores()
            self._visit = (bound, np.argsort(-bound, kind="stable"),
                           np.full(len(bound), -np.inf), [0])
        bound, order, score, done = self._visit
        score[taken] = -np.inf
        while done[0] < len(order):
            if score.max() > bound[order[done[0]]]:
                break
            chunk = order[done[0]:done[0] + _CHUNK] if self.constraints else order
            chunk = chunk[~taken[chunk]]
            score[chunk] = bound[chunk] * self._feasibility(chunk)
            done[0] += _CHUNK if self.constraints else len(order)
        if taken.all():
            return None
        if not np.any(score > 0):  # the acquisition underflowed everywhere: be optimistic
            mu = np.column_stack([p.mu for p in self.objectives])
            sd = np.column_stack([p.sd for p in self.objectives])
            return int(np.argmax(np.where(taken, -np.inf, mu.sum(1) + sd.sum(1))))
        return int(np.argmax(score))

    def _objective_scores(self) -> np.ndarray:
        """EI or EHVI of every pool row (1 everywhere before any feasible observation)."""
        mu = np.column_stack([p.mu for p in self.objectives])
        sd = np.column_stack([p.sd for p in self.objectives])
        if not self.feasible.any():
            return np.ones(len(mu))
        if mu.shape[1] == 1:
            return expected_improvement(mu[:, 0], sd[:, 0],
                                        self.targets[self.feasible, 0].max() + self.xi)
        front = self._front_points[pareto_mask(self._front_points)]
        lower, upper = box_decomposition(front, model_reference(front, -self.targets))
        return expected_hvi(-mu, sd, lower, upper)

    def _feasibility(self, rows: np.ndarray) -> np.ndarray:
        """Product of the constraints' P(meets its bound) at `rows`."""
        p = np.ones(len(rows))
        for posterior, bound in self.constraints:
            mu, sd = posterior.at(rows)
            p = p * prob_between(mu, sd, None, bound)
        return p

    def add(self, i: int) -> None:
        """Pool row i was picked: every model (and an EHVI front) believes its mean."""
        self._visit = None
        if len(self.objectives) > 1 and self.feasible.any():
            believed = np.array([[-p.mu[i] for p in self.objectives]])
            self._front_points = np.vstack([self._front_points, believed])
        for posterior in self.objectives + [p for p, _ in self.constraints]:
            posterior.add(i)
