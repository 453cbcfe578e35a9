"""A real search on your own data: a YAML-declared macro space trained on an .npz file
through the `train` evaluator (embedded Ray), exported fused; bad data exits 2."""
import json

import numpy as np
import pytest

from nas.cli import main

CONFIG = """
name: npz_macro
seed: 0
trials: 4
workers: 1
space:
  name: macro
  options:
    input_size: [1, 8, 8]
    num_classes: 4
    stem: {channels: 8}
    stages:
      - {ops: [ir_k3_e3, unireplk_k7, convnext_k3], depth: [1, 2], width: [8, 16]}
      - {ops: [lsconv, replk_k7], width: 16, stride: 2}
    head: {channels: 32}
strategy: {name: random}
evaluator:
  name: train
  options: {dataset: npz, data_dir: DATA, data: {val_fraction: 0.25}, epochs: 4,
            batch_size: 32, lr: 0.1}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: params, direction: minimize}
"""


def _write_data(path):
    """Four classes of 8x8 grey NHWC float images, told apart by their mean level."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 40)
    images = rng.normal(scale=0.3, size=(160, 8, 8, 1)).astype(np.float32) \
        + labels[:, None, None, None]
    np.savez(path, images=images, labels=labels)


@pytest.fixture(scope="module")
def npz_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("npz")
    _write_data(root / "four.npz")
    (root / "c.yaml").write_text(CONFIG.replace("DATA", str(root / "four.npz")))
    assert main(["search", "--config", str(root / "c.yaml"), "--out", str(root / "run"),
                 "--quiet"]) == 0
    return root


def test_search_trains_on_the_npz_data(npz_run):
    records = [json.loads(line) for line in (npz_run / "run" / "trials.jsonl").read_text()
               .splitlines()]
    assert len(records) == 4
    assert all(r["metrics"]["status"] == "complete" for r in records)
    best = max(r["metrics"]["objectives"]["accuracy"] for r in records)
    assert best > 50  # chance is 25 %: the networks learned from the file


def test_export_fused_front_passes_parity(npz_run, capsys):
    capsys.readouterr()
    assert main(["export", str(npz_run / "run"), "--pareto", "--format", "torchscript",
                 "--fuse", "--json"]) == 0
    exports = json.loads(capsys.readouterr().out)["exports"]
    assert exports and all(e["parity"]["passed"] and e["fused"] for e in exports)
    assert all(e["deploy_cost"]["params"] <= e["source_cost"]["params"] for e in exports)


def test_bad_data_exits_2_naming_the_file(npz_run, capsys):
    bad = npz_run / "bad.npz"
    np.savez(bad, images=np.zeros((10, 8, 8, 1), np.float32), labels=np.zeros(9, int))
    (npz_run / "bad.yaml").write_text(CONFIG.replace("DATA", str(bad)))
    code = main(["search", "--config", str(npz_run / "bad.yaml"), "--out",
                 str(npz_run / "bad_run")])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}: 10 images but 9 labels" in err
