"""Ctrl-C/SIGTERM that Python swallows (raised inside a GC callback) still end the search:
the handler remembers the signal and the driver raises it on its next turn."""
import os
import signal

import pytest

from nas.run.config import config_from_dict
from nas.run.driver import Driver
from nas.run.interrupts import interruptible, raise_if_interrupted
from nas.run.progress import Progress
from nas.run.runner import InlineTrials
from nas.store.trial_log import RunStore


def _swallowed(sig):
    """A signal whose KeyboardInterrupt is lost, like one landing in a weakref callback."""
    try:
        os.kill(os.getpid(), sig)
    except KeyboardInterrupt:
        pass


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_swallowed_signal_is_raised_again(sig):
    with pytest.raises(KeyboardInterrupt):
        with interruptible():
            _swallowed(sig)
            raise_if_interrupted()


def test_a_body_that_finishes_after_a_swallowed_signal_still_ends_interrupted():
    with pytest.raises(KeyboardInterrupt):
        with interruptible():
            _swallowed(signal.SIGINT)
    with interruptible():  # the next search starts with no signal remembered
        raise_if_interrupted()


def test_handlers_are_put_back():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interruptible():
        assert signal.getsignal(signal.SIGINT) not in before
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


class SwallowingTrials(InlineTrials):
    """Trial 2's evaluation swallows a Ctrl-C (user code with `except BaseException`)."""

    def wait(self, poll_s=0.0):
        finished = super().wait(poll_s)
        if finished and finished[0][0].tid == 2:
            _swallowed(signal.SIGINT)
        return finished


def test_the_driver_stops_after_a_swallowed_ctrl_c_and_leaves_a_resumable_run(tmp_path):
    config = config_from_dict({
        "name": "sig", "seed": 0, "trials": 10, "workers": 1,
        "strategy": {"name": "random"},
        "evaluator": {"name": "synthetic", "options": {"seed": 1}}})
    store = RunStore.create(tmp_path / "run", config.to_dict())
    driver = Driver(config, store, Progress(config.trials, quiet=True))
    with pytest.raises(KeyboardInterrupt), interruptible():
        driver.run(1, SwallowingTrials(driver.task_base))
    store.close()
    log = (tmp_path / "run" / "trials.jsonl").read_text().splitlines()
    assert 3 <= len(log) < 10
