"""SPOS evolutionary search over a trained supernet (Guo et al., ECCV 2020, Sec. 3.4,
Alg. 1), as a steady-state ask/tell strategy.

The first `population` asks are uniform samples; afterwards each ask breeds a child of
the `top_k` best genotypes told so far: crossover (each decision from either of two
parents) or mutation (each decision resampled with probability `mutation_prob`;
Guo et al. use population 50, top-k 10, mutation probability 0.1). Constraints (params,
MACs, table latency) are met by rejection, as in the paper: infeasible or already
asked genotypes are redrawn. Ranking uses the first objective.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .base import STRATEGIES, Strategy

__all__ = ["SPOSEvolution", "Constraints"]


class Constraints:
    """Params / MACs / table-latency limits of a space; 0 means no limit. Costs are
    computed once per genotype."""

    def __init__(self, space, max_params: float, max_macs: float, max_latency_ms: float,
                 latency_table: str) -> None:
        self.space, self.limits = space, (max_params, max_macs, max_latency_ms)
        self.table = None
        if max_latency_ms > 0:
            if not latency_table:
                raise UserError("max_latency_ms needs the option latency_table (a table "
                                "from `nas latency-table`)")
            from trainers.oneshot.latency import LatencyTable

            self.table = LatencyTable.load(latency_table, space)
        self._cost: dict[str, tuple[float, float, float]] = {}

    @property
    def active(self) -> bool:
        return any(limit > 0 for limit in self.limits)

    def cost(self, genotype: Genotype) -> tuple[float, float, float]:
        if genotype.key not in self._cost:
            from trainers.cost import count_macs, count_params

            params = macs = 0.0
            if self.limits[0] > 0 or self.limits[1] > 0:
                model = self.space.build(genotype)
                params = float(count_params(model))
                macs = float(count_macs(model, self.space.input_size())) if self.limits[1] else 0.0
            latency = self.table.predict(genotype) if self.table is not None else 0.0
            self._cost[genotype.key] = (params, macs, latency)
        return self._cost[genotype.key]

    def ok(self, genotype: Genotype) -> bool:
        if not self.active:
            return True
        return all(limit <= 0 or value <= limit
                   for value, limit in zip(self.cost(genotype), self.limits))


@STRATEGIES.register("spos_evolution")
class SPOSEvolution(Strategy):
    """Crossover + mutation of the top-k told genotypes, with constraint rejection."""

    name = "spos_evolution"
    defaults = {"population": 50, "top_k": 10, "mutation_prob": 0.1,
                "crossover_fraction": 0.5, "max_params": 0.0, "max_macs": 0.0,
                "max_latency_ms": 0.0, "latency_table": "", "max_tries": 200}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        o = self.options
        if o["population"] < 1 or o["top_k"] < 1 or not 0 <= o["mutation_prob"] <= 1:
            raise UserError("spos_evolution needs population >= 1, top_k >= 1 and "
                            "mutation_prob in [0, 1]")
        self.constraints = Constraints(self.space, o["max_params"], o["max_macs"],
                                       o["max_latency_ms"], o["latency_table"])
        self.history: list[tuple[dict, float | None]] = []
        self.seen: set[str] = set()

    # ----- breeding -----------------------------------------------------------------
    def _parents(self) -> list[Genotype]:
        sign = 1.0 if self.objectives[0].direction == "maximize" else -1.0
        scored = [(sign * v, Genotype.from_dict(g)) for g, v in self.history if v is not None]
        scored.sort(key=lambda item: -item[0])
        return [g for _, g in scored[:self.options["top_k"]]]

    def _child(self, parents: list[Genotype], rng: np.random.Generator) -> Genotype:
        o = self.options
        if len(parents) >= 2 and rng.random() < o["crossover_fraction"]:
            a, b = rng.choice(len(parents), size=2, replace=False)
            pick = {d.name: parents[a if rng.random() < 0.5 else b][d.name]
                    for d in self.space.decisions()}
            return self.space.genotype(pick)
        parent = parents[int(rng.integers(len(parents)))]
        pick = {d.name: (d.choices[int(rng.integers(len(d.choices)))]
                         if rng.random() < o["mutation_prob"] else parent[d.name])
                for d in self.space.decisions()}
        return self.space.genotype(pick)

    def ask(self) -> Genotype:
        rng = np.random.default_rng([self.seed, self.n_asked])
        self.n_asked += 1
        parents = self._parents() if self.n_asked > self.options["population"] else []
        candidate = None
        for _ in range(self.options["max_tries"]):
            candidate = self._child(parents, rng) if parents else self.space.sample(rng)
            if candidate.key not in self.seen and self.constraints.ok(candidate):
                break
        else:
            if not self.constraints.ok(candidate):
                raise UserError(f"spos_evolution found no genotype meeting the constraints "
                                f"in {self.options['max_tries']} draws; relax max_params/"
                                "max_macs/max_latency_ms")
        self.seen.add(candidate.key)
        return candidate

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        values = self.values(metrics)
        value = values[0] if values and np.isfinite(values[0]) else None
        self.history.append((genotype.to_dict(), value))

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "history": [[g, v] for g, v in self.history],
                "seen": sorted(self.seen)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.history = [(dict(g), v) for g, v in state["history"]]
        self.seen = set(state["seen"])
