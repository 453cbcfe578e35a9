"""Parameter and MAC counting of a torch module (our own forward-hook counter).

What counts (the NAS-Bench-201 convention, Dong & Yang 2020, xautodl `get_model_infos`):
Conv1d/Conv2d MACs = k_h*k_w*(C_in/groups)*C_out*H_out*W_out, Linear = in*out; with
`include_bias` one more op per output element of a layer with a bias. BatchNorm,
activations, pooling and additions are not counted. Spaces use it for `describe`; the
trainers' cost metrics (`trainers.cost`) re-export it beside latency.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

__all__ = ["count_params", "count_weight_params", "count_macs", "deploy_cost", "deploy_form",
           "MACS_COUNTS"]

MACS_COUNTS = "Conv and Linear multiply-accumulates (bias adds only where stated); " \
              "BN, activations, pooling and additions are not counted"


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (all trainable ones by default, BN affine and biases included)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_weight_params(model: nn.Module) -> int:
    """Conv and Linear weights only: no biases, no BN (mobile-vision's FBNet params_m rule,
    REFERENCES.md Sec. 1.4)."""
    return sum(m.weight.numel() for m in model.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)))


def _conv_macs(module: nn.Module, output: torch.Tensor, include_bias: bool) -> int:
    kernel = 1
    for k in module.kernel_size:
        kernel *= k
    per_out = kernel * module.in_channels // module.groups
    elements = output[0].numel()  # C_out * spatial, one sample
    return elements * per_out + (elements if include_bias and module.bias is not None else 0)


def _linear_macs(module: nn.Linear, output: torch.Tensor, include_bias: bool) -> int:
    outputs = output[0].numel()
    return outputs * module.in_features + (
        outputs if include_bias and module.bias is not None else 0)


@torch.no_grad()
def count_macs(model: nn.Module, input_size: Sequence[int], include_bias: bool = False) -> int:
    """MACs of one forward pass on a single input of shape `input_size` (C, H, W)."""
    total = 0

    def hook(module: nn.Module, _inputs, output) -> None:
        nonlocal total
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            total += _conv_macs(module, output, include_bias)
        elif isinstance(module, nn.Linear):
            total += _linear_macs(module, output, include_bias)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None else torch.float32
        model(torch.zeros(1, *input_size, device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return int(total)


def deploy_form(model: nn.Module, fuse: bool = True) -> tuple[nn.Module, bool]:
    """An eval-mode copy of `model` in its deploy form: re-parameterised branches merged and
    BN folded by `search_spaces.reparam.fuse_model` (Ding et al. 2022, RepLKNet Sec. 3)
    when `fuse` is set. Returns (module, fused)."""
    from .reparam import fuse_model  # lazy: counting stays importable on its own

    if not fuse:
        return copy.deepcopy(model).eval(), False
    return fuse_model(model).eval(), True


def deploy_cost(model: nn.Module, input_size: Sequence[int],
                include_bias: bool = False) -> dict[str, int]:
    """Params and MACs of the deploy form, next to the train-time `count_*`."""
    deploy = deploy_form(model)[0]
    return {"params": count_params(deploy),
            "macs": count_macs(deploy, input_size, include_bias)}
