"""nas.export: formats, fusion, weights and parity (library level)."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from torch import nn

from nas.dashboard.synthetic import make_synthetic_run
from nas.export import (TOLERANCE, ParityError, export_run, fuse_model,
                        load_source, parity_check, select_trials)
from nas.export.source import checkpoint_path
from search_spaces import build

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_synthetic_run(tmp_path_factory.mktemp("export") / "run", n=30, seed=3)


def _first_id(run) -> int:
    return select_trials(run, None, True)[1][0]["trial_id"]


def _randomise_bn(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine terms, so fusion has something to get right."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and m.running_mean is not None:
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.randn(m.num_features, generator=g))
                m.bias.data.copy_(torch.randn(m.num_features, generator=g))


def test_json_export_rebuilds_the_same_network(run, tmp_path):
    tid = _first_id(run)
    result = export_run(run, "json", trial=tid, out=tmp_path)
    manifest = result["exports"][0]
    spec = json.loads((tmp_path / f"trial_{tid}" / "json" / "arch.json").read_text())
    assert {"space", "options", "genotype", "metrics", "trial_id"} <= set(spec)
    model = build(spec["space"], spec["genotype"], **spec["options"])
    info, records = select_trials(run, tid, False)
    source = load_source(info, records[0]).module
    model.load_state_dict(source.state_dict())  # same structure, strict
    assert manifest["weights"]["status"] == "untrained"
    assert manifest["parity"]["passed"] and manifest["parity"]["max_abs_diff"] < TOLERANCE


@pytest.mark.parametrize("fuse", [False, True])
def test_pytorch_export_ships_a_working_loader(run, tmp_path, fuse):
    tid = _first_id(run)
    manifest = export_run(run, "pytorch", trial=tid, fuse=fuse, out=tmp_path)["exports"][0]
    folder = tmp_path / f"trial_{tid}" / ("pytorch-fused" if fuse else "pytorch")
    assert sorted(p.name for p in folder.iterdir()) == ["arch.json", "load_model.py",
                                                        "manifest.json", "state_dict.pt"]
    spec = importlib.util.spec_from_file_location("loader_under_test", folder / "load_model.py")
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    model = loader.load()
    assert not model.training
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert manifest["fused"] is fuse and manifest["parity"]["runtime"] == "generated load_model.py"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_fused_export_records_deploy_cost(run, tmp_path):
    tid = _first_id(run)
    manifest = export_run(run, "torchscript", trial=tid, fuse=True, out=tmp_path)["exports"][0]
    scripted = torch.jit.load(str(tmp_path / f"trial_{tid}" / "torchscript-fused" / "model.ts.pt"))
    assert scripted(torch.randn(3, 1, 8, 8)).shape == (3, 10)  # batch size is free
    assert manifest["fusion"]["conv_bn_folded"] > 0
    assert manifest["deploy_cost"]["params"] < manifest["source_cost"]["params"]
    assert manifest["deploy_cost"]["latency_ms"] > 0 and manifest["source_cost"]["latency_ms"] > 0
    assert manifest["parity"]["runtime"] == "torch.jit.load"


@pytest.mark.skipif(not HAVE_ONNX, reason="onnx / onnxruntime not installed ([onnx] extra)")
def test_onnx_export_runs_in_onnxruntime(run, tmp_path):
    tid = _first_id(run)
    manifest = export_run(run, "onnx", trial=tid, fuse=True, out=tmp_path)["exports"][0]
    assert manifest["parity"]["runtime"].startswith("onnxruntime")
    assert manifest["parity"]["max_abs_diff"] < TOLERANCE


def test_trained_weights_come_from_the_checkpoint(run, tmp_path):
    info, records = select_trials(run, _first_id(run), False)
    record = records[0]
    model = load_source(info, record).module
    _randomise_bn(model)
    for p in model.parameters():
        p.data.add_(0.01)
    path = checkpoint_path(run, record["trial_id"])
    torch.save({"state_dict": model.state_dict(), "epoch": 2}, path)
    try:
        result = export_run(run, "torchscript", trial=record["trial_id"], fuse=True, out=tmp_path)
        manifest = result["exports"][0]
        assert manifest["weights"] == {"status": "trained", "checkpoint": str(path),
                                       "note": "weights from checkpoint"}
        assert manifest["parity"]["max_abs_diff"] < TOLERANCE
        loaded = load_source(info, record).module
        assert torch.equal(loaded.state_dict()["classifier.weight"],
                           model.state_dict()["classifier.weight"])
    finally:
        path.unlink()


def test_conv_bn_folding_is_exact_with_real_statistics():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4)).eval()
    _randomise_bn(model, seed=1)
    x = torch.randn(2, 3, 10, 10)
    fused, report = fuse_model(model)
    assert report["conv_bn_folded"] == 2 and report["note"] == "fused"
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert torch.allclose(fused(x), model(x), atol=1e-5)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # source untouched


def test_fusion_reports_when_nothing_was_fusable():
    fused, report = fuse_model(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)))
    assert report["conv_bn_folded"] == 0 and report["note"] == "nothing was fusable"
    _, report = fuse_model(nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU()))
    assert report["conv_bn_folded"] == 0 and report["reparam_merged"] == 0


def test_fusion_merges_reparam_branches():
    from search_spaces.ops import build_op

    model = nn.Sequential(build_op("unireplk_k13", 8, 8), nn.ReLU()).eval()
    _randomise_bn(model, seed=2)
    fused, report = fuse_model(model)
    assert report["reparam_merged"] == 1 and report["note"] == "fused"
    x = torch.randn(2, 8, 16, 16)
    assert torch.allclose(fused(x), model(x), atol=1e-4)


def test_parity_failure_names_the_measured_difference():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).eval()
    with pytest.raises(ParityError, match=r"max \|export - source\| = 0\.001"):
        parity_check(model, lambda x: model(x) + 1e-3, (1, 2, 2), "test export", "test")
    ok = parity_check(model, model, (1, 2, 2), "test export", "test")
    assert ok["passed"] and ok["max_abs_diff"] == 0.0


def test_pareto_export_writes_an_index(run, tmp_path):
    result = export_run(run, "json", pareto=True, out=tmp_path)
    index = json.loads((tmp_path / "pareto-json.json").read_text())
    front_ids = [r["trial_id"] for r in select_trials(run, None, True)[1]]
    assert [e["trial_id"] for e in index["front"]] == front_ids
    assert len(result["exports"]) == len(front_ids) >= 2
    assert all((tmp_path / f"trial_{i}" / "json" / "manifest.json").is_file() for i in front_ids)
    assert set(index["objectives"]) == {"accuracy", "params"}
