"""Code that runs inside a Ray worker: evaluate one trial, never raise on model errors."""
from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from .failures import exception_failure

__all__ = ["evaluate_trial", "build_components", "user_registrations", "missing_objectives"]

_CACHE: dict[str, Any] = {}
TRACEBACK_CHARS = 6000  # the end of a user's traceback kept in the trial record


def _registries() -> dict[str, Any]:
    from search_spaces.space import SPACES
    from trainers.evaluators import EVALUATORS
    from trainers.proxies import PROXIES

    return {"space": SPACES, "evaluator": EVALUATORS, "proxy": PROXIES}


def user_registrations() -> dict[str, dict[str, Any]]:
    """The spaces, evaluators and proxies the user's code registered in this process:
    sent with every task, as a worker process never ran the code that registered them."""
    found = {kind: registry.user_entries() for kind, registry in _registries().items()}
    return {kind: entries for kind, entries in found.items() if entries}


def _adopt(registered: dict[str, dict[str, Any]]) -> None:
    registries = _registries()
    for kind, entries in registered.items():
        for name, obj in entries.items():
            registries[kind].register_user(name, obj)


def missing_objectives(metrics, names) -> Any:
    """A complete Metrics lacking one of the objective `names` becomes a failed one that
    says what was returned (the user's evaluator decides what it returns)."""
    from trainers.metrics import Metrics

    missing = [n for n in names if n not in metrics.objectives and n not in metrics.cost]
    if not metrics.ok or not missing:
        return metrics
    returned = sorted({*metrics.objectives, *metrics.cost})
    return Metrics(status="failed", cost=metrics.cost, timings=metrics.timings,
                   reason=f"the evaluator returned no {missing[0]!r} (it returned "
                          f"{', '.join(returned) or 'nothing'}); return every objective")


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
    from trainers.evaluators import with_cost
    from trainers.metrics import Metrics

    torch.set_num_threads(int(task.get("threads", 1)))
    started = time.time()
    if "registered" in task:  # the user's own spaces, evaluators, proxies
        _adopt(task["registered"])
    space, evaluator = build_components(task["space"], task["evaluator"])
    if "history" in task:  # only for evaluators that want it (nas.run.rung_scores)
        evaluator.observe_history(task["history"])
    extra = {}
    try:
        genotype = space.validate(Genotype.from_dict(task["genotype"]))
        raw = with_cost(evaluator(space, genotype), space, genotype,
                        task.get("cost_metrics", ()))
        metrics = missing_objectives(raw, task.get("objectives", ()))
        if metrics is not raw:  # what it did return, for the driver's first-result check
            extra["returned"] = sorted({*raw.objectives, *raw.cost})
    except Exception as exc:  # a broken candidate (or user code) must not kill the search
        failure = exception_failure(exc)
        metrics = Metrics.failed(failure["reason"])
        extra["traceback"] = failure["traceback"][-TRACEBACK_CHARS:]
    return {"metrics": metrics.to_dict(), "worker": _worker_info(),
            "started": started, "finished": time.time(), **extra}
