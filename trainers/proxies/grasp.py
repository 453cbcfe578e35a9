"""GraSP (Wang et al. 2020; as a NAS proxy: Abdelfattah et al. 2021, ZC `grasp.py`).

score = sum over Conv/Linear weights of -theta * (H g), g = dL/dtheta (detached); temperature
1, one iteration, the sign is kept (no abs). ZC computes H g by double backprop (~3x one
forward+backward; 6x on FBNet). Here, in two passes: 1.8x on NB201, 1.5x on FBNet
(benchmarks/bench_proxy_cost.py):

* a layer whose loss is scale-invariant (its output feeds only a batch-statistics BN; most
  convs) has theta_l . (H g)_l = -||g_l||^2 exactly (`_invariance`, Arora et al. 2019);
* for the others (the classifier, convs without BN) H g is a forward finite difference of
  gradients (Pearlmutter 1994, Sec. 2; as in DARTS' second-order step, Liu et al. 2019,
  Eq. 8): (H g)_l ~= (dL~/dtheta_l (theta + eps g) - g_l) / eps, where L~ replays the first
  pass's ReLU masks and max-pool switches (`_gates`), so the step never crosses a kink that
  autograd's Hessian ignores; its backward pass stops at the earliest such layer.

Accuracy, float32, against the double-backprop `_exact` on 12 NB201 archs (C16-N5, batch 64
of digits): median relative error 0.45%, max 3.1%, Spearman 1.0, same signs (the float32
`_exact` itself is up to 0.5% off its float64 value). On FBNet at init the score is a small
residual of two cancelling terms of ~+-460 (BN'd convs against the classifier); there float32
double backprop is off its float64 value by up to 6x, and neither it nor this estimate is a
faithful GraSP value.
"""
from __future__ import annotations

import torch
from torch import nn

from . import register_proxy
from ._common import Batch, cross_entropy, scoring, seeded, sum_or_zero, weight_layers
from ._gates import GateRecorder
from ._invariance import invariant_layers
from .snip import weight_grads

__all__ = ["score", "STEP"]

# relative step of the finite difference: eps * ||g|| = STEP * ||theta||. On NB201, 1e-5
# leaves truncation errors up to 27% (BN'd networks are sharply curved), 3e-7 float32 noise
# up to 8%; 1e-6 gives the figures above
STEP = 1e-6


@register_proxy("grasp", data_free=False, citation="Wang et al. 2020; Abdelfattah et al. 2021")
def score(model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Gradient-signal preservation; 0.0 for a network without weights or gradient.

    The step is scale-aware, eps = STEP * ||theta|| / ||g||; the weights move in place and
    `scoring` restores them (and the BN statistics both passes update); both passes share
    one RNG seed (dropout).
    """
    device = batch[0].device
    with scoring(model) as net:
        layers = weight_layers(net)
        if not layers:
            return 0.0
        gates = GateRecorder(net)
        weights = [layer.weight for layer in layers]
        with seeded(seed, device):
            loss, invariant = invariant_layers(net, lambda: cross_entropy(net, batch))
        grads = [torch.zeros_like(w) if g is None else g for w, g in
                 zip(weights, torch.autograd.grad(loss, weights, allow_unused=True))]
        g_norm = _norm(grads)
        if g_norm == 0.0:
            return 0.0  # H g = H 0 = 0
        rest = [i for i, layer in enumerate(layers) if id(layer) not in invariant]
        exact = sum_or_zero(grads[i].pow(2).sum() for i in range(len(layers)) if i not in rest)
        if not rest:
            return exact
        eps = STEP * _norm(weights) / g_norm
        with torch.no_grad():
            for w, g in zip(weights, grads):
                w.add_(g, alpha=eps)
                w.requires_grad_(False)  # the second backward stops at the earliest of `rest`
        for i in rest:
            weights[i].requires_grad_(True)
        gates.replay()
        with seeded(seed, device):
            loss = cross_entropy(net, batch)
        moved = torch.autograd.grad(loss, [weights[i] for i in rest], allow_unused=True)
        return exact + sum_or_zero(
            -((weights[i].detach() - eps * grads[i]) * (g1 - grads[i])).sum() / eps
            for i, g1 in zip(rest, moved) if g1 is not None)


def _norm(tensors: list[torch.Tensor]) -> float:
    """Euclidean norm of a list of tensors taken as one vector."""
    return float(sum(float(t.detach().double().pow(2).sum()) for t in tensors) ** 0.5)


def _exact(model: nn.Module, batch: Batch) -> float:
    """Reference: H g by double backprop (ZC's algorithm with one forward, create_graph);
    tests check `score` against it."""
    with scoring(model) as net:
        weights, grads = weight_grads(net, batch, create_graph=True)
        terms = [g.detach().mul(g).sum() for g in grads if g.requires_grad]
        if not terms:
            return 0.0
        hg = torch.autograd.grad(sum(terms), weights, allow_unused=True)
        return sum_or_zero((-w.detach() * h).sum() for w, h in zip(weights, hg)
                           if h is not None)
