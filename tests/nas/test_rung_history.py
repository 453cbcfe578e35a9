"""Ladder decisions on the run's shared rung history (every worker's finished trials, and
the store's on resume), and ladder checkpoints kept in the run folder for export."""
import pickle

import numpy as np

import nas.run.worker
from nas.run.config import config_from_dict
from nas.run.driver import Driver
from nas.run.progress import Progress
from nas.run.rung_scores import RungHistory
from nas.run.runner import InlineTrials
from nas.store.trial_log import RunStore

SPACE = {"name": "nb201", "options": {"channels": 4, "cells": 1, "input_size": [1, 8, 8]}}


class TwoProcesses(InlineTrials):
    """Inline trials alternating between two worker processes, each with its own evaluator
    (its own `build_components` cache), as two Ray workers would have."""

    def __init__(self, task_base):
        super().__init__(task_base)
        self.caches, self.process_of = [{}, {}], []

    def wait(self, poll_s=0.5):
        process = len(self.process_of) % 2
        saved, nas.run.worker._CACHE = nas.run.worker._CACHE, self.caches[process]
        try:
            finished = super().wait(poll_s)
        finally:
            nas.run.worker._CACHE = saved
        self.process_of += [process] * len(finished)
        return finished


def _config(rungs, trials, **options):
    return config_from_dict({
        "name": "history", "seed": 3, "trials": trials, "workers": 2, "strategy": "random",
        "space": SPACE, "objectives": [{"name": "params", "direction": "minimize"}],
        "evaluator": {"name": "ladder", "options": {"reference": 0, "cost": False,
                                                    "rungs": rungs, **options}}})


def _run(config, run_dir, resume=False, runner=TwoProcesses):
    if resume:
        store = RunStore.open(run_dir)
        driver = Driver(config, store, Progress(config.trials, quiet=True), resume=True)
    else:  # as `nas search` does: the run folder is made after the driver checked the config
        driver = Driver(config, None, Progress(config.trials, quiet=True))
        driver.store = store = RunStore.create(run_dir, config.to_dict())
    trials = runner(driver.task_base)
    try:
        driver.run(2, trials)
    finally:
        store.close()
    return driver, trials


def _continued(records, label, keep, grace, seen_by=None):
    """Each trial's verdict at `label` recomputed from the scores of the trials recorded
    before it (all of them, or only those `seen_by` says its own process evaluated)."""
    verdicts = []
    for i, record in enumerate(records):
        score = record["metrics"]["rungs"].get(label)
        if score is None:
            verdicts.append(None)
            continue
        seen = [r["metrics"]["rungs"][label] for j, r in enumerate(records[:i])
                if label in r["metrics"]["rungs"] and (seen_by is None or seen_by(j, i))]
        verdicts.append(len(seen) < grace or score >= np.quantile(seen, 1.0 - keep))
    return verdicts


def _kept(records):
    return [r["metrics"]["status"] == "complete" for r in records]


PARAMS = [{"kind": "proxy", "name": "params", "keep": 0.5}]


def test_running_quantiles_use_the_other_workers_trials(tmp_path):
    _, trials = _run(_config(PARAMS, 12, grace=2), tmp_path / "run")
    records = RunStore(tmp_path / "run").trials()
    assert set(trials.process_of) == {0, 1}
    expected = _continued(records, "1.params", 0.5, 2)
    assert _kept(records) == expected
    per_process = _continued(records, "1.params", 0.5, 2,
                             lambda j, i: trials.process_of[j] == trials.process_of[i])
    assert per_process != expected  # the test would notice per-process histories
    late = next(r for r in reversed(records) if r["metrics"]["status"] == "pruned")
    assert f"of {late['trial_id']} seen so far" in late["metrics"]["reason"]


