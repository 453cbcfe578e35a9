"""Parameter-free spatial ops: 4-direction shift and the PfLayer max-pool bottleneck.

Han et al., ICLR 2022, "Learning Features with Parameter-Free Layers": spatial mixing
by parameter-free operations (max pooling in the MaxBottleneck; reference code
naver-ai/PfLayer resnet_pf.py). The shift op is the spatial shift of Wu et al. 2018
("Shift: A Zero FLOP, Zero Parameter Alternative to Spatial Convolutions") restricted to
the four axis directions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .conv_bn import ConvBN
from .registry import register_op
from .spec import OpSpec

__all__ = ["shift2d", "Shift", "MaxBottleneck", "shift", "pf_max_bottleneck"]


def shift2d(x: torch.Tensor) -> torch.Tensor:
    """Shift 4 channel groups by one pixel right, left, down and up, zero filling.

    Channels are split into 4 near-equal contiguous groups (`torch.tensor_split`), so
    every channel moves. (B, C, H, W) -> (B, C, H, W); no parameters, no MACs.
    """
    right, left, down, up = torch.tensor_split(x, 4, dim=1)
    return torch.cat([
        F.pad(right[..., :, :-1], (1, 0, 0, 0)),
        F.pad(left[..., :, 1:], (0, 1, 0, 0)),
        F.pad(down[..., :-1, :], (0, 0, 1, 0)),
        F.pad(up[..., 1:, :], (0, 0, 0, 1)),
    ], dim=1)


class Shift(nn.Module):
    """`shift2d`, then keep every stride-th row and column (top-left aligned).

    (B, C, H, W) -> (B, C, ceil(H/s), ceil(W/s)). Subsampling after the shift lets each
    kept pixel carry its four neighbours' channel groups, as a strided 3x3 cross would.
    """

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = shift2d(x)
        return x if self.stride == 1 else x[:, :, :: self.stride, :: self.stride]


class MaxBottleneck(nn.Module):
    """PfLayer "R50-max" bottleneck (Han et al. 2022; naver-ai/PfLayer).

    1x1 conv-BN-ReLU (c_in -> width) -> 3x3 max pool (stride s, padding 1; no BN/ReLU)
    -> 1x1 conv-BN (width -> c_out), plus the shortcut (identity, or 1x1 stride-s conv-BN
    when the shape changes), then ReLU. (B, c_in, H, W) -> (B, c_out, ceil(H/s), ceil(W/s)).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, width: int | None = None,
                 affine: bool = True) -> None:
        super().__init__()
        width = width or max(1, c_out // 4)
        self.body = nn.Sequential(
            ConvBN(c_in, width, 1, affine=affine), nn.ReLU(),
            nn.MaxPool2d(3, stride, 1),
            ConvBN(width, c_out, 1, affine=affine),
        )
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out
                         else ConvBN(c_in, c_out, 1, stride, affine=affine))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


@register_op("shift", examples=("shift",), param_free=True)
def shift(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """4-direction spatial shift (Wu et al. 2018; Han et al. 2022 parameter-free ops).

    Zero parameters at any stride; when c_in != c_out a 1x1 conv-BN follows the shift, so
    each output channel mixes all four shifted groups (a learned 3x3 cross, Wu et al. 2018).
    """
    if c_in == c_out:
        return Shift(stride)
    return nn.Sequential(Shift(stride), ConvBN(c_in, c_out, 1, affine=affine))


@register_op("pf_max_bottleneck", examples=("pf_max_bottleneck", "pf_max_bottleneck_e2"),
             expansion=(1, 2, 4))
def pf_max_bottleneck(spec: OpSpec, c_in: int, c_out: int, stride: int,
                      affine: bool) -> nn.Module:
    """PfLayer MaxBottleneck, width c_out/e with e = 4 by default (Han et al. 2022).

    `e` is the ResNet bottleneck expansion (output width / inner width), not FBNet's.
    """
    width = max(1, c_out // (spec.expansion or 4))
    return MaxBottleneck(c_in, c_out, stride, width, affine)
