"""One-shot search in `nas search`: supernet training before the trials (SPOS, DNAS),
distributed training, latency-table jobs and the rank-agreement check."""
from __future__ import annotations

from .hook import after_search, before_search, training_config

__all__ = ["after_search", "before_search", "training_config"]
