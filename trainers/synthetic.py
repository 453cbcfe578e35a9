"""A fast, deterministic stand-in for training, for tests, benchmarks and smoke runs.

Works for any space: the "accuracy" is a fixed random quadratic function of the one-hot
genotype (`Space.encode`), and "params" / "latency_ms" are additive per-choice costs, so
searches and constraints behave like real ones at no cost. Options make trials slow
(`sleep_s`) or kill their own worker process (`crash`: "once" per `marker` file, or
"always") to exercise the driver's timeouts and worker-loss retries.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np

from search_spaces.errors import UserError, unknown_choice
from search_spaces.genotype import Genotype
from search_spaces.space import Space

from .evaluators import EVALUATORS, Evaluator
from .metrics import Metrics

__all__ = ["Synthetic"]

_CRASH = ("never", "once", "always")


@EVALUATORS.register("synthetic")
class Synthetic(Evaluator):
    """accuracy = 50 + 45 tanh(w.x + x'Qx), params and latency additive in the choices."""

    defaults = {"seed": 0, "sleep_s": 0.0, "crash": "never", "marker": ""}
    metric_names = ("accuracy",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options["crash"] not in _CRASH:
            raise unknown_choice("synthetic evaluator crash mode", self.options["crash"], _CRASH)
        if self.options["crash"] == "once" and not self.options["marker"]:
            raise UserError("synthetic evaluator: crash 'once' needs a 'marker' file path")
        if self.options["sleep_s"] < 0:
            raise UserError(f"synthetic evaluator: sleep_s must be >= 0, "
                            f"got {self.options['sleep_s']}")
        self._weights: dict[int, tuple[np.ndarray, ...]] = {}

    def _model(self, width: int) -> tuple[np.ndarray, ...]:
        if width not in self._weights:
            rng = np.random.default_rng([self.options["seed"], width])
            self._weights[width] = (rng.normal(0, 1, width) / np.sqrt(width),
                                    rng.normal(0, 1, (width, width)) / width,
                                    rng.uniform(1e4, 1e5, width), rng.uniform(0.05, 0.5, width))
        return self._weights[width]

    def _maybe_crash(self) -> None:
        mode = self.options["crash"]
        if mode == "once":
            try:  # O_EXCL: exactly one evaluation, in any process, creates the marker
                os.close(os.open(self.options["marker"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
        if mode in ("once", "always"):
            os.kill(os.getpid(), signal.SIGKILL)  # as if the worker process were lost

    def __call__(self, space: Space, genotype: Genotype) -> Metrics:
        start = time.perf_counter()
        self._maybe_crash()
        x = space.encode(genotype)
        linear, quadratic, params, latency = self._model(len(x))
        accuracy = 50.0 + 45.0 * float(np.tanh(linear @ x + x @ quadratic @ x))
        if self.options["sleep_s"]:
            time.sleep(self.options["sleep_s"])
        return Metrics(objectives={"accuracy": accuracy},
                       cost={"params": float(params @ x), "latency_ms": float(latency @ x)},
                       fidelity=1.0, timings={"total_s": time.perf_counter() - start})
