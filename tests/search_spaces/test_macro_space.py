"""The declarative `macro` space: FBNet-B parity, counting, equivalents, strategies,
fusion, and one-line errors naming the key path of a bad schema."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nas.export import fuse_model
from nas.strategies import list_strategies, make_strategy
from nas.strategies.base import Objective
from search_spaces import UserError, get_space
from search_spaces.macro.fbnet import FBNET_PRESETS, layer_name, layer_plan
from search_spaces.counting import count_macs, count_params
from trainers.evaluators import make_evaluator

SMALL = {"input_size": (3, 16, 16), "num_classes": 5, "stem": {"channels": 8},
         "stages": [{"ops": ["ir_k3_e3", "skip", "convnext_k3"], "depth": [1, 2, 3],
                     "width": [8, 16]},
                    {"ops": ["unireplk_k7", "replk_k7", "lsconv", "gnconv_o3", "shift",
                             "pf_max_bottleneck", "avg_pool_3x3"],
                     "depth": [1, 2], "width": [16, 32], "stride": [1, 2]}],
         "head": {"channels": 24, "pool": "max", "dropout": 0.1}}
ONE_SHOT = ("spos", "dnas")


def _fbnet_as_macro(preset: str) -> tuple[dict, dict]:
    """FBNet's 22 layers declared as 22 one-block stages (the preset op first, skip as
    the alternative), and the genotype choosing the preset's ops."""
    ops, head = FBNET_PRESETS[preset]
    stages = [{"ops": [op, "skip" if op != "skip" else "ir_k3_e1"], "width": c_out,
               "stride": stride} for op, (_, c_out, stride) in zip(ops, layer_plan("cifar"))]
    options = {"input_size": (3, 32, 32), "num_classes": 10, "stages": stages,
               "stem": {"channels": 16, "kernel": 3, "stride": 1},
               "head": {"channels": head}}
    return options, {f"stage{i}_ops": op for i, op in enumerate(ops)}


def test_fbnet_b_declared_in_yaml_is_fbnet_b():
    """Same modules, same state-dict keys: FBNet-B's weights load and compute the same
    logits; params and MACs equal the fbnet space's (whose published counts are tested)."""
    options, decisions = _fbnet_as_macro("fbnet_b")
    macro = get_space("macro", **options)
    model = macro.build(macro.genotype(decisions)).eval()
    fbnet = get_space("fbnet", input_size=(3, 32, 32), num_classes=10, strides="cifar")
    fb_space, fb_geno = fbnet.resolve("fbnet_b")
    reference = fb_space.build(fb_geno).eval()
    model.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(x), reference(x))
    ours = macro.describe(macro.genotype(decisions))
    theirs = fb_space.describe(fb_geno)
    assert (ours["params"], ours["macs"]) == (theirs["params"], theirs["macs"])
    assert ours["blocks"] == 22


def test_decisions_only_for_fields_with_choices_and_counting():
    space = get_space("macro", **SMALL)
    names = [d.name for d in space.decisions()]
    assert names == ["stage0_ops", "stage0_depth", "stage0_width", "stage1_ops",
                     "stage1_depth", "stage1_width", "stage1_stride"]
    genotype = space.parse("convnext_k3 x3 w16 s1 | lsconv x2 w32 s2")
    model = space.build(genotype)
    assert len(model.blocks) == 5 and isinstance(model.pool, nn.AdaptiveMaxPool2d)
    info = space.describe(genotype)
    assert info["params"] == count_params(model)
    assert info["macs"] == count_macs(model, (3, 16, 16))
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 5)
    assert space.parse(space.format(genotype)) == genotype


def test_skip_stages_are_pruned_to_the_smallest_depth():
    space = get_space("macro", **SMALL)
    assert space.has_equivalents
    deep = space.parse("skip x3 w16 s1 | shift x1 w16 s1")
    shallow = space.parse("skip x1 w16 s1 | shift x1 w16 s1")
    assert space.prune(deep) == shallow and space.function_key(deep) == shallow.key
    a, b = space.build(deep).eval(), space.build(shallow).eval()
    b.load_state_dict(dict(zip(b.state_dict(), a.state_dict().values())))
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(a(x), b(x))
    other = space.parse("ir_k3_e3 x3 w16 s1 | shift x1 w16 s1")
    assert space.prune(other) == other


@pytest.mark.parametrize("name", [n for n in list_strategies() if n not in ONE_SHOT])
def test_every_strategy_searches_the_macro_space(name):
    space = get_space("macro", **SMALL)
    evaluator = make_evaluator("synthetic", {"seed": 0})
    objectives = (Objective("accuracy", "maximize"), Objective("params", "minimize"))
    strategy = make_strategy(name, space, objectives, 0, {})
    seen = set()
    for _ in range(12):
        genotype = strategy.ask()
        assert space.validate(genotype) == genotype
        seen.add(genotype.key)
        strategy.tell(genotype, evaluator(space, genotype))
    assert len(seen) > 1


