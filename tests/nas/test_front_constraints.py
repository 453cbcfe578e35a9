"""Constraints config and marking, the Pareto front tracker and its fixed reference."""
import numpy as np
import pytest

from nas.pareto.constraints import Constraint, apply_constraints, parse_constraints
from nas.pareto.fronts import hypervolume_history
from nas.pareto.tracker import REFERENCE_AFTER, FrontTracker
from nas.run.config import config_from_dict
from nas.store.results import ResultsView
from nas.strategies.base import Objective
from search_spaces.errors import UserError
from trainers.metrics import Metrics


def test_constraints_parse_and_mark_infeasible():
    (params, latency) = parse_constraints({"params": {"max": 2.0e6},
                                           "latency_ms": {"min": 1, "max": 5}})
    assert params == Constraint("params", None, 2.0e6) and latency.min == 1.0
    ok = Metrics(objectives={"accuracy": 90.0}, cost={"params": 1.5e6, "latency_ms": 2.0})
    assert apply_constraints((params, latency), ok) is ok
    big = Metrics(objectives={"accuracy": 90.0}, cost={"params": 2.5e6, "latency_ms": 6.0})
    marked = apply_constraints((params, latency), big)
    assert marked.status == "infeasible" and "params=2.5e+06 > max 2e+06" in marked.reason
    assert "latency_ms=6 > max 5" in marked.reason and marked.objectives == big.objectives
    missing = apply_constraints((params,), Metrics(objectives={"accuracy": 1.0}))
    assert missing.status == "infeasible" and "missing" in missing.reason


@pytest.mark.parametrize("data, message", [
    ({"constraints": {"params": 3}}, "mapping with 'min' and/or 'max'"),
    ({"constraints": {"params": {"max": "big"}}}, "finite number"),
    ({"constraints": {"params": {"max": float("nan")}}}, "finite number"),
    ({"constraints": {"params": {"min": 5, "max": 1}}}, "above max"),
    ({"constraints": {"params": {"maximum": 1}}}, "'min' and/or 'max'"),
    ({"constraints": [1]}, "map metric names"),
    ({"reference": [1, 2]}, "1 finite number"),
    ({"reference": {"acc": 1}}, "each objective"),
    ({"resources": {"num_cpus": -1}}, ">= 0"),
    ({"resources": {"cpus": 1}}, "num_cpus and/or num_gpus"),
    ({"resources": {"num_cpus": 0, "num_gpus": 0}}, "above 0"),
    ({"workers": "many"}, "int or 'auto'"),
    ({"trial_timeout_s": 0}, "above 0"),
    ({"max_retries": -1}, ">= 0"),
])
def test_bad_search_configs(data, message):
    with pytest.raises(UserError, match=message):
        config_from_dict(data)


def test_good_search_config():
    config = config_from_dict({
        "workers": "auto", "trial_timeout_s": 30, "resources": {"num_cpus": 0.5, "num_gpus": 0.25},
        "objectives": ["accuracy", {"name": "params", "direction": "minimize"}],
        "reference": {"params": 3e6, "accuracy": 80}, "constraints": {"params": {"max": 2e6}}})
    assert config.workers == "auto" and config.reference == (80.0, 3e6)
    # PyYAML reads 2.0e6 (no exponent sign) as a string; configs still mean the number
    yaml_style = config_from_dict({"constraints": {"params": {"max": "2.0e6"}}})
    assert yaml_style.constraints[0].max == 2.0e6
    assert config.resources.num_gpus == 0.25 and config.trial_timeout_s == 30.0
    assert config_from_dict(config.to_dict()) == config  # the saved config reloads


def test_constrained_example_config_loads():
    from nas.run.config import load_config

    config = load_config("configs/constrained.yaml")
    assert config.constraints == (Constraint("params", None, 1.0e6),)
    assert config.reference == (85.0, 2.5e8) and config.strategy.name == "bo"


def _points(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(50, 95, n), rng.uniform(1e5, 2e6, n)])


def test_hypervolume_is_monotone_with_a_derived_then_fixed_reference():
    directions = ["maximize", "minimize"]
    points = _points(60)
    tracker = FrontTracker(directions)
    history = [tracker.add(i, list(p) if i % 7 else None, key=str(i))
               for i, p in enumerate(points)]
    assert all(h is None for h in history[:REFERENCE_AFTER - 1]) and history[-1] > 0
    assert tracker.fixed
    hvs = [h for _, h in tracker.history]
    assert hvs == sorted(hvs)  # fixed reference: never decreases
    rows = np.array([p if i % 7 else [np.nan, np.nan] for i, p in enumerate(points)])
    assert hvs == pytest.approx(hypervolume_history(rows, directions, tracker.reference).tolist())


def test_front_keeps_infeasible_off_and_lists_a_genotype_once():
    objectives = [Objective("accuracy"), Objective("params", "minimize")]
    view = ResultsView(objectives, None, reference=[0.0, 10.0])

    def record(tid, key, acc, params, status="complete"):
        return {"trial_id": tid, "key": key, "arch": key, "started": 0, "finished": 0,
                "worker": {}, "metrics": Metrics(objectives={"accuracy": acc},
                                                 cost={"params": params}, status=status).to_dict()}
    view.add(record(0, "a", 90.0, 5.0))
    view.add(record(1, "b", 99.0, 1.0, status="infeasible"))  # would dominate everything
    view.add({**record(2, "a", 90.0, 5.0), "cached": True})
    view.add(record(3, "c", 90.0, 5.0))  # same values, another genotype: on the front too
    pareto = view.pareto()
    assert pareto["front_trial_ids"] == [0, 3] and pareto["n_infeasible"] == 1
    assert pareto["hypervolume"] == pytest.approx(90.0 * 5.0)
    assert view.cached("b") is not None  # a repeat of an infeasible genotype is not re-run
