"""Overhead of the user-function evaluator path vs the built-in `train` evaluator on the
same work (one run of each, side by side).

Both searches run through `nas.search` (Ray, store, Pareto) with the same seed, strategy
and space, so they evaluate the same genotypes; the user function does what `train` does
(the same data, seed, build and `train_and_evaluate`) through `Trial`, so the accuracies
must agree exactly. Printed: wall time of each search, the mean evaluation time per trial
(the evaluator's total_s: data, build, training, params and MACs) and their ratios, and,
as the machine's other load makes those noisy, both evaluators called alternately in one
process on the same genotypes (fastest of --repeats calls each).

    python benchmarks/bench_user_evaluator.py [--trials 8] [--epochs 1] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nas  # noqa: E402
from trainers.evaluators import TRAIN_DEFAULTS  # noqa: E402

SPACE = {"name": "nb201", "options": {"channels": 8, "cells": 1, "input_size": [1, 8, 8]}}


def train_like_builtin(trial):
    """The built-in `train` evaluator's work, as a user function."""
    from trainers.evaluators import check_data_fits, train_config
    from trainers.train import train_and_evaluate

    data = check_data_fits(trial.space, trial.options)
    result = train_and_evaluate(trial.build(), data, train_config(trial.options))
    return {"accuracy": 100.0 * result.val_accuracy}


def _search(out: Path, name: str, trials: int, evaluator) -> dict:
    config = {"name": name, "trials": trials, "workers": 1, "seed": 0, "strategy": "random",
              "space": SPACE, "out": str(out)}
    start = time.perf_counter()
    run = nas.search(config, evaluator=evaluator)
    wall = time.perf_counter() - start
    records = sorted(run.records(), key=lambda r: r["trial_id"])
    seconds = [r["metrics"]["timings"]["total_s"] for r in records]
    return {"wall_s": wall, "eval_s": sum(seconds) / len(seconds),
            "accuracy": [r["metrics"]["objectives"]["accuracy"] for r in records],
            "keys": [r["key"] for r in records],
            "genotypes": [r["genotype"] for r in records]}


def _in_process(genotypes: list[dict], options: dict, repeats: int) -> dict:
    """The two evaluators called alternately in this process on each genotype, the
    fastest of `repeats` calls each (the least disturbed by other load)."""
    import torch

    from search_spaces import Genotype, get_space
    from trainers.evaluators import make_evaluator
    from trainers.user_evaluator import FunctionEvaluator

    torch.set_num_threads(1)  # as in a search's workers

    space = get_space(SPACE["name"], **SPACE["options"])
    evaluators = {"builtin": make_evaluator("train", options),
                  "user": FunctionEvaluator(train_like_builtin, "bench", options)}
    best = {name: 0.0 for name in evaluators}
    for data in genotypes:
        genotype = Genotype.from_dict(data)
        times: dict[str, list[float]] = {name: [] for name in evaluators}
        for _ in range(repeats):
            for name, evaluator in evaluators.items():
                start = time.perf_counter()
                evaluator(space, genotype)
                times[name].append(time.perf_counter() - start)
        for name in evaluators:
            best[name] += min(times[name]) / len(genotypes)
    return {"builtin_s": best["builtin"], "user_s": best["user"],
            "ratio": best["user"] / best["builtin"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    options = {**TRAIN_DEFAULTS, "epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        builtin = _search(Path(tmp), "builtin", args.trials,
                          {"name": "train", "options": options})
        user = _search(Path(tmp), "user", args.trials,
                       {"name": train_like_builtin, "options": options})
    if builtin["keys"] != user["keys"] or builtin["accuracy"] != user["accuracy"]:
        raise SystemExit("the two searches did different work (genotypes or accuracies "
                         "differ); the comparison is void")
    result = {"trials": args.trials, "epochs": args.epochs,
              "builtin_wall_s": builtin["wall_s"], "user_wall_s": user["wall_s"],
              "wall_ratio": user["wall_s"] / builtin["wall_s"],
              "builtin_eval_s": builtin["eval_s"], "user_eval_s": user["eval_s"],
              "eval_ratio": user["eval_s"] / builtin["eval_s"],
              "in_process": _in_process(builtin["genotypes"], options, args.repeats)}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.trials} trials x {args.epochs} epoch(s), same genotypes and accuracies")
    print(f"  search wall time: train {builtin['wall_s']:.2f}s, user function "
          f"{user['wall_s']:.2f}s, ratio {result['wall_ratio']:.3f}")
    print(f"  evaluation per trial: train {builtin['eval_s']:.3f}s, user function "
          f"{user['eval_s']:.3f}s, ratio {result['eval_ratio']:.3f}")
    best = result["in_process"]
    print(f"  in process, fastest of {args.repeats} alternating calls: train "
          f"{best['builtin_s']:.3f}s, user function {best['user_s']:.3f}s per trial, "
          f"ratio {best['ratio']:.3f}")


if __name__ == "__main__":
    main()
