"""`nas benchmark nb201`: compare strategies on the full NAS-Bench-201 table, in-process.

    nas benchmark nb201 --strategy bo,tpe --trials 100 --seeds 10 --dataset cifar10 [--json]
    nas benchmark nb201 --strategy bo --trials 100 --seeds 5 --multi-objective
"""
from __future__ import annotations

import argparse
from typing import Any

from search_spaces.errors import UserError, unknown_choice

from .tables import format_table

__all__ = ["add_parser", "run"]


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers, got {text!r}") \
            from None


def add_parser(sub) -> None:
    """Register `nas benchmark` on the CLI's subparsers."""
    p = sub.add_parser("benchmark", help="compare strategies on a tabular benchmark")
    bsub = p.add_subparsers(dest="benchmark", required=True, metavar="{nb201}")
    nb = bsub.add_parser("nb201", help="NAS-Bench-201 table: best found and regret")
    nb.add_argument("--strategy", required=True,
                    help="strategy name, or several separated by commas (e.g. bo,tpe,rea); "
                         "options after colons: bo:surrogate=exact")
    nb.add_argument("--trials", type=int, required=True, help="queries per run (N)")
    nb.add_argument("--seeds", type=int, default=5, help="runs per strategy, seeds 0..K-1")
    nb.add_argument("--dataset", default="cifar10",
                    help="cifar10 | cifar100 | imagenet16 (default cifar10)")
    nb.add_argument("--multi-objective", action="store_true",
                    help="maximise accuracy and minimise cost (9 x #conv3x3 + #conv1x1); "
                         "report hypervolume over the true front's")
    nb.add_argument("--report-at", type=_int_list, default=[], metavar="N1,N2",
                    help="also report at these budgets (e.g. 100 with --trials 300)")
    nb.add_argument("--json", action="store_true", help="print one JSON object")
    nb.set_defaults(func=run)


def run(args: argparse.Namespace):
    """Run the benchmark; returns (result, text renderer) like every command."""
    from nas.benchmarks.nb201 import benchmark, parse_strategy_spec
    from nas.strategies import list_strategies

    names = [n.strip() for n in args.strategy.split(",") if n.strip()]
    if not names:
        raise UserError("--strategy needs at least one strategy name")
    known = list_strategies()
    for name in names:  # a name may carry options: bo:surrogate=exact
        if parse_strategy_spec(name)[0] not in known:
            raise unknown_choice("strategy", parse_strategy_spec(name)[0], known)
    result = benchmark(names, args.dataset, args.trials, args.seeds, args.multi_objective,
                       args.report_at)
    return result, _render


def _render(result: dict[str, Any]) -> str:
    rows = []
    for name, entry in result["strategies"].items():
        for budget, stats in entry["at"].items():
            if result["multi_objective"]:
                hv = stats["hv_ratio"]
                cells = {"HV ratio": f"{hv['mean']:.4f} +/- {hv['std']:.4f}"}
            else:
                acc, regret = stats["best_accuracy"], stats["regret"]
                cells = {"best test acc": f"{acc['mean']:.3f} +/- {acc['std']:.3f}",
                         "regret": f"{regret['mean']:.3f}"}
            rows.append({"strategy": name, "trials": budget, **cells,
                         "seconds/run": f"{entry['seconds'] / result['seeds']:.1f}"})
    mode = "multi-objective (accuracy, cost)" if result["multi_objective"] else \
        f"global best {result['global_best']:.5f}"
    return (f"NAS-Bench-201 {result['dataset']}, {result['seeds']} seeds, {mode}\n"
            + format_table(rows))
