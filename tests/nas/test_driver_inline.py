"""The driver loop without Ray (InlineTrials): exact resume after a crash at any point,
with or without a strategy snapshot, one or several trials in flight."""
import json
import shutil

import pytest

import nas.run.driver
from nas.run.config import config_from_dict
from nas.run.driver import Driver
from nas.run.progress import Progress
from nas.run.resume import restore
from nas.run.runner import InlineTrials
from nas.store.trial_log import RunStore
from nas.strategies.bo import BayesOpt


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
    monkeypatch.setattr(nas.run.driver, "SNAPSHOT_EVERY_S", 0.0)  # snapshot after every record
    monkeypatch.setattr(nas.run.driver, "SNAPSHOT_MAX_SHARE", 1e9)
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


def _interrupt(driver, where):
    """Make `driver` raise KeyboardInterrupt (Ctrl-C) once, in the middle of an update."""
    strategy, fired = driver.strategy, []

    def once(condition):
        if condition and not fired:
            fired.append(True)
            raise KeyboardInterrupt

    if where == "tell":  # after the record is durable, before the strategy hears of it
        tell = strategy.tell
        strategy.tell = lambda g, m: (once(len(strategy.history.observations) == 5), tell(g, m))
    elif where == "inside ask":  # n_asked already counted, hyperparameters half refitted
        propose = strategy._propose
        strategy._propose = lambda *args: (once(strategy.n_asked == 7), propose(*args))[1]
    else:  # the strategy asked, the driver has not yet noted the ask
        ask = strategy.ask
        strategy.ask = lambda: (g := ask(), once(strategy.n_asked == 7))[0]


@pytest.mark.parametrize("where", ["tell", "inside ask", "after ask"])
def test_ctrl_c_in_the_middle_of_an_update_resumes_exactly(tmp_path, monkeypatch, where):
    """The cause of the intermittent CLI kill-9 test: a Ctrl-C that lands while the driver
    tells or asks left a snapshot of a half-updated strategy, so the resumed run asked
    other genotypes. Now no snapshot is written then, and the log replays exactly."""
    monkeypatch.setattr(nas.run.driver, "SNAPSHOT_EVERY_S", 0.0)
    monkeypatch.setattr(nas.run.driver, "SNAPSHOT_MAX_SHARE", 1e9)
    config = _config(*BO, 1, trials=10)
    _run(config, tmp_path / "straight")
    run_dir = tmp_path / "interrupted"
    store = RunStore.create(run_dir, config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True))
    _interrupt(driver, where)
    with pytest.raises(KeyboardInterrupt):
        driver.run(1, InlineTrials(driver.task_base))
    store.close()
    _run(config, run_dir, resume=True)
    assert _trials(run_dir) == _trials(tmp_path / "straight")
    assert "no snapshot: interrupted mid-update" in (run_dir / "events.log").read_text()


class Repeating(BayesOpt):
    """bo that, once, asks again the genotype it asked last (Optuna samplers may)."""

    def ask(self):
        if self.n_asked == 5:
            self.n_asked += 1
            return self.history.asked(self.history.pending[-1])
        return super().ask_batch(1)[0]

    def ask_batch(self, k):  # the driver asks ahead in batches: repeat inside one too
        return [self.ask() for _ in range(k)]


def test_an_ask_discarded_as_in_flight_is_withdrawn_and_replayed(tmp_path):
    """The driver asks again when the strategy repeats a genotype in flight; the discarded
    ask is withdrawn (`Strategy.cancel`), not left pending in the strategy for ever, and
    the log replay withdraws it too, rebuilding the same state."""
    config = _config(*BO, 3, trials=10)
    store = RunStore.create(tmp_path / "run", config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True))

    def repeating():
        return Repeating(driver.space, config.objectives, config.seed,
                         constraints=config.constraints, **config.strategy.options)
    driver.strategy = repeating()
    driver.run(3, InlineTrials(driver.task_base))
    store.close()
    records = RunStore.open(tmp_path / "run").trials()
    discarded = [a for r in records for a in r["asks"] if a["tid"] is None]
    assert len(discarded) == 1 and len(records) == 10
    assert driver.strategy.history.pending == []
    replayed = repeating()
    restore(replayed, driver.space, records, None)
    assert replayed.state_dict() == driver.strategy.state_dict()


def test_ctrl_c_that_cuts_a_lazy_import_in_half_still_ends_as_an_interruption(tmp_path):
    """Seen with SIGTERM: the signal landed inside the first (lazy) pandas import of a
    flush, and the final flush then failed on the half-imported module, so the search
    exited 1 with a traceback instead of 130. The final flush's failure is logged."""
    config = _config(*BO, 1, trials=10)
    store = RunStore.create(tmp_path / "run", config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True))
    calls = []

    def broken_flush(store, study_name):
        calls.append(study_name)
        if len(calls) == 1:
            raise KeyboardInterrupt  # in the middle of the import
        raise AttributeError("partially initialized module 'pandas'")

    driver.view.flush = broken_flush
    driver.view.maybe_flush = broken_flush
    with pytest.raises(KeyboardInterrupt):
        driver.run(1, InlineTrials(driver.task_base))
    store.close()
    log = (tmp_path / "run" / "events.log").read_text()
    assert "interrupted" in log and "derived files not written: AttributeError" in log
