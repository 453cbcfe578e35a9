"""Your own evaluator: a plain function of one `Trial` that returns metric values.

    def evaluate(trial):
        model = trial.build()                   # the candidate, on trial.device
        for epoch in range(trial.budget or 3):  # budget: set by a fidelity ladder
            accuracy = train_one_epoch(model, ...)
            trial.report(accuracy, epoch + 1)   # successive halving may stop it here
        return {"accuracy": accuracy}           # params and MACs are added for you

A config names it "my_module:evaluate" (a module next to the config file, in the working
directory, or installed); `nas.search(..., evaluator=evaluate)` takes the function itself;
`@nas.register_evaluator("mine", metrics=["accuracy"])` registers it under a name and
declares what it returns. The function returns a mapping of metric names to numbers (or a
`Metrics`): "params", "macs" and "latency_ms" are costs, every other name an objective.
An exception inside it fails that trial (the traceback goes into the trial record), never
the search; a wrong return type fails the trial with a one-line reason.
"""
from __future__ import annotations

import numbers
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space
from search_spaces.user_code import check_user_name, load_reference

from .evaluators import EVALUATORS, Evaluator
from .metrics import PRUNED, Metrics

__all__ = ["Trial", "Pruned", "FunctionEvaluator", "register_evaluator", "user_evaluator",
           "make_user_evaluator", "register_user_evaluator", "COST_KEYS"]

#: returned names that are costs (Metrics.cost); any other name is an objective
COST_KEYS = ("params", "macs", "latency_ms")
Reporter = Callable[[float, int], None]


class Pruned(Exception):
    """Raised by `Trial.report` when the fidelity ladder stops this candidate early (Li
    et al. 2020, ASHA); let it propagate: the trial is recorded as `pruned`."""


@dataclass
class Trial:
    """What a user evaluator gets for one candidate architecture.

    genotype, space: the candidate and its space; options: the evaluator's config options;
    budget: the training budget a fidelity ladder asks for (None outside a ladder);
    device: "cuda" when this trial has a GPU, else "cpu"; checkpoint_dir: a folder of
    this genotype's own in the run (<run>/checkpoints/<evaluator>/<genotype key>), where a
    re-run candidate finds what it saved; seed: the options' "seed" (default 0).
    """

    genotype: Genotype
    space: Space
    options: dict[str, Any]
    budget: int | None
    device: str
    checkpoint_dir: Path
    seed: int = 0
    reports: list[tuple[int, float]] = field(default_factory=list)
    _on_report: Reporter | None = None
    _built: Any = None  # the network the search counted params and MACs on, unused yet

    def save(self, model, step: int | None = None) -> Path:
        """Save `model`'s weights as the trial's checkpoint after `step` (default: the
        budget, else the last reported step), where `nas export` loads them from
        (<checkpoints>/<evaluator>/<genotype key>@<step>ep.pt, as the ladder's)."""
        import torch

        if step is None:
            step = self.budget if self.budget is not None else (
                self.reports[-1][0] if self.reports else 0)
        path = self.checkpoint_dir.parent / f"{self.genotype.key}@{int(step)}ep.pt"
        tmp = path.with_name(path.name + ".tmp")
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
        tmp.replace(path)
        return path

    def build(self):
        """The candidate's torch module (initialised with torch.manual_seed(seed)), on
        `device`; a new one on each call."""
        import torch

        model, self._built = self._built, None
        if model is None:
            torch.manual_seed(self.seed)
            model = self.space.build(self.genotype)
        return model.to(self.device)

    def report(self, value: float, step: int) -> None:
        """An intermediate value (e.g. validation accuracy after `step` epochs); raises
        `Pruned` when successive halving stops the candidate at this step."""
        value, step = float(value), int(step)
        self.reports.append((step, value))
        if self._on_report is not None:
            self._on_report(value, step)


