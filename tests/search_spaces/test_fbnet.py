"""FBNet space: exact counts of FBNet-A/B/C, presets, strides, arch strings."""
from __future__ import annotations

import pytest
import torch

from search_spaces import UserError, describe, get_space
from search_spaces.macro.fbnet import FBNET_CANDIDATES
from trainers.cost import count_macs, count_params, count_weight_params

# REFERENCES.md Sec. 1.4 at 3x224x224, 1000 classes: all trainable params (conv-BN, no
# conv biases); conv+FC weights (mobile-vision's params_m); MACs of convs + FC, no bias
# adds, no final pool (mobile-vision's flops_m minus C*7*7).
EXPECTED = {
    "fbnet_a": (4_304_584, 4_270_288, 244_452_664),
    "fbnet_b": (4_801_368, 4_766_672, 291_004_424),
    "fbnet_c": (5_570_664, 5_525_424, 378_136_224),
}


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_published_counts(preset):
    space, genotype = get_space("fbnet").resolve(preset)
    model = space.build(genotype)
    params, weights, macs = EXPECTED[preset]
    assert count_params(model) == params
    assert count_weight_params(model) == weights
    assert count_macs(model, (3, 224, 224), include_bias=False) == macs


def test_describe_uses_the_preset_head_width():
    info = describe("fbnet", "fbnet_a")
    assert (info["params"], info["weight_params"], info["macs"]) == EXPECTED["fbnet_a"]
    assert info["head_channels"] == 1504 and info["preset"] == "fbnet_a"
    assert "no bias adds" in info["macs_count"] and "pool" in info["macs_count"]
    plain = get_space("fbnet")
    info = plain.describe(plain.parse("fbnet_a"))  # head 1984: says so
    assert "1504" in info["note"] and info["params"] != EXPECTED["fbnet_a"][0]


def test_decisions_and_candidates():
    space = get_space("fbnet")
    decisions = space.decisions()
    assert len(decisions) == 22 and decisions[0].name == "layer01"
    assert all(d.choices == FBNET_CANDIDATES for d in decisions) and len(FBNET_CANDIDATES) == 9
    extra = get_space("fbnet", extra_ops=["ir_k5_e6_g2", "skip"])
    assert extra.decisions()[5].choices == FBNET_CANDIDATES + ("ir_k5_e6_g2",)
    with pytest.raises(UserError, match="op"):
        get_space("fbnet", extra_ops=["ir_k9_e6"])


@pytest.mark.parametrize("size,layout,final", [((3, 224, 224), "imagenet", 7),
                                               ((3, 32, 32), "cifar", 4),
                                               ((1, 8, 8), "cifar", 1)])
def test_stride_layout_follows_input(size, layout, final):
    space = get_space("fbnet", input_size=size, num_classes=10, head_channels=16)
    assert space.stride_layout() == layout
    model = space.build(space.parse("fbnet_c")).eval()
    assert model.forward_features(torch.zeros(1, *size)).shape[-1] == final


def test_arch_string_round_trip_and_errors():
    space = get_space("fbnet")
    genotype = space.parse("fbnet_b")
    text = space.format(genotype)
    assert text.startswith("ir_k3_e1,ir_k3_e6,ir_k5_e1,") and space.parse(text) == genotype
    with pytest.raises(UserError, match="22"):
        space.parse("skip,skip")
    with pytest.raises(UserError, match="ir_k3_e9"):
        space.parse(text.replace("ir_k3_e1", "ir_k3_e9", 1))
    with pytest.raises(UserError, match="head_channels"):
        get_space("fbnet", head_channels=0)
