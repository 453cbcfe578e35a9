"""Your own evaluator: a function of one Trial, found by "module:function" or registered
by name; what it returns becomes Metrics; a fidelity ladder gives it a budget and stops it
by successive halving on the values it reports."""
from __future__ import annotations

import numpy as np
import pytest

from search_spaces import get_space
from search_spaces.errors import UserError
from tests.user_code_helpers import write_user_module
from trainers.evaluators import EVALUATORS, make_evaluator
from trainers.user_evaluator import register_evaluator


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    write_user_module(tmp_path)
    return tmp_path


@pytest.fixture
def space(user_module):
    return get_space("my_problem:TinyConvNet")


def _genotype(space, **decisions):
    base = space.sample(np.random.default_rng(0)).as_mapping()
    return space.genotype({**base, **decisions})


def test_a_referenced_function_returns_metrics_with_params_and_macs_added(space, tmp_path):
    evaluator = make_evaluator("my_problem:evaluate",
                               {"offset": 1.5, "checkpoint_dir": str(tmp_path / "ck")})
    genotype = _genotype(space, width=16, depth=2, kernel=3)
    metrics = evaluator(space, genotype)
    model = space.build(genotype)
    assert metrics.ok and metrics.objectives == {"accuracy": 50 + 32 + 10 - 3, "offset": 1.5}
    assert metrics.cost["params"] == sum(p.numel() for p in model.parameters())
    assert metrics.cost["macs"] > 0 and metrics.fidelity == 3.0
    assert (tmp_path / "ck" / f"{genotype.key}@3ep.pt").is_file()  # trial.save
    assert (tmp_path / "ck" / genotype.key).is_dir()  # trial.checkpoint_dir
    assert evaluator.metric_names is None  # undeclared


@pytest.mark.parametrize("name, reason", [
    ("my_problem:wrong_type", "returned list; return a mapping of metric names"),
])
def test_a_wrong_return_type_fails_the_trial_with_one_line(space, name, reason):
    metrics = make_evaluator(name)(space, _genotype(space))
    assert metrics.status == "failed" and reason in metrics.reason
    assert "\n" not in metrics.reason


def test_a_non_number_value_fails_the_trial_naming_it(space, user_module):
    (user_module / "my_text.py").write_text("def evaluate(trial):\n"
                                            "    return {'accuracy': 'high'}\n")
    metrics = make_evaluator("my_text:evaluate")(space, _genotype(space))
    assert metrics.status == "failed" and "non-number for 'accuracy'" in metrics.reason


def test_errors_inside_user_code_propagate_to_the_worker(space):
    with pytest.raises(ValueError, match="boom from user code"):
        make_evaluator("my_problem:broken")(space, _genotype(space))


def test_missing_module_names_the_paths_tried(user_module):
    with pytest.raises(UserError, match=r"no module 'nope' on sys.path \(tried .*"
                                        + str(user_module)):
        make_evaluator("nope:evaluate")


def test_missing_attribute_suggests_close_names(user_module):
    with pytest.raises(UserError, match="has no attribute 'evaluat'; did you mean 'evaluate'"):
        make_evaluator("my_problem:evaluat")


def test_an_import_error_inside_the_module_is_reported_as_such(user_module):
    (user_module / "my_broken_import.py").write_text("import not_installed_pkg\n")
    with pytest.raises(UserError, match="'not_installed_pkg'.*a module your code imports"):
        make_evaluator("my_broken_import:evaluate")


def test_registered_by_name_with_declared_metrics(space):
    @register_evaluator("test_user_curve", metrics=["accuracy"])
    def curve(trial):
        return {"accuracy": 1.0}

    evaluator = make_evaluator("test_user_curve")
    assert evaluator.metric_names == ("accuracy", "params", "macs")
    assert evaluator(space, _genotype(space)).objectives == {"accuracy": 1.0}
    register_evaluator("test_user_curve")(curve)  # a re-run notebook cell: replaced
    assert EVALUATORS.is_user("test_user_curve")
    with pytest.raises(UserError, match="'train' is built in"):
        register_evaluator("train")(curve)
    with pytest.raises(UserError, match="without ':'"):
        register_evaluator("a:b")


def _ladder_with_curve(**rung):
    return make_evaluator("ladder", {"rungs": [
        {"kind": "evaluator", "name": "my_problem:evaluate", **rung}], "grace": 3})


def test_a_ladder_budget_and_halving_on_reported_values(space, tmp_path):
    ladder = _ladder_with_curve(budget=9, eta=3, options={"offset": 0.0})
    label = "1.my_problem:evaluate@1ep"
    ladder.observe_history({label: [9.0, 9.5, 10.0, 10.5]})  # the run's values at step 1
    weak = _genotype(space, width=4, depth=1, kernel=3)  # score 60 -> 6.7 at step 1
    strong = _genotype(space, width=16, depth=2, kernel=1)  # score 91 -> 10.1 at step 1
    stopped = ladder(space, weak)
    assert stopped.status == "pruned" and f"pruned at rung {label}" in stopped.reason
    assert stopped.rungs == {label: pytest.approx(60 / 9)} and stopped.fidelity == 1.0
    ladder.observe_history({label: [1.0, 2.0, 3.0]})
    done = ladder(space, strong)
    assert done.ok and done.fidelity == 9.0 and done.objectives["accuracy"] == 91.0
    assert set(done.rungs) == {label, "1.my_problem:evaluate@3ep", "1.my_problem:evaluate"}


def test_budget_and_eta_need_a_function_evaluator():
    with pytest.raises(UserError, match="budget and eta need your own evaluator function"):
        make_evaluator("ladder", {"rungs": [{"kind": "evaluator", "name": "tabular",
                                             "budget": 3}]})
    with pytest.raises(UserError, match="halving needs eta >= 2"):
        _ladder_with_curve(budget=2, eta=3, min_budget=2)
