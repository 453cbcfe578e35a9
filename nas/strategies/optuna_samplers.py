"""Optuna samplers behind our ask/tell API: TPE (Bergstra et al. 2011; Watanabe 2023),
NSGA-II (Deb et al. 2002), NSGA-III (Deb & Jain 2014) and GP-BO (Optuna's GPSampler).

The Optuna study is in memory. state_dict() holds every trial in ask order with its
params, values, state and system attributes (NSGA generations, constraint values) plus
the study's system attributes (NSGA parent caches); load_state_dict() rebuilds exactly
that study without re-running the sampler, so the next ask sees the same study. The
sampler is re-seeded from (seed, n_asked) on every ask. Hard constraints are set on each
trial before it is told, as `Trial.set_constraint` does (Optuna >= 5 samplers read them
from the trial; violation <= 0 is feasible).
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping

import optuna

from search_spaces.genotype import Genotype
from trainers.metrics import Metrics

from .base import STRATEGIES, Strategy

__all__ = ["OptunaStrategy", "TPEStrategy", "NSGAIIStrategy", "NSGAIIIStrategy", "GPStrategy"]

_State = optuna.trial.TrialState
_CONSTRAINTS = "constraints"  # Optuna's system-attribute prefix for constraint values


class OptunaStrategy(Strategy):
    """Base for Optuna-sampler strategies; subclasses implement `make_sampler(seed)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._distributions = self.space.distributions()
        self._pending: dict[str, list[int]] = {}  # genotype key -> trial numbers in flight
        self._study = self._new_study()

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    def _set_constraints(self, number: int, metrics: Metrics) -> None:
        """Store the violations on the trial (what `Trial.set_constraint` writes)."""
        storage, sid = self._study._storage, self._study._study_id
        trial_id = storage.get_trial_id_from_study_id_trial_number(sid, number)
        for constraint, value in zip(self.constraints, self.violations(metrics)):
            storage.set_trial_system_attr(trial_id, f"{_CONSTRAINTS}:{constraint.name}",
                                          min(value, 1e300))

    def _new_study(self) -> optuna.Study:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.create_study(directions=[o.direction for o in self.objectives],
                                       sampler=self.make_sampler(self.seed))

    def ask(self) -> Genotype:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._study.sampler = self.make_sampler(self.seed * 1_000_003 + self.n_asked)
            trial = self._study.ask(self._distributions)
        genotype = self.space.genotype(trial.params)
        self._pending.setdefault(genotype.key, []).append(trial.number)
        self.n_asked += 1
        return genotype

    def tell(self, genotype: Genotype, metrics: Metrics) -> None:
        numbers = self._pending.get(genotype.key)
        if numbers:
            number = numbers.pop(0)
            if not numbers:
                del self._pending[genotype.key]
        else:  # not asked by us: add it as an outside observation
            number = len(self._study.get_trials(deepcopy=False))
            self._study.add_trial(optuna.trial.create_trial(
                params=genotype.as_mapping(), distributions=self._distributions,
                state=_State.RUNNING))
        values = self.measured(metrics)
        if values is not None and self.constraints:
            self._set_constraints(number, metrics)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._study.tell(number, values,
                             state=_State.COMPLETE if values is not None else _State.FAIL)

    def cancel(self, genotype: Genotype) -> None:
        """Close the latest trial asked for `genotype` as FAIL (samplers skip failed ones)."""
        numbers = self._pending.get(genotype.key)
        if not numbers:
            return
        number = numbers.pop()
        if not numbers:
            del self._pending[genotype.key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._study.tell(number, state=_State.FAIL)

    # ----- state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        storage, sid = self._study._storage, self._study._study_id
        trials = [{"params": dict(t.params), "values": t.values, "state": t.state.name,
                   "system_attrs": dict(t.system_attrs)}
                  for t in self._study.get_trials(deepcopy=False)]
        return {**super().state_dict(), "trials": trials,
                "study_system_attrs": dict(storage.get_study_system_attrs(sid))}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self._study = self._new_study()
        self._pending = {}
        storage, sid = self._study._storage, self._study._study_id
        for key, value in state["study_system_attrs"].items():
            storage.set_study_system_attr(sid, key, value)
        for number, entry in enumerate(state["trials"]):
            kind = _State[entry["state"]]
            self._study.add_trial(optuna.trial.create_trial(
                params=entry["params"], distributions=self._distributions, state=kind,
                values=entry["values"] if kind == _State.COMPLETE else None,
                system_attrs=entry["system_attrs"]))
            if kind == _State.RUNNING:
                key = self.space.genotype(entry["params"]).key
                self._pending.setdefault(key, []).append(number)


def _seed(seed: int) -> int:
    return seed % 2**32


@STRATEGIES.register("tpe")
class TPEStrategy(OptunaStrategy):
    """Optuna's TPE sampler, multivariate (Falkner et al. 2018 style joint density)."""

    name = "tpe"
    defaults = {"n_startup_trials": 10, "multivariate": True}

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=_seed(seed),
                                          n_startup_trials=self.options["n_startup_trials"],
                                          multivariate=self.options["multivariate"])


@STRATEGIES.register("nsga2")
class NSGAIIStrategy(OptunaStrategy):
    """NSGA-II (Deb et al. 2002, IEEE TEVC 6(2)): non-dominated sorting + crowding distance,
    constrained domination for hard constraints (Sec. IV-B)."""

    name = "nsga2"
    defaults = {"population_size": 20, "crossover_prob": 0.9}

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.NSGAIISampler(
            seed=_seed(seed), population_size=self.options["population_size"],
            crossover_prob=self.options["crossover_prob"])


@STRATEGIES.register("nsga3")
class NSGAIIIStrategy(OptunaStrategy):
    """NSGA-III (Deb & Jain 2014, IEEE TEVC 18(4)): reference-point niching instead of
    crowding distance, for three or more objectives."""

    name = "nsga3"
    defaults = {"population_size": 20, "crossover_prob": 0.9, "dividing_parameter": 3}

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.NSGAIIISampler(
            seed=_seed(seed), population_size=self.options["population_size"],
            crossover_prob=self.options["crossover_prob"],
            dividing_parameter=self.options["dividing_parameter"])


@STRATEGIES.register("gp")
class GPStrategy(OptunaStrategy):
    """Optuna's GPSampler (Matern-5/2 GP, log-EI; constrained EI with `constraints`).
    Costs roughly a second per ask at a few hundred trials."""

    name = "gp"
    defaults = {"n_startup_trials": 10}

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GPSampler(seed=_seed(seed),
                                         n_startup_trials=self.options["n_startup_trials"],
                                         warn_independent_sampling=False)

