"""The ask/tell strategy interface (after Optuna `BaseSampler` and NNI strategy state)."""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nas.pareto.constraints import Constraint, violations
from search_spaces.errors import UserError, unknown_choice
from search_spaces.genotype import Genotype
from search_spaces.registry import Registry
from search_spaces.space import Space
from trainers.metrics import COMPLETE, INFEASIBLE, Metrics

__all__ = ["Objective", "Strategy", "STRATEGIES", "make_strategy"]

DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class Objective:
    """A metric name (objective or cost key of `Metrics`) and its direction."""

    name: str
    direction: str = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise unknown_choice(f"direction of objective {self.name!r}", self.direction,
                                 DIRECTIONS)


class Strategy(abc.ABC):
    """Ask for genotypes, tell their metrics; everything needed to resume is in state_dict().

    Subclasses declare typed option `defaults`. Randomness is derived from (seed, number
    of asks so far), so a strategy restored from state_dict continues exactly, and a
    fresh strategy replaying the same asks and tells makes the same asks (the driver's
    resume relies on this). Hard `constraints` are honoured by each strategy in its own
    way; `tell` may also receive genotypes it did not ask for (external observations).
    """

    name: str = ""
    defaults: dict[str, Any] = {}
    option_kinds: dict[str, tuple[type, ...]] = {}  # types an option accepts, if not its default's

    def __init__(self, space: Space, objectives: Sequence[Objective], seed: int = 0, *,
                 constraints: Sequence[Constraint] = (), **options: Any) -> None:
        self.space = space
        self.objectives = list(objectives)
        self.constraints = tuple(constraints)
        self.seed = int(seed)
        self.options = self._resolve(options)
        self.n_asked = 0

    @classmethod
    def _resolve(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        resolved = dict(cls.defaults)
        for key, value in options.items():
            if key not in cls.defaults:
                raise unknown_choice(f"option of strategy {cls.name!r}", key, cls.defaults)
            kinds = cls.option_kinds.get(key, (type(cls.defaults[key]),))
            if float in kinds and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kinds):
                names = " or ".join(k.__name__ for k in kinds)
                raise UserError(f"strategy option {key!r} must be {names}, got {value!r}")
            resolved[key] = value
        return resolved

    def require_positive(self, *keys: str) -> None:
        """Raise `UserError` unless each named option is at least 1."""
        for key in keys:
            if self.options[key] < 1:
                raise UserError(f"option {key!r} of strategy {self.name!r} must be at least 1, "
                                f"got {self.options[key]}")

    def values(self, metrics: Metrics) -> list[float] | None:
        """The objective values of a complete trial (None for a failed one)."""
        return [metrics.value(o.name) for o in self.objectives] if metrics.ok else None

    def measured(self, metrics: Metrics) -> list[float] | None:
        """Objective values of a complete or infeasible trial (None when not all finite)."""
        if metrics.status not in (COMPLETE, INFEASIBLE):
            return None
        values = [metrics.value(o.name) for o in self.objectives]
        return values if all(math.isfinite(v) for v in values) else None

    def violations(self, metrics: Metrics) -> list[float] | None:
        """Per-constraint violation (<= 0 satisfied), [] without constraints, None if failed."""
        return violations(self.constraints, metrics)

    def rng(self) -> np.random.Generator:
        """The generator of the current ask, derived from (seed, n_asked)."""
        return np.random.default_rng([self.seed, self.n_asked])

    @abc.abstractmethod
    def ask(self) -> Genotype:
        """Propose the next genotype."""

    def ask_batch(self, k: int) -> list[Genotype]:
        """Propose k genotypes at once (the driver asks ahead in batches). Strategies with
        a model override this to fit it once per batch; `ask_batch(1)` must equal `ask`."""
        return [self.ask() for _ in range(k)]

    @abc.abstractmethod
    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        """Report the result of a genotype returned by `ask`."""

    def cancel(self, genotype: Genotype) -> None:
        """Withdraw the latest ask of `genotype`: it will never be told (the driver discards
        an ask whose genotype is already in flight). Strategies that keep asks pending
        override this; one that keeps nothing per ask has nothing to withdraw."""

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed, "n_asked": self.n_asked}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("name") != self.name:
            raise UserError(f"saved strategy state is for {state.get('name')!r}, "
                            f"not {self.name!r}")
        self.seed, self.n_asked = int(state["seed"]), int(state["n_asked"])


# The modules that register the built-in strategies, imported on the first lookup.
STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategy", modules=tuple(
    f"nas.strategies.{m}" for m in ("random", "optuna_samplers", "evolution", "local_search",
                                    "bo", "oneshot")))


def make_strategy(name: str, space: Space, objectives: Sequence[Objective], seed: int = 0,
                  options: Mapping[str, Any] | None = None,
                  constraints: Sequence[Constraint] = ()) -> Strategy:
    """Build the registered strategy `name`."""
    return STRATEGIES.get(name)(space, objectives, seed, constraints=constraints,
                                **dict(options or {}))
