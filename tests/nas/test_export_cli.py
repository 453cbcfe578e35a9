"""`nas export` on the command line: output, and exit 2 with a clear message on bad input."""
from __future__ import annotations

import json
import sys

import pytest
import yaml

from nas.cli import main
from nas.dashboard.synthetic import (
    MAX_PARAMS,
    make_synthetic_run,
    synthetic_config,
    synthetic_records,
)
from nas.pareto.fronts import front_summary
from nas.store.trial_log import RunStore


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_synthetic_run(tmp_path_factory.mktemp("cli") / "run", n=12, seed=5)


def _empty_run(path, records=()):
    path.mkdir()
    (path / "config.yaml").write_text(yaml.safe_dump(synthetic_config("empty")))
    (path / "trials.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one line naming the problem
    return err[0]


def test_export_json_prints_one_object(run, tmp_path, capsys):
    tid = json.loads((run / "pareto.json").read_text())["front_trial_ids"][0]
    assert main(["export", str(run), "--trial", str(tid), "--format", "json",
                 "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["exports"][0]["trial_id"] == tid
    assert (tmp_path / f"trial_{tid}" / "json" / "arch.json").is_file()


def test_default_out_is_the_run_exports_folder(run, capsys):
    tid = json.loads((run / "pareto.json").read_text())["front_trial_ids"][0]
    assert main(["export", str(run), "--trial", str(tid), "--format", "json"]) == 0
    assert "weights" in capsys.readouterr().out
    assert (run / "exports" / f"trial_{tid}" / "json" / "manifest.json").is_file()


def test_unknown_trial_id_exits_2(run, capsys):
    assert main(["export", str(run), "--trial", "999", "--format", "json"]) == 2
    assert "trial 999 is not in run" in _error(capsys)


def test_run_with_no_finished_trials_exits_2(tmp_path, capsys):
    empty = _empty_run(tmp_path / "empty")
    assert main(["export", str(empty), "--pareto", "--format", "json"]) == 2
    assert "no finished trials" in _error(capsys)


def test_run_whose_trials_all_failed_exits_2(tmp_path, capsys):
    records = list(synthetic_records(3))
    for r in records:
        r["metrics"].update(status="failed", reason="Diverged", objectives={})
    failed = _empty_run(tmp_path / "failed", records)
    assert main(["export", str(failed), "--trial", "0", "--format", "json"]) == 2
    assert "none completed" in _error(capsys)


def test_missing_onnx_package_exits_2_naming_the_extra(run, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    assert main(["export", str(run), "--trial", "0", "--format", "onnx"]) == 2
    assert 'pip install "frontier-nas[onnx]"' in _error(capsys)


def test_unknown_format_and_folder_exit_2(run, tmp_path, capsys):
    assert main(["export", str(run), "--trial", "0", "--format", "tflite"]) == 2
    assert "unknown export format 'tflite'" in _error(capsys)
    assert main(["export", str(tmp_path / "nope"), "--trial", "0", "--format", "json"]) == 2
    assert "does not exist" in _error(capsys)


def test_mismatched_checkpoint_exits_2(run, capsys):
    import torch

    tid = json.loads((run / "pareto.json").read_text())["front_trial_ids"][0]
    path = run / "checkpoints" / f"{tid}.pt"
    torch.save({"state_dict": {"nope.weight": torch.zeros(1)}}, path)
    try:
        assert main(["export", str(run), "--trial", str(tid), "--format", "json"]) == 2
        assert "does not match" in _error(capsys)
    finally:
        path.unlink()


def test_trial_and_pareto_are_exclusive(run):
    with pytest.raises(SystemExit) as exc:
        main(["export", str(run), "--trial", "0", "--pareto", "--format", "json"])
    assert exc.value.code == 2


def test_pareto_export_keeps_to_the_config_constraints(tmp_path, capsys):
    # a log whose complete trials break the config's bound (an older or imported log):
    # --pareto exports the feasible front only, as pareto.json and the dashboard show it
    run = make_synthetic_run(tmp_path / "run", n=40, seed=6, constraints=False)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["constraints"] = synthetic_config()["constraints"]
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    done = [r for r in RunStore(run).trials() if r["metrics"]["status"] == "complete"]
    values = lambda rs: [[r["metrics"]["objectives"]["accuracy"], r["metrics"]["cost"]["params"]]
                         for r in rs]
    feasible = [r for r in done if r["metrics"]["cost"]["params"] <= MAX_PARAMS]
    expected = sorted(feasible[i]["trial_id"] for i in front_summary(
        values(feasible), ["maximize", "minimize"])["front_indices"])
    unconstrained = {done[i]["trial_id"] for i in front_summary(
        values(done), ["maximize", "minimize"])["front_indices"]}
    assert unconstrained - set(expected)  # the bound does cut the front here
    assert main(["export", str(run), "--pareto", "--format", "json", "--out",
                 str(tmp_path / "out"), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)["exports"]
    assert sorted(m["trial_id"] for m in exported) == expected
    index = json.loads((tmp_path / "out" / "pareto-json.json").read_text())
    assert all(e["params"] <= MAX_PARAMS for e in index["front"])
