"""Jacobian covariance (Mellor et al. 2020, arXiv 2006.04647v1; ZC `jacob_cov.py`).

J = d(sum of outputs)/dx per sample, flattened; C = correlation matrix of the N rows with
eigenvalues l_i; score = -sum_i [log(l_i + k) + 1/(l_i + k)], k = 1e-5.
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, logits, scoring

__all__ = ["score", "K"]

K = 1e-5


def _score_from_jacobian(jac: torch.Tensor) -> float:
    """ZC's eval_score; an undefined correlation (a constant Jacobian row, e.g. when the
    output ignores the input) counts as full correlation, the lowest possible score."""
    corr = torch.corrcoef(jac.double())
    if not bool(torch.isfinite(corr).all()):
        corr = torch.ones_like(corr)
    eig = torch.linalg.eigvalsh(corr).clamp_min(0.0)  # symmetric: real; clamp fp noise
    return float(-(torch.log(eig + K) + 1.0 / (eig + K)).sum())


@register_proxy("jacov", data_free=False,
                citation="Mellor et al. 2020 (NASWOT v1); Abdelfattah et al. 2021 jacob_cov")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Jacobian-correlation score of one batch (labels unused), BN in train mode."""
    x = batch[0].detach().clone().requires_grad_(True)
    with scoring(model, weight_grads=False) as net:
        out = logits(net, x)
        out.backward(torch.ones_like(out))
    return _score_from_jacobian(x.grad.flatten(1))
