"""Ask time vs history size for every strategy, old and new `bo` side by side in one run.

DARTS space (32 decisions, 184 one-hot columns), synthetic objective, ask/tell in process.
The history is grown to each size by telling uniform random genotypes (as external
observations; the old exact `bo` could not reach 2,000 of its own asks in 25 minutes),
then the strategy asks and is told 10 untimed warm-up asks (its first model fit on the
grown history) and 10 timed ones: the table shows the mean of those last 10 asks (ms)
and, with --max, their maximum. A strategy whose mean passes --cap-s at one size is not
run at the larger ones ("-"). In brackets: the asking thread's CPU time, which other
load on a shared machine inflates far less than wall time.

Scenarios: "single" (accuracy), "parego" / "ehvi" (accuracy, params; bo's two
multi-objective acquisitions, the other strategies see the same two objectives), and
"constrained" (accuracy under params <= its median and latency_ms <= its 60% quantile).
`bo_old` is `bo` with `surrogate="exact"`: the exact GP on every observation refitted on
the old schedule (every ask below 100 observations, then every 5th).

    python benchmarks/bench_ask_time.py [--strategies bo,bo_old,tpe] [--sizes 100,2000]
        [--scenarios single,parego,ehvi,constrained] [--cap-s 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _common  # noqa: F401  (puts this checkout on sys.path)
import numpy as np

from nas.benchmarks.nb201 import parse_strategy_spec
from nas.pareto.constraints import Constraint
from nas.strategies import make_strategy
from nas.strategies.base import Objective
from search_spaces import get_space
from trainers.evaluators import make_evaluator

STRATEGIES = ("bo", "bo_old", "tpe", "rea", "local", "random", "nsga2", "gp")
VARIANTS = {"bo_old": ("bo", {"surrogate": "exact"})}
SIZES = (100, 250, 500, 1000, 2000, 10_000)
SCENARIOS = ("single", "parego", "ehvi", "constrained")
WARMUP, TIMED = 10, 10


def _setup(scenario: str):
    """(objectives, constraints, bo options) of a scenario on the synthetic evaluator."""
    accuracy, params = Objective("accuracy", "maximize"), Objective("params", "minimize")
    if scenario == "single":
        return [accuracy], (), {}
    if scenario in ("parego", "ehvi"):
        return [accuracy, params], (), {"mo_acquisition": scenario}
    space, evaluator = get_space("darts"), make_evaluator("synthetic", {"seed": 0})
    rng = np.random.default_rng(1)
    sample = [evaluator(space, space.sample(rng)) for _ in range(200)]
    p = np.median([m.value("params") for m in sample])
    lat = np.quantile([m.value("latency_ms") for m in sample], 0.6)
    return [accuracy], (Constraint("params", max=float(p)),
                        Constraint("latency_ms", max=float(lat))), {}


def measure(spec: str, scenario: str, sizes, cap_s: float) -> dict[int, tuple[float, ...]]:
    """{size: (mean, max wall ms, mean CPU ms of the asking thread) of the last TIMED asks}
    for one strategy and scenario."""
    name, options = VARIANTS.get(spec) or parse_strategy_spec(spec)
    objectives, constraints, bo_options = _setup(scenario)
    if name == "bo":
        options = {**options, **bo_options}
    space, evaluator = get_space("darts"), make_evaluator("synthetic", {"seed": 0})
    strategy = make_strategy(name, space, objectives, 0, options, constraints)
    rng, told, out = np.random.default_rng(0), 0, {}
    for size in sorted(sizes):
        while told < size - WARMUP - TIMED:
            genotype = space.sample(rng)
            strategy.tell(genotype, evaluator(space, genotype))
            told += 1
        times = []
        for _ in range(WARMUP + TIMED):
            start, cpu = time.perf_counter(), time.thread_time()
            genotype = strategy.ask()
            times.append((time.perf_counter() - start, time.thread_time() - cpu))
            strategy.tell(genotype, evaluator(space, genotype))
            told += 1
        last = np.array(times[-TIMED:]) * 1e3
        out[size] = (float(last[:, 0].mean()), float(last[:, 0].max()),
                     float(last[:, 1].mean()))
        print(f"  [{spec} {scenario} n={size}: {last[:, 0].mean():.1f} ms]", file=sys.stderr,
              flush=True)
        if last[:, 0].mean() / 1e3 > cap_s:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--scenarios", default="single")
    parser.add_argument("--cap-s", type=float, default=2.0,
                        help="stop a strategy once its mean ask passes this many seconds")
    parser.add_argument("--max", action="store_true", help="also print the slowest ask")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict = {}
    for scenario in args.scenarios.split(","):
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
        results[scenario] = {s: measure(s, scenario, sizes, args.cap_s)
                             for s in args.strategies.split(",")}
        _print(scenario, sizes, results[scenario], args.max)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def _print(scenario: str, sizes, rows: dict, show_max: bool) -> None:
    print(f"\nask time (ms, mean of the last {TIMED} asks{', max' if show_max else ''}; "
          "[CPU ms of the asking thread, immune to other load]), "
          f"DARTS space, synthetic objective, scenario {scenario}")
    print(f"{'strategy':<10}" + "".join(f"{n:>22,}" for n in sizes))
    for spec, by_size in rows.items():
        cells = []
        for n in sizes:
            if n not in by_size:
                cells.append("-")
            else:
                mean, most, cpu = by_size[n]
                cells.append(f"{mean:.1f}" + (f" ({most:.0f})" if show_max else "")
                             + f" [{cpu:.0f}]")
        print(f"{spec:<10}" + "".join(f"{c:>22}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
