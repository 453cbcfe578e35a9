"""Small layers of the modern ConvNet blocks: drop path, layer scale, SE, GRN, BN-Linear.

Sources: Huang et al. 2016 (stochastic depth / drop path); Touvron et al. 2021, CaiT
(layer scale, used by ConvNeXt, HorNet and UniRepLKNet with init 1e-6); Hu et al. 2018,
SENet (SE as UniRepLKNet and LSNet use it); Woo et al. 2023, ConvNeXt V2 (GRN, in the
UniRepLKNet block); Wang et al. 2025, LSNet (BN1d-Linear head, folded for deploy).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..cells.darts_network import drop_path

__all__ = ["DropPath", "LayerScale", "SqueezeExcite", "GRN", "BNLinear", "se_width"]


class DropPath(nn.Module):
    """Zero whole residual branches per sample while training (stochastic depth)."""

    def __init__(self, prob: float = 0.0) -> None:
        super().__init__()
        self.prob = prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.prob) if self.training and self.prob > 0 else x

    def extra_repr(self) -> str:
        return f"prob={self.prob}"


class LayerScale(nn.Module):
    """Per-channel scale gamma (init `value`) of a (B, C, H, W) tensor (CaiT; ConvNeXt)."""

    def __init__(self, channels: int, value: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels,), value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1)


def se_width(channels: int, ratio: float = 0.25, divisor: int = 8) -> int:
    """Reduced SE width: channels*ratio rounded to a multiple of `divisor`, at least
    `divisor` (timm `make_divisible` with round_limit 0, as LSNet's SqueezeExcite)."""
    return max(divisor, int(channels * ratio + divisor / 2) // divisor * divisor)


class SqueezeExcite(nn.Module):
    """x * sigmoid(up(ReLU(down(avgpool(x))))), 1x1 convs with bias (Hu et al. 2018).

    UniRepLKNet reduces to C/4 channels; LSNet to `se_width(C)`. (B, C, H, W) -> same.
    """

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.down = nn.Conv2d(channels, reduced, 1)
        self.up = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.up(F.relu(self.down(s))))


class GRN(nn.Module):
    """Global response normalisation on channels-last (B, H, W, C) (ConvNeXt V2).

    G = ||x||_2 over (H, W); N = G / (mean_c G + 1e-6); out = (gamma*N + 1)*x + beta,
    gamma and beta initialised to 0. `bias=False` is the deploy form (beta folded away).
    """

    def __init__(self, channels: int, bias: bool = True) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
        out = (self.gamma * n + 1) * x
        return out if self.beta is None else out + self.beta


class BNLinear(nn.Module):
    """BatchNorm1d then Linear, the LSNet head; `fuse()` folds the BN into the Linear."""

    reparam = True

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(c_in)
        self.linear = nn.Linear(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.bn(x))

    @torch.no_grad()
    def fuse(self) -> nn.Linear:
        """Linear(BN(x)) = (W * s) x + (W (beta - mu * s) + b), s = gamma / sigma."""
        bn, linear = self.bn, self.linear
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        fused = nn.Linear(linear.in_features, linear.out_features,
                          device=linear.weight.device, dtype=linear.weight.dtype)
        fused.weight.copy_(linear.weight * scale)
        fused.bias.copy_(linear.weight @ shift + linear.bias)
        return fused
