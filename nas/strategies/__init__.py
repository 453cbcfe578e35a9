"""Search strategies: ask/tell with state_dict/load_state_dict, registered by name."""
from __future__ import annotations

import importlib

from .base import STRATEGIES, Objective, Strategy, make_strategy

__all__ = ["STRATEGIES", "Objective", "Strategy", "make_strategy", "list_strategies"]

# Modules that register strategies; a new strategy module is added here once.
_STRATEGY_MODULES = ("random", "optuna_samplers", "evolution", "local_search", "bo", "oneshot")


def _load_all() -> None:
    for module in _STRATEGY_MODULES:
        importlib.import_module(f"{__name__}.{module}")


def list_strategies() -> list[str]:
    _load_all()
    return STRATEGIES.names()