def _device() -> str:
    """Ray hides the GPUs a task did not ask for (CUDA_VISIBLE_DEVICES), so a visible GPU
    is this trial's."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _seeded_build(space: Space, genotype: Genotype, seed: int):
    import torch

    torch.manual_seed(seed)
    return space.build(genotype)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return _number(item())
    return None


class FunctionEvaluator(Evaluator):
    """A user function as an evaluator; `metric_names` are the names it declares
    (register_evaluator(metrics=...)) plus params and macs, or None when undeclared."""

    defaults = {"checkpoint_dir": ""}  # set by the search to a folder in the run
    user_code = True

    def __init__(self, fn: Callable[[Trial], Any], name: str,
                 options: Mapping[str, Any] | None = None,
                 metrics: Sequence[str] | None = None) -> None:
        if not callable(fn):
            raise UserError(f"evaluator {name!r} is {type(fn).__name__}, not a function")
        self.fn, self.name = fn, name
        self.options = dict(options or {})
        declared = metrics if metrics is not None else getattr(fn, "metric_names", None)
        self.metric_names = (None if declared is None else
                             tuple(dict.fromkeys([*declared, "params", "macs"])))

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        return self.run(space, genotype)

    def run(self, space: Space, genotype: Genotype, budget: int | None = None,
            on_report: Reporter | None = None, checkpoint_dir: Path | None = None) -> Metrics:
        """Call the function on one candidate; `on_report` sees every `report` (and may
        raise `Pruned`); `checkpoint_dir` (default: option checkpoint_dir, else a
        temporary folder) holds the trial's folder. Exceptions from the user's code
        propagate (the worker records them with their traceback)."""
        start = time.perf_counter()
        options = {k: v for k, v in self.options.items() if k != "checkpoint_dir"}
        with tempfile.TemporaryDirectory(prefix="nas-trial-") as tmp:
            root = checkpoint_dir or self.options.get("checkpoint_dir") or tmp
            folder = Path(root) / genotype.key
            folder.mkdir(parents=True, exist_ok=True)
            seed = options.get("seed", 0)
            seed = seed if isinstance(seed, int) else 0
            built = _seeded_build(space, genotype, seed)  # counted, then the first build()
            cost = self.cost(space, genotype, built)
            trial = Trial(genotype, space, options, budget, _device(), folder, seed,
                          _on_report=on_report, _built=built)
            try:
                returned = self.fn(trial)
            except Pruned as stop:
                step = trial.reports[-1][0] if trial.reports else None
                return Metrics(status=PRUNED, reason=str(stop),
                               fidelity=float(step) if step is not None else None,
                               cost=cost,
                               timings={"total_s": time.perf_counter() - start})
        seconds = time.perf_counter() - start  # build, count, the user's function
        fidelity = budget if budget is not None else (trial.reports[-1][0] if trial.reports
                                                      else None)
        fidelity = float(fidelity) if fidelity is not None else None
        metrics = self._metrics(returned, cost, fidelity, seconds)
        return Metrics.from_dict({**metrics.to_dict(), "timings": {
            **metrics.timings, "total_s": time.perf_counter() - start}})

    def _metrics(self, returned: Any, counted: dict[str, float], fidelity: float | None,
                 seconds: float) -> Metrics:
        """The function's return value as Metrics, params and MACs added when absent."""
        if isinstance(returned, Metrics):
            values = {**returned.cost, **returned.objectives}
        elif isinstance(returned, Mapping):
            values = dict(returned)
        else:
            return Metrics.failed(f"evaluator {self.name!r} returned {type(returned).__name__}"
                                  "; return a mapping of metric names to numbers (e.g. "
                                  "{'accuracy': 93.1}) or a Metrics", total_s=seconds)
        numbers_ = {str(k): _number(v) for k, v in values.items()}
        bad = [k for k, v in numbers_.items() if v is None]
        if bad:
            return Metrics.failed(f"evaluator {self.name!r} returned a non-number for "
                                  f"{bad[0]!r} ({values[bad[0]]!r}); metric values must be "
                                  "numbers", total_s=seconds)
        cost = {**counted, **{k: v for k, v in numbers_.items() if k in COST_KEYS}}
        timings = {"evaluate_s": seconds}
        if isinstance(returned, Metrics):
            timings = {**returned.timings, **timings}
            fidelity = returned.fidelity if returned.fidelity is not None else fidelity
        return Metrics(objectives={k: v for k, v in numbers_.items() if k not in COST_KEYS},
                       cost=cost, timings=timings, fidelity=fidelity,
                       status=returned.status if isinstance(returned, Metrics) else "complete",
                       reason=returned.reason if isinstance(returned, Metrics) else "",
                       rungs=dict(returned.rungs) if isinstance(returned, Metrics) else {})


def user_evaluator(obj: Any, name: str, options: Mapping[str, Any] | None) -> Evaluator:
    """An evaluator from the user's object: an `Evaluator` subclass is built with the
    options, a function is wrapped in `FunctionEvaluator`."""
    if isinstance(obj, type) and issubclass(obj, Evaluator):
        return obj(**dict(options or {}))
    if isinstance(obj, type) or not callable(obj):
        raise UserError(f"evaluator {name!r} is {type(obj).__name__} {obj!r}; it must be a "
                        "function of one trial or a trainers.evaluators.Evaluator subclass")
    return FunctionEvaluator(obj, name, options)


def make_user_evaluator(name: str, options: Mapping[str, Any] | None) -> Evaluator:
    """The evaluator the user's code registered as `name`, or the one a "module:function"
    reference names."""
    obj = EVALUATORS.get(name) if EVALUATORS.is_user(name) else load_reference(name,
                                                                                "evaluator")
    return user_evaluator(obj, name, options)


def register_user_evaluator(name: str, obj: Any,
                            metrics: Sequence[str] | None = None) -> Any:
    """Register the user's evaluator function (or Evaluator subclass) `obj` under `name`;
    `metrics` declares the names it returns (checked against the objectives)."""
    if metrics is not None and (isinstance(metrics, str) or
                                not all(isinstance(m, str) for m in metrics)):
        raise UserError(f"evaluator {name!r}: metrics must be a list of names, got "
                        f"{metrics!r}")
    if not (isinstance(obj, type) and issubclass(obj, Evaluator)) and (
            isinstance(obj, type) or not callable(obj)):
        raise UserError(f"evaluator {name!r} must be a function of one trial or an "
                        f"Evaluator subclass, not {obj!r}")
    if metrics is not None:
        obj.metric_names = tuple(metrics)
    return EVALUATORS.register_user(name, obj)


def register_evaluator(name: str, metrics: Sequence[str] | None = None):
    """Decorator form of `register_user_evaluator` (a name without ':')."""
    check_user_name(name, "evaluator")
    return lambda obj: register_user_evaluator(name, obj, metrics)
