"""Standalone successive halving: rung sizes, promotion, cost, and resuming an interrupted
run from its per-rung checkpoints."""
from __future__ import annotations

import pytest
import torch

from search_spaces.errors import UserError
from trainers.data import Splits, load_dataset
from trainers.halving import make_train_fn, rung_budgets, successive_halving
from trainers.train import TrainConfig, train_and_evaluate

from .conftest import tiny_space


class FakeTraining:
    """score = candidate * budget; records calls and writes the checkpoints it is given."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls, self.fail_after = [], fail_after

    def __call__(self, candidate, budget, checkpoint, resume_from):
        if self.fail_after is not None and len(self.calls) == self.fail_after:
            raise KeyboardInterrupt("killed")
        self.calls.append((candidate, budget, None if resume_from is None else resume_from.name))
        if resume_from is not None:
            assert resume_from.is_file()
        checkpoint.write_text(str(budget))
        return float(candidate * budget)


def test_rung_budgets():
    assert rung_budgets(3, 1, 9) == [1, 3, 9]
    assert rung_budgets(2, 1, 5) == [1, 2, 4, 5]
    assert rung_budgets(3, 9, 9) == [9]
    with pytest.raises(UserError, match="eta >= 2"):
        rung_budgets(1, 1, 9)


def test_halving_promotes_the_top_third_and_continues_from_checkpoints(tmp_path):
    train = FakeTraining()
    result = successive_halving(list(range(9)), train, eta=3, min_budget=1, max_budget=9,
                                checkpoint_dir=tmp_path)
    assert [r["budget"] for r in result.rungs] == [1, 3, 9]
    assert result.rungs[0]["promoted"] == [8, 7, 6] and result.rungs[1]["promoted"] == [8]
    assert result.best == 8
    assert (8, 9, "cand8@3.pt") in train.calls and (6, 3, "cand6@1.pt") in train.calls
    assert result.budget_used == 6 * 1 + 2 * 3 + 9 and result.full_budget == 81
    assert result.cost_fraction == pytest.approx(21 / 81)


def test_an_interrupted_halving_resumes_without_redoing_finished_training(tmp_path):
    reference = successive_halving(list(range(9)), FakeTraining(), 3, 1, 9)
    with pytest.raises(KeyboardInterrupt):
        successive_halving(list(range(9)), FakeTraining(fail_after=10), 3, 1, 9, tmp_path)
    rest = FakeTraining()
    resumed = successive_halving(list(range(9)), rest, 3, 1, 9, tmp_path)
    assert len(rest.calls) == 13 - 10  # 9 + 3 + 1 trainings in all
    assert rest.calls[0] == (7, 3, "cand7@1.pt")
    assert resumed == reference


def test_a_checkpoint_folder_of_another_run_is_refused(tmp_path):
    successive_halving([1, 2], FakeTraining(), 2, 1, 2, tmp_path)
    with pytest.raises(UserError, match="different successive-halving run"):
        successive_halving([1, 3], FakeTraining(), 2, 1, 2, tmp_path)


def test_make_train_fn_continues_training_exactly(tmp_path):
    space = tiny_space(input_size=(1, 8, 8))
    d = load_dataset("digits", 0)
    data = Splits(d.x_train[:192], d.y_train[:192], d.x_val[:96], d.y_val[:96],
                  d.x_test, d.y_test, 10)
    archs = [space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                         "nor_conv_3x3~1|nor_conv_3x3~2|"),
             space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|")]
    config = TrainConfig(batch_size=64, seed=0)
    result = successive_halving(archs, make_train_fn(space, data, config, 2), 2, 1, 2,
                                tmp_path)
    winner = archs[result.best]
    torch.manual_seed(0)
    straight = train_and_evaluate(space.build(winner), data,
                                  TrainConfig(epochs=2, batch_size=64, seed=0))
    assert result.rungs[-1]["scores"][result.best] == 100.0 * straight.val_accuracy
