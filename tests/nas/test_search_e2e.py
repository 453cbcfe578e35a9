"""A tiny search through the embedded Ray: store contents, status, resume."""
import json

import optuna
import pandas as pd
import pytest

from nas.cli import main

CONFIG = """
name: e2e
seed: 1
trials: 6
workers: 2
space: nb201
strategy: {name: tpe, options: {n_startup_trials: 3}}
evaluator: {name: tabular, options: {dataset: cifar10}}
objectives:
  - {name: accuracy, direction: maximize}
  - {name: params, direction: minimize}
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    (root / "c.yaml").write_text(CONFIG)
    run_dir = root / "run"
    code = main(["search", "--config", str(root / "c.yaml"), "--out", str(run_dir),
                 "--quiet", "--json"])
    assert code == 0
    return root, run_dir


def test_store_files(finished_run):
    _, run_dir = finished_run
    for name in ("config.yaml", "trials.jsonl", "state.json", "trials.parquet", "pareto.json",
                 "events.log", "study.db"):
        assert (run_dir / name).is_file(), name
    records = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert sorted(r["trial_id"] for r in records) == list(range(6))
    assert all(r["metrics"]["status"] == "complete" and r["worker"].get("pid") or
               r.get("cached") for r in records)
    frame = pd.read_parquet(run_dir / "trials.parquet")
    assert len(frame) == 6 and "metrics.objectives.accuracy" in frame
    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{run_dir / 'study.db'}")
    assert len(study.trials) == 6 and len(study.directions) == 2
    pareto = json.loads((run_dir / "pareto.json").read_text())
    assert pareto["front_trial_ids"] and pareto["hypervolume"] > 0


def test_status_json(finished_run, capsys):
    _, run_dir = finished_run
    capsys.readouterr()
    assert main(["status", str(run_dir), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["done"] == 6 and status["failed"] == 0 and status["running"] == 0
    assert status["front_size"] >= 1 and status["hypervolume"] > 0


def test_resume_extends_without_repeats(finished_run, capsys):
    root, run_dir = finished_run
    assert main(["search", "--resume", str(run_dir), "--trials", "8", "--quiet"]) == 0
    ids = [json.loads(line)["trial_id"] for line in
           (run_dir / "trials.jsonl").read_text().splitlines()]
    assert sorted(ids) == list(range(8))
    capsys.readouterr()
    different = root / "d.yaml"
    different.write_text(CONFIG.replace("seed: 1", "seed: 2"))
    code = main(["search", "--config", str(different), "--resume", str(run_dir)])
    assert code == 2 and "seed: 1 -> 2" in capsys.readouterr().err


def test_fresh_search_refuses_existing_run(finished_run, capsys):
    root, run_dir = finished_run
    code = main(["search", "--config", str(root / "c.yaml"), "--out", str(run_dir)])
    assert code == 2 and "--resume" in capsys.readouterr().err
