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
    """Scores of the pool rows under `objectives` (posteriors of the target columns, one
    each or one for several) and `constraints` ((posterior, upper bound) in the model's
    units), best first."""

    def __init__(self, objectives: Sequence[PoolPosterior],
                 constraints: Sequence[tuple[LazyPoolPosterior, float]], targets: np.ndarray,
                 feasible: np.ndarray, believed: np.ndarray) -> None:
        """`targets` (n, t) and `feasible` (n,) of every measured observation (the
        incumbent, the front); `believed` (p, t): pending genotypes at their means."""
        self.objectives, self.constraints = list(objectives), list(constraints)
        self.targets, self.feasible = targets, feasible
        self._front_points = -np.vstack([targets[feasible], believed])  # minimised
        # since the last pick: objective scores, rows by them, exact scores, rows visited
        self._bound: np.ndarray | None = None
        self._order = self._score = np.zeros(0)
        self.visited = 0
        self._believed: list[int] = []  # picks not yet conditioned on (see `add`)

    def best(self, taken: np.ndarray) -> int | None:
        """The row not `taken` with the highest score (lowest index among equals, as a
        stable sort of every row's score), or None when every row is taken."""
        if self._bound is None:  # computed once per pick
            self._condition_on_picks()
            self._bound = self._objective_scores()
            self._score, self.visited = np.full(len(self._bound), -np.inf), 0
            self._order = np.argsort(-self._bound, kind="stable") if self.constraints \
                else np.arange(len(self._bound))  # no constraints: every row scored at once
        bound, order, score = self._bound, self._order, self._score
        score[taken] = -np.inf
        while self.visited < len(order):
            if self.constraints and score.max() > bound[order[self.visited]]:
                break
            step = _CHUNK if self.constraints else len(order)
            chunk = order[self.visited:self.visited + step]
            chunk = chunk[~taken[chunk]]
            score[chunk] = bound[chunk] * self._feasibility(chunk)
            self.visited += step
        if taken.all():
            return None
        if not np.any(score > 0):  # the acquisition underflowed everywhere: be optimistic
            mu, sd = self._moments()
            return int(np.argmax(np.where(taken, -np.inf, mu.sum(1) + sd.sum(1))))
        return int(np.argmax(score))

    def _objective_scores(self) -> np.ndarray:
        """EI or EHVI of every pool row (1 everywhere before any feasible observation)."""
        mu, sd = self._moments()
        if not self.feasible.any():
            return np.ones(len(mu))
        if mu.shape[1] == 1:
            return expected_improvement(mu[:, 0], sd[:, 0],
                                        self.targets[self.feasible, 0].max())
        front = self._front_points[pareto_mask(self._front_points)]
        lower, upper = box_decomposition(front, model_reference(front, -self.targets))
        return expected_hvi(-mu, sd, lower, upper)

    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and sds (c, t) of the target columns at every pool row; a
        posterior of several columns (one GP shared by the objectives) has one sd."""
        mu = np.column_stack([p.mu for p in self.objectives])
        sd = np.column_stack([np.repeat(p.sd[:, None], 1 if p.mu.ndim == 1 else p.mu.shape[1],
                                        axis=1) for p in self.objectives])
        return mu, sd

    def _feasibility(self, rows: np.ndarray) -> np.ndarray:
        """Product of the constraints' P(meets its bound) at `rows`."""
        p = np.ones(len(rows))
        for posterior, bound in self.constraints:
            mu, sd = posterior.at(rows)
            p = p * prob_between(mu, sd, None, bound)
        return p

    def add(self, i: int) -> None:
        """Pool row i was picked: every model (and an EHVI front) believes its mean before
        the next pick is scored (deferred to that `best`, so the last pick costs nothing)."""
        self._bound = None
        self._believed.append(i)

    def _condition_on_picks(self) -> None:
        for i in self._believed:
            if self.targets.shape[1] > 1 and self.feasible.any():
                believed = -np.concatenate([np.atleast_1d(p.mu[i]) for p in self.objectives])
                self._front_points = np.vstack([self._front_points, believed[None]])
            for posterior in self.objectives + [p for p, _ in self.constraints]:
                posterior.add(i)
        self._believed.clear()
