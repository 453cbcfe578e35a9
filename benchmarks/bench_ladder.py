"""How often a calibrated fidelity ladder keeps the 10 best of 1,000 random NB201 archs,
and at what fraction of the cost of training all of them.

The last rung is the `tabular` evaluator (200-epoch CIFAR-10 accuracy, standing in for
full training). The ladder evaluator itself runs on every candidate for
[synflow keep 0.5 -> tabular]; other ladders reuse those synflow scores with their own
calibrated thresholds (same rule, same reference archs). Cost is counted in training
steps: full = archs x 200 epochs x 196 steps (batch 256 on 50k images); a proxy costs its
measured seconds over the measured seconds of one such step.

    python benchmarks/bench_ladder.py [--archs 1000] [--reference 32]
"""
from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts this checkout on sys.path)
import numpy as np
import torch
from _common import timed

from nas.cli.proxies import sample_unique

STEPS_PER_EPOCH, EPOCHS = 196, 200


def step_seconds(space, archs, seed: int) -> float:
    """Seconds of one SGD step at batch 256 (3x32x32), median over a few archs."""
    x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    times = []
    for genotype in archs[:3]:
        torch.manual_seed(seed)
        model = space.build(genotype)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        step()
        times.append(4 * timed(step)[1])  # batch 256 = 4 x batch 64
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--reference", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from search_spaces import get_space
    from search_spaces.nb201_table import accuracies, arch_index
    from trainers.evaluators import make_evaluator
    from trainers.fidelity import rank_agreement

    space = get_space("nb201")
    archs = sample_unique(space, args.archs, args.seed)
    acc = np.array([accuracies("cifar10")[arch_index(space.format(g))] for g in archs])
    top10 = set(np.argsort(-acc)[:10].tolist())
    tabular = {"kind": "evaluator", "name": "tabular", "options": {"cost": False}}

    def ladder(*rungs):
        return make_evaluator("ladder", {"rungs": [*rungs, tabular], "cost": False,
                                         "reference": args.reference, "seed": args.seed})

    start = time.perf_counter()
    main_ladder = ladder({"kind": "proxy", "name": "synflow", "keep": 0.5, "batch_size": 1})
    results = [main_ladder(space, g) for g in archs]
    seconds = time.perf_counter() - start
    synflow = np.array([m.rungs["1.synflow"] for m in results])
    params = np.array([m.cost["params"] for m in results])
    proxy_s = np.mean([m.timings["total_s"] - m.timings.get("evaluator_s", 0.0)
                       - m.timings.get("calibrate_s", 0.0) for m in results])
    step_s = step_seconds(space, archs, args.seed)
    print(f"{args.archs} NB201 archs, top-10 CIFAR-10 accuracy {acc[sorted(top10)].min():.2f}"
          f"..{acc.max():.2f}; ladder ran in {seconds:.0f}s ({1e3 * proxy_s:.0f} ms/arch build "
          f"+ proxy; one training step {step_s:.2f}s)")
    print(f"{'ladder':<38} {'kept':>5} {'top-10 kept':>11} {'cost fraction':>13}")
    configs = [("synflow 0.5 -> tabular (evaluator run)", [("synflow", 0.5)]),
               ("synflow 0.25 -> tabular", [("synflow", 0.25)]),
               ("synflow 0.1 -> tabular", [("synflow", 0.1)]),
               ("params 0.5 -> tabular", [("params", 0.5)]),
               ("params 0.5 -> synflow 0.5 -> tabular", [("params", 0.5), ("synflow", 0.5)])]
    values = {"synflow": synflow, "params": params}
    full = args.archs * EPOCHS * STEPS_PER_EPOCH
    for label, rungs in configs:
        lad = ladder(*[{"kind": "proxy", "name": n, "keep": k, "batch_size": 1}
                       for n, k in rungs])
        thresholds = lad.thresholds(space)
        kept = np.ones(args.archs, dtype=bool)
        for number, (name, _) in enumerate(rungs, start=1):
            kept &= values[name] >= thresholds[number][0]
        if label.endswith("(evaluator run)"):
            assert kept.tolist() == [m.ok for m in results]  # the rule the evaluator applied
        cost = kept.sum() * EPOCHS * STEPS_PER_EPOCH + args.archs * proxy_s / step_s
        print(f"{label:<38} {kept.sum():>5} {len(top10 & set(np.flatnonzero(kept))):>8}/10 "
              f"{cost / full:>13.3f}")
    from scipy.stats import spearmanr

    print(f"synflow vs CIFAR-10 accuracy over all {args.archs} archs: spearman "
          f"{spearmanr(synflow, acc).statistic:.3f}; params: {spearmanr(params, acc).statistic:.3f}")
    agreement = rank_agreement(results)["pairs"][0]
    print(f"rank agreement synflow -> tabular over the {agreement['n']} kept: spearman "
          f"{agreement['spearman']:.3f}, kendall {agreement['kendall']:.3f}")


if __name__ == "__main__":
    main()
