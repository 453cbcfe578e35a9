"""How a candidate is scored: cost metrics, zero-cost proxies, short training, evaluators
and the fidelity ladder that chains them.

The cost functions need torch; they are imported on first use (PEP 562), so code that
only needs `Metrics` (the run store, config parsing, export and the dashboard server)
stays torch-free.
"""
from __future__ import annotations

import importlib
from typing import Any

from .metrics import Metrics

__all__ = ["Metrics", "cost_report", "count_macs", "count_params", "measure_latency"]

_COST = ("cost_report", "count_macs", "count_params", "measure_latency")  # in .cost


def __getattr__(name: str) -> Any:
    if name in _COST:
        return getattr(importlib.import_module(".cost", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
