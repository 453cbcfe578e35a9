"""`nas train`: a run's trial or a genotype file, resumed from its folder, taken by
`nas export`; bad input exits 2."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from nas.cli import main
from nas.cli.train import TrainProgress
from nas.dashboard.synthetic import make_synthetic_run
from nas.export import select_trials
from nas.export.final_checkpoint import FINAL_NAME, final_path, read_final
from search_spaces import get_space

TINY = ["--option", "channels=4", "--epochs", "1", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_synthetic_run(tmp_path_factory.mktemp("train") / "run", n=20, seed=1)


@pytest.fixture(scope="module")
def trial(run):
    return select_trials(run, None, True)[1][0]["trial_id"]


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def test_train_writes_a_final_checkpoint_that_export_takes(run, trial, capsys):
    assert main(["train", str(run), "--trial", str(trial), *TINY, "--json"]) == 0
    result = _json(capsys)
    assert result["dir"] == str(run / "final" / str(trial)) and result["epochs"] == 1
    assert 0 <= result["test_accuracy"] <= 100 and result["data"]["dataset"] == "digits"
    final = read_final(final_path(run, trial))
    assert final["options"]["channels"] == 4 and final["trial_id"] == trial
    assert main(["export", str(run), "--trial", str(trial), "--format", "torchscript",
                 "--json"]) == 0
    manifest = _json(capsys)["exports"][0]
    assert manifest["weights"]["status"] == "final-trained"
    assert manifest["parity"]["passed"]
    assert main(["train", str(run), "--trial", str(trial), *TINY, "--json"]) == 0
    again = _json(capsys)  # the finished checkpoint is only evaluated
    assert again["resumed_from_epoch"] == 1 and again["test_accuracy"] == \
        result["test_accuracy"]


def test_a_genotype_file_trains_and_exports_by_checkpoint(tmp_path, capsys):
    space = get_space("nb201", channels=4, cells=1, input_size=(1, 8, 8))
    genotype = tmp_path / "arch.json"
    genotype.write_text(space.sample(np.random.default_rng(0)).to_json())
    out = tmp_path / "final"
    assert main(["train", "--genotype", str(genotype), "--space", "nb201", "--input-size",
                 "1,8,8", "--option", "cells=1", *TINY, "--out", str(out)]) == 0
    assert "export it: nas export --checkpoint" in capsys.readouterr().out
    assert main(["export", "--checkpoint", str(out / FINAL_NAME), "--format", "json",
                 "--json"]) == 0
    result = _json(capsys)
    assert result["out"] == str(out / "exports")
    assert result["exports"][0]["dir"].endswith("genotype/json")


def test_progress_is_one_plain_line_per_epoch_when_stderr_is_not_a_terminal(run, trial,
                                                                            tmp_path, capsys):
    assert main(["train", str(run), "--trial", str(trial), "--option", "channels=4",
                 "--epochs", "2", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(" loss ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all(" val " in line and "ETA" in line for line in lines)


@pytest.mark.parametrize("argv, message", [
    (["--genotype", "g.json"], "needs --space"),
    (["--trial", "0"], "needs a RUN_DIR"),
    (["RUN", "--trial", "0", "--drop-path", "0.1"], "without drop-path"),
    (["RUN", "--trial", "0", "--aux-weight", "0.4"], "without an auxiliary head"),
    (["RUN", "--trial", "99999"], "is not in run"),
    (["RUN", "--trial", "0", "--warmup", "1"], "warmup"),
])
def test_bad_input_exits_2_with_one_line(run, trial, argv, message, capsys):
    argv = [str(run) if a == "RUN" else str(trial) if a == "0" else a for a in argv]
    assert main(["train", *argv, *TINY]) == 2
    assert message in _error(capsys)


def test_a_final_checkpoint_of_the_wrong_kind_is_refused(tmp_path, capsys):
    torch.save({"model": {}}, tmp_path / "x.pt")
    assert main(["export", "--checkpoint", str(tmp_path / "x.pt"), "--format", "json"]) == 2
    assert "not a final checkpoint" in _error(capsys)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_is_one_updating_bar():
    stream = _Terminal()
    progress = TrainProgress(stream)
    for step in range(1, 9):
        progress.step(step, 8, 0.5)
        if step % 4 == 0:
            progress.epoch({"epoch": step // 4, "epochs": 2, "train_loss": 0.5,
                            "val_accuracy": 0.9, "lr": 0.1, "seconds": 0.1})
    progress.close()
    text = stream.getvalue()
    assert "\r" in text and text.count("\n") == 1  # redrawn in place, one line left
    assert "epoch 2/2" in text and "val 90.00%" in text and "8/8" in text


def test_your_own_npz_data_trains_through_the_flags(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", images=rng.integers(0, 256, (120, 1, 8, 8), np.uint8),
             labels=np.repeat(np.arange(10), 12))
    space = get_space("nb201", channels=4, cells=1, input_size=(1, 8, 8))
    genotype = tmp_path / "arch.json"
    genotype.write_text(space.sample(np.random.default_rng(1)).to_json())
    assert main(["train", "--genotype", str(genotype), "--space", "nb201", "--input-size",
                 "1,8,8", "--option", "cells=1", *TINY, "--dataset", "npz", "--data-dir",
                 str(tmp_path / "train.npz"), "--out", str(tmp_path / "out"), "--json"]) == 0
    result = _json(capsys)
    assert result["data"]["dataset"] == "npz" and result["epochs"] == 1


def test_train_on_a_run_folder_another_process_writes_exits_2_naming_it(run, trial, capsys):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hold = ("import sys, time\nfrom nas.store.lock import run_lock\n"
            "with run_lock(sys.argv[1], 'search'):\n    print('held', flush=True)\n"
            "    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", hold, str(run)], cwd=root, text=True,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert proc.stdout.readline().strip() == "held"
        assert main(["train", str(run), "--trial", str(trial), *TINY]) == 2
        message = _error(capsys)
        assert str(proc.pid) in message
    finally:
        proc.kill()
        proc.wait()
