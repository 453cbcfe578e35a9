"""Weight layers whose loss is scale-invariant: every output goes straight into a BatchNorm
that normalises with batch statistics, and nowhere else.

For such a layer L(c theta_l) = L(theta_l) for all c > 0 (Ioffe & Szegedy 2015; van
Laarhoven 2017) up to BN's eps (scaling by c turns eps into eps / c^2: negligible while the
batch variances are well above eps), so theta_l . dL/dtheta_l = 0 at every point and,
differentiating that, theta_l^T (H v)_l = -g_l . v_l for any v (Arora, Li & Lyu 2019,
ICLR, Sec. 2: grad^2 L theta = -grad L for a scale-invariant L; here per layer). GraSP
uses it to get these layers' terms exactly. Found from the autograd graph of one forward
pass (conservative: a layer used twice counts only if every call qualifies; an output
changed in place does not qualify).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ._common import graph_nodes, weight_layers

__all__ = ["invariant_layers"]


def _consumers(root: torch.Tensor) -> dict[tuple, list]:
    """(producer node, output index) -> the autograd nodes that take that output."""
    users: dict[tuple, list] = {}
    for node in graph_nodes(root):
        for producer, index in node.next_functions:
            if producer is not None:
                users.setdefault((producer, index), []).append(node)
    return users


def _batch_stats(bn: nn.Module) -> bool:
    return bn.training or not bn.track_running_stats


def invariant_layers(net: nn.Module, forward: Callable[[], torch.Tensor]
                     ) -> tuple[torch.Tensor, set[int]]:
    """(forward(), ids of the Conv/Linear layers of `net` whose loss is scale-invariant)."""
    outputs: list[tuple[nn.Module, torch.Tensor, int]] = []
    normalised: dict[int, tuple] = {}  # id(BN input) -> (that input, the BN call's node)

    def on_layer(layer, inputs, output):
        outputs.append((layer, output, output._version))

    def on_bn(bn, inputs, output):
        if _batch_stats(bn) and output.grad_fn is not None:
            normalised[id(inputs[0])] = (inputs[0], output.grad_fn)

    layers = weight_layers(net)
    handles = [layer.register_forward_hook(on_layer) for layer in layers]
    handles += [m.register_forward_hook(on_bn) for m in net.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        loss = forward()
    finally:
        for handle in handles:
            handle.remove()
    users = _consumers(loss) if loss.grad_fn is not None else {}
    ok = {id(layer): True for layer in layers}
    called = set()
    for layer, y, version in outputs:
        called.add(id(layer))
        bn_input, node = normalised.get(id(y), (None, None))
        ok[id(layer)] &= (bn_input is y and y._version == version and y.grad_fn is not None
                          and users.get((y.grad_fn, y.output_nr)) == [node])
    return loss, {i for i, good in ok.items() if good and i in called}
