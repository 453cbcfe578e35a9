"""Search strategies: ask/tell with state_dict/load_state_dict, registered by name."""
from __future__ import annotations

from .base import STRATEGIES, Objective, Strategy, make_strategy

__all__ = ["STRATEGIES", "Objective", "Strategy", "list_strategies", "make_strategy"]


def list_strategies() -> list[str]:
    return STRATEGIES.names()
