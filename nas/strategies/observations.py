"""What a model-free or model-based strategy remembers: asks, tells, and their ranking.

Ranking follows constrained domination (Deb et al. 2002, NSGA-II, Sec. IV-B): a feasible
trial beats an infeasible one, two infeasible trials compare by total violation, two
feasible ones by Pareto rank (a single objective: by value). Failed trials rank last.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from nas.pareto.fronts import non_dominated_sort, to_minimisation
from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .base import Strategy

__all__ = ["Observation", "History", "HistoryStrategy"]


@dataclass(frozen=True)
class Observation:
    """One told trial: objective values in the user's directions, the violation of each
    constraint (<= 0 satisfied) and their positive sum; all None when the trial failed."""

    genotype: Genotype
    values: tuple[float, ...] | None
    violations: tuple[float, ...] | None

    @property
    def violation(self) -> float | None:
        """Total violation, 0 when feasible."""
        if self.violations is None:
            return None
        return float(sum(max(v, 0.0) for v in self.violations))

    @property
    def failed(self) -> bool:
        return self.values is None

    def to_dict(self) -> dict[str, Any]:
        def plain(seq):
            return list(seq) if seq is not None else None

        return {"genotype": self.genotype.to_dict(), "values": plain(self.values),
                "violations": plain(self.violations)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Observation":
        def frozen(seq):
            return tuple(seq) if seq is not None else None

        return cls(Genotype.from_dict(data["genotype"]), frozen(data["values"]),
                   frozen(data["violations"]))


class History:
    """Told observations (in tell order) and pending asks of one strategy."""

    def __init__(self, strategy) -> None:
        self.strategy = strategy
        self.function_key = strategy.space.function_key
        self.directions = [o.direction for o in strategy.objectives]
        self.observations: list[Observation] = []
        self.pending: list[Genotype] = []
        #: function keys (`Space.function_key`) of every asked or told genotype
        self.seen: set[str] = set()

    # ----- recording ----------------------------------------------------------------
    def asked(self, genotype: Genotype) -> Genotype:
        self.pending.append(genotype)
        self.seen.add(self.function_key(genotype))
        return genotype

    def cancelled(self, genotype: Genotype) -> None:
        """Drop the latest pending ask of `genotype` (it stays seen: never asked again)."""
        for i in range(len(self.pending) - 1, -1, -1):
            if self.pending[i].key == genotype.key:
                del self.pending[i]
                return

    def told(self, genotype: Genotype, metrics: Metrics) -> Observation:
        """Record a result; a genotype that was not asked counts as an outside observation."""
        for i, g in enumerate(self.pending):
            if g.key == genotype.key:
                del self.pending[i]
                break
        values = self.strategy.measured(metrics)
        violations = tuple(self.strategy.violations(metrics)) if values is not None else None
        obs = Observation(genotype, tuple(values) if values is not None else None, violations)
        self.observations.append(obs)
        self.seen.add(self.function_key(genotype))
        return obs

    def is_new(self, genotype: Genotype) -> bool:
        """Whether no genotype computing the same function was asked or told."""
        return self.function_key(genotype) not in self.seen

    # ----- ranking --------------------------------------------------------------------
    def measured(self) -> list[int]:
        """Indices of observations with values (complete or infeasible)."""
        return [i for i, o in enumerate(self.observations) if not o.failed]

    def order(self, indices: Sequence[int] | None = None) -> list[int]:
        """`indices` (default: all) sorted best first by constrained domination."""
        idx = list(range(len(self.observations))) if indices is None else list(indices)
        if not idx:
            return []
        obs = [self.observations[i] for i in idx]
        ok = np.array([not o.failed for o in obs])
        violation = np.array([o.violation if o.violation is not None else np.inf for o in obs])
        primary = np.zeros(len(obs))
        feasible = ok & (violation <= 0)
        if feasible.any():
            values = np.array([obs[i].values for i in np.flatnonzero(feasible)], dtype=float)
            pts = to_minimisation(values, self.directions)
            primary[feasible] = pts[:, 0] if pts.shape[1] == 1 else non_dominated_sort(pts)
        # lexsort: last key is primary; stable on position, so earlier trials win ties
        keys = (np.arange(len(obs)), primary, violation, ~ok)
        return [idx[i] for i in np.lexsort(keys)]

    def best(self, indices: Sequence[int] | None = None) -> Observation | None:
        ranked = self.order(indices)
        return self.observations[ranked[0]] if ranked else None

    # ----- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"observations": [o.to_dict() for o in self.observations],
                "pending": [g.to_dict() for g in self.pending]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.observations = [Observation.from_dict(o) for o in state["observations"]]
        self.pending = [Genotype.from_dict(g) for g in state["pending"]]
        self.seen = {self.function_key(g) for g in
                     [o.genotype for o in self.observations] + self.pending}


class HistoryStrategy(Strategy):
    """A strategy whose memory is a `History`: `tell` records, `cancel` withdraws the
    pending ask, and the history is part of the state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history = History(self)

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        self.history.told(genotype, metrics)

    def cancel(self, genotype: Genotype) -> None:
        self.history.cancelled(genotype)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "history": self.history.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.history.load_state_dict(state["history"])
