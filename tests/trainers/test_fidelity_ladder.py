"""The `ladder` evaluator: rung parsing, calibrated and running-quantile pruning, training
rungs that continue from per-rung checkpoints, ASHA halving, an evaluator as last rung,
and rank agreement computed from a run's trials."""
from __future__ import annotations

import numpy as np
import pytest

from search_spaces import get_space
from search_spaces.errors import UserError
from trainers.evaluators import make_evaluator
from trainers.fidelity import rank_agreement
from trainers.metrics import Metrics

from .conftest import tiny_space

SPACE = tiny_space(input_size=(1, 8, 8))


def _ladder(rungs, **options):
    return make_evaluator("ladder", {"dataset": "digits", "rungs": rungs, "reference": 8,
                                     **options})


def _archs(n, seed=0):
    rng = np.random.default_rng(seed)
    return [SPACE.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("rungs, match", [
    ([], "non-empty list"),
    ([{"kind": "proxi", "name": "synflow"}], "Did you mean 'proxy'"),
    ([{"kind": "proxy", "name": "synflw"}], "synflow"),
    ([{"kind": "proxy", "name": "synflow", "kepp": 0.5}], "'keep'"),
    ([{"kind": "proxy", "name": "synflow", "keep": 1.5}], r"keep must be in \(0, 1\]"),
    ([{"kind": "train", "epochs": "two"}], "'epochs' must be int"),
    ([{"kind": "train", "epochs": 2}, {"kind": "train", "epochs": 2}], "exceed"),
    ([{"kind": "halving", "eta": 1, "max_epochs": 4}], "eta >= 2"),
    ([{"kind": "evaluator", "name": "tabular"}, {"kind": "train"}], "must be the last"),
    ([{"kind": "cost", "max_params": "lots"}], "'max_params' must be float"),
    (["synflow"], "must be a mapping"),
])
def test_bad_rungs_are_refused_with_the_rung_named(rungs, match):
    with pytest.raises(UserError, match=match):
        _ladder(rungs)


def test_yaml_style_numbers_are_accepted_for_limits():
    ladder = _ladder([{"kind": "cost", "max_params": "1e6"}])
    assert ladder.rungs[0].max_params == 1e6


def test_calibrated_proxy_verdicts_do_not_depend_on_order_or_instance():
    rungs = [{"kind": "proxy", "name": "synflow", "keep": 0.5}]
    archs = _archs(8)
    first = {g.key: _ladder(rungs)(SPACE, g) for g in archs}
    other = _ladder(rungs)
    second = {g.key: other(SPACE, g) for g in reversed(archs)}
    assert {k: m.status for k, m in first.items()} == {k: m.status for k, m in second.items()}
    assert {k: m.rungs for k, m in first.items()} == {k: m.rungs for k, m in second.items()}
    statuses = [m.status for m in first.values()]
    assert "pruned" in statuses and "complete" in statuses
    pruned = next(m for m in first.values() if m.status == "pruned")
    assert "calibrated on 8 random archs" in pruned.reason and not pruned.objectives
    kept = next(m for m in first.values() if m.ok)
    assert set(kept.objectives) == {"synflow"} and kept.cost["params"] > 0


def test_running_quantile_keeps_the_grace_candidates_then_prunes_by_rank():
    by_params = sorted(_archs(12), key=lambda g: SPACE.describe(g)["params"])
    rungs = [{"kind": "proxy", "name": "params", "keep": 0.5}]
    rising = _ladder(rungs, reference=0, grace=2)
    assert all(rising(SPACE, g).ok for g in by_params)  # each new one is the largest yet
    falling = _ladder(rungs, reference=0, grace=2)
    results = [falling(SPACE, g) for g in reversed(by_params)]
    assert [m.status for m in results[:2]] == ["complete", "complete"]
    assert results[-1].status == "pruned" and "of 11 seen so far" in results[-1].reason


def test_cost_rung_makes_big_networks_infeasible():
    ladder = _ladder([{"kind": "cost", "max_params": 1000}])
    result = ladder(SPACE, _archs(1)[0])
    assert result.status == "infeasible" and "params" in result.reason


def test_training_rungs_continue_and_halving_prunes_by_rank(tmp_path):
    ladder = _ladder([{"kind": "proxy", "name": "params", "keep": 1.0},
                      {"kind": "train", "epochs": 1},
                      {"kind": "halving", "eta": 2, "max_epochs": 2}],
                     grace=1, checkpoint_dir=str(tmp_path), batch_size=128)
    results = [ladder(SPACE, g) for g in _archs(3, seed=1)]
    first = results[0]  # within grace: always promoted
    assert first.ok and first.fidelity == 2.0
    assert list(first.rungs) == ["1.params", "2.train@1ep", "3.halving@1ep", "3.halving@2ep"]
    assert first.rungs["3.halving@1ep"] == first.rungs["2.train@1ep"]
    assert first.objectives["accuracy"] == first.rungs["3.halving@2ep"]
    seen = [first.rungs["2.train@1ep"]]
    for m in results[1:]:  # ASHA at 1 epoch: continue iff at least the median seen so far
        score = m.rungs["2.train@1ep"]
        assert m.ok == (score >= np.quantile(seen, 0.5))
        if not m.ok:
            assert "3.halving@1ep" in m.reason and m.fidelity == 1.0
        seen.append(score)
    key = _archs(3, seed=1)[0].key
    assert {p.name for p in tmp_path.glob(f"{key}@*")} == {f"{key}@1ep.pt", f"{key}@2ep.pt"}
    # a re-evaluation (e.g. after a crash) loads every rung's checkpoint instead of training
    again = _ladder(ladder.options["rungs"], grace=1, checkpoint_dir=str(tmp_path),
                    batch_size=128)(SPACE, _archs(3, seed=1)[0])
    assert again.rungs == first.rungs and again.objectives == first.objectives


def test_an_evaluator_as_last_rung_gives_its_objectives():
    space = get_space("nb201")
    ladder = make_evaluator("ladder", {"rungs": [
        {"kind": "proxy", "name": "params", "keep": 0.5, "batch_size": 2},
        {"kind": "evaluator", "name": "tabular", "options": {"cost": False}}],
        "reference": 6})
    ladder.check(space)
    genotype = space.parse("index:6111")  # the best CIFAR-10 arch: large, kept
    result = ladder(space, genotype)
    assert result.ok and result.objectives["accuracy"] == pytest.approx(94.37333, abs=1e-4)
    assert result.rungs["2.tabular"] == result.objectives["accuracy"]
    assert result.fidelity == 200.0 and result.cost["params"] == 1073466


def test_ladder_check_refuses_a_proxy_that_does_not_apply(monkeypatch):
    from torch import nn

    monkeypatch.setattr(type(SPACE), "build", lambda self, g: nn.Sequential(
        nn.Flatten(), nn.Linear(64, 10)))
    with pytest.raises(UserError, match="ReLU"):
        _ladder([{"kind": "proxy", "name": "naswot"}]).check(SPACE)


def _metrics(**rungs):
    return Metrics(rungs=rungs)


def test_rank_agreement_between_consecutive_rungs():
    records = [_metrics(**{"1.synflow": s, "2.train@1ep": t, "3.train@3ep": u})
               for s, t, u in [(1, 10, 5), (2, 20, 4), (3, 30, 3), (4, 40, 2)]]
    records.append(_metrics(**{"1.synflow": 5.0}))  # pruned after the proxy
    report = rank_agreement(records)
    assert report["rungs"] == ["1.synflow", "2.train@1ep", "3.train@3ep"]
    first, second = report["pairs"]
    assert first["n"] == 4 and first["spearman"] == 1.0 and first["kendall"] == 1.0
    assert second["spearman"] == -1.0 and second["kendall"] == -1.0


def test_rank_agreement_from_a_run_folder(tmp_path):
    from nas.store.trial_log import RunStore

    store = RunStore.create(tmp_path / "run", {"name": "t"})
    for i, (a, b) in enumerate([(1, 3), (2, 1), (3, 2), (4, 4)]):
        m = Metrics(rungs={"1.naswot": a, "10.halving@9ep": b}).to_dict()
        store.append_trial({"trial_id": i, "key": str(i), "metrics": m})
    report = rank_agreement(RunStore.open(tmp_path / "run").trials())
    assert report["rungs"] == ["1.naswot", "10.halving@9ep"]  # numeric, not string, order
    assert report["pairs"][0]["spearman"] == pytest.approx(0.4)


def test_results_view_counts_pruned_apart_from_failed_and_off_the_front():
    from nas.store.results import ResultsView
    from nas.strategies.base import Objective

    view = ResultsView([Objective("accuracy")], None)
    for i, status in enumerate(["complete", "pruned", "failed", "infeasible", "pruned"]):
        m = Metrics(objectives={"accuracy": 50.0 + i} if status == "complete" else {},
                    status=status).to_dict()
        view.add({"trial_id": i, "key": f"k{i}", "arch": "a", "metrics": m, "worker": {},
                  "started": 0, "finished": 0})
    assert (view.counts["pruned"], view.n_failed, view.counts["infeasible"],
            view.n_finished) == (2, 1, 1, 5)
    assert view.pareto()["front_trial_ids"] == [0]
    assert view.cached("k1")["metrics"]["status"] == "pruned" and view.cached("k2") is None


def test_the_quickstart_config_uses_a_ladder_that_checks_out():
    from pathlib import Path

    from nas.run.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "quickstart.yaml")
    assert config.evaluator.name == "ladder"
    kinds = [r["kind"] for r in config.evaluator.options["rungs"]]
    assert kinds[0] == "proxy" and kinds[-1] == "train"
    space = get_space(config.space.name, **config.space.options)
    make_evaluator(config.evaluator.name, config.evaluator.options).check(space)


@pytest.mark.slow
def test_a_search_with_the_ladder_records_pruned_trials(tmp_path):
    import json

    from nas.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(
        "name: t\ntrials: 6\nworkers: 1\n"
        "space: {name: nb201, options: {channels: 4, cells: 1, input_size: [1, 8, 8]}}\n"
        "strategy: random\n"
        "evaluator: {name: ladder, options: {reference: 8, rungs: [{kind: proxy, name: "
        "synflow, keep: 0.5}, {kind: train, epochs: 1}]}}\n"
        "objectives: [{name: accuracy}, {name: params, direction: minimize}]\n")
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "run"),
                 "--quiet"]) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").open()]
    statuses = {r["metrics"]["status"] for r in records}
    assert statuses <= {"complete", "pruned"} and "complete" in statuses
    front = json.loads((tmp_path / "run" / "pareto.json").read_text())["front_trial_ids"]
    assert all(r["metrics"]["status"] == "complete" for r in records if r["trial_id"] in front)
