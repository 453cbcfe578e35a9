"""The convnet supernet: exact extraction (every mixer and MLP ratio in every slot, every
depth), single-path forward, and the one-width-per-stage rule."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from search_spaces import UserError, get_space
from search_spaces.macro.convnet import DEFAULT_MIXERS
from search_spaces.reparam import randomize_bn_
from search_spaces.supernet import build_supernet

OPTIONS = {"input_size": (1, 8, 8), "num_classes": 10, "depths": [[1, 2], [0, 1], [1, 2], [1]],
           "widths": [[16], [16], [32], [32]], "mixers": list(DEFAULT_MIXERS),
           "mlp_ratios": [2, 4]}


@pytest.fixture(scope="module", params=["convnext", "unireplknet", "lsnet"])
def supernet(request):
    torch.manual_seed(0)
    space = get_space("convnet", **OPTIONS, style=request.param)
    net = build_supernet(space).eval()
    randomize_bn_(net, seed=1)
    with torch.no_grad():  # layer scales of 1e-6 would hide a wrong mixer copy
        for name, p in net.named_parameters():
            if name.endswith(("gamma", "gamma1", "gamma2")):
                p.fill_(1.0)
    return net


def test_extract_is_exact_for_every_candidate_and_depth(supernet):
    space = supernet.space
    x = torch.randn(2, *space.input_size(), generator=torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    slots = [d.name for d in space.decisions() if d.name.endswith(".mixer")]
    mixers = space.mixers[0]
    for shift in range(len(mixers)):  # every mixer in every slot once, the rest at random
        genotype = space.sample(rng).replace(
            **{name: mixers[(shift + i) % len(mixers)] for i, name in enumerate(slots)})
        supernet.set_path(genotype)
        subnet = supernet.extract(genotype)
        assert type(subnet).__name__ == "ConvNetNetwork"
        with torch.no_grad():
            assert torch.equal(supernet(x), subnet(x)), space.format(genotype)


def test_depth_runs_only_the_first_slots(supernet):
    space = supernet.space
    g = space.sample(np.random.default_rng(3)).replace(**{"s1.depth": 1, "s2.depth": 0})
    supernet.set_path(g)
    assert [len(s) for s in (supernet.net.stages[0].blocks,)] == [2]
    assert supernet.net.stages[0].blocks.depth == 1 and supernet.net.stages[1].blocks.depth == 0
    sub = supernet.extract(g)
    assert len(sub.stages[0].blocks) == 1 and len(sub.stages[1].blocks) == 0


def test_several_widths_are_refused():
    space = get_space("convnet", **{**OPTIONS, "widths": [[16, 32], [32], [32], [32]]})
    with pytest.raises(UserError, match="one width per stage"):
        build_supernet(space)

