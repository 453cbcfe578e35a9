"""FBNet blocks: the inverted residual `ir_k{K}_e{E}[_g{G}]` and the FBNet `skip`.

Wu et al., CVPR 2019, "FBNet", Sec. 3.2 and Table 2 (the block and its 9 candidates),
built the way mobile-vision's IRFBlock builds them (REFERENCES.md Sec. 1.2):

* pw 1x1 conv-BN-ReLU, grouped by g; OMITTED when e = 1 (mid = c_in);
* a channel shuffle with g groups whenever g > 1, even without the pw conv;
* depthwise KxK conv-BN-ReLU carrying the stride;
* pwl 1x1 conv-BN (no activation), grouped by g;
* a plain residual add when c_in = c_out and stride = 1.

Convs have no bias (the conv-BN convention; mobile-vision's FBNet defs add conv biases).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError
from .registry import register_op
from .spec import OpSpec

__all__ = ["ChannelShuffle", "InvertedResidual", "conv_bn", "ir", "skip"]


class ChannelShuffle(nn.Module):
    """Interleave `groups` channel groups (Zhang et al., CVPR 2018, ShuffleNet, Sec. 3.1)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
            relu: bool = True, affine: bool = True) -> nn.Sequential:
    """Bias-free kxk conv -> BN [-> ReLU], padding k//2."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, affine=affine),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """FBNet / mobile-vision IRF block (Wu et al. 2019, Sec. 3.2; Sandler et al. 2018).

    Shapes: (N, c_in, H, W) -> (N, c_out, H/stride, W/stride).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int,
                 groups: int = 1, affine: bool = True) -> None:
        super().__init__()
        mid = c_in * expansion
        for what, width in (("input", c_in), ("expanded", mid), ("output", c_out)):
            if width % groups:
                raise UserError(f"ir block with g{groups} needs {what} channels divisible "
                                f"by {groups}, got {width}")
        self.pw = conv_bn(c_in, mid, 1, groups=groups, affine=affine) if mid != c_in else None
        self.shuffle = ChannelShuffle(groups) if groups > 1 else None
        self.dw = conv_bn(mid, mid, kernel, stride, groups=mid, affine=affine)
        self.pwl = conv_bn(mid, c_out, 1, groups=groups, relu=False, affine=affine)
        self.residual = c_in == c_out and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(x) if self.pw is not None else x
        if self.shuffle is not None:
            y = self.shuffle(y)
        y = self.pwl(self.dw(y))
        return x + y if self.residual else y




@register_op("ir", examples=("ir_k3_e1", "ir_k3_e1_g2", "ir_k3_e3", "ir_k3_e6", "ir_k5_e1",
                             "ir_k5_e1_g2", "ir_k5_e3", "ir_k5_e6", "ir_k5_e6_g2"),
             kernel=(3, 5, 7), expansion=(1, 2, 3, 4, 6), groups=(1, 2))
def ir(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """Inverted residual, kernel k, expansion e, pw/pwl groups g (Wu et al., CVPR 2019,
    FBNet, Sec. 3.2; mobile-vision IRFBlock)."""
    return InvertedResidual(c_in, c_out, spec.kernel or 3, spec.expansion or 1, stride,
                            spec.groups or 1, affine)


@register_op("skip", examples=("skip",), param_free=True)
def skip(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """FBNet skip: identity, or 1x1 conv-BN-ReLU on a shape change (Wu et al. 2019, 3.2)."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return conv_bn(c_in, c_out, 1, stride, affine=affine)
