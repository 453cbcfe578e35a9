"""study.db written by our bulk SQL reads back through Optuna exactly."""
import math

import optuna
import pytest

from nas.store.optuna_mirror import mirror_to_optuna
from nas.strategies.base import Objective
from trainers.metrics import Metrics

OBJECTIVES = [Objective("accuracy"), Objective("params", "minimize")]


def _record(space, tid, genotype, metrics, **extra):
    return {"trial_id": tid, "key": genotype.key, "genotype": genotype.to_dict(),
            "arch": space.format(genotype), "started": 1.7e9, "finished": 1.7e9 + 2.5,
            "metrics": metrics.to_dict(), **extra}


def test_bulk_mirror_reads_back_through_optuna(tmp_path, nb201):
    import numpy as np

    rng = np.random.default_rng(0)
    g = [nb201.sample(rng) for _ in range(4)]
    records = [
        _record(nb201, 0, g[0], Metrics(objectives={"accuracy": 91.5}, cost={"params": 1e6})),
        _record(nb201, 1, g[1], Metrics.failed("boom")),
        _record(nb201, 2, g[2], Metrics(objectives={"accuracy": 95.0}, cost={"params": 5e5},
                                        status="infeasible", reason="latency"),
                violations={"latency_ms": 1.5}),
    ]
    assert mirror_to_optuna(tmp_path, "m", records[:1], OBJECTIVES, nb201) == 1
    assert mirror_to_optuna(tmp_path, "m", records, OBJECTIVES, nb201, done=1) == 3
    records.append(_record(nb201, 3, g[3], Metrics(objectives={"accuracy": -math.inf},
                                                   cost={"params": 2.0})))
    assert mirror_to_optuna(tmp_path, "m", records, OBJECTIVES, nb201) == 4  # reopened

    study = optuna.load_study(study_name="m", storage=f"sqlite:///{tmp_path / 'study.db'}")
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3] and study.metric_names == ["accuracy",
                                                                                 "params"]
    first, failed, infeasible, inf = trials
    assert first.params == g[0].as_mapping() and first.values == [91.5, 1e6]
    assert first.user_attrs["arch"] == nb201.format(g[0]) and first.duration.total_seconds() \
        == pytest.approx(2.5)
    assert failed.state == optuna.trial.TrialState.FAIL and failed.values is None
    assert infeasible.state == optuna.trial.TrialState.COMPLETE
    assert infeasible.constraints == {"latency_ms": 1.5}
    assert inf.values == [-math.inf, 2.0]
    # the infeasible trial dominates trial 0 but is kept off Optuna's front too
    assert sorted(t.number for t in study.best_trials) == [0, 3]
