"""Shared test helpers: drive a strategy like the driver does, without Ray."""
from __future__ import annotations

import json
from collections import deque

from search_spaces import get_space
from trainers.evaluators import make_evaluator

from nas.strategies import make_strategy
from nas.strategies.base import Objective

SINGLE = (Objective("accuracy", "maximize"),)
MULTI = (Objective("accuracy", "maximize"), Objective("params", "minimize"))


def synthetic():
    return get_space("nb201"), make_evaluator("synthetic", {"seed": 0})


def build(name, objectives=SINGLE, seed=0, constraints=(), **options):
    space, _ = synthetic()
    return make_strategy(name, space, objectives, seed, options, constraints)


def drive(strategy, n, batch=1, queue=None):
    """Ask/tell `n` genotypes keeping up to `batch` in flight (oldest told first);
    returns the asked genotypes in order and the queue of still-pending ones."""
    space, evaluator = synthetic()
    queue = deque() if queue is None else queue
    asked = []
    while len(asked) < n:
        while len(queue) < batch and len(asked) < n:
            genotype = strategy.ask()
            asked.append(genotype)
            queue.append(genotype)
        genotype = queue.popleft()
        strategy.tell(genotype, evaluator(space, genotype))
    return asked, queue


def json_roundtrip(state):
    return json.loads(json.dumps(state))