def test_a_resumed_run_gets_the_history_back_from_the_store(tmp_path):
    run = tmp_path / "run"
    _run(_config(PARAMS, 5, grace=4), run)
    before = RunStore(run).trials()
    config = _config(PARAMS, 12, grace=4)
    store = RunStore.open(run)
    driver = Driver(config, store, Progress(config.trials, quiet=True), resume=True)
    store.close()
    assert list(driver.task_base["history"]["1.params"]) == [
        r["metrics"]["rungs"]["1.params"] for r in before]
    _run(config, run, resume=True)  # fresh worker processes: they saw nothing themselves
    records = RunStore(run).trials()
    expected = _continued(records, "1.params", 0.5, 4)
    assert _kept(records) == expected
    restarted_empty = _continued(records, "1.params", 0.5, 4, lambda j, i: (j < 5) == (i < 5))
    assert restarted_empty != expected


def test_halving_promotes_on_every_workers_scores_and_checkpoints_go_to_the_run(tmp_path):
    from nas.export import export_run

    rungs = [{"kind": "train", "epochs": 1}, {"kind": "halving", "eta": 2, "max_epochs": 2}]
    config = _config(rungs, 6, grace=2, batch_size=128)
    driver, trials = _run(config, tmp_path / "run")
    records = RunStore(tmp_path / "run").trials()
    verdicts = _continued(records, "2.halving@1ep", 0.5, 2)
    assert _kept(records) == verdicts and False in verdicts and set(trials.process_of) == {0, 1}
    assert "checkpoint_dir" not in (tmp_path / "run" / "config.yaml").read_text()
    folder = tmp_path / "run" / "checkpoints" / "ladder"
    for r in records:
        epochs = {1, 2} if r["metrics"]["status"] == "complete" else {1}
        assert {p.name for p in folder.glob(f"{r['key']}@*")} == {f"{r['key']}@{e}ep.pt"
                                                                  for e in epochs}
    done = max(records, key=lambda r: r["metrics"]["rungs"]["2.halving@1ep"])  # kept anyway
    # a re-evaluated (resumed) candidate continues from its checkpoints: nothing retrains
    stamps = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = nas.run.worker.evaluate_trial({**driver.task_base, "genotype": done["genotype"]})
    assert again["metrics"]["rungs"] == done["metrics"]["rungs"]
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    manifest = export_run(tmp_path / "run", "json", trial=done["trial_id"],
                          out=tmp_path / "out")["exports"][0]
    assert manifest["weights"]["status"] == "trained"
    assert manifest["weights"]["checkpoint"] == str(folder / f"{done['key']}@2ep.pt")


def test_the_history_is_bounded_skips_cached_answers_and_pickles_as_a_dict():
    history = RungHistory(limit=3)
    for i in range(5):
        history.add({"metrics": {"rungs": {"1.synflow": float(i)}}})
    history.add({"metrics": {"rungs": {"1.synflow": 99.0}}, "cached": True})
    assert list(history["1.synflow"]) == [2.0, 3.0, 4.0] and len(history) == 1
    assert pickle.loads(pickle.dumps(history)) == {"1.synflow": [2.0, 3.0, 4.0]}


def test_evaluators_that_do_not_want_history_get_none(tmp_path):
    config = config_from_dict({"name": "s", "trials": 2, "strategy": "random",
                               "evaluator": {"name": "synthetic", "options": {}}})
    store = RunStore.create(tmp_path / "run", config.to_dict())
    driver = Driver(config, store, Progress(2, quiet=True))
    store.close()
    assert set(driver.task_base) == {"space", "evaluator", "threads", "cost_metrics"}
    assert driver.task_base["evaluator"] == config.to_dict()["evaluator"]


def test_export_without_any_checkpoint_says_untrained(tmp_path):
    from nas.export import export_run

    _run(_config(PARAMS, 3, grace=2), tmp_path / "run")
    done = next(r for r in RunStore(tmp_path / "run").trials()
                if r["metrics"]["status"] == "complete")
    manifest = export_run(tmp_path / "run", "json", trial=done["trial_id"],
                          out=tmp_path / "out")["exports"][0]
    assert manifest["weights"]["status"] == "untrained"
