"""Optuna samplers (TPE; Bergstra et al. 2011, Watanabe 2023) behind our ask/tell API.

The Optuna study is in memory; state_dict() holds the trial history in ask order, and
load_state_dict() replays it, so the next ask sees exactly the same study.
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping

import optuna

from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .base import STRATEGIES, Strategy

__all__ = ["OptunaStrategy", "TPEStrategy"]


class OptunaStrategy(Strategy):
    """Base for Optuna-sampler strategies; subclasses implement `make_sampler(seed)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._distributions = self.space.distributions()
        self._history: list[dict[str, Any]] = []  # ask order: params, values, state
        self._pending: dict[str, tuple[int, optuna.trial.Trial]] = {}
        self._study = self._new_study()

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    def _new_study(self) -> optuna.Study:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return optuna.create_study(directions=[o.direction for o in self.objectives],
                                   sampler=self.make_sampler(self.seed))

    def ask(self) -> Genotype:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._study.sampler = self.make_sampler(self.seed * 1_000_003 + self.n_asked)
            trial = self._study.ask(self._distributions)
        genotype = self.space.genotype(trial.params)
        self._history.append({"params": dict(trial.params), "values": None, "state": "running"})
        self._pending[genotype.key] = (len(self._history) - 1, trial)
        self.n_asked += 1
        return genotype

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        index, trial = self._pending.pop(genotype.key)
        values = self.values(metrics)
        state = optuna.trial.TrialState.COMPLETE if values else optuna.trial.TrialState.FAIL
        self._study.tell(trial, values, state=state)
        self._history[index].update(values=values, state=state.name.lower())

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "history": [dict(h) for h in self._history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self._history, self._pending = [], {}
        self._study = self._new_study()
        for entry in state["history"]:
            self._history.append(dict(entry))
            if entry["state"] == "running":
                self._study.enqueue_trial(entry["params"])
                trial = self._study.ask(self._distributions)
                self._pending[self.space.genotype(trial.params).key] = (
                    len(self._history) - 1, trial)
                continue
            done = optuna.trial.TrialState[entry["state"].upper()]
            self._study.add_trial(optuna.trial.create_trial(
                params=entry["params"], distributions=self._distributions,
                values=entry["values"], state=done))


@STRATEGIES.register("tpe")
class TPEStrategy(OptunaStrategy):
    """Optuna's TPE sampler, multivariate (Falkner et al. 2018 style joint density)."""

    name = "tpe"
    defaults = {"n_startup_trials": 10, "multivariate": True}

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=seed % 2**32,
                                          n_startup_trials=self.options["n_startup_trials"],
                                          multivariate=self.options["multivariate"])
