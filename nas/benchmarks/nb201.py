"""Strategy benchmark on the full NAS-Bench-201 table, in-process (no Ray, no store).

Each query asks the strategy once and tells it the table's 200-epoch test accuracy; a
repeated genotype still costs a query (Dong & Yang 2020, NAS-Bench-201, Sec. 5 protocol;
regret = global best - best found). Multi-objective mode adds a cost to minimise,
9 x #conv3x3 + #conv1x1 edges (a MAC proxy: a 3x3 conv has 9x the MACs of a 1x1), and
reports the hypervolume of the found front over that of the true front, with the
reference point (accuracy 85, max cost + 1) on CIFAR-10. 85% of the architectures reach
85% there; on CIFAR-100 and ImageNet16-120 the reference accuracy is the one the same
share reaches (55 and 23.5).
"""
from __future__ import annotations

import functools
import time
from typing import Any, Sequence

import numpy as np

from nas.pareto.fronts import hypervolume, to_minimisation
from nas.strategies import make_strategy
from nas.strategies.base import Objective
from search_spaces import get_space
from search_spaces.errors import UserError, unknown_choice
from trainers.metrics import Metrics

__all__ = ["DATASETS", "arch_cost", "run_strategy", "benchmark", "true_front",
           "parse_strategy_spec"]

DATASETS = ("cifar10", "cifar100", "imagenet16")
REFERENCE_ACCURACY = {"cifar10": 85.0, "cifar100": 55.0, "imagenet16": 23.5}
_MO_DIRECTIONS = ("maximize", "minimize")


def arch_cost(genotype) -> float:
    """9 x #nor_conv_3x3 + #nor_conv_1x1 edges of an NB201 cell."""
    ops = list(genotype.as_mapping().values())
    return float(9 * ops.count("nor_conv_3x3") + ops.count("nor_conv_1x1"))


@functools.lru_cache(maxsize=3)
def _table(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and cost of every arch, by benchmark index."""
    from search_spaces.nb201_table import accuracies, load_table

    strings = load_table()["ArchitectureString"]
    cost = np.array([9 * s.count("nor_conv_3x3") + s.count("nor_conv_1x1") for s in strings],
                    dtype=float)
    return accuracies(dataset), cost


def true_front(dataset: str) -> dict[str, Any]:
    """Global best accuracy, the reference point and the hypervolume of the true front."""
    acc, cost = _table(dataset)
    reference = (REFERENCE_ACCURACY[dataset], float(cost.max()) + 1.0)
    pts = to_minimisation(np.column_stack([acc, cost]), _MO_DIRECTIONS)
    ref = to_minimisation(np.array([reference]), _MO_DIRECTIONS)[0]
    return {"best": float(acc.max()), "reference": list(reference),
            "hypervolume": hypervolume(pts, ref)}


def run_strategy(name: str, dataset: str, trials: int, seed: int,
                 multi_objective: bool = False, options: dict | None = None) -> np.ndarray:
    """(trials, 2) array of (accuracy, cost) per query, in query order."""
    from search_spaces.nb201_table import arch_index

    acc, cost = _table(dataset)
    space = get_space("nb201")
    objectives = [Objective("accuracy", "maximize")]
    if multi_objective:
        objectives.append(Objective("cost", "minimize"))
    strategy = make_strategy(name, space, objectives, seed, options or {})
    out = np.empty((trials, 2))
    for i in range(trials):
        genotype = strategy.ask()
        row = arch_index(space.format(genotype))
        out[i] = acc[row], cost[row]
        strategy.tell(genotype, Metrics(objectives={"accuracy": float(acc[row])},
                                        cost={"cost": float(cost[row])}, fidelity=200.0))
    return out


def parse_strategy_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """("bo", {"surrogate": "exact", "max_points": 128}) from
    "bo:surrogate=exact:max_points=128" (values read as YAML scalars); a bare name has no
    options. Lets one run compare variants of one strategy side by side."""
    import yaml

    name, *items = spec.split(":")
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"strategy spec {spec!r}: expected name:key=value:key=value")
        options[key.strip()] = yaml.safe_load(value)
    return name.strip(), options


def _hv_ratio(queries: np.ndarray, front: dict[str, Any]) -> float:
    pts = to_minimisation(queries, _MO_DIRECTIONS)
    ref = to_minimisation(np.array([front["reference"]]), _MO_DIRECTIONS)[0]
    return hypervolume(pts, ref) / front["hypervolume"]


def _summary(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std()), "min": float(arr.min()),
            "max": float(arr.max())}


def benchmark(strategies: Sequence[str], dataset: str, trials: int, seeds: int,
              multi_objective: bool = False, report_at: Sequence[int] = ()) -> dict[str, Any]:
    """Mean/std over seeds 0..seeds-1 of best accuracy and regret (or HV ratio) at each
    budget in `report_at` (always including `trials`), per strategy."""
    if dataset not in DATASETS:
        raise unknown_choice("NB201 dataset", dataset, DATASETS)
    if trials < 1 or seeds < 1:
        raise UserError("--trials and --seeds must be at least 1")
    budgets = sorted({*(b for b in report_at if 0 < b <= trials), trials})
    front = true_front(dataset)
    results = {}
    for name in strategies:
        start, rows = time.perf_counter(), {b: [] for b in budgets}
        strategy, options = parse_strategy_spec(name)
        for seed in range(seeds):
            queries = run_strategy(strategy, dataset, trials, seed, multi_objective, options)
            for b in budgets:
                rows[b].append(_hv_ratio(queries[:b], front) if multi_objective
                               else float(queries[:b, 0].max()))
        metric = "hv_ratio" if multi_objective else "best_accuracy"
        results[name] = {"seconds": time.perf_counter() - start, "at": {
            str(b): {metric: _summary(v), **({} if multi_objective else
                                             {"regret": _summary(front["best"] - np.array(v))})}
            for b, v in rows.items()}}
    return {"benchmark": "nb201", "dataset": dataset, "trials": trials, "seeds": seeds,
            "multi_objective": multi_objective, "global_best": front["best"],
            "reference": front["reference"] if multi_objective else None,
            "budgets": budgets, "strategies": results}
