"""Registry-driven tests over every registered space: sample, build, forward, backward,
JSON round-trip, cross-process hash stability, mutation, bad genotypes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from search_spaces import Genotype, UserError, get_space, list_spaces

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = 20
SEED = 0

#: small options per space so the suite runs in seconds on CPU; a new space runs with
#: its defaults until it gets an entry here
SMALL = {
    "nb201": {"channels": 4, "cells": 1, "input_size": (3, 8, 8)},
    "darts": {"C": 4, "layers": 3, "input_size": (1, 8, 8)},
    "fbnet": {"input_size": (1, 8, 8), "num_classes": 10, "head_channels": 32},
    "convnet": {"input_size": (1, 8, 8), "num_classes": 10, "depths": [[0, 1], [1], [1, 2], [1]],
                "widths": [[16], [16, 32], [32], [32]]},
    "macro": {"input_size": (1, 8, 8), "stem": {"channels": 8},
              "stages": [{"ops": ["ir_k3_e3", "skip", "lsconv", "shift"], "depth": [1, 2],
                          "width": [8, 16]},
                         {"ops": ["unireplk_k7", "max_pool_3x3", "convnext_k3"],
                          "depth": [1, 2], "width": [16, 24], "stride": [1, 2]}],
              "head": {"channels": 0}},
}
#: further configurations of some spaces (other node counts, concat rule, layouts)
EXTRA = [
    ("darts", {"C": 4, "layers": 3, "input_size": (3, 8, 8), "nodes": 5, "concat": "unused",
               "extra_ops": ["sep_conv_7x7", "conv_7x1_1x7"], "auxiliary": True}),
    ("darts", {"C": 4, "layers": 3, "input_size": (3, 72, 72), "num_classes": 5,
               "auxiliary": True}),
] + [("convnet", {"input_size": (3, 32, 32), "num_classes": 10, "style": style,
                  "depths": [[1], [0, 1], [1, 2], [1]], "widths": [[16], [32], [32], [32]],
                  "mixers": [["dw_k3", "repvggdw"], ["lsconv", "unireplk_k5"],
                             ["gnconv_o3", "pool"], ["attn", "shift"]], "heads": [1, 1, 1, 2]})
     for style in ("convnext", "hornet", "unireplknet", "replknet", "lsnet")]
CONFIGS = [(name, SMALL.get(name, {})) for name in list_spaces()] + EXTRA
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]


def _samples(name: str, options: dict) -> tuple:
    space = get_space(name, **options)
    rng = np.random.default_rng(SEED)
    return space, [space.sample(rng) for _ in range(SAMPLES)]


def test_every_space_is_listed_and_described():
    for name in list_spaces():
        space = get_space(name, **SMALL.get(name, {}))
        assert space.decisions() and space.description


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_sample_build_forward_backward(name, options):
    space, genotypes = _samples(name, options)
    size = space.input_size()
    x = torch.randn(2, *size)
    for genotype in genotypes:
        assert space.validate(genotype) == genotype
        model = space.build(genotype)
        model.train()
        out = model(x)
        assert out.shape[0] == 2 and out.ndim == 2 and torch.isfinite(out).all()
        out.square().mean().backward()
        assert any(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_json_round_trip_and_encodings(name, options):
    space, genotypes = _samples(name, options)
    width = sum(len(d.choices) for d in space.decisions())
    for genotype in genotypes:
        again = Genotype.from_json(json.loads(json.dumps(genotype.to_json())))
        assert again == genotype and again.key == genotype.key
        assert space.validate(Genotype.from_dict(genotype.to_dict())) == genotype
        assert space.parse(space.format(genotype)) == genotype
        hot = space.encode(genotype)
        assert hot.shape == (width,) and hot.sum() == len(space.decisions())
    assert set(space.distributions()) == {d.name for d in space.decisions()}


def test_hash_stable_across_processes():
    """Keys computed in a fresh interpreter (other PYTHONHASHSEED) match ours."""
    script = (
        "import json, sys, numpy as np\n"
        "from search_spaces import get_space\n"
        "out = []\n"
        "for name, opts in json.loads(sys.argv[1]):\n"
        f"    sp = get_space(name, **opts); rng = np.random.default_rng({SEED})\n"
        f"    out.append([sp.sample(rng).key for _ in range({SAMPLES})])\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="12345")
    result = subprocess.run([sys.executable, "-c", script, json.dumps(CONFIGS)], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=True)
    theirs = json.loads(result.stdout)
    ours = [[g.key for g in _samples(name, opts)[1]] for name, opts in CONFIGS]
    assert theirs == ours
    assert all(len(set(keys)) == SAMPLES for keys in ours)


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_mutate_changes_exactly_one_decision(name, options):
    space, genotypes = _samples(name, options)
    rng = np.random.default_rng(SEED + 1)
    for genotype in genotypes:
        child = space.mutate(genotype, rng)
        assert space.validate(child) == child
        changed = [k for k, v in genotype.decisions if child[k] != v]
        assert len(changed) == 1


@pytest.mark.parametrize("name", list_spaces())
def test_presets_resolve_and_build(name):
    space = get_space(name, **SMALL.get(name, {}))
    for preset, genotype in space.presets().items():
        configured, parsed = space.resolve(preset)
        assert parsed.decisions == genotype.decisions
        assert configured.preset_name(parsed) == preset
        model = configured.build(parsed).eval()
        assert model(torch.randn(1, *configured.input_size())).shape[0] == 1


@pytest.mark.parametrize("name", list_spaces())
def test_bad_genotypes_raise_user_errors(name):
    space, (genotype, *_) = _samples(name, SMALL.get(name, {}))
    decisions = genotype.as_mapping()
    op_key = next(k for k, v in decisions.items() if isinstance(v, str))
    with pytest.raises(UserError, match="not_an_op"):
        space.genotype({**decisions, op_key: "not_an_op"})
    with pytest.raises(UserError, match="missing"):
        space.genotype(dict(list(decisions.items())[:-1]))
    with pytest.raises(UserError, match="unexpected"):
        space.genotype({**decisions, "bogus.decision": 0})
    with pytest.raises(UserError, match="is for space"):
        space.validate(Genotype("not_" + name, genotype.decisions))
    with pytest.raises(UserError):
        space.parse("no_such_preset_or_arch")
