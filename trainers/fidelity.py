"""The fidelity ladder evaluator: cost -> zero-cost proxy -> short training -> halving.

Our driver evaluates one genotype per Ray task, so the ladder decides per candidate:

* cost rungs compare against absolute limits (violations are `infeasible`);
* proxy rungs before any training are *calibrated*: once per process, `reference` seeded
  random archs of the space (those passing the earlier cost/proxy rungs) are scored, and a
  candidate is kept when its score is at least the (1 - keep) quantile of theirs. The
  verdict is a pure function of (candidate, config): independent of arrival order, worker
  count and resumes, and the same in every Ray worker. With `reference: 0`, or for a proxy
  rung after training, the running distribution of the scores seen so far is used
  instead, the first `grace` candidates always kept;
* train rungs train to `epochs` (continuing the previous rung) and prune by the running
  distribution when keep < 1; halving rungs are ASHA (Li et al. 2020, MLSys) per candidate:
  budgets min_epochs * eta^k up to max_epochs, continuing while the candidate is in the
  top 1/eta of the scores seen at that budget (the first `grace` always continue);
* "scores seen so far" are those of every finished trial of the run, whichever worker
  evaluated it: the driver keeps them from the trial log (`Metrics.rungs`, so they come
  back on resume; the most recent nas.run.rung_scores.HISTORY_LIMIT per rung) and sends them with
  each task (`wants_history`, `observe_history`), plus those this process scored since.
  Trials still in flight when a task was submitted are not in it (asynchronous, as ASHA).
  Without a driver (the evaluator called directly) they are this process's own;
* the cosine schedule spans the largest training budget of the ladder, so a candidate
  promoted from 1 to 3 epochs continues exactly as if trained 3 epochs straight; every
  budget's state is kept as <checkpoint_dir>/<genotype key>@<E>ep.pt (a search puts them
  in <run>/checkpoints/ladder unless the option is set; without a folder, a temporary one)
  and a re-evaluated candidate resumes from the largest one it reached.

A candidate stopped early gets status "pruned"; every score is in `Metrics.rungs`, a
halving rung's first budget too when an earlier train rung reached it (same value).
"""
from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space

from .cost import count_params
from .evaluators import (
    EVALUATORS,
    TRAIN_DEFAULTS,
    Evaluator,
    check_data_fits,
    load_training_data,
    make_evaluator,
    train_config,
)
from .halving import successive_halving
from .metrics import COMPLETE, FAILED, INFEASIBLE, PRUNED, Metrics
from .rungs import (
    CostRung,
    EvaluatorRung,
    HalvingRung,
    ProxyRung,
    TrainRung,
    parse_ladder,
    rank_agreement,
)

__all__ = ["Ladder", "rank_agreement", "successive_halving", "budget_checkpoint",
           "budget_checkpoints"]


def budget_checkpoint(folder: Path, key: str, epochs: int) -> Path:
    """Where the ladder keeps a candidate's training state after `epochs` epochs."""
    return Path(folder) / f"{key}@{epochs}ep.pt"


def budget_checkpoints(folder: Path, key: str) -> list[tuple[int, Path]]:
    """(epochs, path) of every budget checkpoint of genotype `key` in `folder`, ascending."""
    return sorted((int(p.stem.rsplit("@", 1)[1][:-2]), p)
                  for p in Path(folder).glob(f"{key}@*ep.pt"))


@dataclass
class _Candidate:
    """What one evaluation accumulates while climbing the ladder."""

    genotype: Genotype
    model: Any
    cost: dict[str, float]
    checkpoints: Path
    rungs: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    epochs: int = 0
    accuracy: float | None = None

    def metrics(self, status: str = COMPLETE, reason: str = "", **extra: Any) -> Metrics:
        return Metrics(status=status, reason=reason, cost=dict(self.cost),
                       rungs=dict(self.rungs), timings=dict(self.timings),
                       fidelity=float(self.epochs), **extra)


