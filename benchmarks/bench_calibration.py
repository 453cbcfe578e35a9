"""Rank correlation (Spearman rho, Kendall tau) of every zero-cost proxy with NAS-Bench-201's
200-epoch CIFAR-10 test accuracy, on seeded random archs of the CIFAR network (C16-N5).

Published (Abdelfattah et al. 2021, ZC, NB201 CIFAR-10): synflow ~0.74-0.76, #params ~0.75.
Data-free proxies (synflow, params, macs, zen) see only the input shape 3x32x32, so their
numbers are comparable. No CIFAR-10 is available offline, so data-dependent proxies see a
batch of sklearn digits upsampled and replicated to 3 channels (--data digits) or
class-conditional noise (--data synthetic), at --size pixels to bound the time; they are
not comparable with the published figures, which used CIFAR-10 batches at 32x32.

    python benchmarks/bench_calibration.py [--group free|data|all] [--archs 200]
"""
from __future__ import annotations

import argparse
import json
import time

import _common  # noqa: F401  (puts this checkout on sys.path)
import torch
from _common import proxy_batch
from scipy.stats import kendalltau, spearmanr

from nas.cli.proxies import sample_unique

FREE = ["synflow", "params", "macs", "zen"]
DATA = ["naswot", "jacov", "snip", "grad_norm", "fisher", "grasp"]


def score(space, archs, names, batch, seed) -> tuple[dict, dict]:
    from trainers.proxies import score_proxy

    scores = {n: [] for n in names}
    seconds = {n: 0.0 for n in names}
    for genotype in archs:
        torch.manual_seed(seed)
        model = space.build(genotype)
        for name in names:
            start = time.perf_counter()
            scores[name].append(score_proxy(name, model, batch, seed))
            seconds[name] += time.perf_counter() - start
    return scores, {n: s / len(archs) for n, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=["free", "data", "all"], default="all")
    parser.add_argument("--archs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", choices=["digits", "synthetic"], default="digits")
    parser.add_argument("--size", type=int, default=16, help="image side for data proxies")
    parser.add_argument("--batch", type=int, default=16, help="batch of data proxies")
    parser.add_argument("--zen-batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from search_spaces import get_space
    from search_spaces.nb201_table import accuracies, arch_index

    space = get_space("nb201")
    archs = sample_unique(space, args.archs, args.seed)
    acc = [accuracies("cifar10")[arch_index(space.format(g))] for g in archs]
    runs = []
    if args.group in ("free", "all"):
        runs.append(("free", FREE, proxy_batch(args.data, (3, 32, 32), args.zen_batch,
                                               args.seed), space))
    if args.group in ("data", "all"):
        small = get_space("nb201", input_size=(3, args.size, args.size))
        runs.append((f"{args.data} {args.size}x{args.size}", DATA,
                     proxy_batch(args.data, (3, args.size, args.size), args.batch, args.seed),
                     small))
    start, results = time.perf_counter(), {}
    print(f"{args.archs} NB201 archs (seed {args.seed}), C16-N5; target: CIFAR-10 200-epoch "
          "test accuracy (NATS-Bench table)")
    print(f"{'proxy':<10} {'spearman':>8} {'kendall':>8} {'ms/arch':>8}  input")
    for label, names, batch, net_space in runs:
        scores, seconds = score(net_space, archs, names, batch, args.seed)
        for name in names:
            rho = spearmanr(scores[name], acc).statistic
            tau = kendalltau(scores[name], acc).statistic
            where = ("3x32x32, data-free" + (f", batch {args.zen_batch}" if name == "zen" else "")
                     if label == "free" else f"{label}, batch {args.batch}")
            results[name] = {"spearman": float(rho), "kendall": float(tau),
                             "ms_per_arch": 1e3 * seconds[name], "input": where}
            print(f"{name:<10} {rho:>8.3f} {tau:>8.3f} {1e3 * seconds[name]:>8.0f}  {where}")
    print(f"total {time.perf_counter() - start:.0f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
