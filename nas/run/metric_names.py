"""Objectives and constraints must name metrics the evaluator reports, checked before the
first trial (a typo would otherwise run the whole search and leave an empty front).

An evaluator declares the objective names of its records in `metric_names`; the cost
metrics `COST_METRICS` (params, macs, latency_ms) are always there, since the worker
measures any the evaluator leaves out (`trainers.evaluators.with_cost`). An evaluator
that declares None is checked on its first complete result instead.
"""
from __future__ import annotations

from typing import Any, Iterable

from search_spaces.errors import UserError, unknown_choice
from trainers.metrics import COST_METRICS

__all__ = ["check_declared", "check_first_result", "cost_to_measure", "requested_metrics"]


def requested_metrics(config) -> list[tuple[str, str]]:
    """(kind, metric name) of every objective and constraint of a `SearchConfig`."""
    return ([("objective", o.name) for o in config.objectives]
            + [("constraint", c.name) for c in config.constraints])


def cost_to_measure(config) -> list[str]:
    """The cost metrics the search needs, for the worker to measure when missing."""
    return [n for n in COST_METRICS if n in {name for _, name in requested_metrics(config)}]


def _check(config, available: Iterable[str], whose: str) -> None:
    allowed = set(available) | set(COST_METRICS)
    for kind, name in requested_metrics(config):
        if name not in allowed:
            raise UserError(f"{unknown_choice(kind, name, allowed)} ({whose})")


def check_declared(config, evaluator: Any) -> None:
    """UserError (did you mean) for an objective or constraint the evaluator of `config`
    does not report; nothing to check while it declares no `metric_names`."""
    names = getattr(evaluator, "metric_names", None)
    if names is not None:
        _check(config, names, f"the metrics evaluator {config.evaluator.name!r} reports")


def check_first_result(config, returned: Iterable[str]) -> None:
    """For an undeclared evaluator: UserError when the metric names of its first result
    lack one the search needs (the search stops there instead of running on)."""
    _check(config, returned, f"evaluator {config.evaluator.name!r} declares no metric_names "
                             "and its first result has only these")
