"""Time of every zero-cost proxy per architecture, relative to one forward+backward pass
(cross-entropy loss) of the same network on the same batch.

Targets: every proxy <= 2x; synflow and NASWOT <= 1.2x. NB201 archs are the CIFAR network
(C16-N5, 3x32x32); FBNet archs are measured too when `get_space("fbnet")` exists.
Each time is the minimum of --repeats interleaved runs (the machine may be shared).

    python benchmarks/bench_proxy_cost.py [--archs 3] [--batch 64] [--repeats 2]
"""
from __future__ import annotations

import argparse
import statistics

import _common  # noqa: F401  (puts this checkout on sys.path)
import numpy as np
import torch

from _common import proxy_batch, timed

TARGETS = {"synflow": 1.2, "naswot": 1.2}
DEFAULT_TARGET = 2.0


def forward_backward(model, batch) -> None:
    model.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(batch[0]), batch[1]).backward()


def measure(space, archs: int, batch_size: int, repeats: int, seed: int) -> dict:
    from trainers.proxies import proxy_names, score_proxy

    names = proxy_names()
    batch = proxy_batch("digits", space.input_size(), batch_size, seed)
    rng = np.random.default_rng(seed)
    ratios = {n: [] for n in names}
    ref_times = []
    for _ in range(archs):
        genotype = space.sample(rng)
        torch.manual_seed(seed)
        model = space.build(genotype)
        forward_backward(model, batch)  # warm-up
        best = {n: float("inf") for n in ["reference", *names]}
        for _ in range(repeats):
            best["reference"] = min(best["reference"], timed(forward_backward, model, batch)[1])
            for n in names:
                best[n] = min(best[n], timed(score_proxy, n, model, batch, seed)[1])
        ref_times.append(best["reference"])
        for n in names:
            ratios[n].append(best[n] / best["reference"])
    return {"reference_s": statistics.median(ref_times), "ratios": ratios}


def report(space_name: str, result: dict) -> bool:
    print(f"\n{space_name}: one forward+backward = {result['reference_s'] * 1e3:.0f} ms "
          "(median over archs)")
    print(f"{'proxy':<10} {'median x':>9} {'max x':>7} {'target':>7}  ok")
    ok = True
    for name, values in result["ratios"].items():
        target = TARGETS.get(name, DEFAULT_TARGET)
        passed = max(values) <= target
        ok &= passed
        print(f"{name:<10} {statistics.median(values):>9.2f} {max(values):>7.2f} "
              f"{target:>7.1f}  {'yes' if passed else 'NO'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from search_spaces import get_space, list_spaces

    print(f"batch {args.batch} (digits, upsampled to the network input), {args.archs} archs, "
          f"min of {args.repeats} runs, {args.threads} thread(s)")
    ok = report("nb201 (C16-N5, 3x32x32)", measure(get_space("nb201"), args.archs, args.batch,
                                                   args.repeats, args.seed))
    if "fbnet" in list_spaces():
        ok &= report("fbnet", measure(get_space("fbnet"), args.archs, max(1, args.batch // 8),
                                      args.repeats, args.seed))
    else:
        print("\nfbnet: not registered in this checkout; skipped")
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
