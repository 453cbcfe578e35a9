"""frontier-nas: neural architecture search that is fast, resumable and honest about cost.

The Python API that the `nas` command line is a thin layer over::

    import nas
    run = nas.search("configs/quickstart.yaml", trials=20)
    run.trials            # pandas DataFrame, one row per finished trial
    run.pareto            # front records, genotypes included
    nas.load_run("results/quickstart").best("accuracy")

Sub-packages, in the order a search flows through them: `nas.run` (config, driver, Ray),
`nas.strategies` (ask/tell), `nas.store` (the run folder), `nas.pareto` (fronts,
hypervolume, constraints), `nas.export`, `nas.dashboard`, `nas.oneshot` (supernet search),
`nas.benchmarks` (tabular strategy benchmarks), `nas.cli`. Names are imported on first
use (PEP 562), so `import nas` itself loads neither torch nor Ray.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Run", "load_run", "search", "register_space", "register_evaluator",
           "register_strategy", "register_proxy"]

_LAZY = {
    "Run": "nas.api", "load_run": "nas.api", "search": "nas.api",
    "register_space": "nas.api", "register_proxy": "nas.api",
    "register_evaluator": "nas.api", "register_strategy": "nas.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
