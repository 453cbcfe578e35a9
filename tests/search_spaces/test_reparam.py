"""Unit tests for search_spaces.reparam: BN fusion, kernel padding, dilated->dense kernels,
branch merging, model fusion, and trainers.cost.deploy_cost."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.ops.conv_bn import ConvBN
from search_spaces.reparam import (conv_from_weights, dilated_to_dense, equivalence_error,
                                   fold_sequential_bn, fuse_conv_bn, fuse_model, is_fusable,
                                   merge_branches, pad_kernel, randomize_bn_)
from trainers.cost import count_macs, count_params, deploy_cost

F64 = torch.float64


@pytest.mark.parametrize("k,r", [(3, 1), (3, 2), (3, 5), (5, 2), (5, 3), (7, 2), (9, 2)])
@pytest.mark.parametrize("depthwise", [True, False], ids=["dw", "dense"])
def test_dilated_to_dense_matches_dilated_conv(k, r, depthwise):
    torch.manual_seed(0)
    c = 4
    groups = c if depthwise else 1
    w = torch.randn(c, c // groups, k, k, dtype=F64)
    x = torch.randn(2, c, 23, 23, dtype=F64)
    dense = dilated_to_dense(w, r)
    size = r * (k - 1) + 1
    assert dense.shape[-2:] == (size, size)
    assert torch.equal(dense[..., ::r, ::r], w)
    rest = dense.clone()
    rest[..., ::r, ::r] = 0
    assert not rest.any()  # every other entry is zero
    expected = F.conv2d(x, w, padding=r * (k - 1) // 2, dilation=r, groups=groups)
    got = F.conv2d(x, dense, padding=size // 2, groups=groups)
    assert (expected - got).abs().max() < 1e-12


def test_dilated_to_dense_rejects_bad_dilation():
    with pytest.raises(ValueError):
        dilated_to_dense(torch.ones(1, 1, 3, 3), 0)


@pytest.mark.parametrize("k,target", [(1, 5), (3, 7), (5, 31), (7, 7)])
def test_pad_kernel_is_centred_and_exact(k, target):
    torch.manual_seed(0)
    w = torch.randn(3, 1, k, k, dtype=F64)
    padded = pad_kernel(w, target)
    p = (target - k) // 2
    assert padded.shape == (3, 1, target, target)
    assert torch.equal(padded[..., p:p + k, p:p + k], w)
    rest = padded.clone()
    rest[..., p:p + k, p:p + k] = 0
    assert not rest.any()
    x = torch.randn(1, 3, 16, 16, dtype=F64)
    a = F.conv2d(x, w, padding=k // 2, groups=3)
    b = F.conv2d(x, padded, padding=target // 2, groups=3)
    assert (a - b).abs().max() < 1e-12


@pytest.mark.parametrize("k,target", [(5, 3), (3, 6), (4, 7)])
def test_pad_kernel_rejects_bad_sizes(k, target):
    with pytest.raises(ValueError, match="cannot pad"):
        pad_kernel(torch.ones(1, 1, k, k), target)


@pytest.mark.parametrize("conv_bias", [False, True])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("groups", [1, 4])
def test_fuse_conv_bn_matches_eval_bn(conv_bias, affine, groups):
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=groups, bias=conv_bias).double()
    bn = randomize_bn_(nn.BatchNorm2d(8, affine=affine).double(), seed=1).eval()
    weight, bias = fuse_conv_bn(conv, bn)
    x = torch.randn(2, 8, 9, 9, dtype=F64)
    expected = bn(conv(x))
    got = F.conv2d(x, weight, bias, padding=1, groups=groups)
    assert (expected - got).abs().max() < 1e-12
    # The published formula, written out: W' = W g/s, b' = beta + (b - mu) g/s.
    sigma = (bn.running_var + bn.eps).sqrt()
    gamma = bn.weight if affine else torch.ones(8, dtype=F64)
    assert torch.allclose(weight, conv.weight * (gamma / sigma).view(-1, 1, 1, 1))


def test_fuse_conv_bn_needs_running_stats():
    bn = nn.BatchNorm2d(4, track_running_stats=False)
    with pytest.raises(ValueError, match="running statistics"):
        fuse_conv_bn(nn.Conv2d(4, 4, 1), bn)


def test_merge_branches_equals_sum_of_branch_convs():
    torch.manual_seed(0)
    c, big = 4, 13
    x = torch.randn(2, c, 20, 20, dtype=F64)
    specs = [(13, 1), (5, 1), (7, 2), (3, 4)]  # (kernel, dilation)
    branches, expected = [], 0
    for k, r in specs:
        w, b = torch.randn(c, 1, k, k, dtype=F64), torch.randn(c, dtype=F64)
        branches.append((w, b, r) if r > 1 else (w, b))
        expected = expected + F.conv2d(x, w, b, padding=r * (k - 1) // 2, dilation=r, groups=c)
    weight, bias = merge_branches(branches, big)
    assert weight.shape == (c, 1, big, big)
    got = conv_from_weights(weight, bias, groups=c)(x)
    assert (expected - got).abs().max() < 1e-12


def test_merge_branches_needs_a_branch():
    with pytest.raises(ValueError):
        merge_branches([], 3)


def test_conv_from_weights_keeps_dtype_stride_and_groups():
    w = torch.randn(6, 2, 5, 5, dtype=F64)
    conv = conv_from_weights(w, torch.zeros(6, dtype=F64), stride=2, groups=3)
    assert conv.weight.dtype == F64 and conv.stride == (2, 2) and conv.groups == 3
    assert conv.in_channels == 6 and conv.padding == (2, 2)


def test_equivalence_error_restores_modes():
    a, b = nn.BatchNorm2d(3).train(), nn.BatchNorm2d(3).eval()
    assert equivalence_error(a, b, torch.randn(2, 3, 4, 4)) == 0.0
    assert a.training and not b.training


class _Fusable(nn.Module):
    """Two parallel ConvBN branches that fuse into one conv (a RepVGG-like toy)."""

    reparam = True

    def __init__(self):
        super().__init__()
        self.a, self.b = ConvBN(4, 4, 3), ConvBN(4, 4, 1)

    def forward(self, x):
        return self.a(x) + self.b(x)

    def fuse(self):
        weight, bias = merge_branches([fuse_conv_bn(self.a.conv, self.a.bn),
                                       fuse_conv_bn(self.b.conv, self.b.bn)], 3)
        return conv_from_weights(weight, bias)


class _Custom(nn.Sequential):
    """A Sequential whose forward does not chain its children: folding would be wrong."""

    def forward(self, x):
        return self[0](x) + self[1](x.mean() + x)


def _toy_model():
    return nn.Sequential(
        nn.Sequential(_Fusable(), nn.ReLU()),
        nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4),   # foldable pair
        nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1),              # BN before conv: not foldable
        nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4, track_running_stats=False),  # no stats
    )


def test_fuse_model_replaces_fusables_and_folds_safe_pairs():
    torch.manual_seed(0)
    model = randomize_bn_(_toy_model().double(), seed=4)
    model[6].train()  # batch-stat BN: compare in train mode for that layer only
    fused = fuse_model(model)
    assert isinstance(fused[0][0], nn.Conv2d) and fused[0][0].bias is not None
    assert isinstance(fused[2], nn.Identity) and fused[1].bias is not None
    assert isinstance(fused[3], nn.BatchNorm2d)  # BN before a conv stays
    assert isinstance(fused[6], nn.BatchNorm2d)  # BN without running stats stays
    assert isinstance(model[0][0], _Fusable) and isinstance(model[2], nn.BatchNorm2d)
    x = torch.randn(3, 4, 8, 8, dtype=F64)
    assert equivalence_error(model, fused, x) < 1e-10


def test_fuse_model_fuses_a_fusable_root_and_skips_custom_sequentials():
    torch.manual_seed(0)
    root = randomize_bn_(_Fusable().double(), seed=5)
    assert is_fusable(root) and not is_fusable(nn.Conv2d(1, 1, 1))
    assert isinstance(fuse_model(root), nn.Conv2d)
    holder = nn.ModuleList([randomize_bn_(ConvBN(4, 4, 3).double(), seed=8)])
    assert type(fuse_model(holder)[0]) is nn.Conv2d  # fusables inside ModuleLists too
    custom = randomize_bn_(_Custom(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)).double(), seed=6)
    assert fold_sequential_bn(custom) == 0
    x = torch.randn(2, 4, 5, 5, dtype=F64)
    assert equivalence_error(custom, fuse_model(custom), x) < 1e-12


def test_convbn_fuse_keeps_stride_dilation_groups():
    torch.manual_seed(0)
    block = randomize_bn_(ConvBN(6, 6, 3, stride=2, groups=3, dilation=2).double(), seed=7)
    fused = block.fuse()
    assert fused.stride == (2, 2) and fused.dilation == (2, 2) and fused.groups == 3
    x = torch.randn(2, 6, 11, 11, dtype=F64)
    assert equivalence_error(block, fused, x) < 1e-12


def test_deploy_cost_of_replk_counts_one_kernel():
    from search_spaces.ops import build_op

    c, k, size = 8, 13, 10
    model = build_op(f"replk_k{k}", c, c, 1)
    assert count_params(model) == c * (k * k + 25) + 4 * c  # two dw kernels + two BNs
    assert count_macs(model, (c, size, size)) == c * (k * k + 25) * size * size
    cost = deploy_cost(model, (c, size, size))
    assert cost == {"params": c * k * k + c, "macs": c * k * k * size * size}
    assert deploy_cost(model, (c, size, size), include_bias=True)["macs"] == (
        c * (k * k + 1) * size * size)
