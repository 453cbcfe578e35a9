"""Final training: per-epoch checkpoints that survive kill -9 and continue bit for bit,
warmup + cosine schedule, drop-path ramp and auxiliary loss on DARTS networks."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from search_spaces import get_space
from search_spaces.errors import UserError
from trainers.data import Splits, load_dataset
from trainers.final_train import (AUX_PREFIX, CHECKPOINT_NAME, check_support,
                                  deploy_state_dict, final_train)
from trainers.train import TrainConfig, TrainingRun

from .conftest import tiny_space

ROOT = Path(__file__).resolve().parents[2]
ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
CONFIG = dict(epochs=4, warmup=1, label_smoothing=0.1)

# child process: the same job as _job(); sleeps inside epoch 3 (after epoch 2's checkpoint)
_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import torch
    torch.set_num_threads({threads})  # as the parent: float sums depend on the count
    sys.path.insert(0, {root!r})
    from tests.trainers.test_final_train import _job
    from trainers.final_train import final_train
    from trainers.train import TrainConfig
    model, data = _job()
    marker = Path({marker!r})

    def on_step(step, total, loss):
        if step == 2 * total // 4 + 1:
            marker.write_text("in epoch 3")
            time.sleep(120)

    final_train(model, data, TrainConfig(**{config!r}), {out!r}, {{"job": 1}}, on_step)
""")


def _job():
    d = load_dataset("digits", 0)
    data = Splits(d.x_train[:256], d.y_train[:256], d.x_val[:128], d.y_val[:128],
                  d.x_test[:128], d.y_test[:128], d.num_classes)
    space = tiny_space(input_size=(1, 8, 8))
    torch.manual_seed(0)
    return space.build(space.parse(ARCH)), data


def _state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_killed_mid_epoch_continues_to_the_same_weights(tmp_path):
    model, data = _job()
    straight = final_train(model, data, TrainConfig(**CONFIG), tmp_path / "straight",
                           {"job": 1})
    out, marker = tmp_path / "killed", tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(
        root=str(ROOT), marker=str(marker), config=CONFIG, out=str(out),
        threads=torch.get_num_threads())],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the child never reached epoch 3"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    saved = torch.load(out / CHECKPOINT_NAME, weights_only=True)
    assert saved["epoch"] == 2 and set(saved) >= {"model", "optimizer", "scheduler",
                                                  "scaler", "rng", "history"}
    resumed_model, _ = _job()
    with torch.no_grad():  # the weights must come from the checkpoint
        for p in resumed_model.parameters():
            p.add_(1.0)
    resumed = final_train(resumed_model, data, TrainConfig(**CONFIG), out, {"job": 1})
    assert resumed.resumed_from_epoch == 2 and resumed.epochs == straight.epochs == 4
    assert _state_equal(resumed_model.state_dict(), model.state_dict())
    def curve(result):
        return [(h["epoch"], h["train_loss"], h["val_accuracy"]) for h in result.history]

    assert curve(resumed) == curve(straight)
    assert resumed.test_accuracy == straight.test_accuracy


def test_a_checkpoint_of_another_job_is_refused(tmp_path):
    model, data = _job()
    final_train(model, data, TrainConfig(epochs=1), tmp_path, {"genotype": "a"})
    with pytest.raises(UserError, match="another training job"):
        final_train(_job()[0], data, TrainConfig(epochs=2), tmp_path, {"genotype": "b"})


def test_a_finished_run_only_evaluates(tmp_path):
    model, data = _job()
    done = final_train(model, data, TrainConfig(epochs=1), tmp_path)
    again = final_train(_job()[0], data, TrainConfig(epochs=1), tmp_path)
    assert again.resumed_from_epoch == 1 and again.history == done.history
    assert again.test_accuracy == done.test_accuracy


