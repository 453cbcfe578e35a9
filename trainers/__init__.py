"""How a candidate is scored: cost metrics, evaluators, training and (later) proxies."""
from __future__ import annotations

from .cost import count_macs, count_params
from .metrics import Metrics

__all__ = ["Metrics", "count_macs", "count_params"]
