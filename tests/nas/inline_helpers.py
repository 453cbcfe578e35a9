"""Helpers for tests that run a search without Ray: a temporarily registered evaluator
and one inline run of a config into a fresh run folder."""
from __future__ import annotations

import contextlib
from typing import Iterator

from nas.run.driver import Driver, SearchSummary
from nas.run.progress import Progress
from nas.run.runner import InlineTrials
from nas.store.trial_log import RunStore
from trainers.evaluators import EVALUATORS


@contextlib.contextmanager
def registered_evaluator(name: str, cls) -> Iterator[str]:
    """`cls` registered as evaluator `name` for the duration of the block."""
    EVALUATORS.register(name)(cls)
    try:
        yield name
    finally:
        EVALUATORS._items.pop(name)


def run_inline(config, run_dir, progress: Progress | None = None) -> SearchSummary:
    """Run `config` to the end in this process, one trial at a time, into `run_dir`."""
    store = RunStore.create(run_dir, config.to_dict())
    driver = Driver(config, store, progress or Progress(config.trials, quiet=True))
    try:
        return driver.run(1, InlineTrials(driver.task_base))
    finally:
        store.close()
