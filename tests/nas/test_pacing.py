"""How far the driver asks ahead (nas.run.pacing), and a paced search's exact resume."""
import json
import time

import pytest

from nas.run.config import config_from_dict
from nas.run.driver import Driver
from nas.run.pacing import AskPacing
from nas.run.progress import Progress
from nas.run.runner import InlineTrials
from nas.store.trial_log import RunStore


def test_fixed_pacing_asks_a_fixed_batch_with_no_queue_kept():
    pacing = AskPacing(2, fixed=3)
    pacing.asked(1.0)
    pacing.ran(0.01)  # would call for a deep queue if it were 'auto'
    assert (pacing.low, pacing.batch) == (0, 3)


def test_auto_pacing_starts_at_one_trial_per_worker():
    pacing = AskPacing(4)
    assert (pacing.low, pacing.batch) == (0, 4)
    pacing.asked(0.05)  # no trial measured yet
    assert (pacing.low, pacing.batch) == (0, 4)


def test_trials_much_longer_than_an_ask_keep_the_plain_behaviour():
    pacing = AskPacing(2)
    pacing.asked(0.1)
    pacing.ran(60.0)
    assert pacing.started_per_ask == pytest.approx(2 * 0.1 / 60.0)
    assert (pacing.low, pacing.batch) == (0, 2)


def test_short_trials_get_a_queue_that_covers_one_ask():
    pacing = AskPacing(2)
    pacing.asked(0.1)
    pacing.ran(0.1)  # the two workers start 2 trials while one ask runs
    assert pacing.started_per_ask == pytest.approx(2.0)
    assert pacing.low == 3  # ceil(1.25 * 2)
    assert pacing.batch == 4  # 2 * 2: asking takes about half the driver's time


def test_the_depth_is_capped_at_eight_times_the_workers():
    pacing = AskPacing(2)
    pacing.asked(1.0)
    pacing.ran(0.001)
    assert (pacing.low, pacing.batch) == (14, 16)  # low <= 16 - workers, batch <= 16


def test_the_queue_covers_a_slow_refitting_ask_not_only_the_average():
    pacing = AskPacing(2)
    pacing.ran(0.05)
    pacing.asked(0.2)  # a refit
    for _ in range(5):
        pacing.asked(0.05)
    assert pacing.started_per_ask < 3.5  # the average forgets the refit quickly ...
    assert pacing.low >= 8  # ... the queue still covers most of one: 2 * 0.2 * 0.95^5 / 0.05


def test_a_small_search_keeps_one_prepared_trial_per_worker():
    """A tenth of 16 trials is below `workers`: no deeper queue, whatever the timing."""
    pacing = AskPacing(2, trials=16)
    pacing.asked(1.0)
    pacing.ran(0.001)
    assert (pacing.low, pacing.batch) == (0, 2)
    assert AskPacing(2, trials=100).cap == 10  # between the two caps: a tenth of the budget


def test_measurements_are_smoothed_not_replaced():
    pacing = AskPacing(1)
    pacing.asked(1.0)
    pacing.asked(0.0)
    assert 0.0 < pacing.ask_s < 1.0
    pacing.ran(0.0)  # a zero-length trial is clamped, never a division by zero
    assert pacing.trial_s > 0


class ConcurrentInline(InlineTrials):
    """Inline trials that pretend to run beside the driver, each taking `trial_s`: the
    auto pacing then asks ahead as it would on Ray."""

    concurrent = True

    def __init__(self, task_base, trial_s):
        super().__init__(task_base)
        self.trial_s = trial_s

    def wait(self, timeout=None):
        finished = super().wait(timeout)
        for _, result in finished:
            result["started"], result["finished"] = 0.0, self.trial_s
        return finished


def _config(trials, ask_ahead="auto"):
    return config_from_dict({
        "name": "paced", "seed": 3, "trials": trials, "workers": 2, "ask_ahead": ask_ahead,
        "strategy": {"name": "random"},
        "evaluator": {"name": "synthetic", "options": {"seed": 1}},
        "objectives": ["accuracy"]})


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]


def _batches(run_dir):
    return [a.get("batch", 1) for r in _records(run_dir) for a in r["asks"] if "batch" in a]


def _search(run_dir, config, runner_for, resume=False):
    store = (RunStore.open(run_dir) if resume
             else RunStore.create(run_dir, config.to_dict()))
    try:
        driver = Driver(config, store, Progress(config.trials, quiet=True), resume=resume)
        return driver.run(2, runner_for(driver.task_base))
    finally:
        store.close()


def _slow_asks(monkeypatch, seconds=0.01):
    """Each ask takes at least `seconds`, as a model fit would."""
    ask = Driver._ask
    monkeypatch.setattr(Driver, "_ask", lambda self, k: (time.sleep(seconds), ask(self, k)))


def test_short_trials_are_asked_in_deeper_batches_and_logged_with_their_size(tmp_path,
                                                                             monkeypatch):
    _slow_asks(monkeypatch)
    config = _config(trials=40)
    _search(tmp_path / "run", config, lambda base: ConcurrentInline(base, trial_s=2e-3))
    batches = _batches(tmp_path / "run")
    assert batches[0] == 4  # one running and one queued per worker, before any measurement
    assert max(batches) > 4  # then the queue deepens: asks are slow next to the trials
    assert len(_records(tmp_path / "run")) == 40


def test_a_fixed_ask_ahead_asks_that_many_beyond_the_workers(tmp_path):
    config = _config(trials=12, ask_ahead=3)
    _search(tmp_path / "run", config, lambda base: ConcurrentInline(base, trial_s=2e-3))
    batches = _batches(tmp_path / "run")
    assert batches[0] == 5  # 2 workers + 3 ahead
    assert set(batches[1:-1]) <= {3}


def test_a_resume_replays_the_paced_batches_and_loses_no_trial(tmp_path, monkeypatch):
    _slow_asks(monkeypatch)
    config = _config(trials=30)
    run_dir = tmp_path / "run"
    _search(run_dir, config, lambda base: ConcurrentInline(base, trial_s=2e-3))
    first = [(r["trial_id"], r["key"]) for r in _records(run_dir)]
    (run_dir / "state.json").unlink(missing_ok=True)  # replay from trials.jsonl alone
    more = config_from_dict({**config.to_dict(), "trials": 36})
    summary = _search(run_dir, more, lambda base: ConcurrentInline(base, trial_s=10.0),
                      resume=True)
    got = [(r["trial_id"], r["key"]) for r in _records(run_dir)]
    assert summary.trials == 36 and got[:30] == first
    assert "diverged" not in (run_dir / "events.log").read_text()
    assert len({k for _, k in got}) == len(got)


@pytest.mark.parametrize("value, needle", [(-1, "'auto' or an int >= 0"),
                                           ("fast", "'auto' or an int >= 0"),
                                           (2.5, "int or string"), (True, "int or string")])
def test_a_bad_ask_ahead_names_the_key_and_what_it_takes(value, needle):
    from search_spaces.errors import UserError
    with pytest.raises(UserError, match="ask_ahead") as error:
        _config(trials=4, ask_ahead=value)
    assert needle in str(error.value)
