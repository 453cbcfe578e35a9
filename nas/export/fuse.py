"""Deploy-time fusion: re-parameterisable ops, then Conv-BN folding, and the deploy cost.

Conv-BN folding (Ioffe & Szegedy 2015 inference form; Ding et al. 2021, RepVGG, Sec. 3.3):
in eval mode BN is affine, so conv -> BN equals one conv with
W' = W * gamma / sqrt(var + eps) and b' = (b - mean) * gamma / sqrt(var + eps) + beta.
"""
from __future__ import annotations

import copy
import statistics
import time
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fuse_model", "fuse_conv_bn", "deploy_cost", "measure_latency_ms",
           "LATENCY_THREADS"]

LATENCY_THREADS = 1


def _reparam_fuser() -> Callable[[nn.Module], Any] | None:
    """`search_spaces.reparam.fuse_model` when that module exists (imported lazily)."""
    try:
        from search_spaces.reparam import fuse_model as reparam_fuse
    except ImportError:
        return None
    return reparam_fuse


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    """A plain 2-D conv followed by a BN that uses running statistics in eval mode."""
    return (type(conv) is nn.Conv2d and isinstance(bn, nn.BatchNorm2d)
            and bn.track_running_stats and bn.running_mean is not None
            and conv.out_channels == bn.num_features)


def fuse_conv_bn(model: nn.Module) -> int:
    """Fold every Conv2d -> BatchNorm2d pair inside an nn.Sequential, in place (eval mode).

    The BN becomes nn.Identity, so module indices (and the other state_dict keys) stay
    put. Returns the number of pairs folded.
    """
    folded = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = seq._modules[first], seq._modules[second]
            if _foldable(conv, bn):
                seq._modules[first] = fuse_conv_bn_eval(conv.eval(), bn.eval())
                seq._modules[second] = nn.Identity()
                folded += 1
    return folded


def fuse_model(model: nn.Module) -> tuple[nn.Module, dict[str, Any]]:
    """A fused eval-mode copy of `model` and a report of what was fused.

    Re-parameterisable ops are merged first (`search_spaces.reparam.fuse_model`, when the
    branch has it), then the remaining Conv-BN pairs are folded.
    """
    fused = copy.deepcopy(model).eval()
    params_before = sum(p.numel() for p in fused.parameters())
    reparam = _reparam_fuser()
    report: dict[str, Any] = {"reparam": "search_spaces.reparam.fuse_model" if reparam
                              else "not available in this install (BN folding only)"}
    if reparam is not None:
        with torch.no_grad():
            result = reparam(fused)
        fused = result if isinstance(result, nn.Module) else fused
        report["params_after_reparam"] = sum(p.numel() for p in fused.parameters())
    report["conv_bn_folded"] = fuse_conv_bn(fused)
    changed = report["conv_bn_folded"] or report.get("params_after_reparam",
                                                      params_before) != params_before
    report["note"] = "fused" if changed else "nothing was fusable"
    return fused.eval(), report


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
