import pytest

from search_spaces.errors import UserError
from trainers.data import load_dataset
from trainers.evaluators import make_evaluator


def test_tabular_best_arch(nb201):
    metrics = make_evaluator("tabular")(nb201, nb201.parse("index:6111"))
    assert metrics.objectives["accuracy"] == pytest.approx(94.37333, abs=1e-5)
    assert metrics.cost["params"] == 1_073_466
    assert metrics.ok and metrics.fidelity == 200


def test_tabular_datasets_and_errors(nb201, tiny_nb201):
    c100 = make_evaluator("tabular", {"dataset": "cifar100", "cost": False})
    assert 0 < c100(nb201, nb201.parse("index:6111")).objectives["accuracy"] < 100
    with pytest.raises(UserError, match="cifar10"):
        make_evaluator("tabular", {"dataset": "cifar11"})
    with pytest.raises(UserError, match="dataset"):
        make_evaluator("tabular", {"datset": "cifar10"})


def test_short_training_is_deterministic(tiny_nb201):
    evaluator = make_evaluator("train", {"epochs": 1})
    genotype = tiny_nb201.parse("index:6111")
    first, second = evaluator(tiny_nb201, genotype), evaluator(tiny_nb201, genotype)
    assert first.ok and first.objectives == second.objectives
    assert 10 < first.objectives["accuracy"] <= 100
    assert first.cost["params"] > 0 and first.timings["train_s"] > 0


def test_short_training_checks_input_size(nb201):
    evaluator = make_evaluator("train", {"epochs": 1})
    with pytest.raises(UserError, match="input_size"):
        evaluator.check(nb201)
    with pytest.raises(UserError, match="must be int"):
        make_evaluator("train", {"epochs": "2"})


def test_digits_splits_are_disjoint_and_offline():
    data = load_dataset("digits", seed=0)
    n = len(data.x_train) + len(data.x_val) + len(data.x_test)
    assert n == 1797 and data.input_size == (1, 8, 8) and data.num_classes == 10
    assert load_dataset("digits", seed=0, size=16).input_size == (1, 16, 16)
    with pytest.raises(UserError, match="digits"):
        load_dataset("digitz")
