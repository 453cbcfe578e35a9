"""Strategy comparison on the full NAS-Bench-201 table, side by side in one run.

Single objective: best-found test accuracy (mean +/- std over seeds) and regret at 100 and
300 queries on CIFAR-10, CIFAR-100 and ImageNet16-120, for our default ('bo') against
Optuna TPE, regularized evolution, local search and random search (repeats count as
queries). Multi-objective (accuracy, cost = 9 x #conv3x3 + #conv1x1): hypervolume ratio
to the true front at 100 queries. Same seeds for every strategy. A strategy may carry
options, "name:key=value:key=value", so variants run side by side, e.g. the old
exact-GP `bo` against the default:

    python benchmarks/bench_nb201_strategies.py [--seeds 10] [--json out.json]
    python benchmarks/bench_nb201_strategies.py --seeds 20 --strategies bo,bo:surrogate=exact \
        --multi bo,bo:surrogate=exact --multi-trials 300
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nas.benchmarks.nb201 import DATASETS, benchmark  # noqa: E402

SINGLE = ("bo", "tpe", "rea", "local", "random")
MULTI = ("bo", "nsga2", "tpe", "random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--report-at", type=int, default=100)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="datasets for the single-objective part ('' to skip)")
    parser.add_argument("--strategies", default=",".join(SINGLE))
    parser.add_argument("--multi", default=",".join(MULTI),
                        help="strategies for the multi-objective part ('' to skip)")
    parser.add_argument("--multi-trials", type=int,
                        help="queries of the multi-objective part (default: --report-at); "
                             "the ratio is also shown at --report-at")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    results = {"single": {}, "multi": None}
    for dataset in filter(None, args.datasets.split(",")):
        start = time.perf_counter()
        results["single"][dataset] = benchmark(args.strategies.split(","), dataset, args.trials,
                                               args.seeds, report_at=[args.report_at])
        print(f"[{dataset}: {time.perf_counter() - start:.0f}s]", file=sys.stderr, flush=True)
        _print_single(results["single"][dataset])
    if args.multi:
        results["multi"] = benchmark(args.multi.split(","), "cifar10",
                                     args.multi_trials or args.report_at, args.seeds,
                                     multi_objective=True, report_at=[args.report_at])
        _print_multi(results["multi"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def _print_single(result: dict) -> None:
    print(f"\nNB201 {result['dataset']} (global best {result['global_best']:.3f}), "
          f"{result['seeds']} seeds: best test accuracy mean +/- std (regret)")
    budgets = [str(b) for b in result["budgets"]]
    print(f"{'strategy':<20} " + " ".join(f"{'@' + b:>24}" for b in budgets) + "   s/run")
    for name, entry in result["strategies"].items():
        cells = []
        for b in budgets:
            acc, regret = entry["at"][b]["best_accuracy"], entry["at"][b]["regret"]
            cells.append(f"{acc['mean']:7.3f} +/- {acc['std']:.3f} ({regret['mean']:.3f})")
        print(f"{name:<20} " + " ".join(f"{c:>24}" for c in cells)
              + f"   {entry['seconds'] / result['seeds']:5.1f}", flush=True)


def _print_multi(result: dict) -> None:
    print(f"\nNB201 cifar10 multi-objective (accuracy, cost), {result['seeds']} seeds, "
          f"reference {result['reference']}: hypervolume ratio at each budget")
    for name, entry in result["strategies"].items():
        cells = []
        for b in result["budgets"]:
            hv = entry["at"][str(b)]["hv_ratio"]
            cells.append(f"@{b}: {hv['mean']:.4f} +/- {hv['std']:.4f} (min {hv['min']:.4f})")
        print(f"{name:<20} " + "   ".join(cells)
              + f"   {entry['seconds'] / result['seeds']:5.1f} s/run", flush=True)


if __name__ == "__main__":
    main()
