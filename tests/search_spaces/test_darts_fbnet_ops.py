"""Op registry: every registered example builds with the right shapes; exact structure of
the DARTS and FBNet ops (Liu et al. 2019; Wu et al. 2019, mobile-vision IRFBlock)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from search_spaces import UserError
from search_spaces.ops import build_op, list_ops, op_entry
from search_spaces.ops.inverted_residual import ChannelShuffle, InvertedResidual

EXAMPLES = [example for entry in list_ops() for example in entry.examples]


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("spec", EXAMPLES)
@pytest.mark.parametrize("c_in,c_out,stride", [(8, 8, 1), (8, 16, 2)])
def test_every_example_builds_with_expected_shape(spec, c_in, c_out, stride):
    op = build_op(spec, c_in, c_out, stride)
    out = op(torch.randn(2, c_in, 9, 9))
    assert out.shape == (2, c_out, 9 // stride + 9 % stride, 9 // stride + 9 % stride)
    assert op_entry(spec).doc


@pytest.mark.parametrize("spec,params", [
    ("sep_conv_3x3", 2 * (16 * 9 + 16 * 16 + 32)),
    ("sep_conv_7x7", 2 * (16 * 49 + 16 * 16 + 32)),
    ("dil_conv_5x5", 16 * 25 + 16 * 16 + 32),
    ("conv_7x1_1x7", 2 * 16 * 16 * 7 + 32),
    ("ir_k3_e1", 16 * 9 + 32 + 16 * 16 + 32),             # no 1x1 expansion when e = 1
    ("ir_k5_e1_g2", 16 * 25 + 32 + 16 * 8 + 32),          # grouped pwl
    ("ir_k3_e6", 16 * 96 + 192 + 96 * 9 + 192 + 96 * 16 + 32),
    ("ir_k5_e6_g2", 16 * 48 + 192 + 96 * 25 + 192 + 48 * 16 + 32),
    ("skip", 0),
])
def test_exact_parameter_counts(spec, params):
    assert _params(build_op(spec, 16, 16, 1)) == params


def test_convs_have_no_bias():
    for spec in ("sep_conv_5x5", "dil_conv_3x3", "conv_7x1_1x7", "ir_k5_e6", "ir_k3_e1_g2"):
        convs = [m for m in build_op(spec, 8, 16, 2).modules() if isinstance(m, nn.Conv2d)]
        assert convs and all(m.bias is None for m in convs)


def test_sep_conv_stride_only_on_first_depthwise():
    strides = [m.stride for m in build_op("sep_conv_3x3", 8, 8, 2).modules()
               if isinstance(m, nn.Conv2d)]
    assert strides == [(2, 2), (1, 1), (1, 1), (1, 1)]
    dil = [m.dilation for m in build_op("dil_conv_3x3", 8, 8, 1).modules()
           if isinstance(m, nn.Conv2d)]
    assert dil[0] == (2, 2)


def test_inverted_residual_structure():
    block = build_op("ir_k3_e1_g2", 16, 16, 1)
    assert isinstance(block, InvertedResidual) and block.pw is None
    assert isinstance(block.shuffle, ChannelShuffle) and block.residual
    x = torch.randn(2, 16, 5, 5)
    assert not torch.equal(block.eval()(x), x)
    assert not build_op("ir_k5_e6", 16, 24, 1).residual
    assert not build_op("ir_k5_e6", 16, 16, 2).residual
    expanded = build_op("ir_k5_e3_g2", 16, 16, 1)
    assert expanded.pw is not None and expanded.pw[0].groups == 2
    with pytest.raises(UserError, match="divisible"):
        build_op("ir_k3_e1_g2", 15, 16, 1)


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(8.0).view(1, 8, 1, 1)
    assert ChannelShuffle(2)(x).flatten().tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


def test_fbnet_skip_is_identity_or_conv_bn_relu():
    assert isinstance(build_op("skip", 16, 16, 1), nn.Identity)
    layers = [type(m) for m in build_op("skip", 16, 24, 2)]
    assert layers == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]


@pytest.mark.parametrize("bad", ["ir_k4_e6", "sep_conv_9x9", "dil_conv_3x3_g2", "conv_7x1"])
def test_bad_specs_are_user_errors(bad):
    with pytest.raises(UserError):
        op_entry(bad)
