"""Shared plumbing for zero-cost proxies: scoring copies, weight layers, seeded RNG, logits.

Every proxy scores a deep copy of the network (Abdelfattah et al. 2021, ZC
`foresight/pruners/predictive.py` scores a copy too), so the caller's weights, BN buffers,
gradients and per-module train/eval modes are untouched.
"""
from __future__ import annotations

import contextlib
import copy
from typing import Iterator

import torch
from torch import nn

from search_spaces.errors import UserError

__all__ = ["NotApplicable", "Batch", "scoring_copy", "weight_layers", "disable_batchnorm",
           "seeded", "logits", "cross_entropy", "feature_map", "sum_or_zero"]

Batch = tuple[torch.Tensor, torch.Tensor]


class NotApplicable(UserError):
    """A proxy cannot score this network (e.g. NASWOT on a network without ReLUs)."""


def scoring_copy(model: nn.Module, train: bool = True) -> nn.Module:
    """A deep copy in train (or eval) mode, gradients cleared, every parameter trainable."""
    net = copy.deepcopy(model)
    net.train(train)
    for p in net.parameters():
        p.grad = None
        p.requires_grad_(True)
    return net


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """Conv and Linear layers: the only weights ZC proxies sum over (no biases, no BN)."""
    return [m for m in net.modules()
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)) and m.weight is not None]


def disable_batchnorm(net: nn.Module) -> nn.Module:
    """Replace every BatchNorm by an identity (ZC `bn=False`; synflow, Tanaka et al. 2020)."""
    for name, child in list(net.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            disable_batchnorm(child)
    return net


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Run a block with torch's RNG seeded, restoring the caller's RNG state afterwards."""
    devices = [device] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The network output; for models returning (features, logits) the last element."""
    out = net(x)
    return out[-1] if isinstance(out, (tuple, list)) else out


def cross_entropy(net: nn.Module, batch: Batch) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(logits(net, x), y)


def _global_pools(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules()
            if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))]


def feature_map(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Features before global pooling, shape (N, C, H, W).

    Protocol: a network may define `forward_features(x)` (NB201Network does); otherwise
    the input of its last adaptive (global) pooling layer is captured by a forward hook.
    """
    if callable(getattr(net, "forward_features", None)):
        return net.forward_features(x)
    pools = _global_pools(net)
    if not pools:
        raise NotApplicable("the network has no forward_features() and no global pooling "
                            "layer, so it has no pre-GAP feature map")
    captured: list[torch.Tensor] = []
    handle = pools[-1].register_forward_hook(lambda m, i, o: captured.append(i[0]))
    try:
        net(x)
    finally:
        handle.remove()
    return captured[-1]


def has_feature_map(net: nn.Module) -> bool:
    return callable(getattr(net, "forward_features", None)) or bool(_global_pools(net))


def sum_or_zero(values) -> float:
    """Sum of scalar tensors as a Python float; 0.0 for an empty sum (no weights)."""
    total = 0.0
    for v in values:
        total += float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
    return total
