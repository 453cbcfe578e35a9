"""Shared fixtures: small, fast configurations."""
from __future__ import annotations

import pytest

NB201_ALL_CONV3 = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                   "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")


@pytest.fixture
def nb201():
    from search_spaces import get_space

    return get_space("nb201")


@pytest.fixture
def tiny_nb201():
    """NB201 cells on digits-sized input: fast to build and train."""
    from search_spaces import get_space

    return get_space("nb201", channels=8, cells=1, input_size=(1, 8, 8))


@pytest.fixture(autouse=True)
def _forget_user_registrations():
    """What a test's user code registered (nas.register_*, objects given to nas.search)
    does not leak into the registries other tests iterate."""
    yield
    from nas.strategies.base import STRATEGIES
    from search_spaces.space import SPACES
    from trainers.evaluators import EVALUATORS
    from trainers.proxies import PROXIES

    for registry in (SPACES, EVALUATORS, PROXIES, STRATEGIES):
        registry.clear_user()


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)  # CI has 2 cores; avoid oversubscription with Ray workers
