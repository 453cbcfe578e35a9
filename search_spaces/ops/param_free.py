"""Parameter-free ops: zero, identity, pooling (Han et al., ICLR 2022, "Learning Features
with Parameter-Free Layers"; NAS-Bench-201 and DARTS op sets)."""
from __future__ import annotations

import torch
from torch import nn

from .conv import ReLUConvBN
from .registry import register_op
from .spec import OpSpec

__all__ = ["Zero", "FactorizedReduce", "zero", "skip_connect", "avg_pool", "max_pool"]


class Zero(nn.Module):
    """Outputs zeros of the op's output shape (the 'none' op; DARTS, NB201)."""

    def __init__(self, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        if x.shape[1] == self.c_out:
            return x.mul(0.0)
        return x.new_zeros(x.shape[0], self.c_out, x.shape[2], x.shape[3])


class FactorizedReduce(nn.Module):
    """Two offset 1x1 stride-2 convs concatenated, then BN (Liu et al. 2019, DARTS)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even c_out, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


@register_op("none", examples=("none",), param_free=True)
def zero(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """The zero op: no information flows (DARTS 'none'; NB201 'none')."""
    return Zero(c_out, stride)


@register_op("skip_connect", examples=("skip_connect",), param_free=True)
def skip_connect(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """Identity; FactorizedReduce at stride 2 (DARTS, Liu et al. 2019); a 1x1 ReLU-conv-BN
    when only the width changes (a stride-2 reduce there would halve the spatial size)."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    if stride == 1:
        return ReLUConvBN(c_in, c_out, 1, 1, affine)
    return FactorizedReduce(c_in, c_out, affine)


def _pool(pool: nn.Module, c_in: int, c_out: int, affine: bool) -> nn.Module:
    if c_in == c_out:
        return pool
    return nn.Sequential(ReLUConvBN(c_in, c_out, 1, 1, affine), pool)


@register_op("avg_pool", examples=("avg_pool_3x3",), param_free=True, kernel=(3, 5))
def avg_pool(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """kxk average pool, padding k//2, count_include_pad=False (NB201, DARTS)."""
    k = spec.kernel or 3
    return _pool(nn.AvgPool2d(k, stride, k // 2, count_include_pad=False), c_in, c_out, affine)


@register_op("max_pool", examples=("max_pool_3x3",), param_free=True, kernel=(3, 5))
def max_pool(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """kxk max pool, padding k//2 (DARTS; Han et al. 2022 parameter-free layers)."""
    k = spec.kernel or 3
    return _pool(nn.MaxPool2d(k, stride, k // 2), c_in, c_out, affine)