@EVALUATORS.register("ladder")
class Ladder(Evaluator):
    """Evaluator `ladder`: options `rungs` (see trainers.rungs), `reference` (calibration
    sample size), `grace`, `checkpoint_dir`, `cost` (False: params only, no MACs pass),
    plus the training options of `train`."""

    defaults = {**{k: v for k, v in TRAIN_DEFAULTS.items() if k not in ("epochs", "steps")},
                "rungs": [], "reference": 32, "grace": 5, "checkpoint_dir": "", "cost": True}
    wants_history = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.rungs = parse_ladder(self.options["rungs"])
        budgets = [r.epochs if isinstance(r, TrainRung) else r.max_epochs
                   for r in self.rungs if isinstance(r, (TrainRung, HalvingRung))]
        self.horizon = max(budgets, default=0)
        if self.horizon:
            train_config(self.options, epochs=self.horizon)  # validate training options
        last = self.rungs[-1]
        self.final = (make_evaluator(last.name, last.options)
                      if isinstance(last, EvaluatorRung) else None)
        self.user_code = getattr(self.final, "user_code", False)
        if isinstance(last, EvaluatorRung) and (last.budget or last.eta) and \
                not hasattr(self.final, "run"):
            raise UserError(f"ladder rung {len(self.rungs)}: budget and eta need your own "
                            f"evaluator function; {last.name!r} takes neither")
        if self.options["reference"] < 0 or self.options["grace"] < 0:
            raise UserError("ladder options 'reference' and 'grace' must be >= 0")
        self.metric_names = self._declared_names()
        self._thresholds: dict[int, tuple[float, int]] | None = None
        self._shared: Mapping[str, Sequence[float]] = {}  # the run's, from the driver
        self._history: dict[str, list[float]] = defaultdict(list)  # ours since then
        self._batches: dict[tuple, Any] = {}

    def _declared_names(self) -> tuple[str, ...] | None:
        """The objectives `_complete` reports: the final evaluator's, accuracy after
        training, else the proxy scores."""
        if self.final is not None:
            return self.final.metric_names
        if self.horizon:
            return ("accuracy",)
        return tuple(dict.fromkeys(r.name for r in self.rungs if isinstance(r, ProxyRung)))

    # ----- checks and set-up --------------------------------------------------------
    def check(self, space: Space) -> None:
        if self.horizon:
            check_data_fits(space, self.options)
        if self.final is not None:
            self.final.check(space)
        proxies = [r for r in self.rungs if isinstance(r, ProxyRung)]
        if proxies:
            from .proxies import get_proxy

            model = space.build(space.sample(np.random.default_rng(self.options["seed"])))
            for rung in proxies:
                get_proxy(rung.name).applies(model)
                self._batch(space, rung.batch_size)

    def _batch(self, space: Space, batch_size: int):
        from .data import sample_batch

        key = (batch_size, tuple(space.input_size()))
        if key not in self._batches:
            self._batches[key] = sample_batch(load_training_data(self.options), batch_size,
                                              self.options["seed"], space.input_size())
        return self._batches[key]

    def _build(self, space: Space, genotype: Genotype):
        import torch

        torch.manual_seed(self.options["seed"])
        return space.build(genotype)

    def _score(self, space: Space, rung: ProxyRung, model) -> float:
        from .proxies import score_proxy

        return score_proxy(rung.name, model, self._batch(space, rung.batch_size),
                           self.options["seed"])

    def thresholds(self, space: Space) -> dict[int, tuple[float, int]]:
        """(threshold, calibration sample size) by rung number, of every proxy rung that
        precedes all training; computed once per process."""
        if self._thresholds is None:
            self._thresholds = self._calibrate(space)
        return self._thresholds

    def _calibrate(self, space: Space) -> dict[int, tuple[float, int]]:
        thresholds: dict[int, tuple[float, int]] = {}
        if self.options["reference"] == 0:
            return thresholds
        rng = np.random.default_rng(self.options["seed"] + 7919)
        alive = [space.sample(rng) for _ in range(self.options["reference"])]
        for number, rung in enumerate(self.rungs, start=1):
            if isinstance(rung, CostRung):
                alive = [g for g in alive
                         if not self._violation(space, rung, self._build(space, g), {})]
            elif isinstance(rung, ProxyRung) and alive:
                scores = [self._score(space, rung, self._build(space, g)) for g in alive]
                threshold = float(np.quantile(scores, 1.0 - rung.keep))
                thresholds[number] = (threshold, len(scores))
                alive = [g for g, s in zip(alive, scores) if s >= threshold]
            else:
                break
        return thresholds

    # ----- decisions ------------------------------------------------------------------
    def observe_history(self, history: Mapping[str, Sequence[float]]) -> None:
        """Take the rung scores of the run's finished trials (label -> scores); they
        replace those observed before, and what this process scored since then."""
        self._shared = {label: list(scores) for label, scores in history.items()}
        self._history.clear()

    def _keep(self, number: int, label: str, score: float, keep: float):
        """(kept, threshold or None, basis text) of one score at one rung."""
        if keep >= 1.0:
            return True, None, "keep 1: everything"
        if self._thresholds and number in self._thresholds:
            threshold, n = self._thresholds[number]
            return score >= threshold, threshold, f"calibrated on {n} random archs"
        seen = [*self._shared.get(label, ()), *self._history[label]]
        verdict = (True, None, f"grace: {len(seen)} seen")
        if len(seen) >= self.options["grace"]:
            threshold = float(np.quantile(seen, 1.0 - keep))
            verdict = (score >= threshold, threshold, f"of {len(seen)} seen so far")
        self._history[label].append(score)
        return verdict

    def _pruned(self, cand: _Candidate, number: int, label: str, score: float, keep: float):
        kept, threshold, basis = self._keep(number, label, score, keep)
        if kept:
            return None
        return cand.metrics(PRUNED, f"pruned at rung {label}: {score:.6g} < {threshold:.6g}, "
                                    f"the keep-{keep:g} threshold {basis}")

    @staticmethod
    def _violation(space: Space, rung: CostRung, model, cost: dict[str, float]) -> str:
        from .cost import count_macs, count_params, measure_latency

        values = {"params": cost.get("params"), "macs": cost.get("macs")}
        if values["params"] is None:
            values["params"] = float(count_params(model))
        if values["macs"] is None and rung.max_macs < float("inf"):
            values["macs"] = float(count_macs(model, space.input_size(),
                                              include_bias=space.macs_include_bias))
        if rung.max_latency_ms < float("inf"):
            values["latency_ms"] = cost["latency_ms"] = measure_latency(
                model, space.input_size(), rung.latency_batch, warmup=2, repeats=5)
        for name, limit in (("params", rung.max_params), ("macs", rung.max_macs),
                            ("latency_ms", rung.max_latency_ms)):
            if values.get(name) is not None and values[name] > limit:
                return f"{name} {values[name]:.6g} > max_{name} {limit:.6g}"
        return ""

    # ----- rungs ----------------------------------------------------------------------
    def _train_to(self, space: Space, cand: _Candidate, epochs: int) -> float:
        from .train import train_and_evaluate

        done = budget_checkpoints(cand.checkpoints, cand.genotype.key)
        resume = next((p for e, p in reversed(done) if e <= epochs), None)
        config = train_config(self.options, epochs=epochs, schedule=self.horizon)
        result = train_and_evaluate(cand.model, check_data_fits(space, self.options), config,
                                    budget_checkpoint(cand.checkpoints, cand.genotype.key,
                                                      epochs), resume_from=resume)
        cand.timings["train_s"] += result.seconds
        cand.epochs, cand.accuracy = epochs, 100.0 * result.val_accuracy
        return cand.accuracy

    def _halving(self, space: Space, cand: _Candidate, number: int, rung: HalvingRung):
        previous = cand.epochs  # reached by an earlier train rung (0: none)
        levels = ([previous] if previous else []) + rung.budgets(previous)
        for i, epochs in enumerate(levels):
            label = f"{number}.halving@{epochs}ep"  # also the key of that budget's history
            if epochs == previous:  # recorded again: this rung's population, for history
                score = cand.rungs[label] = cand.accuracy
            else:
                score = cand.rungs[label] = self._train_to(space, cand, epochs)
            if i < len(levels) - 1:
                stop = self._pruned(cand, number, label, score, 1.0 / rung.eta)
                if stop is not None:
                    return stop
        return None

    def _run(self, space: Space, cand: _Candidate, number: int, rung) -> Metrics | None:
        """Run one rung; a Metrics return stops the candidate there."""
        if isinstance(rung, CostRung):
            reason = self._violation(space, rung, cand.model, cand.cost)
            return cand.metrics(INFEASIBLE, f"rung {number}: {reason}") if reason else None
        if isinstance(rung, ProxyRung):
            label = f"{number}.{rung.name}"
            start = time.perf_counter()
            score = cand.rungs[label] = self._score(space, rung, cand.model)
            cand.timings["proxy_s"] += time.perf_counter() - start
            return self._pruned(cand, number, label, score, rung.keep)
        if isinstance(rung, TrainRung):
            label = f"{number}.train@{rung.epochs}ep"
            cand.rungs[label] = self._train_to(space, cand, rung.epochs)
            return (self._pruned(cand, number, label, cand.rungs[label], rung.keep)
                    if rung.keep < 1 else None)
        if isinstance(rung, HalvingRung):
            return self._halving(space, cand, number, rung)
        start = time.perf_counter()
        if hasattr(self.final, "run"):  # the user's function: a budget, halving on reports
            result = self.final.run(space, cand.genotype, rung.budget or None,
                                    self._reporter(cand, number, rung), cand.checkpoints)
        else:
            result = self.final(space, cand.genotype)
        cand.timings["evaluator_s"] += time.perf_counter() - start
        main = next(iter(result.objectives.values()), None)
        if main is not None:
            cand.rungs[f"{number}.{rung.name}"] = float(main)
        return Metrics(objectives=dict(result.objectives), cost={**cand.cost, **result.cost},
                       timings={**cand.timings, **result.timings}, fidelity=result.fidelity,
                       status=result.status, reason=result.reason, rungs=dict(cand.rungs))

    def _reporter(self, cand: _Candidate, number: int, rung: EvaluatorRung):
        """What the user's `trial.report(value, step)` calls: at a halving step, record
        the value as rung "<number>.<name>@<step>ep" and stop the candidate (`Pruned`)
        when it is not in the top 1/eta of the run's values at that step."""
        from .user_evaluator import Pruned

        steps = set(rung.halving_steps())

        def report(value: float, step: int) -> None:
            if step not in steps:
                return
            label = f"{number}.{rung.name}@{step}ep"
            cand.rungs[label] = value
            stop = self._pruned(cand, number, label, value, 1.0 / rung.eta)
            if stop is not None:
                raise Pruned(stop.reason)

        return report

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        from .train import Diverged

        start = time.perf_counter()
        calibrated = self._thresholds is None
        self.thresholds(space)  # once per process, on the first candidate
        model = self._build(space, genotype)
        cost = (self.cost(space, genotype, model) if self.options["cost"] else
                {"params": float(count_params(model))})
        with tempfile.TemporaryDirectory(prefix="nas-ladder-") as tmp:
            folder = Path(self.options["checkpoint_dir"] or tmp)
            cand = _Candidate(genotype, model, cost, folder)
            if calibrated:
                cand.timings["calibrate_s"] = time.perf_counter() - start
            try:
                for number, rung in enumerate(self.rungs, start=1):
                    stop = self._run(space, cand, number, rung)
                    if stop is not None:
                        break
                else:
                    stop = self._complete(cand)
            except Diverged as exc:
                stop = cand.metrics(FAILED, str(exc))
        timings = {**stop.timings, "total_s": time.perf_counter() - start}
        return Metrics.from_dict({**stop.to_dict(), "timings": timings})

    @staticmethod
    def _complete(cand: _Candidate) -> Metrics:
        if cand.accuracy is not None:
            return cand.metrics(objectives={"accuracy": cand.accuracy})
        proxies = {label.split(".", 1)[1]: v for label, v in cand.rungs.items()}
        return cand.metrics(objectives=proxies)
