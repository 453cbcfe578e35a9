"""Re-parameterisable large-kernel depthwise convs: RepLKNet and UniRepLKNet.

- `replk_k{K}`: ReparamLargeKernelConv (Ding et al. 2022, RepLKNet, Sec. 3-4): depthwise
  KxK conv-BN plus a parallel depthwise 5x5 conv-BN, summed; deploys as one KxK conv.
- `unireplk_k{K}`: DilatedReparamBlock (Ding et al. 2024, UniRepLKNet): depthwise
  KxK conv-BN plus parallel dilated depthwise conv-BN branches (the published table
  `UNIREPLK_BRANCHES`); deploys as one KxK conv.

Stride and width (our decision): stride is applied natively by every branch. All branches
have odd (effective) kernels with centred padding, so their output grids coincide and the
strided sum still fuses exactly into one strided KxK conv; this is cheaper than a separate
downsampling layer and keeps the deploy form a single conv. When c_in != c_out the
depthwise mixer runs on c_in and is followed by a 1x1 conv-BN projection to c_out, so the
projection runs at the output resolution (cheaper than projecting first when stride is 2).
"""
from __future__ import annotations

import torch
from torch import nn

from ..reparam import conv_from_weights, fuse_conv_bn, merge_branches
from .conv_bn import ConvBN
from .registry import register_op
from .spec import OpSpec

__all__ = ["ReparamLargeKernelConv", "DilatedReparamBlock", "UNIREPLK_BRANCHES",
           "REPLK_KERNELS", "REPLK_SMALL_KERNEL", "replk", "unireplk", "project",
           "small_kernel_for"]

# RepLKNet-31B/L use the 5x5 small kernel; stages use 31, 29, 27, 13 (REFERENCES §4).
REPLK_SMALL_KERNEL = 5
REPLK_KERNELS = tuple(range(3, 32, 2))


def small_kernel_for(kernel: int) -> int | None:
    """The re-param small kernel for a large kernel: 5 (RepLKNet) when K > 5, 3 for
    K = 5 (a 5x5 twin would add nothing new), none for K = 3 (our choice below RepLKNet's
    range)."""
    return REPLK_SMALL_KERNEL if kernel > REPLK_SMALL_KERNEL else (3 if kernel == 5 else None)

# UniRepLKNet `DilatedReparamBlock` default branches: K -> (kernels k_i, dilations r_i).
UNIREPLK_BRANCHES: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {
    17: ((5, 9, 3, 3, 3), (1, 2, 4, 5, 7)),
    15: ((5, 7, 3, 3, 3), (1, 2, 3, 5, 7)),
    13: ((5, 7, 3, 3, 3), (1, 2, 3, 4, 5)),
    11: ((5, 5, 3, 3, 3), (1, 2, 3, 4, 5)),
    9: ((5, 5, 3, 3), (1, 2, 3, 4)),
    7: ((5, 3, 3), (1, 2, 3)),
    5: ((3, 3), (1, 2)),
}


