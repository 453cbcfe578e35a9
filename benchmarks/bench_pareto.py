"""Time `nas.pareto.fronts.hypervolume` against Optuna's exact hypervolume, side by side.

Usage: python benchmarks/bench_pareto.py [--sizes 1000 10000] [--repeats 3]
Two point sets per size and dimension: "random" (uniform, a small front) and "front"
(every point non-dominated, the worst case for the sweep). Both libraries get the same
points and reference; the best of `--repeats` runs is reported, with Optuna / ours.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optuna._hypervolume import compute_hypervolume  # noqa: E402

from nas.pareto.fronts import hypervolume  # noqa: E402

__all__ = ["main"]


def _points(kind: str, n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform points, or points on the unit sphere's positive orthant (all non-dominated)."""
    pts = rng.random((n, m))
    if kind == "front":
        pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    return pts


def _best_time(fn, repeats: int) -> tuple[float, float]:
    """(fastest wall time in seconds, result) over `repeats` calls."""
    best, out = float("inf"), 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> None:
    """Print one row per (m, point set, n): our time, Optuna's, their ratio, agreement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(f"{'m':>2} {'points':>7} {'n':>6} {'ours ms':>10} {'optuna ms':>10} "
          f"{'optuna/ours':>11} {'rel diff':>9}")
    for m in (2, 3):
        for kind in ("random", "front"):
            for n in args.sizes:
                pts = _points(kind, n, m, rng)
                ref = np.full(m, 1.1)
                ours, hv = _best_time(lambda: hypervolume(pts, ref), args.repeats)
                theirs, hv_opt = _best_time(lambda: compute_hypervolume(pts, ref), args.repeats)
                diff = abs(hv - hv_opt) / abs(hv_opt)
                print(f"{m:>2} {kind:>7} {n:>6} {ours * 1e3:>10.2f} {theirs * 1e3:>10.2f} "
                      f"{theirs / ours:>11.2f} {diff:>9.1e}")


if __name__ == "__main__":
    main()
