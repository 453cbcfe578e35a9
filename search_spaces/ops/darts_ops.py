"""DARTS / NASNet convolution ops: separable, dilated and factorised 7x1-1x7 convs.

Liu et al., ICLR 2019, "DARTS", Sec. 3.1 and App. A.1 (the 8 primitives); Zoph et al.,
CVPR 2018, "NASNet", Sec. 3 (sep_conv_7x7, conv 1x7 then 7x1). All convs are bias-free,
BN follows each conv stack; the stride sits on the first (depthwise) conv only.
"""
from __future__ import annotations

from torch import nn

from .registry import register_op
from .spec import OpSpec

__all__ = ["SepConv", "DilConv", "Conv7x1x7", "sep_conv", "dil_conv", "conv_7x1_1x7"]


def _relu_dw_pw_bn(c_in: int, c_out: int, kernel: int, stride: int, dilation: int,
                   affine: bool) -> list[nn.Module]:
    """ReLU -> depthwise kxk (stride, dilation) -> pointwise 1x1 -> BN, as a layer list."""
    padding = dilation * (kernel - 1) // 2
    return [
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in,
                  bias=False),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out, affine=affine),
    ]


class SepConv(nn.Sequential):
    """ReLU-dw-pw-BN twice; the first pointwise keeps c_in (DARTS `SepConv`, Liu et al.
    2019, App. A.1). Shapes: (N, c_in, H, W) -> (N, c_out, H/stride, W/stride)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int,
                 affine: bool = True) -> None:
        super().__init__(*_relu_dw_pw_bn(c_in, c_in, kernel, stride, 1, affine),
                         *_relu_dw_pw_bn(c_in, c_out, kernel, 1, 1, affine))


class DilConv(nn.Sequential):
    """ReLU-dw(dilated)-pw-BN once (DARTS `DilConv`, Liu et al. 2019, App. A.1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dilation: int = 2,
                 affine: bool = True) -> None:
        super().__init__(*_relu_dw_pw_bn(c_in, c_out, kernel, stride, dilation, affine))


class Conv7x1x7(nn.Sequential):
    """ReLU -> 1x7 conv -> 7x1 conv -> BN (NASNet's factorised 7x7, Zoph et al. 2018,
    Sec. 3; DARTS `conv_7x1_1x7`). The stride is split over the two convs' axes."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(c_out, c_out, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


@register_op("sep_conv", examples=("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"),
             kernel=(3, 5, 7))
def sep_conv(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """Separable conv, ReLU-dw-pw-BN twice (Liu et al., ICLR 2019, DARTS, App. A.1)."""
    return SepConv(c_in, c_out, spec.kernel or 3, stride, affine)


@register_op("dil_conv", examples=("dil_conv_3x3", "dil_conv_5x5"), kernel=(3, 5),
             dilation=(2, 3, 4))
def dil_conv(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """Dilated separable conv, dilation 2 by default (Liu et al., ICLR 2019, DARTS, A.1)."""
    return DilConv(c_in, c_out, spec.kernel or 3, stride, spec.dilation or 2, affine)


@register_op("conv_7x1_1x7", examples=("conv_7x1_1x7",))
def conv_7x1_1x7(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """ReLU, 1x7 then 7x1 conv, BN (Zoph et al., CVPR 2018, NASNet, Sec. 3)."""
    return Conv7x1x7(c_in, c_out, stride, affine)
