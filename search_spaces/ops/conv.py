"""Convolution ops: ReLU-Conv-BN (NAS-Bench-201 `nor_conv_kxk`, Dong & Yang 2020)."""
from __future__ import annotations

from torch import nn

from .registry import register_op
from .spec import OpSpec

__all__ = ["ReLUConvBN", "nor_conv"]


class ReLUConvBN(nn.Sequential):
    """ReLU -> kxk conv -> BN; the conv has a bias only when BN is not affine (NB201)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, affine: bool = True,
                 dilation: int = 1) -> None:
        padding = dilation * (kernel - 1) // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=not affine),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=affine),
        )


@register_op("nor_conv", examples=("nor_conv_1x1", "nor_conv_3x3", "nor_conv_5x5"),
             kernel=(1, 3, 5, 7))
def nor_conv(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """ReLU-Conv-BN with a kxk kernel (NAS-Bench-201, Dong & Yang, ICLR 2020)."""
    return ReLUConvBN(c_in, c_out, spec.kernel or 3, stride, affine)
