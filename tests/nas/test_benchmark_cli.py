"""`nas benchmark nb201`: strategies in-process on the full table."""
import json

import pytest

from nas.benchmarks.nb201 import arch_cost, run_strategy, true_front
from nas.cli import main


def test_true_front_facts(nb201):
    front = true_front("cifar10")
    assert front["best"] == pytest.approx(94.37333, abs=1e-5)  # row 6111 (data README)
    assert front["reference"] == [85.0, 55.0]  # 9 x 6 conv3x3 edges + 1
    assert arch_cost(nb201.parse("index:6111")) == 9 * 4 + 1  # 4 conv3x3, 1 conv1x1
    queries = run_strategy("random", "cifar10", 20, seed=0, multi_objective=True)
    assert queries.shape == (20, 2) and queries[:, 1].max() <= 54


def test_benchmark_json(capsys):
    code = main(["benchmark", "nb201", "--strategy", "random,local", "--trials", "30",
                 "--seeds", "2", "--report-at", "10", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and len(out.splitlines()) == 1
    result = json.loads(out)
    assert result["budgets"] == [10, 30] and set(result["strategies"]) == {"random", "local"}
    stats = result["strategies"]["local"]["at"]["30"]
    assert stats["regret"]["mean"] == pytest.approx(result["global_best"] -
                                                   stats["best_accuracy"]["mean"])
    at10 = result["strategies"]["random"]["at"]
    assert at10["10"]["best_accuracy"]["mean"] <= at10["30"]["best_accuracy"]["mean"]


def test_benchmark_multi_objective_text(capsys):
    code = main(["benchmark", "nb201", "--strategy", "rea", "--trials", "25", "--seeds", "1",
                 "--dataset", "cifar100", "--multi-objective"])
    out = capsys.readouterr().out
    assert code == 0 and "HV ratio" in out and "cifar100" in out
    ratio = float(out.splitlines()[-1].split()[2])
    assert 0 < ratio <= 1


@pytest.mark.parametrize("argv, message", [
    (["--strategy", "bo", "--dataset", "mnist"], "NB201 dataset"),
    (["--strategy", "bayes"], "unknown strategy 'bayes'"),
    (["--strategy", "bo", "--seeds", "0"], "at least 1"),
])
def test_benchmark_bad_input(capsys, argv, message):
    assert main(["benchmark", "nb201", "--trials", "5", *argv]) == 2
    assert message in capsys.readouterr().err
