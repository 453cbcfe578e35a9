"""Conv-BN building block shared by the re-parameterisable ops.

Ding et al. 2022, RepLKNet, Sec. 3 (`conv_bn`: a conv without bias followed by BN).
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..reparam import conv_from_weights, fuse_conv_bn

__all__ = ["ConvBN"]


class ConvBN(nn.Sequential):
    """kxk conv (no bias, padding dilation*(k-1)//2) -> BatchNorm2d; fuses into one conv.

    Shapes: (B, c_in, H, W) -> (B, c_out, ceil(H/stride), ceil(W/stride)) for odd kernels.
    BN keeps running stats even when `affine=False`, so it can always be folded.
    """

    reparam = True

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 dilation: int = 1, affine: bool = True) -> None:
        padding = dilation * (kernel - 1) // 2
        super().__init__(OrderedDict(
            conv=nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation,
                           groups=groups, bias=False),
            bn=nn.BatchNorm2d(c_out, affine=affine),
        ))

    def fuse(self) -> nn.Conv2d:
        """The deploy conv: BN folded into the conv's weight and a new bias (Ding et al. 2022)."""
        weight, bias = fuse_conv_bn(self.conv, self.bn)
        conv = self.conv
        return conv_from_weights(weight, bias, stride=conv.stride, padding=conv.padding,
                                 dilation=conv.dilation, groups=conv.groups)
