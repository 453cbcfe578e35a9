"""Gradient norm (Abdelfattah et al. 2021, ZC `grad_norm.py`).

score = sum over Conv/Linear layers of the Frobenius norm of dL/dW, BN in train mode.
"""
from __future__ import annotations

from torch import nn

from . import register_proxy
from ._common import Batch, scoring, sum_or_zero
from .snip import weight_grads

__all__ = ["score"]


@register_proxy("grad_norm", data_free=False, citation="Abdelfattah et al. 2021 (ZC grad_norm)")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Sum of per-layer gradient norms (0.0 for a network without weights)."""
    with scoring(model) as net:
        return sum_or_zero(g.norm() for g in weight_grads(net, batch)[1])
