"""LSNet's last-stage attention mixer (Wang et al. 2025, LSNet; reference code
jameslahm/lsnet model/lsnet.py, after LeViT / EfficientViT attention).

Multi-head attention on a fixed (H, W) grid with key_dim 16 per head, a depthwise 3x3
conv-BN on the queries, learned attention biases indexed by the absolute row and column
offset of two positions, and value width `attn_ratio * key_dim` per head with
attn_ratio = C / (key_dim * heads). The bias table depends on the grid, so the module is
built for one resolution. Not a residual: the block adds x.
"""
from __future__ import annotations

import itertools

import torch
from torch import nn

from .conv_bn import ConvBN

__all__ = ["GridAttention", "offset_index"]


def offset_index(height: int, width: int) -> tuple[int, torch.Tensor]:
    """(number of distinct offsets, (N, N) index of |dy|, |dx| per position pair)."""
    points = list(itertools.product(range(height), range(width)))
    offsets: dict[tuple[int, int], int] = {}
    idxs = []
    for p in points:
        for q in points:
            idxs.append(offsets.setdefault((abs(p[0] - q[0]), abs(p[1] - q[1])), len(offsets)))
    n = len(points)
    return len(offsets), torch.tensor(idxs, dtype=torch.long).view(n, n)


class GridAttention(nn.Module):
    """LSNet attention: qkv 1x1 conv-BN, dw 3x3 conv-BN on q, softmax(q^T k / sqrt(d) + B),
    ReLU, 1x1 conv-BN projection (BN gamma 0 at init). (B, C, H, W) -> same on the grid
    it was built for; attention matmuls are not Conv/Linear MACs.
    """

    def __init__(self, channels: int, resolution: tuple[int, int], heads: int,
                 key_dim: int = 16) -> None:
        super().__init__()
        self.heads, self.key_dim = heads, key_dim
        self.scale = key_dim ** -0.5
        self.nh_kd = key_dim * heads
        self.d = int(channels / (key_dim * heads) * key_dim)
        if self.d < 1:
            raise ValueError(f"attention with {heads} heads of key_dim {key_dim} needs more "
                             f"than {channels} channels")
        self.dh = self.d * heads
        self.qkv = ConvBN(channels, self.dh + 2 * self.nh_kd, 1)
        self.dw = ConvBN(self.nh_kd, self.nh_kd, 3, groups=self.nh_kd)
        self.proj = nn.Sequential(nn.ReLU(), ConvBN(self.dh, channels, 1))
        nn.init.zeros_(self.proj[1].bn.weight)
        self.resolution = tuple(resolution)
        count, index = offset_index(*self.resolution)
        self.attention_biases = nn.Parameter(torch.zeros(heads, count))
        self.register_buffer("bias_index", index, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        if (h, w) != self.resolution:
            raise ValueError(f"attention built for a {self.resolution} grid got {(h, w)}")
        n = h * w
        q, k, v = self.qkv(x).split([self.nh_kd, self.nh_kd, self.dh], dim=1)
        q = self.dw(q)
        q, k, v = (t.reshape(b, self.heads, -1, n) for t in (q, k, v))
        attn = (q.transpose(-2, -1) @ k) * self.scale + self.attention_biases[:, self.bias_index]
        out = (v @ attn.softmax(dim=-1).transpose(-2, -1)).reshape(b, -1, h, w)
        return self.proj(out)