def _randomise_bn(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def test_fused_deploy_form_matches_the_trained_form():
    space = get_space("macro", **SMALL)
    rng = np.random.default_rng(0)
    for arch in ("convnext_k3 x2 w16 s1 | unireplk_k7 x2 w32 s2",
                 "ir_k3_e3 x1 w8 s1 | replk_k7 x1 w16 s1",
                 space.format(space.sample(rng))):
        model = space.build(space.parse(arch)).eval()
        _randomise_bn(model)
        fused, report = fuse_model(model)
        assert report["conv_bn_folded"] > 0
        x = torch.randn(2, 3, 16, 16)
        assert (fused(x) - model(x)).abs().max() < 1e-4
    fused, report = fuse_model(space.build(space.parse(
        "convnext_k3 x1 w8 s1 | unireplk_k7 x1 w16 s1")).eval())
    assert report["reparam_merged"] >= 1


def _with(path: str, value) -> dict:
    """SMALL with one key path replaced, e.g. 'stages.1.ops' -> value."""
    import copy

    options = copy.deepcopy(SMALL)
    *parents, last = path.split(".")
    node = options
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = value
    return options


@pytest.mark.parametrize("path,value,message", [
    ("stages.1.ops", ["ir_k9", "skip"], "stages[1].ops[0]: op 'ir_k9': kernel 9 is not"),
    ("stages.1.ops", ["skip", "irr_k3"], "stages[1].ops[1]: unknown op 'irr_k3'"),
    ("stages.0.ops", ["ir_k3_e3", 7], "stages[0].ops[1]: an op is a spec string"),
    ("stages.0.dpeth", [1, 2], "stages[0]: unknown key 'dpeth'. Did you mean 'depth'"),
    ("stages.0.width", [8, 0], "stages[0].width[1]: must be an integer >= 1"),
    ("stages.1.stride", [1, 3], "stages[1].stride[1]: must be one of [1, 2]"),
    ("stages.0.depth", [], "stages[0].depth: the choice list is empty"),
    ("stages.0.width", [8, 8], "stages[0].width: repeated choices"),
    ("stages.1.ops", ["lsconv", "skip"], None),
    ("stages.1.width", [12, 32], "stages[1].ops[2]: 'lsconv' cannot map"),
    ("stages", [], "stages: must be a non-empty list"),
    ("stages.0", "ir_k3_e3", "stages[0]: must be a mapping"),
    ("stem.kernel", 4, "stem.kernel: must be one of [1, 3, 5, 7]"),
    ("stem.chanels", 8, "stem: unknown key 'chanels'"),
    ("head.pool", "mean", "head.pool: must be one of ['avg', 'max']"),
    ("head.dropout", 1.5, "head.dropout: must be a number in [0, 1)"),
    ("input_size", [3, 16], "option 'input_size' must be three positive ints"),
])
def test_bad_schema_names_the_key_path(path, value, message):
    if message is None:
        get_space("macro", **_with(path, value))  # a valid replacement builds
        return
    with pytest.raises(UserError) as err:
        get_space("macro", **_with(path, value))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_keys_and_nothing_to_search():
    with pytest.raises(UserError, match=r"stages\[0\]: missing width"):
        get_space("macro", stages=[{"ops": ["skip", "shift"]}])
    with pytest.raises(UserError, match="nothing to search"):
        get_space("macro", stages=[{"ops": "skip", "width": 8}])
    with pytest.raises(UserError, match="unknown option of space 'macro' 'stage'"):
        get_space("macro", stage=[])
    space = get_space("macro", **SMALL)
    with pytest.raises(UserError, match="stages\\[0\\].width is fixed|expected w<int>"):
        space.parse("skip x1 q16 s1 | shift x1 w16 s1")


def test_shipped_config_fits_digits():
    from pathlib import Path

    from nas.run.config import load_config
    from trainers.evaluators import check_data_fits

    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "configs" / "macro_yaml_digits.yaml")
    space = get_space(config.space.name, **config.space.options)
    evaluator = make_evaluator(config.evaluator.name, config.evaluator.options)
    check_data_fits(space, evaluator.options)  # the ladder's own check also scores archs
    assert len(space.decisions()) >= 8 and space.has_equivalents


def test_spos_supernet_extracts_exactly_when_only_ops_are_chosen():
    from search_spaces.supernet import build_supernet

    ops_only = {"input_size": (3, 8, 8), "stem": {"channels": 8}, "stages": [
        {"ops": ["ir_k3_e3", "skip", "convnext_k3"], "depth": 2, "width": 16},
        {"ops": ["unireplk_k7", "lsconv", "pf_max_bottleneck"], "width": 16, "stride": 2}]}
    space = get_space("macro", **ops_only)
    supernet = build_supernet(space)
    _randomise_bn(supernet)
    supernet.eval()
    x = torch.randn(2, 3, 8, 8)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for _ in range(4):
            genotype = space.sample(rng)
            supernet.set_path(genotype)
            subnet = supernet.extract(genotype).eval()
            assert torch.equal(supernet(x), subnet(x))
    with pytest.raises(UserError, match=r"give stages\[0\].depth one value"):
        build_supernet(get_space("macro", **SMALL))
