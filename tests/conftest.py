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


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)  # CI has 2 cores; avoid oversubscription with Ray workers
