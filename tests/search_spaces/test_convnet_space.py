"""The convnet space: option checks, unused-slot equivalence, and deploy fusion of every
registered token mixer in every block style (float64, eval mode)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from search_spaces import UserError, get_space
from search_spaces.macro.convnet_blocks import BLOCK_STYLES, BlockSpec, build_block
from search_spaces.macro.convnet_mixers import MIXERS, MixerContext, build_mixer
from search_spaces.reparam import equivalence_error, fuse_model, is_fusable, randomize_bn_

F64 = torch.float64
#: float64 fusion is exact up to rounding (~1e-14); the issue asks < 1e-5, a float32 copy
#: inside a fuse() would show as ~1e-7, so the bar is set between
TOLERANCE = 1e-10
SMALL = {"input_size": (1, 8, 8), "num_classes": 10, "depths": [[1, 2], [1], [1, 2], [1]],
         "widths": [[16], [32], [32], [32]]}


def _example(family: str) -> str:
    entry = MIXERS[family]
    return f"{family}_k{entry.kernels[-1]}" if entry.kernels else family


MIXER_NAMES = [_example(f) for f in MIXERS] + ["dw_k3", "replk_k3", "replk_k5", "unireplk_k5"]


@pytest.mark.parametrize("options,needle", [
    ({"style": "resnet"}, "style"),
    ({"block": "swin"}, "block"),
    ({"depths": [[2], [2], [2]]}, "4 lists"),
    ({"depths": [[2], [2], [200], [2]]}, "outside"),
    ({"widths": [[24], [48], [96], [192]], "mixers": ["gnconv_o5"]}, "divisible by 16"),
    ({"mixers": ["dw_k4"]}, "kernels"),
    ({"mixers": ["conv_k3"]}, "token mixer"),
    ({"mlp_ratios": [0]}, "outside"),
    ({"drop_path": 1.5}, "drop_path"),
    ({"strides": "tiny"}, "strides"),
    ({"heads": [4, 4]}, "4 ints"),
    ({"style": "lsnet", "widths": [[18], [32], [32], [32]], "mixers": ["identity"]}, "by 4"),
])
def test_bad_options_are_user_errors(options, needle):
    with pytest.raises(UserError, match=needle):
        get_space("convnet", **options)


def test_unused_slots_do_not_make_a_new_network():
    space = get_space("convnet", **SMALL)
    rng = np.random.default_rng(0)
    g = space.sample(rng).replace(**{"s1.depth": 1})
    other = g.replace(**{"s1.b1.mixer": "shift" if g["s1.b1.mixer"] != "shift" else "pool"})
    assert other != g and space.function_key(other) == space.function_key(g)
    assert space.prune(g)["s1.b1.mixer"] == space.mixers[0][0]
    assert space.parse(space.format(g)) == g


@pytest.mark.parametrize("layout,size,grid", [("imagenet", 224, 7), ("cifar", 32, 4),
                                              ("digits", 8, 2)])
def test_layouts_adapt_to_the_input(layout, size, grid):
    space = get_space("convnet", **{**SMALL, "input_size": (3, size, size)})
    assert space.stride_layout() == layout
    g = space.sample(np.random.default_rng(1))
    assert space.stage_plans(g)[-1].resolution == (grid, grid)
    assert space.build(g)(torch.randn(1, 3, size, size)).shape == (1, 10)


def _bite(model: torch.nn.Module) -> torch.nn.Module:
    """Random BN statistics and non-zero GRN / BN-gamma-0 parameters, so fusion is tested."""
    randomize_bn_(model, seed=2)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("grn.gamma", "grn.beta", "attention_biases")):
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.5)
    return model.eval()


@pytest.mark.parametrize("mixer", MIXER_NAMES)
def test_every_mixer_fuses_exactly(mixer):
    torch.manual_seed(0)
    ctx = MixerContext(32, (6, 6), heads=2)
    module = _bite(build_mixer(mixer, ctx).to(F64))
    fused = fuse_model(module)
    assert not any(is_fusable(m) for m in fused.modules())
    assert equivalence_error(module, fused, torch.randn(2, 32, 6, 6, dtype=F64)) < TOLERANCE


@pytest.mark.parametrize("style", BLOCK_STYLES)
@pytest.mark.parametrize("mixer", MIXER_NAMES)
def test_every_block_style_fuses_exactly_with_every_mixer(style, mixer):
    torch.manual_seed(0)
    spec = BlockSpec(mixer, 2, index=0, layer_scale=1.0)
    block = _bite(build_block(style, spec, MixerContext(32, (6, 6), heads=2)).to(F64))
    fused = fuse_model(block)
    assert not any(is_fusable(m) for m in fused.modules())
    assert equivalence_error(block, fused, torch.randn(2, 32, 6, 6, dtype=F64)) < TOLERANCE


def test_unireplk_block_deploy_form_drops_bn_grn_bias_and_layer_scale():
    block = build_block("unireplk", BlockSpec("unireplk_k13", 4), MixerContext(16))
    fused = fuse_model(_bite(block.double()))
    names = {n for n, _ in fused.named_parameters()}
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert "grn.beta" not in names and "gamma" not in names and "pwconv2.bias" in names
    assert type(fused.dwconv) is torch.nn.Conv2d and fused.dwconv.kernel_size == (13, 13)


@pytest.mark.parametrize("preset", ["unireplknet_a", "lsnet_t", "hornet_t_7x7"])
def test_preset_networks_fuse_exactly(preset):
    space, g = get_space("convnet", input_size=(3, 64, 64), strides="imagenet").resolve(preset)
    model = _bite(space.build(g).double())
    x = torch.randn(2, 3, 64, 64, dtype=F64)
    assert equivalence_error(model, fuse_model(model), x) < TOLERANCE
