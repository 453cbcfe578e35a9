"""Block styles of the convnet space: how each paper wraps a token mixer and its MLP.

- "convnext": x + DropPath(gamma * MLP(LN(mixer(x)))), one residual (Liu et al. 2022).
- "metaformer": x + DropPath(gamma1 * mixer(LN(x))); x + DropPath(gamma2 * MLP(LN(x)))
  (HorNet's block, Rao et al. 2022; PoolFormer's MetaFormer, Yu et al. 2022).
- "unireplk": the UniRepLKNet block with BN, SE, GRN (`convnet_unireplk`).
- "replk": RepLKBlock then ConvFFN, each behind a pre-BN (Ding et al. 2022, Sec. 4).
- "lsnet": mixer (with its own or an added residual), SE on even blocks, then an FFN
  residual 1x1 conv-BN, ReLU, 1x1 conv-BN with BN gamma 0 at init (Wang et al. 2025).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..ops.block_layers import DropPath, LayerScale, SqueezeExcite, se_width
from ..ops.conv_bn import ConvBN
from ..ops.convnext import ConvNeXtBlock, LayerNorm2d
from .convnet_mixers import MixerContext, build_mixer, mixer_entry
from .convnet_unireplk import UniRepLKBlock

__all__ = ["BlockSpec", "BLOCK_STYLES", "build_block", "MetaFormerBlock", "RepLKUnit",
           "ConvFFN", "LSNetBlock", "Residual"]

BLOCK_STYLES = ("convnext", "metaformer", "unireplk", "replk", "lsnet")


@dataclass(frozen=True)
class BlockSpec:
    """One block: its mixer, MLP ratio, index in its stage and drop-path rate."""

    mixer: str
    mlp_ratio: int
    index: int = 0
    drop_prob: float = 0.0
    layer_scale: float = 1e-6
    dw_ratio: float = 1.0


class Residual(nn.Module):
    """x + DropPath(body(x))."""

    def __init__(self, body: nn.Module, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.body = body
        self.drop_path = DropPath(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.body(x))


class ChannelMLP(nn.Sequential):
    """Linear C -> rC, GELU, Linear rC -> C on channels-last input (ConvNeXt, HorNet)."""

    def __init__(self, channels: int, ratio: int) -> None:
        super().__init__(nn.Linear(channels, ratio * channels), nn.GELU(),
                         nn.Linear(ratio * channels, channels))


class MetaFormerBlock(nn.Module):
    """Two pre-LN residuals, token mixer then MLP, each with a layer scale (HorNet block).
    (B, C, H, W) -> same."""

    def __init__(self, channels: int, mixer: nn.Module, spec: BlockSpec) -> None:
        super().__init__()
        self.norm1 = LayerNorm2d(channels)
        self.mixer = mixer
        self.gamma1 = LayerScale(channels, spec.layer_scale)
        self.norm2 = nn.LayerNorm(channels, eps=1e-6)
        self.mlp = ChannelMLP(channels, spec.mlp_ratio)
        self.gamma2 = LayerScale(channels, spec.layer_scale)
        self.drop_path = DropPath(spec.drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.gamma1(self.mixer(self.norm1(x))))
        y = self.mlp(self.norm2(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x + self.drop_path(self.gamma2(y))


class RepLKUnit(nn.Module):
    """x + DropPath(pw2(ReLU(mixer(pw1(BN(x)))))), pw1 1x1 conv-BN-ReLU to C*dw_ratio,
    pw2 1x1 conv-BN back (RepLKNet's RepLKBlock). (B, C, H, W) -> same."""

    def __init__(self, channels: int, inner: int, mixer: nn.Module, drop_prob: float) -> None:
        super().__init__()
        self.prelkb_bn = nn.BatchNorm2d(channels)
        self.pw1 = nn.Sequential(ConvBN(channels, inner, 1), nn.ReLU())
        self.large_kernel = mixer
        self.lk_nonlinear = nn.ReLU()
        self.pw2 = ConvBN(inner, channels, 1)
        self.drop_path = DropPath(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw2(self.lk_nonlinear(self.large_kernel(self.pw1(self.prelkb_bn(x)))))
        return x + self.drop_path(y)


class ConvFFN(nn.Module):
    """x + DropPath(pw2(GELU(pw1(BN(x))))), 1x1 conv-BNs C -> rC -> C (RepLKNet)."""

    def __init__(self, channels: int, ratio: int, drop_prob: float) -> None:
        super().__init__()
        self.preffn_bn = nn.BatchNorm2d(channels)
        self.pw1 = ConvBN(channels, ratio * channels, 1)
        self.act = nn.GELU()
        self.pw2 = ConvBN(ratio * channels, channels, 1)
        self.drop_path = DropPath(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.pw2(self.act(self.pw1(self.preffn_bn(x)))))


class LSNetBlock(nn.Module):
    """mixer (residual), SE (even blocks, LSNet's rule), FFN residual (Wang et al. 2025).
    (B, C, H, W) -> same."""

    def __init__(self, channels: int, mixer: nn.Module, spec: BlockSpec) -> None:
        super().__init__()
        self.mixer = mixer
        self.se = (SqueezeExcite(channels, se_width(channels)) if spec.index % 2 == 0
                   else nn.Identity())
        hidden = spec.mlp_ratio * channels
        ffn = nn.Sequential(ConvBN(channels, hidden, 1), nn.ReLU(), ConvBN(hidden, channels, 1))
        nn.init.zeros_(ffn[2].bn.weight)
        self.ffn = Residual(ffn, spec.drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.se(self.mixer(x)))


def build_block(style: str, spec: BlockSpec, ctx: MixerContext) -> nn.Module:
    """The block of `style` with mixer `spec.mixer` on `ctx.channels` channels."""
    c = ctx.channels
    if style == "convnext":
        return ConvNeXtBlock(c, expansion=spec.mlp_ratio, mixer=build_mixer(spec.mixer, ctx),
                             drop_prob=spec.drop_prob, layer_scale=spec.layer_scale)
    if style == "metaformer":
        return MetaFormerBlock(c, build_mixer(spec.mixer, ctx), spec)
    if style == "unireplk":
        mixer = build_mixer(spec.mixer, MixerContext(c, ctx.resolution, False, ctx.heads,
                                                     ctx.key_dim))
        return UniRepLKBlock(c, mixer, spec.mlp_ratio, spec.drop_prob, spec.layer_scale)
    if style == "replk":
        inner = int(c * spec.dw_ratio)
        mixer = build_mixer(spec.mixer, MixerContext(inner, ctx.resolution, True, ctx.heads,
                                                     ctx.key_dim))
        return nn.Sequential(RepLKUnit(c, inner, mixer, spec.drop_prob),
                             ConvFFN(c, spec.mlp_ratio, spec.drop_prob))
    if style == "lsnet":
        mixer = build_mixer(spec.mixer, ctx)
        if not mixer_entry(spec.mixer)[0].residual:
            mixer = Residual(mixer)
        return LSNetBlock(c, mixer, spec)
    raise ValueError(f"unknown block style {style!r}; styles: {BLOCK_STYLES}")
