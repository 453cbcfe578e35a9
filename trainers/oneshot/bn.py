"""BatchNorm recalibration for subnets that inherit supernet weights.

Guo et al., ECCV 2020, "Single Path One-Shot NAS with Uniform Sampling", Sec. 3.3: the
BN statistics a supernet accumulates mix all paths, so before a subnet is evaluated its
running statistics are recomputed on a few training batches.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

__all__ = ["recalibrate_bn", "bn_batches"]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Reset every BN's running statistics, then average them over `batches` (forwarded
    in train mode, exact cumulative average: momentum None); return the batch count.

    Drop path is switched off meanwhile (it would bias the statistics). The model is
    left in eval mode with its BN momenta restored.
    """
    bns = [m for m in model.modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in bns]
    drops = [(m, m.drop_path_prob) for m in model.modules() if hasattr(m, "drop_path_prob")]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    for m, _ in drops:
        m.drop_path_prob = 0.0
    model.train()
    count = 0
    try:
        for x in batches:
            model(x)
            count += 1
    finally:
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum
        for m, prob in drops:
            m.drop_path_prob = prob
        model.eval()
    return count


def bn_batches(x: torch.Tensor, batches: int, batch_size: int, seed: int,
               device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """`batches` random batches (without replacement, wrapping) of rows of `x`."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    need = batches * batch_size
    order = order.repeat((need + len(order) - 1) // len(order))[:need]
    return [x[order[i:i + batch_size]].to(device) for i in range(0, need, batch_size)]
