"""Every strategy resumes exactly from state_dict (same asks as an uninterrupted run)."""
import pytest

from nas.strategies import Objective, list_strategies, make_strategy
from search_spaces.errors import UserError
from trainers.evaluators import make_evaluator

OBJECTIVES = [Objective("accuracy", "maximize")]


def _drive(strategy, space, evaluator, n):
    keys = []
    for _ in range(n):
        g = strategy.ask()
        strategy.tell(g, evaluator(space, g))
        keys.append(g.key)
    return keys


@pytest.mark.parametrize("name", list_strategies())
def test_state_dict_resume_is_exact(nb201, name):
    evaluator = make_evaluator("tabular", {"cost": False})
    straight = make_strategy(name, nb201, OBJECTIVES, seed=3)
    expected = _drive(straight, nb201, evaluator, 16)
    first = make_strategy(name, nb201, OBJECTIVES, seed=3)
    head = _drive(first, nb201, evaluator, 12)
    pending = first.ask()  # in flight at the time of the "crash"
    resumed = make_strategy(name, nb201, OBJECTIVES, seed=3)
    resumed.load_state_dict(first.state_dict())
    resumed.tell(pending, evaluator(nb201, pending))
    tail = _drive(resumed, nb201, evaluator, 3)
    assert head + [pending.key] + tail == expected


def test_unknown_strategy_and_option(nb201):
    with pytest.raises(UserError, match="random"):
        make_strategy("randon", nb201, OBJECTIVES)
    with pytest.raises(UserError, match="n_startup_trials"):
        make_strategy("tpe", nb201, OBJECTIVES, options={"n_startup": 3})
