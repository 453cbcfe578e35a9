"""Deploy-time fusion: re-parameterisable ops, then Conv-BN folding, and the deploy cost.

Conv-BN folding (Ioffe & Szegedy 2015 inference form; Ding et al. 2021, RepVGG, Sec. 3.3):
in eval mode BN is affine, so conv -> BN equals one conv with
W' = W * gamma / sqrt(var + eps) and b' = (b - mean) * gamma / sqrt(var + eps) + beta.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Sequence

import torch
from torch import nn

from search_spaces.reparam import fuse_with_report

__all__ = ["fuse_model", "deploy_cost", "measure_latency_ms", "LATENCY_THREADS"]

LATENCY_THREADS = 1


def fuse_model(model: nn.Module) -> tuple[nn.Module, dict[str, Any]]:
    """A fused eval-mode copy of `model` and a report of what was fused: re-parameterisable
    ops merged, then Conv-BN pairs folded (`search_spaces.reparam.fuse_with_report`)."""
    fused, report = fuse_with_report(model)
    changed = report["reparam_merged"] or report["conv_bn_folded"]
    report["note"] = "fused" if changed else "nothing was fusable"
    return fused, report


@torch.no_grad()
def measure_latency_ms(models: Sequence[nn.Module], input_size: tuple[int, ...],
                       runs: int = 30, warmup: int = 5) -> list[float]:
    """Median wall-clock ms of one batch-1 CPU forward pass of each model (eval, no grad).

    One intra-op thread (LATENCY_THREADS): on a shared CPU more threads mostly measure
    contention. The models run interleaved, so load from other processes skews them alike.
    """
    x = torch.randn(1, *input_size)
    threads = torch.get_num_threads()
    torch.set_num_threads(LATENCY_THREADS)
    try:
        for model in models:
            model.eval()
            for _ in range(warmup):
                model(x)
        times: list[list[float]] = [[] for _ in models]
        for _ in range(runs):
            for model, bucket in zip(models, times):
                start = time.perf_counter()
                model(x)
                bucket.append((time.perf_counter() - start) * 1e3)
    finally:
        torch.set_num_threads(threads)
    return [round(statistics.median(t), 4) for t in times]


def deploy_cost(model: nn.Module, input_size: tuple[int, ...], include_bias: bool,
                latency_ms: float | None = None) -> dict[str, Any]:
    """Params and MACs (trainers.cost counter), plus a measured latency when given."""
    from trainers.cost import count_macs, count_params

    cost: dict[str, Any] = {"params": count_params(model, trainable_only=False),
                            "macs": count_macs(model, input_size, include_bias=include_bias)}
    if latency_ms is not None:
        cost["latency_ms"] = latency_ms
        cost["threads"] = LATENCY_THREADS
    return cost
