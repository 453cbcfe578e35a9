"""Evaluators: turn (space, genotype) into one `Metrics` record.

`tabular` looks up NAS-Bench-201's 200-epoch accuracy; `train` trains briefly on a real
offline dataset; `ladder` runs a fidelity ladder (trainers.fidelity). All report cost
(params, MACs). Options are validated on construction.
"""
from __future__ import annotations

import dataclasses
import importlib
import time
from typing import Any, Callable, Mapping, Sequence

from search_spaces.errors import UserError, unknown_choice
from search_spaces.genotype import Genotype
from search_spaces.registry import Registry
from search_spaces.space import Space
from search_spaces.user_code import is_reference

from .cost import count_macs, count_params, measure_latency
from .metrics import COMPLETE, Metrics

__all__ = ["Evaluator", "EVALUATORS", "make_evaluator", "TabularNB201", "ShortTraining",
           "TRAIN_DEFAULTS", "load_training_data", "check_data_fits", "train_config",
           "with_cost"]


class Evaluator:
    """Base: subclasses declare `defaults` (typed option defaults) and implement __call__.

    An evaluator that sets `wants_history` gets the rung scores of the run's finished
    trials before each call, by `observe_history` (nas.run.rung_scores); others pay nothing.
    `metric_names` declares the objective names its records carry (cost metrics
    `COST_METRICS` are always there); None = undeclared: a search checks its first result.
    """

    defaults: dict[str, Any] = {}
    wants_history = False
    metric_names: tuple[str, ...] | None = None

    def __init__(self, **options: Any) -> None:
        self.options = _resolve(type(self).__name__, self.defaults, options)

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        raise NotImplementedError

    def check(self, space: Space) -> None:
        """Raise `UserError` if this evaluator cannot score `space` (run before a search)."""

    def observe_history(self, history: Mapping[str, Sequence[float]]) -> None:
        """Rung label -> scores of the run's finished trials (only if `wants_history`)."""

    def cost(self, space: Space, genotype: Genotype, model=None) -> dict[str, float]:
        return model_cost(space, model if model is not None else space.build(genotype))


def model_cost(space: Space, model) -> dict[str, float]:
    """Params and MACs of a model built by `space` (its MACs convention)."""
    return {"params": float(count_params(model)),
            "macs": float(count_macs(model, space.input_size(),
                                     include_bias=space.macs_include_bias))}


def with_cost(metrics: Metrics, space: Space, genotype: Genotype,
              names: Sequence[str]) -> Metrics:
    """A complete `metrics` with every cost metric in `names` (of `COST_METRICS`) that the
    evaluator left out measured here: params and MACs counted, latency_ms timed on CPU."""
    missing = [n for n in names if n not in metrics.cost and n not in metrics.objectives]
    if metrics.status != COMPLETE or not missing:
        return metrics
    model = space.build(genotype)
    cost = dict(metrics.cost)
    if "params" in missing or "macs" in missing:
        counted = model_cost(space, model)
        cost.update({k: v for k, v in counted.items() if k in missing})
    if "latency_ms" in missing:
        cost["latency_ms"] = measure_latency(model, space.input_size(), warmup=2, repeats=5)
    return dataclasses.replace(metrics, cost=cost)


def _resolve(owner: str, defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict:
    resolved = dict(defaults)
    for key, value in options.items():
        if key not in defaults:
            raise unknown_choice(f"option of evaluator {owner}", key, defaults)
        kind = type(defaults[key])
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) != isinstance(defaults[key], bool):
            raise UserError(f"evaluator option {key!r} must be {kind.__name__}, got {value!r}")
        resolved[key] = value
    return resolved


# Built-in evaluators registered outside this module, imported on the first lookup.
EVALUATORS: Registry[Callable[..., Evaluator]] = Registry("evaluator", modules=(
    "trainers.fidelity", "trainers.synthetic", "trainers.oneshot.evaluator"))


#: the module that turns the user's functions into evaluators
USER_EVALUATORS = "trainers.user_evaluator"


