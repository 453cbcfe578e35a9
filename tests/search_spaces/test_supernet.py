"""Supernets: exact extraction for every registered candidate op, single-path forward,
DARTS input choices, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from search_spaces import UserError, get_space
from search_spaces.genotype import Genotype
from search_spaces.ops import list_ops
from search_spaces.supernet import NoPathError, build_supernet, fingerprint_difference

FBNET = {"input_size": (3, 16, 16), "num_classes": 5, "head_channels": 32}
DARTS = {"C": 4, "layers": 3, "input_size": (3, 8, 8), "num_classes": 5}


def registry_ops() -> list[str]:
    """Every example spec of every registered op family (new ops join automatically)."""
    return sorted({spec for entry in list_ops() for spec in entry.examples})


def buildable(space_name: str, options: dict, ops: list[str]) -> list[str]:
    """The ops the space itself can build everywhere (the all-op stand-alone network)."""
    good = []
    for op in ops:
        space = get_space(space_name, **options, extra_ops=[op])
        decisions = {d.name: (op if op in d.choices else d.choices[0])
                     for d in space.decisions()}
        try:
            space.build(space.genotype(decisions))
        except (UserError, ValueError, RuntimeError):
            continue
        good.append(op)
    return good


def randomize(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine parameters, so a wrong copy shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.track_running_stats:
                    m.running_mean.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
                    m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                    m.bias.copy_(torch.rand(m.num_features, generator=gen) - 0.5)


def max_diff(supernet, genotype: Genotype, x: torch.Tensor) -> float:
    supernet.set_path(genotype)
    subnet = supernet.extract(genotype)
    assert type(subnet).__name__ in ("FBNetNetwork", "NetworkCIFAR", "NetworkImageNet")
    with torch.no_grad():
        return float((supernet(x) - subnet(x)).abs().max())


@pytest.fixture(scope="module")
def fbnet_all():
    torch.manual_seed(0)
    ops = buildable("fbnet", FBNET, registry_ops())
    space = get_space("fbnet", **FBNET, extra_ops=ops)
    supernet = build_supernet(space).eval()
    randomize(supernet)
    return supernet


@pytest.fixture(scope="module")
def darts_all():
    torch.manual_seed(0)
    ops = buildable("darts", DARTS, registry_ops())
    space = get_space("darts", **DARTS, extra_ops=ops)
    supernet = build_supernet(space).eval()
    randomize(supernet, 1)
    return supernet


def test_fbnet_extract_exact_for_every_candidate(fbnet_all):
    space = fbnet_all.space
    assert {"skip", "ir_k5_e6", "max_pool_3x3", "none", "sep_conv_3x3"} <= set(space.ops)
    x = torch.randn(2, *space.input_size(), generator=torch.Generator().manual_seed(1))
    ops, layers = space.ops, [d.name for d in space.decisions()]
    for shift in range(len(ops)):  # Latin square: every op at every layer once
        genotype = space.genotype({name: ops[(shift + i) % len(ops)]
                                   for i, name in enumerate(layers)})
        assert max_diff(fbnet_all, genotype, x) < 1e-6, genotype


def test_darts_extract_exact_for_every_candidate_and_inputs(darts_all):
    space = darts_all.space
    x = torch.randn(2, *space.input_size(), generator=torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    ops, slots = space.ops, [d.name for d in space.decisions() if ".op" in d.name]
    for shift in range(len(ops)):  # every op in every slot once, inputs drawn at random
        genotype = space.sample(rng).replace(**{name: ops[(shift + i) % len(ops)]
                                               for i, name in enumerate(slots)})
        assert max_diff(darts_all, genotype, x) < 1e-6, genotype


def test_darts_inputs_are_part_of_the_path(darts_all):
    space = darts_all.space
    base = space.genotype({d.name: ("sep_conv_3x3" if ".op" in d.name else 0)
                           for d in space.decisions()})
    moved = base.replace(**{"normal.n5.in0": 3, "reduce.n4.in1": 2})
    x = torch.randn(2, *space.input_size())
    darts_all.set_path(base)
    with torch.no_grad():
        out_base = darts_all(x)
        darts_all.set_path(moved)
        out_moved = darts_all(x)
    assert (out_base - out_moved).abs().max() > 1e-4
    assert max_diff(darts_all, moved, x) < 1e-6


def test_single_path_runs_only_active_candidates(fbnet_all):
    space = fbnet_all.space
    genotype = space.sample(np.random.default_rng(3))
    fbnet_all.set_path(genotype)
    ran = []
    hooks = [op.register_forward_hook(lambda m, i, o, key=(name, k): ran.append(key))
             for name, block in fbnet_all.choice_blocks()
             for k, op in enumerate(block.candidates)]
    with torch.no_grad():
        fbnet_all(torch.randn(1, *space.input_size()))
    for hook in hooks:
        hook.remove()
    expected = [(name, block.index(str(genotype[name])))
                for name, block in fbnet_all.choice_blocks()]
    assert ran == expected


def test_no_path_set_is_a_clear_error():
    space = get_space("darts", **DARTS)
    supernet = build_supernet(space)
    with pytest.raises(UserError, match="no path"):
        supernet.extract()
    with pytest.raises(NoPathError, match="set_path"):
        supernet(torch.randn(1, *DARTS["input_size"]))


def test_extract_rejects_genotypes_outside_the_space(darts_all):
    space = darts_all.space
    good = space.sample(np.random.default_rng(0))
    with pytest.raises(UserError, match="space 'fbnet', not 'darts'"):
        darts_all.extract(Genotype("fbnet", good.decisions))
    plain = build_supernet(get_space("darts", **DARTS))  # no extra ops
    with pytest.raises(UserError, match="sep_conv_7x7|choice"):
        plain.extract(good.replace(**{"normal.n2.op0": "sep_conv_7x7"}))
    with pytest.raises(UserError, match="not computed yet"):
        plain.set_path(good.replace(**{"normal.n3.in0": 3}))
    with pytest.raises(UserError, match="missing"):
        plain.extract(Genotype("darts", good.decisions[:-1]))


def test_bad_supernet_configurations():
    with pytest.raises(UserError, match="no supernet"):
        build_supernet(get_space("nb201"))
    with pytest.raises(UserError, match="concat='all'"):
        build_supernet(get_space("darts", **DARTS, concat="unused"))


def test_fingerprint_difference_names_the_option():
    a = build_supernet(get_space("darts", **DARTS)).fingerprint()
    b = build_supernet(get_space("darts", **{**DARTS, "C": 6})).fingerprint()
    assert fingerprint_difference(a, a) == []
    assert fingerprint_difference(a, b) == ["option C: 4 -> 6"]
    assert "space" in fingerprint_difference(a, {**b, "space": "fbnet"})[0]
