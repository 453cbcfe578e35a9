"""SynFlow (Tanaka et al. 2020; as a NAS proxy: Abdelfattah et al. 2021, ZC `synflow.py`).

R = sum of the output of the network with |weights| on an all-ones input [1, C, H, W] in
float64 with BatchNorm disabled; score = sum over Conv/Linear weights of |theta * dR/dtheta|.
Data-free: only the batch's image shape and device are used.
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, disable_batchnorm, logits, scoring, sum_or_zero, weight_layers

__all__ = ["score"]


@register_proxy("synflow", data_free=True,
                citation="Tanaka et al. 2020; Abdelfattah et al. 2021 (ZC synflow, bn=False)")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Synaptic flow of `model` at the input shape of `batch`; 0.0 for a net without weights.

    Eval mode (no dropout); with BN removed the mode changes nothing else (ZC uses train).
    """
    x = batch[0]
    layers = weight_layers(model)
    if not layers:
        return 0.0
    with scoring(model, train=False) as net:
        disable_batchnorm(net).double()
        with torch.no_grad():
            for tensor in net.state_dict().values():  # linearise: every tensor made positive
                tensor.abs_()
        ones = torch.ones(1, *x.shape[1:], dtype=torch.float64, device=x.device)
        logits(net, ones).sum().backward()
        return sum_or_zero((layer.weight * layer.weight.grad).abs().sum()
                           for layer in layers if layer.weight.grad is not None)
