"""Regularized (aging) evolution (Real et al. 2019, AAAI, "Regularized Evolution for Image
Classifier Architecture Search", Alg. 1), ask/tell and batch-friendly.

The population is the `population` most recently told trials (aging: the oldest dies, not
the worst). A child is a one-decision mutation (`Space.mutate`) of the winner of a
tournament among `sample` random members; the winner is picked by constrained domination
(feasible first, then Pareto rank), so the same code serves several objectives and hard
constraints. Children are de-duplicated against every told and in-flight genotype, by the
function they compute (`Space.function_key`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from search_spaces.genotype import Genotype

from .base import STRATEGIES, Strategy
from .observations import History, HistoryStrategy

__all__ = ["RegularizedEvolution", "unseen_sample"]


def unseen_sample(strategy: Strategy, history: History, rng: np.random.Generator,
                  tries: int) -> Genotype:
    """A uniform random genotype, pruned (`Space.prune`), whose function was not yet asked
    (the last draw if `tries` all collide)."""
    for _ in range(tries):
        genotype = strategy.space.prune(strategy.space.sample(rng))
        if history.is_new(genotype):
            break
    return genotype


@STRATEGIES.register("rea")
class RegularizedEvolution(HistoryStrategy):
    """Aging evolution: tournament of `sample` out of the last `population` told trials."""

    name = "rea"
    defaults = {"population": 20, "sample": 5, "tries": 100}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_positive("population", "sample", "tries")

    def ask(self) -> Genotype:
        rng = self.rng()
        self.n_asked += 1
        members = self._population()
        if len(members) < self.options["population"]:
            return self.history.asked(unseen_sample(self, self.history, rng,
                                                    self.options["tries"]))
        size = min(self.options["sample"], len(members))
        contestants = [members[i] for i in rng.choice(len(members), size, replace=False)]
        parent = self.history.observations[self.history.order(contestants)[0]].genotype
        for _ in range(self.options["tries"]):
            child = self.space.mutate(parent, rng)
            if self.history.is_new(child):
                return self.history.asked(child)
        return self.history.asked(unseen_sample(self, self.history, rng, self.options["tries"]))

    def _population(self) -> list[int]:
        """Indices of the `population` most recently told trials that were measured."""
        return self.history.measured()[-self.options["population"]:]
