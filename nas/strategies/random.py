"""Random search (Bergstra & Bengio 2012; Li & Talwalkar 2019 as a NAS baseline)."""
from __future__ import annotations

import numpy as np

from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .base import STRATEGIES, Strategy

__all__ = ["RandomSearch"]


@STRATEGIES.register("random")
class RandomSearch(Strategy):
    """Uniform sampling from the space; the i-th ask uses rng seeded by (seed, i)."""

    name = "random"

    def ask(self) -> Genotype:
        rng = np.random.default_rng([self.seed, self.n_asked])
        self.n_asked += 1
        return self.space.sample(rng)

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        """Random search learns nothing."""