def test_warmup_rises_linearly_then_follows_the_cosine():
    model, data = _job()
    config = TrainConfig(epochs=4, warmup=1, lr=0.1)
    run = TrainingRun.for_data(model, config, torch.device("cpu"), data)
    spe, lrs = run.steps_per_epoch, []
    for _ in range(run.total_steps):
        lrs.append(run.opt.param_groups[0]["lr"])
        run.opt.step()
        run.sched.step()
    assert lrs[:spe] == pytest.approx([0.1 * (s + 1) / spe for s in range(spe)])
    cosine = [0.05 * (1 + math.cos(math.pi * s / (3 * spe))) for s in range(3 * spe)]
    assert lrs[spe:] == pytest.approx(cosine)


@pytest.mark.parametrize("bad", [dict(epochs=2, warmup=2), dict(drop_path=1.0),
                                 dict(aux_weight=-1.0)])
def test_bad_final_settings_are_user_errors(bad):
    with pytest.raises(UserError):
        TrainConfig(**bad)


def _tiny_darts(**options):
    space = get_space("darts", C=4, layers=3, input_size=(1, 8, 8), **options)
    torch.manual_seed(0)
    return space, space.build(space.resolve("darts_v2")[1])


def test_darts_drop_path_ramps_and_the_auxiliary_loss_trains_the_head(tmp_path):
    _, data = _job()
    space, model = _tiny_darts(auxiliary=True)
    head_before = {k: v.clone() for k, v in model.state_dict().items()
                   if k.startswith(AUX_PREFIX)}
    config = TrainConfig(epochs=2, drop_path=0.2, aux_weight=0.4, batch_size=128)
    check_support(model, config, "darts")
    final_train(model, data, config, tmp_path)
    assert model.drop_path_prob == pytest.approx(0.2 * 1 / 2)  # last epoch's value
    head_after = {k: v for k, v in model.state_dict().items() if k.startswith(AUX_PREFIX)}
    assert head_before and not _state_equal(head_before, head_after)
    deployed = deploy_state_dict(model)
    assert not any(k.startswith(AUX_PREFIX) for k in deployed)
    _, plain = _tiny_darts(auxiliary=False)
    plain.load_state_dict(deployed)  # strict: the eval network without the head
    x = data.x_val[:8]
    assert torch.equal(plain.eval()(x), model.eval()(x))


def test_drop_path_or_aux_on_a_network_without_them_is_a_user_error():
    model, _ = _job()
    with pytest.raises(UserError, match="drop-path"):
        check_support(model, TrainConfig(drop_path=0.1), "nb201")
    with pytest.raises(UserError, match="auxiliary head"):
        check_support(model, TrainConfig(aux_weight=0.4), "nb201")


class _Stop(Exception):
    pass


def test_a_resume_trains_with_the_checkpoints_thread_count(tmp_path):
    model, data = _job()
    final_train(model, data, TrainConfig(**CONFIG), tmp_path / "straight")

    def stop_in_epoch_3(step, total, loss):
        if step == total // 2 + 1:
            raise _Stop

    with pytest.raises(_Stop):
        final_train(_job()[0], data, TrainConfig(**CONFIG), tmp_path / "r", None,
                    stop_in_epoch_3)
    resumed, threads = _job()[0], torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        final_train(resumed, data, TrainConfig(**CONFIG), tmp_path / "r")
        assert torch.get_num_threads() == threads + 1  # the caller's count is restored
    finally:
        torch.set_num_threads(threads)
    assert _state_equal(resumed.state_dict(), model.state_dict())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("amp", ["auto", "fp16"])
def test_cuda_autocast_trains_and_resumes(tmp_path, amp):
    from trainers.final_train import resolve_amp

    mode = resolve_amp(amp, torch.device("cuda"))
    assert mode in ("bf16", "fp16") and resolve_amp(amp, torch.device("cpu")) == "off"
    model, data = _job()
    config = TrainConfig(epochs=2, device="cuda", amp=mode)
    result = final_train(model, data, config, tmp_path)
    saved = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert result.epochs == 2 and "cuda" in saved["rng"] and math.isfinite(
        result.history[-1]["train_loss"])
    again = final_train(_job()[0], data, config, tmp_path)
    assert again.resumed_from_epoch == 2 and again.test_accuracy == result.test_accuracy
