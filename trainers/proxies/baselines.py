"""Cost baselines as proxies: #params and MACs (Abdelfattah et al. 2021 report both;
#params alone reaches Spearman ~0.75 on NAS-Bench-201 CIFAR-10)."""
from __future__ import annotations

from torch import nn

from ..cost import count_macs, count_params
from . import register_proxy
from ._common import Batch, scoring

__all__ = ["params", "macs"]


@register_proxy("params", data_free=True, citation="Abdelfattah et al. 2021 (baseline)")
def params(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Number of trainable parameters."""
    return float(count_params(model))


@register_proxy("macs", data_free=True, citation="Abdelfattah et al. 2021 (FLOPs baseline)")
def macs(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Multiply-accumulates of one sample at the batch's image shape (trainers.cost rules)."""
    with scoring(model, train=False, weight_grads=False) as net:
        return float(count_macs(net, tuple(batch[0].shape[1:])))
