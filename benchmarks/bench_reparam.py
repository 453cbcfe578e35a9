"""CPU latency of re-parameterised large-kernel ops: training form vs fused deploy form.

Ding et al. 2022, RepLKNet Sec. 3; Ding et al. 2024, UniRepLKNet (Dilated Reparam Block).
Both forms of each op are timed in the same run, interleaved round by round (ABBA) so
load drift and ordering hit both alike; the table prints the median of K rounds and the speedup ratio, by wall
clock and by process CPU time (steadier when other jobs share the cores).

    python -m benchmarks.bench_reparam [--channels 64 --size 56 --batch 8 --rounds 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from search_spaces.ops import build_op  # noqa: E402
from search_spaces.reparam import equivalence_error, fuse_model, randomize_bn_  # noqa: E402
from trainers.cost import count_macs, count_params  # noqa: E402

OPS = ("replk_k31", "replk_k13", "unireplk_k13")


def _time_once(module: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(wall ms, process CPU ms) of one forward."""
    wall, cpu = time.perf_counter(), time.process_time()
    module(x)
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


@torch.inference_mode()
def _time_pair(model: torch.nn.Module, fused: torch.nn.Module, x: torch.Tensor, rounds: int,
               warmup: int) -> tuple[list, list]:
    """Timings of both forms, in ABBA order so neither always runs first."""
    for _ in range(warmup):
        model(x)
        fused(x)
    unfused, deploy = [], []
    for i in range(rounds):
        if i % 2:
            deploy.append(_time_once(fused, x))
            unfused.append(_time_once(model, x))
        else:
            unfused.append(_time_once(model, x))
            deploy.append(_time_once(fused, x))
    return unfused, deploy


def bench(spec: str, channels: int, size: int, batch: int, rounds: int, warmup: int) -> dict:
    """Median ms per forward of `spec` unfused and fused, timed alternately in one run."""
    torch.manual_seed(0)
    model = randomize_bn_(build_op(spec, channels, channels, 1), seed=1).eval()
    fused = fuse_model(model)
    x = torch.randn(batch, channels, size, size)
    unfused, deploy = _time_pair(model, fused, x, rounds, warmup)
    shape = (channels, size, size)
    return {
        "op": spec,
        "unfused_ms": statistics.median(t[0] for t in unfused),
        "fused_ms": statistics.median(t[0] for t in deploy),
        "unfused_cpu_ms": statistics.median(t[1] for t in unfused),
        "fused_cpu_ms": statistics.median(t[1] for t in deploy),
        "params": (count_params(model), count_params(fused)),
        "macs": (count_macs(model, shape), count_macs(fused, shape)),
        "max_abs_err": equivalence_error(model, fused, x[:1]),
    }


def _table(rows: list[dict]) -> str:
    head = (f"{'op':<14}{'unfused ms':>12}{'fused ms':>10}{'speedup':>9}"
            f"{'cpu-ms unf/fus':>17}{'cpu speedup':>12}"
            f"{'params train/deploy':>22}{'MMACs train/deploy':>21}{'max|err|':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        params = f"{r['params'][0]}/{r['params'][1]}"
        macs = f"{r['macs'][0] / 1e6:.1f}/{r['macs'][1] / 1e6:.1f}"
        cpu = f"{r['unfused_cpu_ms']:.0f}/{r['fused_cpu_ms']:.0f}"
        lines.append(f"{r['op']:<14}{r['unfused_ms']:>12.2f}{r['fused_ms']:>10.2f}"
                     f"{r['unfused_ms'] / r['fused_ms']:>8.2f}x{cpu:>17}"
                     f"{r['unfused_cpu_ms'] / r['fused_cpu_ms']:>11.2f}x{params:>22}{macs:>21}"
                     f"{r['max_abs_err']:>10.1e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=56)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (median)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads (0: torch default); 1 is steadier on shared CPUs")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, input "
          f"({args.batch}, {args.channels}, {args.size}, {args.size}), median of "
          f"{args.rounds} after {args.warmup} warm-up, float32, eval")
    rows = [bench(spec, args.channels, args.size, args.batch, args.rounds, args.warmup)
            for spec in args.ops.split(",")]
    print(_table(rows))


if __name__ == "__main__":
    main()
