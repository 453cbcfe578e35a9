"""Hard constraints on measured metrics (e.g. `params <= 2e6`, `latency_ms <= 5`).

A trial whose metrics violate a constraint is kept in the store with status "infeasible"
(never on the Pareto front). Violations follow Optuna's `constraints_func` convention
(Deb et al. 2002, NSGA-II constrained domination): one value per constraint, <= 0 means
satisfied, > 0 is the amount by which the bound is exceeded.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from search_spaces.errors import UserError
from trainers.metrics import COMPLETE, INFEASIBLE, Metrics

__all__ = ["Constraint", "parse_constraints", "violations", "apply_constraints", "as_number"]

_BOUNDS = ("min", "max")


@dataclass(frozen=True)
class Constraint:
    """`min <= metric <= max` for one objective or cost key of `Metrics` (either bound optional)."""

    name: str
    min: float | None = None
    max: float | None = None

    def violation(self, value: float | np.ndarray) -> float | np.ndarray:
        """Amount by which `value` (a number, or an array elementwise) breaks the bounds:
        <= 0 when satisfied, inf when not finite (NaN is a missing metric)."""
        value = np.asarray(value, dtype=float)
        amount = np.full(value.shape, -np.inf)
        if self.max is not None:
            amount = np.maximum(amount, value - self.max)
        if self.min is not None:
            amount = np.maximum(amount, self.min - value)
        amount = np.where(np.isfinite(value), amount, np.inf)
        return float(amount) if amount.ndim == 0 else amount

    def ok(self, value: float | np.ndarray) -> bool | np.ndarray:
        """Whether `value` (a number or an array, elementwise) is finite and within the bounds."""
        return self.violation(value) <= 0

    def describe(self, value: float) -> str:
        bound = f"> max {self.max:g}" if self.max is not None and value > self.max else \
            f"< min {self.min:g}" if self.min is not None and value < self.min else "missing"
        return f"{self.name}={value:.6g} {bound}"

    def to_dict(self) -> dict[str, float]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k in _BOUNDS and v is not None}


def as_number(value: Any) -> float | None:
    """A finite float, or None. Accepts numeric strings: YAML 1.1 (PyYAML) reads `2.0e6`
    (no sign in the exponent) as the string "2.0e6"."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _bound(name: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    number = as_number(value)
    if number is None:
        raise UserError(f"constraint {name!r}: {key!r} must be a finite number, got {value!r}")
    return number


def parse_constraints(data: Any) -> tuple[Constraint, ...]:
    """`{metric: {max: 2e6}, other: {min: 1, max: 5}}` -> validated constraints."""
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise UserError("config 'constraints' must map metric names to {min: X, max: Y}, "
                        "e.g. {params: {max: 2.0e6}}")
    result = []
    for name, bounds in data.items():
        if not isinstance(bounds, Mapping) or not bounds or set(bounds) - set(_BOUNDS):
            raise UserError(f"constraint {name!r} must be a mapping with 'min' and/or 'max', "
                            f"got {bounds!r}")
        low, high = _bound(name, "min", bounds.get("min")), _bound(name, "max", bounds.get("max"))
        if low is None and high is None:
            raise UserError(f"constraint {name!r} needs a 'min' or 'max' value")
        if low is not None and high is not None and low > high:
            raise UserError(f"constraint {name!r}: min {low:g} is above max {high:g}")
        result.append(Constraint(str(name), low, high))
    return tuple(result)


def violations(constraints: Sequence[Constraint], metrics: Metrics) -> list[float] | None:
    """Violation per constraint of a measured trial; None for a failed one (nothing measured)."""
    if metrics.status not in (COMPLETE, INFEASIBLE):
        return None
    return [c.violation(metrics.value(c.name)) for c in constraints]


def apply_constraints(constraints: Sequence[Constraint], metrics: Metrics) -> Metrics:
    """`metrics` with status "infeasible" and a reason when a constraint is violated."""
    if not constraints or metrics.status != COMPLETE:
        return metrics
    broken = [c.describe(metrics.value(c.name)) for c in constraints
              if c.violation(metrics.value(c.name)) > 0]
    if not broken:
        return metrics
    return dataclasses.replace(metrics, status=INFEASIBLE,
                               reason="violates " + ", ".join(broken))
