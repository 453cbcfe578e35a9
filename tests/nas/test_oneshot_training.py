"""SPOS supernet training: resume after a kill, foreign checkpoints, BN recalibration,
the `supernet` evaluator, Kendall tau."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from search_spaces import UserError, get_space
from search_spaces.supernet import build_supernet
from trainers.data import load_dataset
from trainers.evaluators import make_evaluator
from trainers.oneshot import (kendall_tau, load_supernet, oneshot_config, recalibrate_bn,
                              train_supernet)

DARTS = {"C": 4, "layers": 3, "input_size": (1, 8, 8), "num_classes": 10}
FAST = {"epochs": 2, "batch_size": 32, "limit_train": 96, "lr": 0.05}


class Killed(Exception):
    pass


def _space(**extra):
    return get_space("darts", **{**DARTS, **extra})


def _fresh(seed: int = 0, **extra):
    torch.manual_seed(seed)
    return build_supernet(_space(**extra))


def _kill_after_first_epoch(message: str) -> None:
    if "epoch 1/" in message:
        raise Killed(message)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An uninterrupted 2-epoch run and its checkpoint."""
    path = tmp_path_factory.mktemp("spos") / "supernet.pt"
    supernet = _fresh()
    summary = train_supernet(supernet, load_dataset("digits"), oneshot_config(FAST), path)
    return supernet, path, summary


def test_checkpoint_contents(trained):
    supernet, path, summary = trained
    data = torch.load(path, weights_only=True)
    assert data["epoch"] == 2 and data["mode"] == "spos" and len(data["history"]) == 2
    assert {"model", "optimizer", "rng", "fingerprint", "config", "arch"} <= set(data)
    assert summary["resumed_from"] == 0 and np.isfinite(summary["history"][-1]["loss"])
    loaded, _ = load_supernet(path)  # rebuilt from the checkpoint's own space options
    for a, b in zip(loaded.state_dict().values(), supernet.state_dict().values()):
        assert torch.equal(a, b)


def test_resume_after_kill_matches_uninterrupted(trained, tmp_path):
    reference, _, _ = trained
    path = tmp_path / "supernet.pt"
    with pytest.raises(Killed):  # dies right after epoch 1's checkpoint
        train_supernet(_fresh(), load_dataset("digits"), oneshot_config(FAST), path,
                       log=_kill_after_first_epoch)
    assert torch.load(path, weights_only=True)["epoch"] == 1
    resumed = _fresh(seed=123)  # other init: everything must come from the checkpoint
    summary = train_supernet(resumed, load_dataset("digits"), oneshot_config(FAST), path)
    assert summary["resumed_from"] == 1
    got = resumed.state_dict()
    for key, value in reference.state_dict().items():
        assert torch.equal(value, got[key]), key


def test_foreign_checkpoint_is_refused_and_kept(trained):
    _, path, _ = trained
    before = path.read_bytes()
    other = _fresh(C=6)
    with pytest.raises(UserError, match="another supernet.*option C: 4 -> 6"):
        train_supernet(other, load_dataset("digits"), oneshot_config(FAST), path)
    with pytest.raises(UserError, match="space: 'darts' -> 'fbnet'"):
        load_supernet(path, get_space("fbnet", input_size=(1, 8, 8), num_classes=10))
    with pytest.raises(UserError, match="other settings.*lr"):
        train_supernet(_fresh(), load_dataset("digits"), oneshot_config(FAST, lr=0.1), path)
    assert path.read_bytes() == before


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_text("hello")
    with pytest.raises(UserError, match="not a readable supernet checkpoint"):
        load_supernet(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_supernet(tmp_path / "missing.pt")


def test_bn_recalibration_gives_exact_batch_statistics():
    supernet = _fresh()
    space = supernet.space
    genotype = space.sample(np.random.default_rng(0))
    subnet = supernet.extract(genotype)
    x = torch.randn(64, *space.input_size())
    assert recalibrate_bn(subnet, [x[:32], x[32:]]) == 2 and not subnet.training
    stem_bn = subnet.stem[1]
    with torch.no_grad():
        feats = subnet.stem[0](x)
    assert torch.allclose(stem_bn.running_mean, feats.mean((0, 2, 3)), atol=1e-5)
    assert stem_bn.momentum == 0.1  # restored


def test_supernet_evaluator(trained):
    _, path, _ = trained
    space = _space()
    evaluator = make_evaluator("supernet", {"checkpoint": str(path), "bn_batches": 2})
    evaluator.check(space)
    genotype = space.sample(np.random.default_rng(5))
    metrics = evaluator(space, genotype)
    assert metrics.ok and 0 <= metrics.objectives["accuracy"] <= 100
    assert metrics.fidelity == 2.0 and metrics.cost["params"] > 0
    assert metrics.timings["bn_recalibration_s"] >= 0
    again = evaluator(space, genotype)  # cached supernet, same BN batches: same score
    assert again.objectives == metrics.objectives
    with pytest.raises(UserError, match="another supernet"):
        evaluator.check(_space(C=6))
    with pytest.raises(UserError, match="needs option 'checkpoint'"):
        make_evaluator("supernet").check(space)


def test_kendall_tau_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.integers(0, 5, 12), rng.normal(size=12)  # ties in a
        assert kendall_tau(a, b) == pytest.approx(scipy_stats.kendalltau(a, b)[0])
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(kendall_tau([1], [2]))


def test_training_options_are_validated():
    with pytest.raises(UserError, match="unknown supernet training option 'epoch'"):
        oneshot_config({"epoch": 3})
    with pytest.raises(UserError, match="divisible by world_size"):
        oneshot_config(batch_size=33, world_size=2)
    with pytest.raises(UserError, match="must be int"):
        oneshot_config(epochs="3")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_spos_on_cuda_and_exact_extraction(tmp_path):
    path = tmp_path / "supernet.pt"
    supernet = _fresh()
    train_supernet(supernet, load_dataset("digits"), oneshot_config(FAST, device="cuda"), path)
    assert next(supernet.parameters()).is_cuda
    genotype = supernet.space.sample(np.random.default_rng(0))
    supernet.eval().set_path(genotype)
    subnet = supernet.extract(genotype)
    x = torch.randn(4, *supernet.space.input_size(), device="cuda")
    with torch.no_grad():
        assert float((supernet(x) - subnet(x)).abs().max()) < 1e-5
    metrics = make_evaluator("supernet", {"checkpoint": str(path), "device": "cuda",
                                          "bn_batches": 2})(supernet.space, genotype)
    assert metrics.ok
