"""Short training: budgets in epochs or steps, SGD/AdamW, AMP, divergence, and checkpoints
that continue exactly (2 epochs + 2 more == 4 straight, bit for bit on CPU)."""
from __future__ import annotations

import math

import pytest
import torch

from search_spaces.errors import UserError
from trainers.data import Splits, load_dataset
from trainers.train import Diverged, TrainConfig, train_and_evaluate

from .conftest import tiny_space

ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"


def _model():
    space = tiny_space(input_size=(1, 8, 8))
    torch.manual_seed(0)
    return space.build(space.parse(ARCH))


def _digits():
    """A 256-image slice of digits: 4 steps per epoch keeps these tests quick."""
    d = load_dataset("digits", 0)
    return Splits(d.x_train[:256], d.y_train[:256], d.x_val[:128], d.y_val[:128],
                  d.x_test, d.y_test, d.num_classes)


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_continuing_from_a_checkpoint_equals_training_straight(tmp_path, optimizer):
    data, lr = _digits(), 0.05 if optimizer == "sgd" else 0.01
    straight = _model()
    full = train_and_evaluate(straight, data, TrainConfig(epochs=4, optimizer=optimizer, lr=lr))
    path = tmp_path / "rung.pt"
    first = train_and_evaluate(_model(), data, TrainConfig(epochs=2, schedule=4, lr=lr,
                                                           optimizer=optimizer), path)
    assert first.epochs == 2 and path.is_file()
    resumed = _model()
    with torch.no_grad():  # prove the weights come from the checkpoint, not the init
        for p in resumed.parameters():
            p.add_(1.0)
    rest = train_and_evaluate(resumed, data, TrainConfig(epochs=4, schedule=4, lr=lr,
                                                         optimizer=optimizer), path)
    assert rest.resumed_from == first.steps and rest.steps == full.steps
    assert _same(straight, resumed)
    assert rest.val_accuracy == full.val_accuracy and rest.train_loss == full.train_loss
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 4 and set(saved) >= {"model", "optimizer", "scheduler", "step"}


def test_a_checkpoint_at_the_budget_is_only_evaluated(tmp_path):
    data, path = _digits(), tmp_path / "c.pt"
    trained = _model()
    done = train_and_evaluate(trained, data, TrainConfig(epochs=1), path)
    again = _model()
    result = train_and_evaluate(again, data, TrainConfig(epochs=1), path)
    assert result.steps == done.steps and result.resumed_from == done.steps
    assert math.isnan(result.train_loss) and _same(trained, again)


def test_resume_from_one_file_and_save_to_another(tmp_path):
    data = _digits()
    train_and_evaluate(_model(), data, TrainConfig(epochs=1, schedule=2), tmp_path / "a.pt")
    result = train_and_evaluate(_model(), data, TrainConfig(epochs=2, schedule=2),
                                tmp_path / "b.pt", resume_from=tmp_path / "a.pt")
    assert result.resumed_from > 0 and (tmp_path / "b.pt").is_file()
    assert torch.load(tmp_path / "a.pt", weights_only=True)["epoch"] == 1


def test_a_checkpoint_from_other_settings_is_refused(tmp_path):
    data, path = _digits(), tmp_path / "c.pt"
    train_and_evaluate(_model(), data, TrainConfig(epochs=1, schedule=3), path)
    with pytest.raises(UserError, match="schedule"):
        train_and_evaluate(_model(), data, TrainConfig(epochs=2, schedule=4), path)
    with pytest.raises(UserError, match="lr"):
        train_and_evaluate(_model(), data, TrainConfig(epochs=2, schedule=3, lr=0.1), path)


def test_a_step_budget_stops_mid_epoch_and_continues_exactly(tmp_path):
    data = _digits()
    straight = _model()
    train_and_evaluate(straight, data, TrainConfig(steps=10))
    resumed = _model()
    part = train_and_evaluate(resumed, data, TrainConfig(steps=3, schedule=10), tmp_path / "s.pt")
    assert part.steps == 3 and part.epochs < 1
    train_and_evaluate(resumed, data, TrainConfig(steps=10), tmp_path / "s.pt")
    assert _same(straight, resumed)


def test_label_smoothing_and_bf16_autocast_run_on_cpu():
    data = _digits()
    result = train_and_evaluate(_model(), data, TrainConfig(steps=4, amp="bf16",
                                                            label_smoothing=0.1))
    assert result.steps == 4 and math.isfinite(result.train_loss)


def test_divergence_raises_with_the_step():
    with pytest.raises(Diverged, match="loss became"):
        train_and_evaluate(_model(), _digits(), TrainConfig(epochs=2, lr=1e12, momentum=0.0,
                                                            weight_decay=0.0))


@pytest.mark.parametrize("bad, match", [
    ({"optimizer": "adam"}, "adamw"), ({"amp": "fp8"}, "bf16"), ({"device": "tpu"}, "cuda"),
    ({"epochs": 0}, "epochs >= 1"), ({"epochs": 4, "schedule": 2}, "shorter"),
    ({"batch_size": 0}, "batch_size")])
def test_bad_training_settings_name_the_fix(bad, match):
    with pytest.raises(UserError, match=match):
        TrainConfig(**bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_asking_for_cuda_without_one_is_a_user_error():
    with pytest.raises(UserError, match="no CUDA device"):
        train_and_evaluate(_model(), _digits(), TrainConfig(steps=1, device="cuda"))


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["off", "bf16", "fp16"])
def test_amp_training_on_cuda_continues_from_a_checkpoint(tmp_path, amp):
    data = _digits()
    config = dict(device="cuda", amp=amp, schedule=4)
    straight = _model()
    full = train_and_evaluate(straight, data, TrainConfig(epochs=4, **config))
    resumed = _model()
    train_and_evaluate(resumed, data, TrainConfig(epochs=2, **config), tmp_path / "g.pt")
    rest = train_and_evaluate(resumed, data, TrainConfig(epochs=4, **config), tmp_path / "g.pt")
    assert math.isfinite(rest.train_loss) and rest.steps == full.steps
    assert abs(rest.val_accuracy - full.val_accuracy) < 0.05  # GPU kernels: close, not equal


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04 truncated zip"])
def test_a_corrupted_checkpoint_is_refused_naming_the_file(tmp_path, content):
    path = tmp_path / "rung.pt"
    path.write_bytes(content)
    with pytest.raises(UserError, match=f"checkpoint '{path}' is unreadable"):
        train_and_evaluate(_model(), _digits(), TrainConfig(epochs=1), path)
    assert path.read_bytes() == content  # refused, not overwritten
