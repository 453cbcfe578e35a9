"""Fisher (Theis et al. 2018; Turner et al. 2020; as a NAS proxy: Abdelfattah et al. 2021,
ZC `fisher.py`).

For each output channel k of every Conv/Linear activation a with gradient g = dL/da:
Delta_k = 1/2 * mean_n (sum_{h,w} a g)^2; each Delta_k is broadcast over that channel's
weight slice (fan-in entries) before the sum, so score = sum_layers fan_in * sum_k Delta_k.
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, cross_entropy, scoring, weight_layers

__all__ = ["score"]


@register_proxy("fisher", data_free=False, citation="Theis et al. 2018; Abdelfattah et al. 2021")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Fisher-information channel saliency summed over the network (0.0 without weights)."""
    layers = weight_layers(model)
    if not layers:
        return 0.0
    totals = {id(layer): torch.zeros((), dtype=torch.float64) for layer in layers}

    def forward_hook(layer, inputs, output):
        act = output.detach()
        fan_in = layer.weight[0].numel()

        def on_grad(grad: torch.Tensor) -> None:
            per_channel = act * grad if act.dim() == 2 else (act * grad).flatten(2).sum(2)
            delta = per_channel.double().pow(2).mean(0).mul(0.5)
            totals[id(layer)] = totals[id(layer)] + fan_in * delta.sum().cpu()

        output.register_hook(on_grad)
        # later in-place ops (e.g. ReLU(inplace=True)) must not alter the saved activation
        return output.clone()

    handles = [layer.register_forward_hook(forward_hook) for layer in layers]
    try:
        with scoring(model) as net:
            cross_entropy(net, batch).backward()
    finally:
        for handle in handles:
            handle.remove()
    return float(sum(totals.values()))
