"""Searches with the user's own space and evaluator living only in a temporary folder:
from a YAML config (`nas search`), and from Python (`nas.search` with the objects); user
errors fail trials (traceback in the record and in `nas status`), never the search."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import nas
from search_spaces.errors import UserError
from tests.user_code_helpers import write_user_module

ROOT = Path(__file__).resolve().parents[2]

LADDER_CONFIG = {
    "name": "own", "trials": 8, "workers": 2, "strategy": "random",
    "space": {"name": "my_problem:TinyConvNet"},
    "evaluator": {"name": "ladder", "options": {"reference": 6, "grace": 2, "rungs": [
        {"kind": "proxy", "name": "synflow", "keep": 0.5, "batch_size": 8},
        {"kind": "evaluator", "name": "my_problem:evaluate", "budget": 9, "eta": 3}]}},
    "objectives": [{"name": "accuracy", "direction": "maximize"},
                   {"name": "params", "direction": "minimize"}],
}


def _nas(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "nas", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={"PYTHONPATH": str(ROOT),
                                                       "PATH": "/usr/bin:/bin"})


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]


def test_a_yaml_search_of_your_space_with_a_proxy_then_your_halving_evaluator(tmp_path):
    code = tmp_path / "project"
    write_user_module(code)
    (code / "search.yaml").write_text(yaml.safe_dump(LADDER_CONFIG))
    run_dir = tmp_path / "run"
    done = _nas("search", "--config", str(code / "search.yaml"), "--out", str(run_dir),
                "--quiet", "--json")  # run from the repository: the module is elsewhere
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    records = _records(run_dir)
    statuses = [r["metrics"]["status"] for r in records]
    assert summary["trials"] == 8 and "failed" not in statuses, records
    complete = [r for r in records if r["metrics"]["status"] == "complete"]
    assert complete and all(r["metrics"]["fidelity"] == 9.0 for r in complete)
    assert all("2.my_problem:evaluate@3ep" in r["metrics"]["rungs"] for r in complete)
    assert all("1.synflow" in r["metrics"]["rungs"] for r in records)
    front = summary["pareto"]["front"]
    assert front and all('"space":"tinyconv"' in row["arch"] for row in front)
    exported = _nas("export", str(run_dir), "--trial", str(front[0]["trial_id"]), "--format",
                    "pytorch", "--json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["exports"][0]["weights"]["status"] == "trained"


def test_python_search_with_the_objects_and_user_errors_that_fail_trials(tmp_path,
                                                                         monkeypatch):
    code = tmp_path / "project"
    write_user_module(code)
    monkeypatch.syspath_prepend(str(code))
    problem = importlib.import_module("my_problem")
    config = {"name": "own_py", "trials": 3, "workers": 1, "strategy": "random",
              "out": str(tmp_path / "results"),
              "objectives": [{"name": "accuracy", "direction": "maximize"}]}
    run = nas.search(config, space=problem.TinyConvNet, evaluator=problem.evaluate)
    assert run.summary["trials"] == 3 and len(run.trials) == 3
    assert set(run.trials["metrics.status"]) == {"complete"}
    assert run.best()["metrics"]["objectives"]["accuracy"] == max(
        r["metrics"]["objectives"]["accuracy"] for r in run.records())
    assert run.pareto and all("genotype" in r for r in run.pareto)
    saved = yaml.safe_load((run.dir / "config.yaml").read_text())
    assert saved["evaluator"]["name"] == "my_problem:evaluate"
    assert saved["code"] == [str(code / "my_problem.py")]  # what a cluster is sent

    broken = nas.search({**config, "name": "broken"}, space=problem.TinyConvNet,
                        evaluator={"name": problem.broken, "options": {}}, trials=2)
    failed = broken.records()
    assert [r["metrics"]["status"] for r in failed] == ["failed", "failed"]
    assert "ValueError: boom from user code" in failed[0]["metrics"]["reason"]
    assert 'my_problem.py", line' in failed[0]["traceback"]
    status = _nas("status", str(broken.dir), "--json")
    assert status.returncode == 0, status.stderr
    failures = json.loads(status.stdout)["failures"]
    assert failures[0]["trial_id"] == failed[0]["trial_id"]
    assert "boom from user code" in failures[0]["traceback"]

    # undeclared metrics: the first result stops the search, saying what it returned
    with pytest.raises(UserError, match=r"unknown objective 'accuracy'\. Allowed: latency_ms, "
                                        r"loss, macs, params \(evaluator 'my_problem:"
                                        r"no_accuracy' declares no metric_names"):
        nas.search({**config, "name": "missing"}, space=problem.TinyConvNet,
                   evaluator=problem.no_accuracy, trials=3)


def test_a_missing_user_module_is_a_one_line_error_before_anything_is_written(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**LADDER_CONFIG,
                                                     "space": "no_such_module:Space"}))
    done = _nas("search", "--config", str(tmp_path / "c.yaml"), "--out",
                str(tmp_path / "run"))
    assert done.returncode == 2
    assert "no module 'no_such_module' on sys.path (tried" in done.stderr
    assert str(tmp_path) in done.stderr and not (tmp_path / "run").exists()
