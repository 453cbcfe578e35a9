"""One-shot strategies: `spos` and `dnas` (the supernet is trained before the trials).

`nas search` sees these names and, before any trial, trains the supernet into
`<run>/checkpoints/supernet.pt` (see `nas.oneshot.hook`). Then:

* `spos` (Guo et al., ECCV 2020): genotypes come from an inner strategy (`search`,
  default `spos_evolution`; any registered strategy works, e.g. random or tpe) and are
  scored by the `supernet` evaluator with inherited weights;
* `dnas` (Wu et al., CVPR 2019, FBNet): the first genotype is the argmax of the learned
  architecture parameters; later ones are sampled from their softmax (FBNet samples
  several architectures from the trained distribution), each asked once.

Options: `supernet` (training options, see `trainers.oneshot.config`), `rank_check`
({top_k, epochs, ...}: stand-alone short training of the top-k after the search, Kendall
tau stored in `<run>/oneshot.json`).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from . import spos_evolution
from .base import STRATEGIES, Strategy, make_strategy

__all__ = ["SPOSSearch", "DNASSearch", "ONESHOT"]

ONESHOT = ("spos", "dnas")


class _OneShot(Strategy):
    """Shared option checks of the one-shot strategies. (Whether the space has a
    supernet is checked when `nas search` trains it.)"""

    mode = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from trainers.oneshot.config import oneshot_config

        oneshot_config(self.options["supernet"], mode=self.mode)  # validate early


@STRATEGIES.register("spos")
class SPOSSearch(_OneShot):
    """Single-path one-shot: an inner strategy asks, inherited weights score."""

    name, mode = "spos", "spos"
    defaults = {"supernet": {}, "search": "spos_evolution", "search_options": {},
                "rank_check": {}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options["search"] in ONESHOT:
            raise UserError(f"spos option 'search' picks the strategy that asks for "
                            f"genotypes; it cannot be {self.options['search']!r}")
        self.inner = make_strategy(self.options["search"], self.space, self.objectives,
                                   self.seed, self.options["search_options"])

    def ask(self) -> Genotype:
        self.n_asked += 1
        return self.inner.ask()

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        self.inner.tell(genotype, metrics)

    def cancel(self, genotype: Genotype) -> None:
        self.inner.cancel(genotype)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "inner": self.inner.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.inner.load_state_dict(state["inner"])


@STRATEGIES.register("dnas")
class DNASSearch(_OneShot):
    """FBNet DNAS: argmax of theta first, then samples from softmax(theta / T).

    `arch` is the file of trained parameters `nas search` writes; without one theta is
    0 (the untrained, uniform distribution).
    """

    name, mode = "dnas", "dnas"
    defaults = {"supernet": {}, "arch": "", "temperature": 1.0, "max_tries": 200,
                "rank_check": {}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options["temperature"] <= 0:
            raise UserError("dnas option 'temperature' must be > 0")
        self.seen: set[str] = set()
        self._dist: list[tuple[str, list, np.ndarray]] | None = None
        self._argmax: Genotype | None = None

    def _distribution(self) -> list[tuple[str, list, np.ndarray]]:
        """(decision, choices, probabilities) per decision, and the argmax genotype."""
        if self._dist is None:
            arch = self._read_arch()
            thetas = {}
            if arch is not None:
                thetas = {name: (list(arch["candidates"]), np.asarray(row, dtype=float))
                          for name, row in zip(arch["decisions"], arch["theta"])}
                self._argmax = self.space.validate(Genotype.from_dict(arch["genotype"]))
            self._dist = []
            for d in self.space.decisions():
                choices, theta = thetas.get(d.name, (list(d.choices), np.zeros(len(d.choices))))
                z = theta / self.options["temperature"]
                p = np.exp(z - z.max())
                self._dist.append((d.name, choices, p / p.sum()))
            if self._argmax is None:
                self._argmax = self.space.genotype(
                    {name: choices[int(np.argmax(p))] for name, choices, p in self._dist})
        return self._dist

    def _read_arch(self) -> dict[str, Any] | None:
        path = self.options["arch"]
        if not path:
            return None
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read DNAS architecture file {path!r}: {exc}") from None

    def ask(self) -> Genotype:
        dist = self._distribution()
        rng = np.random.default_rng([self.seed, self.n_asked])
        first = self.n_asked == 0
        self.n_asked += 1
        genotype = self._argmax if first else self._sample(dist, rng)
        self.seen.add(genotype.key)
        return genotype

    def _sample(self, dist, rng: np.random.Generator) -> Genotype:
        genotype = None
        for _ in range(self.options["max_tries"]):
            genotype = self.space.genotype(
                {name: choices[int(rng.choice(len(p), p=p))] for name, choices, p in dist})
            if genotype.key not in self.seen:
                break
        return genotype

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        """The distribution is fixed after supernet training; nothing to learn."""

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seen": sorted(self.seen)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.seen = set(state["seen"])