class ReparamLargeKernelConv(nn.Module):
    """Depthwise KxK conv-BN + depthwise small-kernel conv-BN, summed (RepLKNet, Sec. 3).

    Shapes: (B, C, H, W) -> (B, C, ceil(H/stride), ceil(W/stride)). `fuse()` returns one
    depthwise KxK conv with bias: each BN is folded, the small kernel is zero-padded by
    (K-k)/2 and added, and the biases add.
    """

    reparam = True

    def __init__(self, channels: int, kernel: int, stride: int = 1,
                 small_kernel: int | None = -1, affine: bool = True) -> None:
        super().__init__()
        if small_kernel == -1:  # default: `small_kernel_for(kernel)`, 5 for RepLKNet's kernels
            small_kernel = small_kernel_for(kernel)
        if kernel % 2 == 0 or (small_kernel is not None
                               and (small_kernel % 2 == 0 or small_kernel > kernel)):
            raise ValueError(f"RepLK kernels must be odd with small <= large, got "
                             f"{kernel} and {small_kernel}")
        self.channels, self.kernel, self.stride = channels, kernel, stride
        self.large = ConvBN(channels, channels, kernel, stride, groups=channels, affine=affine)
        self.small = (ConvBN(channels, channels, small_kernel, stride, groups=channels,
                             affine=affine) if small_kernel is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.large(x)
        return out if self.small is None else out + self.small(x)

    def fuse(self) -> nn.Conv2d:
        """The deploy form: a single depthwise KxK conv with bias."""
        branches = [fuse_conv_bn(self.large.conv, self.large.bn)]
        if self.small is not None:
            branches.append(fuse_conv_bn(self.small.conv, self.small.bn))
        weight, bias = merge_branches(branches, self.kernel)
        return conv_from_weights(weight, bias, stride=self.stride, groups=self.channels)


class DilatedReparamBlock(nn.Module):
    """Depthwise KxK conv-BN + dilated depthwise conv-BN branches, summed (UniRepLKNet).

    Branch i has kernel k_i, dilation r_i and padding (r_i(k_i-1)+1)//2, from
    `UNIREPLK_BRANCHES[K]`. Shapes: (B, C, H, W) -> (B, C, ceil(H/s), ceil(W/s)).
    `fuse()` returns one depthwise KxK conv with bias.
    """

    reparam = True

    def __init__(self, channels: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__()
        if kernel not in UNIREPLK_BRANCHES:
            raise ValueError(f"DilatedReparamBlock has no branch table for kernel {kernel}; "
                             f"allowed: {sorted(UNIREPLK_BRANCHES)}")
        self.channels, self.kernel, self.stride = channels, kernel, stride
        self.large = ConvBN(channels, channels, kernel, stride, groups=channels, affine=affine)
        kernels, dilations = UNIREPLK_BRANCHES[kernel]
        self.dilations = dilations
        self.branches = nn.ModuleList(
            ConvBN(channels, channels, k, stride, groups=channels, dilation=r, affine=affine)
            for k, r in zip(kernels, dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.large(x)
        for branch in self.branches:
            out = out + branch(x)
        return out

    def fuse(self) -> nn.Conv2d:
        """The deploy form: a single depthwise KxK conv with bias."""
        merged = [fuse_conv_bn(self.large.conv, self.large.bn)]
        for branch, dilation in zip(self.branches, self.dilations):
            merged.append((*fuse_conv_bn(branch.conv, branch.bn), dilation))
        weight, bias = merge_branches(merged, self.kernel)
        return conv_from_weights(weight, bias, stride=self.stride, groups=self.channels)


def project(mixer: nn.Module, c_in: int, c_out: int, affine: bool) -> nn.Module:
    """`mixer` followed by a 1x1 conv-BN c_in -> c_out when the widths differ."""
    if c_in == c_out:
        return mixer
    return nn.Sequential(mixer, ConvBN(c_in, c_out, 1, affine=affine))


@register_op("replk", examples=("replk_k13", "replk_k31"), kernel=REPLK_KERNELS)
def replk(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """RepLKNet ReparamLargeKernelConv, KxK + 5x5 depthwise (Ding et al. 2022, Sec. 3)."""
    kernel = spec.kernel or 31
    conv = ReparamLargeKernelConv(c_in, kernel, stride, affine=affine)
    return project(conv, c_in, c_out, affine)


@register_op("unireplk", examples=("unireplk_k7", "unireplk_k13"),
             kernel=tuple(sorted(UNIREPLK_BRANCHES)))
def unireplk(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """UniRepLKNet DilatedReparamBlock, KxK + dilated branches (Ding et al. 2024, UniRepLKNet)."""
    block = DilatedReparamBlock(c_in, spec.kernel or 13, stride, affine=affine)
    return project(block, c_in, c_out, affine)
