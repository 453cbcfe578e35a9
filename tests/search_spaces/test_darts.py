"""DARTS space: exact published parameter counts, presets, wiring errors, networks."""
from __future__ import annotations

import pytest
import torch

from search_spaces import UserError, describe, get_space
from search_spaces.cells.darts import DARTS_PRIMITIVES
from search_spaces.cells.darts_network import CellSpec
from search_spaces.cells.darts_presets import DARTS_PRESETS
from trainers.cost import count_params

# REFERENCES.md Sec. 2.3 (derived from quark0/darts cnn/model.py + utils.count_parameters):
# CIFAR-10, C=36, 20 cells, no auxiliary head.
CIFAR_PARAMS = {"darts_v2": 3_349_342, "darts_v1": 3_169_414, "pc_darts": 3_634_678,
                "amoebanet": 3_145_078, "nasnet": 3_830_950}
IMAGENET = {"C": 48, "layers": 14, "num_classes": 1000, "input_size": (3, 224, 224)}
IMAGENET_PARAMS = {"darts_v2": 4_718_752, "pc_darts_image": 5_342_464}
AUX_HEAD_PARAMS = 476_426  # 576->128 1x1, BN, 128->768 2x2, BN, Linear(768, 10)


@pytest.mark.parametrize("preset", sorted(CIFAR_PARAMS))
def test_cifar_param_counts(preset):
    space, genotype = get_space("darts").resolve(preset)
    assert count_params(space.build(genotype)) == CIFAR_PARAMS[preset]


def test_auxiliary_head_adds_exactly():
    space = get_space("darts", auxiliary=True)
    model = space.build(space.parse("darts_v2"))
    assert count_params(model) == CIFAR_PARAMS["darts_v2"] + AUX_HEAD_PARAMS
    info = space.describe(space.parse("darts_v2"))
    assert info["params_no_aux"] == CIFAR_PARAMS["darts_v2"]


@pytest.mark.parametrize("preset", sorted(IMAGENET_PARAMS))
def test_imagenet_param_counts(preset):
    space = get_space("darts", **IMAGENET)
    assert space.network_kind() == "imagenet"
    assert count_params(space.build(space.parse(preset))) == IMAGENET_PARAMS[preset]


def test_describe_cifar_preset():
    info = describe("darts", "darts_v2")
    assert info["params"] == CIFAR_PARAMS["darts_v2"] and info["preset"] == "darts_v2"
    assert info["network"] == "cifar" and info["macs"] > 0 and "note" not in info


@pytest.mark.parametrize("preset", sorted(DARTS_PRESETS))
def test_concat_rule_reproduces_published_concat(preset):
    space, genotype = get_space("darts").resolve(preset)
    normal, reduce = space.cells(genotype)
    entry = DARTS_PRESETS[preset]
    assert normal.concat == tuple(entry["normal_concat"])
    assert reduce.concat == tuple(entry["reduce_concat"])
    assert normal.nodes == entry["normal"] and reduce.nodes == entry["reduce"]


def test_five_node_presets_need_their_options():
    with pytest.raises(UserError, match="nodes"):
        get_space("darts").parse("nasnet")
    space, genotype = get_space("darts", num_classes=100, extra_ops=["dil_conv_5x5_d3"]
                                ).resolve("amoebanet")
    assert space.options["nodes"] == 5 and space.options["num_classes"] == 100
    assert space.options["extra_ops"] == ["sep_conv_7x7", "conv_7x1_1x7", "dil_conv_5x5_d3"]
    assert "conv_7x1_1x7" in space.decisions()[0].choices
    with pytest.raises(UserError, match="needs space options"):
        get_space("darts", nodes=4).resolve("nasnet")


def test_decisions_layout():
    space = get_space("darts")
    names = [d.name for d in space.decisions()]
    assert len(names) == 2 * 4 * 4
    assert names[:4] == ["normal.n2.op0", "normal.n2.in0", "normal.n2.op1", "normal.n2.in1"]
    choices = {d.name: d.choices for d in space.decisions()}
    assert choices["normal.n2.op0"] == DARTS_PRIMITIVES
    assert choices["reduce.n5.in1"] == (0, 1, 2, 3, 4)


def test_node_wired_to_later_state_is_a_user_error():
    space = get_space("darts")
    good = space.parse("darts_v2").as_mapping()
    for bad in ({"normal.n2.in0": 2}, {"reduce.n4.in1": 7}, {"normal.n3.in1": -1}):
        with pytest.raises(UserError, match=r"node \d may read states 0\.\.\d"):
            space.genotype({**good, **bad})


def test_wrong_pair_count_and_ops_are_user_errors():
    space = get_space("darts")
    pairs = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4
    assert space.from_pairs(pairs, pairs).key
    with pytest.raises(UserError, match="two .op, input. pairs per node"):
        space.from_pairs(pairs[:-1], pairs)
    with pytest.raises(UserError, match="missing"):
        space.from_pairs(pairs[:-2], pairs)
    with pytest.raises(UserError, match="sep_conv_7x7"):
        space.from_pairs([("sep_conv_7x7", 0)] + pairs[1:], pairs)
    with pytest.raises(UserError, match="op"):
        get_space("darts", extra_ops=["sep_conv_9x9"])
    with pytest.raises(UserError, match="op~input"):
        space.parse("normal=[sep_conv_3x3]; reduce=[]")


def test_cellspec_checks_wiring_and_concat():
    with pytest.raises(UserError, match="states 0..2"):
        CellSpec(((("skip_connect", 0), ("skip_connect", 1)),
                  (("skip_connect", 3), ("skip_connect", 0))), (2, 3))
    with pytest.raises(UserError, match="concat"):
        CellSpec(((("skip_connect", 0), ("skip_connect", 1)),), (2, 3))


def _small(**options):
    space = get_space("darts", C=4, layers=3, input_size=(3, 16, 16), **options)
    return space, space.build(space.parse("darts_v2"))


def test_drop_path_acts_only_in_training():
    _, model = _small(drop_path_prob=0.5)
    x = torch.randn(4, 3, 16, 16)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, model(x))


@pytest.mark.parametrize("size", [(3, 16, 16), (3, 8, 8), (3, 96, 96)])
def test_auxiliary_logits_in_training_any_size(size):
    space = get_space("darts", C=4, layers=3, input_size=size, auxiliary=True)
    model = space.build(space.parse("pc_darts")).train()
    logits, aux = model.forward_with_aux(torch.randn(2, *size))
    assert logits.shape == aux.shape == (2, 10)
    assert model.eval().forward_with_aux(torch.randn(2, *size))[1] is None


def test_network_auto_follows_input_size():
    assert get_space("darts").network_kind() == "cifar"
    assert get_space("darts", input_size=[3, 224, 224]).network_kind() == "imagenet"
    assert get_space("darts", input_size=[1, 8, 8]).network_kind() == "cifar"
    assert get_space("darts", network="imagenet").network_kind() == "imagenet"
    with pytest.raises(UserError, match="network"):
        get_space("darts", network="mobile")
    with pytest.raises(UserError, match="input_size"):
        get_space("darts", input_size=[32, 32])
