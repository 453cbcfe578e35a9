"""How a candidate is scored: cost metrics, zero-cost proxies, short training, evaluators
and the fidelity ladder that chains them."""
from __future__ import annotations

from .cost import cost_report, count_macs, count_params, measure_latency
from .metrics import Metrics

__all__ = ["Metrics", "cost_report", "count_macs", "count_params", "measure_latency"]
