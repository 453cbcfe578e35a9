"""Zen-score (Lin et al. 2021, ICCV, Zen-NAS; ZN `ZeroShotProxy/compute_zen_score.py`).

Re-initialise Conv/Linear weights ~ N(0, 1) (biases 0) and BN gamma = 1, beta = 0; draw x,
eps ~ N(0, 1) of the batch's shape and x' = x + 0.01 eps; with f the feature map before
global average pooling, Delta = mean_batch sum_{c,h,w} |f(x) - f(x')|;
Zen = log Delta + sum over BN layers of log sqrt(mean_c running_var), the running variances
read after the two train-mode forward passes. Data-free.
"""
from __future__ import annotations

import math
import sys

import torch
from torch import nn

from . import register_proxy
from ._common import (Batch, NotApplicable, feature_map, has_feature_map, scoring, seeded,
                      weight_layers)

__all__ = ["score", "GAMMA_MIX"]

GAMMA_MIX = 0.01


def _check(model: nn.Module) -> None:
    if not has_feature_map(model):
        raise NotApplicable("zen needs the feature map before global average pooling: the "
                            "network has neither forward_features() nor a global pooling layer")


def _reinit(net: nn.Module) -> None:
    with torch.no_grad():
        for layer in weight_layers(net):
            layer.weight.normal_()
            if layer.bias is not None:
                layer.bias.zero_()
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
                m.reset_running_stats()  # a pure function of the architecture


def _zen(net: nn.Module, shape: torch.Size, device: torch.device, dtype: torch.dtype) -> float:
    x = torch.randn(shape, device=device, dtype=dtype)
    mixed = x + GAMMA_MIX * torch.randn(shape, device=device, dtype=dtype)
    with torch.no_grad():
        delta = (feature_map(net, x) - feature_map(net, mixed)).abs().flatten(1).sum(1).mean()
    bn_term = 0.0
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None:
            bn_term += 0.5 * math.log(max(float(m.running_var.mean()), sys.float_info.min))
    # Delta = 0 (features ignore the input) gets log of the smallest double, not -inf
    return math.log(max(float(delta), sys.float_info.min)) + bn_term


@register_proxy("zen", data_free=True, citation="Lin et al. 2021 (ICCV), ZN compute_zen_score",
                check=_check)
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Zen-score at the batch's shape; float32, recomputed in float64 if it overflows."""
    _check(model)
    x = batch[0]
    for dtype in (torch.float32, torch.float64):
        with scoring(model, weight_grads=False) as net, seeded(seed, x.device):
            _reinit(net.to(dtype))
            value = _zen(net, x.shape, x.device, dtype)
        if math.isfinite(value):
            return value
    return value
