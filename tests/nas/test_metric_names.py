"""Objectives and constraints are checked against the metrics the evaluator declares,
before the first trial; an undeclared evaluator is checked on its first result."""
import pytest
import yaml

from nas.cli import main
from nas.run.config import config_from_dict
from search_spaces.errors import UserError
from trainers.evaluators import EVALUATORS, Evaluator, make_evaluator
from trainers.metrics import COST_METRICS, Metrics

from inline_helpers import registered_evaluator, run_inline

LADDER = {"dataset": "digits", "rungs": [{"kind": "proxy", "name": "synflow", "keep": 0.5},
                                         {"kind": "train", "epochs": 1}]}
OPTIONS = {"ladder": LADDER}


def test_every_registered_evaluator_declares_its_metrics():
    for name in EVALUATORS.names():
        evaluator = make_evaluator(name, OPTIONS.get(name))
        assert isinstance(evaluator.metric_names, tuple) and evaluator.metric_names, name
        assert not set(evaluator.metric_names) & set(COST_METRICS), name
    assert Evaluator.metric_names is None  # a user's evaluator may leave it undeclared
    proxy_only = make_evaluator("ladder", {"rungs": [{"kind": "proxy", "name": "synflow"}]})
    assert proxy_only.metric_names == ("synflow",)


def _config(tmp_path, objectives, constraints=None, evaluator="synthetic", trials=3):
    data = {"name": "names", "trials": trials, "strategy": "random", "evaluator": evaluator,
            "objectives": objectives, "out": str(tmp_path / "results")}
    if constraints:
        data["constraints"] = constraints
    return data


@pytest.mark.parametrize("objectives, constraints, wrong, meant", [
    ([{"name": "acuracy", "direction": "maximize"}], None, "objective 'acuracy'", "'accuracy'"),
    (["accuracy"], {"parms": {"max": 2e6}}, "constraint 'parms'", "'params'"),
])
def test_unknown_metric_exits_2_before_any_trial(capsys, tmp_path, objectives, constraints,
                                                 wrong, meant):
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, objectives, constraints)))
    assert main(["search", "--config", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"unknown {wrong}. Did you mean {meant}?" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results").exists()  # nothing ran, no run folder


def test_cost_metrics_are_always_there(tmp_path):
    """synthetic reports params and latency_ms; macs is measured by the worker."""
    config = config_from_dict(_config(tmp_path, ["accuracy", {"name": "macs",
                                                              "direction": "minimize"}]))
    summary = run_inline(config, tmp_path / "run")
    assert len(summary.pareto["front"]) >= 1
    assert all(row["macs"] > 0 for row in summary.pareto["front"])


class Undeclared(Evaluator):
    """A user's evaluator that declares nothing and reports 'score'."""

    def __call__(self, space, genotype):
        return Metrics(objectives={"score": float(len(space.format(genotype)))})


@pytest.fixture
def undeclared():
    with registered_evaluator("test_undeclared", Undeclared) as name:
        yield name


def test_undeclared_evaluator_stops_on_its_first_result(tmp_path, undeclared):
    bad = config_from_dict(_config(tmp_path, ["accuracy"], evaluator=undeclared, trials=5))
    with pytest.raises(UserError, match="unknown objective 'accuracy'.*first result has "
                                        "only these"):
        run_inline(bad, tmp_path / "bad")
    assert not (tmp_path / "bad" / "trials.jsonl").read_text().strip()  # stopped at once
    good = config_from_dict(_config(tmp_path, ["score"], evaluator=undeclared, trials=3))
    assert run_inline(good, tmp_path / "good").trials == 3


def test_a_users_function_evaluator_is_checked_too(tmp_path):
    """Declared (register_evaluator(metrics=...)): checked before any trial; undeclared:
    its first result stops the search (the worker fails it, naming what it returned)."""
    from nas.api import register_evaluator

    def score(trial):
        return {"score": 1.0}

    register_evaluator("test_fn_declared", metrics=["score"])(score)
    register_evaluator("test_fn_undeclared")(score)
    declared = config_from_dict(_config(tmp_path, ["acuracy"], evaluator="test_fn_declared"))
    with pytest.raises(UserError, match="unknown objective 'acuracy'.*reports"):
        run_inline(declared, tmp_path / "declared")
    undeclared = config_from_dict(_config(tmp_path, ["accuracy"],
                                          evaluator="test_fn_undeclared"))
    with pytest.raises(UserError, match="unknown objective 'accuracy'.*Allowed: latency_ms, "
                                        "macs, params, score"):
        run_inline(undeclared, tmp_path / "undeclared")
