"""NB201 functional equivalence: `prune` and `function_key` agree with what the cells compute."""
import collections

import numpy as np
import pytest
import torch

from search_spaces import get_space
from search_spaces.cells.nb201 import EDGES, NB201Cell, edge_name

NONE_BUT = {edge_name(*e): "none" for e in EDGES}


@pytest.fixture(scope="module")
def space():
    return get_space("nb201")


def cell(space, **ops):
    return space.genotype({**NONE_BUT, **ops})


def cell_output(genotype, x):
    """The cell's output with weights fixed per op type (every conv3x3 the same, ...), BN in
    eval mode: equal functions must then give equal outputs. BN shifts keep their initial 0:
    a conv that only sees zeros outputs its shift, a learned constant, which pruning drops
    (as the benchmark's isomorphism test does)."""
    ops = {(to, src): str(genotype[edge_name(to, src)]) for to, src in EDGES}
    module = NB201Cell(ops, channels=4).eval()
    for (to, src), op in zip(EDGES, module.ops):
        torch.manual_seed(sum(map(ord, ops[(to, src)])))
        for name, p in op.named_parameters():
            if not name.endswith("bias"):
                p.data.normal_()
    with torch.no_grad():
        return module(x)


def test_dead_edges_are_pruned_to_none(space):
    # node 1 gets nothing, so its conv into node 2 and node 2's skip into 3 carry zeros
    g = cell(space, **{"2<-1": "nor_conv_3x3", "3<-2": "skip_connect", "3<-0": "nor_conv_1x1"})
    assert space.prune(g) == cell(space, **{"3<-0": "nor_conv_1x1"})
    # node 2 is fed but never reaches the output
    g = cell(space, **{"2<-0": "nor_conv_3x3", "3<-0": "skip_connect"})
    assert space.prune(g) == cell(space, **{"3<-0": "skip_connect"})
    live = cell(space, **{"1<-0": "nor_conv_3x3", "3<-1": "avg_pool_3x3"})
    assert space.prune(live) is live


def test_function_key_equates_skip_chains_and_reordered_sums_only(space):
    key = space.function_key
    direct = cell(space, **{"3<-0": "nor_conv_3x3"})
    via_skip = cell(space, **{"1<-0": "skip_connect", "3<-1": "nor_conv_3x3"})
    assert key(direct) == key(via_skip) == "nor_conv_3x3(x)"
    a = cell(space, **{"1<-0": "nor_conv_1x1", "3<-1": "skip_connect", "3<-0": "avg_pool_3x3"})
    b = cell(space, **{"2<-0": "nor_conv_1x1", "3<-2": "skip_connect", "3<-0": "avg_pool_3x3"})
    assert key(a) == key(b)
    one_skip = cell(space, **{"3<-0": "skip_connect"})
    two_skips = cell(space, **{"1<-0": "skip_connect", "3<-1": "skip_connect",
                               "3<-0": "skip_connect"})
    assert key(one_skip) != key(two_skips)  # x + x is not x
    assert key(direct) != key(cell(space, **{"3<-0": "nor_conv_1x1"}))
    assert key(space.genotype(NONE_BUT)) == "0"


def test_equal_keys_compute_equal_outputs(space):
    rng, x = np.random.default_rng(0), torch.randn(2, 4, 8, 8)
    outputs = collections.defaultdict(list)
    for _ in range(400):
        g = space.sample(rng)
        outputs[space.function_key(g)].append(cell_output(g, x))
        torch.testing.assert_close(cell_output(space.prune(g), x),
                                   outputs[space.function_key(g)][-1])
    assert sum(len(v) > 1 for v in outputs.values()) >= 20  # the check saw real merges
    for group in outputs.values():
        for out in group[1:]:
            torch.testing.assert_close(out, group[0])
    # the converse does not hold, and need not: avg-pool is linear, so
    # avg(a + x) + b and avg(a) + avg(x) + b are one function under two keys


def test_keys_coarsen_the_benchmarks_isomorphism_classes(space):
    """Every NATS-Bench unique-string class (6,466 of them) falls in one function class; zero
    terms dropped and sums flattened merge them further, into 4,930."""
    from search_spaces.nb201_table import load_table

    table = load_table()
    keys_of = collections.defaultdict(set)
    for arch, unique in zip(table["ArchitectureString"], table["UniqueString"]):
        keys_of[unique].add(space.function_key(space.parse(arch)))
    assert len(keys_of) == 6466
    assert all(len(keys) == 1 for keys in keys_of.values())
    assert len(set().union(*keys_of.values())) == 4930


def test_pruning_keeps_the_function_and_never_adds_ops(space):
    rng = np.random.default_rng(1)
    for _ in range(500):
        g = space.sample(rng)
        pruned = space.prune(g)
        assert space.function_key(pruned) == space.function_key(g)
        changed = [n for n, v in g.decisions if pruned[n] != v]
        assert all(pruned[n] == "none" for n in changed)
        assert space.prune(pruned) == pruned
