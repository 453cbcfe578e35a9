"""NASWOT (Mellor et al. 2021, ICML; WT `score_networks.py`, `scores.py`).

For every ReLU-family module on the backward path, the binary code c = 1[input > 0] of
each sample; K = sum over layers of c c^T + (1-c)(1-c)^T (K_ij = N_A - Hamming(c_i, c_j));
score = log|det K| (sign ignored). Needs one batch of real images (labels unused).
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, NotApplicable, graph_nodes, logits, scoring

__all__ = ["score", "relu_modules"]


def relu_modules(net: nn.Module) -> list[nn.Module]:
    """Modules whose class name contains 'ReLU' (WT's rule; GELU etc. contribute nothing)."""
    return [m for m in net.modules() if "relu" in type(m).__name__.lower()]


def _check(model: nn.Module) -> None:
    if not relu_modules(model):
        raise NotApplicable("naswot needs ReLU activations (it scores ReLU on/off codes; "
                            "Mellor et al. 2021), and this network has no ReLU module")


def _hamming_kernel(x: torch.Tensor) -> torch.Tensor:
    """c c^T + (1-c)(1-c)^T for codes c = 1[x > 0], as one matmul: 2cc^T - s1^T - 1s^T + d."""
    codes = (x.detach().flatten(1) > 0).to(torch.float32)  # counts < 2^24: exact in fp32
    ones = codes.sum(1, dtype=torch.float64)
    kernel = 2.0 * (codes @ codes.T).double() - ones[:, None] - ones[None, :]
    return kernel + codes.shape[1]


@register_proxy("naswot", data_free=False, citation="Mellor et al. 2021 (ICML), WT scores.py",
                check=_check)
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """log|det K| over the batch; 0.0 when K is singular (a non-singular integer matrix
    has |det| >= 1, so 0.0 is the floor of every real score).

    WT runs a backward pass to mark the modules on the backward path, then a second forward
    fills K; here one forward fills per-module kernels and the autograd graph decides which
    of them lie on the path, which selects the same modules at about a third of the cost.
    """
    _check(model)
    kernels: list[tuple[object, torch.Tensor]] = []
    pending: dict[int, torch.Tensor] = {}

    def before(module, inputs):
        pending[id(module)] = _hamming_kernel(inputs[0])

    def after(module, inputs, output):
        kernels.append((output.grad_fn, pending.pop(id(module))))

    handles = [h for m in relu_modules(model) for h in
               (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    try:
        x = batch[0].detach().clone().requires_grad_(True)  # a graph even without weights
        with scoring(model, weight_grads=False) as net:
            on_path = graph_nodes(logits(net, x))
    finally:
        for handle in handles:
            handle.remove()
    n = batch[0].shape[0]
    total = torch.zeros(n, n, dtype=torch.float64, device=batch[0].device)
    for node, kernel in kernels:
        if node is not None and node in on_path:
            total += kernel
    sign, logdet = torch.linalg.slogdet(total)
    if float(sign) == 0.0 or not bool(torch.isfinite(logdet)):
        return 0.0
    return max(float(logdet), 0.0)
