"""Op-specific tests for the large-kernel, LS-conv, ConvNeXt/HorNet and parameter-free ops:
published tables, exact parameter counts, re-param fusion at every kernel, op semantics."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.errors import UserError
from search_spaces.ops import build_op
from search_spaces.ops.convnext import ConvNeXtBlock, LayerNorm2d
from search_spaces.ops.hornet import GnConv
from search_spaces.ops.large_kernel import (REPLK_KERNELS, UNIREPLK_BRANCHES,
                                            DilatedReparamBlock, ReparamLargeKernelConv)
from search_spaces.ops.ls_conv import LSConv, ska
from search_spaces.ops.pf_layers import MaxBottleneck, shift2d
from search_spaces.reparam import equivalence_error, fuse_model, randomize_bn_
from trainers.cost import count_params

TOLERANCE = {torch.float64: 1e-5, torch.float32: 1e-4}


def test_unireplk_branch_table_is_the_published_one():
    # Ding et al. 2024, UniRepLKNet DilatedReparamBlock defaults (REFERENCES §5).
    assert UNIREPLK_BRANCHES == {
        17: ((5, 9, 3, 3, 3), (1, 2, 4, 5, 7)), 15: ((5, 7, 3, 3, 3), (1, 2, 3, 5, 7)),
        13: ((5, 7, 3, 3, 3), (1, 2, 3, 4, 5)), 11: ((5, 5, 3, 3, 3), (1, 2, 3, 4, 5)),
        9: ((5, 5, 3, 3), (1, 2, 3, 4)), 7: ((5, 3, 3), (1, 2, 3)), 5: ((3, 3), (1, 2)),
    }
    sizes = {k: [r * (b - 1) + 1 for b, r in zip(*v)] for k, v in UNIREPLK_BRANCHES.items()}
    assert sizes[17] == [5, 17, 9, 11, 15] and sizes[13] == [5, 13, 7, 9, 11]
    assert all(max(s) <= k for k, s in sizes.items())


def _lk_modules():
    for k in REPLK_KERNELS:
        yield f"replk_k{k}", lambda c, s, k=k, a=True: ReparamLargeKernelConv(c, k, s, affine=a)
    for k in sorted(UNIREPLK_BRANCHES):
        yield f"unireplk_k{k}", lambda c, s, k=k, a=True: DilatedReparamBlock(c, k, s, affine=a)


LK = list(_lk_modules())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name,make", LK, ids=[n for n, _ in LK])
def test_fuse_gives_one_depthwise_conv_with_bias(name, make, stride, dtype):
    torch.manual_seed(0)
    c = 4
    module = randomize_bn_(make(c, stride).to(dtype), seed=1).eval()
    fused = module.fuse()
    k = module.kernel
    assert type(fused) is nn.Conv2d and fused.bias is not None
    assert fused.kernel_size == (k, k) and fused.groups == c and fused.stride == (stride, stride)
    x = torch.randn(2, c, 11, 11, dtype=dtype)
    assert equivalence_error(module, fused, x) < TOLERANCE[dtype]


@pytest.mark.parametrize("name,make", [LK[0], LK[-1]], ids=[LK[0][0], LK[-1][0]])
def test_fuse_without_affine_bn(name, make):
    module = randomize_bn_(make(4, 1, a=False).double(), seed=2).eval()
    assert equivalence_error(module, module.fuse(), torch.randn(2, 4, 9, 9).double()) < 1e-10


@pytest.mark.parametrize("spec", ["replk_k31", "unireplk_k13"])
def test_deploy_form_of_equal_width_lk_op_is_a_single_conv(spec):
    fused = fuse_model(build_op(spec, 8, 8, 1))
    assert type(fused) is nn.Conv2d


def _lkp_params(c: int, k: int) -> int:
    half, taps = c // 2, 9 * c // 8
    return (c * half + 2 * half) + (half * k * k + 2 * half) + (half * half + 2 * half) \
        + (half * taps + taps) + 2 * taps


@pytest.mark.parametrize("spec,expected", [
    # Counts derived from the published layer descriptions (REFERENCES §4-8), C = 16.
    ("replk_k31", 16 * (31 * 31 + 2) + 16 * (25 + 2)),
    ("unireplk_k13", 16 * (169 + 2) + 16 * sum(k * k + 2 for k in (5, 7, 3, 3, 3))),
    ("convnext_k7", 16 * 49 + 16 + 2 * 16 + (16 * 64 + 64) + (64 * 16 + 16) + 16),
    ("gnconv_o2", (16 * 32 + 32) + 24 * 50 + (8 * 16 + 16) + (16 * 16 + 16)),
    ("gnconv_o3", (16 * 32 + 32) + 28 * 50 + (4 * 8 + 8) + (8 * 16 + 16) + (16 * 16 + 16)),
    ("lsconv", _lkp_params(16, 7) + 2 * 16),
    ("pf_max_bottleneck", (16 * 4 + 8) + (4 * 16 + 32)),
    ("shift", 0),
])
def test_exact_param_counts(spec, expected):
    assert count_params(build_op(spec, 16, 16, 1)) == expected


@pytest.mark.parametrize("spec", ["shift", "pf_max_bottleneck", "replk_k13", "unireplk_k9",
                                  "lsconv", "convnext_k7", "gnconv_o3"])
def test_odd_sizes_at_stride_2_give_ceil(spec):
    out = build_op(spec, 16, 32, 2)(torch.randn(2, 16, 7, 9))
    assert out.shape == (2, 32, 4, 5)


def test_kernel_outside_the_registered_set_is_refused():
    with pytest.raises(UserError, match="allowed"):
        build_op("replk_k33", 8, 8)
    with pytest.raises(UserError, match="allowed"):
        build_op("unireplk_k19", 8, 8)


def test_ska_matches_its_definition():
    torch.manual_seed(0)
    b, c, g, h, w = 2, 8, 2, 5, 6
    x = torch.randn(b, c, h, w, dtype=torch.float64)
    weights = torch.randn(b, g, 9, h, w, dtype=torch.float64)
    xp = F.pad(x, (1, 1, 1, 1))
    expected = torch.zeros_like(x)
    for ch in range(c):
        for i in range(3):
            for j in range(3):
                # y[b,c,h,w] += x[b,c,h+i-1,w+j-1] * W[b, c mod G, 3i+j, h, w]
                expected[:, ch] += xp[:, ch, i:i + h, j:j + w] * weights[:, ch % g, 3 * i + j]
    assert (ska(x, weights) - expected).abs().max() < 1e-12


def test_lsconv_needs_channels_divisible_by_8():
    with pytest.raises(ValueError, match="divisible by 8"):
        LSConv(12)


def test_lsconv_is_residual():
    conv = LSConv(16).eval()
    nn.init.zeros_(conv.bn.weight)
    nn.init.zeros_(conv.bn.bias)
    nn.init.zeros_(conv.bn.running_mean)
    x = torch.randn(1, 16, 6, 6)
    assert torch.equal(conv(x), x)


def test_shift2d_moves_each_group_one_pixel():
    x = torch.zeros(1, 4, 5, 5)
    x[:, :, 2, 2] = 1.0
    y = shift2d(x)
    assert [tuple(torch.nonzero(y[0, i])[0].tolist()) for i in range(4)] == [
        (2, 3), (2, 1), (3, 2), (1, 2)]  # right, left, down, up
    assert y.sum() == 4  # nothing falls off from the centre


def test_shift_op_is_param_free_at_any_stride_and_subsamples():
    op = build_op("shift", 8, 8, 2)
    assert count_params(op) == 0
    x = torch.randn(1, 8, 6, 6)
    assert torch.equal(op(x), shift2d(x)[:, :, ::2, ::2])
    assert isinstance(build_op("shift", 8, 16, 1)[1][0], nn.Conv2d)  # projection after


def test_max_bottleneck_layout():
    same = MaxBottleneck(16, 16)
    assert isinstance(same.shortcut, nn.Identity)
    assert isinstance(same.body[2], nn.MaxPool2d) and same.body[2].stride == 1
    down = MaxBottleneck(16, 32, stride=2)
    assert down.shortcut.conv.stride == (2, 2) and down.body[2].stride == 2
    assert (down(torch.randn(2, 16, 8, 8)) >= 0).all()  # ReLU after the residual add


def test_convnext_block_starts_near_identity():
    block = ConvNeXtBlock(8)
    assert torch.equal(block.gamma, torch.full((8,), 1e-6))
    assert block.dwconv.bias is not None and block.dwconv.kernel_size == (7, 7)
    x = torch.randn(2, 8, 6, 6)
    assert (block(x) - x).abs().max() < 1e-4


def test_layernorm2d_normalises_channels():
    x = torch.randn(2, 6, 4, 5)
    ln = LayerNorm2d(6)
    mean = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    assert (ln(x) - (x - mean) / torch.sqrt(var + 1e-6)).abs().max() < 1e-5


def test_gnconv_widths_and_scale():
    conv = GnConv(16, 3)
    assert conv.dims == [4, 8, 16] and math.isclose(conv.scale, 1 / 3)
    assert conv.dwconv.in_channels == 28 and conv.proj_in.out_channels == 32
    with pytest.raises(ValueError, match="divisible by 4"):
        GnConv(6, 3)
