"""RayTrials bookkeeping without a cluster: when each trial's timeout clock starts."""
import itertools

import numpy as np
import pytest

import nas.run.runner
from nas.run.runner import RayTrials


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def trials(monkeypatch):
    """RayTrials on a cluster that runs `slots[0]` trials at once, with a fake clock; a
    submission returns a plain object in place of Ray's ObjectRef."""
    clock, slots = Clock(), [1]
    monkeypatch.setattr(nas.run.runner.time, "time", clock)
    monkeypatch.setattr(nas.run.runner, "cluster_slots", lambda cpus, gpus: slots[0])
    runner = RayTrials({}, 1.0, 0.0, max_retries=0, timeout_s=10.0)
    refs = itertools.count()
    runner._remote = type("Remote", (), {"remote": lambda self, task: next(refs)})()
    return runner, clock, slots


def _deadlines(runner):
    return [f.deadline for f in runner.flights.values()]


def test_a_queued_trial_times_from_when_an_earlier_one_leaves(trials, nb201):
    runner, clock, _ = trials
    genotype = nb201.sample(np.random.default_rng(0))
    runner.submit(0, genotype)
    runner.submit(1, genotype)  # the cluster holds one: this one waits in Ray's queue
    assert _deadlines(runner) == [1010.0, None]
    clock.now = 1004.0
    del runner.flights[0]  # trial 0 finished (what `wait` does), then the clocks move
    runner._start_clocks()
    assert _deadlines(runner) == [1014.0]


def test_clocks_start_when_the_cluster_grows(trials, nb201):
    runner, clock, slots = trials
    genotype = nb201.sample(np.random.default_rng(0))
    for tid in range(3):
        runner.submit(tid, genotype)
    assert _deadlines(runner) == [1010.0, None, None]
    clock.now, slots[0] = 1002.0, 2  # a node joined
    runner._start_clocks()
    assert _deadlines(runner) == [1010.0, 1012.0, None]


def test_without_a_timeout_no_clock_starts(trials, nb201):
    runner, _, _ = trials
    runner.timeout_s = None
    runner.submit(0, nb201.sample(np.random.default_rng(0)))
    assert _deadlines(runner) == [None]


def test_trials_queue_in_ray_only_where_the_cluster_caps_the_concurrency(trials):
    runner, _, slots = trials
    slots[0] = 2
    runner.slots = 2  # as measured when the runner started
    assert runner.capacity(2, 7) == 7  # the extra five wait in Ray's queue
    runner.slots = 8  # a bigger cluster would run all seven: keep it to the workers
    assert runner.capacity(2, 7) == 2
