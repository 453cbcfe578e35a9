"""The driver loop without Ray (InlineTrials): exact resume after a crash at any point,
with or without a strategy snapshot, one or several trials in flight."""
import json
import shutil

import pytest

import nas.driver
from nas.config import config_from_dict
from nas.driver import Driver
from nas.progress import Progress
from nas.runner import InlineTrials
from nas.store import RunStore


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs except `finally` blocks."""


class CrashingTrials(InlineTrials):
    def __init__(self, task_base, crash_at):
        super().__init__(task_base)
        self.submits, self.crash_at = 0, crash_at

    def submit(self, tid, genotype, attempt=0):
        self.submits += 1
        if self.submits == self.crash_at:
            raise Crash
        super().submit(tid, genotype, attempt)


def _config(strategy, options, workers, trials=14):
    return config_from_dict({
        "name": "inline", "seed": 4, "trials": trials, "workers": workers,
        "strategy": {"name": strategy, "options": options},
        "evaluator": {"name": "synthetic", "options": {"seed": 1}},
        "objectives": ["accuracy", {"name": "params", "direction": "minimize"}],
        "constraints": {"latency_ms": {"max": 1.8}}})


def _run(config, run_dir, resume=False, runner=None, workers=1):
    store = RunStore.open(run_dir) if resume else RunStore.create(run_dir, config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True), resume=resume)
    try:
        return driver.run(workers, runner or InlineTrials(driver.task_base))
    finally:
        store.close()


def _trials(run_dir):
    lines = (run_dir / "trials.jsonl").read_text().splitlines()
    return [(r["trial_id"], r["key"]) for r in map(json.loads, lines)]


BO, TPE, REA = ("bo", {"n_init": 4}), ("tpe", {}), ("rea", {"population": 5})


@pytest.mark.parametrize("strategy, options, workers, snapshot", [
    (*BO, 1, "none"), (*BO, 3, "stale"), (*BO, 3, "final"), (*TPE, 3, "none"),
    (*TPE, 1, "stale"), (*REA, 3, "final")])
def test_crash_and_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch, strategy,
                                                      options, workers, snapshot):
    monkeypatch.setattr(nas.driver, "SNAPSHOT_EVERY_S", 0.0)  # snapshot after every record
    monkeypatch.setattr(nas.driver, "SNAPSHOT_MAX_SHARE", 1e9)
    config = _config(strategy, options, workers)
    _run(config, tmp_path / "straight", workers=workers)
    expected = _trials(tmp_path / "straight")

    crashed = tmp_path / "crashed"
    store = RunStore.create(crashed, config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True))
    stale = tmp_path / "stale.json"
    original = driver._snapshot

    def keep_a_stale_copy():
        original()
        if len(driver.view.records) == 4:
            shutil.copy(crashed / "state.json", stale)
    driver._snapshot = keep_a_stale_copy
    with pytest.raises(Crash):
        driver.run(workers, CrashingTrials(driver.task_base, crash_at=9))
    store.close()
    if snapshot == "none":
        (crashed / "state.json").unlink()
    elif snapshot == "stale":
        shutil.copy(stale, crashed / "state.json")
    assert 0 < len(_trials(crashed)) < config.trials
    _run(config, crashed, resume=True, workers=workers)
    got = _trials(crashed)
    assert got == expected
    assert len({k for _, k in got}) == len(got)  # none evaluated twice


def test_resume_reports_a_diverged_replay(tmp_path):
    """A strategy that is not deterministic on replay is flagged, and no trial is lost."""
    config = _config("random", {}, 1, trials=6)
    _run(config, tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").read_text()
               .splitlines()]
    records[2]["asks"][0]["key"] = "0" * 16  # as if the strategy had asked something else
    (tmp_path / "run" / "trials.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "run" / "state.json").unlink()
    summary = _run(_config("random", {}, 1, trials=8), tmp_path / "run", resume=True)
    assert summary.trials == 8
    assert "diverged" in (tmp_path / "run" / "events.log").read_text()
