"""SNIP (Lee et al. 2019; as a NAS proxy: Abdelfattah et al. 2021, ZC `snip.py`).

score = sum over Conv/Linear weights of |theta * dL/dtheta| (the gradient of the loss with
respect to a ones mask multiplied into each weight), BN in train mode, one batch.
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, cross_entropy, scoring, sum_or_zero, weight_layers

__all__ = ["score", "weight_grads"]


def weight_grads(net: nn.Module, batch: Batch, create_graph: bool = False):
    """(weights, dL/dweights) of the Conv/Linear layers; unused weights get zero grads."""
    weights = [layer.weight for layer in weight_layers(net)]
    if not weights:
        return [], []
    loss = cross_entropy(net, batch)
    grads = torch.autograd.grad(loss, weights, allow_unused=True, create_graph=create_graph)
    return weights, [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)]


@register_proxy("snip", data_free=False, citation="Lee et al. 2019; Abdelfattah et al. 2021")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Connection sensitivity summed over all Conv/Linear weights (0.0 without weights)."""
    with scoring(model) as net:
        weights, grads = weight_grads(net, batch)
        return sum_or_zero((w * g).abs().sum() for w, g in zip(weights, grads))
