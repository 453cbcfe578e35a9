"""The shipped convnet configs load, and `nas export --fuse` turns a searched convnet
architecture into its deploy form with output parity (Ding et al. 2022 re-param)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nas.cli import main
from nas.run.config import load_config
from search_spaces import get_space

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["convnet_digits.yaml", "convnet_spos_digits.yaml"])
def test_shipped_convnet_configs_load(name):
    config = load_config(ROOT / "configs" / name)
    assert config.space.name == "convnet"
    space = get_space("convnet", **config.space.options)
    assert space.stride_layout() == "digits"


def _searched_run(tmp_path: Path) -> tuple[Path, dict]:
    """A run folder of the shipped digits config holding one complete convnet trial whose
    genotype uses re-parameterisable mixers."""
    config = yaml.safe_load((ROOT / "configs" / "convnet_digits.yaml").read_text())
    space = get_space("convnet", **config["space"]["options"])
    genotype = space.sample(np.random.default_rng(0)).replace(
        **{"s2.depth": 2, "s2.b0.mixer": "replk_k7", "s2.b1.mixer": "unireplk_k5",
           "s3.b0.mixer": "lsconv"})
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    record = {"trial_id": 0, "key": genotype.key, "genotype": genotype.to_dict(),
              "arch": space.format(genotype), "status": "complete",
              "metrics": {"objectives": {"accuracy": 90.0}, "cost": {"macs": 1e6},
                          "status": "complete", "fidelity": 1.0}}
    (run / "trials.jsonl").write_text(json.dumps(record) + "\n")
    return run, record


def test_export_fuse_on_a_searched_convnet_arch(tmp_path, capsys):
    run, _ = _searched_run(tmp_path)
    code = main(["export", str(run), "--trial", "0", "--format", "pytorch", "--fuse",
                 "--out", str(tmp_path / "out"), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    manifest = result["exports"][0]
    assert manifest["fused"] and manifest["parity"]["passed"]
    assert manifest["fusion"]["reparam_merged"] >= 2
    assert manifest["deploy_cost"]["params"] < manifest["source_cost"]["params"]
