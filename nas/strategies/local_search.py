"""Local search baseline: best-first neighbourhood search with restarts, de-duplicated.

White, Nolen, Nolen & Savani 2021 (UAI), "Local search is state of the art for neural
architecture search benchmarks": start from the best of `n_init` random genotypes and
evaluate its one-decision neighbours (`Space.neighbours`) in random order; as soon as a
better genotype is told, climb to it. For several objectives or constraints the centre is
the best unexplored genotype by constrained domination, i.e. Pareto local search (Paquete,
Chiarandini & Stuetzle 2004). When every measured genotype is explored, restart randomly.
"""
from __future__ import annotations

from typing import Any, Mapping

from search_spaces.genotype import Genotype

from .base import STRATEGIES
from .evolution import unseen_sample
from .observations import HistoryStrategy

__all__ = ["LocalSearch"]


@STRATEGIES.register("local")
class LocalSearch(HistoryStrategy):
    """Hill climbing over `Space.neighbours`, never asking a genotype twice."""

    name = "local"
    defaults = {"n_init": 10, "tries": 100}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_positive("tries")
        self.explored: set[str] = set()
        self.centre: str | None = None
        self.queue: list[Genotype] = []

    def ask(self) -> Genotype:
        rng = self.rng()
        self.n_asked += 1
        if len(self.history.observations) + len(self.history.pending) >= self.options["n_init"]:
            while (centre := self._centre()) is not None:
                if centre.key != self.centre:  # climb: a better genotype was told
                    self.centre = centre.key
                    neighbours = self.space.neighbours(centre)
                    self.queue = [neighbours[i] for i in rng.permutation(len(neighbours))]
                while self.queue:
                    candidate = self.queue.pop(0)
                    if self.history.is_new(candidate):
                        return self.history.asked(candidate)
                self.explored.add(centre.key)  # a local optimum (or a finished front member)
        return self.history.asked(unseen_sample(self, self.history, rng, self.options["tries"]))

    def _centre(self) -> Genotype | None:
        """The best measured genotype whose neighbourhood is not yet exhausted."""
        for i in self.history.order(self.history.measured()):
            genotype = self.history.observations[i].genotype
            if genotype.key not in self.explored:
                return genotype
        return None

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "explored": sorted(self.explored), "centre": self.centre,
                "queue": [g.to_dict() for g in self.queue]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.explored = set(state["explored"])
        self.centre = state["centre"]
        self.queue = [Genotype.from_dict(g) for g in state["queue"]]
