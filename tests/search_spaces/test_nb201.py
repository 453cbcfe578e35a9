import numpy as np
import pytest
import torch

from search_spaces.errors import UserError
from tests.conftest import NB201_ALL_CONV3


def test_decisions_and_size(nb201):
    decisions = nb201.decisions()
    assert len(decisions) == 6
    assert np.prod([len(d.choices) for d in decisions]) == 15625


def test_arch_string_round_trip(nb201):
    g = nb201.parse(NB201_ALL_CONV3)
    assert nb201.format(g) == NB201_ALL_CONV3
    assert nb201.parse(g.to_json()) == g


def test_index_lookup_matches_table(nb201):
    from search_spaces.nb201_table import load_table

    table = load_table()
    assert len(table) == 15625
    for index in (0, 11, 284, 6111):
        assert nb201.format(nb201.parse(f"index:{index}")) == table.ArchitectureString[index]


@pytest.mark.parametrize("arch", [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|",                       # wrong edge count
    "|conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|",  # bad op
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",         # node wired to itself
    "index:99999", "index:abc", "darts_v2",
])
def test_bad_archs(nb201, arch):
    with pytest.raises(UserError):
        nb201.parse(arch)


def test_bad_op_names_allowed_values(nb201):
    g = nb201.parse(NB201_ALL_CONV3).replace(**{"1<-0": "conv_9x9"})
    with pytest.raises(UserError, match="nor_conv_3x3"):
        nb201.validate(g)


def test_sample_mutate_build_forward_backward(tiny_nb201):
    rng = np.random.default_rng(0)
    for _ in range(5):
        g = tiny_nb201.sample(rng)
        child = tiny_nb201.mutate(g, rng)
        diff = [k for k, v in g.decisions if child[k] != v]
        assert len(diff) == 1
        model = tiny_nb201.build(child)
        out = model(torch.randn(2, 1, 8, 8))
        assert out.shape == (2, 10)
        out.sum().backward()


def test_unknown_space_option():
    from search_spaces import get_space

    with pytest.raises(UserError, match="channels"):
        get_space("nb201", chanels=8)
    with pytest.raises(UserError, match="must be int"):
        get_space("nb201", channels="8")
