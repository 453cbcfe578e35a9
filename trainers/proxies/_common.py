"""Shared plumbing for zero-cost proxies: in-place scoring with full restore, weight
layers, seeded RNG, logits, pre-GAP features.

ZC (Abdelfattah et al. 2021, `foresight/pruners/predictive.py`) scores a deep copy; we
score the network itself inside `scoring`, which restores weights, BN buffers, gradients
and per-module train/eval modes afterwards, so callers see the same untouched network.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from search_spaces.errors import UserError

__all__ = ["NotApplicable", "Batch", "scoring", "weight_layers", "disable_batchnorm",
           "seeded", "logits", "cross_entropy", "feature_map", "sum_or_zero", "graph_nodes"]

Batch = tuple[torch.Tensor, torch.Tensor]


class NotApplicable(UserError):
    """A proxy cannot score this network (e.g. NASWOT on a network without ReLUs)."""


@contextlib.contextmanager
def scoring(model: nn.Module, train: bool = True, weight_grads: bool = True):
    """Score `model` in place and put back everything a proxy may change.

    Inside: the chosen train/eval mode, gradients cleared, parameters requiring grad only
    when the proxy needs weight gradients (input-only backward passes are cheaper). On
    exit, even after an error: parameter and buffer values, storages and dtypes, gradients,
    requires_grad flags, per-module modes and instance `forward` overrides are restored.
    This costs two copies of the weights, where a deep copy of the module tree costs far
    more on networks of many small modules (NB201: ~0.2 s against ~0.01 s).
    """
    tensors = [(p, p.data, p.data.clone(), p.grad, p.requires_grad)
               for p in model.parameters()]
    buffers = [(m, name, b, b.clone()) for m in model.modules()
               for name, b in m._buffers.items() if b is not None]
    modules = [(m, m.training, m.__dict__.get("forward")) for m in model.modules()]
    try:
        model.train(train)
        for p, *_ in tensors:
            p.grad = None
            p.requires_grad_(weight_grads)
        yield model
    finally:
        with torch.no_grad():
            for p, data, saved, grad, requires in tensors:
                data.copy_(saved)
                p.data, p.grad = data, grad
                p.requires_grad_(requires)
            for m, name, buffer, saved in buffers:
                buffer.copy_(saved)
                m._buffers[name] = buffer
        for m, training, forward in modules:
            m.training = training
            if forward is None:
                m.__dict__.pop("forward", None)
            else:
                m.forward = forward


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """Conv and Linear layers: the only weights ZC proxies sum over (no biases, no BN)."""
    return [m for m in net.modules()
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)) and m.weight is not None]


def disable_batchnorm(net: nn.Module) -> nn.Module:
    """Make every BatchNorm an identity (ZC `bn=False`; synflow, Tanaka et al. 2020), by an
    instance `forward` override that `scoring` removes again."""
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.forward = _identity
    return net


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


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


def graph_nodes(root: torch.Tensor) -> set:
    """autograd nodes reachable from `root`: the operations a backward pass would visit."""
    seen, stack = set(), [root.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(fn for fn, _ in node.next_functions)
    return seen
