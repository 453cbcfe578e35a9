"""`nas search --strategy spos|dnas` end to end, the CLI commands, spos_evolution."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nas.cli import main
from nas.strategies import make_strategy
from nas.strategies.base import Objective
from search_spaces import get_space
from trainers.metrics import Metrics

SPOS = """
name: spos
seed: 0
trials: 4
workers: 1
space: {name: darts, options: {C: 4, layers: 3, input_size: [1, 8, 8], num_classes: 10}}
strategy:
  name: spos
  options:
    supernet: {epochs: 1, batch_size: 32, limit_train: 64}
    search: spos_evolution
    search_options: {population: 2, top_k: 2}
    rank_check: {top_k: 2, epochs: 1}
evaluator: {name: supernet, options: {dataset: digits, bn_batches: 1}}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: params, direction: minimize}
"""

DNAS = """
name: dnas
trials: 2
workers: 1
space: {name: fbnet, options: {input_size: [1, 4, 4], num_classes: 10, head_channels: 16}}
strategy:
  name: dnas
  options:
    supernet: {epochs: 1, batch_size: 8, limit_train: 24, latency_unit_ms: 0.0001}
evaluator: {name: supernet, options: {dataset: digits, image_size: 4, bn_batches: 1}}
objectives: [accuracy]
"""


@pytest.fixture(scope="module")
def spos_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("spos")
    (root / "c.yaml").write_text(SPOS)
    code = main(["search", "--config", str(root / "c.yaml"), "--out", str(root / "run"),
                 "--quiet", "--json"])
    assert code == 0
    return root, root / "run"


def test_spos_search_run_folder(spos_run, capsys):
    _, run = spos_run
    assert (run / "checkpoints" / "supernet.pt").is_file()
    records = [json.loads(x) for x in (run / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["metrics"]["status"] == "complete" for r in records)
    assert all(r["metrics"]["fidelity"] == 1.0 for r in records)  # supernet epochs
    report = json.loads((run / "oneshot.json").read_text())
    check = report["rank_check"]
    assert check["top_k"] == 2 and len(check["standalone_accuracy"]) == 2
    assert -1.0 <= check["kendall_tau"] <= 1.0
    assert report["training"]["epochs"] == 1
    assert (run / "pareto.json").is_file()


def test_spos_resume_reuses_supernet_and_check(spos_run):
    _, run = spos_run
    before = (run / "checkpoints" / "supernet.pt").stat().st_mtime_ns
    check = json.loads((run / "oneshot.json").read_text())["rank_check"]
    assert main(["search", "--resume", str(run), "--quiet"]) == 0
    assert (run / "checkpoints" / "supernet.pt").stat().st_mtime_ns == before  # not retrained
    assert json.loads((run / "oneshot.json").read_text())["rank_check"] == check
    assert len((run / "trials.jsonl").read_text().splitlines()) == 4


def test_spos_needs_supernet_evaluator(tmp_path, capsys):
    config = SPOS.replace("evaluator: {name: supernet, options: {dataset: digits, "
                          "bn_batches: 1}}", "evaluator: {name: train}")
    (tmp_path / "c.yaml").write_text(config)
    assert main(["search", "--config", str(tmp_path / "c.yaml"), "--out",
                 str(tmp_path / "r")]) == 2
    assert "evaluator: {name: supernet" in capsys.readouterr().err


@pytest.mark.slow
def test_dnas_search(tmp_path):
    (tmp_path / "c.yaml").write_text(DNAS)
    assert main(["search", "--config", str(tmp_path / "c.yaml"), "--out",
                 str(tmp_path / "run"), "--quiet"]) == 0
    run = tmp_path / "run"
    arch = json.loads((run / "checkpoints" / "dnas_arch.json").read_text())
    first = json.loads((run / "trials.jsonl").read_text().splitlines()[0])
    assert first["genotype"] == arch["genotype"]  # trial 0 is the argmax architecture
    assert first["metrics"]["cost"]["latency_ms"] > 0  # from the run's latency table
    assert (run / "checkpoints" / "latency_fbnet_cpu.json").is_file()
    exported = json.loads((run / "checkpoints" / "dnas_genotype.json").read_text())
    assert exported == arch["genotype"]


def test_latency_table_cli(tmp_path, capsys):
    out = tmp_path / "t.json"
    args = ["latency-table", "--space", "fbnet", "--input-size", "1,4,4", "--option",
            "head_channels=16", "--warmup", "0", "--repeats", "1", "--out", str(out), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["layers"] == 22 and result["ops"] == 9 and out.is_file()
    assert main(args) == 2 and "--force" in capsys.readouterr().err  # nothing overwritten
    assert main(["latency-table", "--space", "darts", "--out", str(tmp_path / "d.json")]) == 2
    assert "layer-wise" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main([*args[:-3], "--device", "cuda", "--out", str(tmp_path / "c.json")]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_supernet_extract_cli(spos_run, tmp_path, capsys):
    _, run = spos_run
    space = get_space("darts", C=4, layers=3, input_size=(1, 8, 8), num_classes=10)
    genotype = space.sample(np.random.default_rng(0))
    (tmp_path / "g.json").write_text(genotype.to_json())
    out = tmp_path / "sub.pt"
    assert main(["supernet", "extract", str(run / "checkpoints" / "supernet.pt"),
                 "--genotype", str(tmp_path / "g.json"), "--out", str(out), "--json"]) == 0
    saved = torch.load(out, weights_only=True)
    model = space.build(genotype)
    model.load_state_dict(saved["state_dict"])  # what users export loads into space.build
    assert saved["genotype"] == genotype.to_dict()
    capsys.readouterr()
    bad = genotype.replace(**{"normal.n2.op0": "ir_k3_e1"})
    (tmp_path / "b.json").write_text(bad.to_json())
    assert main(["supernet", "extract", str(run / "checkpoints" / "supernet.pt"),
                 "--genotype", str(tmp_path / "b.json"), "--out", str(tmp_path / "x.pt")]) == 2
    assert "ir_k3_e1" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()


def test_spos_evolution_breeds_and_resumes():
    space = get_space("darts", C=4, layers=3)
    objectives = [Objective("accuracy")]
    options = {"population": 3, "top_k": 2, "max_params": 60000.0}
    strategy = make_strategy("spos_evolution", space, objectives, 1, options)
    for i in range(5):
        genotype = strategy.ask()
        assert strategy.constraints.cost(genotype)[0] <= 60000
        strategy.tell(genotype, Metrics(objectives={"accuracy": float(i)}))
    clone = make_strategy("spos_evolution", space, objectives, 1, options)
    clone.load_state_dict(json.loads(json.dumps(strategy.state_dict())))
    assert clone.ask() == strategy.ask()
    wrapped = make_strategy("spos", space, objectives, 1, {"search": "random"})
    assert wrapped.ask() == make_strategy("random", space, objectives, 1).ask()
