"""The one record every evaluator returns (objectives, cost, timings, fidelity)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

__all__ = ["Metrics", "COMPLETE", "FAILED", "INFEASIBLE", "PRUNED", "STATUSES", "COST_METRICS",
           "SETUP_TIMINGS"]

COMPLETE, FAILED, INFEASIBLE, PRUNED = "complete", "failed", "infeasible", "pruned"
STATUSES = (COMPLETE, FAILED, INFEASIBLE, PRUNED)
#: cost metrics any search may name: the worker measures them when an evaluator does not
COST_METRICS = ("params", "macs", "latency_ms")
#: timings of once-per-worker set-up (a ladder's threshold calibration), not a trial's cost
SETUP_TIMINGS = ("calibrate_s",)


@dataclass(frozen=True)
class Metrics:
    """Result of evaluating one genotype.

    objectives: what the search optimises (e.g. accuracy); cost: params, macs, latency_ms;
    timings: seconds per phase; fidelity: the budget it was measured at (e.g. epochs);
    status: complete | failed | infeasible | pruned (stopped early by a fidelity ladder),
    with `reason` when not complete; only complete trials are front material;
    rungs: per-rung scores of a fidelity ladder, keyed "<position>.<rung>" in ladder order.
    """

    objectives: dict[str, float] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    fidelity: float | None = None
    status: str = COMPLETE
    reason: str = ""
    rungs: dict[str, float] = field(default_factory=dict)

    def value(self, name: str) -> float:
        """An objective or cost value by name (NaN when absent)."""
        if name in self.objectives:
            return float(self.objectives[name])
        return float(self.cost.get(name, math.nan))

    @property
    def ok(self) -> bool:
        return self.status == COMPLETE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Metrics":
        return cls(**{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()})

    @classmethod
    def failed(cls, reason: str, **timings: float) -> "Metrics":
        return cls(status=FAILED, reason=reason, timings=dict(timings))
