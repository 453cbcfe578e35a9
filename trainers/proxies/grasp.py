"""GraSP (Wang et al. 2020; as a NAS proxy: Abdelfattah et al. 2021, ZC `grasp.py`).

score = sum over Conv/Linear weights of -theta * (H g), g = dL/dtheta (detached), Hg by
double backprop; temperature 1, one iteration, the sign is kept (no abs).
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, scoring, sum_or_zero
from .snip import weight_grads

__all__ = ["score"]


@register_proxy("grasp", data_free=False, citation="Wang et al. 2020; Abdelfattah et al. 2021")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Gradient-signal preservation; 0.0 for a network without weights.

    ZC runs the batch forward twice (once for g, once for the Hessian-vector product); one
    forward with `create_graph` gives the same g and Hg on the same batch, at lower cost.
    """
    with scoring(model) as net:
        weights, grads = weight_grads(net, batch, create_graph=True)
        z = _sum_tensors(g.detach().mul(g).sum() for g in grads if g.requires_grad)
        if z is None:
            return 0.0
        hg = torch.autograd.grad(z, weights, allow_unused=True)
        return sum_or_zero((-w.detach() * h).sum() for w, h in zip(weights, hg)
                           if h is not None)


def _sum_tensors(terms):
    """Sum of scalar tensors kept as a tensor (for backprop); None for an empty sum."""
    total = None
    for term in terms:
        total = term if total is None else total + term
    return total
