"""Code that runs inside a Ray worker: evaluate one trial, never raise on model errors."""
from __future__ import annotations

import json
import os
import socket
import time
import traceback
from typing import Any

__all__ = ["evaluate_trial", "build_components"]

_CACHE: dict[str, Any] = {}


def build_components(space: dict, evaluator: dict):
    """(Space, Evaluator) for the given {name, options} specs, cached per process."""
    from search_spaces import get_space
    from trainers.evaluators import make_evaluator

    key = json.dumps([space, evaluator], sort_keys=True, default=str)
    if key not in _CACHE:
        _CACHE[key] = (get_space(space["name"], **space["options"]),
                       make_evaluator(evaluator["name"], evaluator["options"]))
    return _CACHE[key]


def _worker_info() -> dict[str, Any]:
    """Host, pid and Ray node of this process (fixed for its lifetime: computed once)."""
    if "worker_info" not in _CACHE:
        info = {"host": socket.gethostname(), "pid": os.getpid(), "node": ""}
        try:
            import ray

            if ray.is_initialized():
                info["node"] = ray.get_runtime_context().get_node_id()
        except Exception:  # outside Ray (tests, inline mode)
            pass
        _CACHE["worker_info"] = info
    return dict(_CACHE["worker_info"])


def evaluate_trial(task: dict[str, Any]) -> dict[str, Any]:
    """Evaluate task['genotype']; errors in the model become a failed Metrics record."""
    import torch

    from search_spaces.genotype import Genotype
    from trainers.metrics import Metrics

    torch.set_num_threads(int(task.get("threads", 1)))
    started = time.time()
    space, evaluator = build_components(task["space"], task["evaluator"])
    if "history" in task:  # only for evaluators that want it (nas.run.rung_scores)
        evaluator.observe_history(task["history"])
    try:
        genotype = space.validate(Genotype.from_dict(task["genotype"]))
        metrics = evaluator(space, genotype)
    except Exception as exc:  # a broken candidate must not kill the search
        last = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        metrics = Metrics.failed(f"{type(exc).__name__}: {exc} ({last})")
    return {"metrics": metrics.to_dict(), "worker": _worker_info(),
            "started": started, "finished": time.time()}