@EVALUATORS.register("tabular")
class TabularNB201(Evaluator):
    """NAS-Bench-201 lookup (Dong & Yang 2020; NATS-Bench table): 200-epoch test accuracy."""

    defaults = {"dataset": "cifar10", "cost": True}
    metric_names = ("accuracy",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from search_spaces.nb201_table import DATASET_COLUMNS

        if self.options["dataset"] not in DATASET_COLUMNS:
            raise unknown_choice("NB201 dataset", self.options["dataset"], DATASET_COLUMNS)

    def check(self, space: Space) -> None:
        if space.name != "nb201":
            raise UserError(f"the tabular evaluator only knows space 'nb201', not {space.name!r}; "
                            "use evaluator 'train' for other spaces")

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        from search_spaces.nb201_table import accuracies, arch_index

        self.check(space)
        start = time.perf_counter()
        acc = accuracies(self.options["dataset"])[arch_index(space.format(genotype))]
        lookup = time.perf_counter() - start
        cost = self.cost(space, genotype) if self.options["cost"] else {}
        return Metrics(objectives={"accuracy": float(acc)}, cost=cost, fidelity=200.0,
                       timings={"lookup_s": lookup, "total_s": time.perf_counter() - start})


# options shared by every evaluator that trains (train, ladder)
TRAIN_DEFAULTS = {"dataset": "digits", "data_dir": "", "image_size": 0, "epochs": 3,
                  "steps": 0, "batch_size": 64, "optimizer": "sgd", "lr": 0.05,
                  "momentum": 0.9, "weight_decay": 5e-4, "label_smoothing": 0.0, "seed": 0,
                  "amp": "off", "device": "cpu", "data": {}}


def load_training_data(options: Mapping[str, Any]):
    """The dataset named by evaluator `options` (dataset, seed, image_size, data_dir, and
    `data`: reader options of npz / npy / image_folder, trainers.userdata)."""
    from .data import load_dataset

    return load_dataset(options["dataset"], options["seed"], options["image_size"] or None,
                        options["data_dir"] or None, options.get("data") or None)


def check_data_fits(space: Space, options: Mapping[str, Any]):
    """Raise `UserError` unless the dataset's images and classes fit the space."""
    data = load_training_data(options)
    if tuple(space.input_size()) != data.input_size:
        raise UserError(f"space input_size {list(space.input_size())} does not match dataset "
                        f"{options['dataset']!r} images {list(data.input_size)}; set "
                        "the space option input_size (or the evaluator option image_size)")
    if getattr(space, "options", {}).get("num_classes", data.num_classes) != data.num_classes:
        raise UserError(f"space num_classes {space.options['num_classes']} does not match "
                        f"dataset {options['dataset']!r} ({data.num_classes} classes); set "
                        f"the space option num_classes: {data.num_classes}")
    return data


def train_config(options: Mapping[str, Any], **overrides: Any):
    """A validated `TrainConfig` from evaluator options (and per-rung overrides)."""
    from .train import TrainConfig

    merged = {**options, **overrides}
    return TrainConfig(**{f.name: merged[f.name] for f in dataclasses.fields(TrainConfig)
                          if f.name in merged})


@EVALUATORS.register("train")
class ShortTraining(Evaluator):
    """Short training on an offline dataset; objective = validation accuracy (%)."""

    defaults = dict(TRAIN_DEFAULTS)
    metric_names = ("accuracy",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        train_config(self.options)  # bad optimizer / amp / budget fail here, not in a worker

    def check(self, space: Space) -> None:
        check_data_fits(space, self.options)

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        import torch

        from .train import Diverged, train_and_evaluate

        start = time.perf_counter()
        o = self.options
        data = check_data_fits(space, o)
        config = train_config(o)
        torch.manual_seed(o["seed"])
        model = space.build(genotype)
        cost = self.cost(space, genotype, model)
        try:
            result = train_and_evaluate(model, data, config)
        except Diverged as exc:
            return Metrics(status="failed", reason=str(exc), cost=cost,
                           timings={"total_s": time.perf_counter() - start})
        return Metrics(objectives={"accuracy": 100.0 * result.val_accuracy},
                       cost=cost, fidelity=float(result.epochs),
                       timings={"train_s": result.seconds,
                                "total_s": time.perf_counter() - start})


def make_evaluator(name: str, options: Mapping[str, Any] | None = None) -> Evaluator:
    """Build the registered evaluator `name` with validated `options`; a name the user's
    code registered, or a "module:function" reference, is the user's own
    (trainers.user_evaluator)."""
    if EVALUATORS.is_user(name) or (name not in EVALUATORS and is_reference(name)):
        # by name, as that module builds on this one (no import circle)
        return importlib.import_module(USER_EVALUATORS).make_user_evaluator(name, options)
    return EVALUATORS.get(name)(**dict(options or {}))

