"""NNI 3.0 model spaces as our Spaces: searches through the CLI, mapping, round trips.

Needs the optional extra (`pip install ".[nni]"`, or `.ci/nni`); skipped without NNI.
"""
import json
import pickle

import numpy as np
import pytest

nni = pytest.importorskip("nni")

import torch  # noqa: E402

from nas.cli import main  # noqa: E402
from search_spaces import get_space  # noqa: E402
from search_spaces.errors import UserError  # noqa: E402
from search_spaces.genotype import Genotype  # noqa: E402

TINY = "nni:tests.nas.nni_spaces:TinyNet"
FEATURE = "nni:tests.nas.nni_spaces:FeatureNet"
NB201_OPTIONS = {"stem_out_channels": 4, "num_modules_per_stack": 1, "input_size": [3, 8, 8]}
NB101_OPTIONS = {"stem_out_channels": 4, "num_stacks": 1, "num_modules_per_stack": 1}

HUB_CONFIG = """
name: nni-hub
seed: 0
trials: 10
workers: 2
space:
  name: nni:nasbench201
  options: {stem_out_channels: 4, num_modules_per_stack: 1, input_size: [3, 8, 8]}
strategy: {name: tpe, options: {n_startup_trials: 4}}
evaluator: {name: train, options: {dataset: synthetic, image_size: 8, epochs: 1}}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: params, direction: minimize}
"""
# the space comes from --space (no options), so the default input size 3x32x32 applies
USER_CONFIG = """
name: nni-user
seed: 1
trials: 10
workers: 2
space: nb201
strategy: random
evaluator: {name: train, options: {dataset: synthetic, image_size: 32, epochs: 1}}
objectives:
  - {name: params, direction: minimize}
"""


def _search(root, config: str, *extra: str):
    (root / "c.yaml").write_text(config)
    run_dir = root / "run"
    code = main(["search", "--config", str(root / "c.yaml"), "--out", str(run_dir), "--quiet",
                 "--json", *extra])
    assert code == 0
    records = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    return run_dir, records


def _no_nni_manager() -> bool:
    """NNI's experiment manager is a Node.js process; nothing here may start one."""
    import psutil

    return all(p.name() != "node" for p in psutil.Process().children(recursive=True))


@pytest.fixture(scope="module")
def hub_run(tmp_path_factory):
    return _search(tmp_path_factory.mktemp("nni-hub"), HUB_CONFIG)


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    return _search(tmp_path_factory.mktemp("nni-user"), USER_CONFIG, "--space", TINY)


def test_search_hub_nasbench201(hub_run):
    run_dir, records = hub_run
    assert sorted(r["trial_id"] for r in records) == list(range(10))
    assert all(r["metrics"]["status"] == "complete" for r in records)
    assert all(r["metrics"]["objectives"]["accuracy"] >= 0 and r["metrics"]["cost"]["params"] > 0
               for r in records)
    space = get_space("nni:nasbench201", **NB201_OPTIONS)
    for r in records:  # stored genotypes rebuild in a fresh space; arch is the NNI sample
        genotype = space.validate(Genotype.from_dict(r["genotype"]))
        assert json.loads(r["arch"]) == space.to_nni(genotype)
    assert json.loads((run_dir / "pareto.json").read_text())["front_trial_ids"]
    assert _no_nni_manager()


def test_search_user_space_via_space_flag(user_run):
    run_dir, records = user_run
    assert len(records) == 10 and all(r["metrics"]["status"] == "complete" for r in records)
    assert {r["genotype"]["space"] for r in records} == {TINY}
    space = get_space(TINY)
    seen = {(r["genotype"]["decisions"]["block1"], r["genotype"]["decisions"]["skip"])
            for r in records}
    assert len(seen) > 1
    for r in records:  # our params cost equals the NNI-frozen model's parameter count
        model = space.model_space.freeze(space.to_nni(Genotype.from_dict(r["genotype"])))
        assert r["metrics"]["cost"]["params"] == sum(p.numel() for p in model.parameters())
    assert _no_nni_manager()


def test_decisions_follow_nni_simplify():
    tiny = get_space(TINY)
    assert [(d.name, d.choices) for d in tiny.decisions()] == [
        ("block1", ("conv3x3", "conv5x5", "maxpool")),  # LayerChoice names
        ("block2", (0, 1)),                             # LayerChoice list indices
        ("skip", (0, 1, 2))]                            # InputChoice n_chosen=1: input index
    assert tiny.to_nni(tiny.genotype({"block1": "conv5x5", "block2": 1, "skip": 2})) == {
        "block1": "conv5x5", "block2": 1, "skip": [2]}
    feature = get_space(FEATURE)
    choices = {d.name: d.choices for d in feature.decisions()}
    assert choices == {"width": (8, 16), "drop": (0, 1), "depth": (1, 2, 3), "b0": (0, 1),
                       "b1": (0, 1), "b2": (0, 1), "pair": (0, 1, 2)}
    genotype = feature.genotype({"width": 16, "drop": 1, "depth": 2, "b0": 1, "b1": 0, "b2": 0,
                                 "pair": 2})
    sample = feature.to_nni(genotype)
    assert sample["drop"] == 0.25 and sample["pair"] == [1, 2]  # by index: floats, combinations
    assert feature.from_nni(sample) == genotype


def test_build_is_nni_freeze_and_plain_torch():
    feature = get_space(FEATURE)
    genotype = feature.genotype({"width": 16, "drop": 0, "depth": 3, "b0": 1, "b1": 1, "b2": 0,
                                 "pair": 0})
    model = feature.build(genotype)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16]  # nni.choice in a shape, frozen
    assert model(torch.zeros(2, 3, 8, 8)).shape == (2, 10)
    again = feature.build(genotype)  # NNI's freeze shares modules; ours are copies
    assert not {id(p) for p in model.parameters()} & {id(p) for p in again.parameters()}
    assert not {id(p) for p in model.parameters()} & {
        id(p) for p in feature.model_space.parameters()}


@pytest.mark.parametrize("name, options", [(TINY, {}), (FEATURE, {}),
                                           ("nni:nasbench201", NB201_OPTIONS)])
def test_genotypes_round_trip(name, options):
    space = get_space(name, **options)
    rng = np.random.default_rng(3)
    for _ in range(5):
        genotype = space.sample(rng)
        assert Genotype.from_json(genotype.to_json()) == genotype
        assert space.parse(genotype.to_json()) == genotype
        assert space.parse(space.format(genotype)) == genotype
        assert space.from_nni(space.to_nni(genotype)) == genotype
        assert space.validate(space.mutate(genotype, rng)) != genotype
    rebuilt = pickle.loads(pickle.dumps(space))  # Ray ships it by name and options
    assert rebuilt.name == name and rebuilt.decisions() == space.decisions()
    assert len(pickle.dumps(space)) < 1000


def test_describe_cli(capsys):
    capsys.readouterr()
    code = main(["spaces", "describe", "nni:nasbench201", "--sample", "2", "--input-size",
                 "3,16,16", "--option", "stem_out_channels=4", "--option",
                 "num_modules_per_stack=1", "--json"])
    out, _ = capsys.readouterr()
    archs = json.loads(out)["archs"]
    space = get_space("nni:nasbench201", **{**NB201_OPTIONS, "input_size": [3, 16, 16]})
    assert code == 0 and len(archs) == 2
    for arch in archs:
        frozen = space.model_space.freeze(arch["nni_sample"])
        assert arch["params"] == sum(p.numel() for p in frozen.parameters())
        assert arch["macs"] > 0 and arch["input_size"] == [3, 16, 16]
        assert arch["nni_class"] == "nni.nas.hub.pytorch:NasBench201"
    capsys.readouterr()
    code = main(["spaces", "describe", TINY, "--arch",
                 '{"block1": "maxpool", "block2": 1, "skip": [0]}', "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["params"] == 322


def test_nni_constraints_are_respected():
    space = get_space("nni:nasbench101", **NB101_OPTIONS)
    assert space.constraints  # NAS-Bench-101: at most 9 edges
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(10)]
    assert all(space.violation(g) is None for g in samples)
    full = space.genotype({d.name: d.choices[-1] for d in space.decisions()})
    assert space.violation(full) is not None
    with pytest.raises(UserError, match="constraint"):
        space.build(full)
    assert space.build(samples[0])(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


def test_spaces_list_shows_hub_aliases(capsys):
    capsys.readouterr()
    assert main(["spaces", "list", "--json"]) == 0
    rows = {s["name"]: s for s in json.loads(capsys.readouterr().out)["spaces"]}
    assert "nb201" in rows and rows["nni:nasbench201"]["decisions"] is None
    assert {"nni:nasnet", "nni:darts", "nni:proxylessnas", "nni:shufflenet",
            "nni:autoformer"} <= set(rows)


@pytest.mark.parametrize("space, message", [
    ("nni:nasbench20", "'nasbench201'"),
    ("nni:tests.nas.nni_spaces:ContinuousNet", "'rate' is Numerical"),
    ("nni:tests.nas.nni_spaces:NotASpace", "not a subclass"),
    ("nni:tests.nas.no_such_module:Net", "cannot import module"),
    ("nni:tests.nas.nni_spaces:TinyNet --option chanels=4", "chanels"),
])
def test_bad_nni_spaces_exit_2(capsys, space, message):
    name, *option = space.split(" ")
    capsys.readouterr()
    code = main(["spaces", "describe", name, "--sample", "1", *option])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
